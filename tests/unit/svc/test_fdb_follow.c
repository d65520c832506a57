/* fdb_follow in a private network namespace: the first dump is framed by
 * SYNC_BEGIN/END and holds the port's own (local) address; a frame sent
 * into a bridge port from a MAC is reported as learned on that port; the
 * entry is reported removed when the port leaves; a resync re-reports the
 * table; entries of another bridge never show; free from the callback.
 * Without a namespace the cases fail as root, skip only when not root. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"
#include "fdb_follow.h"
#include "netns_private.h"
#include "nl_link.h"

static const uint8_t guest_mac[6] = {0x02, 0x00, 0x5e, 0xaa, 0xbb, 0xcc};
static const uint8_t other_mac[6] = {0x02, 0x00, 0x5e, 0x11, 0x22, 0x33};

struct rec {
	struct fdb_event ev[64];
	int n;
	int sync_begin, sync_end;
	struct fdb_follow *free_me;
};

static void on_fdb(const struct fdb_event *ev, void *arg)
{
	struct rec *r = arg;

	r->sync_begin += ev->type == FDB_EVENT_SYNC_BEGIN;
	r->sync_end += ev->type == FDB_EVENT_SYNC_END;
	if (r->n < 64)
		r->ev[r->n++] = *ev;
	if (r->free_me) {
		fdb_follow_free(r->free_me);
		r->free_me = NULL;
	}
}

/* Index of the first event of `type` for `mac` after `from`, or -1. */
static int find(const struct rec *r, int from, enum fdb_event_type type, const uint8_t *mac)
{
	for (int i = from; i < r->n; i++)
		if (r->ev[i].type == type && (!mac || !memcmp(r->ev[i].mac, mac, 6)))
			return i;
	return -1;
}

static int wait_for(struct ev_loop *loop, struct rec *r, int from, enum fdb_event_type type,
		    const uint8_t *mac)
{
	uint64_t end = ev_now_ms() + 3000;
	int i;

	while ((i = find(r, from, type, mac)) < 0 && ev_now_ms() < end)
		assert_true(ev_run_once(loop, 20) >= 0);
	return i;
}

/* Sends one frame from `src` out of `ifname` (into the bridge's port). */
static void send_frame(const char *ifname, const uint8_t *src)
{
	uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_halen = 6};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x88; /* 0x88b5: IEEE local experimental */
	frame[13] = 0xb5;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
			 (ssize_t)sizeof(frame));
	close(fd);
}

struct fx {
	struct nl_link *nl;
	struct ev_loop *loop;
	int br, port;
	struct nl_link_info port_info;
};

static struct fx fx;
static int netns_err; /* netns_private() in group_setup */

static int group_setup(void **state)
{
	(void)state;
	if ((netns_err = netns_private()) < 0)
		return 0; /* every test reports it (netns_missing) */
	fx.nl = nl_link_new();
	fx.loop = ev_loop_new();
	assert_non_null(fx.nl);
	assert_non_null(fx.loop);
	/* fbr0 <- fv0 (port) <-veth-> fv1 (where frames come from); fbr9 is a
	 * second bridge whose entries must never show. */
	assert_int_equal(nl_link_bridge_add(fx.nl, "fbr0", 0), 0);
	assert_int_equal(nl_link_bridge_add(fx.nl, "fbr9", 0), 0);
	assert_int_equal(nl_link_veth_add(fx.nl, "fv0", "fv1"), 0);
	assert_int_equal(nl_link_veth_add(fx.nl, "fw0", "fw1"), 0);
	assert_int_equal(nl_link_set_master(fx.nl, "fv0", "fbr0"), 0);
	assert_int_equal(nl_link_set_master(fx.nl, "fw0", "fbr9"), 0);
	for (const char *const *n =
		 (const char *const[]){"fbr0", "fbr9", "fv0", "fv1", "fw0", "fw1", NULL};
	     *n; n++)
		assert_int_equal(nl_link_set_up(fx.nl, *n, true), 0);
	fx.br = nl_link_ifindex(fx.nl, "fbr0");
	fx.port = nl_link_ifindex(fx.nl, "fv0");
	assert_int_equal(nl_link_info(fx.nl, "fv0", &fx.port_info), 0);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (fx.nl) {
		nl_link_delete(fx.nl, "fv0");
		nl_link_delete(fx.nl, "fw0");
		nl_link_delete(fx.nl, "fbr0");
		nl_link_delete(fx.nl, "fbr9");
	}
	nl_link_free(fx.nl);
	ev_loop_free(fx.loop);
	return 0;
}

