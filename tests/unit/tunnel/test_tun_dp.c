/*
 * The data path end to end on loopback: frames written to one host's TAP
 * socketpair come out of another host's, with exact wire bytes checked
 * against packets the test builds itself from libvnet's codecs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "esp_key.h"
#include "esp_tag.h"
#include "pkt.h"
#include "sa_msg.h"
#include "tun_test.h"

#define HOST_A 1
#define HOST_B 2
#define HOST_C 3
#define HOST_D 4 /* a capture socket */
#define VNET 97
#define SEQ0 1000000

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xb};
static const uint8_t mac_x[6] = {0x02, 0, 0, 0, 0, 0x99};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static struct vnet_id vnet97(void)
{
	struct vnet_id id;

	vnet_id_from_short(&id, VNET);
	return id;
}

static void mac_remote(struct host *h, const uint8_t mac[6], int where)
{
	struct vnet_id id = vnet97();
	struct vnet_addr a = lo_addr(where);

	assert_true(mac_table_put(h->macs, &id, mac, &a, MAC_TABLE_REMOTE, MAC_TABLE_NEVER, 0) >=
		    0);
}

static int out_keys(const struct tun_sa_info *sa, void *arg)
{
	if (sa->dir != ESP_SA_OUT)
		return 0;
	*(struct esp_sa_keys *)arg = *sa->keys;
	return 1;
}

static void tap_send(struct host *h, const uint8_t *f, size_t len)
{
	assert_int_equal(write(h->tap[1], f, len), (ssize_t)len);
	assert_int_equal(tun_dp_rx_tap(h->dp, h->vn), 1);
}

static ssize_t tap_recv(struct host *h, uint8_t *buf, size_t cap)
{
	return recv(h->tap[1], buf, cap, MSG_DONTWAIT);
}

/* Tags the tagged FLOOD of len bytes at pkt anew, as a host holding the
 * vnet key (0x5a, as host_vnet) would: HMAC under the vnet's flood key
 * over the envelope, the inner packet's first 8 and last 16 bytes. */
static void flood_retag(uint8_t *pkt, size_t len)
{
	struct vnet_id id = vnet97();
	struct esp_key key;
	uint8_t k[ESP_CTL_KEY_LEN];
	struct esp_tag *t;
	struct esp_tag_part parts[3] = {
	    {pkt, PKT_FLOOD_HDR_LEN},
	    {pkt + PKT_FLOOD_TAGGED_LEN, PKT_FLOOD_TAG_HEAD},
	    {pkt + len - PKT_FLOOD_TAG_TAIL, PKT_FLOOD_TAG_TAIL},
	};

	memset(key.b, 0x5a, sizeof(key.b));
	assert_int_equal(esp_key_derive_ctl(&key, &id, ESP_CTL_FLOOD, k), 0);
	t = esp_tag_new(k);
	assert_non_null(t);
	assert_int_equal(esp_tag_make(t, parts, 3, pkt + PKT_FLOOD_HDR_LEN), 0);
	esp_tag_free(t);
}

/* ---- clear frames ---------------------------------------------------- */

static void test_clear_frame_bytes(void **state)
{
	struct host a;
	uint8_t f[100], wire[2048], want[2048];
	struct vnet_id id = vnet97();
	struct tun_stats st;
	int r = raw_open(HOST_B);

	(void)state;
	assert_true(r >= 0);
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	mac_remote(&a, mac_b, HOST_B);
	frame_make(f, sizeof(f), mac_b, mac_a, 1);
	tap_send(&a, f, sizeof(f));

	/* 00000000 | 01 01 0000 | vnet id | frame */
	memcpy(want + PKT_VNET_HDR_LEN, f, sizeof(f));
	assert_ptr_equal(pkt_push_vnet(want + PKT_VNET_HDR_LEN, PKT_VNET_HDR_LEN, PKT_FRAME, &id),
			 want);
	assert_int_equal(recv_wait(r, wire, sizeof(wire), 200), PKT_VNET_HDR_LEN + sizeof(f));
	assert_memory_equal(wire, want, PKT_VNET_HDR_LEN + sizeof(f));
	assert_memory_equal(wire, "\0\0\0\0\x01\x01\0\0", 8);

	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.tx_frames, 1);
	assert_int_equal(st.tx_bytes, sizeof(f));
	assert_int_equal(st.tx_floods, 0);
	host_close(&a);
	close(r);
}

static void test_clear_roundtrip_and_learn(void **state)
{
	struct host a, b;
	uint8_t f[1514], got[2048];
	struct vnet_id id = vnet97();
	const struct mac_entry *e;
	struct vnet_addr addr_a = lo_addr(HOST_A);
	struct tun_stats st;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_NONE), 0);
	mac_remote(&a, mac_b, HOST_B);
	frame_make(f, sizeof(f), mac_b, mac_a, 7);
	tap_send(&a, f, sizeof(f));
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.rx_bytes, sizeof(f));

	/* B learned where mac_a is, as a remote hint. */
	e = mac_table_get(b.macs, &id, mac_a, 0);
	assert_non_null(e);
	assert_int_equal(e->flags, MAC_TABLE_REMOTE);
	assert_true(vnet_addr_eq(&e->coa, &addr_a));
	host_close(&a);
	host_close(&b);
}

static void test_local_mac_not_sent(void **state)
{
	struct host a;
	uint8_t f[64];
	struct vnet_id id = vnet97();
	struct vnet_addr me = lo_addr(HOST_A), peer = lo_addr(HOST_B);
	struct tun_stats st;
	int r = raw_open(HOST_B);

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer, 1), 0);
	assert_true(mac_table_put(a.macs, &id, mac_b, &me, MAC_TABLE_LOCAL, MAC_TABLE_NEVER, 0) >=
		    0);
	frame_make(f, sizeof(f), mac_b, mac_a, 3);
	tap_send(&a, f, sizeof(f));
	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.tx_local, 1);
	assert_int_equal(st.tx_frames, 0);
	assert_int_equal(recv_wait(r, f, sizeof(f), 50), -1);
	host_close(&a);
	close(r);
}

/* ---- ESP ------------------------------------------------------------- */

struct suite_case {
	enum esp_suite_id suite;
	size_t iv, icv;
	bool encrypts;
};

static const struct suite_case suites[] = {
    {ESP_SUITE_AES128_GCM, 8, 16, true},
    {ESP_SUITE_AES128_CBC_SHA1, 16, 12, true},
    {ESP_SUITE_NULL_SHA1, 0, 12, false},
    {ESP_SUITE_NULL_SHA256, 0, 16, false},
};

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	size_t i;

	for (i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return true;
	return false;
}

static uint64_t tun_dp_clock_ms_test(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A sends to a capturing socket at D's address (mac_b is "at D"); the
 * captured bytes are then sent from A's own socket into B's data path,
 * which learned A's SA after the first one was sent. */
static void esp_case(const struct suite_case *sc)
{
	struct host a, b;
	uint8_t f[600], wire[3][2048], got[2048];
	struct vnet_id id = vnet97();
	struct vnet_addr addr_a = lo_addr(HOST_A);
	struct tun_stats st;
	ssize_t n[3];
	int cap = raw_open(HOST_D), i;

	assert_true(cap >= 0);
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, sc->suite), 0);
	assert_int_equal(host_vnet(&b, VNET, sc->suite), 0);
	mac_remote(&a, mac_b, HOST_D);
	for (i = 0; i < 3; i++) {
		if (i == 1) /* B learns A's SA: seq 1 is then behind its floor */
			assert_int_equal(host_learn(&b, &a), 0);
		frame_make(f, sizeof(f), mac_b, mac_a, (uint8_t)(40 + i));
		tap_send(&a, f, sizeof(f));
		n[i] = recv_wait(cap, wire[i], sizeof(wire[i]), 200);
		assert_true(n[i] > 0);
		/* A's SPI (hash of vnet and A, then random), seq 1, 2, 3. */
		assert_int_equal(be32(wire[i]), host_spi(&a));
		assert_int_equal(be32(wire[i]) >> 16, esp_key_spi_hash(&id, &addr_a));
		assert_int_equal(be32(wire[i] + 4), (uint32_t)(i + 1));
		assert_true((size_t)n[i] >= 8 + sc->iv + sizeof(f) + 2 + sc->icv);
		assert_int_equal(contains(wire[i], (size_t)n[i], f + 14, sizeof(f) - 14),
				 !sc->encrypts);
	}

	raw_send(tun_dp_fd(a.dp), HOST_B, wire[1], (size_t)n[1]);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	frame_make(f, sizeof(f), mac_b, mac_a, 41);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));

	/* The same packet again: replay. */
	raw_send(tun_dp_fd(a.dp), HOST_B, wire[1], (size_t)n[1]);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	/* The third one with a flipped bit: authentication failure. */
	wire[2][n[2] - sc->icv - 3] ^= 0x10;
	raw_send(tun_dp_fd(a.dp), HOST_B, wire[2], (size_t)n[2]);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	/* The first, sent before B learned the SA: behind the floor. */
	raw_send(tun_dp_fd(a.dp), HOST_B, wire[0], (size_t)n[0]);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), -1);

	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.drop_replay, 2);
	assert_int_equal(st.drop_auth, 1);
	assert_int_equal(st.drop_malformed, 0);
	assert_int_equal(st.drop_nosa, 0);
	assert_int_equal(st.sa_learned, 1);
	assert_int_equal(st.drop_sa, 0);
	host_close(&a);
	host_close(&b);
	close(cap);
}

