/* The vnetd control protocol: every request decoder refuses bad sizes and
 * contents; reply decoders refuse partial records and bad fields. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vn_ctl.h"

static void test_create_round_trip(void **state)
{
	uint8_t buf[256];
	struct vn_ctl_create req;
	int n;

	(void)state;
	n = vn_ctl_create_encode(buf, sizeof(buf), "/etc/tern/v.sxp", "(vnet (id 97))", 14);
	assert_int_equal(n, 2 + 15 + 14);
	assert_int_equal(vn_ctl_create_decode(buf, (size_t)n, &req), 0);
	assert_string_equal(req.path, "/etc/tern/v.sxp");
	assert_int_equal(req.text_len, 14);
	assert_memory_equal(req.text, "(vnet (id 97))", 14);
}

static void test_create_encode_bad(void **state)
{
	uint8_t buf[32];

	(void)state;
	assert_int_equal(vn_ctl_create_encode(buf, sizeof(buf), "", "x", 1), -ENAMETOOLONG);
	assert_int_equal(vn_ctl_create_encode(buf, sizeof(buf), "/a", "x", 0), -EINVAL);
	assert_int_equal(
	    vn_ctl_create_encode(buf, sizeof(buf), "/a", "0123456789012345678901234567890", 31),
	    -EFBIG);
}

static const struct {
	const char *name;
	const uint8_t *p;
	size_t len;
} bad_create[] = {
    {"empty", (const uint8_t *)"", 0},
    {"one byte", (const uint8_t *)"\0", 1},
    {"path length 0", (const uint8_t *)"\0\0(vnet)", 8},
    {"path longer than message", (const uint8_t *)"\0\x20/a(vnet)", 9},
    {"relative path",
     (const uint8_t *)"\0\x02"
		      "a/(vnet)",
     10},
    {"NUL in path", (const uint8_t *)"\0\x02/\0(vnet)", 10},
    {"no text", (const uint8_t *)"\0\x02/a", 4},
    {"NUL in text", (const uint8_t *)"\0\x02/a(v\0)", 8},
    {"path of 4096 bytes", (const uint8_t *)"\x10\x00/", 3},
};

static void test_create_decode_bad(void **state)
{
	struct vn_ctl_create req;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_create) / sizeof(bad_create[0]); i++) {
		print_message("case: %s\n", bad_create[i].name);
		assert_int_equal(vn_ctl_create_decode(bad_create[i].p, bad_create[i].len, &req),
				 -EINVAL);
	}
}

static void test_host(void **state)
{
	char host[VN_CTL_HOST];
	uint8_t big[VN_CTL_HOST];

	(void)state;
	assert_int_equal(vn_ctl_host_decode((const uint8_t *)"h2.example", 10, host), 0);
	assert_string_equal(host, "h2.example");
	assert_int_equal(vn_ctl_host_decode((const uint8_t *)"", 0, host), -EINVAL);
	assert_int_equal(vn_ctl_host_decode((const uint8_t *)"a b", 3, host), -EINVAL);
	assert_int_equal(vn_ctl_host_decode((const uint8_t *)"a\0b", 3, host), -EINVAL);
	assert_int_equal(vn_ctl_host_decode((const uint8_t *)"a\nb", 3, host), -EINVAL);
	memset(big, 'a', sizeof(big));
	assert_int_equal(vn_ctl_host_decode(big, sizeof(big), host), -EINVAL);
	assert_int_equal(vn_ctl_host_decode(big, sizeof(big) - 1, host), 0);
	assert_int_equal(vn_ctl_host_encode(big, sizeof(big), ""), -EINVAL);
}

static void test_fixed_requests(void **state)
{
	uint8_t id[16], buf[17] = {0};
	int has, keys;

	(void)state;
	assert_int_equal(vn_ctl_id_decode(buf, 16, id), 0);
	assert_int_equal(vn_ctl_id_decode(buf, 15, id), -EINVAL);
	assert_int_equal(vn_ctl_id_decode(buf, 17, id), -EINVAL);
	assert_int_equal(vn_ctl_flush_decode(buf, 0, id, &has), 0);
	assert_int_equal(has, 0);
	assert_int_equal(vn_ctl_flush_decode(buf, 16, id, &has), 0);
	assert_int_equal(has, 1);
	assert_int_equal(vn_ctl_flush_decode(buf, 8, id, &has), -EINVAL);
	assert_int_equal(vn_ctl_empty_decode(buf, 0), 0);
	assert_int_equal(vn_ctl_empty_decode(buf, 1), -EINVAL);
	assert_int_equal(vn_ctl_salist_decode(buf, 1, &keys), 0);
	assert_int_equal(keys, 0);
	buf[0] = 1;
	assert_int_equal(vn_ctl_salist_decode(buf, 1, &keys), 0);
	assert_int_equal(keys, 1);
	buf[0] = 2;
	assert_int_equal(vn_ctl_salist_decode(buf, 1, &keys), -EINVAL);
	assert_int_equal(vn_ctl_salist_decode(buf, 0, &keys), -EINVAL);
	assert_int_equal(vn_ctl_salist_decode(buf, 2, &keys), -EINVAL);
}

static void test_vnet_records(void **state)
{
	struct vn_ctl_vnet recs[2], out;

	(void)state;
	memset(recs, 0, sizeof(recs));
	strcpy(recs[0].bridge, "vnet97");
	strcpy(recs[0].vnetif, "vnif97");
	strcpy(recs[0].suite, "aes128-gcm");
	recs[0].security = VN_CTL_SEC_CONF;
	recs[0].mtu = 1400;
	recs[1] = recs[0];
	assert_int_equal(vn_ctl_count(sizeof(recs), sizeof(out)), 2);
	assert_int_equal(vn_ctl_vnet_decode((uint8_t *)recs, sizeof(recs), 1, &out), 0);
	assert_string_equal(out.bridge, "vnet97");
	assert_int_equal(out.mtu, 1400);
	/* Index out of range, partial record, bad enum, unterminated name. */
	assert_int_equal(vn_ctl_vnet_decode((uint8_t *)recs, sizeof(recs), 2, &out), -EINVAL);
	assert_int_equal(vn_ctl_vnet_decode((uint8_t *)recs, sizeof(recs) - 1, 0, &out), -EINVAL);
	assert_int_equal(vn_ctl_count(sizeof(recs) - 1, sizeof(out)), 0);
	recs[1].security = 3;
	assert_int_equal(vn_ctl_vnet_decode((uint8_t *)recs, sizeof(recs), 1, &out), -EINVAL);
	memset(recs[0].vnetif, 'x', sizeof(recs[0].vnetif));
	assert_int_equal(vn_ctl_vnet_decode((uint8_t *)recs, sizeof(recs), 0, &out), -EINVAL);
}

