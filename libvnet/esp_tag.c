/*
 * HMAC-SHA-256-128 under a per-vnet control key (esp_tag.h).
 */
#include "esp_tag.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct esp_tag {
	EVP_MAC_CTX *ctx;
};

struct esp_tag *esp_tag_new(const uint8_t key[ESP_CTL_KEY_LEN])
{
	OSSL_PARAM params[2];
	struct esp_tag *t = calloc(1, sizeof(*t));
	EVP_MAC *mac;
	int ok;

	if (!t)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	t->ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	ok = t->ctx && EVP_MAC_init(t->ctx, key, ESP_CTL_KEY_LEN, params) == 1;
	EVP_MAC_free(mac);
	if (!ok) {
		esp_tag_free(t);
		errno = EIO;
		return NULL;
	}
	return t;
}

void esp_tag_free(struct esp_tag *t)
{
	if (!t)
		return;
	EVP_MAC_CTX_free(t->ctx); /* OpenSSL cleanses the key it holds */
	free(t);
}

int esp_tag_make(struct esp_tag *t, const struct esp_tag_part *parts, size_t n,
		 uint8_t out[ESP_TAG_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen;
	/* Re-initialising with a NULL key restarts the MAC with the stored one. */
	int ok = EVP_MAC_init(t->ctx, NULL, 0, NULL) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(t->ctx, parts[i].p, parts[i].len) == 1;
	ok = ok && EVP_MAC_final(t->ctx, md, &mdlen, sizeof(md)) == 1 && mdlen >= ESP_TAG_LEN;
	if (ok)
		memcpy(out, md, ESP_TAG_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? 0 : -EIO;
}

bool esp_tag_check(struct esp_tag *t, const struct esp_tag_part *parts, size_t n,
		   const uint8_t tag[ESP_TAG_LEN])
{
	uint8_t want[ESP_TAG_LEN];
	bool ok =
	    esp_tag_make(t, parts, n, want) == 0 && CRYPTO_memcmp(want, tag, ESP_TAG_LEN) == 0;

	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
