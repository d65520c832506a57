/*
 * The SA listing (tun_vnet_sa_foreach): our outbound SA with its sequence
 * number, each sender's receive SA once a packet verified, with the highest
 * sequence number accepted, the previous epoch during its grace period, and
 * the key material every receiver derives. Also: a FLOOD that does not
 * verify is not counted as received.
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

/* The keys every receiver derives for (sender, epoch). */
static void keys_of(int sender, uint16_t epoch, struct esp_sa_keys *k)
{
	struct esp_key key;
	struct vnet_id id = vnet97();
	struct vnet_addr a = lo_addr(sender);

	memset(key.b, 0x5a, sizeof(key.b)); /* as host_vnet */
	assert_int_equal(esp_key_derive(&key, &id, ESP_SUITE_AES128_GCM, &a, epoch, k), 0);
}

static void check_sa(const struct sa_seen *s, enum esp_sa_dir dir, int sender, uint16_t epoch,
		     uint32_t seq, bool grace)
{
	struct esp_sa_keys k;
	struct vnet_addr a = lo_addr(sender);

	keys_of(sender, epoch, &k);
	assert_int_equal(s->sa.dir, dir);
	assert_true(vnet_addr_eq(&s->sa.sender, &a));
	assert_int_equal(s->sa.spi, k.spi);
	assert_int_equal(s->sa.seq, seq);
	assert_int_equal(s->sa.grace, grace);
	assert_int_equal(s->keys.suite, ESP_SUITE_AES128_GCM);
	assert_memory_equal(s->keys.enc_key, k.enc_key, sizeof(k.enc_key));
	assert_memory_equal(s->keys.salt, k.salt, sizeof(k.salt));
}

static void test_sa_list(void **state)
{
	struct host a, b;
	struct sa_list l = {0};
	struct vnet_id id = vnet97();
	struct vnet_addr at_b = lo_addr(HOST_B);

	(void)state;
	assert_int_equal(host_open(&a, HOST_A, false, 1, NULL, NULL), 0);
	assert_int_equal(host_open(&b, HOST_B, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM, 1), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM, 3), 0);
	assert_true(
	    mac_table_put(a.macs, &id, mac_b, &at_b, MAC_TABLE_REMOTE, MAC_TABLE_NEVER, 0) >= 0);

	/* Before any traffic: only B's outbound SA, nothing sent yet. */
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 1);
	check_sa(&l.s[0], ESP_SA_OUT, HOST_B, 3, 0, false);

	send_frames(&a, &b, mac_b, 3);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(a.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 1);
	check_sa(&l.s[0], ESP_SA_OUT, HOST_A, 1, 3, false);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 2);
	check_sa(&l.s[0], ESP_SA_OUT, HOST_B, 3, 0, false);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, 1, 3, false);

	/* A rekeys: B holds the new epoch and, for the grace period, the
	 * old one. */
	assert_int_equal(tun_vnet_rekey(a.vn, 2), 0);
	send_frames(&a, &b, mac_b, 1);
	l.n = 0;
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 3);
	check_sa(&l.s[1], ESP_SA_IN, HOST_A, 2, 1, false);
	check_sa(&l.s[2], ESP_SA_IN, HOST_A, 1, 3, true);

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
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_NONE, 0), 0);
	assert_int_equal(tun_vnet_sa_foreach(a.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 0);
	host_close(&a);
}

/* rx_floods counts FLOODs whose inner packet verified, once each: a
 * tampered one and a duplicate are not counted, and a tampered one does
 * not create a receive SA. */
static void test_floods_in(void **state)
{
	struct host a, b;
	struct sa_list l = {0};
	struct tun_stats st;
	uint8_t f[100], wire[2048], bad[2048], got[2048];
	struct vnet_addr peer = lo_addr(HOST_B);
	int cap = raw_open(HOST_B), fake_a = raw_open(HOST_A);
	ssize_t n;

	(void)state;
	assert_true(cap >= 0 && fake_a >= 0);
	assert_int_equal(host_open(&a, HOST_A, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&a, VNET, ESP_SUITE_AES128_GCM, 1), 0);
	assert_int_equal(tun_dp_peers_set(a.dp, &peer, 1), 0);
	frame_make(f, sizeof(f), bcast, mac_a, 6);
	assert_int_equal(write(a.tap[1], f, sizeof(f)), (ssize_t)sizeof(f));
	assert_int_equal(tun_dp_rx_tap(a.dp, a.vn), 1);
	n = recv_wait(cap, wire, sizeof(wire), 200);
	assert_true(n > PKT_FLOOD_HDR_LEN + 40);
	close(cap);

	assert_int_equal(host_open(&b, HOST_B, false, 1, NULL, NULL), 0);
	assert_int_equal(host_vnet(&b, VNET, ESP_SUITE_AES128_GCM, 1), 0);
	memcpy(bad, wire, (size_t)n);
	bad[n - 1] ^= 1; /* the ICV */
	raw_send(fake_a, HOST_B, bad, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 1);
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_floods, 0);
	assert_int_equal(st.drop_auth, 1);
	assert_int_equal(tun_vnet_sa_foreach(b.vn, on_sa, &l), 0);
	assert_int_equal(l.n, 1); /* B's own only */

	raw_send(fake_a, HOST_B, wire, (size_t)n);
	raw_send(fake_a, HOST_B, wire, (size_t)n);
	assert_int_equal(tun_dp_rx_udp(b.dp), 2);
	assert_int_equal(recv(b.tap[1], got, sizeof(got), MSG_DONTWAIT), sizeof(f));
	tun_vnet_stats(b.vn, &st);
	assert_int_equal(st.rx_floods, 1);
	assert_int_equal(st.drop_dup_flood, 1);
	assert_int_equal(st.rx_frames, 1);
	host_close(&a);
	host_close(&b);
	close(fake_a);
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
