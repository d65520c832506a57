/*
 * Unknown unicast reports (ops->miss): a frame for a MAC the table does not
 * know is flooded and reported once per MAC per interval, and at most
 * TUN_MISS_PER_S times a second per vnet; group, local and known MACs are
 * never reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "pkt.h"
#include "tun_test.h"

#define HOST_A 1
#define HOST_B 2
#define VNET 97
#define MAX_SEEN 256

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xb};
static const uint8_t mac_l[6] = {0x02, 0, 0, 0, 0, 0xc};
static const uint8_t mac_x[6] = {0x02, 0, 0, 0, 0, 0x99};
static const uint8_t mac_y[6] = {0x02, 0, 0, 0, 0, 0x98};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

struct seen {
	size_t n;
	uint8_t mac[MAX_SEEN][6];
	struct tun_vnet *vn;
};

static void on_miss(void *arg, struct tun_vnet *vn, const uint8_t mac[6])
{
	struct seen *s = arg;

	if (s->n < MAX_SEEN)
		memcpy(s->mac[s->n], mac, 6);
	s->n++;
	s->vn = vn;
}

static const struct tun_dp_ops miss_ops = {.miss = on_miss};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Whether less than an interval passed since t0: only then may a test
 * expect a repeat to be suppressed (a stalled machine is not a bug). */
static bool within_interval(uint64_t t0)
{
	return now_ms() - t0 < TUN_MISS_INTERVAL_MS;
}

static void send_to(struct host *h, const uint8_t dst[6], int frames_expected)
{
	uint8_t f[64];

	frame_make(f, sizeof(f), dst, mac_a, 1);
	assert_int_equal(write(h->tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
	assert_int_equal(tun_dp_rx_tap(h->dp, h->vn), frames_expected);
}

static void put(struct host *h, const uint8_t mac[6], int where, uint32_t flags)
{
	struct vnet_id id;
	struct vnet_addr a = lo_addr(where);

	vnet_id_from_short(&id, VNET);
	assert_true(mac_table_put(h->macs, &id, mac, &a, flags, MAC_TABLE_NEVER, 0) >= 0);
}

/* Which destinations are reported, and that the flood still goes out
 * before the report. */
static void test_miss_which(void **state)
{
	struct host a;
	struct seen s = {0};
	struct tun_stats st;
	uint8_t wire[2048];
	struct pkt_info info;
	uint64_t t0;
	ssize_t n;
	int cap = raw_open(HOST_B);
	struct vnet_addr peer = lo_addr(HOST_B);

	(void)state;
	assert_true(cap >= 0);
	assert_int_equal(host_open(&a, HOST_A, false, 1, &miss_ops, &s), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer, 1), 0);
	put(&a, mac_b, HOST_B, MAC_TABLE_REMOTE);
	put(&a, mac_l, HOST_A, MAC_TABLE_LOCAL);

	t0 = now_ms();
	send_to(&a, mac_x, 1);
	assert_int_equal(s.n, 1);
	assert_memory_equal(s.mac[0], mac_x, 6);
	assert_ptr_equal(s.vn, a.vn);
	/* The frame itself was flooded to the peer. */
	n = recv_wait(cap, wire, sizeof(wire), 200);
	assert_true(n > 0);
	assert_int_equal(pkt_decode(wire, (size_t)n, 0, &info), PKT_OK);
	assert_true(info.flood);

	/* Known remote, local, broadcast and multicast: no report. */
	send_to(&a, mac_b, 1);
	send_to(&a, mac_l, 1);
	send_to(&a, bcast, 1);
	send_to(&a, mcast, 1);
	assert_int_equal(s.n, 1);

	/* mac_x again within the interval: flooded, not reported; mac_y is. */
	send_to(&a, mac_x, 1);
	if (within_interval(t0))
		assert_int_equal(s.n, 1);
	send_to(&a, mac_y, 1);
	assert_memory_equal(s.mac[s.n - 1], mac_y, 6);
	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.tx_miss, s.n);
	assert_int_equal(st.tx_floods, 5); /* x, bcast, mcast, x, y */
	host_close(&a);
	close(cap);
}

/* Several frames for one unknown MAC in one batch: one report. After the
 * interval the MAC is reported again. */
static void test_miss_interval(void **state)
{
	struct host a;
	struct seen s = {0};
	uint8_t f[64];
	/* Just past the interval (a whole number of seconds). */
	struct timespec ts = {.tv_sec = TUN_MISS_INTERVAL_MS / 1000, .tv_nsec = 50000000L};
	uint64_t t0;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, 1, &miss_ops, &s), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	frame_make(f, sizeof(f), mac_x, mac_a, 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(write(a.tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
	t0 = now_ms();
	assert_int_equal(tun_dp_rx_tap(a.dp, a.vn), 5);
	assert_int_equal(s.n, 1);
	send_to(&a, mac_x, 1);
	if (within_interval(t0))
		assert_int_equal(s.n, 1);
	s.n = 1;
	nanosleep(&ts, NULL);
	send_to(&a, mac_x, 1);
	assert_int_equal(s.n, 2);
	assert_memory_equal(s.mac[1], mac_x, 6);
	host_close(&a);
}

/* A guest spraying made-up MACs gets at most TUN_MISS_PER_S reports a
 * second on its vnet. */
static void test_miss_budget(void **state)
{
	struct host a;
	struct seen s = {0};
	uint8_t f[64], dst[6] = {0x02, 0x42, 0, 0, 0, 0};
	unsigned sent = 0;
	uint64_t t0 = now_ms();

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, 1, &miss_ops, &s), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	/* Ten per batch, so that no batch has more than it can report. */
	while (sent < TUN_MISS_PER_S + TUN_MISS_PER_S / 2) {
		for (int i = 0; i < 10; i++, sent++) {
			dst[4] = (uint8_t)(sent >> 8);
			dst[5] = (uint8_t)sent;
			frame_make(f, sizeof(f), dst, mac_a, 3);
			assert_int_equal(write(a.tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
		}
		assert_int_equal(tun_dp_rx_tap(a.dp, a.vn), 10);
	}
	if (within_interval(t0))
		assert_int_equal(s.n, TUN_MISS_PER_S);
	else /* the budget may have been refilled once on the way */
		assert_true(s.n >= TUN_MISS_PER_S && s.n <= 2 * TUN_MISS_PER_S);
	host_close(&a);
}

/* Without a miss callback nothing is counted. */
static void test_miss_no_callback(void **state)
{
	struct host a;
	struct tun_stats st;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	send_to(&a, mac_x, 1);
	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.tx_miss, 0);
	assert_int_equal(st.tx_floods, 1);
	host_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_miss_which),
	    cmocka_unit_test(test_miss_interval),
	    cmocka_unit_test(test_miss_budget),
	    cmocka_unit_test(test_miss_no_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
