/* pkt: demux of every kind, FLOOD envelopes, frame length limits, encoders
 * writing into headroom, and one bad case per rule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pkt.h"
#include "sa_msg.h"
#include "varp.h"

#define ROOM 64

static struct vnet_id vnet97(void)
{
	struct vnet_id id;
	vnet_id_from_short(&id, 0x97);
	return id;
}

/* buf gets ROOM bytes of headroom, then a frame of len bytes. */
static uint8_t *make_frame(uint8_t *buf, size_t len)
{
	uint8_t *f = buf + ROOM;
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(i * 7 + 1);
	f[12] = 0x08;
	f[13] = 0x00;
	return f;
}

static void test_clear_frame(void **state)
{
	uint8_t buf[ROOM + 1600];
	struct vnet_id id = vnet97();
	struct pkt_info info;
	uint8_t *f = make_frame(buf, 60), *p;
	static const uint8_t hdr[PKT_VNET_HDR_LEN] = {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0,
						      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x97};
	(void)state;

	p = pkt_push_vnet(f, ROOM, PKT_FRAME, &id);
	assert_ptr_equal(p, f - PKT_VNET_HDR_LEN);
	assert_memory_equal(p, hdr, sizeof(hdr));
	assert_int_equal(pkt_decode(p, 60 + PKT_VNET_HDR_LEN, 0, &info), PKT_OK);
	assert_int_equal(info.kind, PKT_FRAME);
	assert_false(info.flood);
	assert_true(vnet_id_eq(&info.vnet, &id));
	assert_int_equal(info.off, PKT_VNET_HDR_LEN);
	assert_int_equal(info.len, 60);
	assert_ptr_equal(p + info.off, f); /* no copy: points into the buffer */
}

static void test_clear_varp(void **state)
{
	uint8_t buf[ROOM + VARP_MSG_LEN];
	struct vnet_id id = vnet97();
	struct varp_msg m = {.op = VARP_MSG_REQUEST, .vnet = id, .mac = {2, 1, 1, 1, 1, 1}}, back;
	struct pkt_info info;
	uint8_t *p;
	(void)state;

	assert_int_equal(vnet_addr_parse("192.0.2.1", &m.coa), 0);
	varp_encode(&m, buf + ROOM);
	p = pkt_push_vnet(buf + ROOM, ROOM, PKT_VARP, &id);
	assert_int_equal(p[5], PKT_TYPE_VARP);
	assert_int_equal(pkt_decode(p, PKT_VNET_HDR_LEN + VARP_MSG_LEN, 0, &info), PKT_OK);
	assert_int_equal(info.kind, PKT_VARP);
	assert_int_equal(info.len, VARP_MSG_LEN);
	assert_int_equal(varp_decode(p + info.off, info.len, &back), VARP_OK);
	assert_int_equal(pkt_decode(p, PKT_VNET_HDR_LEN + VARP_MSG_LEN - 1, 0, &info),
			 PKT_ERR_VARP_LEN);
}

static void test_esp(void **state)
{
	uint8_t esp[20] = {0x12, 0x34, 0x00, 0x01, 0, 0, 0, 1};
	struct pkt_info info;
	(void)state;

	assert_int_equal(pkt_decode(esp, sizeof(esp), 0, &info), PKT_OK);
	assert_int_equal(info.kind, PKT_ESP);
	assert_int_equal(info.spi, 0x12340001);
	assert_int_equal(info.off, 0);
	assert_int_equal(info.len, 20);
	assert_int_equal(pkt_decode(esp, 8, 0, &info), PKT_ERR_ESP_SHORT);
	assert_int_equal(pkt_decode(esp, 9, 0, &info), PKT_OK);
	esp[0] = esp[1] = esp[2] = 0;
	esp[3] = 0xff;
	assert_int_equal(pkt_decode(esp, sizeof(esp), 0, &info), PKT_ERR_SPI);
	esp[2] = 1;
	esp[3] = 0;
	assert_int_equal(pkt_decode(esp, sizeof(esp), 0, &info), PKT_OK);
	assert_int_equal(info.spi, 256);
}

