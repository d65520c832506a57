/*
 * Outer demultiplexing and the clear header codec (docs/wire.md).
 *
 * A UDP payload whose first four bytes are zero carries a Tern clear header
 *
 *   0(4) | version(1)=1 | type(1) | flags(2)=0 | ...
 *
 * FRAME, VARP and SA continue with a vnet id (16) and the frame or message;
 * FLOOD continues with origin(16) | seq(8) | hops(1) | reserved(3)=0, then,
 * when flags has PKT_F_TAG (always and only around ESP), a 16-byte tag over
 * the envelope, and one inner packet, which is itself a clear FRAME/VARP
 * or an ESP packet. Any other first four bytes are an ESP SPI.
 *
 * Nothing is copied: pkt_decode returns offsets into the caller's buffer,
 * and the pkt_push_* encoders write a header into the headroom right before
 * a payload the caller already placed, returning the new start.
 */
#ifndef TERN_PKT_H
#define TERN_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnet_addr.h"
#include "vnet_id.h"

#define PKT_VERSION 1
#define PKT_CLEAR_LEN 8				       /* zero SPI + version/type/flags */
#define PKT_VNET_HDR_LEN (PKT_CLEAR_LEN + VNET_ID_LEN) /* FRAME, VARP: 24 */
#define PKT_FLOOD_HDR_LEN (PKT_CLEAR_LEN + VNET_ADDR_LEN + 8 + 1 + 3) /* 36 */
/* A FLOOD around ESP or an SA packet carries a tag after its 36 header
 * bytes: HMAC-SHA-256-128 under the vnet's flood key over the 36 header
 * bytes, the inner packet's first 8 and its last 16 bytes (its ICV or its
 * own tag), so the envelope is bound to that one packet. */
#define PKT_F_TAG 0x0001
#define PKT_FLOOD_TAG_LEN 16
#define PKT_FLOOD_TAGGED_LEN (PKT_FLOOD_HDR_LEN + PKT_FLOOD_TAG_LEN) /* 52 */
#define PKT_FLOOD_TAG_HEAD 8  /* inner bytes covered at the start */
#define PKT_FLOOD_TAG_TAIL 16 /* and at the end */
#define PKT_FLOOD_TAG_MIN (PKT_FLOOD_TAG_HEAD + PKT_FLOOD_TAG_TAIL)
/* The FLOOD fields an ESP packet's ICV covers (esp_ext): origin | seq. */
#define PKT_FLOOD_EXT_LEN (VNET_ADDR_LEN + 8)
#define PKT_FLOOD_EXT_OFF PKT_CLEAR_LEN

#define PKT_ETH_HLEN 14
#define PKT_ETH_MIN 14	 /* header only */
#define PKT_ETH_MAX 1518 /* default largest untagged frame, no FCS */
#define PKT_VLAN_LEN 4	 /* each 802.1Q/802.1ad tag (at most two) adds this */

/* Clear header type field. */
enum pkt_type { PKT_TYPE_FRAME = 1, PKT_TYPE_VARP = 2, PKT_TYPE_FLOOD = 3, PKT_TYPE_SA = 4 };

/* What a decoded packet (the inner one for a FLOOD) carries. */
enum pkt_kind { PKT_ESP, PKT_FRAME, PKT_VARP, PKT_SA };

struct pkt_info {
	enum pkt_kind kind;
	struct vnet_id vnet; /* FRAME, VARP */
	uint32_t spi;	     /* ESP (>= 256) */
	size_t off, len;     /* FRAME: the Ethernet frame; VARP: the message;
				ESP: the ESP packet from its SPI to the end;
				SA: the whole packet (sa_msg_decode) */
	bool flood;	     /* came in a FLOOD envelope: the fields below are set */
	struct vnet_addr origin;
	uint64_t seq;
	uint8_t hops;	  /* 0 from the origin, 1 re-sent by a peer */
	size_t inner_off; /* FLOOD: start of the inner packet (36, or 52 tagged) */
	bool tagged;	  /* FLOOD: carries a tag (its inner packet is ESP or SA) */
};

