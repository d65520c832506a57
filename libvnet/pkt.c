#include "pkt.h"

#include <errno.h>
#include <string.h>

#include "sa_msg.h"
#include "varp.h"

/* Clear header offsets. */
#define OFF_VERSION 4
#define OFF_TYPE 5
#define OFF_FLAGS 6
#define OFF_VNET PKT_CLEAR_LEN
#define OFF_ORIGIN PKT_CLEAR_LEN
#define OFF_SEQ (OFF_ORIGIN + VNET_ADDR_LEN)
#define OFF_HOPS (OFF_SEQ + 8)
#define OFF_FRSVD (OFF_HOPS + 1)

#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static bool is_vlan_tpid(const uint8_t *p)
{
	unsigned t = (unsigned)p[0] << 8 | p[1];

	return t == ETH_P_8021Q || t == ETH_P_8021AD;
}

bool pkt_eth_check(const uint8_t *frame, size_t len, size_t frame_max)
{
	size_t max = frame_max ? frame_max : PKT_ETH_MAX;

	if (len < PKT_ETH_MIN)
		return false;
	/* Each VLAN tag sits where the EtherType was and pushes it 4 on. */
	for (size_t off = 12; off < 20 && len >= off + 2 + PKT_VLAN_LEN; off += PKT_VLAN_LEN) {
		if (!is_vlan_tpid(frame + off))
			break;
		max += PKT_VLAN_LEN;
	}
	return len <= max;
}

bool pkt_eth_is_group(const uint8_t *frame)
{
	return frame[0] & 1;
}

/* An ESP packet: SPI >= 256, then seq and at least one more byte. */
static enum pkt_status decode_esp(const uint8_t *buf, size_t len, size_t off, struct pkt_info *info)
{
	uint32_t spi;

	if (len - off < 9)
		return PKT_ERR_ESP_SHORT;
	spi = get32(buf + off);
	if (spi < 256)
		return PKT_ERR_SPI;
	info->kind = PKT_ESP;
	info->spi = spi;
	info->off = off;
	info->len = len - off;
	return PKT_OK;
}

/* The clear FRAME or VARP packet at buf + off (its zero SPI and header
 * already checked by the caller). */
static enum pkt_status decode_vnet(const uint8_t *buf, size_t len, size_t off, uint8_t type,
				   size_t frame_max, struct pkt_info *info)
{
	size_t body = off + PKT_VNET_HDR_LEN;

	if (len < body)
		return PKT_ERR_SHORT;
	memcpy(info->vnet.b, buf + off + OFF_VNET, VNET_ID_LEN);
	if (vnet_id_check(&info->vnet) != VNET_ID_OK)
		return PKT_ERR_VNET;
	if (type == PKT_TYPE_FRAME && !pkt_eth_check(buf + body, len - body, frame_max))
		return PKT_ERR_FRAME_LEN;
	if (type == PKT_TYPE_VARP && len - body != VARP_MSG_LEN)
		return PKT_ERR_VARP_LEN;
	if (type == PKT_TYPE_SA) {
		if (len - body != SA_MSG_LEN)
			return PKT_ERR_SA_LEN;
		/* An SA packet in a FLOOD is an ANNOUNCE (sa_msg_decode checks). */
		info->kind = PKT_SA;
		info->off = off;
		info->len = len - off;
		return PKT_OK;
	}
	info->kind = type == PKT_TYPE_FRAME ? PKT_FRAME : PKT_VARP;
	info->off = body;
	info->len = len - body;
	return PKT_OK;
}

/* Checks the 8-byte clear header at buf + off; returns its type via *type
 * and its flags via *flags. Only a FLOOD may have a flag, PKT_F_TAG. */
