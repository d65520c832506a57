/* The control server on a real event loop and a socket in /tmp: a client
 * that pipelines and does not read is answered only as fast as it reads
 * (back-pressure) and never blocks the loop; idle clients are closed after
 * control-idle-timeout; with every slot taken a new client evicts the
 * idlest one and is served. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "vnetd.h"

#define CLIENTS_MAX 64 /* CTL_CLIENTS_MAX of ctl_server.c */

static struct vnetd d;

static int setup(void **state)
{
	(void)state;
	memset(&d, 0, sizeof(d));
	d.ctl_fd = -1;
	vnetd_conf_defaults(&d.conf);
	snprintf(d.conf.control_socket, sizeof(d.conf.control_socket), "/tmp/tern-ctl-%d.sock",
		 (int)getpid());
	d.conf.control_idle_s = 1;
	d.loop = ev_loop_new();
	assert_non_null(d.loop);
	assert_int_equal(ctl_server_start(&d), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ctl_server_stop(&d);
	ctl_server_stop(&d); /* safe twice */
	ev_loop_free(d.loop);
	return 0;
}

/* Runs the loop for about ms milliseconds; returns the longest iteration. */
static uint64_t spin(uint64_t ms)
{
	uint64_t end = ev_now_ms() + ms, worst = 0;

	while (ev_now_ms() < end) {
		uint64_t t = ev_now_ms();
		assert_true(ev_run_once(d.loop, 10) >= 0);
		if (ev_now_ms() - t > worst)
			worst = ev_now_ms() - t;
	}
	return worst;
}

static int client(void)
{
	int fd = ctl_connect(d.conf.control_socket, 0);

	assert_true(fd >= 0);
	spin(20); /* accepted */
	return fd;
}

static int closed_by_daemon(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

/* Reads one whole reply to vnet-list (no vnets: one empty message). */
static void expect_list_reply(int fd)
{
	struct ctl_hdr h;
	char buf[16];

	assert_int_equal(ctl_recv(fd, &h, buf, sizeof(buf)), 0);
	assert_int_equal(h.type, CTL_VN_VNET_LIST);
	assert_int_equal(h.flags, CTL_F_REPLY);
}

/* Writes the requests with blocking sends, as fast as the daemon takes
 * them, so that the test's thread only runs the loop and reads. */
static void *writer(void *arg)
{
	enum { N = 5000 };
	static struct ctl_hdr reqs[N];
	int fd = *(int *)arg;

	for (int i = 0; i < N; i++)
		reqs[i] = (struct ctl_hdr){CTL_VN_VNET_LIST, 0, 0};
	if (write(fd, reqs, sizeof(reqs)) != (ssize_t)sizeof(reqs))
		return (void *)1;
	return NULL;
}

static void test_back_pressure(void **state)
{
	(void)state;
	enum { N = 5000 };
	int fd = client(), queued, got = 0;
	uint64_t worst;
	pthread_t t;
	void *ret;

	assert_int_equal(pthread_create(&t, NULL, writer, &fd), 0);
	worst = spin(500);
	/* Not read: the daemon stopped answering once the socket was full,
	 * well short of all requests, and no loop iteration blocked. */
	assert_int_equal(ioctl(fd, FIONREAD, &queued), 0);
	assert_true(queued > 0);
	assert_true(queued < N * (int)sizeof(struct ctl_hdr));
	assert_true(worst < 200);
	/* Read: every reply comes, in order, as the client takes them. */
	while (got < N) {
		int avail = 0;
		spin(1);
		assert_int_equal(ioctl(fd, FIONREAD, &avail), 0);
		for (; avail >= (int)sizeof(struct ctl_hdr) && got < N; got++) {
			expect_list_reply(fd);
			avail -= (int)sizeof(struct ctl_hdr);
		}
	}
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_null(ret);
	spin(20);
	assert_int_equal(ioctl(fd, FIONREAD, &queued), 0);
	assert_int_equal(queued, 0);
	assert_int_equal(d.ctl_dropped, 0);
	close(fd);
}

/* control-idle-timeout 1: a silent client goes after 1-2 s, one that
 * sends a request every 300 ms stays. */
static void test_idle_timeout(void **state)
{
	(void)state;
	int quiet = client(), busy = client();

	for (int i = 0; i < 8; i++) {
		assert_int_equal(ctl_send(busy, CTL_VN_VNET_LIST, 0, NULL, 0), 0);
		spin(300);
		expect_list_reply(busy);
	}
	assert_true(closed_by_daemon(quiet));
	assert_false(closed_by_daemon(busy));
	assert_int_equal(d.ctl_dropped, 1);
	close(quiet);
	close(busy);
}

/* All slots taken by idle clients: the next one evicts the oldest and is
 * answered; the others stay. */
static void test_evict_idlest(void **state)
{
	(void)state;
	static int fds[CLIENTS_MAX];
	int fd;

	d.conf.control_idle_s = 60;
	for (int i = 0; i < CLIENTS_MAX; i++)
		fds[i] = client();
	fd = client();
	assert_int_equal(ctl_send(fd, CTL_VN_VNET_LIST, 0, NULL, 0), 0);
	spin(20);
	expect_list_reply(fd);
	assert_true(closed_by_daemon(fds[0]));
	for (int i = 1; i < CLIENTS_MAX; i++)
		assert_false(closed_by_daemon(fds[i]));
	assert_int_equal(d.ctl_dropped, 1);
	for (int i = 0; i < CLIENTS_MAX; i++)
		close(fds[i]);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_back_pressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_evict_idlest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
