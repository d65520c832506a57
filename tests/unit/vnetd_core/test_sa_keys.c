/*
 * `vn sa-list` records (sa_keys_list): our outbound SA and every sender's
 * receive SA as the data path holds them, with real sequence numbers, and
 * with --keys the key material as Wireshark wants it (GCM: key then salt;
 * HMAC suites: the integrity key in auth_key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vnetd_test.h"

#define HOST_A 1
#define HOST_B 2

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xb};

struct sa_case {
	enum esp_suite_id suite;
	const char *name;
	uint8_t enc_len, auth_len;
};

static const struct sa_case cases[] = {
    {ESP_SUITE_AES128_GCM, "aes128-gcm", 20, 0},
    {ESP_SUITE_AES128_CBC_SHA1, "aes128-cbc-sha1", 16, 20},
    {ESP_SUITE_NULL_SHA1, "null-sha1", 0, 20},
    {ESP_SUITE_NULL_SHA256, "null-sha256", 0, 32},
};

static int out_keys_cb(const struct tun_sa_info *sa, void *arg)
{
	if (sa->dir != ESP_SA_OUT)
		return 0;
	*(struct esp_sa_keys *)arg = *sa->keys;
	return 1;
}

/* r holds the keys of `sender`'s sending SA as the sender itself holds
 * them: what a receiver learned through the SA exchange must be the same
 * SA, and its SPI carries the hash of (vnet, sender). */
static void check_keys(const struct vn_ctl_sa *r, const struct sa_case *c, struct vt_host *sender)
{
	struct esp_sa_keys k;

	assert_int_equal(tun_vnet_sa_foreach(sender->v.tv, out_keys_cb, &k), 1);
	assert_int_equal(k.suite, c->suite);
	assert_int_equal(r->spi, k.spi);
	assert_int_equal(r->spi >> 16, esp_key_spi_hash(&sender->v.conf.id, &sender->d.local));
	assert_int_equal(r->enc_key_len, c->enc_len);
	assert_int_equal(r->auth_key_len, c->auth_len);
	if (c->enc_len >= 16)
		assert_memory_equal(r->enc_key, k.enc_key, 16);
	if (c->enc_len == 20)
		assert_memory_equal(r->enc_key + 16, k.salt, 4);
	if (c->auth_len)
		assert_memory_equal(r->auth_key, k.auth_key, c->auth_len);
}

static void sa_case(const struct sa_case *c)
{
	struct vt_host *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct vnet_addr at_a = vt_addr(HOST_A), at_b = vt_addr(HOST_B), group;
	struct vn_ctl_sa *list = NULL;
	size_t n = 0, cap = 0;
	uint8_t got[2048];

	assert_non_null(a);
	assert_non_null(b);
	vnet_addr_parse("224.10.0.1", &group);
	assert_int_equal(vt_open(a, HOST_A, c->suite), 0);
	assert_int_equal(vt_open(b, HOST_B, c->suite), 0);
	assert_true(mac_table_put(a->v.macs, &a->v.conf.id, mac_b, &at_b, MAC_TABLE_REMOTE,
				  MAC_TABLE_NEVER, 0) >= 0);
	/* Before B learned A's SA: only B's own. */
	assert_int_equal(sa_keys_list(&b->v, true, &list, &n, &cap), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].dir, VN_CTL_SA_OUT);
	n = 0;
	assert_int_equal(vt_learn(b, a), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vt_tap_send(a, mac_b, mac_a), 1);
		assert_int_equal(tun_dp_rx_udp(b->d.dp), 1);
		assert_int_equal(recv(b->tap[1], got, sizeof(got), MSG_DONTWAIT), 98);
	}

	assert_int_equal(sa_keys_list(&b->v, true, &list, &n, &cap), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].dir, VN_CTL_SA_OUT);
	assert_memory_equal(list[0].id, b->v.conf.id.b, 16);
	assert_memory_equal(list[0].src, at_b.b, 16);
	assert_memory_equal(list[0].dst, group.b, 16);
	assert_string_equal(list[0].suite, c->name);
	assert_int_equal(list[0].seq, 0);
	check_keys(&list[0], c, b);
	assert_int_equal(list[1].dir, VN_CTL_SA_IN);
	assert_memory_equal(list[1].src, at_a.b, 16);
	assert_memory_equal(list[1].dst, at_b.b, 16);
	assert_string_equal(list[1].suite, c->name);
	assert_int_equal(list[1].seq, 3);
	check_keys(&list[1], c, a);

	/* Without --keys: the same SAs, no key material. A's out SA: seq 3. */
	n = 0;
	assert_int_equal(sa_keys_list(&a->v, false, &list, &n, &cap), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].dir, VN_CTL_SA_OUT);
	assert_int_equal(list[0].seq, 3);
	assert_int_equal(list[0].enc_key_len, 0);
	assert_int_equal(list[0].auth_key_len, 0);
	free(list);
	vt_close(a);
	vt_close(b);
	free(a);
	free(b);
}

static void test_sa_list_suites(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		sa_case(&cases[i]);
}

/* Security none: no SAs. A vnet whose data path is not running: none
 * either (its SA exists only in the data path). Running: our outbound SA,
 * seq 0, as receivers learn it. */
static void test_sa_list_none_and_idle(void **state)
{
	struct vt_host *a = calloc(1, sizeof(*a));
	struct vn_ctl_sa *list = NULL;
	size_t n = 0, cap = 0;
	struct tun_vnet *tv;

	(void)state;
	assert_non_null(a);
	assert_int_equal(vt_open(a, HOST_A, ESP_SUITE_NONE), 0);
	assert_int_equal(sa_keys_list(&a->v, true, &list, &n, &cap), 0);
	assert_int_equal(n, 0);
	vt_close(a);

	assert_int_equal(vt_open(a, HOST_A, ESP_SUITE_AES128_GCM), 0);
	tv = a->v.tv;
	a->v.tv = NULL;
	assert_int_equal(sa_keys_list(&a->v, true, &list, &n, &cap), 0);
	assert_int_equal(n, 0);
	a->v.tv = tv;
	assert_int_equal(sa_keys_list(&a->v, true, &list, &n, &cap), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].dir, VN_CTL_SA_OUT);
	assert_int_equal(list[0].seq, 0);
	check_keys(&list[0], &cases[0], a);
	free(list);
	vt_close(a);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sa_list_suites),
	    cmocka_unit_test(test_sa_list_none_and_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
