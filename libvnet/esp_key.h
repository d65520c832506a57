/*
 * Per-vnet pre-shared keys and the SA material derived from them
 * (docs/wire.md, "Keys" and "Key file").
 *
 * A key file holds 64 hex digits (32 bytes) and an optional newline, and
 * must not be accessible to group or others. Each sender derives its own
 * SAs: SPI = hash16 << 16 | epoch, keys = HKDF-SHA-256(IKM = vnet key,
 * salt = vnet id, info = "tern-esp-v1" | suite name | sender (16) |
 * epoch (u16 big-endian)).
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
#define ESP_KEY_INFO "tern-esp-v1"

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
 * big-endian, with 0 replaced by 1. */
uint16_t esp_key_spi_hash(const struct vnet_id *vnet, const struct vnet_addr *sender);
/* SPI of the SA of `sender` on `vnet` for `epoch` (1..65535). */
uint32_t esp_key_spi(const struct vnet_id *vnet, const struct vnet_addr *sender, uint16_t epoch);

/* Derives the SA of `sender` on `vnet` for `suite` and `epoch` into *out
 * (SPI included). Returns 0, -EINVAL (ESP_SUITE_NONE, epoch 0) or -EIO. */
int esp_key_derive(const struct esp_key *key, const struct vnet_id *vnet, enum esp_suite_id suite,
		   const struct vnet_addr *sender, uint16_t epoch, struct esp_sa_keys *out);

/* True if epoch `a` is newer than `b` in serial arithmetic mod 2^16
 * (RFC 1982): 0 < (a - b) mod 2^16 < 2^15. Epoch 0 is never newer. */
bool esp_key_epoch_newer(uint16_t a, uint16_t b);

/* Formats an SA for debugging and for decrypting captures (`vn sa-list
 * --keys`), one line:
 *   "spi 0x12340001 suite aes128-gcm enc 0x<hex key+salt> auth 0x<hex>"
 * where enc is the key followed by the salt for GCM (the form tshark's ESP
 * preferences take), and a suite without that key prints "enc null" or
 * "auth null". Returns the length needed, like snprintf. */
size_t esp_key_format(const struct esp_sa_keys *keys, char *buf, size_t cap);

#endif