static enum pkt_status decode_clear(const uint8_t *buf, size_t len, size_t off, uint8_t *type,
				    unsigned *flags)
{
	if (len - off < PKT_CLEAR_LEN)
		return PKT_ERR_SHORT;
	if (buf[off + OFF_VERSION] != PKT_VERSION)
		return PKT_ERR_VERSION;
	if (buf[off + OFF_TYPE] < PKT_TYPE_FRAME || buf[off + OFF_TYPE] > PKT_TYPE_SA)
		return PKT_ERR_TYPE;
	*flags = (unsigned)buf[off + OFF_FLAGS] << 8 | buf[off + OFF_FLAGS + 1];
	if (*flags & ~(buf[off + OFF_TYPE] == PKT_TYPE_FLOOD ? PKT_F_TAG : 0u))
		return PKT_ERR_FLAGS;
	*type = buf[off + OFF_TYPE];
	return PKT_OK;
}

static bool zero_spi(const uint8_t *p)
{
	return get32(p) == 0;
}

/* A packet that is not a FLOOD: ESP, FRAME or VARP, starting at off. */
static enum pkt_status decode_inner(const uint8_t *buf, size_t len, size_t off, size_t frame_max,
				    struct pkt_info *info)
{
	enum pkt_status st;
	unsigned flags;
	uint8_t type;

	if (len < off + 4)
		return PKT_ERR_SHORT;
	if (!zero_spi(buf + off)) {
		st = info->tagged ? decode_esp(buf, len, off, info) : PKT_ERR_TAG;
		/* The tag covers the inner packet's last 16 bytes too. */
		return st == PKT_OK && info->len < PKT_FLOOD_TAG_MIN ? PKT_ERR_ESP_SHORT : st;
	}
	st = decode_clear(buf, len, off, &type, &flags);
	if (st != PKT_OK)
		return st;
	if (type == PKT_TYPE_FLOOD)
		return PKT_ERR_NESTED;
	/* Secured content (ESP, SA) is tagged, clear content is not. */
	if (info->tagged != (type == PKT_TYPE_SA))
		return PKT_ERR_TAG;
	return decode_vnet(buf, len, off, type, frame_max, info);
}

static enum pkt_status decode_flood(const uint8_t *buf, size_t len, unsigned flags,
				    size_t frame_max, struct pkt_info *info)
{
	info->tagged = flags & PKT_F_TAG;
	info->inner_off = info->tagged ? PKT_FLOOD_TAGGED_LEN : PKT_FLOOD_HDR_LEN;
	if (len < info->inner_off)
		return PKT_ERR_SHORT;
	if (buf[OFF_FRSVD] || buf[OFF_FRSVD + 1] || buf[OFF_FRSVD + 2])
		return PKT_ERR_FLOOD_RSVD;
	if (buf[OFF_HOPS] > 1)
		return PKT_ERR_HOPS;
	memcpy(info->origin.b, buf + OFF_ORIGIN, VNET_ADDR_LEN);
	if (vnet_addr_is_zero(&info->origin))
		return PKT_ERR_ORIGIN;
	info->seq = get64(buf + OFF_SEQ);
	info->hops = buf[OFF_HOPS];
	info->flood = true;
	return decode_inner(buf, len, info->inner_off, frame_max, info);
}

enum pkt_status pkt_decode(const uint8_t *buf, size_t len, size_t frame_max, struct pkt_info *info)
{
	struct pkt_info tmp;
	enum pkt_status st;
	unsigned flags;
	uint8_t type;

	memset(&tmp, 0, sizeof(tmp));
	if (len < 4)
		return PKT_ERR_SHORT;
	if (!zero_spi(buf)) {
		st = decode_esp(buf, len, 0, &tmp);
	} else {
		st = decode_clear(buf, len, 0, &type, &flags);
		if (st == PKT_OK)
			st = type == PKT_TYPE_FLOOD
				 ? decode_flood(buf, len, flags, frame_max, &tmp)
				 : decode_vnet(buf, len, 0, type, frame_max, &tmp);
	}
	if (st == PKT_OK)
		*info = tmp;
	return st;
}

