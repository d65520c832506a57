/*
 * The SA exchange (docs/wire.md "SA exchange"): how a receiver learns the
 * SPI and key nonce of a sender's SA, with proof that the answer is fresh.
 *
 * One clear packet, 116 bytes:
 *
 *   0(4) | version(1)=1 | type(1)=4 | flags(2)=0 | vnet id(16) |
 *   op(1) | suite(1) | reserved(2)=0 | sender(16) | asker(16) |
 *   spi(4) | seq(4) | nonce(16) | challenge(16) | tag(16)
 *
 * tag = HMAC-SHA-256-128(K_sa, the 100 bytes before it), K_sa the vnet's
 * control key for ESP_CTL_SA. ANNOUNCE: sender has a new SA (spi, suite)
 * and asks every host that hears it for theirs, bound to its challenge.
 * REQUEST: asker wants sender's current SA, bound to asker's challenge.
 * REPLY: sender's current SA (spi, suite, nonce, seq = the last sequence
 * number sent under it) for asker, bound to asker's challenge.
 *
 * The decoder is strict about every field; the tag is checked separately
 * (sa_msg_verify) because it needs the vnet's key.
 */
#ifndef TERN_SA_MSG_H
#define TERN_SA_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_key.h"
#include "esp_tag.h"
#include "vnet_addr.h"
#include "vnet_id.h"

#define SA_MSG_LEN 92				  /* after the 24-byte vnet header */
#define SA_PKT_LEN (8 + VNET_ID_LEN + SA_MSG_LEN) /* 116 */
#define SA_CHALLENGE_LEN 16

enum sa_msg_op {
	SA_MSG_ANNOUNCE = 1,
	SA_MSG_REQUEST = 2,
	SA_MSG_REPLY = 3,
};

struct sa_msg {
	enum sa_msg_op op;
	struct vnet_id vnet;
	enum esp_suite_id suite;      /* ANNOUNCE, REPLY; ESP_SUITE_NONE in REQUEST */
	struct vnet_addr sender;      /* whose SA */
	struct vnet_addr asker;	      /* REQUEST, REPLY; zero in ANNOUNCE */
	uint32_t spi;		      /* ANNOUNCE, REPLY; REQUEST: the SPI not known, or 0 */
	uint32_t seq;		      /* REPLY; else 0 */
	uint8_t nonce[ESP_NONCE_LEN]; /* REPLY; else zero */
	uint8_t challenge[SA_CHALLENGE_LEN];
};

enum sa_msg_status {
	SA_MSG_OK = 0,
	SA_MSG_ERR_LENGTH,   /* not SA_PKT_LEN bytes */
	SA_MSG_ERR_HEADER,   /* not a version 1 clear header of type 4, flags 0 */
	SA_MSG_ERR_VNET,     /* vnet id 0 or 1 */
	SA_MSG_ERR_OP,	     /* unknown op */
	SA_MSG_ERR_RESERVED, /* reserved bytes != 0 */
	SA_MSG_ERR_SUITE,    /* suite not valid for the op */
	SA_MSG_ERR_ADDR,     /* sender unspecified, asker wrong for the op */
	SA_MSG_ERR_SPI,	     /* SPI below 256 (or non-zero below 256 in REQUEST) */
	SA_MSG_ERR_FIELD,    /* seq or nonce set where the op has none */
};

/* Decodes the packet of `len` bytes at pkt (from its zero SPI). *m is
 * written only on SA_MSG_OK. The tag is not checked. */
enum sa_msg_status sa_msg_decode(const uint8_t *pkt, size_t len, struct sa_msg *m);
/* True if the tag of the SA_PKT_LEN-byte packet at pkt is right under t. */
bool sa_msg_verify(struct esp_tag *t, const uint8_t *pkt);
/* Encodes *m with its tag into out. Returns 0 or -EIO. */
int sa_msg_encode(const struct sa_msg *m, struct esp_tag *t, uint8_t out[SA_PKT_LEN]);

const char *sa_msg_status_str(enum sa_msg_status st);
/* "announce", "request", "reply" or "?". */
const char *sa_msg_op_name(enum sa_msg_op op);

#endif
