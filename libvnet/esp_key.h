/*
 * Per-vnet pre-shared keys and the SA material derived from them
 * (docs/wire.md, "Keys" and "Key file").
 *
 * A key file holds 64 hex digits (32 bytes) and an optional newline, and
 * must not be accessible to group or others. Each outbound SA instance
 * has a fresh random nonce and SPI: SPI = hash16 << 16 | random16, keys =
 * HKDF-SHA-256(IKM = vnet key, salt = vnet id, info = "tern-esp-v2" |
 * suite name | sender (16) | SPI (u32) | nonce (16)). Receivers learn
 * (SPI, nonce) through the authenticated SA exchange (sa_msg.h), keyed with
 * a per-vnet control key from the same HKDF with another label.
 */
#ifndef TERN_ESP_KEY_H
#define TERN_ESP_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_sa.h"
#include "vnet_addr.h"
#include "vnet_id.h"

#define ESP_KEY_LEN 32
#define ESP_KEY_INFO "tern-esp-v2"
#define ESP_NONCE_LEN 16
/* Per-vnet control keys (HMAC-SHA-256): one label each. */
#define ESP_CTL_KEY_LEN 32
#define ESP_CTL_SA "tern-sa-v1"	      /* SA exchange messages */
#define ESP_CTL_FLOOD "tern-flood-v1" /* FLOOD envelope tags */

struct esp_key {
	uint8_t b[ESP_KEY_LEN];
};

/* Reads the key file at `path` into *key. Returns 0, or a negative errno
 * with `why` (if not NULL) holding a message that starts with the path:
 * -EACCES "PATH: mode 0644 is too open (group/other must have no access)",
 * -EINVAL "PATH: expected 64 hex digits and an optional newline" (and
 * variants naming the fault), -EISDIR/-EINVAL for a non-regular file, or
 * the errno of open/read with its strerror. The buffer holding the file is
 * wiped. */
int esp_key_read(const char *path, struct esp_key *key, char *why, size_t whylen);

/* Writes a fresh key from RAND_bytes to `path` as 64 hex digits and a
 * newline, mode 0600. Unless `overwrite`, an existing file is an error
 * (-EEXIST). The file appears complete or not at all (written to a
 * temporary file beside it first, so the directory must be writable); a
 * failed overwrite keeps the old key. Returns 0 or -errno. */
int esp_key_generate(const char *path, bool overwrite);

/* Overwrites *key with zeroes (OPENSSL_cleanse). */
void esp_key_wipe(struct esp_key *key);

/* hash16 of docs/wire.md: the first two bytes of SHA-256(vnet id | sender),
 * big-endian, with 0 replaced by 1. It only tells a receiver which vnet an
 * SPI belongs to; it is no secret. */
uint16_t esp_key_spi_hash(const struct vnet_id *vnet, const struct vnet_addr *sender);
/* A fresh SPI for a new SA of `sender` on `vnet`: hash16 << 16 | r, with r
 * random in 1..65535 and different from the low half of `prev` (the SPI the
 * sender used before, 0 if none), so receivers see the change. Returns 0 or
 * -EIO (no randomness). */
int esp_key_spi_new(const struct vnet_id *vnet, const struct vnet_addr *sender, uint32_t prev,
		    uint32_t *spi);
/* Fills nonce with ESP_NONCE_LEN fresh random bytes. Returns 0 or -EIO. */
int esp_key_nonce_new(uint8_t nonce[ESP_NONCE_LEN]);

/* Derives the SA (`sender`, `spi`, `nonce`) on `vnet` for `suite` into *out
 * (SPI included). Returns 0, -EINVAL (ESP_SUITE_NONE, SPI < ESP_SPI_MIN)
 * or -EIO. */
int esp_key_derive(const struct esp_key *key, const struct vnet_id *vnet, enum esp_suite_id suite,
		   const struct vnet_addr *sender, uint32_t spi, const uint8_t nonce[ESP_NONCE_LEN],
		   struct esp_sa_keys *out);
/* Derives the vnet's control key for `label` (ESP_CTL_SA, ESP_CTL_FLOOD):
 * HKDF-SHA-256(IKM = vnet key, salt = vnet id, info = label). Returns 0 or
 * -EIO. */
int esp_key_derive_ctl(const struct esp_key *key, const struct vnet_id *vnet, const char *label,
		       uint8_t out[ESP_CTL_KEY_LEN]);

/* Formats an SA for debugging and for decrypting captures (`vn sa-list
 * --keys`), one line:
 *   "spi 0x12340001 suite aes128-gcm enc 0x<hex key+salt> auth 0x<hex>"
 * where enc is the key followed by the salt for GCM (the form tshark's ESP
 * preferences take), and a suite without that key prints "enc null" or
 * "auth null". Returns the length needed, like snprintf. */
size_t esp_key_format(const struct esp_sa_keys *keys, char *buf, size_t cap);

#endif