static void put_clear(uint8_t *p, enum pkt_type type, unsigned flags)
{
	memset(p, 0, 4);
	p[OFF_VERSION] = PKT_VERSION;
	p[OFF_TYPE] = (uint8_t)type;
	p[OFF_FLAGS] = (uint8_t)(flags >> 8);
	p[OFF_FLAGS + 1] = (uint8_t)flags;
}

uint8_t *pkt_push_vnet(uint8_t *payload, size_t headroom, enum pkt_kind kind,
		       const struct vnet_id *vnet)
{
	uint8_t *p;

	if (headroom < PKT_VNET_HDR_LEN || (kind != PKT_FRAME && kind != PKT_VARP))
		return NULL;
	p = payload - PKT_VNET_HDR_LEN;
	put_clear(p, kind == PKT_FRAME ? PKT_TYPE_FRAME : PKT_TYPE_VARP, 0);
	memcpy(p + OFF_VNET, vnet->b, VNET_ID_LEN);
	return p;
}

uint8_t *pkt_push_flood(uint8_t *inner, size_t headroom, const struct vnet_addr *origin,
			uint64_t seq, uint8_t hops, bool tagged)
{
	size_t hlen = tagged ? PKT_FLOOD_TAGGED_LEN : PKT_FLOOD_HDR_LEN;
	uint8_t *p;

	if (headroom < hlen)
		return NULL;
	p = inner - hlen;
	put_clear(p, PKT_TYPE_FLOOD, tagged ? PKT_F_TAG : 0);
	if (tagged)
		memset(p + PKT_FLOOD_HDR_LEN, 0, PKT_FLOOD_TAG_LEN);
	memcpy(p + OFF_ORIGIN, origin->b, VNET_ADDR_LEN);
	for (int i = 0; i < 8; i++)
		p[OFF_SEQ + i] = (uint8_t)(seq >> (56 - 8 * i));
	p[OFF_HOPS] = hops;
	memset(p + OFF_FRSVD, 0, 3);
	return p;
}

void pkt_flood_ext(const uint8_t *pkt, uint8_t ext[PKT_FLOOD_EXT_LEN])
{
	memcpy(ext, pkt + PKT_FLOOD_EXT_OFF, PKT_FLOOD_EXT_LEN);
}

int pkt_flood_set_hops(uint8_t *pkt, size_t len, uint8_t hops)
{
	unsigned flags;
	uint8_t type;

	if (len < PKT_FLOOD_HDR_LEN || !zero_spi(pkt) ||
	    decode_clear(pkt, len, 0, &type, &flags) != PKT_OK || type != PKT_TYPE_FLOOD)
		return -EINVAL;
	pkt[OFF_HOPS] = hops;
	return 0;
}

const char *pkt_status_str(enum pkt_status st)
{
	static const char *const names[] = {
	    [PKT_OK] = "ok",
	    [PKT_ERR_SHORT] = "truncated",
	    [PKT_ERR_VERSION] = "bad version",
	    [PKT_ERR_TYPE] = "unknown type",
	    [PKT_ERR_FLAGS] = "non-zero flags",
	    [PKT_ERR_VNET] = "invalid vnet id",
	    [PKT_ERR_FRAME_LEN] = "bad frame length",
	    [PKT_ERR_VARP_LEN] = "bad VARP length",
	    [PKT_ERR_SPI] = "reserved SPI",
	    [PKT_ERR_ESP_SHORT] = "truncated ESP",
	    [PKT_ERR_FLOOD_RSVD] = "non-zero flood reserved bytes",
	    [PKT_ERR_HOPS] = "flood hops > 1",
	    [PKT_ERR_ORIGIN] = "unspecified flood origin",
	    [PKT_ERR_NESTED] = "flood inside a flood",
	    [PKT_ERR_TAG] = "flood tag around clear content, or ESP/SA without one",
	    [PKT_ERR_SA_LEN] = "bad SA message length",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}
