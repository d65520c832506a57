/*
 * sa_msg: the SA exchange codec round-trips every op byte for byte with
 * docs/wire.md's layout; every field rule has a bad case with its exact
 * status; the tag covers every byte before it and depends on the key; and
 * esp_tag matches HMAC-SHA-256 computed by OpenSSL's one-shot API.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp_tag.h"
#include "pkt.h"
#include "sa_msg.h"

static struct esp_tag *tag_with(uint8_t b)
{
	uint8_t k[ESP_CTL_KEY_LEN];
	struct esp_tag *t;

	memset(k, b, sizeof(k));
	t = esp_tag_new(k);
	assert_non_null(t);
	return t;
}

static struct sa_msg msg_of(enum sa_msg_op op)
{
	struct sa_msg m = {.op = op};

	vnet_id_from_short(&m.vnet, 0x97);
	vnet_addr_parse("10.0.1.1", &m.sender);
	if (op != SA_MSG_ANNOUNCE)
		vnet_addr_parse("10.0.1.2", &m.asker);
	m.suite = op == SA_MSG_REQUEST ? ESP_SUITE_NONE : ESP_SUITE_AES128_GCM;
	m.spi = op == SA_MSG_REQUEST ? 0 : 0xc92c1234;
	if (op == SA_MSG_REPLY) {
		m.seq = 4242;
		memset(m.nonce, 0x3c, sizeof(m.nonce));
	}
	memset(m.challenge, 0xc5, sizeof(m.challenge));
	return m;
}

static void test_roundtrip(void **state)
{
	struct esp_tag *t = tag_with(1);
	(void)state;

	for (int op = SA_MSG_ANNOUNCE; op <= SA_MSG_REPLY; op++) {
		struct sa_msg m = msg_of((enum sa_msg_op)op), got;
		uint8_t pkt[SA_PKT_LEN];
		struct pkt_info info;

		assert_int_equal(sa_msg_encode(&m, t, pkt), 0);
		/* Layout: clear header type 4, vnet id, op, suite, addresses. */
		assert_int_equal(pkt[4], 1);
		assert_int_equal(pkt[5], PKT_TYPE_SA);
		assert_int_equal(pkt[23], 0x97);
		assert_int_equal(pkt[24], op);
		assert_int_equal(pkt[25], m.suite);
		assert_memory_equal(pkt + 28, m.sender.b, 16);
		assert_memory_equal(pkt + 44, m.asker.b, 16);
		assert_int_equal((uint32_t)pkt[60] << 24 | (uint32_t)pkt[61] << 16 | pkt[62] << 8 |
				     pkt[63],
				 m.spi);
		assert_int_equal(pkt[66] << 8 | pkt[67], m.seq);
		assert_memory_equal(pkt + 84, m.challenge, 16);
		assert_int_equal(pkt_decode(pkt, sizeof(pkt), 0, &info), PKT_OK);
		assert_int_equal(info.kind, PKT_SA);
		assert_int_equal(sa_msg_decode(pkt, sizeof(pkt), &got), SA_MSG_OK);
		assert_int_equal(got.op, m.op);
		assert_int_equal(got.suite, m.suite);
		assert_true(vnet_id_eq(&got.vnet, &m.vnet));
		assert_true(vnet_addr_eq(&got.sender, &m.sender));
		assert_true(vnet_addr_eq(&got.asker, &m.asker));
		assert_int_equal(got.spi, m.spi);
		assert_int_equal(got.seq, m.seq);
		assert_memory_equal(got.nonce, m.nonce, ESP_NONCE_LEN);
		assert_memory_equal(got.challenge, m.challenge, SA_CHALLENGE_LEN);
		assert_true(sa_msg_verify(t, pkt));
	}
	esp_tag_free(t);
}

/* Every byte is under the tag, and another key's tag is wrong. */
static void test_tag(void **state)
{
	struct esp_tag *t = tag_with(1), *other = tag_with(2);
	struct sa_msg m = msg_of(SA_MSG_REPLY);
	uint8_t pkt[SA_PKT_LEN];
	(void)state;

	assert_int_equal(sa_msg_encode(&m, t, pkt), 0);
	assert_false(sa_msg_verify(other, pkt));
	for (size_t i = 0; i < SA_PKT_LEN; i++) {
		pkt[i] ^= 0x40;
		assert_false(sa_msg_verify(t, pkt));
		pkt[i] ^= 0x40;
	}
	assert_true(sa_msg_verify(t, pkt));
	esp_tag_free(t);
	esp_tag_free(other);
}

struct bad {
	enum sa_msg_op op;
	size_t off;
	uint8_t val;
	enum sa_msg_status want;
};

