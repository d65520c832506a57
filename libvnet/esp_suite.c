/*
 * ESP suites: AES-128-GCM (RFC 4106), AES-128-CBC (RFC 3602) with
 * HMAC-SHA1-96 (RFC 2404), and NULL encryption (RFC 2410) with
 * HMAC-SHA1-96 or HMAC-SHA-256-128 (RFC 4868). The SA's contexts were
 * keyed once in esp_sa_new; here they are only re-initialised per packet
 * (a new IV, or HMAC restarted with its stored key), which allocates
 * nothing.
 */
#include "esp_suite.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define GCM_ICV 16
#define GCM_IV 8

/* GCM nonce: 4-byte salt from key derivation | 8-byte explicit IV. The
 * explicit IV is the sequence number zero-extended to 64 bits: unique per
 * key because sequence numbers never repeat within an SA. */
static void gcm_nonce(const struct esp_sa *sa, const uint8_t *iv, uint8_t nonce[12])
{
	memcpy(nonce, sa->keys.salt, 4);
	memcpy(nonce + 4, iv, GCM_IV);
}

/* Additional authenticated data beyond SPI | seq: the FLOOD envelope's
 * origin and sequence number (docs/wire.md), as RFC 4303 adds the high
 * half of an extended sequence number without sending it. */
static int gcm_aad_ext(EVP_CIPHER_CTX *c, const struct esp_ext *ext, int enc)
{
	int outl;

	if (!ext || !ext->len)
		return 1;
	return enc ? EVP_EncryptUpdate(c, NULL, &outl, ext->p, (int)ext->len)
		   : EVP_DecryptUpdate(c, NULL, &outl, ext->p, (int)ext->len);
}

