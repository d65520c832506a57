/*
 * The per-client output queue of ctl.h: whole messages appended at the
 * tail, written from the head with non-blocking sends whenever the server's
 * loop sees the socket writable. The buffer is compacted before it grows,
 * so a client that keeps up never costs more than its largest reply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl.h"

/* A drained buffer larger than this is freed rather than kept. */
#define CTL_OUT_KEEP (64u * 1024u)

void ctl_out_init(struct ctl_out *o, size_t max)
{
	memset(o, 0, sizeof(*o));
	o->max = max;
}

void ctl_out_fini(struct ctl_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->off = o->len = o->cap = 0;
}

int ctl_out_room(const struct ctl_out *o, size_t need)
{
	if (o->len == 0 || (need <= o->max && o->len <= o->max - need))
		return 0;
	return -ENOBUFS;
}

/* Makes room for n more bytes after the queued ones. */
static int ctl_out_grow(struct ctl_out *o, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (o->off + o->len + n <= o->cap)
		return 0;
	if (o->off) {
		memmove(o->buf, o->buf + o->off, o->len);
		o->off = 0;
		if (o->len + n <= o->cap)
			return 0;
	}
	for (cap = o->cap ? o->cap : 4096; cap < o->len + n; cap *= 2)
		;
	b = realloc(o->buf, cap);
	if (!b)
		return -ENOMEM;
	o->buf = b;
	o->cap = cap;
	return 0;
}

int ctl_out_msg(struct ctl_out *o, uint16_t type, uint16_t flags, const void *payload, uint32_t len)
{
	struct ctl_hdr hdr = {type, flags, len};
	uint8_t *at;
	int rc;

	if (len > CTL_MSG_MAX)
		return -EMSGSIZE;
	if ((rc = ctl_out_grow(o, sizeof(hdr) + len)) < 0)
		return rc;
	at = o->buf + o->off + o->len;
	memcpy(at, &hdr, sizeof(hdr));
	if (len)
		memcpy(at + sizeof(hdr), payload, len);
	o->len += sizeof(hdr) + len;
	return 0;
}

int ctl_out_reply(struct ctl_out *o, uint16_t type, uint16_t flags, const void *payload,
		  uint32_t len)
{
	int rc = ctl_out_room(o, sizeof(struct ctl_hdr) + len);

	return rc < 0 ? rc : ctl_out_msg(o, type, flags, payload, len);
}

int ctl_out_error(struct ctl_out *o, uint16_t type, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "%d ", err);

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return ctl_out_reply(o, type, CTL_F_REPLY | CTL_F_ERROR, msg, (uint32_t)strlen(msg));
}

ssize_t ctl_out_flush(struct ctl_out *o, int fd)
{
	while (o->len > 0) {
		ssize_t w = send(fd, o->buf + o->off, o->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		o->off += (size_t)w;
		o->len -= (size_t)w;
		o->sent += (uint64_t)w;
	}
	if (o->len == 0) {
		o->off = 0;
		if (o->cap > CTL_OUT_KEEP) /* a large listing went out: give it back */
			ctl_out_fini(o);
	}
	return (ssize_t)o->len;
}
