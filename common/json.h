/*
 * The project's one JSON string escaper (RFC 8259 section 7). Every JSON
 * document Tern prints (vn --json, the vmm status, later migrated and vm)
 * quotes its strings here, so that a name from a user or a guest cannot
 * break the document and all of them escape alike: `"` and `\` get a
 * backslash, the control bytes with a short form become \b \f \n \r \t,
 * the other bytes below 0x20 \u00XX; everything else (UTF-8 included) is
 * copied as it is.
 */
#ifndef TERN_JSON_H
#define TERN_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes s as a quoted JSON string to f. Returns 0 or -EIO if f failed. */
int json_str_write(FILE *f, const char *s);

/* Appends s as a quoted JSON string at buf + *off (buf holds cap bytes and
 * stays NUL-terminated) and advances *off. Returns 0, or -ENOSPC if it does
 * not fit: then *off is unchanged and the bytes past it are unspecified. */
int json_str_append(char *buf, size_t cap, size_t *off, const char *s);

#endif
