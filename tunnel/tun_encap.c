/*
 * TAP -> network: pick the destination of each frame, encapsulate it in
 * place in its slot (clear header or ESP, then FLOOD envelope) and queue it
 * for one batched send.
 */
#include <errno.h>
#include <string.h>

#include "tun_priv.h"

uint8_t *tun_encap_slot(struct tun_dp *dp, size_t dsts)
{
	if (dp->slot_next >= TUN_TX_SLOTS || tun_udp_txq_full(&dp->txq, dsts))
		tun_encap_flush(dp);
	return dp->slots + dp->slot_next++ * TUN_SLOT_SIZE;
}

void tun_encap_unslot(struct tun_dp *dp, uint8_t *slot)
{
	if (dp->slot_next && slot == dp->slots + (dp->slot_next - 1) * TUN_SLOT_SIZE)
		dp->slot_next--;
}

void tun_encap_ctl(struct tun_dp *dp, const uint8_t *pkt, size_t len, const struct sockaddr_in *dst)
{
	/* Sent at once, with whatever is queued before it: control packets
	 * are rare (a new SA), and this never touches the frame slots, so it
	 * is safe anywhere, also while a frame is being built. */
	if (tun_udp_txq_full(&dp->txq, 1))
		dp->tx_st->drop_noroute += tun_udp_flush(&dp->udp, &dp->txq);
	tun_udp_txq_add(&dp->txq, pkt, len, dst);
	dp->tx_st->drop_noroute += tun_udp_flush(&dp->udp, &dp->txq);
}

size_t tun_encap_flush(struct tun_dp *dp)
{
	size_t lost = dp->txq.n ? tun_udp_flush(&dp->udp, &dp->txq) : 0;

	dp->slot_next = 0;
	dp->tx_st->drop_noroute += lost;
	return lost;
}

/* ESP around the payload; for a flood, its ICV also covers the envelope's
 * origin and sequence number (ext), so the packet cannot be taken out of
 * its envelope or put into another. */
static int esp_wrap(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *payload, size_t len,
		    enum pkt_kind kind, const struct esp_ext *ext, uint8_t **pkt, size_t *pkt_len)
{
	uint8_t nh = kind == PKT_FRAME ? ESP_NH_ETHERNET : ESP_NH_VARP;
	int r = esp_sa_encap_ext(vn->tx_sa, payload, len, TUN_SLOT_HEAD,
				 TUN_SLOT_DATA + TUN_SLOT_TAIL - len, nh, ext, pkt, pkt_len);

	if (r == ESP_ENCAP_REKEY && !vn->rekey_asked) {
		/* Asked once per SA; vnetd calls tun_vnet_rekey, which swaps
		 * the SA we hold and announces the new one. */
		vn->rekey_asked = true;
		if (dp->ops.rekey)
			dp->ops.rekey(dp->arg, vn);
	}
	return r < 0 ? r : 0;
}

/* Wraps the payload for a flood of ours: ESP (covering origin | seq) and
 * a tagged envelope on a secured vnet, a clear one otherwise. */
static int flood_wrap(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *slot, size_t len,
		      enum pkt_kind kind, uint8_t **pkt, size_t *plen)
{
	uint8_t extb[PKT_FLOOD_EXT_LEN], *payload = slot + TUN_SLOT_HEAD;
	struct esp_ext ext = {extb, sizeof(extb)};
	uint64_t seq = dp->flood_seq;
	int err;

	if (!vn->tx_sa) {
		*pkt = pkt_push_vnet(payload, TUN_SLOT_HEAD, kind, &vn->id);
		*pkt = pkt_push_flood(*pkt, (size_t)(*pkt - slot), &dp->local, seq, 0, false);
		*plen = len + PKT_VNET_HDR_LEN + PKT_FLOOD_HDR_LEN;
		dp->flood_seq++;
		return 0;
	}
	memcpy(extb, dp->local.b, VNET_ADDR_LEN);
	for (int i = 0; i < 8; i++)
		extb[VNET_ADDR_LEN + i] = (uint8_t)(seq >> (56 - 8 * i));
	if ((err = esp_wrap(dp, vn, payload, len, kind, &ext, pkt, plen)) < 0)
		return err;
	*pkt = pkt_push_flood(*pkt, (size_t)(*pkt - slot), &dp->local, seq, 0, true);
	*plen += PKT_FLOOD_TAGGED_LEN;
	dp->flood_seq++;
	return tun_flood_tag(vn, *pkt, *plen);
}

int tun_encap_send(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *slot, size_t len,
		   enum pkt_kind kind, const struct sockaddr_in *dst)
{
	uint8_t *payload = slot + TUN_SLOT_HEAD, *pkt;
	size_t plen, i;
	int err;

	if (!dst) {
		if ((err = flood_wrap(dp, vn, slot, len, kind, &pkt, &plen)) < 0)
			return err;
		if (dp->udp.has_group)
			tun_udp_txq_add(&dp->txq, pkt, plen, &dp->group);
		for (i = 0; i < dp->npeers; i++)
			tun_udp_txq_add(&dp->txq, pkt, plen, &dp->peers[i]);
		return 0;
	}
	if (vn->tx_sa) {
		if ((err = esp_wrap(dp, vn, payload, len, kind, NULL, &pkt, &plen)) < 0)
			return err;
	} else {
		pkt = pkt_push_vnet(payload, TUN_SLOT_HEAD, kind, &vn->id);
		plen = len + PKT_VNET_HDR_LEN;
	}
	tun_udp_txq_add(&dp->txq, pkt, plen, dst);
	return 0;
}

/* Where a unicast frame goes: 1 and *to for a remote MAC, 0 to flood an
 * unknown one (and report it), -1 for a MAC on this host (the bridge
 * delivered it). */
static int route(struct tun_dp *dp, struct tun_vnet *vn, const uint8_t *frame,
		 struct sockaddr_in *to)
{
	const struct mac_entry *e = mac_table_get(vn->macs, &vn->id, frame, dp->now_ms);

	if (!e) {
		if (dp->ops.miss)
			tun_miss_note(&vn->miss, frame, dp->now_ms);
		return 0;
	}
	if ((e->flags & MAC_TABLE_LOCAL) || vnet_addr_eq(&e->coa, &dp->local))
		return -1;
	/* An address we cannot reach on this underlay: flood instead. */
	return tun_udp_sockaddr(&dp->udp, &e->coa, to) == 0 ? 1 : 0;
}

void tun_encap_frame(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *slot, size_t len)
{
	uint8_t *frame = slot + TUN_SLOT_HEAD;
	struct sockaddr_in to;
	int where = 0;

	if (!pkt_eth_check(frame, len, 0)) {
		vn->st.drop_malformed++;
		tun_encap_unslot(dp, slot);
		return;
	}
	if (!pkt_eth_is_group(frame))
		where = route(dp, vn, frame, &to);
	if (where < 0) {
		vn->st.tx_local++;
		tun_encap_unslot(dp, slot);
		return;
	}
	if (tun_encap_send(dp, vn, slot, len, PKT_FRAME, where ? &to : NULL) < 0) {
		vn->st.drop_noroute++;
		tun_encap_unslot(dp, slot);
		return;
	}
	vn->st.tx_frames++;
	vn->st.tx_bytes += len;
	if (!where)
		vn->st.tx_floods++;
}