static void test_other_records(void **state)
{
	struct vn_ctl_peer peer = {0}, po;
	struct vn_ctl_varp varp = {0}, vo;
	struct vn_ctl_stats st = {0}, so;
	struct vn_ctl_sa sa = {0}, sao;

	(void)state;
	strcpy(peer.host, "h2");
	peer.naddrs = VN_CTL_PEER_ADDRS;
	assert_int_equal(vn_ctl_peer_decode((uint8_t *)&peer, sizeof(peer), 0, &po), 0);
	peer.naddrs = VN_CTL_PEER_ADDRS + 1;
	assert_int_equal(vn_ctl_peer_decode((uint8_t *)&peer, sizeof(peer), 0, &po), -EINVAL);

	varp.local = 1;
	assert_int_equal(vn_ctl_varp_decode((uint8_t *)&varp, sizeof(varp), 0, &vo), 0);
	varp.local = 2;
	assert_int_equal(vn_ctl_varp_decode((uint8_t *)&varp, sizeof(varp), 0, &vo), -EINVAL);
	assert_int_equal(vn_ctl_varp_decode((uint8_t *)&varp, sizeof(varp) + 1, 0, &vo), -EINVAL);

	st.global = 1;
	st.c[VN_STAT_DROP_DUP] = 7;
	assert_int_equal(vn_ctl_stats_decode((uint8_t *)&st, sizeof(st), 0, &so), 0);
	assert_int_equal(so.c[VN_STAT_DROP_DUP], 7);
	st.global = 9;
	assert_int_equal(vn_ctl_stats_decode((uint8_t *)&st, sizeof(st), 0, &so), -EINVAL);
	assert_string_equal(vn_ctl_stat_names[VN_STAT_FRAMES_IN], "frames_in");
	assert_string_equal(vn_ctl_stat_names[VN_STAT_DROP_DUP], "drop_dup");
	/* Keys only ever get added after the contract's, never reordered;
	 * the relay counters stay the last two (25_vnet_peers.sh). */
	assert_string_equal(vn_ctl_stat_names[VN_STAT_FLOODS_IN], "floods_in");
	assert_string_equal(vn_ctl_stat_names[VN_STAT_MACS], "macs");
	assert_string_equal(vn_ctl_stat_names[VN_STAT_DROP_NOSA], "drop_nosa");
	assert_int_equal(VN_STAT_DROP_NOSA, VN_STAT_DROP_DUP + 1);
	assert_string_equal(vn_ctl_stat_names[VN_STAT_SA_LEARNED], "sa_learned");
	assert_int_equal(VN_STAT_MACS, VN_STAT_SA_LEARNED + 1);
	assert_string_equal(vn_ctl_stat_names[VN_STAT_ANNOUNCES_LIMITED], "announces_limited");
	assert_string_equal(vn_ctl_stat_names[VN_STAT_FLOODS_REMCAST], "floods_remcast");
	assert_int_equal(VN_STAT_FLOODS_REMCAST, VN_STAT_ANNOUNCES_LIMITED + 1);
	assert_string_equal(vn_ctl_stat_names[VN_STAT_FLOODS_FWD], "floods_fwd");
	assert_int_equal(VN_STAT_FLOODS_FWD, VN_STAT_FLOODS_REMCAST + 1);
	assert_int_equal(VN_STAT_FLOODS_FWD, VN_STAT_COUNT - 1);

	strcpy(sa.suite, "null-sha1");
	sa.dir = VN_CTL_SA_IN;
	sa.auth_key_len = 20;
	assert_int_equal(vn_ctl_sa_decode((uint8_t *)&sa, sizeof(sa), 0, &sao), 0);
	sa.auth_key_len = 33;
	assert_int_equal(vn_ctl_sa_decode((uint8_t *)&sa, sizeof(sa), 0, &sao), -EINVAL);
	sa.auth_key_len = 20;
	sa.enc_key_len = 37;
	assert_int_equal(vn_ctl_sa_decode((uint8_t *)&sa, sizeof(sa), 0, &sao), -EINVAL);
	sa.enc_key_len = 0;
	sa.dir = 2;
	assert_int_equal(vn_ctl_sa_decode((uint8_t *)&sa, sizeof(sa), 0, &sao), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_round_trip), cmocka_unit_test(test_create_encode_bad),
	    cmocka_unit_test(test_create_decode_bad), cmocka_unit_test(test_host),
	    cmocka_unit_test(test_fixed_requests),    cmocka_unit_test(test_vnet_records),
	    cmocka_unit_test(test_other_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
