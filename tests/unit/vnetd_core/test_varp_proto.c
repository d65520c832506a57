/*
 * Unknown unicast, the whole exchange between two vnetd models on
 * loopback: a frame for a MAC host A does not know is flooded, the data
 * path reports the miss, vnetd floods a VARP REQUEST, host B (where the
 * MAC is local) answers by unicast, and A learns the location. Also the
 * stats records vnetd builds from the data path's counters (floods_in is
 * the floods received, floods_remcast the ones re-sent for a peer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pkt.h"
#include "varp.h"
#include "vnetd_test.h"

#define HOST_A 1
#define HOST_B 2

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xb};

static void miss_case(enum esp_suite_id suite)
{
	struct vt_host *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct vnet_addr at_b = vt_addr(HOST_B), at_a = vt_addr(HOST_A);
	struct vnet_id id;
	const struct mac_entry *e;
	struct tun_stats st;
	struct vn_ctl_stats rec;
	struct vt_host *both[2] = {a, b};
	bool secured = suite != ESP_SUITE_NONE;
	uint8_t got[2048];

	assert_non_null(a);
	assert_non_null(b);
	vnet_id_from_short(&id, VT_VNET);
	assert_int_equal(vt_open(a, HOST_A, suite), 0);
	assert_int_equal(vt_open(b, HOST_B, suite), 0);
	/* Peers of each other: a FLOOD by unicast is taken only from a peer. */
	assert_int_equal(tun_dp_peers_set(a->d.dp, &at_b, 1), 0);
	assert_int_equal(tun_dp_peers_set(b->d.dp, &at_a, 1), 0);
	/* On a secured vnet each peer change ANNOUNCEs the host's SA to the
	 * other, which answers with its own and asks for the new one: both
	 * directions are learned before the first frame. */
	vt_pump(both, 2);
	tun_vnet_stats(b->v.tv, &st);
	assert_int_equal(st.sa_learned, secured);
	assert_int_equal(st.drop_sa, 0);
	assert_int_equal(st.rx_floods, secured); /* A's ANNOUNCE */
	tun_vnet_stats(a->v.tv, &st);
	assert_int_equal(st.sa_learned, secured);
	assert_int_equal(st.drop_sa, 0);
	assert_int_equal(st.rx_floods, secured); /* B's ANNOUNCE */
	assert_true(
	    mac_table_put(b->v.macs, &id, mac_b, &at_b, MAC_TABLE_LOCAL, MAC_TABLE_NEVER, 0) >= 0);

	/* A: the frame is flooded and, once the batch is out, the request. */
	assert_int_equal(vt_tap_send(a, mac_b, mac_a), 1);
	tun_vnet_stats(a->v.tv, &st);
	assert_int_equal(st.tx_floods, 1);
	assert_int_equal(st.tx_miss, 1);
	assert_int_equal(st.varp_out, 1);

	/* B: the frame reaches its TAP; the request is answered. */
	assert_int_equal(tun_dp_rx_udp(b->d.dp), 2);
	assert_int_equal(recv(b->tap[1], got, sizeof(got), MSG_DONTWAIT), 98);
	tun_vnet_stats(b->v.tv, &st);
	assert_int_equal(st.varp_in, 1);
	assert_int_equal(st.varp_out, 1);
	stats_fill_vnet(&b->v, &rec);
	assert_int_equal(rec.global, 0);
	/* frame and request (and the ANNOUNCE) */
	assert_int_equal(rec.c[VN_STAT_FLOODS_IN], 2 + secured);
	assert_int_equal(rec.c[VN_STAT_DROP_NOSA], 0);
	assert_int_equal(rec.c[VN_STAT_SA_LEARNED], secured);
	assert_int_equal(rec.c[VN_STAT_FLOODS_REMCAST], 0);
	assert_int_equal(rec.c[VN_STAT_FRAMES_IN], 1);
	assert_int_equal(rec.c[VN_STAT_VARP_IN], 1);

	/* A: the reply teaches where mac_b is. */
	assert_int_equal(tun_dp_rx_udp(a->d.dp), 1);
	e = mac_table_get(a->v.macs, &id, mac_b, ev_now_ms());
	assert_non_null(e);
	assert_int_equal(e->flags, MAC_TABLE_REMOTE);
	assert_true(vnet_addr_eq(&e->coa, &at_b));
	stats_fill_vnet(&a->v, &rec);
	/* the reply was unicast (B's ANNOUNCE was not) */
	assert_int_equal(rec.c[VN_STAT_FLOODS_IN], secured);
	assert_int_equal(rec.c[VN_STAT_FLOODS_OUT], 1);
	assert_int_equal(rec.c[VN_STAT_VARP_IN], 1);
	assert_int_equal(rec.c[VN_STAT_VARP_OUT], 1);

	/* The next frame goes unicast: no flood, no miss. */
	assert_int_equal(vt_tap_send(a, mac_b, mac_a), 1);
	tun_vnet_stats(a->v.tv, &st);
	assert_int_equal(st.tx_floods, 1);
	assert_int_equal(st.tx_miss, 1);
	assert_int_equal(st.tx_frames, 2);
	assert_int_equal(tun_dp_rx_udp(b->d.dp), 1);
	assert_int_equal(recv(b->tap[1], got, sizeof(got), MSG_DONTWAIT), 98);
	/* B never learned A's address for mac_a from VARP, only as a hint. */
	e = mac_table_get(b->v.macs, &id, mac_a, ev_now_ms());
	assert_non_null(e);
	assert_true(vnet_addr_eq(&e->coa, &at_a));
	vt_close(a);
	vt_close(b);
	free(a);
	free(b);
}