static void test_esp_suites(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		esp_case(&suites[i]);
}

/* Straight A -> B with both data paths, many frames, every suite. */
static void test_esp_roundtrip(void **state)
{
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		struct host a, b;
		uint8_t f[1514], got[2048];
		struct tun_stats st;

		assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
		assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
		assert_int_equal(host_vnet(&a, VNET, suites[i].suite), 0);
		assert_int_equal(host_vnet(&b, VNET, suites[i].suite), 0);
		assert_int_equal(host_learn(&b, &a), 0);
		mac_remote(&a, mac_b, HOST_B);
		for (k = 0; k < 20; k++) {
			size_t len = 60 + (size_t)k * 71;

			frame_make(f, len, mac_b, mac_a, (uint8_t)k);
			tap_send(&a, f, len);
			assert_int_equal(tun_dp_rx_udp(b.dp), 1);
			assert_int_equal(tap_recv(&b, got, sizeof(got)), (ssize_t)len);
			assert_memory_equal(got, f, len);
		}
		tun_vnet_stats(b.vn, &st);
		assert_int_equal(st.rx_frames, 20);
		host_close(&a);
		host_close(&b);
	}
}

/* A burst of equal frames to one destination leaves as UDP GSO sends and
 * arrives as GRO trains where the kernel has them; either way every frame
 * must come out once, in order, byte for byte. */
static void test_burst_gso_gro(void **state)
{
	struct host a, b;
	struct tun_udp_caps caps;
	uint8_t f[1400], got[2048];
	struct tun_stats st;
	int k, rounds, dgrams = 0, got_dgrams;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_learn(&b, &a), 0);
	mac_remote(&a, mac_b, HOST_B);
	tun_dp_caps(a.dp, &caps);
	print_message("udp offloads: gso %d gro %d\n", caps.gso, caps.gro);
	for (k = 0; k < 50; k++) {
		frame_make(f, sizeof(f), mac_b, mac_a, (uint8_t)k);
		assert_int_equal(write(a.tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
	}
	assert_int_equal(tun_dp_rx_tap(a.dp, a.vn), 50);
	for (rounds = 0; rounds < 100; rounds++) {
		tun_vnet_stats(b.vn, &st);
		if (st.rx_frames >= 50)
			break;
		got_dgrams = tun_dp_rx_udp(b.dp);
		assert_true(got_dgrams >= 0);
		dgrams += got_dgrams;
	}
	/* 2 with GSO and GRO (43 + 7 segments), 50 without. */
	print_message("50 frames came in %d datagrams or GRO trains\n", dgrams);
	for (k = 0; k < 50; k++) {
		frame_make(f, sizeof(f), mac_b, mac_a, (uint8_t)k);
		assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));
		assert_memory_equal(got, f, sizeof(f));
	}
	assert_int_equal(tap_recv(&b, got, sizeof(got)), -1);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_frames, 50);
	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.tx_frames, 50);
	assert_int_equal(st.drop_noroute, 0);
	host_close(&a);
	host_close(&b);
}

/* A clear frame on a secured vnet is refused; garbage and unknown SPIs
 * are counted on the data path. */
static void test_bad_packets(void **state)
{
	struct host b;
	uint8_t pkt[128] = {0}, f[64];
	struct vnet_id id = vnet97();
	struct tun_stats st, dst;
	int fake_a = raw_open(HOST_A);

	(void)state;
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	frame_make(f, sizeof(f), mac_b, mac_a, 0);
	memcpy(pkt + PKT_VNET_HDR_LEN, f, sizeof(f));
	pkt_push_vnet(pkt + PKT_VNET_HDR_LEN, PKT_VNET_HDR_LEN, PKT_FRAME, &id);
	raw_send(fake_a, HOST_B, pkt, PKT_VNET_HDR_LEN + sizeof(f));
	pkt[4] = 9; /* bad version */
	raw_send(fake_a, HOST_B, pkt, PKT_VNET_HDR_LEN + sizeof(f));
	memcpy(pkt, "\x12\x34\x00\x01\0\0\0\1", 8); /* SPI nobody has */
	raw_send(fake_a, HOST_B, pkt, 64);
	assert_int_equal(tun_dp_rx_udp(b.dp), 3);
	tun_vnet_stats(b.vn, &st);
	tun_dp_stats(b.dp, &dst);
	assert_int_equal(st.drop_malformed, 1);
	assert_int_equal(dst.drop_malformed, 1);
	assert_int_equal(dst.drop_noroute, 1);
	assert_int_equal(st.rx_frames, 0);
	host_close(&b);
	close(fake_a);
}

/* Forged ESP packets in A's name (random SPIs with the right vnet hash)
 * make the receiver ask A for its SA, but at most once per TUN_SA_ASK_MS:
 * 200 of them cost A a REQUEST or two, and none is ever taken. Then the
 * genuine A announces its SA: B learns it and A's frames pass at once. */
static void test_ask_budget(void **state)
{
	struct host a, b;
	struct host *both[2] = {&a, &b};
	struct vnet_id id = vnet97();
	struct vnet_addr addr_a = lo_addr(HOST_A), addr_b = lo_addr(HOST_B);
	uint8_t pkt[200] = {0}, got[2048], f[100];
	struct tun_stats st;
	struct sa_msg m;
	uint32_t spi;
	uint64_t t0, t1;
	int fake_a = raw_open(HOST_A), k, rounds, requests = 0, others = 0;
	ssize_t n;

	(void)state;
	assert_true(fake_a >= 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(b.dp, &addr_a, 1), 0);
	assert_int_equal(raw_drain(fake_a, 20), 1); /* B's ANNOUNCE */
	srand(7);
	t0 = tun_dp_clock_ms_test();
	for (k = 0; k < 200; k++) {
		spi =
		    (uint32_t)esp_key_spi_hash(&id, &addr_a) << 16 | (uint32_t)(1 + rand() % 65535);
		pkt[0] = (uint8_t)(spi >> 24);
		pkt[1] = (uint8_t)(spi >> 16);
		pkt[2] = (uint8_t)(spi >> 8);
		pkt[3] = (uint8_t)spi;
		pkt[7] = (uint8_t)(k + 1);
		assert_int_equal(raw_send(fake_a, HOST_B, pkt, sizeof(pkt)), sizeof(pkt));
	}
	for (rounds = 0; rounds < 1000; rounds++) {
		tun_vnet_stats(b.vn, &st);
		if (st.drop_nosa >= 200)
			break;
		assert_true(tun_dp_rx_udp(b.dp) >= 0);
	}
	t1 = tun_dp_clock_ms_test();
	while ((n = recv_wait(fake_a, got, sizeof(got), 20)) > 0) {
		if (sa_msg_decode(got, (size_t)n, &m) == SA_MSG_OK && m.op == SA_MSG_REQUEST &&
		    vnet_addr_eq(&m.sender, &addr_a) && vnet_addr_eq(&m.asker, &addr_b))
			requests++;
		else
			others++;
	}
	print_message("200 forged packets in %llu ms: %d requests\n", (unsigned long long)(t1 - t0),
		      requests);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.drop_nosa, 200);
	assert_int_equal(st.drop_auth, 0);
	assert_int_equal(st.rx_frames, 0);
	assert_int_equal(st.sa_learned, 0);
	assert_int_equal(others, 0);
	assert_true(requests >= 1);
	assert_true(requests <= 1 + (int)((t1 - t0) / 100));
	assert_true(requests <= 2 || t1 - t0 >= 200);
	close(fake_a);

	/* The genuine A, after the ask interval (an ANNOUNCE is followed by
	 * a REQUEST only if the sender was not asked within TUN_SA_ASK_MS). */
	poll(NULL, 0, 110);
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &addr_b, 1), 0);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&b, &a));
	mac_remote(&a, mac_b, HOST_B);
	frame_make(f, sizeof(f), mac_b, mac_a, 3);
	tap_send(&a, f, sizeof(f));
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.drop_nosa, 200);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.sa_learned, 1);
	assert_int_equal(st.drop_sa, 0);
	host_close(&a);
	host_close(&b);
}

