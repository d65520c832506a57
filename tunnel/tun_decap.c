/*
 * Network -> TAP: demultiplex one datagram, drop FLOOD duplicates, verify
 * and decrypt ESP in place, then write the frame to its vnet's TAP or hand
 * the VARP message to vnetd. Once a FLOOD with hops = 0 verified and was
 * new, it is relayed: one that a peer sent us by unicast is re-sent to our
 * multicast group with hops = 1 (never to another peer); one that came by
 * multicast from our own subnet is sent unchanged (hops 0) by unicast to
 * each of our peers but its origin and its sender (docs/wire.md, FLOOD).
 * A FLOOD that came by unicast is taken only from a configured peer (but
 * an SA ANNOUNCE, which only a key holder can make); on a
 * secured vnet its envelope's tag and its ESP ICV (which also covers the
 * envelope's origin and sequence number) must verify before anything of it
 * counts, the duplicate window included.
 */
#include <errno.h>
#include <string.h>

#include "tun_priv.h"

struct rx_ctx {
	struct tun_rx_info ri;
	struct tun_vnet *vn; /* set once known, for counting */
	bool is_varp;
	struct varp_msg varp;
};

static struct tun_stats *stats_of(struct tun_dp *dp, struct tun_vnet *vn)
{
	return vn ? &vn->st : &dp->st;
}

/* Teaches the MAC table where a source MAC lives, but only where it knows
 * nothing: VARP answers and local FDB entries are authoritative, and a
 * frame still in flight from a guest's old host must not undo an announce. */
static void learn(struct tun_dp *dp, struct tun_vnet *vn, const uint8_t *frame,
		  const struct vnet_addr *sender)
{
	const uint8_t *src = frame + 6;

	if ((src[0] & 1) || vnet_addr_eq(sender, &dp->local))
		return;
	if (mac_table_get(vn->macs, &vn->id, src, dp->now_ms))
		return;
	/* A full table just means no hint: the frame is still delivered. */
	(void)mac_table_put(vn->macs, &vn->id, src, sender, MAC_TABLE_REMOTE,
			    dp->now_ms + TUN_LEARN_TTL_MS, dp->now_ms);
}

static int deliver_frame(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *frame, size_t len,
			 struct rx_ctx *c)
{
	size_t lost;

	if (!pkt_eth_check(frame, len, 0)) {
		vn->st.drop_malformed++;
		return -EINVAL;
	}
	learn(dp, vn, frame, &c->ri.sender);
	/* With a virtio-net header, TCP segments may be held and merged
	 * until the end of the receive batch (tun_dp_rx_udp flushes). */
	if (vn->tap.hdr_len)
		lost = tun_gro_write(&vn->gro, &vn->tap, frame, len);
	else
		lost = tun_tap_write(&vn->tap, frame, len) < 0;
	vn->st.drop_noroute += lost;
	vn->st.rx_frames++;
	vn->st.rx_bytes += len;
	return 0;
}

static int deliver_varp(struct tun_vnet *vn, const uint8_t *msg, size_t len, struct rx_ctx *c)
{
	if (varp_decode(msg, len, &c->varp) != VARP_OK || !vnet_id_eq(&c->varp.vnet, &vn->id)) {
		vn->st.drop_malformed++;
		return -EINVAL;
	}
	vn->st.varp_in++;
	c->is_varp = true;
	return 0;
}

static void count_esp_drop(struct tun_vnet *vn, enum esp_result r)
{
	uint64_t *ctr = r == ESP_AUTH_FAIL ? &vn->st.drop_auth
			: r == ESP_REPLAY  ? &vn->st.drop_replay
			: r == ESP_ERROR   ? &vn->st.drop_noroute
					   : &vn->st.drop_malformed;
	(*ctr)++;
}

/* The envelope of a flooded ESP packet: its tag must verify under the
 * vnet's flood key, and the ESP ICV covers origin | seq (ext). */
static bool flood_envelope_ok(struct tun_vnet *vn, const uint8_t *buf, const struct pkt_info *info,
			      uint8_t ext[PKT_FLOOD_EXT_LEN])
{
	if (!tun_flood_tag_ok(vn, buf, info->off + info->len))
		return false;
	pkt_flood_ext(buf, ext);
	return true;
}

/* A flooded ANNOUNCE (the only SA packet a FLOOD carries): the envelope's
 * tag, then the message's own, which names the origin as its sender. */
static int deliver_sa(struct tun_dp *dp, uint8_t *buf, const struct pkt_info *info,
		      struct rx_ctx *c)
{
	struct tun_vnet *vn = tun_dp_vnet_find(dp, &info->vnet);

