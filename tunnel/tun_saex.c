/*
 * The SA exchange (docs/wire.md "SA exchange"): how a receiver learns a
 * sender's SA with proof that the answer is fresh.
 *
 * A receiver asks (REQUEST) with a random challenge of its own, at most
 * once per TUN_SA_ASK_MS per sender and vnet; the sender answers (REPLY)
 * with its current SPI, key nonce and sequence number, bound to that
 * challenge by the tag. A new SA (and every change of our peers) is
 * ANNOUNCEd as a FLOOD, so it reaches every host of the vnet however the
 * peers join the subnets, with a challenge too: the hosts that hear it
 * answer with their own SAs and ask for the new one, so both directions
 * are learned in one round trip, before the first frame. Nothing is installed that does not answer
 * a question we asked since this data path started, so old packets (and old answers) of any earlier
 * SA, or of this one before we asked, cannot be replayed to us.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "tun_priv.h"

/* Encodes m for vn and sends it to the host at `to`. */
static void send_addr(struct tun_dp *dp, struct tun_vnet *vn, const struct sa_msg *m,
		      const struct vnet_addr *to)
{
	uint8_t pkt[SA_PKT_LEN];
	struct sockaddr_in sin;

	if (tun_udp_sockaddr(&dp->udp, to, &sin) == 0 && sa_msg_encode(m, vn->sa_tag, pkt) == 0)
		tun_encap_ctl(dp, pkt, sizeof(pkt), &sin);
}

