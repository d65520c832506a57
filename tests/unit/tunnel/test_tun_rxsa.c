/*
 * The SA listing (tun_vnet_sa_foreach): our outbound SA with its sequence
 * number, each sender's receive SA once it was learned through the SA
 * exchange (a sender we only asked is not listed), with the highest
 * sequence number accepted, the previous SA during its grace period, and
 * the same key material the sender holds. Also: a FLOOD that does not
 * verify is not counted as received and moves no window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "esp_key.h"
#include "pkt.h"
#include "tun_test.h"

#define HOST_A 1
#define HOST_B 2
#define HOST_D 4
#define VNET 97
#define MAX_SAS 8

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xb};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct sa_seen {
	struct tun_sa_info sa;
	struct esp_sa_keys keys;
};

struct sa_list {
	size_t n;
	struct sa_seen s[MAX_SAS];
	int stop_at; /* return 7 from this call (1-based); 0: never */
};

static int on_sa(const struct tun_sa_info *sa, void *arg)
{
	struct sa_list *l = arg;

	assert_true(l->n < MAX_SAS);
	l->s[l->n].sa = *sa;
	l->s[l->n].keys = *sa->keys;
	l->s[l->n].sa.keys = NULL;
	l->n++;
	return (int)l->n == l->stop_at ? 7 : 0;
}

static struct vnet_id vnet97(void)
{
	struct vnet_id id;

	vnet_id_from_short(&id, VNET);
	return id;
}

static void send_frames(struct host *from, struct host *to, const uint8_t dst[6], int n)
{
	uint8_t f[100], got[2048];

	frame_make(f, sizeof(f), dst, mac_a, 4);
	for (int i = 0; i < n; i++) {
		assert_int_equal(write(from->tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
		assert_int_equal(tun_dp_rx_tap(from->dp, from->vn), 1);
		assert_int_equal(tun_dp_rx_udp(to->dp), 1);
		assert_int_equal(recv(to->tap[1], got, sizeof(got), MSG_DONTWAIT), sizeof(f));
	}
}

/* The outbound SA of h as h lists it. */
static void out_sa(struct host *h, struct sa_seen *out)
{
	struct sa_list l = {0};

	assert_int_equal(tun_vnet_sa_foreach(h->vn, on_sa, &l), 0);
	assert_true(l.n >= 1);
	assert_int_equal(l.s[0].sa.dir, ESP_SA_OUT);
	*out = l.s[0];
}

/* s is `sender`'s SA with the keys `ref` (the sender's own view of it),
 * listed with seq and grace. */
static void check_sa(const struct sa_seen *s, enum esp_sa_dir dir, int sender,
		     const struct sa_seen *ref, uint32_t seq, bool grace)
{
	struct vnet_addr a = lo_addr(sender);
	struct vnet_id id = vnet97();

	assert_int_equal(s->sa.dir, dir);
	assert_true(vnet_addr_eq(&s->sa.sender, &a));
	assert_int_equal(s->sa.spi, ref->sa.spi);
	assert_int_equal(s->sa.spi >> 16, esp_key_spi_hash(&id, &a));
	assert_int_equal(s->sa.seq, seq);
	assert_int_equal(s->sa.grace, grace);
	assert_int_equal(s->keys.suite, ESP_SUITE_AES128_GCM);
	assert_int_equal(s->keys.spi, ref->sa.spi);
	assert_memory_equal(s->keys.enc_key, ref->keys.enc_key, sizeof(s->keys.enc_key));
	assert_memory_equal(s->keys.salt, ref->keys.salt, sizeof(s->keys.salt));
}

static void test_sa_list(void **state)
{
	struct host a, b;
	struct sa_list l = {0};
	struct sa_seen a1, a2, a3, bo;
	struct vnet_id id = vnet97();
	struct vnet_addr at_b = lo_addr(HOST_B);
	struct tun_stats st;
	uint8_t f[100];

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, 1, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_true(
	    mac_table_put(a.macs, &id, mac_b, &at_b, MAC_TABLE_REMOTE, MAC_TABLE_NEVER, 0) >= 0);

	/* Before any traffic: only B's outbound SA, nothing sent yet. */
	out_sa(&b, &bo);
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 1);
	check_sa(&l.s[0], ESP_SA_OUT, HOST_B, &bo, 0, false);

	/* A frame B cannot verify yet: dropped, and A asked; the entry
	 * waiting for the answer is not listed. */
	frame_make(f, sizeof(f), mac_b, mac_a, 4);
	assert_int_equal(write(a.tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
	assert_int_equal(tun_dp_rx_tap(a.dp, a.vn), 1);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.drop_nosa, 1);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 1);

	/* A answers; B learns A's SA with seq 1 (the dropped frame) as its
	 * floor, and then takes frames 2..4. */
	assert_int_equal(host_learn(&b, &a), 0);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 2);
	out_sa(&a, &a1);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, &a1, 1, false);
	send_frames(&a, &b, mac_b, 3);
	out_sa(&a, &a1);
	check_sa(&a1, ESP_SA_OUT, HOST_A, &a1, 4, false);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 2);
	check_sa(&l.s[0], ESP_SA_OUT, HOST_B, &bo, 0, false);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, &a1, 4, false);

	/* A rekeys: a new SPI (same vnet hash) and new keys. B learns it and
	 * holds, for the grace period, the old one too. */
	assert_int_equal(tun_vnet_rekey(a.vn), 0);
	out_sa(&a, &a2);
	assert_int_not_equal(a2.sa.spi, a1.sa.spi);
	assert_int_equal(a2.sa.spi >> 16, a1.sa.spi >> 16);
	assert_int_equal(a2.sa.seq, 0);
	assert_memory_not_equal(a2.keys.enc_key, a1.keys.enc_key, sizeof(a1.keys.enc_key));
	assert_int_equal(host_learn(&b, &a), 0);
	send_frames(&a, &b, mac_b, 1);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 3);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, &a2, 1, false);
	check_sa(&l.s[2], ESP_SA_IN, HOST_A, &a1, 4, true);

	/* Another rekey: the SA before the previous one is gone. */
	assert_int_equal(tun_vnet_rekey(a.vn), 0);
	out_sa(&a, &a3);
	assert_int_equal(host_learn(&b, &a), 0);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 3);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, &a3, 0, false);
	check_sa(&l.s[2], ESP_SA_IN, HOST_A, &a2, 1, true);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.sa_learned, 3);
	assert_int_equal(st.drop_sa, 0);
	assert_int_equal(st.rx_frames, 4);

	/* fn's non-zero value stops the walk and is returned. */
	l.n = 0;
	l.stop_at = 2;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 7);
	assert_int_equal(l.n, 2);
	host_close(&a);
	host_close(&b);
}