static void test_flood(void **state)
{
	uint8_t buf[2 * ROOM + 100];
	struct vnet_id id = vnet97();
	struct vnet_addr origin;
	struct pkt_info info;
	uint8_t *f = make_frame(buf + ROOM, 100), *p;
	size_t len;
	static const uint8_t env[PKT_FLOOD_HDR_LEN] = {
	    0,	  0,	0,  0, 1, 3, 0,	   0,	 0,    0,    0,	   0,	 0,    0,    0, 0, 0, 0,
	    0xff, 0xff, 10, 9, 8, 7, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 0, 0, 0};
	(void)state;

	assert_int_equal(vnet_addr_parse("10.9.8.7", &origin), 0);
	p = pkt_push_vnet(f, 2 * ROOM, PKT_FRAME, &id);
	p = pkt_push_flood(p, (size_t)(p - buf), &origin, 0x0123456789abcdefull, 0, false);
	assert_non_null(p);
	assert_memory_equal(p, env, sizeof(env));
	len = PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN + 100;
	assert_int_equal(pkt_decode(p, len, 0, &info), PKT_OK);
	assert_true(info.flood);
	assert_int_equal(info.kind, PKT_FRAME);
	assert_true(vnet_addr_eq(&info.origin, &origin));
	assert_int_equal(info.seq, 0x0123456789abcdefull);
	assert_int_equal(info.hops, 0);
	assert_int_equal(info.inner_off, PKT_FLOOD_HDR_LEN);
	assert_ptr_equal(p + info.off, f);
	assert_int_equal(info.len, 100);

	/* A peer re-multicasts it with hops = 1. */
	assert_int_equal(pkt_flood_set_hops(p, len, 1), 0);
	assert_int_equal(pkt_decode(p, len, 0, &info), PKT_OK);
	assert_int_equal(info.hops, 1);
	assert_int_equal(pkt_flood_set_hops(p + PKT_FLOOD_HDR_LEN, len - PKT_FLOOD_HDR_LEN, 1),
			 -EINVAL); /* not a FLOOD */
	assert_int_equal(pkt_flood_set_hops(p, PKT_FLOOD_HDR_LEN - 1, 1), -EINVAL);
	p[36] = 0x12; /* an ESP packet inside, but no tag */
	assert_int_equal(pkt_decode(p, len, 0, &info), PKT_ERR_TAG);
}

/* A FLOOD around ESP: flag PKT_F_TAG, 16 tag bytes, then the ESP packet;
 * the ICV's extension data is origin | seq from the envelope. */
static void test_flood_tagged(void **state)
{
	uint8_t buf[2 * ROOM + 100], ext[PKT_FLOOD_EXT_LEN], *p, *esp = buf + ROOM;
	struct vnet_addr origin;
	struct pkt_info info;
	size_t len;
	(void)state;

	assert_int_equal(vnet_addr_parse("10.9.8.7", &origin), 0);
	memset(esp, 0xee, 100);
	esp[0] = 0x12;
	p = pkt_push_flood(esp, ROOM, &origin, 0x0102030405060708ull, 1, true);
	assert_ptr_equal(p, esp - PKT_FLOOD_TAGGED_LEN);
	assert_int_equal(p[6], 0);
	assert_int_equal(p[7], PKT_F_TAG);
	for (size_t i = PKT_FLOOD_HDR_LEN; i < PKT_FLOOD_TAGGED_LEN; i++)
		assert_int_equal(p[i], 0); /* the caller's to fill */
	len = PKT_FLOOD_TAGGED_LEN + 100;
	assert_int_equal(pkt_decode(p, len, 0, &info), PKT_OK);
	assert_true(info.flood);
	assert_true(info.tagged);
	assert_int_equal(info.kind, PKT_ESP);
	assert_int_equal(info.inner_off, PKT_FLOOD_TAGGED_LEN);
	assert_int_equal(info.off, PKT_FLOOD_TAGGED_LEN);
	assert_int_equal(info.len, 100);
	assert_int_equal(info.hops, 1);
	pkt_flood_ext(p, ext);
	assert_memory_equal(ext, origin.b, VNET_ADDR_LEN);
	assert_int_equal(ext[16], 1);
	assert_int_equal(ext[23], 8);
	/* Tagged around a clear FRAME, or too short for the tag. */
	memset(esp, 0, 8);
	esp[4] = PKT_VERSION;
	esp[5] = PKT_TYPE_FRAME;
	assert_int_equal(pkt_decode(p, len, 0, &info), PKT_ERR_TAG);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_TAGGED_LEN - 1, 0, &info), PKT_ERR_SHORT);
	assert_null(pkt_push_flood(esp, PKT_FLOOD_TAGGED_LEN - 1, &origin, 1, 0, true));
}

/* The SA exchange packet is a clear type of its own, exactly 116 bytes,
 * never inside a FLOOD. */
