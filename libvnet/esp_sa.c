/*
 * ESP framing around the suites of esp_suite.c: header, RFC 4303 padding
 * and trailer, sequence numbers, rekey signalling, and the inbound check
 * order (length, SPI, replay pre-check, ICV, padding, replay update).
 */
#include "esp_sa.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "esp_suite.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const struct esp_suite_info *esp_sa_suite_info(enum esp_suite_id suite)
{
	if ((unsigned)suite >= ESP_SUITE_COUNT || !esp_suite_table[suite])
		return NULL;
	return &esp_suite_table[suite]->info;
}

int esp_sa_suite_parse(const char *name, enum esp_suite_id *out)
{
	for (unsigned i = 0; i < ESP_SUITE_COUNT; i++) {
		if (esp_suite_table[i] && strcmp(esp_suite_table[i]->info.name, name) == 0) {
			*out = (enum esp_suite_id)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *esp_sa_suite_name(enum esp_suite_id suite)
{
	if (suite == ESP_SUITE_NONE)
		return "none";
	const struct esp_suite_info *info = esp_sa_suite_info(suite);
	return info ? info->name : "?";
}

static int sa_init_cipher(struct esp_sa *sa)
{
	EVP_CIPHER *cipher;
	int ok;

	if (!sa->ops->cipher)
		return 0;
	cipher = EVP_CIPHER_fetch(NULL, sa->ops->cipher, NULL);
	sa->cctx = EVP_CIPHER_CTX_new();
	ok = cipher && sa->cctx &&
	     EVP_CipherInit_ex(sa->cctx, cipher, NULL, sa->keys.enc_key, NULL,
			       sa->dir == ESP_SA_OUT) == 1 &&
	     EVP_CIPHER_CTX_set_padding(sa->cctx, 0) == 1;
	EVP_CIPHER_free(cipher);
	return ok ? 0 : -EIO;
}

static int sa_init_mac(struct esp_sa *sa)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	int ok;

	if (!sa->ops->digest)
		return 0;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)sa->ops->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	sa->mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	ok = sa->mctx &&
	     EVP_MAC_init(sa->mctx, sa->keys.auth_key, sa->ops->info.auth_key_len, params) == 1;
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

struct esp_sa *esp_sa_new(const struct esp_sa_keys *keys, enum esp_sa_dir dir)
{
	struct esp_sa *sa;
	int err;

	if ((unsigned)keys->suite >= ESP_SUITE_COUNT || !esp_suite_table[keys->suite] ||
	    keys->spi < ESP_SPI_MIN || (dir != ESP_SA_OUT && dir != ESP_SA_IN)) {
		errno = EINVAL;
		return NULL;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->ops = esp_suite_table[keys->suite];
	sa->keys = *keys;
	sa->dir = dir;
	sa->rekey_seq = ESP_SA_REKEY_SEQ;
	replay_init(&sa->win);
	err = sa_init_cipher(sa);
	if (err == 0)
		err = sa_init_mac(sa);
	if (err) {
		esp_sa_free(sa);
		errno = -err;
		return NULL;
	}
	return sa;
}

void esp_sa_free(struct esp_sa *sa)
{
	if (!sa)
		return;
	EVP_CIPHER_CTX_free(sa->cctx);
	EVP_MAC_CTX_free(sa->mctx);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

const struct esp_sa_keys *esp_sa_keys(const struct esp_sa *sa)
{
	return &sa->keys;
}

uint32_t esp_sa_spi(const struct esp_sa *sa)
{
	return sa->keys.spi;
}

uint32_t esp_sa_seq(const struct esp_sa *sa)
{
	return sa->dir == ESP_SA_OUT ? sa->seq : sa->win.top;
}

size_t esp_sa_headroom(const struct esp_sa *sa)
{
	return ESP_HDR_LEN + sa->ops->info.iv_len;
}

/* Padding for a payload of len bytes: RFC 4303 section 2.4. */
static size_t pad_len(const struct esp_sa *sa, size_t len)
{
	size_t align = sa->ops->info.align;

	return (align - (len + 2) % align) % align;
}

size_t esp_sa_tailroom(const struct esp_sa *sa, size_t len)
{
	return pad_len(sa, len) + 2 + sa->ops->info.icv_len;
}

void esp_sa_set_rekey_seq(struct esp_sa *sa, uint32_t seq)
{
	sa->rekey_seq = seq;
}

void esp_sa_set_next_seq(struct esp_sa *sa, uint32_t seq)
{
	sa->seq = seq - 1;
}

int esp_sa_set_replay_floor(struct esp_sa *sa, uint32_t seq)
{
	if (sa->dir != ESP_SA_IN || sa->win.top != 0)
		return -EINVAL;
	replay_init_floor(&sa->win, seq);
	return 0;
}

int esp_sa_encap(struct esp_sa *sa, uint8_t *payload, size_t len, size_t headroom, size_t tailroom,
		 uint8_t next_header, uint8_t **pkt, size_t *pkt_len)
{
	return esp_sa_encap_ext(sa, payload, len, headroom, tailroom, next_header, NULL, pkt,
				pkt_len);
}

int esp_sa_encap_ext(struct esp_sa *sa, uint8_t *payload, size_t len, size_t headroom,
		     size_t tailroom, uint8_t next_header, const struct esp_ext *ext, uint8_t **pkt,
		     size_t *pkt_len)
{
	size_t pad = pad_len(sa, len), hlen = esp_sa_headroom(sa);
	uint8_t *hdr, *trailer;

	if (sa->dir != ESP_SA_OUT || (ext && ext->len > ESP_EXT_MAX))
		return -EINVAL;
	if (headroom < hlen || tailroom < esp_sa_tailroom(sa, len) || len > INT32_MAX)
		return -ENOSPC;
	hdr = payload - hlen;
	trailer = payload + len;
	/* 2^32-1 is never sent: the counter must not cycle (RFC 4303 3.3.3). */
	if (sa->seq >= UINT32_MAX - 1)
		return -EKEYEXPIRED;
	sa->seq++;
	for (size_t i = 0; i < pad; i++)
		trailer[i] = (uint8_t)(i + 1);
	trailer[pad] = (uint8_t)pad;
	trailer[pad + 1] = next_header;
	put32(hdr, sa->keys.spi);
	put32(hdr + 4, sa->seq);
	if (sa->ops->seal(sa, hdr, payload, len + pad + 2, ext) < 0)
		return -EIO;
	*pkt = hdr;
	*pkt_len = hlen + len + pad + 2 + sa->ops->info.icv_len;
	return sa->seq >= sa->rekey_seq ? ESP_ENCAP_REKEY : 0;
}

const char *esp_sa_result_str(enum esp_result r)
{
	static const char *const names[] = {"ok", "malformed", "auth", "replay", "error"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* Checks the decrypted trailer; on success fills payload length and next
 * header. Padding must be 1, 2, 3, ... as RFC 4303 prescribes by default. */
static enum esp_result check_trailer(const uint8_t *body, size_t body_len,
				     struct esp_decap_out *out)
{
	size_t pad = body[body_len - 2];
	uint8_t nh = body[body_len - 1];

	if (pad + 2 > body_len || (nh != ESP_NH_ETHERNET && nh != ESP_NH_VARP))
		return ESP_MALFORMED;
	for (size_t i = 0; i < pad; i++)
		if (body[body_len - 2 - pad + i] != (uint8_t)(i + 1))
			return ESP_MALFORMED;
	out->len = body_len - 2 - pad;
	out->next_header = nh;
	return ESP_OK;
}

enum esp_result esp_sa_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, struct esp_decap_out *out)
{
	return esp_sa_decap_ext(sa, pkt, len, NULL, out);
}

enum esp_result esp_sa_decap_ext(struct esp_sa *sa, uint8_t *pkt, size_t len,
				 const struct esp_ext *ext, struct esp_decap_out *out)
{
	const struct esp_suite_info *info = &sa->ops->info;
	size_t hlen = ESP_HDR_LEN + info->iv_len, body_len;
	uint8_t *body;
	enum esp_result r;
	uint32_t seq;

	if (sa->dir != ESP_SA_IN || (ext && ext->len > ESP_EXT_MAX))
		return ESP_ERROR;
	if (len < hlen + 2 + info->icv_len || len - hlen - info->icv_len > INT32_MAX)
		return ESP_MALFORMED;
	body = pkt + hlen;
	body_len = len - hlen - info->icv_len;
	if (body_len % info->align != 0)
		return ESP_MALFORMED;
	/* The ICV covers the SPI: a packet for another SPI cannot authenticate
	 * under this SA, so say so without spending crypto on it. */
	if (get32(pkt) != sa->keys.spi)
		return ESP_AUTH_FAIL;
	seq = get32(pkt + 4);
	/* Cheap pre-check: do not spend crypto on a known replay; the window
	 * itself changes only after the ICV verified. */
	if (replay_check(&sa->win, seq) != REPLAY_NEW)
		return ESP_REPLAY;
	r = sa->ops->open(sa, pkt, body, body_len, ext);
	if (r != ESP_OK)
		return r;
	r = check_trailer(body, body_len, out);
	if (r != ESP_OK)
		return r;
	replay_update(&sa->win, seq);
	out->payload = body;
	out->seq = seq;
	return ESP_OK;
}
