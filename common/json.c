#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Longest escape of one byte: "\u001f" and its NUL. */
#define JSON_ESC_MAX 7

/* The escape rule, the only one: the text that stands for byte c inside a
 * JSON string, written to esc. Returns its length. */
static size_t json_esc(unsigned char c, char esc[JSON_ESC_MAX])
{
	char short_form = 0;

	switch (c) {
	case '"':
	case '\\':
		short_form = (char)c;
		break;
	case '\b':
		short_form = 'b';
		break;
	case '\f':
		short_form = 'f';
		break;
	case '\n':
		short_form = 'n';
		break;
	case '\r':
		short_form = 'r';
		break;
	case '\t':
		short_form = 't';
		break;
	}
	if (short_form)
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\%c", short_form);
	if (c < 0x20)
		return (size_t)snprintf(esc, JSON_ESC_MAX, "\\u%04x", c);
	esc[0] = (char)c;
	esc[1] = '\0';
	return 1;
}

int json_str_write(FILE *f, const char *s)
{
	char esc[JSON_ESC_MAX];

	fputc('"', f);
	for (; *s; s++) {
		size_t n = json_esc((unsigned char)*s, esc);
		fwrite(esc, 1, n, f);
	}
	fputc('"', f);
	return ferror(f) ? -EIO : 0;
}

int json_str_append(char *buf, size_t cap, size_t *off, const char *s)
{
	char esc[JSON_ESC_MAX];
	size_t o = *off;

	/* Room for the opening quote, the closing quote and the NUL. */
	if (o >= cap || cap - o < 3)
		return -ENOSPC;
	buf[o++] = '"';
	for (; *s; s++) {
		size_t n = json_esc((unsigned char)*s, esc);
		if (cap - o < n + 2)
			return -ENOSPC;
		memcpy(buf + o, esc, n);
		o += n;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	*off = o;
	return 0;
}
