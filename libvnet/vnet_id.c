#include "vnet_id.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Reads one group of 1-4 hex digits at *p, stopping at ':' or NUL. */
static enum vnet_id_status parse_group(const char **p, unsigned idx, uint16_t *out, char *why,
				       size_t whylen)
{
	unsigned v = 0, n = 0;
	const char *s = *p;

	for (; *s && *s != ':'; s++, n++) {
		int d = OPENSSL_hexchar2int((unsigned char)*s);
		if (d < 0) {
			why_set(why, whylen, "group %u: '%c' is not a hex digit", idx + 1, *s);
			return VNET_ID_MALFORMED;
		}
		if (n == 4) {
			why_set(why, whylen, "group %u has more than 4 hex digits", idx + 1);
			return VNET_ID_MALFORMED;
		}
		v = v << 4 | (unsigned)d;
	}
	if (n == 0) {
		why_set(why, whylen, "group %u is empty", idx + 1);
		return VNET_ID_MALFORMED;
	}
	*out = (uint16_t)v;
	*p = s;
	return VNET_ID_OK;
}

static unsigned count_colons(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == ':';
	return n;
}

enum vnet_id_status vnet_id_parse(const char *s, struct vnet_id *id, char *why, size_t whylen)
{
	uint16_t groups[8] = {0};
	unsigned colons, first;
	enum vnet_id_status st;

	if (!s || !*s) {
		why_set(why, whylen, "empty id");
		return VNET_ID_MALFORMED;
	}
	colons = count_colons(s);
	if (colons != 0 && colons != 7) {
		why_set(why, whylen,
			"expected 8 colon-separated groups or one group, got %u groups",
			colons + 1);
		return VNET_ID_MALFORMED;
	}
	first = colons == 0 ? 7 : 0;
	for (unsigned i = first; i < 8; i++) {
		st = parse_group(&s, i - first, &groups[i], why, whylen);
		if (st != VNET_ID_OK)
			return st;
		if (*s == ':')
			s++;
	}
	struct vnet_id tmp;
	for (unsigned i = 0; i < 8; i++) {
		tmp.b[2 * i] = (uint8_t)(groups[i] >> 8);
		tmp.b[2 * i + 1] = (uint8_t)groups[i];
	}
	st = vnet_id_check(&tmp);
	if (st != VNET_ID_OK) {
		why_set(why, whylen, "%s", vnet_id_status_str(st));
		return st;
	}
	*id = tmp;
	return VNET_ID_OK;
}

enum vnet_id_status vnet_id_check(const struct vnet_id *id)
{
	if (!vnet_id_is_short(id) || id->b[14] != 0 || id->b[15] > 1)
		return VNET_ID_OK;
	return id->b[15] == 0 ? VNET_ID_INVALID : VNET_ID_RESERVED;
}

const char *vnet_id_status_str(enum vnet_id_status st)
{
	switch (st) {
	case VNET_ID_OK:
		return "ok";
	case VNET_ID_MALFORMED:
		return "malformed";
	case VNET_ID_INVALID:
		return "id 0 is invalid";
	case VNET_ID_RESERVED:
		return "id 1 is reserved";
	}
	return "?";
}

bool vnet_id_is_short(const struct vnet_id *id)
{
	for (unsigned i = 0; i < 14; i++)
		if (id->b[i])
			return false;
	return true;
}

char *vnet_id_str(const struct vnet_id *id, char buf[VNET_ID_STRLEN])
{
	unsigned first = vnet_id_is_short(id) ? 7 : 0;
	size_t off = 0;

	for (unsigned i = first; i < 8; i++) {
		unsigned g = (unsigned)id->b[2 * i] << 8 | id->b[2 * i + 1];
		off += (size_t)snprintf(buf + off, VNET_ID_STRLEN - off, "%s%x",
					i > first ? ":" : "", g);
	}
	return buf;
}

void vnet_id_from_short(struct vnet_id *id, uint16_t group)
{
	memset(id, 0, sizeof(*id));
	id->b[14] = (uint8_t)(group >> 8);
	id->b[15] = (uint8_t)group;
}

bool vnet_id_eq(const struct vnet_id *a, const struct vnet_id *b)
{
	return memcmp(a->b, b->b, VNET_ID_LEN) == 0;
}
