/*
 * ESP decapsulation with fixed keys. The first input byte picks the suite
 * (low two bits) and the mode (bit 7):
 *   mode 0: the rest is an ESP packet, its SPI forced to the SA's so that
 *           the input reaches the replay and ICV checks;
 *   mode 1: two bytes of position, one xor byte, then a payload: the
 *           payload is sealed by an outbound SA, the byte at the position
 *           xored, and the result opened. An unmodified packet must come
 *           back intact; a modified one must never be accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp_sa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROOM 64
#define MAX_PAYLOAD 4096

static const enum esp_suite_id suites[4] = {ESP_SUITE_AES128_GCM, ESP_SUITE_AES128_CBC_SHA1,
					    ESP_SUITE_NULL_SHA1, ESP_SUITE_NULL_SHA256};

static struct esp_sa_keys keys_for(enum esp_suite_id suite)
{
	struct esp_sa_keys k = {.suite = suite, .spi = 0x12340001};
	memset(k.enc_key, 0x11, sizeof(k.enc_key));
	memset(k.salt, 0x22, sizeof(k.salt));
	memset(k.auth_key, 0x33, sizeof(k.auth_key));
	return k;
}

static void open_raw(struct esp_sa *in, const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size + 4);
	struct esp_decap_out out;

	if (!buf)
		return;
	memcpy(buf, data, size);
	if (size >= 4)
		memcpy(buf, "\x12\x34\x00\x01", 4);
	if (esp_sa_decap(in, buf, size, &out) == ESP_OK &&
	    (out.payload < buf || out.payload + out.len > buf + size))
		__builtin_trap();
	free(buf);
}

static void seal_open(struct esp_sa *sa_out, struct esp_sa *in, const uint8_t *data, size_t size)
{
	static uint8_t buf[ROOM + MAX_PAYLOAD + ROOM];
	struct esp_decap_out out;
	uint8_t *pkt;
	size_t pkt_len, pos, len;
	uint8_t x;

	if (size < 3)
		return;
	pos = (size_t)data[0] << 8 | data[1];
	x = data[2];
	len = size - 3 > MAX_PAYLOAD ? MAX_PAYLOAD : size - 3;
	memcpy(buf + ROOM, data + 3, len);
	if (esp_sa_encap(sa_out, buf + ROOM, len, ROOM, ROOM, ESP_NH_ETHERNET, &pkt, &pkt_len) != 0)
		__builtin_trap();
	pkt[pos % pkt_len] ^= x;
	enum esp_result r = esp_sa_decap(in, pkt, pkt_len, &out);
	if (x == 0 && (r != ESP_OK || out.len != len || memcmp(out.payload, data + 3, len) != 0))
		__builtin_trap();
	if (x != 0 && r == ESP_OK)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esp_sa_keys k;
	struct esp_sa *sa_out, *in;

	if (size < 1)
		return 0;
	k = keys_for(suites[data[0] & 3]);
	sa_out = esp_sa_new(&k, ESP_SA_OUT);
	in = esp_sa_new(&k, ESP_SA_IN);
	if (sa_out && in) {
		if (data[0] & 0x80)
			seal_open(sa_out, in, data + 1, size - 1);
		else
			open_raw(in, data + 1, size - 1);
	}
	esp_sa_free(sa_out);
	esp_sa_free(in);
	return 0;
}