/* ---- floods ---------------------------------------------------------- */

/* An unknown unicast frame goes as a FLOOD to every peer (here a capture
 * at D), tagged, around ESP; the receiver B (A is its peer) drops the
 * second copy before any crypto. */
static void test_flood_dedup(void **state)
{
	struct host a, b;
	uint8_t f[200], wire[2048], got[2048];
	struct vnet_addr peer_d = lo_addr(HOST_D), addr_a = lo_addr(HOST_A);
	struct pkt_info info;
	struct tun_stats st;
	ssize_t n;
	int cap = raw_open(HOST_D);

	(void)state;
	assert_true(cap >= 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_NULL_SHA256), 0);
	assert_int_equal(tun_dp_peers_set(b.dp, &addr_a, 1), 0); /* nobody at A yet */
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NULL_SHA256), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer_d, 1), 0);
	assert_int_equal(raw_drain(cap, 20), 1); /* A's ANNOUNCE */
	assert_int_equal(host_learn(&b, &a), 0);
	frame_make(f, sizeof(f), mac_x, mac_a, 9);
	tap_send(&a, f, sizeof(f));
	n = recv_wait(cap, wire, sizeof(wire), 200);
	assert_true(n > 0);
	assert_int_equal(pkt_decode(wire, (size_t)n, 0, &info), PKT_OK);
	assert_true(info.flood);
	assert_true(info.tagged);
	assert_int_equal(info.inner_off, PKT_FLOOD_TAGGED_LEN);
	assert_int_equal(info.kind, PKT_ESP);
	assert_int_equal(info.spi, host_spi(&a));
	assert_true(vnet_addr_eq(&info.origin, &addr_a));
	/* The ANNOUNCEs of vnet_add and peers_set took SEQ0 and SEQ0 + 1. */
	assert_int_equal(info.seq, SEQ0 + 2);
	assert_int_equal(info.hops, 0);

	raw_send(tun_dp_fd(a.dp), HOST_B, wire, (size_t)n);
	raw_send(tun_dp_fd(a.dp), HOST_B, wire, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 2);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
	assert_int_equal(tap_recv(&b, got, sizeof(got)), -1);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.drop_dup_flood, 1);
	assert_int_equal(st.drop_replay, 0); /* caught before ESP */
	assert_int_equal(st.rx_floods, 1);   /* once, after dedup */

	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.tx_floods, 1);
	host_close(&a);
	host_close(&b);
	close(cap);
}

/* B is A's peer: a FLOOD that reaches B by unicast with hops 0 is re-sent
 * to B's multicast group with hops 1, and not to B's own peer C; one that
 * already has hops 1 is not re-sent. */
static void test_peer_remulticast(void **state)
{
	struct host a, b;
	uint8_t f[100], wire[2048], mc[2048], got[2048];
	struct vnet_addr peer_b = lo_addr(HOST_B), peers_b[2] = {lo_addr(HOST_C), lo_addr(HOST_A)};
	struct pkt_info info;
	struct tun_stats st;
	ssize_t n;
	int cap = raw_open(HOST_B), fake_a = raw_open(HOST_A), c = raw_open(HOST_C), obs;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer_b, 1), 0);
	frame_make(f, sizeof(f), bcast, mac_a, 5);
	tap_send(&a, f, sizeof(f));
	n = recv_wait(cap, wire, sizeof(wire), 200);
	assert_true(n > 0);
	close(cap);

	obs = raw_open(0);
	assert_true(obs >= 0);
	assert_int_equal(host_open(&b, HOST_B, true, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_NONE), 0);
	/* B's peers: C, and A (unicast FLOODs are taken only from peers). */
	assert_int_equal(tun_dp_peers_set(b.dp, peers_b, 2), 0);
	raw_send(fake_a, HOST_B, wire, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));

	/* The group got the same packet, hops now 1. */
	assert_int_equal(recv_wait(obs, mc, sizeof(mc), 200), n);
	assert_int_equal(pkt_decode(mc, (size_t)n, 0, &info), PKT_OK);
	assert_int_equal(info.hops, 1);
	assert_int_equal(info.seq, SEQ0);
	mc[PKT_FLOOD_HDR_LEN - 4] = 0;
	assert_memory_equal(mc, wire, (size_t)n);
	assert_int_equal(recv_wait(c, got, sizeof(got), 50), -1);

	/* A hops-1 flood by unicast (new seq): delivered, not re-sent. */
	pkt_decode(wire, (size_t)n, 0, &info);
	pkt_push_flood(wire + PKT_FLOOD_HDR_LEN, PKT_FLOOD_HDR_LEN, &info.origin, SEQ0 + 1, 1,
		       false);
	raw_send(fake_a, HOST_B, wire, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(tap_recv(&b, got, sizeof(got)), sizeof(f));
	assert_int_equal(recv_wait(obs, mc, sizeof(mc), 50), -1);

	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.flood_remcast, 1);
	assert_int_equal(st.rx_frames, 2);
	assert_int_equal(st.rx_floods, 2);
	host_close(&a);
	host_close(&b);
	close(fake_a);
	close(c);
	close(obs);
}

/* A host bound to the wildcard address, as vnetd is, so that it gets the
 * group's traffic and tells it apart by IP_PKTINFO; local is 127.0.0.num. */
static void host_open_any(struct host *h, int num, const struct tun_dp_ops *ops, void *arg)
{
	struct tun_udp_conf uc = {.port = port_pick(), .ifindex = 1};

	memset(h, 0, sizeof(*h));
	h->tap[0] = h->tap[1] = -1;
	uc.local = lo_addr(num);
	vnet_addr_parse(TUN_GROUP_DEFAULT, &uc.group);
	h->dp = tun_dp_new(&uc, SEQ0, ops, arg);
	assert_non_null(h->dp);
	h->macs = mac_table_new(16);
	assert_non_null(h->macs);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, h->tap), 0);
}

static void send_group(int fd, const uint8_t *pkt, size_t len)
{
	struct ip_mreqn mif = {.imr_ifindex = 1};
	struct sockaddr_in grp = {.sin_family = AF_INET, .sin_port = htons(port_pick())};

	inet_pton(AF_INET, TUN_GROUP_DEFAULT, &grp.sin_addr);
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)), 0);
	assert_int_equal(sendto(fd, pkt, len, 0, (struct sockaddr *)&grp, sizeof(grp)),
			 (ssize_t)len);
}

#define FWD_HOST_D 4
#define FWD_HOST_E 5
#define FWD_WIRES 4

struct fwd_rig {
	struct host m; /* the forwarder, 127.0.0.3 */
	struct host a; /* the origin, 127.0.0.1 */
	int b, d, e;   /* captures of the hosts 2, 4, 5 */
	int obs;       /* the group */
	uint8_t wire[FWD_WIRES][2048];
	size_t len[FWD_WIRES];
	uint8_t frame[FWD_WIRES][120];
};

/* M comes up with peers A, B, D, E and learns the SA of host A (origin,
 * secured vnet, peer B); then A floods FWD_WIRES broadcasts, captured as
 * sent to its peer B. Nothing else is left waiting anywhere. */
