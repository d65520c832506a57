/*
 * fd passing in the control framing (ctl_send_fds / ctl_recv_fds) over a
 * socketpair: one fd, several, none where one was expected, more than the
 * receiver takes, a truncated control message (more than CTL_FDS_MAX
 * sent). Every case ends with as many fds open as it began with, and the
 * stream stays in step after a refused message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct fx {
	int sv[2];
	int pipe[2];
	int before;
};

static int setup(void **state)
{
	static struct fx fx;

	fx.before = open_fds();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fx.sv), 0);
	assert_int_equal(pipe(fx.pipe), 0);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	close(fx->sv[0]);
	close(fx->sv[1]);
	close(fx->pipe[0]);
	close(fx->pipe[1]);
	assert_int_equal(open_fds(), fx->before);
	return 0;
}

/* The received fd is a new number for the same pipe, close-on-exec. */
static void test_one(void **state)
{
	struct fx *fx = *state;
	struct ctl_hdr h;
	struct ctl_fds fds;
	char buf[16];

	assert_int_equal(ctl_send_fds(fx->sv[0], 3, 0, "tap", 3, &fx->pipe[1], 1), 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 1, 1), 3);
	assert_int_equal(h.type, 3);
	assert_memory_equal(buf, "tap", 3);
	assert_int_equal(fds.n, 1);
	assert_int_not_equal(fds.fd[0], fx->pipe[1]);
	assert_true(fcntl(fds.fd[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds.fd[0], "x", 1), 1);
	assert_int_equal(read(fx->pipe[0], buf, 1), 1);
	assert_int_equal(buf[0], 'x');
	ctl_fds_close(&fds);
	ctl_fds_close(&fds); /* safe twice */
}

static void test_several_no_payload(void **state)
{
	struct fx *fx = *state;
	int send[3] = {fx->pipe[0], fx->pipe[1], fx->sv[0]};
	struct ctl_hdr h;
	struct ctl_fds fds;
	char buf[16];

	assert_int_equal(ctl_send_fds(fx->sv[0], 4, CTL_F_REPLY, NULL, 0, send, 3), 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 0, CTL_FDS_MAX), 0);
	assert_int_equal(h.flags, CTL_F_REPLY);
	assert_int_equal(fds.n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(fcntl(fds.fd[i], F_GETFD) & FD_CLOEXEC);
	ctl_fds_close(&fds);
}

/* None where one was expected: refused, and the next message reads fine. */
static void test_none_expected_one(void **state)
{
	struct fx *fx = *state;
	struct ctl_hdr h;
	struct ctl_fds fds;
	char buf[16];

	assert_int_equal(ctl_send(fx->sv[0], 5, 0, "abc", 3), 0);
	assert_int_equal(ctl_send(fx->sv[0], 6, 0, "de", 2), 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 1, 1), -EBADMSG);
	assert_int_equal(fds.n, 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 0, 1), 2);
	assert_int_equal(h.type, 6);
	assert_int_equal(fds.n, 0);
}

/* More than the receiver takes: all closed, refused, stream in step. */
static void test_too_many(void **state)
{
	struct fx *fx = *state;
	int send[3] = {fx->pipe[0], fx->pipe[1], fx->pipe[1]};
	struct ctl_hdr h;
	struct ctl_fds fds;
	char buf[16];

	assert_int_equal(ctl_send_fds(fx->sv[0], 7, 0, "x", 1, send, 3), 0);
	assert_int_equal(ctl_send(fx->sv[0], 8, 0, NULL, 0), 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 1, 1), -EBADMSG);
	assert_int_equal(fds.n, 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 0, 0), 0);
	assert_int_equal(h.type, 8);
}

/* A peer that attaches more than CTL_FDS_MAX: the kernel truncates the
 * control message (MSG_CTRUNC); what did arrive is closed, refused. */
static void test_truncated_cmsg(void **state)
{
	struct fx *fx = *state;
	enum { N = CTL_FDS_MAX + 4 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(N * sizeof(int))];
	} cbuf;
	struct ctl_hdr h = {9, 0, 0};
	struct iovec iov = {&h, sizeof(h)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct ctl_fds fds;
	int send[N];
	char buf[16];

	for (int i = 0; i < N; i++)
		send[i] = fx->pipe[i % 2];
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(send));
	memcpy(CMSG_DATA(cm), send, sizeof(send));
	assert_int_equal(sendmsg(fx->sv[0], &msg, 0), sizeof(h));
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 0, CTL_FDS_MAX),
			 -EBADMSG);
	assert_int_equal(fds.n, 0);
}

/* fds on a message too large for the buffer, and a peer gone. */
static void test_errors(void **state)
{
	struct fx *fx = *state;
	struct ctl_hdr h;
	struct ctl_fds fds;
	char buf[4];

	assert_int_equal(ctl_send_fds(fx->sv[0], 1, 0, "toolong", 7, &fx->pipe[0], 1), 0);
	assert_int_equal(ctl_recv_fds(fx->sv[1], &h, buf, sizeof(buf), &fds, 0, 1), -EMSGSIZE);
	assert_int_equal(fds.n, 0);
	assert_int_equal(ctl_send_fds(fx->sv[0], 1, 0, NULL, 0, fx->pipe, 0), -EINVAL);
	assert_int_equal(ctl_send_fds(fx->sv[0], 1, 0, NULL, 0, fx->pipe, CTL_FDS_MAX + 1),
			 -EINVAL);
	/* Half a header with an fd, then EOF. */
	assert_int_equal(shutdown(fx->sv[0], SHUT_WR), 0);
	int fresh[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fresh), 0);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = {"ab", 2};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fx->pipe[0], sizeof(int));
	assert_int_equal(sendmsg(fresh[0], &msg, 0), 2);
	close(fresh[0]);
	assert_int_equal(ctl_recv_fds(fresh[1], &h, buf, sizeof(buf), &fds, 0, 1), -ECONNRESET);
	assert_int_equal(fds.n, 0);
	close(fresh[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_no_payload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_none_expected_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_cmsg, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
