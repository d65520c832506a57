/*
 * Private to libvnet: the ESP suite ops table (esp_suite.c) and the SA
 * structure it works on (esp_sa.c). Each suite seals and opens one packet
 * whose framing (SPI, seq, padding, trailer) esp_sa.c has already built or
 * checked; the suite owns the IV, the cipher and the ICV.
 */
#ifndef TERN_ESP_SUITE_H
#define TERN_ESP_SUITE_H

#include <openssl/evp.h>

#include "esp_sa.h"
#include "replay.h"

struct esp_sa;

struct esp_suite_ops {
	struct esp_suite_info info;
	const char *cipher; /* OpenSSL cipher name, NULL for NULL encryption */
	const char *digest; /* HMAC digest name, NULL for an AEAD */
	/* hdr: SPI|seq already written, IV follows it; body: body_len bytes of
	 * payload|pad|pad len|next header. Writes the IV, encrypts body in
	 * place and writes the ICV, which also covers ext (NULL: none), at
	 * body + body_len. Returns 0 or -EIO. */
	int (*seal)(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
		    const struct esp_ext *ext);
	/* Verifies the ICV at body + body_len over the packet from hdr and ext
	 * and decrypts body in place; the plaintext is meaningful only on
	 * ESP_OK. */
	enum esp_result (*open)(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
				const struct esp_ext *ext);
};

/* Indexed by enum esp_suite_id; ESP_SUITE_NONE is NULL. */
extern const struct esp_suite_ops *const esp_suite_table[ESP_SUITE_COUNT];

struct esp_sa {
	const struct esp_suite_ops *ops;
	struct esp_sa_keys keys;
	enum esp_sa_dir dir;
	uint32_t seq;	    /* out: last assigned; in: highest accepted */
	uint32_t rekey_seq; /* out */
	EVP_CIPHER_CTX *cctx;
	EVP_MAC_CTX *mctx;
	struct replay_win win; /* in */
};

#endif