static void test_miss_none(void **state)
{
	(void)state;
	miss_case(ESP_SUITE_NONE);
}

static void test_miss_gcm(void **state)
{
	(void)state;
	miss_case(ESP_SUITE_AES128_GCM);
}

/* The request on the wire: a FLOOD to the peer carrying VARP REQUEST for
 * the MAC, asked by us, ttl 0. Nobody answers for a MAC nobody has. */
static void test_miss_request_bytes(void **state)
{
	struct vt_host *a = calloc(1, sizeof(*a));
	struct vnet_addr at_a = vt_addr(HOST_A), at_b = vt_addr(HOST_B);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(vt_port())};
	uint8_t wire[2048];
	struct pkt_info info;
	struct varp_msg m;
	int cap = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), got_frame = 0, got_req = 0;
	ssize_t n;

	(void)state;
	assert_non_null(a);
	sin.sin_addr.s_addr = htonl(0x7f000002u);
	assert_true(cap >= 0);
	assert_int_equal(bind(cap, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(vt_open(a, HOST_A, ESP_SUITE_NONE), 0);
	assert_int_equal(tun_dp_peers_set(a->d.dp, &at_b, 1), 0);
	assert_int_equal(vt_tap_send(a, mac_b, mac_a), 1);
	while ((n = recv(cap, wire, sizeof(wire), MSG_DONTWAIT)) > 0) {
		assert_int_equal(pkt_decode(wire, (size_t)n, 0, &info), PKT_OK);
		assert_true(info.flood);
		assert_true(vnet_addr_eq(&info.origin, &at_a));
		if (info.kind == PKT_FRAME) {
			got_frame++;
			continue;
		}
		assert_int_equal(info.kind, PKT_VARP);
		assert_int_equal(varp_decode(wire + info.off, info.len, &m), VARP_OK);
		assert_int_equal(m.op, VARP_MSG_REQUEST);
		assert_memory_equal(m.mac, mac_b, 6);
		assert_true(vnet_addr_eq(&m.coa, &at_a));
		assert_int_equal(m.ttl_s, 0);
		got_req++;
	}
	assert_int_equal(got_frame, 1);
	assert_int_equal(got_req, 1);
	vt_close(a);
	free(a);
	close(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_miss_none),
	    cmocka_unit_test(test_miss_gcm),
	    cmocka_unit_test(test_miss_request_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