static void fwd_setup(struct fwd_rig *r)
{
	struct vnet_addr peers[4] = {lo_addr(HOST_A), lo_addr(HOST_B), lo_addr(FWD_HOST_D),
				     lo_addr(FWD_HOST_E)};
	struct tun_stats st;
	ssize_t n;
	int i;

	r->b = raw_open(HOST_B);
	r->d = raw_open(FWD_HOST_D);
	r->e = raw_open(FWD_HOST_E);
	r->obs = raw_open(0);
	assert_true(r->b >= 0 && r->d >= 0 && r->e >= 0 && r->obs >= 0);
	assert_int_equal(host_open(&r->a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&r->a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(r->a.dp, &peers[1], 1), 0);
	host_open_any(&r->m, HOST_C, NULL, NULL);
	assert_int_equal(host_vnet(&r->m, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(r->m.dp, peers, 4), 0);
	assert_int_equal(host_learn(&r->m, &r->a), 0);
	/* The ANNOUNCEs: A's to B; M's to the group (twice) and to B, D, E
	 * (A takes M's although M is not its peer: an ANNOUNCE is the one
	 * unicast FLOOD a non-peer may send, since only a key holder can). */
	assert_int_equal(raw_drain(r->b, 20), 2);
	assert_int_equal(raw_drain(r->d, 20), 1);
	assert_int_equal(raw_drain(r->e, 20), 1);
	assert_int_equal(raw_drain(r->obs, 20), 2);
	tun_vnet_stats(r->a.vn, &st);
	assert_int_equal(st.drop_notpeer, 0);
	for (i = 0; i < FWD_WIRES; i++) {
		frame_make(r->frame[i], sizeof(r->frame[i]), bcast, mac_a, (uint8_t)(20 * i));
		tap_send(&r->a, r->frame[i], sizeof(r->frame[i]));
		n = recv_wait(r->b, r->wire[i], sizeof(r->wire[i]), 200);
		assert_true(n > 0);
		r->len[i] = (size_t)n;
	}
}

static void fwd_teardown(struct fwd_rig *r)
{
	host_close(&r->m);
	host_close(&r->a);
	close(r->b);
	close(r->d);
	close(r->e);
	close(r->obs);
}

/* Sends wire i to the group from B (not the origin), M receives it. */
static void fwd_mcast(struct fwd_rig *r, const uint8_t *pkt, size_t len)
{
	uint8_t got[2048];

	send_group(r->b, pkt, len);
	assert_int_equal(recv_wait(r->obs, got, sizeof(got), 200), (ssize_t)len);
	assert_int_equal(tun_dp_rx_udp(r->m.dp), 1);
}

/* What D and E must (want) or must not have got, and A and B never. */
static void fwd_expect(struct fwd_rig *r, const uint8_t *want, size_t len)
{
	uint8_t got[2048];
	int *cap[2] = {&r->d, &r->e}, i;

	for (i = 0; i < 2; i++) {
		if (want) {
			assert_int_equal(recv_wait(*cap[i], got, sizeof(got), 200), (ssize_t)len);
			assert_memory_equal(got, want, len);
		}
		assert_int_equal(recv_wait(*cap[i], got, sizeof(got), 20), -1);
	}
	assert_int_equal(recv_wait(tun_dp_fd(r->a.dp), got, sizeof(got), 20), -1);
	assert_int_equal(recv_wait(r->b, got, sizeof(got), 20), -1);
}

/* A FLOOD with hops 0 that reaches a host with peers by multicast (from
 * its own subnet) goes on unchanged, hops 0, to each peer but its origin
 * (A) and its sender (B); only once it verified and only the first time. */
static void test_subnet_forward(void **state)
{
	struct fwd_rig r;
	struct pkt_info info;
	struct tun_stats st;
	uint8_t got[2048], bad[2048];

	(void)state;
	fwd_setup(&r);
	assert_int_equal(pkt_decode(r.wire[0], r.len[0], 0, &info), PKT_OK);
	assert_int_equal(info.hops, 0);

	fwd_mcast(&r, r.wire[0], r.len[0]);
	assert_int_equal(tap_recv(&r.m, got, sizeof(got)), sizeof(r.frame[0]));
	assert_memory_equal(got, r.frame[0], sizeof(r.frame[0]));
	fwd_expect(&r, r.wire[0], r.len[0]);
	assert_int_equal(recv_wait(r.obs, got, sizeof(got), 20), -1); /* not re-multicast */

	/* The same FLOOD again: a duplicate, not forwarded. */
	fwd_mcast(&r, r.wire[0], r.len[0]);
	fwd_expect(&r, NULL, 0);

	/* A forged copy of the next one (ICV broken): dropped, not
	 * forwarded, and it does not mark the genuine one as seen. */
	memcpy(bad, r.wire[1], r.len[1]);
	bad[r.len[1] - 1] ^= 1;
	fwd_mcast(&r, bad, r.len[1]);
	fwd_expect(&r, NULL, 0);
	fwd_mcast(&r, r.wire[1], r.len[1]);
	fwd_expect(&r, r.wire[1], r.len[1]);

	tun_vnet_stats(r.m.vn, &st);
	assert_int_equal(st.flood_fwd, 2);
	assert_int_equal(st.flood_remcast, 0);
	assert_int_equal(st.drop_dup_flood, 1 + 2); /* and fwd_setup's two */
	assert_int_equal(st.drop_auth, 1);
	assert_int_equal(st.rx_floods, 2);
	assert_int_equal(st.rx_frames, 2);
	fwd_teardown(&r);
}

/* At a host with peers, a FLOOD with hops 1 by multicast and one with
 * hops 0 by unicast are never sent to a peer; the latter is re-multicast
 * with hops 1. */
static void test_subnet_forward_not(void **state)
{
	struct fwd_rig r;
	struct pkt_info info;
	struct tun_stats st;
	uint8_t got[2048], want[2048];

	(void)state;
	fwd_setup(&r);
	/* hops 1 as a relay sets it: tagged anew. */
	assert_int_equal(pkt_flood_set_hops(r.wire[2], r.len[2], 1), 0);
	flood_retag(r.wire[2], r.len[2]);
	fwd_mcast(&r, r.wire[2], r.len[2]);
	assert_int_equal(tap_recv(&r.m, got, sizeof(got)), sizeof(r.frame[2]));
	fwd_expect(&r, NULL, 0);
	assert_int_equal(recv_wait(r.obs, got, sizeof(got), 20), -1);

	assert_int_equal(raw_send(r.b, HOST_C, r.wire[3], r.len[3]), (ssize_t)r.len[3]);
	assert_int_equal(tun_dp_rx_udp(r.m.dp), 1);
	assert_int_equal(tap_recv(&r.m, got, sizeof(got)), sizeof(r.frame[3]));
	assert_memory_equal(got, r.frame[3], sizeof(r.frame[3]));
	assert_int_equal(recv_wait(r.obs, got, sizeof(got), 200), (ssize_t)r.len[3]);
	assert_int_equal(pkt_decode(got, r.len[3], 0, &info), PKT_OK);
	assert_int_equal(info.hops, 1);
	/* M tagged its copy anew: it is what a relay of the key holders sends. */
	memcpy(want, r.wire[3], r.len[3]);
	assert_int_equal(pkt_flood_set_hops(want, r.len[3], 1), 0);
	flood_retag(want, r.len[3]);
	assert_memory_equal(got, want, r.len[3]);
	fwd_expect(&r, NULL, 0);

	tun_vnet_stats(r.m.vn, &st);
	assert_int_equal(st.drop_auth, 0);
	assert_int_equal(st.flood_fwd, 0);
	assert_int_equal(st.flood_remcast, 1);
	assert_int_equal(st.rx_floods, 2);
	fwd_teardown(&r);
}

/* ---- VARP ------------------------------------------------------------ */

struct varp_seen {
	int n;
	struct tun_rx_info info;
	struct varp_msg msg;
};

static void on_varp(void *arg, struct tun_vnet *vn, const struct tun_rx_info *info,
		    const struct varp_msg *msg)
{
	struct varp_seen *s = arg;

	(void)vn;
	s->n++;
	s->info = *info;
	s->msg = *msg;
}

static void test_varp_secured(void **state)
{
	static const struct tun_dp_ops ops = {.varp = on_varp};
	struct varp_seen seen = {0};
	struct host a, b;
	struct host *both[2] = {&a, &b};
	struct vnet_addr peer = lo_addr(HOST_B), addr_a = lo_addr(HOST_A);
	struct varp_msg m = {.op = VARP_MSG_ANNOUNCE, .vnet = vnet97(), .ttl_s = 60};
	struct varp_msg wrong = m;
	struct tun_stats st;

	(void)state;
	memcpy(m.mac, mac_a, 6);
	m.coa = addr_a;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0, &ops, &seen), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	/* Peers of each other: the ANNOUNCEs teach both SAs both ways. */
	assert_int_equal(tun_dp_peers_set(b.dp, &addr_a, 1), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer, 1), 0);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&a, &b));
	assert_true(host_knows(&b, &a));
	assert_int_equal(seen.n, 0);

	vnet_id_from_short(&wrong.vnet, 98);
	assert_int_equal(tun_dp_varp_send(a.dp, a.vn, NULL, &wrong), -EINVAL);
	assert_int_equal(tun_dp_varp_send(a.dp, a.vn, NULL, &m), 0);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(seen.n, 1);
	assert_true(seen.info.authenticated);
	assert_true(seen.info.flooded);
	assert_true(vnet_addr_eq(&seen.info.sender, &addr_a));
	assert_int_equal(seen.msg.op, VARP_MSG_ANNOUNCE);
	assert_memory_equal(seen.msg.mac, mac_a, 6);

	/* A unicast VARP (a reply) takes the same path without the FLOOD. */
	assert_int_equal(tun_dp_varp_send(a.dp, a.vn, &peer, &m), 0);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	assert_int_equal(seen.n, 2);
	assert_false(seen.info.flooded);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.varp_in, 2);
	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.varp_out, 2);
	host_close(&a);
	host_close(&b);
}

