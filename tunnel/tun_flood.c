/*
 * The tag of a FLOOD envelope on a secured vnet (docs/wire.md, FLOOD):
 * HMAC-SHA-256-128 under the vnet's flood key over the 36 envelope bytes,
 * the inner packet's first 8 bytes and its last 16 (its ICV or its own
 * tag). Every host of the vnet holds the key, so a relay that sets hops 1
 * tags the envelope anew; nobody else can make or change an envelope, nor
 * move one to another packet.
 */
#include <errno.h>

#include "tun_priv.h"

static void parts_of(const uint8_t *pkt, size_t len, struct esp_tag_part p[3])
{
	p[0] = (struct esp_tag_part){pkt, PKT_FLOOD_HDR_LEN};
	p[1] = (struct esp_tag_part){pkt + PKT_FLOOD_TAGGED_LEN, PKT_FLOOD_TAG_HEAD};
	p[2] = (struct esp_tag_part){pkt + len - PKT_FLOOD_TAG_TAIL, PKT_FLOOD_TAG_TAIL};
}

int tun_flood_tag(const struct tun_vnet *vn, uint8_t *pkt, size_t len)
{
	struct esp_tag_part p[3];

	if (len < PKT_FLOOD_TAGGED_LEN + PKT_FLOOD_TAG_MIN)
		return -EINVAL;
	parts_of(pkt, len, p);
	return esp_tag_make(vn->flood_tag, p, 3, pkt + PKT_FLOOD_HDR_LEN);
}

bool tun_flood_tag_ok(const struct tun_vnet *vn, const uint8_t *pkt, size_t len)
{
	struct esp_tag_part p[3];

	if (len < PKT_FLOOD_TAGGED_LEN + PKT_FLOOD_TAG_MIN)
		return false;
	parts_of(pkt, len, p);
	return esp_tag_check(vn->flood_tag, p, 3, pkt + PKT_FLOOD_HDR_LEN);
}
