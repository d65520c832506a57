#include "varp.h"

#include <string.h>

/* Offsets in the 48-byte message (docs/wire.md). */
#define OFF_VERSION 0
#define OFF_OP 1
#define OFF_FLAGS 2
#define OFF_VNET 4
#define OFF_MAC 20
#define OFF_RSVD 26
#define OFF_COA 28
#define OFF_TTL 44

enum varp_status varp_decode(const uint8_t *buf, size_t len, struct varp_msg *msg)
{
	struct varp_msg m;

	if (len != VARP_MSG_LEN)
		return VARP_ERR_LENGTH;
	if (buf[OFF_VERSION] != VARP_VERSION)
		return VARP_ERR_VERSION;
	if (buf[OFF_OP] < VARP_MSG_REQUEST || buf[OFF_OP] > VARP_MSG_ANNOUNCE)
		return VARP_ERR_OP;
	if (buf[OFF_FLAGS] || buf[OFF_FLAGS + 1])
		return VARP_ERR_FLAGS;
	if (buf[OFF_RSVD] || buf[OFF_RSVD + 1])
		return VARP_ERR_RESERVED;
	m.op = (enum varp_op)buf[OFF_OP];
	memcpy(m.vnet.b, buf + OFF_VNET, VNET_ID_LEN);
	memcpy(m.mac, buf + OFF_MAC, 6);
	memcpy(m.coa.b, buf + OFF_COA, VNET_ADDR_LEN);
	m.ttl_s = (uint32_t)buf[OFF_TTL] << 24 | (uint32_t)buf[OFF_TTL + 1] << 16 |
		  (uint32_t)buf[OFF_TTL + 2] << 8 | buf[OFF_TTL + 3];
	if (vnet_id_check(&m.vnet) != VNET_ID_OK)
		return VARP_ERR_VNET;
	if (m.mac[0] & 1)
		return VARP_ERR_MAC;
	if (vnet_addr_is_zero(&m.coa))
		return VARP_ERR_ADDR;
	if (m.op == VARP_MSG_REQUEST && m.ttl_s != 0)
		return VARP_ERR_TTL;
	*msg = m;
	return VARP_OK;
}

void varp_encode(const struct varp_msg *msg, uint8_t out[VARP_MSG_LEN])
{
	out[OFF_VERSION] = VARP_VERSION;
	out[OFF_OP] = (uint8_t)msg->op;
	out[OFF_FLAGS] = out[OFF_FLAGS + 1] = 0;
	memcpy(out + OFF_VNET, msg->vnet.b, VNET_ID_LEN);
	memcpy(out + OFF_MAC, msg->mac, 6);
	out[OFF_RSVD] = out[OFF_RSVD + 1] = 0;
	memcpy(out + OFF_COA, msg->coa.b, VNET_ADDR_LEN);
	out[OFF_TTL] = (uint8_t)(msg->ttl_s >> 24);
	out[OFF_TTL + 1] = (uint8_t)(msg->ttl_s >> 16);
	out[OFF_TTL + 2] = (uint8_t)(msg->ttl_s >> 8);
	out[OFF_TTL + 3] = (uint8_t)msg->ttl_s;
}

const char *varp_status_str(enum varp_status st)
{
	static const char *const names[] = {
	    [VARP_OK] = "ok",
	    [VARP_ERR_LENGTH] = "bad length",
	    [VARP_ERR_VERSION] = "bad version",
	    [VARP_ERR_OP] = "unknown op",
	    [VARP_ERR_FLAGS] = "non-zero flags",
	    [VARP_ERR_RESERVED] = "non-zero reserved bytes",
	    [VARP_ERR_VNET] = "invalid vnet id",
	    [VARP_ERR_MAC] = "group MAC",
	    [VARP_ERR_ADDR] = "unspecified care-of address",
	    [VARP_ERR_TTL] = "request with non-zero ttl",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

const char *varp_op_name(enum varp_op op)
{
	switch (op) {
	case VARP_MSG_REQUEST:
		return "request";
	case VARP_MSG_REPLY:
		return "reply";
	case VARP_MSG_ANNOUNCE:
		return "announce";
	}
	return "?";
}