/* Clear VARP: taken on a `none` vnet, refused on a secured one (no host
 * without the key may move a MAC), and refused when the message names
 * another vnet than its header. */
struct varp_bad_case {
	const char *name;
	enum esp_suite_id suite;
	uint16_t msg_vnet;
	int delivered;
};

static const struct varp_bad_case varp_cases[] = {
    {"clear on none", ESP_SUITE_NONE, VNET, 1},
    {"clear on secured", ESP_SUITE_AES128_GCM, VNET, 0},
    {"vnet mismatch", ESP_SUITE_NONE, VNET + 1, 0},
};

static void test_varp_clear(void **state)
{
	static const struct tun_dp_ops ops = {.varp = on_varp};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(varp_cases) / sizeof(varp_cases[0]); i++) {
		const struct varp_bad_case *vc = &varp_cases[i];
		struct varp_seen seen = {0};
		struct varp_msg m = {.op = VARP_MSG_REQUEST, .coa = lo_addr(HOST_A)};
		struct vnet_id id = vnet97();
		uint8_t pkt[PKT_VNET_HDR_LEN + VARP_MSG_LEN];
		struct tun_stats st;
		struct host b;
		int fake_a = raw_open(HOST_A);

		print_message("%s\n", vc->name);
		memcpy(m.mac, mac_b, 6);
		vnet_id_from_short(&m.vnet, vc->msg_vnet);
		varp_encode(&m, pkt + PKT_VNET_HDR_LEN);
		pkt_push_vnet(pkt + PKT_VNET_HDR_LEN, PKT_VNET_HDR_LEN, PKT_VARP, &id);
		assert_int_equal(host_open(&b, HOST_B, false, SEQ0, &ops, &seen), 0);
		assert_int_equal(host_vnet(&b, VNET, vc->suite), 0);
		raw_send(fake_a, HOST_B, pkt, sizeof(pkt));
		assert_int_equal(tun_dp_rx_udp(b.dp), 1);
		tun_vnet_stats(b.vn, &st);
		assert_int_equal(seen.n, vc->delivered);
		assert_int_equal(st.varp_in, vc->delivered);
		assert_int_equal(st.drop_malformed, !vc->delivered);
		if (vc->delivered) {
			assert_false(seen.info.authenticated);
			assert_int_equal(seen.msg.op, VARP_MSG_REQUEST);
		}
		host_close(&b);
		close(fake_a);
	}
}

/* A FLOOD with hops 0 that arrives by multicast (its origin is on our
 * subnet) at a host without peers is delivered and not re-sent. The
 * receiver here is bound to the wildcard address, as vnetd is, so that it
 * gets the group's traffic and tells it apart by IP_PKTINFO. */
static void test_multicast_arrival(void **state)
{
	static const struct tun_dp_ops ops = {.varp = on_varp};
	struct varp_seen seen = {0};
	struct tun_udp_conf uc = {.port = port_pick(), .ifindex = 1};
	struct varp_msg m = {.op = VARP_MSG_ANNOUNCE, .vnet = vnet97(), .ttl_s = 30};
	struct ip_mreqn mif = {.imr_ifindex = 1};
	struct sockaddr_in grp = {.sin_family = AF_INET, .sin_port = htons(port_pick())};
	struct vnet_addr origin = lo_addr(HOST_A);
	uint8_t pkt[PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN + VARP_MSG_LEN], got[256], *p;
	struct vnet_id id = vnet97();
	struct tun_stats st;
	struct host mh = {.tap = {-1, -1}};
	int fake_a = raw_open(HOST_A), obs = raw_open(0);

	(void)state;
	assert_true(fake_a >= 0 && obs >= 0);
	uc.local = lo_addr(HOST_C); /* bind stays the wildcard */
	vnet_addr_parse(TUN_GROUP_DEFAULT, &uc.group);
	mh.dp = tun_dp_new(&uc, SEQ0, &ops, &seen);
	assert_non_null(mh.dp);
	mh.macs = mac_table_new(16);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, mh.tap), 0);
	assert_int_equal(host_vnet(&mh, VNET, ESP_SUITE_NONE), 0);

	memcpy(m.mac, mac_a, 6);
	m.coa = origin;
	varp_encode(&m, pkt + PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN);
	p = pkt_push_vnet(pkt + PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN,
			  PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN, PKT_VARP, &id);
	assert_ptr_equal(pkt_push_flood(p, PKT_FLOOD_HDR_LEN, &origin, 77, 0, false), pkt);
	assert_int_equal(setsockopt(fake_a, IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof(mif)), 0);
	inet_pton(AF_INET, TUN_GROUP_DEFAULT, &grp.sin_addr);
	assert_int_equal(sendto(fake_a, pkt, sizeof(pkt), 0, (struct sockaddr *)&grp, sizeof(grp)),
			 (ssize_t)sizeof(pkt));
	assert_int_equal(recv_wait(obs, got, sizeof(got), 200), sizeof(pkt)); /* the original */

	assert_int_equal(tun_dp_rx_udp(mh.dp), 1);
	assert_int_equal(seen.n, 1);
	assert_true(seen.info.multicast);
	assert_true(seen.info.flooded);
	assert_false(seen.info.authenticated);
	assert_true(vnet_addr_eq(&seen.info.sender, &origin));
	assert_int_equal(recv_wait(obs, got, sizeof(got), 50), -1); /* not re-sent */
	tun_vnet_stats(mh.vn, &st);
	assert_int_equal(st.flood_remcast, 0);
	assert_int_equal(st.varp_in, 1);
	host_close(&mh);
	close(fake_a);
	close(obs);
}

/* ---- SAs: rekey, re-add, restart ------------------------------------ */

/* A pair of hosts on a secured vnet, peers of each other, each holding
 * the other's SA (B set up first, so its ANNOUNCE found nobody; A's
 * taught both directions). mac_b is at B, mac_x "at D", a capture. */
struct pair {
	struct host a, b;
	int cap; /* D */
};

static void pair_open(struct pair *p, enum esp_suite_id suite)
{
	struct vnet_addr addr_a = lo_addr(HOST_A), addr_b = lo_addr(HOST_B);
	struct host *both[2] = {&p->a, &p->b};

	p->cap = raw_open(HOST_D);
	assert_true(p->cap >= 0);
	assert_int_equal(host_open(&p->b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&p->b, VNET, suite), 0);
	assert_int_equal(tun_dp_peers_set(p->b.dp, &addr_a, 1), 0);
	assert_int_equal(host_open(&p->a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&p->a, VNET, suite), 0);
	assert_int_equal(tun_dp_peers_set(p->a.dp, &addr_b, 1), 0);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&p->b, &p->a));
	assert_true(host_knows(&p->a, &p->b));
	mac_remote(&p->a, mac_b, HOST_B);
	mac_remote(&p->a, mac_x, HOST_D);
}

static void pair_close(struct pair *p)
{
	host_close(&p->a);
	host_close(&p->b);
	close(p->cap);
}

/* A sends a frame to mac_x; returns the packet D captured. */
static size_t capture(struct pair *p, uint8_t *wire, uint8_t fill)
{
	uint8_t f[80];
	ssize_t n;

	frame_make(f, sizeof(f), mac_x, mac_a, fill);
	tap_send(&p->a, f, sizeof(f));
	n = recv_wait(p->cap, wire, 2048, 200);
	assert_true(n > 0);
	return (size_t)n;
}