	c->vn = vn;
	if (!vn || !vn->tx_sa) {
		(vn ? &vn->st : &dp->st)->drop_noroute++;
		return -ENOENT;
	}
	if (!tun_flood_tag_ok(vn, buf, info->off + info->len)) {
		vn->st.drop_auth++;
		return -EBADMSG;
	}
	return tun_saex_rx(dp, buf + info->off, info->len, &c->ri.sender, true) ? 0 : -EBADMSG;
}

static int deliver_esp(struct tun_dp *dp, uint8_t *buf, const struct pkt_info *info,
		       struct rx_ctx *c)
{
	uint8_t extb[PKT_FLOOD_EXT_LEN], *pkt = buf + info->off;
	struct esp_ext ext = {extb, sizeof(extb)};
	struct esp_decap_out out;
	enum esp_result r;
	struct tun_vnet *vn;
	struct esp_sa *sa;

	sa = tun_rxsa_lookup(dp, &c->ri.sender, info->spi, &vn);
	c->vn = vn;
	if (!vn) {
		dp->st.drop_noroute++; /* no vnet of ours has this SPI */
		return -ENOENT;
	}
	if (!sa) {
		vn->st.drop_nosa++; /* the sender was asked for its SA */
		return -ENOKEY;
	}
	if (info->flood && !flood_envelope_ok(vn, buf, info, extb)) {
		vn->st.drop_auth++;
		return -EBADMSG;
	}
	r = esp_sa_decap_ext(sa, pkt, info->len, info->flood ? &ext : NULL, &out);
	if (r != ESP_OK) {
		count_esp_drop(vn, r);
		return -EBADMSG;
	}
	c->ri.authenticated = true;
	if (out.next_header == ESP_NH_ETHERNET)
		return deliver_frame(dp, vn, out.payload, out.len, c);
	if (out.next_header == ESP_NH_VARP)
		return deliver_varp(vn, out.payload, out.len, c);
	vn->st.drop_malformed++;
	return -EPROTO;
}

/* Clear FRAME and VARP are only valid on `none` vnets. */
static int deliver(struct tun_dp *dp, uint8_t *buf, const struct pkt_info *info, struct rx_ctx *c)
{
	struct tun_vnet *vn;

	if (info->kind == PKT_ESP)
		return deliver_esp(dp, buf, info, c);
	if (info->kind == PKT_SA)
		return deliver_sa(dp, buf, info, c);
	c->vn = vn = tun_dp_vnet_find(dp, &info->vnet);
	if (!vn) {
		dp->st.drop_noroute++;
		return -ENOENT;
	}
	if (vn->suite != ESP_SUITE_NONE) {
		vn->st.drop_malformed++;
		return -EPERM;
	}
	if (info->kind == PKT_FRAME)
		return deliver_frame(dp, vn, buf + info->off, info->len, c);
	return deliver_varp(vn, buf + info->off, info->len, c);
}

/* The vnet a duplicate FLOOD belongs to, as far as known without work. */
static struct tun_vnet *flood_vnet(struct tun_dp *dp, const struct pkt_info *info)
{
	if (info->kind == PKT_ESP)
		return tun_rxsa_vnet(dp, &info->origin, info->spi);
	return tun_dp_vnet_find(dp, &info->vnet);
}

/* How a new, verified FLOOD is relayed. */
enum relay {
	RELAY_NONE,
	RELAY_GROUP, /* from a peer: re-multicast with hops 1 */
	RELAY_PEERS, /* from our subnet: unicast to our peers, hops 0 */
};

static enum relay relay_of(const struct tun_dp *dp, size_t len, const struct pkt_info *info,
			   const struct rx_ctx *c)
{
	/* Only hops 0 is relayed, and only packets that fit a slot (every
	 * genuine FLOOD does: its origin sent it from a slot of its own). */
	if (info->hops != 0 || len > TUN_SLOT_SIZE)
		return RELAY_NONE;
	if (!c->ri.multicast)
		return dp->udp.has_group ? RELAY_GROUP : RELAY_NONE;
	return dp->npeers ? RELAY_PEERS : RELAY_NONE;
}

static bool peer_is(const struct sockaddr_in *peer, const struct vnet_addr *a)
{
	struct vnet_addr p;

	return vnet_addr_from_sockaddr(&p, (const struct sockaddr *)peer, sizeof(*peer)) == 0 &&
	       vnet_addr_eq(&p, a);
}