static void test_sa_type(void **state)
{
	uint8_t buf[2 * ROOM + SA_PKT_LEN] = {0}, *p = buf + ROOM;
	struct vnet_addr origin;
	struct pkt_info info;
	(void)state;

	p[4] = 1;
	p[5] = PKT_TYPE_SA;
	p[23] = 0x97;
	assert_int_equal(pkt_decode(p, SA_PKT_LEN, 0, &info), PKT_OK);
	assert_int_equal(info.kind, PKT_SA);
	assert_int_equal(info.off, 0);
	assert_int_equal(info.len, SA_PKT_LEN);
	assert_false(info.flood);
	assert_int_equal(pkt_decode(p, SA_PKT_LEN - 1, 0, &info), PKT_ERR_SA_LEN);
	assert_int_equal(pkt_decode(p, SA_PKT_LEN + 1, 0, &info), PKT_ERR_SA_LEN);
	p[7] = 1; /* only a FLOOD may have the tag flag */
	assert_int_equal(pkt_decode(p, SA_PKT_LEN, 0, &info), PKT_ERR_FLAGS);
	p[7] = 0;
	assert_int_equal(vnet_addr_parse("10.9.8.7", &origin), 0);
	/* In a FLOOD only with a tag (an ANNOUNCE); a FLOOD never in one. */
	p = pkt_push_flood(p, ROOM, &origin, 1, 0, true);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_TAGGED_LEN + SA_PKT_LEN, 0, &info), PKT_OK);
	assert_true(info.flood);
	assert_true(info.tagged);
	assert_int_equal(info.kind, PKT_SA);
	assert_int_equal(info.off, PKT_FLOOD_TAGGED_LEN);
	assert_int_equal(info.len, SA_PKT_LEN);
	/* Without the flag the inner packet is read from the tag's zero bytes
	 * (an SA packet in an untagged FLOOD is flood_bad's offset 41 case). */
	p[7] = 0;
	assert_int_equal(pkt_decode(p, PKT_FLOOD_TAGGED_LEN + SA_PKT_LEN, 0, &info),
			 PKT_ERR_VERSION);
	p[7] = PKT_F_TAG;
	p[PKT_FLOOD_TAGGED_LEN + 5] = PKT_TYPE_FLOOD;
	assert_int_equal(pkt_decode(p, PKT_FLOOD_TAGGED_LEN + SA_PKT_LEN, 0, &info),
			 PKT_ERR_NESTED);
}

struct bad_case {
	size_t off;
	uint8_t val;
	enum pkt_status st;
};

/* Changes to a FLOOD(FRAME) of a 64-byte frame. With the tag flag set
 * (offset 7) the inner packet is looked for 16 bytes on, inside the vnet id
 * of the FRAME header, whose zero bytes read as a clear header of version 0. */
static const struct bad_case flood_bad[] = {
    {4, 2, PKT_ERR_VERSION}, {4, 0, PKT_ERR_VERSION},	  {5, 0, PKT_ERR_TYPE},
    {5, 5, PKT_ERR_TYPE},    {5, 4, PKT_ERR_SA_LEN},	  {6, 1, PKT_ERR_FLAGS},
    {7, 1, PKT_ERR_VERSION}, {7, 2, PKT_ERR_FLAGS},	  {41, 4, PKT_ERR_TAG},
    {43, 1, PKT_ERR_FLAGS},  {33, 1, PKT_ERR_FLOOD_RSVD}, {35, 1, PKT_ERR_FLOOD_RSVD},
    {32, 2, PKT_ERR_HOPS},   {32, 0xff, PKT_ERR_HOPS},	  {40, 2, PKT_ERR_VERSION},
    {41, 3, PKT_ERR_NESTED}, {41, 9, PKT_ERR_TYPE},	  {42, 1, PKT_ERR_FLAGS},
    {59, 0, PKT_ERR_VNET},   {59, 1, PKT_ERR_VNET},	  {39, 1, PKT_ERR_TAG},
    {32, 1, PKT_OK},
};

static void test_flood_bad(void **state)
{
	uint8_t buf[2 * ROOM + 64], *p;
	struct vnet_id id = vnet97();
	struct vnet_addr origin;
	size_t len = PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN + 64;
	(void)state;

	assert_int_equal(vnet_addr_parse("fd00::7", &origin), 0);
	for (size_t i = 0; i < sizeof(flood_bad) / sizeof(flood_bad[0]); i++) {
		struct pkt_info info = {.len = 4242};
		uint8_t *f = make_frame(buf + ROOM, 64);
		p = pkt_push_flood(pkt_push_vnet(f, 2 * ROOM, PKT_FRAME, &id), ROOM, &origin, 5, 0,
				   false);
		p[flood_bad[i].off] = flood_bad[i].val;
		assert_int_equal(pkt_decode(p, len, 0, &info), flood_bad[i].st);
		if (flood_bad[i].st != PKT_OK)
			assert_int_equal(info.len, 4242);
	}
	/* Unspecified origin; truncated envelopes. */
	p = pkt_push_flood(pkt_push_vnet(make_frame(buf + ROOM, 64), 2 * ROOM, PKT_FRAME, &id),
			   ROOM, &origin, 5, 0, false);
	struct pkt_info info;
	assert_int_equal(pkt_decode(p, PKT_FLOOD_HDR_LEN - 1, 0, &info), PKT_ERR_SHORT);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_HDR_LEN, 0, &info), PKT_ERR_SHORT);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_HDR_LEN + 7, 0, &info), PKT_ERR_SHORT);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_HDR_LEN + 23, 0, &info), PKT_ERR_SHORT);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_HDR_LEN + 24 + 13, 0, &info), PKT_ERR_FRAME_LEN);
	assert_int_equal(pkt_decode(p, PKT_FLOOD_HDR_LEN + 24 + 14, 0, &info), PKT_OK);
	memset(p + 8, 0, 16);
	assert_int_equal(pkt_decode(p, len, 0, &info), PKT_ERR_ORIGIN);
}

