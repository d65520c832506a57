/* varp: byte-exact encoding against a hand-written message, round trips,
 * and one bad case per field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "varp.h"

/* ANNOUNCE of 52:54:00:12:34:56 on vnet 97 at 10.0.0.2, ttl 300. */
static const uint8_t announce[VARP_MSG_LEN] = {
    1,	  3,	0,    0,							/* hdr */
    0,	  0,	0,    0,    0,	  0,	0, 0, 0, 0, 0,	  0,	0,  0, 0, 0x97, /* vnet */
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0,					/* mac */
    0,	  0,	0,    0,    0,	  0,	0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2,	/* coa */
    0,	  0,	0x01, 0x2c,							/* ttl */
};

static void test_decode_known(void **state)
{
	struct varp_msg m;
	struct vnet_id id;
	struct vnet_addr a;
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	(void)state;

	assert_int_equal(varp_decode(announce, sizeof(announce), &m), VARP_OK);
	assert_int_equal(m.op, VARP_MSG_ANNOUNCE);
	vnet_id_from_short(&id, 0x97);
	assert_true(vnet_id_eq(&m.vnet, &id));
	assert_memory_equal(m.mac, mac, 6);
	assert_int_equal(vnet_addr_parse("10.0.0.2", &a), 0);
	assert_true(vnet_addr_eq(&m.coa, &a));
	assert_int_equal(m.ttl_s, 300);
}

static void test_encode_known(void **state)
{
	struct varp_msg m = {
	    .op = VARP_MSG_ANNOUNCE, .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, .ttl_s = 300};
	uint8_t out[VARP_MSG_LEN];
	(void)state;
	vnet_id_from_short(&m.vnet, 0x97);
	assert_int_equal(vnet_addr_parse("10.0.0.2", &m.coa), 0);
	memset(out, 0xaa, sizeof(out));
	varp_encode(&m, out);
	assert_memory_equal(out, announce, VARP_MSG_LEN);
}

static void test_round_trip_v6(void **state)
{
	struct varp_msg m = {.op = VARP_MSG_REQUEST, .mac = {2, 0, 0, 0, 0, 1}}, back;
	uint8_t out[VARP_MSG_LEN];
	(void)state;
	assert_int_equal(vnet_id_parse("1:2:3:4:5:6:7:8", &m.vnet, NULL, 0), VNET_ID_OK);
	assert_int_equal(vnet_addr_parse("fd00::1:2", &m.coa), 0);
	varp_encode(&m, out);
	assert_int_equal(varp_decode(out, sizeof(out), &back), VARP_OK);
	assert_memory_equal(&back.vnet, &m.vnet, sizeof(m.vnet));
	assert_memory_equal(&back.coa, &m.coa, sizeof(m.coa));
	assert_memory_equal(back.mac, m.mac, 6);
	assert_int_equal(back.op, VARP_MSG_REQUEST);
	assert_int_equal(back.ttl_s, 0);
	m.op = VARP_MSG_REPLY;
	m.ttl_s = 0xfedcba98;
	varp_encode(&m, out);
	assert_int_equal(varp_decode(out, sizeof(out), &back), VARP_OK);
	assert_int_equal(back.ttl_s, 0xfedcba98);
	assert_int_equal(back.op, VARP_MSG_REPLY);
}

struct bad_case {
	size_t off;  /* byte to change */
	uint8_t val; /* its new value */
	enum varp_status st;
};

static const struct bad_case bad[] = {
    {0, 0, VARP_ERR_VERSION},  {0, 2, VARP_ERR_VERSION},   {1, 0, VARP_ERR_OP},
    {1, 4, VARP_ERR_OP},       {1, 0xff, VARP_ERR_OP},	   {2, 1, VARP_ERR_FLAGS},
    {3, 0x80, VARP_ERR_FLAGS}, {26, 1, VARP_ERR_RESERVED}, {27, 0x10, VARP_ERR_RESERVED},
    {19, 0, VARP_ERR_VNET},    {19, 1, VARP_ERR_VNET},	   {20, 0x53, VARP_ERR_MAC},
    {20, 0xff, VARP_ERR_MAC},  {43, 0, VARP_OK},	   {47, 0, VARP_OK},
};

static void test_bad_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t m[VARP_MSG_LEN];
		struct varp_msg out = {.ttl_s = 7};
		memcpy(m, announce, sizeof(m));
		m[bad[i].off] = bad[i].val;
		assert_int_equal(varp_decode(m, sizeof(m), &out), bad[i].st);
		if (bad[i].st != VARP_OK)
			assert_int_equal(out.ttl_s, 7); /* untouched */
	}
}

static void test_bad_other(void **state)
{
	uint8_t m[VARP_MSG_LEN + 1];
	struct varp_msg out;
	(void)state;

	memcpy(m, announce, VARP_MSG_LEN);
	m[VARP_MSG_LEN] = 0;
	assert_int_equal(varp_decode(m, VARP_MSG_LEN + 1, &out), VARP_ERR_LENGTH);
	assert_int_equal(varp_decode(m, VARP_MSG_LEN - 1, &out), VARP_ERR_LENGTH);
	assert_int_equal(varp_decode(m, 0, &out), VARP_ERR_LENGTH);
	/* Unspecified care-of address, IPv4-mapped or IPv6. */
	memset(m + 40, 0, 4);
	assert_int_equal(varp_decode(m, VARP_MSG_LEN, &out), VARP_ERR_ADDR);
	memset(m + 28, 0, 16);
	assert_int_equal(varp_decode(m, VARP_MSG_LEN, &out), VARP_ERR_ADDR);
	/* A REQUEST carries ttl 0. */
	memcpy(m, announce, VARP_MSG_LEN);
	m[1] = VARP_MSG_REQUEST;
	assert_int_equal(varp_decode(m, VARP_MSG_LEN, &out), VARP_ERR_TTL);
	memset(m + 44, 0, 4);
	assert_int_equal(varp_decode(m, VARP_MSG_LEN, &out), VARP_OK);
	assert_string_equal(varp_status_str(VARP_ERR_TTL), "request with non-zero ttl");
	assert_string_equal(varp_op_name(VARP_MSG_ANNOUNCE), "announce");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_known),  cmocka_unit_test(test_encode_known),
	    cmocka_unit_test(test_round_trip_v6), cmocka_unit_test(test_bad_fields),
	    cmocka_unit_test(test_bad_other),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
