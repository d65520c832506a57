/*
 * Control-socket framing (common/ctl.c) on an arbitrary byte stream from a
 * client, as every daemon and CLI reads it:
 *  - ctl_conn_read, the daemons' incremental reader, with the stream
 *    written into a socketpair in pieces (sizes from byte 0): it must
 *    hand over exactly the messages a reference reading of the
 *    {type, flags, len} framing finds, in order, stop with -EMSGSIZE at a
 *    header announcing more than CTL_MSG_MAX, and end with -ECONNRESET;
 *  - ctl_recv, the CLIs' blocking reader, with a buffer of 0, 64 or
 *    CTL_MSG_MAX bytes (byte 0 bits 6-7): the same messages, -EMSGSIZE at
 *    the first longer than its buffer;
 *  - ctl_parse_error on every payload: an errno in -4095..-1 and a
 *    NUL-terminated message;
 *  - ctl_send of each message read, read back by ctl_recv unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define STREAM_MAX (64u * 1024u) /* fits a socketpair's buffer: no write blocks */

/* The next message of the reference reading at *off: 1 and its header,
 * 0 at a clean or torn end, -EMSGSIZE for an oversized header. */
static int ref_next(const uint8_t *s, size_t n, size_t *off, struct ctl_hdr *h, size_t cap)
{
	if (n - *off < sizeof(*h))
		return 0;
	memcpy(h, s + *off, sizeof(*h));
	if (h->len > cap || h->len > CTL_MSG_MAX)
		return -EMSGSIZE;
	if (n - *off - sizeof(*h) < h->len)
		return 0;
	*off += sizeof(*h);
	return 1;
}

static void check_error_text(const uint8_t *p, size_t len)
{
	char msg[128];
	int err = 0;

	memset(msg, 0x55, sizeof(msg));
	ctl_parse_error(p, len, &err, msg, sizeof(msg));
	TRAP_IF(err >= 0 || err <= -4096 || !memchr(msg, '\0', sizeof(msg)));
}

/* Sends the message back through ctl_send and reads it with ctl_recv. */
static void echo(const struct ctl_hdr *h, const uint8_t *p)
{
	static uint8_t back[CTL_MSG_MAX];
	struct ctl_hdr bh;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	TRAP_IF(ctl_send(sp[0], h->type, h->flags, p, h->len) != 0);
	TRAP_IF(ctl_recv(sp[1], &bh, back, sizeof(back)) != (int)h->len);
	TRAP_IF(bh.type != h->type || bh.flags != h->flags || memcmp(back, p, h->len) != 0);
	close(sp[0]);
	close(sp[1]);
}

static void conn_read(const uint8_t *s, size_t n, unsigned seed)
{
	static struct ctl_conn conn;
	struct ctl_hdr h;
	size_t sent = 0, ref = 0;
	int sp[2], rc = 0, want;
	unsigned x = seed * 2654435761u + 1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		abort(); /* the environment, not the input */
	conn.fd = sp[1];
	conn.have = 0;
	while (rc >= 0) {
		if (sent < n) {
			/* 1..64 bytes, or everything left, at a time. */
			x = x * 1103515245u + 12345u;
			size_t k = (x >> 16) & 1 ? 1 + ((x >> 8) & 63) : n - sent;
			k = k > n - sent ? n - sent : k;
			TRAP_IF(send(sp[0], s + sent, k, MSG_DONTWAIT) != (ssize_t)k);
			sent += k;
		} else if (sp[0] >= 0) {
			close(sp[0]);
			sp[0] = -1;
		}
		while ((rc = ctl_conn_read(&conn)) == 1) {
			TRAP_IF(ref_next(s, sent, &ref, &h, CTL_MSG_MAX) != 1);
			TRAP_IF(conn.hdr.type != h.type || conn.hdr.flags != h.flags ||
				conn.hdr.len != h.len || memcmp(conn.buf, s + ref, h.len) != 0);
			ref += h.len;
			check_error_text(conn.buf, conn.hdr.len);
			echo(&conn.hdr, conn.buf);
			ctl_conn_consume(&conn);
		}
		TRAP_IF(rc == 0 && sp[0] < 0); /* EOF must be seen */
	}
	want = ref_next(s, n, &ref, &h, CTL_MSG_MAX);
	TRAP_IF(rc != (want == -EMSGSIZE ? -EMSGSIZE : -ECONNRESET) || want == 1);
	if (sp[0] >= 0)
		close(sp[0]);
	close(sp[1]);
}

static void blocking_read(const uint8_t *s, size_t n, size_t cap)
{
	static uint8_t buf[CTL_MSG_MAX];
	struct ctl_hdr h, rh;
	size_t ref = 0;
	int sp[2], rc, want;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	TRAP_IF(n && send(sp[0], s, n, MSG_DONTWAIT) != (ssize_t)n);
	close(sp[0]);
	while ((rc = ctl_recv(sp[1], &h, buf, cap)) >= 0) {
		TRAP_IF(ref_next(s, n, &ref, &rh, cap) != 1);
		TRAP_IF(h.type != rh.type || h.flags != rh.flags || (size_t)rc != rh.len ||
			memcmp(buf, s + ref, rh.len) != 0);
		ref += rh.len;
	}
	want = ref_next(s, n, &ref, &rh, cap);
	TRAP_IF(rc != (want == -EMSGSIZE ? -EMSGSIZE : -ECONNRESET) || want == 1);
	close(sp[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = {0, 64, CTL_MSG_MAX, CTL_MSG_MAX};

	if (size < 1 || size - 1 > STREAM_MAX)
		return 0;
	conn_read(data + 1, size - 1, data[0]);
	blocking_read(data + 1, size - 1, caps[data[0] >> 6]);
	return 0;
}
