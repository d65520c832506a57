/* The control output queue: messages come out whole and in order across
 * partial writes to a full socket, the bound refuses a backlog that would
 * pass it but never a first reply, and a peer that left is reported. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"

/* A socket pair with small buffers, so that the queue backs up early. */
static void make_pair(int sv[2])
{
	int sz = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
}

/* Flushes o into sv[0] until one whole message arrived on sv[1]. */
static void next_msg(struct ctl_out *o, int sv[2], struct ctl_conn *c)
{
	int rc;

	c->fd = sv[1];
	ctl_conn_consume(c);
	for (int i = 0; i < 100000; i++) {
		assert_true(ctl_out_flush(o, sv[0]) >= 0);
		rc = ctl_conn_read(c);
		assert_true(rc >= 0);
		if (rc == 1)
			return;
	}
	fail_msg("no whole message");
}

static void test_empty_flush(void **state)
{
	(void)state;
	struct ctl_out o;
	int sv[2];

	make_pair(sv);
	ctl_out_init(&o, CTL_OUT_MAX_DEFAULT);
	assert_int_equal(ctl_out_flush(&o, sv[0]), 0);
	assert_int_equal(ctl_out_pending(&o), 0);
	ctl_out_fini(&o);
	ctl_out_fini(&o); /* safe twice */
	close(sv[0]);
	close(sv[1]);
}

/* 200 replies of 1000 bytes do not fit the socket: the queue keeps the
 * rest, and reading while flushing gets every message intact, in order. */
static void test_backed_up_in_order(void **state)
{
	(void)state;
	struct ctl_conn *c = malloc(sizeof(*c));
	uint8_t payload[1000];
	struct ctl_out o;
	int sv[2];

	assert_non_null(c);
	make_pair(sv);
	ctl_out_init(&o, 1u << 20);
	for (int i = 0; i < 200; i++) {
		memset(payload, i, sizeof(payload));
		assert_int_equal(ctl_out_reply(&o, 9, CTL_F_REPLY, payload, sizeof(payload)), 0);
	}
	assert_true(ctl_out_flush(&o, sv[0]) > 0); /* the socket is full */
	for (int i = 0; i < 200; i++) {
		next_msg(&o, sv, c);
		assert_int_equal(c->hdr.type, 9);
		assert_int_equal(c->hdr.flags, CTL_F_REPLY);
		assert_int_equal(c->hdr.len, sizeof(payload));
		assert_int_equal(c->buf[0], i & 0xff);
		assert_int_equal(c->buf[sizeof(payload) - 1], i & 0xff);
	}
	assert_int_equal(ctl_out_pending(&o), 0);
	assert_int_equal(o.sent, 200 * (sizeof(struct ctl_hdr) + sizeof(payload)));
	ctl_out_fini(&o);
	free(c);
	close(sv[0]);
	close(sv[1]);
}

/* The bound: a first reply of any size is taken; once something is
 * pending, a reply that would pass max is refused and nothing is queued. */
static void test_bound(void **state)
{
	(void)state;
	static uint8_t big[CTL_MSG_MAX];
	struct ctl_out o;

	ctl_out_init(&o, 1000);
	assert_int_equal(ctl_out_room(&o, 5000), 0);
	assert_int_equal(ctl_out_reply(&o, 1, CTL_F_REPLY, big, 3000), 0);
	assert_int_equal(ctl_out_pending(&o), 3008);
	assert_int_equal(ctl_out_reply(&o, 1, CTL_F_REPLY, NULL, 0), -ENOBUFS);
	assert_int_equal(ctl_out_error(&o, 1, -EIO, "x"), -ENOBUFS);
	assert_int_equal(ctl_out_pending(&o), 3008);
	ctl_out_fini(&o);

	ctl_out_init(&o, 100);
	assert_int_equal(ctl_out_reply(&o, 1, CTL_F_REPLY, big, 40), 0);
	assert_int_equal(ctl_out_room(&o, 52), 0); /* 48 + 52 = 100: at the bound */
	assert_int_equal(ctl_out_room(&o, 53), -ENOBUFS);
	assert_int_equal(ctl_out_room(&o, (size_t)-1), -ENOBUFS); /* no overflow */
	assert_int_equal(ctl_out_reply(&o, 1, CTL_F_REPLY, big, 44), 0);
	assert_int_equal(ctl_out_pending(&o), 100);
	assert_int_equal(ctl_out_msg(&o, 1, 0, big, CTL_MSG_MAX + 1), -EMSGSIZE);
	ctl_out_fini(&o);
}

/* An error reply carries ctl_send_error's text. */
static void test_error_reply(void **state)
{
	(void)state;
	struct ctl_out o;
	struct ctl_hdr h;
	char buf[256], msg[128];
	int sv[2], n, err;

	make_pair(sv);
	ctl_out_init(&o, CTL_OUT_MAX_DEFAULT);
	assert_int_equal(ctl_out_error(&o, 3, -EBADMSG, "request %d refused", 7), 0);
	assert_int_equal(ctl_out_flush(&o, sv[0]), 0);
	n = ctl_recv(sv[1], &h, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(h.flags, CTL_F_REPLY | CTL_F_ERROR);
	ctl_parse_error(buf, (size_t)n, &err, msg, sizeof(msg));
	assert_int_equal(err, -EBADMSG);
	assert_string_equal(msg, "request 7 refused");
	ctl_out_fini(&o);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that left: the flush says so instead of blocking or raising
 * SIGPIPE. */
static void test_peer_gone(void **state)
{
	(void)state;
	struct ctl_out o;
	int sv[2];

	make_pair(sv);
	close(sv[1]);
	ctl_out_init(&o, CTL_OUT_MAX_DEFAULT);
	assert_int_equal(ctl_out_reply(&o, 1, CTL_F_REPLY, "x", 1), 0);
	assert_int_equal(ctl_out_flush(&o, sv[0]), -EPIPE);
	ctl_out_fini(&o);
	close(sv[0]);
}

/* After a large reply drained, the buffer is given back; the queue works
 * on as before. */
static void test_large_reply_released(void **state)
{
	(void)state;
	static uint8_t big[CTL_MSG_MAX];
	struct ctl_conn *c = malloc(sizeof(*c));
	struct ctl_out o;
	int sv[2];

	assert_non_null(c);
	make_pair(sv);
	ctl_out_init(&o, CTL_OUT_MAX_DEFAULT);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    ctl_out_msg(&o, 2, CTL_F_REPLY | (i < 2 ? CTL_F_MORE : 0), big, CTL_MSG_MAX),
		    0);
	for (int i = 0; i < 3; i++) {
		next_msg(&o, sv, c);
		assert_int_equal(c->hdr.len, CTL_MSG_MAX);
		assert_int_equal(!!(c->hdr.flags & CTL_F_MORE), i < 2);
	}
	assert_int_equal(ctl_out_flush(&o, sv[0]), 0);
	assert_null(o.buf);
	assert_int_equal(ctl_out_reply(&o, 1, CTL_F_REPLY, "ok", 2), 0);
	next_msg(&o, sv, c);
	assert_int_equal(c->hdr.len, 2);
	ctl_out_fini(&o);
	free(c);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_flush), cmocka_unit_test(test_backed_up_in_order),
	    cmocka_unit_test(test_bound),	cmocka_unit_test(test_error_reply),
	    cmocka_unit_test(test_peer_gone),	cmocka_unit_test(test_large_reply_released),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