static const struct bad bads[] = {
    {SA_MSG_REPLY, 0, 1, SA_MSG_ERR_HEADER},	{SA_MSG_REPLY, 4, 2, SA_MSG_ERR_HEADER},
    {SA_MSG_REPLY, 5, 3, SA_MSG_ERR_HEADER},	{SA_MSG_REPLY, 7, 1, SA_MSG_ERR_HEADER},
    {SA_MSG_REPLY, 23, 1, SA_MSG_ERR_VNET},	{SA_MSG_REPLY, 24, 0, SA_MSG_ERR_OP},
    {SA_MSG_REPLY, 24, 4, SA_MSG_ERR_OP},	{SA_MSG_REPLY, 26, 1, SA_MSG_ERR_RESERVED},
    {SA_MSG_REPLY, 27, 1, SA_MSG_ERR_RESERVED}, {SA_MSG_REPLY, 25, 0, SA_MSG_ERR_SUITE},
    {SA_MSG_REPLY, 25, 5, SA_MSG_ERR_SUITE},	{SA_MSG_REPLY, 25, 0xff, SA_MSG_ERR_SUITE},
    {SA_MSG_REQUEST, 25, 1, SA_MSG_ERR_SUITE},	{SA_MSG_ANNOUNCE, 25, 0, SA_MSG_ERR_SUITE},
    {SA_MSG_ANNOUNCE, 59, 1, SA_MSG_ERR_ADDR},	{SA_MSG_REQUEST, 59, 0, SA_MSG_OK},
    {SA_MSG_REQUEST, 63, 0x10, SA_MSG_ERR_SPI}, {SA_MSG_ANNOUNCE, 67, 1, SA_MSG_ERR_FIELD},
    {SA_MSG_REQUEST, 70, 1, SA_MSG_ERR_FIELD},	{SA_MSG_ANNOUNCE, 83, 1, SA_MSG_ERR_FIELD},
    {SA_MSG_REPLY, 67, 9, SA_MSG_OK},		{SA_MSG_REPLY, 99, 9, SA_MSG_OK},
};

static void test_bad(void **state)
{
	struct esp_tag *t = tag_with(1);
	(void)state;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct sa_msg m = msg_of(bads[i].op), got = {.spi = 77};
		uint8_t pkt[SA_PKT_LEN];

		assert_int_equal(sa_msg_encode(&m, t, pkt), 0);
		pkt[bads[i].off] = bads[i].val;
		assert_int_equal(sa_msg_decode(pkt, sizeof(pkt), &got), bads[i].want);
		if (bads[i].want != SA_MSG_OK)
			assert_int_equal(got.spi, 77); /* untouched */
	}
	esp_tag_free(t);
}

static void test_addresses_and_length(void **state)
{
	struct esp_tag *t = tag_with(1);
	struct sa_msg m = msg_of(SA_MSG_REPLY), got;
	uint8_t pkt[SA_PKT_LEN + 1];
	(void)state;

	assert_int_equal(sa_msg_encode(&m, t, pkt), 0);
	assert_int_equal(sa_msg_decode(pkt, SA_PKT_LEN - 1, &got), SA_MSG_ERR_LENGTH);
	assert_int_equal(sa_msg_decode(pkt, SA_PKT_LEN + 1, &got), SA_MSG_ERR_LENGTH);
	memset(pkt + 28, 0, 16); /* no sender */
	assert_int_equal(sa_msg_decode(pkt, SA_PKT_LEN, &got), SA_MSG_ERR_ADDR);
	m = msg_of(SA_MSG_REQUEST);
	assert_int_equal(sa_msg_encode(&m, t, pkt), 0);
	memset(pkt + 44, 0, 16); /* a question without an asker */
	assert_int_equal(sa_msg_decode(pkt, SA_PKT_LEN, &got), SA_MSG_ERR_ADDR);
	m = msg_of(SA_MSG_REPLY);
	m.spi = 255; /* reserved */
	assert_int_equal(sa_msg_encode(&m, t, pkt), 0);
	assert_int_equal(sa_msg_decode(pkt, SA_PKT_LEN, &got), SA_MSG_ERR_SPI);
	assert_string_equal(sa_msg_status_str(SA_MSG_ERR_ADDR), "bad address");
	assert_string_equal(sa_msg_op_name(SA_MSG_REPLY), "reply");
	esp_tag_free(t);
}

/* esp_tag over parts equals HMAC-SHA-256 of their concatenation, cut to
 * 16 bytes; the context is reusable. */
static void test_esp_tag(void **state)
{
	uint8_t key[ESP_CTL_KEY_LEN], data[300], md[32], out[ESP_TAG_LEN];
	unsigned int mdlen = 0;
	struct esp_tag *t;
	(void)state;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	t = esp_tag_new(key);
	assert_non_null(t);
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), data, sizeof(data), md, &mdlen));
	for (int round = 0; round < 2; round++) {
		const struct esp_tag_part parts[3] = {
		    {data, 36}, {data + 36, 200}, {data + 236, 64}};

		assert_int_equal(esp_tag_make(t, parts, 3, out), 0);
		assert_memory_equal(out, md, ESP_TAG_LEN);
		assert_true(esp_tag_check(t, parts, 3, md));
		md[15] ^= 1;
		assert_false(esp_tag_check(t, parts, 3, md));
		md[15] ^= 1;
	}
	esp_tag_free(t);
	esp_tag_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_tag),
	    cmocka_unit_test(test_bad),	      cmocka_unit_test(test_addresses_and_length),
	    cmocka_unit_test(test_esp_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