/* A sends a frame to mac_b; B must deliver it. */
static void a_to_b(struct pair *p)
{
	uint8_t f[80], got[2048];

	frame_make(f, sizeof(f), mac_b, mac_a, 0x33);
	tap_send(&p->a, f, sizeof(f));
	assert_int_equal(tun_dp_rx_udp(p->b.dp), 1);
	assert_int_equal(tap_recv(&p->b, got, sizeof(got)), sizeof(f));
	assert_memory_equal(got, f, sizeof(f));
}

/* The packet at wire, sent from A's own socket to B, handled by B. */
static void resend(struct pair *p, const uint8_t *wire, size_t len)
{
	assert_int_equal(raw_send(tun_dp_fd(p->a.dp), HOST_B, wire, len), (ssize_t)len);
	assert_int_equal(tun_dp_rx_udp(p->b.dp), 1);
}

static int count_in(const struct tun_sa_info *sa, void *arg)
{
	if (sa->dir == ESP_SA_IN)
		++*(int *)arg;
	return 0;
}

/* A rekeys twice. Each new SA is ANNOUNCEd: B learns it in one exchange
 * and keeps the previous one for the grace period. A packet of an SA B
 * has not learned yet is dropped (drop_nosa), one sent before B learned
 * the SA is behind the replay floor (drop_replay), and one of an SA two
 * generations back is no longer held (drop_nosa). */
static void test_rekey(void **state)
{
	struct pair p;
	struct host *both[2] = {&p.a, &p.b};
	uint8_t old1[2048], s2[2048], s3[2048], got[2048];
	size_t n1, n2, n3;
	uint32_t spi1, spi2, spi3;
	struct tun_stats st;
	int in;

	(void)state;
	pair_open(&p, ESP_SUITE_AES128_GCM);
	spi1 = host_spi(&p.a);
	a_to_b(&p);
	n1 = capture(&p, old1, 1); /* SA 1, seq 2: B never saw it */

	/* An ANNOUNCE is followed by a REQUEST only if B did not ask A within
	 * TUN_SA_ASK_MS: wait that out, as a real rekey (at 2^32 - 2^20
	 * packets) always has. */
	poll(NULL, 0, 110);
	assert_int_equal(tun_vnet_rekey(p.a.vn), 0);
	spi2 = host_spi(&p.a);
	assert_int_not_equal(spi2, spi1);
	assert_int_equal(spi2 >> 16, spi1 >> 16);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&p.b, &p.a));
	in = 0;
	tun_vnet_sa_foreach(p.b.vn, count_in, &in);
	assert_int_equal(in, 2); /* SA 2, and SA 1 in its grace period */
	a_to_b(&p);
	resend(&p, old1, n1); /* SA 1 in flight: still taken */
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	n2 = capture(&p, s2, 2); /* SA 2, seq 2 */

	poll(NULL, 0, 110);
	assert_int_equal(tun_vnet_rekey(p.a.vn), 0);
	spi3 = host_spi(&p.a);
	assert_true(spi3 != spi2 && spi3 >> 16 == spi1 >> 16);
	n3 = capture(&p, s3, 3); /* SA 3, seq 1 */
	/* B hears the ANNOUNCE (and asks), then SA 3's packet before the
	 * answer: not learned yet. */
	assert_int_equal(raw_send(tun_dp_fd(p.a.dp), HOST_B, s3, n3), (ssize_t)n3);
	assert_int_equal(tun_dp_rx_udp(p.b.dp), 2);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_nosa, 1);
	assert_int_equal(st.rx_floods, 3); /* the ANNOUNCEs of A */
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&p.b, &p.a));
	/* Sent before B learned SA 3 (seq 1 = the floor): a replay. */
	resend(&p, s3, n3);
	/* SA 2 is the previous one now: taken. SA 1 is gone. */
	resend(&p, s2, n2);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	resend(&p, old1, n1);
	a_to_b(&p);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), -1);

	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.rx_frames, 5);
	assert_int_equal(st.drop_nosa, 2);
	assert_int_equal(st.drop_replay, 1);
	assert_int_equal(st.drop_auth, 0);
	assert_int_equal(st.sa_learned, 3);
	assert_int_equal(st.drop_sa, 0);
	pair_close(&p);
}

struct spi_seq {
	uint32_t spi, seq;
};

/* (a) The same vnet deleted and added again with the same key sends with
 * a fresh SA: no (SPI, seq) pair and no key repeats, B learns the new SA
 * from its ANNOUNCE and drops nothing as a replay. */
static void test_readd_fresh_sa(void **state)
{
	struct pair p;
	struct host *both[2] = {&p.a, &p.b};
	struct vnet_addr addr_b = lo_addr(HOST_B);
	struct spi_seq seen[6];
	struct esp_sa_keys k[2];
	uint8_t wire[2048], got[2048];
	struct tun_stats st;
	int i, j;

	(void)state;
	pair_open(&p, ESP_SUITE_AES128_GCM);
	for (int round = 0; round < 2; round++) {
		for (i = 0; i < 3; i++) {
			size_t n = capture(&p, wire, (uint8_t)i);

			seen[round * 3 + i] = (struct spi_seq){be32(wire), be32(wire + 4)};
			resend(&p, wire, n);
			assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
			a_to_b(&p);
		}
		tun_vnet_sa_foreach(p.a.vn, out_keys, &k[round]);
		if (round == 0) {
			tun_dp_vnet_del(p.a.dp, p.a.vn);
			poll(NULL, 0, 110); /* B's ask interval (see test_rekey) */
			assert_int_equal(host_vnet(&p.a, VNET, ESP_SUITE_AES128_GCM), 0);
			assert_int_equal(tun_dp_peers_set(p.a.dp, &addr_b, 1), 0);
			hosts_pump(both, 2, 20);
			assert_true(host_knows(&p.b, &p.a));
			assert_true(host_knows(&p.a, &p.b));
		}
	}
	for (i = 0; i < 6; i++)
		for (j = i + 1; j < 6; j++)
			assert_false(seen[i].spi == seen[j].spi && seen[i].seq == seen[j].seq);
	assert_int_equal(seen[3].seq, 1); /* the new SA starts again at 1 */
	assert_memory_not_equal(k[0].enc_key, k[1].enc_key, sizeof(k[0].enc_key));
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.rx_frames, 12);
	assert_int_equal(st.drop_replay, 0);
	assert_int_equal(st.drop_nosa, 0);
	assert_int_equal(st.drop_auth, 0);
	assert_int_equal(st.sa_learned, 2);
	pair_close(&p);
}

/* (b) B closed and opened again (a new data path, same address): every
 * packet of A captured before is dropped when replayed to it, floods and
 * unicast alike, while new ones pass. */
static void test_receiver_restart(void **state)
{
	struct pair p;
	struct host *both[2] = {&p.a, &p.b};
	struct vnet_addr addr_a = lo_addr(HOST_A), addr_d = lo_addr(HOST_D);
	struct vnet_addr peers_a[2] = {lo_addr(HOST_B), lo_addr(HOST_D)};
	uint8_t wire[6][2048], f[80], got[2048];
	size_t n[6];
	struct tun_stats st;
	int i;

	(void)state;
	pair_open(&p, ESP_SUITE_NULL_SHA1);
	(void)addr_d;
	assert_int_equal(tun_dp_peers_set(p.a.dp, peers_a, 2), 0);
	hosts_pump(both, 2, 20);
	raw_drain(p.cap, 20);
	for (i = 0; i < 3; i++) {
		n[i] = capture(&p, wire[i], (uint8_t)i); /* unicast, B never saw them */
		frame_make(f, sizeof(f), bcast, mac_a, (uint8_t)(10 + i));
		tap_send(&p.a, f, sizeof(f)); /* flooded to B and D */
		assert_int_equal(tun_dp_rx_udp(p.b.dp), 1);
		assert_int_equal(tap_recv(&p.b, got, sizeof(got)), sizeof(f));
		n[3 + i] = (size_t)recv_wait(p.cap, wire[3 + i], sizeof(wire[3 + i]), 200);
		assert_true(n[3 + i] > PKT_FLOOD_TAGGED_LEN);
	}

	host_close(&p.b);
	assert_int_equal(host_open(&p.b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&p.b, VNET, ESP_SUITE_NULL_SHA1), 0);
	assert_int_equal(tun_dp_peers_set(p.b.dp, &addr_a, 1), 0);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&p.b, &p.a));
	for (i = 0; i < 6; i++)
		resend(&p, wire[i], n[i]);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), -1);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_replay, 6);
	assert_int_equal(st.rx_frames, 0);
	assert_int_equal(st.rx_floods, 0); /* A answered our ANNOUNCE by unicast */

	a_to_b(&p);
	frame_make(f, sizeof(f), bcast, mac_a, 99);
	tap_send(&p.a, f, sizeof(f));
	assert_int_equal(tun_dp_rx_udp(p.b.dp), 1);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), sizeof(f));
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.rx_frames, 2);
	assert_int_equal(st.drop_replay, 6);
	pair_close(&p);
}