/* A `none` vnet has no SAs. */
static void test_sa_list_none(void **state)
{
	struct host a;
	struct sa_list l = {0};

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE), 0);
	assert_int_equal(tun_vnet_sa_foreach(a.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(tun_vnet_sa_ask(a.vn, &(struct vnet_addr){0}), -EINVAL);
	host_close(&a);
}

/* rx_floods counts FLOODs whose inner packet verified, once each: a
 * tampered one and a duplicate are not counted, and a tampered one moves
 * no replay window. A floods to its peer D (a capture); B, which has A as
 * its peer, gets the copies from A's own socket. */
static void test_floods_in(void **state)
{
	struct host a, b;
	struct sa_list l = {0};
	struct sa_seen ao;
	struct tun_stats st;
	uint8_t f[100], wire[2048], bad[2048], got[2048];
	struct vnet_addr peer_a = lo_addr(HOST_A), peer_d = lo_addr(HOST_D);
	int cap = raw_open(HOST_D);
	ssize_t n;

	(void)state;
	assert_true(cap >= 0);
	/* B first, with peer A not there yet: its ANNOUNCE goes nowhere. */
	assert_int_equal(host_open(&b, HOST_B, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(b.dp, &peer_a, 1), 0);
	assert_int_equal(host_open(&a, HOST_A, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer_d, 1), 0);
	assert_int_equal(raw_drain(cap, 20), 1); /* A's ANNOUNCE */
	assert_int_equal(host_learn(&b, &a), 0);

	frame_make(f, sizeof(f), bcast, mac_a, 6);
	assert_int_equal(write(a.tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
	assert_int_equal(tun_dp_rx_tap(a.dp, a.vn), 1);
	n = recv_wait(cap, wire, sizeof(wire), 200);
	assert_true(n > PKT_FLOOD_TAGGED_LEN + 40);

	memcpy(bad, wire, (size_t)n);
	bad[n - 1] ^= 1; /* the ICV */
	raw_send(tun_dp_fd(a.dp), HOST_B, bad, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_floods, 0);
	assert_int_equal(st.drop_auth, 1);
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 2);
	out_sa(&a, &ao);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, &ao, 0, false);

	raw_send(tun_dp_fd(a.dp), HOST_B, wire, (size_t)n);
	raw_send(tun_dp_fd(a.dp), HOST_B, wire, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 2);
	assert_int_equal(recv(b.tap[1], got, sizeof(got), MSG_DONTWAIT), sizeof(f));
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_floods, 1);
	assert_int_equal(st.drop_dup_flood, 1);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.drop_auth, 1);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, &ao, 1, false);
	host_close(&a);
	host_close(&b);
	close(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sa_list),
	    cmocka_unit_test(test_sa_list_none),
	    cmocka_unit_test(test_floods_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
