/*
 * ESP throughput on one core: encapsulates and decapsulates PKTS payloads
 * of a given size per round with each suite and prints MB/s for each
 * direction, next to raw AES-128-GCM through EVP (what `openssl speed -evp
 * aes-128-gcm` measures) so that the ESP overhead reads as a ratio.
 *
 *   vnet_esp_speed [payload-bytes [seconds-per-measurement]]
 *
 * Defaults: 1408 bytes, 1 second. Bounded: at most 10 s per measurement
 * and five measurements.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp_sa.h"

#define PKTS 64 /* one batch of recvmmsg/sendmmsg-sized I/O: stays in L2 */
#define ROOM 64
#define SLOT (ROOM + 9216 + ROOM)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
	uint8_t *slots;
	uint8_t *pkt[PKTS];
	size_t pkt_len[PKTS];
	size_t len;
	double enc_s, dec_s;
	unsigned long long bytes;
};

static int one_round(struct run *r, struct esp_sa *out, struct esp_sa *in)
{
	struct esp_decap_out d;
	double t0 = now_s(), t1;

	for (int i = 0; i < PKTS; i++) {
		uint8_t *payload = r->slots + (size_t)i * SLOT + ROOM;
		if (esp_sa_encap(out, payload, r->len, ROOM, SLOT - ROOM - r->len, ESP_NH_ETHERNET,
				 &r->pkt[i], &r->pkt_len[i]) < 0)
			return -1;
	}
	t1 = now_s();
	for (int i = 0; i < PKTS; i++)
		if (esp_sa_decap(in, r->pkt[i], r->pkt_len[i], &d) != ESP_OK || d.len != r->len)
			return -1;
	r->enc_s += t1 - t0;
	r->dec_s += now_s() - t1;
	r->bytes += (unsigned long long)PKTS * r->len;
	return 0;
}

static int bench_suite(enum esp_suite_id suite, size_t len, double secs, uint8_t *slots)
{
	struct esp_sa_keys k = {.suite = suite, .spi = 0x12340001};
	struct run r = {.slots = slots, .len = len};
	struct esp_sa *out, *in;
	double start = now_s();
	int err = 0;

	memset(k.enc_key, 0x11, sizeof(k.enc_key));
	memset(k.salt, 0x22, sizeof(k.salt));
	memset(k.auth_key, 0x33, sizeof(k.auth_key));
	out = esp_sa_new(&k, ESP_SA_OUT);
	in = esp_sa_new(&k, ESP_SA_IN);
	if (!out || !in)
		err = -1;
	while (err == 0 && now_s() - start < secs)
		err = one_round(&r, out, in);
	if (err == 0)
		printf("%-16s %5zu B  encap %7.0f MB/s  decap %7.0f MB/s  (%.2f us + %.2f us per "
		       "packet)\n",
		       esp_sa_suite_name(suite), len, r.bytes / r.enc_s / 1e6,
		       r.bytes / r.dec_s / 1e6, r.enc_s / (r.bytes / len) * 1e6,
		       r.dec_s / (r.bytes / len) * 1e6);
	esp_sa_free(out);
	esp_sa_free(in);
	return err;
}

/* Raw AES-128-GCM encryption of len bytes with a fresh IV each time, as
 * `openssl speed -evp aes-128-gcm` does (no AAD, tag fetched). */
static double raw_gcm(size_t len, double secs, uint8_t *buf)
{
	static const uint8_t key[16] = {1}, iv[12] = {2};
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	unsigned long long bytes = 0;
	double start = now_s(), t;
	uint8_t tag[16];
	int outl;

	if (!c || EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv) != 1)
		return 0;
	do {
		for (int i = 0; i < PKTS; i++) {
			EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv);
			EVP_EncryptUpdate(c, buf, &outl, buf, (int)len);
			EVP_EncryptFinal_ex(c, buf + outl, &outl);
			EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag);
		}
		bytes += (unsigned long long)PKTS * len;
		t = now_s() - start;
	} while (t < secs);
	EVP_CIPHER_CTX_free(c);
	return bytes / t / 1e6;
}

/* Best of three alternating runs of raw GCM and ESP GCM, so that load from
 * other processes hits both alike; prints the ratio. */
static int gcm_ratio(size_t len, double secs, uint8_t *slots)
{
	struct esp_sa_keys k = {.suite = ESP_SUITE_AES128_GCM, .spi = 0x12340001};
	double raw = 0, enc = 0, dec = 0;
	int err = 0;

	for (int trial = 0; trial < 3 && err == 0; trial++) {
		struct run r = {.slots = slots, .len = len};
		struct esp_sa *out = esp_sa_new(&k, ESP_SA_OUT), *in = esp_sa_new(&k, ESP_SA_IN);
		double start, v = raw_gcm(len, secs / 3, slots);

		raw = v > raw ? v : raw;
		err = out && in ? 0 : -1;
		for (start = now_s(); err == 0 && now_s() - start < secs / 3;)
			err = one_round(&r, out, in);
		if (err == 0 && r.bytes / r.enc_s / 1e6 > enc)
			enc = r.bytes / r.enc_s / 1e6;
		if (err == 0 && r.bytes / r.dec_s / 1e6 > dec)
			dec = r.bytes / r.dec_s / 1e6;
		esp_sa_free(out);
		esp_sa_free(in);
	}
	if (err == 0)
		printf("aes-128-gcm raw EVP encrypt %.0f MB/s (as openssl speed -evp); ESP encap "
		       "%.0f MB/s = %.0f%%, decap %.0f MB/s = %.0f%% of it (best of 3)\n",
		       raw, enc, 100 * enc / raw, dec, 100 * dec / raw);
	return err;
}

int main(int argc, char **argv);

int main(int argc, char **argv)
{
	static const enum esp_suite_id suites[] = {ESP_SUITE_AES128_GCM, ESP_SUITE_AES128_CBC_SHA1,
						   ESP_SUITE_NULL_SHA1, ESP_SUITE_NULL_SHA256};
	size_t len = argc > 1 ? strtoul(argv[1], NULL, 10) : 1408;
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	uint8_t *slots;

	if (len == 0 || len > 9216 || !(secs > 0 && secs <= 10)) {
		fprintf(stderr,
			"usage: vnet_esp_speed [payload-bytes (1..9216) [seconds (<=10)]]\n");
		return 2;
	}
	slots = calloc(PKTS, SLOT);
	if (!slots)
		return 1;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (bench_suite(suites[i], len, secs, slots) < 0) {
			fprintf(stderr, "%s: encap/decap failed\n", esp_sa_suite_name(suites[i]));
			free(slots);
			return 1;
		}
	}
	if (gcm_ratio(len, secs, slots) < 0) {
		fprintf(stderr, "aes128-gcm: encap/decap failed\n");
		free(slots);
		return 1;
	}
	free(slots);
	return 0;
}
