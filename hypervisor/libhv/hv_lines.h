/*
 * Splits a guest's console output into lines for host programs that run a
 * guest themselves and react to what it prints (benchmarks, test drivers).
 * Bytes arrive in arbitrary pieces, one console hypercall at a time; a line
 * longer than the buffer is cut, never overflowed.
 */
#ifndef HV_LINES_H
#define HV_LINES_H

#include <stddef.h>

#define HV_LINES_MAX 512

struct hv_lines {
	char line[HV_LINES_MAX];
	size_t len;
};

/* Consumes bytes of p[0..n) from *pos on. Returns the next complete line
 * (NUL-terminated, without its newline; valid until the next call) or NULL
 * once the bytes are used up, keeping a partial line for the next piece.
 * Start each piece with *pos = 0. */
const char *hv_lines_next(struct hv_lines *l, const char *p, size_t n, size_t *pos);

#endif