static int gcm_seal(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
		    const struct esp_ext *ext)
{
	uint8_t *iv = hdr + ESP_HDR_LEN, nonce[12];
	int outl;

	memset(iv, 0, 4);
	memcpy(iv + 4, hdr + 4, 4);
	gcm_nonce(sa, iv, nonce);
	if (EVP_EncryptInit_ex(sa->cctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(sa->cctx, NULL, &outl, hdr, ESP_HDR_LEN) != 1 ||
	    gcm_aad_ext(sa->cctx, ext, 1) != 1 ||
	    EVP_EncryptUpdate(sa->cctx, body, &outl, body, (int)body_len) != 1 ||
	    EVP_EncryptFinal_ex(sa->cctx, body + outl, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(sa->cctx, EVP_CTRL_AEAD_GET_TAG, GCM_ICV, body + body_len) != 1)
		return -EIO;
	return 0;
}

static enum esp_result gcm_open(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
				const struct esp_ext *ext)
{
	uint8_t nonce[12];
	int outl;

	gcm_nonce(sa, hdr + ESP_HDR_LEN, nonce);
	if (EVP_DecryptInit_ex(sa->cctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(sa->cctx, NULL, &outl, hdr, ESP_HDR_LEN) != 1 ||
	    gcm_aad_ext(sa->cctx, ext, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(sa->cctx, EVP_CTRL_AEAD_SET_TAG, GCM_ICV, body + body_len) != 1 ||
	    EVP_DecryptUpdate(sa->cctx, body, &outl, body, (int)body_len) != 1)
		return ESP_ERROR;
	/* The tag is compared (in constant time) by the final call. */
	if (EVP_DecryptFinal_ex(sa->cctx, body + outl, &outl) != 1)
		return ESP_AUTH_FAIL;
	return ESP_OK;
}

/* HMAC over [from, from + len) and then the extension (RFC 4303 appends
 * the implicit ESN half after the packet the same way), full-length result
 * into out (64 bytes). */
static int hmac(struct esp_sa *sa, const uint8_t *from, size_t len, const struct esp_ext *ext,
		uint8_t out[64])
{
	size_t outl;

	if (EVP_MAC_init(sa->mctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(sa->mctx, from, len) != 1 ||
	    (ext && ext->len && EVP_MAC_update(sa->mctx, ext->p, ext->len) != 1) ||
	    EVP_MAC_final(sa->mctx, out, &outl, 64) != 1)
		return -EIO;
	return 0;
}

/* ICV of an HMAC suite: the MAC of SPI..end of ciphertext, truncated. */
static int hmac_seal_icv(struct esp_sa *sa, const uint8_t *hdr, uint8_t *body, size_t body_len,
			 const struct esp_ext *ext)
{
	uint8_t mac[64];
	size_t icv = sa->ops->info.icv_len;
	int err = hmac(sa, hdr, (size_t)(body + body_len - hdr), ext, mac);

	if (err == 0)
		memcpy(body + body_len, mac, icv);
	OPENSSL_cleanse(mac, sizeof(mac));
	return err;
}

static enum esp_result hmac_verify_icv(struct esp_sa *sa, const uint8_t *hdr, const uint8_t *body,
				       size_t body_len, const struct esp_ext *ext)
{
	uint8_t mac[64];
	size_t icv = sa->ops->info.icv_len;
	enum esp_result r = ESP_ERROR;

	if (hmac(sa, hdr, (size_t)(body + body_len - hdr), ext, mac) == 0)
		r = CRYPTO_memcmp(mac, body + body_len, icv) == 0 ? ESP_OK : ESP_AUTH_FAIL;
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

static int cbc_seal(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
		    const struct esp_ext *ext)
{
	uint8_t *iv = hdr + ESP_HDR_LEN;
	int outl;

	if (RAND_bytes(iv, 16) != 1 || EVP_EncryptInit_ex(sa->cctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(sa->cctx, body, &outl, body, (int)body_len) != 1 ||
	    (size_t)outl != body_len)
		return -EIO;
	return hmac_seal_icv(sa, hdr, body, body_len, ext);
}

static enum esp_result cbc_open(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
				const struct esp_ext *ext)
{
	enum esp_result r = hmac_verify_icv(sa, hdr, body, body_len, ext);
	int outl;

	if (r != ESP_OK)
		return r;
	if (EVP_DecryptInit_ex(sa->cctx, NULL, NULL, NULL, hdr + ESP_HDR_LEN) != 1 ||
	    EVP_DecryptUpdate(sa->cctx, body, &outl, body, (int)body_len) != 1 ||
	    (size_t)outl != body_len)
		return ESP_ERROR;
	return ESP_OK;
}

static int null_seal(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
		     const struct esp_ext *ext)
{
	return hmac_seal_icv(sa, hdr, body, body_len, ext);
}

static enum esp_result null_open(struct esp_sa *sa, uint8_t *hdr, uint8_t *body, size_t body_len,
				 const struct esp_ext *ext)
{
	return hmac_verify_icv(sa, hdr, body, body_len, ext);
}

static const struct esp_suite_ops aes128_gcm = {
    .info = {.name = "aes128-gcm",
	     .enc_key_len = 16,
	     .salt_len = 4,
	     .iv_len = GCM_IV,
	     .icv_len = GCM_ICV,
	     .align = 4},
    .cipher = "AES-128-GCM",
    .seal = gcm_seal,
    .open = gcm_open,
};

static const struct esp_suite_ops aes128_cbc_sha1 = {
    .info = {.name = "aes128-cbc-sha1",
	     .enc_key_len = 16,
	     .auth_key_len = 20,
	     .iv_len = 16,
	     .icv_len = 12,
	     .align = 16},
    .cipher = "AES-128-CBC",
    .digest = "SHA1",
    .seal = cbc_seal,
    .open = cbc_open,
};

static const struct esp_suite_ops null_sha1 = {
    .info = {.name = "null-sha1", .auth_key_len = 20, .icv_len = 12, .align = 4},
    .digest = "SHA1",
    .seal = null_seal,
    .open = null_open,
};

static const struct esp_suite_ops null_sha256 = {
    .info = {.name = "null-sha256", .auth_key_len = 32, .icv_len = 16, .align = 4},
    .digest = "SHA256",
    .seal = null_seal,
    .open = null_open,
};

const struct esp_suite_ops *const esp_suite_table[ESP_SUITE_COUNT] = {
    [ESP_SUITE_NONE] = NULL,
    [ESP_SUITE_AES128_GCM] = &aes128_gcm,
    [ESP_SUITE_AES128_CBC_SHA1] = &aes128_cbc_sha1,
    [ESP_SUITE_NULL_SHA1] = &null_sha1,
    [ESP_SUITE_NULL_SHA256] = &null_sha256,
};