static bool from_peer(const struct tun_dp *dp, const struct vnet_addr *a)
{
	for (size_t i = 0; i < dp->npeers; i++)
		if (peer_is(&dp->peers[i], a))
			return true;
	return false;
}

/* Sets hops 1 on our copy for the group; a tagged envelope is tagged
 * anew (every host of the vnet holds the flood key). */
static int flood_set_hops1(struct tun_vnet *vn, uint8_t *copy, size_t len,
			   const struct pkt_info *info)
{
	if (pkt_flood_set_hops(copy, len, 1) < 0)
		return -EINVAL;
	return info->tagged ? tun_flood_tag(vn, copy, len) : 0;
}

/* Queues the received packet (still as it came, hops 0) to every peer but
 * the FLOOD's origin and the host it came from, who have it already.
 * Returns how many copies were queued. */
static size_t relay_peers(struct tun_dp *dp, const uint8_t *pkt, size_t len,
			  const struct pkt_info *info, const struct rx_ctx *c)
{
	size_t i, n = 0;

	for (i = 0; i < dp->npeers; i++) {
		if (peer_is(&dp->peers[i], &info->origin) || peer_is(&dp->peers[i], &c->ri.from))
			continue;
		tun_udp_txq_add(&dp->txq, pkt, len, &dp->peers[i]);
		n++;
	}
	return n;
}

static void handle_flood(struct tun_dp *dp, uint8_t *buf, size_t len, const struct pkt_info *info,
			 struct rx_ctx *c)
{
	enum relay relay = relay_of(dp, len, info, c);
	struct tun_vnet *fvn;
	uint8_t *copy = NULL;

	/* An SA ANNOUNCE is the exception: only a key holder can make one
	 * (tagged twice), and a host that peers with us before we peer with
	 * it must still be heard, or its subnet would not learn its SA. */
	if (!c->ri.multicast && info->kind != PKT_SA && !from_peer(dp, &c->ri.from)) {
		stats_of(dp, flood_vnet(dp, info))->drop_notpeer++;
		return;
	}
	/* A cheap look before any crypto, in the window of the vnet the
	 * packet names (one whose SA we do not know is refused anyway); the
	 * window changes only once the packet verified. */
	fvn = flood_vnet(dp, info);
	if (vnet_addr_eq(&info->origin, &dp->local) ||
	    (fvn &&
	     replay_flood_check(fvn->floods, &info->origin, info->seq, dp->now_ms) != REPLAY_NEW)) {
		stats_of(dp, fvn)->drop_dup_flood++;
		return;
	}
	c->ri.sender = info->origin;
	c->ri.flooded = true;
	if (relay != RELAY_NONE) {
		/* Decryption is in place: keep the packet as received. */
		copy = tun_encap_slot(dp, relay == RELAY_GROUP ? 1 : dp->npeers);
		memcpy(copy, buf, len);
	}
	if (deliver(dp, buf, info, c) < 0) {
		if (copy)
			tun_encap_unslot(dp, copy);
		return;
	}
	/* Only now, verified and delivered, does (origin, seq) count as seen
	 * and may the packet travel on. */
	replay_flood_update(c->vn->floods, &info->origin, info->seq, dp->now_ms);
	c->vn->st.rx_floods++;
	if (relay == RELAY_GROUP && flood_set_hops1(c->vn, copy, len, info) == 0) {
		tun_udp_txq_add(&dp->txq, copy, len, &dp->group);
		c->vn->st.flood_remcast++;
	} else if (relay == RELAY_PEERS) {
		if (relay_peers(dp, copy, len, info, c))
			c->vn->st.flood_fwd++;
		else
			tun_encap_unslot(dp, copy);
	}
}

void tun_decap_dgram(struct tun_dp *dp, uint8_t *buf, size_t len, const struct sockaddr_in *from,
		     bool mcast)
{
	struct rx_ctx c = {.ri = {.multicast = mcast}};
	struct pkt_info info;

	if (vnet_addr_from_sockaddr(&c.ri.from, (const struct sockaddr *)from, sizeof(*from)) < 0 ||
	    pkt_decode(buf, len, 0, &info) != PKT_OK) {
		dp->st.drop_malformed++;
		return;
	}
	c.ri.sender = c.ri.from;
	if (info.flood)
		handle_flood(dp, buf, len, &info, &c);
	else if (info.kind == PKT_SA)
		tun_saex_rx(dp, buf, len, &c.ri.from, false);
	else
		deliver(dp, buf, &info, &c);
	if (c.is_varp && dp->ops.varp)
		dp->ops.varp(dp->arg, c.vn, &c.ri, &c.varp);
}
