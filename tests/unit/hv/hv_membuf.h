/*
 * A growable in-memory stream for the libhv stream tests: mem_write
 * appends (the save side), mem_read takes from pos (the load side) and
 * returns 1, 0 at the end, or -ENODATA for a short record.
 */
#ifndef TERN_TEST_HV_MEMBUF_H
#define TERN_TEST_HV_MEMBUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct membuf {
	uint8_t *b;
	size_t len, cap, pos;
};

static inline int mem_write(void *ctx, const void *p, size_t n)
{
	struct membuf *m = ctx;

	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->b = realloc(m->b, m->cap);
	}
	memcpy(m->b + m->len, p, n);
	m->len += n;
	return 0;
}

static inline int mem_read(void *ctx, void *p, size_t n)
{
	struct membuf *m = ctx;
	size_t left = m->len - m->pos;

	if (left == 0)
		return 0;
	if (left < n) {
		m->pos = m->len;
		return -ENODATA;
	}
	memcpy(p, m->b + m->pos, n);
	m->pos += n;
	return 1;
}

#endif
