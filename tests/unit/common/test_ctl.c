/* Control-socket framing: round trip, the length cap, error payloads and
 * the incremental reader fed byte by byte. */
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

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	int sv[2];
	struct ctl_hdr hdr;
	char buf[64];

	make_pair(sv);
	assert_int_equal(ctl_send(sv[0], 7, CTL_F_REPLY, "hello", 5), 0);
	assert_int_equal(ctl_recv(sv[1], &hdr, buf, sizeof(buf)), 5);
	assert_int_equal(hdr.type, 7);
	assert_int_equal(hdr.flags, CTL_F_REPLY);
	assert_memory_equal(buf, "hello", 5);
	close(sv[0]);
	assert_int_equal(ctl_recv(sv[1], &hdr, buf, sizeof(buf)), -ECONNRESET);
	close(sv[1]);
}

static void test_oversized_refused(void **state)
{
	(void)state;
	int sv[2];
	struct ctl_hdr hdr = {1, 0, CTL_MSG_MAX + 1};
	char buf[16];

	make_pair(sv);
	assert_int_equal(ctl_send(sv[0], 1, 0, buf, CTL_MSG_MAX + 1), -EMSGSIZE);
	/* A peer that announces more than the receiver's buffer is refused
	 * before any payload is read. */
	assert_int_equal(write(sv[0], &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(ctl_recv(sv[1], &hdr, buf, sizeof(buf)), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

static void test_error_payload(void **state)
{
	(void)state;
	int sv[2], err;
	struct ctl_hdr hdr;
	char buf[256], msg[128];
	int n;

	make_pair(sv);
	assert_int_equal(ctl_send_error(sv[0], 3, -ENOENT, "vnet %d: not found", 97), 0);
	n = ctl_recv(sv[1], &hdr, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(hdr.flags, CTL_F_REPLY | CTL_F_ERROR);
	ctl_parse_error(buf, (size_t)n, &err, msg, sizeof(msg));
	assert_int_equal(err, -ENOENT);
	assert_string_equal(msg, "vnet 97: not found");
	ctl_parse_error("garbage", 7, &err, msg, sizeof(msg));
	assert_int_equal(err, -EIO);
	close(sv[0]);
	close(sv[1]);
}

static void test_incremental_reader(void **state)
{
	(void)state;
	int sv[2];
	struct ctl_hdr hdr = {9, 0, 4};
	uint8_t wire[sizeof(hdr) + 4];
	struct ctl_conn *conn = calloc(1, sizeof(*conn));

	assert_non_null(conn);
	make_pair(sv);
	conn->fd = sv[1];
	memcpy(wire, &hdr, sizeof(hdr));
	memcpy(wire + sizeof(hdr), "abcd", 4);
	for (size_t i = 0; i < sizeof(wire); i++) {
		assert_int_equal(ctl_conn_read(conn), 0);
		assert_int_equal(write(sv[0], wire + i, 1), 1);
	}
	assert_int_equal(ctl_conn_read(conn), 1);
	assert_int_equal(conn->hdr.type, 9);
	assert_memory_equal(conn->buf, "abcd", 4);
	ctl_conn_consume(conn);
	hdr.len = CTL_MSG_MAX + 1;
	assert_int_equal(write(sv[0], &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(ctl_conn_read(conn), -EMSGSIZE);
	close(sv[0]);
	assert_int_equal(ctl_conn_read(conn), -EMSGSIZE);
	close(sv[1]);
	free(conn);
}

static void test_listen_connect(void **state)
{
	(void)state;
	char dir[] = "/tmp/tern-ctl-XXXXXX", path[128];
	int lfd, cfd, afd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	lfd = ctl_listen(path);
	assert_true(lfd >= 0);
	cfd = ctl_connect(path, 1000);
	assert_true(cfd >= 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(ctl_peer_check(afd), 0);
	close(afd);
	close(cfd);
	close(lfd);
	unlink(path);
	rmdir(dir);
	assert_int_equal(ctl_connect(path, 1000), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	   cmocka_unit_test(test_oversized_refused),
	    cmocka_unit_test(test_error_payload),  cmocka_unit_test(test_incremental_reader),
	    cmocka_unit_test(test_listen_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
