/*
 * RFC 4303 ESP security associations, processed in place (docs/wire.md).
 *
 * An SA has one direction. It owns its OpenSSL contexts, created once by
 * esp_sa_new with the key already set, so per-packet work allocates nothing.
 * Suites are entries of a const ops table (esp_suite.c), indexed by
 * enum esp_suite_id.
 *
 * Outbound packet layout built by esp_sa_encap around a payload that the
 * caller placed with headroom before it and tailroom after it:
 *
 *   SPI(4) | seq(4) | IV(iv_len) | payload | pad | pad len | next hdr | ICV
 *   ^ returned start              ^ payload (encrypted in place)
 *
 * Inbound, esp_sa_decap checks in this order: length and alignment
 * (malformed), the SPI (auth: the ICV covers it), the replay window without
 * updating it (replay), the ICV in constant time (auth), then decrypts and
 * checks padding and next header (malformed), and only then records the
 * sequence number in the window.
 */
#ifndef TERN_ESP_SA_H
#define TERN_ESP_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESP_NH_ETHERNET 143 /* IANA: Ethernet */
#define ESP_NH_VARP 253	    /* RFC 3692 experimental: a VARP message */

#define ESP_HDR_LEN 8 /* SPI + sequence number */
#define ESP_MAX_IV 16
#define ESP_MAX_ICV 16
/* Enough room for any suite: header + IV before the payload; padding (at
 * most block-1), pad length, next header and ICV after it. */
#define ESP_HEADROOM (ESP_HDR_LEN + ESP_MAX_IV)
#define ESP_TAILROOM (15 + 2 + ESP_MAX_ICV)
/* SPIs 1..255 are reserved by RFC 4303; 0 marks Tern's clear header. */
#define ESP_SPI_MIN 256u

/* Default outbound rekey threshold: esp_sa_encap starts asking for a rekey
 * once it assigns this sequence number, long before 2^32-1. */
#define ESP_SA_REKEY_SEQ 0xF0000000u

enum esp_suite_id {
	ESP_SUITE_NONE = 0,	   /* no ESP: security none */
	ESP_SUITE_AES128_GCM,	   /* RFC 4106, 8-byte IV, 16-byte ICV */
	ESP_SUITE_AES128_CBC_SHA1, /* RFC 3602 + HMAC-SHA1-96 */
	ESP_SUITE_NULL_SHA1,	   /* RFC 2410 NULL + HMAC-SHA1-96 */
	ESP_SUITE_NULL_SHA256,	   /* NULL + HMAC-SHA-256-128 (RFC 4868) */
	ESP_SUITE_COUNT
};

/* Key material sizes of the largest suite. */
#define ESP_ENC_KEY_MAX 16
#define ESP_SALT_MAX 4
#define ESP_AUTH_KEY_MAX 32

/* Everything that defines an SA, as derived by esp_key_derive. Unused
 * fields of a suite are zero. */
struct esp_sa_keys {
	enum esp_suite_id suite;
	uint32_t spi;
	uint8_t enc_key[ESP_ENC_KEY_MAX];
	uint8_t salt[ESP_SALT_MAX];
	uint8_t auth_key[ESP_AUTH_KEY_MAX];
};

/* Suite constants, for sizing buffers and key derivation. */
struct esp_suite_info {
	const char *name; /* "aes128-gcm", as in (esp-suite ...) */
	size_t enc_key_len, salt_len, auth_key_len;
	size_t iv_len, icv_len;
	size_t align; /* payload+pad+2 is a multiple of this */
};

/* Constants of `suite`, or NULL for ESP_SUITE_NONE / out of range. */
const struct esp_suite_info *esp_sa_suite_info(enum esp_suite_id suite);
/* Looks a suite up by its name; returns 0 or -EINVAL. "none" is not a
 * suite name. */
int esp_sa_suite_parse(const char *name, enum esp_suite_id *out);
/* Name of a suite, "none" for ESP_SUITE_NONE, "?" if out of range. */
const char *esp_sa_suite_name(enum esp_suite_id suite);

enum esp_sa_dir { ESP_SA_OUT, ESP_SA_IN };

struct esp_sa;

/* Creates an SA for `dir` from *keys (copied; the caller may wipe its copy).
 * Outbound sequence numbers start at 1. Returns NULL with errno EINVAL
 * (no such suite, SPI < ESP_SPI_MIN), ENOMEM or EIO (OpenSSL refused). */
struct esp_sa *esp_sa_new(const struct esp_sa_keys *keys, enum esp_sa_dir dir);
/* Wipes the keys and frees the SA. NULL is safe. */
void esp_sa_free(struct esp_sa *sa);

/* The SA's keys, for esp_key_format (`vn sa-list --keys`). Valid as long as
 * the SA. */