static void test_dump_learn_remove(void **state)
{
	struct rec r = {0};
	struct fdb_follow *f;
	int i, end;

	(void)state;
	if (!fx.nl)
		netns_missing("no private network namespace", netns_err);
	f = fdb_follow_new(fx.loop, fx.br, on_fdb, &r);
	assert_non_null(f);
	end = wait_for(fx.loop, &r, 0, FDB_EVENT_SYNC_END, NULL);
	assert_true(end > 0);
	assert_int_equal(r.ev[0].type, FDB_EVENT_SYNC_BEGIN);
	/* The port's own address: local, permanent, on the port. */
	i = find(&r, 0, FDB_EVENT_ADD, fx.port_info.mac);
	assert_true(i > 0 && i < end);
	assert_int_equal(r.ev[i].port, fx.port);
	assert_true(r.ev[i].local);
	assert_false(r.ev[i].learned);
	assert_int_equal(fdb_follow_dumps(f), 1);

	/* A guest behind fv1 speaks: learned on fv0. */
	send_frame("fw1", other_mac); /* other bridge: must not show */
	send_frame("fv1", guest_mac);
	i = wait_for(fx.loop, &r, end, FDB_EVENT_ADD, guest_mac);
	assert_true(i > end);
	assert_int_equal(r.ev[i].port, fx.port);
	assert_true(r.ev[i].learned);
	assert_false(r.ev[i].local);
	assert_false(r.ev[i].is_static);
	assert_false(r.ev[i].self);
	assert_int_equal(r.ev[i].vlan, 0);

	/* A resync reports it again inside a new frame. */
	assert_int_equal(fdb_follow_resync(f), 0);
	end = wait_for(fx.loop, &r, i + 1, FDB_EVENT_SYNC_END, NULL);
	assert_true(end > i);
	assert_true(find(&r, i + 1, FDB_EVENT_SYNC_BEGIN, NULL) > i);
	assert_true(find(&r, i + 1, FDB_EVENT_ADD, guest_mac) < end);
	assert_int_equal(fdb_follow_dumps(f), 2);

	/* The port leaves: its entries are flushed. */
	assert_int_equal(nl_link_set_nomaster(fx.nl, "fv0"), 0);
	i = wait_for(fx.loop, &r, end, FDB_EVENT_DEL, guest_mac);
	assert_true(i > end);
	assert_int_equal(r.ev[i].port, fx.port);
	assert_int_equal(find(&r, 0, FDB_EVENT_ADD, other_mac), -1);
	assert_int_equal(r.sync_begin, 2);
	assert_int_equal(r.sync_end, 2);
	assert_int_equal(fdb_follow_overruns(f), 0);
	fdb_follow_free(f);
	assert_int_equal(nl_link_set_master(fx.nl, "fv0", "fbr0"), 0);
}

static void test_free_from_callback(void **state)
{
	struct rec r = {0};
	uint64_t end;

	(void)state;
	if (!fx.nl)
		netns_missing("no private network namespace", netns_err);
	r.free_me = fdb_follow_new(fx.loop, fx.br, on_fdb, &r);
	assert_non_null(r.free_me);
	end = ev_now_ms() + 200;
	while (ev_now_ms() < end)
		assert_true(ev_run_once(fx.loop, 20) >= 0);
	/* The first event (SYNC_BEGIN) freed it: nothing after. */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, FDB_EVENT_SYNC_BEGIN);
}

static void test_missing_bridge_ends_empty(void **state)
{
	struct rec r = {0};
	struct fdb_follow *f;

	(void)state;
	if (!fx.nl)
		netns_missing("no private network namespace", netns_err);
	f = fdb_follow_new(fx.loop, 99999, on_fdb, &r);
	assert_non_null(f);
	assert_int_equal(wait_for(fx.loop, &r, 0, FDB_EVENT_SYNC_END, NULL), 1);
	assert_int_equal(r.ev[0].type, FDB_EVENT_SYNC_BEGIN);
	assert_int_equal(fdb_follow_dumps(f), 1); /* a hard error is not retried */
	fdb_follow_free(f);
}

static void test_bad_args(void **state)
{
	(void)state;
	errno = 0;
	assert_null(fdb_follow_new(fx.loop, 0, on_fdb, NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(fdb_follow_new(fx.loop, 1, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	fdb_follow_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dump_learn_remove),
	    cmocka_unit_test(test_free_from_callback),
	    cmocka_unit_test(test_missing_bridge_ends_empty),
	    cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