enum pkt_status {
	PKT_OK = 0,
	PKT_ERR_SHORT,	    /* shorter than its headers */
	PKT_ERR_VERSION,    /* clear header version != 1 */
	PKT_ERR_TYPE,	    /* unknown clear header type */
	PKT_ERR_FLAGS,	    /* clear header flags != 0 */
	PKT_ERR_VNET,	    /* vnet id 0 or 1 */
	PKT_ERR_FRAME_LEN,  /* Ethernet frame outside 14..frame_max (+VLAN) */
	PKT_ERR_VARP_LEN,   /* VARP message not exactly VARP_MSG_LEN (48) bytes */
	PKT_ERR_SPI,	    /* ESP SPI in the reserved range 1..255 */
	PKT_ERR_ESP_SHORT,  /* ESP shorter than SPI + seq + one byte */
	PKT_ERR_FLOOD_RSVD, /* FLOOD reserved bytes != 0 */
	PKT_ERR_HOPS,	    /* FLOOD hops > 1 */
	PKT_ERR_ORIGIN,	    /* FLOOD origin unspecified */
	PKT_ERR_NESTED,	    /* FLOOD inside FLOOD */
	PKT_ERR_TAG,	    /* FLOOD tag flag around clear content, or ESP/SA without it */
	PKT_ERR_SA_LEN,	    /* SA message not exactly SA_MSG_LEN (92) bytes */
};

/* Classifies and decodes the UDP payload of `len` bytes at buf. Frames
 * longer than `frame_max` bytes (0 = PKT_ETH_MAX), plus PKT_VLAN_LEN per
 * VLAN tag (at most two), are refused; use pkt_eth_check with a vnet's own
 * limit after demultiplexing. *info is written only on PKT_OK. */
enum pkt_status pkt_decode(const uint8_t *buf, size_t len, size_t frame_max, struct pkt_info *info);

/* Checks an Ethernet frame's length: PKT_ETH_MIN..frame_max (0 =
 * PKT_ETH_MAX) plus PKT_VLAN_LEN for each of up to two VLAN tags
 * (TPID 0x8100 or 0x88a8). */
bool pkt_eth_check(const uint8_t *frame, size_t len, size_t frame_max);

/* True if the frame's destination is a group (broadcast/multicast) MAC.
 * The frame must be at least PKT_ETH_HLEN bytes. */
bool pkt_eth_is_group(const uint8_t *frame);

/* Writes a FRAME (kind PKT_FRAME) or VARP (PKT_VARP) clear header for
 * `vnet` into the PKT_VNET_HDR_LEN bytes before `payload`. `headroom` is
 * how many bytes before payload the caller's buffer has. Returns the start
 * of the packet, or NULL if headroom is too small or kind is PKT_ESP. */
uint8_t *pkt_push_vnet(uint8_t *payload, size_t headroom, enum pkt_kind kind,
		       const struct vnet_id *vnet);

/* Writes a FLOOD envelope before `inner` (a complete clear or ESP packet):
 * PKT_FLOOD_HDR_LEN bytes, or PKT_FLOOD_TAGGED_LEN with `tagged` (for ESP;
 * the tag is left zero for the caller to fill in). Returns the start, or
 * NULL if headroom is too small. */
uint8_t *pkt_push_flood(uint8_t *inner, size_t headroom, const struct vnet_addr *origin,
			uint64_t seq, uint8_t hops, bool tagged);
/* The FLOOD fields the inner ESP packet's ICV covers, origin | seq
 * (PKT_FLOOD_EXT_LEN bytes), written into ext from the envelope at pkt. */
void pkt_flood_ext(const uint8_t *pkt, uint8_t ext[PKT_FLOOD_EXT_LEN]);

/* Rewrites the hops field of the FLOOD packet at pkt (for a peer's
 * re-multicast with hops = 1). Returns 0, or -EINVAL if pkt is not a
 * FLOOD header of at least PKT_FLOOD_HDR_LEN bytes. */
int pkt_flood_set_hops(uint8_t *pkt, size_t len, uint8_t hops);

/* Human text for a status, for drop counters and debug logs. */
const char *pkt_status_str(enum pkt_status st);

#endif