const struct esp_sa_keys *esp_sa_keys(const struct esp_sa *sa);
/* The SA's SPI. */
uint32_t esp_sa_spi(const struct esp_sa *sa);
/* Outbound: the last sequence number assigned (0 before the first packet).
 * Inbound: the highest sequence number accepted (0 before the first). */
uint32_t esp_sa_seq(const struct esp_sa *sa);

/* Bytes esp_sa_encap needs before the payload (8 + IV) and, for a payload of
 * `len` bytes, after it (padding + 2 + ICV). */
size_t esp_sa_headroom(const struct esp_sa *sa);
size_t esp_sa_tailroom(const struct esp_sa *sa, size_t len);

/* Outbound: sets the sequence number at which encap starts returning
 * ESP_ENCAP_REKEY (default ESP_SA_REKEY_SEQ), and the next sequence number
 * to assign, 1..2^32-2 (for tests and for resuming). */
void esp_sa_set_rekey_seq(struct esp_sa *sa, uint32_t seq);
void esp_sa_set_next_seq(struct esp_sa *sa, uint32_t seq);

#define ESP_ENCAP_REKEY 1

/* Data the ICV covers without it being sent (RFC 4303 does this with the
 * high half of an extended sequence number): a flooded packet's FLOOD
 * origin and sequence number (docs/wire.md), so that the envelope cannot be
 * swapped or stripped. Sender and receiver must agree on it. */
#define ESP_EXT_MAX 32
struct esp_ext {
	const uint8_t *p;
	size_t len; /* 0..ESP_EXT_MAX */
};

/* Encapsulates the `len` payload bytes at `payload` in place. `headroom`
 * bytes before and `tailroom` bytes after the payload belong to the caller's
 * buffer and may be written. Assigns the next sequence number, writes the
 * ESP packet and returns its start in *pkt and length in *pkt_len.
 * Returns 0, ESP_ENCAP_REKEY (packet built; the sequence number reached the
 * rekey threshold: switch to a new SA soon), or -ENOSPC (not enough
 * head/tailroom), -EINVAL (inbound SA), -EKEYEXPIRED (sequence numbers
 * exhausted: 2^32-1 is never sent; nothing written), -EIO (OpenSSL). */
int esp_sa_encap(struct esp_sa *sa, uint8_t *payload, size_t len, size_t headroom, size_t tailroom,
		 uint8_t next_header, uint8_t **pkt, size_t *pkt_len);
/* esp_sa_encap whose ICV also covers *ext (NULL or len 0: nothing more;
 * len above ESP_EXT_MAX: -EINVAL). */
int esp_sa_encap_ext(struct esp_sa *sa, uint8_t *payload, size_t len, size_t headroom,
		     size_t tailroom, uint8_t next_header, const struct esp_ext *ext, uint8_t **pkt,
		     size_t *pkt_len);

enum esp_result {
	ESP_OK = 0,
	ESP_MALFORMED, /* too short, misaligned, bad padding or next header */
	ESP_AUTH_FAIL, /* ICV mismatch, or another SA's SPI */
	ESP_REPLAY,    /* duplicate or left of the replay window */
	ESP_ERROR,     /* OpenSSL failed or wrong direction: not the peer's fault */
};

/* Short name of a result ("ok", "malformed", "auth", "replay", "error"). */
const char *esp_sa_result_str(enum esp_result r);

struct esp_decap_out {
	uint8_t *payload; /* inside the caller's buffer, decrypted in place */
	size_t len;
	uint8_t next_header;
	uint32_t seq;
};

/* Inbound: checks and decrypts the ESP packet of `len` bytes at `pkt` (from
 * the SPI) in place. On ESP_OK fills *out and records the sequence number.
 * On any other result the replay window is unchanged and the buffer content
 * is unspecified. */
enum esp_result esp_sa_decap(struct esp_sa *sa, uint8_t *pkt, size_t len,
			     struct esp_decap_out *out);
/* esp_sa_decap for a packet whose ICV also covers *ext (esp_sa_encap_ext);
 * a packet sealed with other extension data fails as ESP_AUTH_FAIL. */
enum esp_result esp_sa_decap_ext(struct esp_sa *sa, uint8_t *pkt, size_t len,
				 const struct esp_ext *ext, struct esp_decap_out *out);

/* Inbound: treats every sequence number up to `seq` as already received,
 * so that packets sent before the SA was learned cannot be replayed (the
 * SA exchange tells the sender's sequence number at the time it answered).
 * Only on an SA that has accepted nothing yet; returns 0 or -EINVAL. */
int esp_sa_set_replay_floor(struct esp_sa *sa, uint32_t seq);

#endif