void tun_saex_announce(struct tun_dp *dp, struct tun_vnet *vn)
{
	struct sa_msg m = {.op = SA_MSG_ANNOUNCE, .vnet = vn->id, .suite = vn->suite};
	uint8_t buf[PKT_FLOOD_TAGGED_LEN + SA_PKT_LEN], *pkt;

	if (!vn->tx_sa || RAND_bytes(vn->ann_challenge, SA_CHALLENGE_LEN) != 1)
		return;
	vn->ann_ms = dp->now_ms ? dp->now_ms : 1;
	m.sender = dp->local;
	m.spi = esp_sa_spi(vn->tx_sa);
	memcpy(m.challenge, vn->ann_challenge, SA_CHALLENGE_LEN);
	if (sa_msg_encode(&m, vn->sa_tag, buf + PKT_FLOOD_TAGGED_LEN) < 0)
		return;
	pkt = pkt_push_flood(buf + PKT_FLOOD_TAGGED_LEN, PKT_FLOOD_TAGGED_LEN, &dp->local,
			     dp->flood_seq++, 0, true);
	if (tun_flood_tag(vn, pkt, sizeof(buf)) < 0)
		return;
	if (dp->udp.has_group)
		tun_encap_ctl(dp, pkt, sizeof(buf), &dp->group);
	for (size_t i = 0; i < dp->npeers; i++)
		tun_encap_ctl(dp, pkt, sizeof(buf), &dp->peers[i]);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int tun_saex_challenge(const struct tun_dp *dp, const struct tun_vnet *vn,
		       const struct vnet_addr *sender, uint64_t slot, uint8_t out[SA_CHALLENGE_LEN])
{
	uint8_t sb[8];
	const struct esp_tag_part parts[3] = {
	    {vn->id.b, VNET_ID_LEN}, {sender->b, VNET_ADDR_LEN}, {sb, sizeof(sb)}};

	put64(sb, slot);
	return esp_tag_make(dp->chal, parts, 3, out);
}

void tun_saex_ask(struct tun_dp *dp, struct tun_rxsa *e, uint32_t spi)
{
	struct sa_msg m = {.op = SA_MSG_REQUEST, .vnet = e->vn->id, .spi = spi};

	if (e->asked_ms && dp->now_ms - e->asked_ms < TUN_SA_ASK_MS)
		return;
	if (tun_saex_challenge(dp, e->vn, &e->sender, dp->now_ms / TUN_SA_SLOT_MS, m.challenge) < 0)
		return;
	e->asked_ms = dp->now_ms ? dp->now_ms : 1;
	m.sender = e->sender;
	m.asker = dp->local;
	send_addr(dp, e->vn, &m, &e->sender);
}

/* Our sending SA for `asker`, bound to its challenge. */
static void reply(struct tun_dp *dp, struct tun_vnet *vn, const struct vnet_addr *asker,
		  const uint8_t *challenge)
{
	struct sa_msg m = {.op = SA_MSG_REPLY, .vnet = vn->id, .suite = vn->suite};

	m.sender = dp->local;
	m.asker = *asker;
	m.spi = esp_sa_spi(vn->tx_sa);
	m.seq = esp_sa_seq(vn->tx_sa);
	memcpy(m.nonce, vn->tx_nonce, ESP_NONCE_LEN);
	memcpy(m.challenge, challenge, SA_CHALLENGE_LEN);
	send_addr(dp, vn, &m, asker);
}

static bool fresh(uint64_t asked_ms, uint64_t now_ms)
{
	return asked_ms && now_ms - asked_ms < TUN_SA_CHALLENGE_MS;
}

/* Which of our questions a REPLY answers, as its time slot: one we asked
 * its sender within TUN_SA_CHALLENGE_MS, or our last ANNOUNCE (once per
 * sender). 0 if none. */
static uint64_t answers_us(struct tun_dp *dp, struct tun_rxsa *e, const struct sa_msg *m)
{
	struct tun_vnet *vn = e->vn;
	uint64_t now = dp->now_ms / TUN_SA_SLOT_MS;
	uint8_t want[SA_CHALLENGE_LEN];

	for (uint64_t s = now; s + TUN_SA_CHALLENGE_MS / TUN_SA_SLOT_MS > now && s > 0; s--) {
		if (tun_saex_challenge(dp, vn, &e->sender, s, want) == 0 &&
		    CRYPTO_memcmp(want, m->challenge, SA_CHALLENGE_LEN) == 0)
			return s;
	}
	if (fresh(vn->ann_ms, dp->now_ms) && e->ann_used_ms != vn->ann_ms &&
	    CRYPTO_memcmp(vn->ann_challenge, m->challenge, SA_CHALLENGE_LEN) == 0) {
		e->ann_used_ms = vn->ann_ms;
		return vn->ann_ms / TUN_SA_SLOT_MS ? vn->ann_ms / TUN_SA_SLOT_MS : 1;
	}
	return 0;
}

static bool on_reply(struct tun_dp *dp, struct tun_vnet *vn, const struct sa_msg *m)
{
	struct tun_rxsa *e;
	uint64_t slot;
	int rc;

	if (!vnet_addr_eq(&m->asker, &dp->local) || m->suite != vn->suite)
		return false;
	e = tun_rxsa_get(dp, vn, &m->sender);
	if (!e || !(slot = answers_us(dp, e, m)))
		return false;
	rc = tun_rxsa_install(dp, e, m->spi, m->nonce, m->seq, slot);
	if (rc == 0)
		vn->st.sa_learned++;
	return rc >= 0;
}

/* Someone has a new SA: answer with ours, and ask for theirs unless we
 * have it. */
static bool on_announce(struct tun_dp *dp, struct tun_vnet *vn, const struct sa_msg *m)
{
	struct tun_rxsa *e;

	if (m->suite != vn->suite || vnet_addr_eq(&m->sender, &dp->local))
		return false;
	reply(dp, vn, &m->sender, m->challenge);
	e = tun_rxsa_get(dp, vn, &m->sender);
	if (e && !(e->cur && esp_sa_spi(e->cur) == m->spi))
		tun_saex_ask(dp, e, m->spi);
	return true;
}

static bool dispatch(struct tun_dp *dp, struct tun_vnet *vn, const struct sa_msg *m)
{
	switch (m->op) {
	case SA_MSG_ANNOUNCE:
		return on_announce(dp, vn, m);
	case SA_MSG_REQUEST:
		if (!vnet_addr_eq(&m->sender, &dp->local))
			return false;
		reply(dp, vn, &m->asker, m->challenge);
		return true;
	case SA_MSG_REPLY:
		return on_reply(dp, vn, m);
	}
	return false;
}

bool tun_saex_rx(struct tun_dp *dp, const uint8_t *pkt, size_t len, const struct vnet_addr *from,
		 bool flooded)
{
	struct tun_vnet *vn = NULL;
	struct sa_msg m;
	bool ok = false;

	if (sa_msg_decode(pkt, len, &m) == SA_MSG_OK)
		vn = tun_dp_vnet_find(dp, &m.vnet);
	/* Each message comes from the host it speaks for: the announcer (the
	 * FLOOD's origin) or the sender of a REPLY, the asker of a REQUEST.
	 * Only an ANNOUNCE is flooded; questions and answers are unicast. */
	if (vn && vn->tx_sa && flooded == (m.op == SA_MSG_ANNOUNCE) &&
	    vnet_addr_eq(m.op == SA_MSG_REQUEST ? &m.asker : &m.sender, from) &&
	    sa_msg_verify(vn->sa_tag, pkt))
		ok = dispatch(dp, vn, &m);
	if (!ok)
		(vn ? &vn->st : &dp->st)->drop_sa++;
	return ok;
}