static void test_short(void **state)
{
	static const uint8_t zero[8] = {0, 0, 0, 0, 1, 1, 0, 0};
	struct pkt_info info;
	(void)state;
	for (size_t n = 0; n < 4; n++)
		assert_int_equal(pkt_decode(zero, n, 0, &info), PKT_ERR_SHORT);
	for (size_t n = 4; n < 8; n++)
		assert_int_equal(pkt_decode(zero, n, 0, &info), PKT_ERR_SHORT);
	assert_int_equal(pkt_decode(zero, 8, 0, &info), PKT_ERR_SHORT);
	assert_string_equal(pkt_status_str(PKT_ERR_NESTED), "flood inside a flood");
}

struct len_case {
	size_t len;
	int tags; /* VLAN tags written at 12 (and 16) */
	size_t max;
	bool ok;
};

static const struct len_case lens[] = {
    {13, 0, 0, false},	 {14, 0, 0, true},	{1514, 0, 0, true},	{1518, 0, 0, true},
    {1519, 0, 0, false}, {1522, 1, 0, true},	{1523, 1, 0, false},	{1526, 2, 0, true},
    {1527, 2, 0, false}, {9018, 0, 9018, true}, {9019, 0, 9018, false}, {1401, 0, 1400, false},
    {18, 1, 0, true},	 {17, 1, 0, true},	{1519, 1, 0, true},
};

static void test_frame_lengths(void **state)
{
	static uint8_t buf[ROOM + 9100];
	struct vnet_id id = vnet97();
	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *f = make_frame(buf, lens[i].len), *p;
		struct pkt_info info;
		if (lens[i].tags >= 1 && lens[i].len >= 14) {
			f[12] = 0x81;
			f[13] = 0x00;
		}
		if (lens[i].tags >= 2) {
			f[12] = 0x88;
			f[13] = 0xa8;
			f[16] = 0x81;
			f[17] = 0x00;
		}
		assert_int_equal(pkt_eth_check(f, lens[i].len, lens[i].max), lens[i].ok);
		p = pkt_push_vnet(f, ROOM, PKT_FRAME, &id);
		assert_int_equal(pkt_decode(p, lens[i].len + PKT_VNET_HDR_LEN, lens[i].max, &info),
				 lens[i].ok ? PKT_OK : PKT_ERR_FRAME_LEN);
	}
}

static void test_push_errors(void **state)
{
	uint8_t buf[ROOM];
	struct vnet_id id = vnet97();
	struct vnet_addr a;
	(void)state;
	vnet_addr_from_v4(&a, 0x01020304);
	assert_null(pkt_push_vnet(buf + 23, 23, PKT_FRAME, &id));
	assert_non_null(pkt_push_vnet(buf + 24, 24, PKT_FRAME, &id));
	assert_null(pkt_push_vnet(buf + 24, 24, PKT_ESP, &id));
	assert_null(pkt_push_flood(buf + 35, 35, &a, 1, 0, false));
	assert_non_null(pkt_push_flood(buf + 36, 36, &a, 1, 0, false));
	uint8_t frame[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	assert_true(pkt_eth_is_group(frame));
	frame[0] = 0x01;
	assert_true(pkt_eth_is_group(frame));
	frame[0] = 0x02;
	assert_false(pkt_eth_is_group(frame));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clear_frame),	  cmocka_unit_test(test_clear_varp),
	    cmocka_unit_test(test_esp),		  cmocka_unit_test(test_flood),
	    cmocka_unit_test(test_flood_tagged),  cmocka_unit_test(test_sa_type),
	    cmocka_unit_test(test_flood_bad),	  cmocka_unit_test(test_short),
	    cmocka_unit_test(test_frame_lengths), cmocka_unit_test(test_push_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