/* ---- forged FLOOD envelopes ----------------------------------------- */

/* A floods to its peer D only (a capture); B, which has A as its peer,
 * gets what the test sends from A's own socket. */
static void forge_open(struct pair *p)
{
	struct vnet_addr addr_a = lo_addr(HOST_A), addr_d = lo_addr(HOST_D);

	p->cap = raw_open(HOST_D);
	assert_true(p->cap >= 0);
	assert_int_equal(host_open(&p->b, HOST_B, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&p->b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(p->b.dp, &addr_a, 1), 0);
	assert_int_equal(host_open(&p->a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_vnet(&p->a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(p->a.dp, &addr_d, 1), 0);
	assert_int_equal(raw_drain(p->cap, 20), 1); /* A's ANNOUNCE */
	assert_int_equal(host_learn(&p->b, &p->a), 0);
}

/* A floods a broadcast; returns the packet D captured. */
static size_t flood_capture(struct pair *p, uint8_t *wire, uint8_t fill)
{
	uint8_t f[80];
	ssize_t n;

	frame_make(f, sizeof(f), bcast, mac_a, fill);
	tap_send(&p->a, f, sizeof(f));
	n = recv_wait(p->cap, wire, 2048, 200);
	assert_true(n > PKT_FLOOD_TAGGED_LEN);
	return (size_t)n;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

#define OFF_ORIGIN PKT_CLEAR_LEN
#define OFF_FSEQ (PKT_CLEAR_LEN + VNET_ADDR_LEN)

/* (c) The envelope's sequence number pushed to 2^64 - 2: the tag fails
 * (drop_auth); tagged anew by a key holder, the ESP ICV (which covers it)
 * still fails. A's genuine floods go on arriving: nothing moved the
 * duplicate window. (e) The ESP packet without its envelope fails its
 * ICV. */
static void test_forged_flood_seq(void **state)
{
	struct pair p;
	uint8_t w1[2048], w2[2048], bad[2048], got[2048];
	size_t n1, n2;
	struct tun_stats st;

	(void)state;
	forge_open(&p);
	n1 = flood_capture(&p, w1, 1);
	n2 = flood_capture(&p, w2, 2);
	memcpy(bad, w1, n1);
	put64(bad + OFF_FSEQ, UINT64_MAX - 1);
	resend(&p, bad, n1);
	flood_retag(bad, n1);
	resend(&p, bad, n1);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_auth, 2);
	assert_int_equal(st.rx_floods, 0);

	/* (e) bare: the inner ESP packet alone, by unicast. */
	resend(&p, w1 + PKT_FLOOD_TAGGED_LEN, n1 - PKT_FLOOD_TAGGED_LEN);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_auth, 3);
	assert_int_equal(st.drop_replay, 0);

	resend(&p, w1, n1);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	resend(&p, w2, n2);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	n1 = flood_capture(&p, w1, 3);
	resend(&p, w1, n1);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.rx_floods, 3);
	assert_int_equal(st.rx_frames, 3);
	assert_int_equal(st.drop_auth, 3);
	assert_int_equal(st.drop_dup_flood, 0);
	pair_close(&p);
}

/* (d) A's flooded packet in an envelope claiming origin C: whether the
 * envelope is tagged anew or not, B has no SA of C's for that SPI (its
 * hash is A's): dropped, uncharged to the vnet; the genuine one passes. */
static void test_forged_flood_origin(void **state)
{
	struct pair p;
	struct vnet_addr addr_c = lo_addr(HOST_C);
	uint8_t w[2048], bad[2048], got[2048];
	struct tun_stats st, dst;
	size_t n;

	(void)state;
	forge_open(&p);
	n = flood_capture(&p, w, 1);
	memcpy(bad, w, n);
	memcpy(bad + OFF_ORIGIN, addr_c.b, VNET_ADDR_LEN);
	resend(&p, bad, n);
	flood_retag(bad, n);
	resend(&p, bad, n);
	tun_vnet_stats(p.b.vn, &st);
	tun_dp_stats(p.b.dp, &dst);
	assert_int_equal(dst.drop_noroute, 2);
	assert_int_equal(st.rx_floods, 0);
	assert_int_equal(st.rx_frames, 0);
	resend(&p, w, n);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.rx_floods, 1);
	assert_int_equal(st.drop_auth, 0);
	pair_close(&p);
}

/* (f) A FLOOD by unicast is taken from a configured peer only. */
static void test_flood_not_peer(void **state)
{
	struct pair p;
	uint8_t w[2048], got[2048];
	struct tun_stats st;
	size_t n;
	int c = raw_open(HOST_C);

	(void)state;
	assert_true(c >= 0);
	forge_open(&p);
	n = flood_capture(&p, w, 1);
	assert_int_equal(raw_send(c, HOST_B, w, n), (ssize_t)n);
	assert_int_equal(tun_dp_rx_udp(p.b.dp), 1);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), -1);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_notpeer, 1);
	assert_int_equal(st.rx_floods, 0);
	resend(&p, w, n); /* the same from A, B's peer */
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_notpeer, 1);
	assert_int_equal(st.rx_floods, 1);
	assert_int_equal(st.drop_dup_flood, 0);
	pair_close(&p);
	close(c);
}

/* (g) hops is covered by the tag: 0 -> 1 or 1 -> 0 without tagging anew
 * is drop_auth; hops 1 tagged anew (what a relay sends) is taken. */
static void test_flood_hops_tag(void **state)
{
	struct pair p;
	uint8_t w1[2048], w2[2048], bad[2048], got[2048];
	struct tun_stats st;
	size_t n1, n2;

	(void)state;
	forge_open(&p);
	n1 = flood_capture(&p, w1, 1);
	n2 = flood_capture(&p, w2, 2);
	memcpy(bad, w1, n1);
	assert_int_equal(pkt_flood_set_hops(bad, n1, 1), 0);
	resend(&p, bad, n1); /* 0 -> 1, old tag */
	memcpy(bad, w2, n2);
	assert_int_equal(pkt_flood_set_hops(bad, n2, 1), 0);
	flood_retag(bad, n2);
	assert_int_equal(pkt_flood_set_hops(bad, n2, 0), 0);
	resend(&p, bad, n2); /* 1 -> 0, the hops-1 tag */
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_auth, 2);
	assert_int_equal(st.rx_floods, 0);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), -1);

	memcpy(bad, w1, n1);
	assert_int_equal(pkt_flood_set_hops(bad, n1, 1), 0);
	flood_retag(bad, n1);
	resend(&p, bad, n1);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	resend(&p, w2, n2);
	assert_int_equal(tap_recv(&p.b, got, sizeof(got)), 80);
	tun_vnet_stats(p.b.vn, &st);
	assert_int_equal(st.drop_auth, 2);
	assert_int_equal(st.rx_floods, 2);
	assert_int_equal(st.flood_remcast, 0); /* B has no group */
	pair_close(&p);
}

