/*
 * The relocation messages' codec (reloc_msg.h): little-endian fields read
 * one by one through a cursor that refuses to pass the payload's end.
 */
#include "reloc_msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct reloc_cur {
	const uint8_t *p;
	size_t left;
};

static int reloc_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reloc_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static void reloc_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t reloc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool reloc_u32(struct reloc_cur *c, uint32_t *v)
{
	if (c->left < 4)
		return false;
	*v = reloc_get32(c->p);
	c->p += 4;
	c->left -= 4;
	return true;
}

/* Text is printable ASCII, tab or newline (config text), nothing else. */
static bool reloc_text_ok(const uint8_t *p, size_t n, bool multiline)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			continue;
		if (multiline && (p[i] == '\n' || p[i] == '\t'))
			continue;
		return false;
	}
	return true;
}

static int reloc_str(struct reloc_cur *c, uint32_t n, char *out, bool multiline, const char *what,
		     char *err, size_t errlen)
{
	if (c->left < n)
		return reloc_fail(err, errlen, "%s: %u bytes announced, %zu left", what, n,
				  c->left);
	if (!reloc_text_ok(c->p, n, multiline))
		return reloc_fail(err, errlen, "%s: control or non-ASCII byte", what);
	memcpy(out, c->p, n);
	out[n] = '\0';
	c->p += n;
	c->left -= n;
	return 0;
}

/* Header + payload into buf; payload is written by the caller at buf+8. */
static int reloc_hdr(void *buf, size_t cap, uint32_t type, size_t plen)
{
	if (cap < RELOC_MSG_HDR_LEN + plen)
		return -ENOSPC;
	reloc_put32(buf, type);
	reloc_put32((uint8_t *)buf + 4, (uint32_t)plen);
	return (int)(RELOC_MSG_HDR_LEN + plen);
}

int reloc_msg_offer_enc(const struct reloc_offer *o, void *buf, size_t cap)
{
	size_t nl = strnlen(o->name, RELOC_MSG_NAME_MAX + 1), cl;
	uint8_t *p = (uint8_t *)buf + RELOC_MSG_HDR_LEN;
	int n;

	cl = strnlen(o->cfg, RELOC_MSG_CFG_MAX + 1);
	if (nl == 0 || nl > RELOC_MSG_NAME_MAX || cl > RELOC_MSG_CFG_MAX ||
	    (o->flags & ~RELOC_MSG_F_LIVE))
		return -EINVAL;
	if ((n = reloc_hdr(buf, cap, RELOC_MSG_OFFER, 24 + nl + cl)) < 0)
		return n;
	reloc_put32(p, o->version);
	reloc_put32(p + 4, o->flags);
	reloc_put32(p + 8, o->memory_mib);
	reloc_put32(p + 12, o->vcpus);
	reloc_put32(p + 16, (uint32_t)nl);
	reloc_put32(p + 20, (uint32_t)cl);
	memcpy(p + 24, o->name, nl);
	memcpy(p + 24 + nl, o->cfg, cl);
	return n;
}

int reloc_msg_accept_enc(const struct reloc_accept *a, void *buf, size_t cap)
{
	uint8_t *p = (uint8_t *)buf + RELOC_MSG_HDR_LEN;
	int n;

	if ((n = reloc_hdr(buf, cap, RELOC_MSG_ACCEPT, 8)) < 0)
		return n;
	reloc_put32(p, a->version);
	reloc_put32(p + 4, a->domid);
	return n;
}

int reloc_msg_refuse_enc(int32_t err, const char *msg, void *buf, size_t cap)
{
	size_t ml = strnlen(msg, RELOC_MSG_TEXT_MAX + 1);
	uint8_t *p = (uint8_t *)buf + RELOC_MSG_HDR_LEN;
	int n;

	if (err >= 0 || ml > RELOC_MSG_TEXT_MAX)
		return -EINVAL;
	if ((n = reloc_hdr(buf, cap, RELOC_MSG_REFUSE, 8 + ml)) < 0)
		return n;
	reloc_put32(p, (uint32_t)err);
	reloc_put32(p + 4, (uint32_t)ml);
	memcpy(p + 8, msg, ml);
	return n;
}

