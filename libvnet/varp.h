/*
 * VARP, virtual ARP (docs/wire.md "VARP message"): 48 bytes,
 *
 *   version(1)=1 | op(1) | flags(2)=0 | vnet id(16) | mac(6) | reserved(2)=0 |
 *   care-of address(16) | ttl_s(4)
 *
 * The decoder is strict: exact length, known version and op, zero flags and
 * reserved bytes, a valid vnet id (not 0 or 1), a unicast MAC, a specified
 * care-of address, and ttl 0 in a REQUEST.
 */
#ifndef TERN_VARP_H
#define TERN_VARP_H

#include <stddef.h>
#include <stdint.h>

#include "vnet_addr.h"
#include "vnet_id.h"

#define VARP_MSG_LEN 48
#define VARP_VERSION 1

enum varp_op {
	VARP_MSG_REQUEST = 1,  /* where is mac on vnet? coa = the asker */
	VARP_MSG_REPLY = 2,    /* unicast to the asker: mac is at coa */
	VARP_MSG_ANNOUNCE = 3, /* unsolicited: mac is now at coa */
};

struct varp_msg {
	enum varp_op op;
	struct vnet_id vnet;
	uint8_t mac[6];
	struct vnet_addr coa;
	uint32_t ttl_s;
};

enum varp_status {
	VARP_OK = 0,
	VARP_ERR_LENGTH,   /* not exactly VARP_MSG_LEN bytes */
	VARP_ERR_VERSION,  /* version != 1 */
	VARP_ERR_OP,	   /* unknown op */
	VARP_ERR_FLAGS,	   /* flags != 0 */
	VARP_ERR_RESERVED, /* reserved bytes after the MAC != 0 */
	VARP_ERR_VNET,	   /* vnet id 0 or 1 */
	VARP_ERR_MAC,	   /* group (multicast/broadcast) MAC */
	VARP_ERR_ADDR,	   /* unspecified care-of address */
	VARP_ERR_TTL,	   /* REQUEST with a non-zero ttl */
};

/* Decodes `len` bytes at buf into *msg. *msg is written only on VARP_OK. */
enum varp_status varp_decode(const uint8_t *buf, size_t len, struct varp_msg *msg);

/* Encodes *msg into out (VARP_MSG_LEN bytes). Does not validate: encoding
 * a message that varp_decode would refuse is the caller's bug. */
void varp_encode(const struct varp_msg *msg, uint8_t out[VARP_MSG_LEN]);

/* Human text for a status ("bad version", ...), for drop counters/logs. */
const char *varp_status_str(enum varp_status st);
/* "request", "reply", "announce", or "?" . */
const char *varp_op_name(enum varp_op op);

#endif