static void test_vnet_add_errors(void **state)
{
	struct host a;
	struct tun_vnet_conf vc = {.suite = ESP_SUITE_NONE, .tap_fd = 0};
	const struct tun_udp_conf six = {.port = 1};
	struct vnet_addr six_addr;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	vc.macs = a.macs;
	vc.tap_fd = a.tap[0];
	vnet_id_from_short(&vc.id, 0);
	assert_null(tun_dp_vnet_add(a.dp, &vc));
	assert_int_equal(errno, EINVAL);
	vnet_id_from_short(&vc.id, VNET);
	vc.suite = ESP_SUITE_COUNT;
	assert_null(tun_dp_vnet_add(a.dp, &vc));
	assert_int_equal(errno, EINVAL);
	vc.suite = ESP_SUITE_AES128_GCM;
	vc.macs = NULL;
	assert_null(tun_dp_vnet_add(a.dp, &vc));
	assert_int_equal(errno, EINVAL);
	vc.macs = a.macs;
	a.vn = tun_dp_vnet_add(a.dp, &vc);
	assert_non_null(a.vn);
	assert_null(tun_dp_vnet_add(a.dp, &vc));
	assert_int_equal(errno, EEXIST);
	assert_ptr_equal(tun_dp_vnet_find(a.dp, &vc.id), a.vn);
	assert_int_equal(vnet_addr_parse("2001:db8::1", &six_addr), 0);
	assert_int_equal(tun_vnet_sa_ask(a.vn, &six_addr), -EAFNOSUPPORT);
	host_close(&a);
	/* No local address. */
	assert_null(tun_dp_new(&six, 0, NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

/* ---- review findings: slow answers, one vnet's window, evictions ---- */

/* Receives one batch on h within ms; returns what tun_dp_rx_udp did. */
static int rx_one(struct host *h, int ms)
{
	struct pollfd p = {.fd = tun_dp_fd(h->dp), .events = POLLIN};

	return poll(&p, 1, ms) == 1 ? tun_dp_rx_udp(h->dp) : 0;
}

static int spoof_open(int num)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)num);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* B's answers take longer than TUN_SA_ASK_MS: A asks again meanwhile, and
 * the late answer to the first question still counts (the question of
 * one time slot is the same), so A learns B's new SA. */
static void test_late_reply(void **state)
{
	struct host a, b, *both[2] = {&a, &b};
	struct vnet_addr pa = lo_addr(HOST_A), pb = lo_addr(HOST_B);
	uint8_t f[100], rep[2048];
	ssize_t n = -1;
	int spoof, k;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0 + 5000, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &pb, 1), 0);
	assert_int_equal(tun_dp_peers_set(b.dp, &pa, 1), 0);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&a, &b));
	/* B's new SA; its ANNOUNCE is lost on the way. */
	assert_int_equal(tun_vnet_rekey(b.vn), 0);
	raw_drain(tun_dp_fd(a.dp), 20);
	frame_make(f, sizeof(f), bcast, mac_b, 1);
	spoof = spoof_open(HOST_B);
	tap_send(&b, f, sizeof(f));
	rx_one(&a, 50); /* unknown SPI: A asks */
	for (k = 0; k < 3 && !host_knows(&a, &b); k++) {
		rx_one(&b, 50);					      /* B answers at once... */
		n = recv_wait(tun_dp_fd(a.dp), rep, sizeof(rep), 50); /* ...held back */
		poll(NULL, 0, 110); /* past the ask interval (100 ms) */
		tap_send(&b, f, sizeof(f));
		rx_one(&a, 50); /* B's next frame: A asks again */
		if (n > 0)
			raw_send(spoof, HOST_A, rep, (size_t)n); /* the late answer */
		rx_one(&a, 50);
	}
	assert_true(n > 0);
	assert_true(host_knows(&a, &b));
	close(spoof);
	host_close(&a);
	host_close(&b);
}

/* A clear FLOOD on a `none` vnet claiming origin B with seq 2^63 (no key
 * needed) moves only that vnet's window: B's floods on the secured vnet
 * still arrive. */
static void test_flood_window_per_vnet(void **state)
{
	struct host a, b, *both[2] = {&a, &b};
	struct vnet_addr pa = lo_addr(HOST_A), pb = lo_addr(HOST_B);
	struct tun_vnet_conf vc = {.suite = ESP_SUITE_NONE};
	uint8_t f[100], got[2048], pkt[256], *p;
	struct mac_table *m98 = mac_table_new(64);
	struct tun_stats st;
	int t98[2], spoof;

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0 + 5000, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, t98), 0);
	vc.tap_fd = t98[0];
	vc.macs = m98;
	vnet_id_from_short(&vc.id, 98);
	assert_non_null(tun_dp_vnet_add(a.dp, &vc));
	assert_int_equal(tun_dp_peers_set(a.dp, &pb, 1), 0);
	assert_int_equal(tun_dp_peers_set(b.dp, &pa, 1), 0);
	hosts_pump(both, 2, 20);
	assert_true(host_knows(&a, &b));
	frame_make(f, sizeof(f), bcast, mac_b, 1);
	memcpy(pkt + 128, f, sizeof(f));
	p = pkt_push_vnet(pkt + 128, 128, PKT_FRAME, &vc.id);
	p = pkt_push_flood(p, (size_t)(p - pkt), &pb, 1ull << 63, 0, false);
	spoof = spoof_open(HOST_B);
	raw_send(spoof, HOST_A, p, sizeof(f) + PKT_VNET_HDR_LEN + PKT_FLOOD_HDR_LEN);
	rx_one(&a, 50);
	assert_int_equal(recv(t98[1], got, sizeof(got), MSG_DONTWAIT), (ssize_t)sizeof(f));
	for (int i = 0; i < 3; i++) {
		tap_send(&b, f, sizeof(f));
		rx_one(&a, 50);
		assert_int_equal(tap_recv(&a, got, sizeof(got)), (ssize_t)sizeof(f));
	}
	tun_vnet_stats(a.vn, &st);
	assert_int_equal(st.drop_dup_flood, 0);
	close(spoof);
	host_close(&a);
	host_close(&b);
	close(t98[0]);
	close(t98[1]);
	mac_table_free(m98);
}

/* 1024 forged packets from as many addresses push every waiting entry
 * out, A's question to B among them; B's answer still counts, since a
 * challenge is computed again, not looked up. */
static void test_pending_eviction(void **state)
{
	struct host a, b;
	struct vnet_addr pb = lo_addr(HOST_B);
	struct vnet_id id = vnet97();

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, SEQ0, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, SEQ0 + 5000, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_vnet_sa_ask(a.vn, &pb), 0);
	for (int i = 0; i < 1024; i++) {
		struct vnet_addr s;
		uint32_t ip = 0x7f000300u + (uint32_t)i, spi;
		uint8_t pkt[9] = {0};
		int fd;

		vnet_addr_from_v4(&s, htonl(ip));
		spi = (uint32_t)esp_key_spi_hash(&id, &s) << 16 | 0x4242;
		pkt[0] = (uint8_t)(spi >> 24);
		pkt[1] = (uint8_t)(spi >> 16);
		pkt[2] = (uint8_t)(spi >> 8);
		pkt[3] = (uint8_t)spi;
		pkt[7] = 1;
		fd = spoof_open((int)(ip & 0xffffff));
		raw_send(fd, HOST_A, pkt, sizeof(pkt));
		close(fd);
	}
	while (rx_one(&a, 50) > 0)
		;
	rx_one(&b, 50); /* B answers the question A asked before the flood */
	rx_one(&a, 50);
	assert_true(host_knows(&a, &b));
	host_close(&a);
	host_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clear_frame_bytes),
	    cmocka_unit_test(test_clear_roundtrip_and_learn),
	    cmocka_unit_test(test_local_mac_not_sent),
	    cmocka_unit_test(test_esp_suites),
	    cmocka_unit_test(test_esp_roundtrip),
	    cmocka_unit_test(test_burst_gso_gro),
	    cmocka_unit_test(test_bad_packets),
	    cmocka_unit_test(test_ask_budget),
	    cmocka_unit_test(test_flood_dedup),
	    cmocka_unit_test(test_peer_remulticast),
	    cmocka_unit_test(test_subnet_forward),
	    cmocka_unit_test(test_subnet_forward_not),
	    cmocka_unit_test(test_varp_secured),
	    cmocka_unit_test(test_varp_clear),
	    cmocka_unit_test(test_multicast_arrival),
	    cmocka_unit_test(test_rekey),
	    cmocka_unit_test(test_readd_fresh_sa),
	    cmocka_unit_test(test_receiver_restart),
	    cmocka_unit_test(test_forged_flood_seq),
	    cmocka_unit_test(test_forged_flood_origin),
	    cmocka_unit_test(test_flood_not_peer),
	    cmocka_unit_test(test_flood_hops_tag),
	    cmocka_unit_test(test_late_reply),
	    cmocka_unit_test(test_flood_window_per_vnet),
	    cmocka_unit_test(test_pending_eviction),
	    cmocka_unit_test(test_vnet_add_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
