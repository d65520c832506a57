/*
 * Truncated HMAC-SHA-256 tags (16 bytes) under a per-vnet control key
 * (esp_key_derive_ctl): the SA exchange messages and the FLOOD envelope of
 * secured vnets are authenticated with them (docs/wire.md). The context is
 * keyed once, so a tag costs no allocation.
 */
#ifndef TERN_ESP_TAG_H
#define TERN_ESP_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_key.h"

#define ESP_TAG_LEN 16

struct esp_tag;

/* A tag context keyed with `key` (copied into OpenSSL's context; the caller
 * may wipe its own). Returns NULL with errno ENOMEM or EIO. */
struct esp_tag *esp_tag_new(const uint8_t key[ESP_CTL_KEY_LEN]);
/* Frees the context and wipes the key. NULL is safe. */
void esp_tag_free(struct esp_tag *t);

/* One stretch of bytes a tag covers. */
struct esp_tag_part {
	const uint8_t *p;
	size_t len;
};

/* The tag of the n parts one after the other, into out. Returns 0 or
 * -EIO. */
int esp_tag_make(struct esp_tag *t, const struct esp_tag_part *parts, size_t n,
		 uint8_t out[ESP_TAG_LEN]);
/* True if `tag` is the tag of the n parts; compared in constant time. */
bool esp_tag_check(struct esp_tag *t, const struct esp_tag_part *parts, size_t n,
		   const uint8_t tag[ESP_TAG_LEN]);

#endif