static int reloc_dec_offer(struct reloc_cur *c, struct reloc_offer *o, char *err, size_t errlen)
{
	uint32_t nl, cl;
	int rc;

	if (!reloc_u32(c, &o->version) || !reloc_u32(c, &o->flags) ||
	    !reloc_u32(c, &o->memory_mib) || !reloc_u32(c, &o->vcpus) || !reloc_u32(c, &nl) ||
	    !reloc_u32(c, &cl))
		return reloc_fail(err, errlen, "OFFER: %zu bytes, fixed part is 24", c->left);
	if (o->flags & ~RELOC_MSG_F_LIVE)
		return reloc_fail(err, errlen, "OFFER: unknown flags 0x%x", o->flags);
	if (nl == 0 || nl > RELOC_MSG_NAME_MAX)
		return reloc_fail(err, errlen, "OFFER: name_len %u not in 1..%u", nl,
				  RELOC_MSG_NAME_MAX);
	if (cl > RELOC_MSG_CFG_MAX)
		return reloc_fail(err, errlen, "OFFER: cfg_len %u > %u", cl, RELOC_MSG_CFG_MAX);
	if ((rc = reloc_str(c, nl, o->name, false, "OFFER: name", err, errlen)) < 0)
		return rc;
	return reloc_str(c, cl, o->cfg, true, "OFFER: cfg", err, errlen);
}

static int reloc_dec_payload(struct reloc_cur *c, struct reloc_msg *m, char *err, size_t errlen)
{
	uint32_t v, ml;

	switch (m->type) {
	case RELOC_MSG_OFFER:
		return reloc_dec_offer(c, &m->u.offer, err, errlen);
	case RELOC_MSG_ACCEPT:
		if (!reloc_u32(c, &m->u.accept.version) || !reloc_u32(c, &m->u.accept.domid))
			return reloc_fail(err, errlen, "ACCEPT: %zu bytes, want 8", c->left);
		return 0;
	case RELOC_MSG_REFUSE:
		if (!reloc_u32(c, &v) || !reloc_u32(c, &ml))
			return reloc_fail(err, errlen, "REFUSE: %zu bytes, fixed part is 8",
					  c->left);
		m->u.refuse.err = (int32_t)v;
		if (m->u.refuse.err >= 0 || m->u.refuse.err < -4095)
			return reloc_fail(err, errlen, "REFUSE: err %d is not a negative errno",
					  m->u.refuse.err);
		if (ml > RELOC_MSG_TEXT_MAX)
			return reloc_fail(err, errlen, "REFUSE: msg_len %u > %u", ml,
					  RELOC_MSG_TEXT_MAX);
		return reloc_str(c, ml, m->u.refuse.msg, false, "REFUSE: msg", err, errlen);
	}
	return reloc_fail(err, errlen, "unknown message type %u", m->type);
}

int reloc_msg_dec(const void *buf, size_t len, struct reloc_msg *m, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	struct reloc_cur c;
	uint32_t plen;
	int rc;

	if (len < RELOC_MSG_HDR_LEN)
		return 0;
	m->type = reloc_get32(p);
	plen = reloc_get32(p + 4);
	if (m->type < RELOC_MSG_OFFER || m->type > RELOC_MSG_REFUSE)
		return reloc_fail(err, errlen, "unknown message type %u", m->type);
	if (plen > RELOC_MSG_MAX)
		return reloc_fail(err, errlen, "%s: length %u > %u", reloc_msg_type_name(m->type),
				  plen, RELOC_MSG_MAX);
	if (len - RELOC_MSG_HDR_LEN < plen)
		return 0;
	c.p = p + RELOC_MSG_HDR_LEN;
	c.left = plen;
	if ((rc = reloc_dec_payload(&c, m, err, errlen)) < 0)
		return rc;
	if (c.left)
		return reloc_fail(err, errlen, "%s: %zu bytes after the last field",
				  reloc_msg_type_name(m->type), c.left);
	return (int)(RELOC_MSG_HDR_LEN + plen);
}

const char *reloc_msg_type_name(uint32_t type)
{
	static const char *const names[] = {"unknown", "OFFER", "ACCEPT", "REFUSE"};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}
