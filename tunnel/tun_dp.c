/*
 * The data path object: the underlay socket, the vnets, the peer list, and
 * the two entry points vnetd's event loop calls when an fd is readable.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tun_priv.h"
#include "tun_seg.h"

uint64_t tun_dp_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The key of our SA exchange challenges: new at every start, so no
 * answer to a question of an earlier data path can count. */
static int dp_challenge_key(struct tun_dp *dp)
{
	uint8_t k[ESP_CTL_KEY_LEN];
	int ok = RAND_bytes(k, sizeof(k)) == 1 && (dp->chal = esp_tag_new(k)) != NULL;

	OPENSSL_cleanse(k, sizeof(k));
	return ok ? 0 : -EIO;
}

static int dp_alloc(struct tun_dp *dp)
{
	int err;

	if ((err = tun_udp_rxq_init(&dp->rxq)) < 0 || (err = dp_challenge_key(dp)) < 0)
		return err;
	dp->slots = malloc((size_t)TUN_TX_SLOTS * TUN_SLOT_SIZE);
	dp->tapbuf = malloc(TUN_TAP_BIG);
	if (!dp->slots || !dp->tapbuf)
		return -ENOMEM;
	return 0;
}

struct tun_dp *tun_dp_new(const struct tun_udp_conf *conf, uint64_t flood_seq0,
			  const struct tun_dp_ops *ops, void *arg)
{
	struct tun_dp *dp = calloc(1, sizeof(*dp));
	int err;

	if (!dp)
		return NULL;
	dp->udp.fd = -1;
	if ((err = tun_udp_open(&dp->udp, conf)) < 0 || (err = dp_alloc(dp)) < 0) {
		tun_dp_free(dp);
		errno = -err;
		return NULL;
	}
	dp->local = conf->local;
	dp->flood_seq = flood_seq0;
	if (ops)
		dp->ops = *ops;
	dp->arg = arg;
	if (dp->udp.has_group) {
		dp->group.sin_family = AF_INET;
		dp->group.sin_port = htons(dp->udp.port);
		dp->group.sin_addr = dp->udp.group;
	}
	dp->now_ms = tun_dp_clock_ms();
	dp->tx_st = &dp->st;
	return dp;
}

void tun_dp_free(struct tun_dp *dp)
{
	if (!dp)
		return;
	while (dp->vnets)
		tun_dp_vnet_del(dp, dp->vnets);
	tun_rxsa_flush(dp, NULL);
	esp_tag_free(dp->chal);
	free(dp->slots);
	free(dp->tapbuf);
	tun_udp_rxq_fini(&dp->rxq);
	tun_udp_close(&dp->udp);
	free(dp);
}

int tun_dp_fd(const struct tun_dp *dp)
{
	return dp->udp.fd;
}

void tun_dp_caps(const struct tun_dp *dp, struct tun_udp_caps *caps)
{
	*caps = dp->udp.caps;
}

int tun_dp_peers_set(struct tun_dp *dp, const struct vnet_addr *peers, size_t n)
{
	struct sockaddr_in tmp[TUN_PEERS_MAX];
	size_t i;
	int err;

	if (n > TUN_PEERS_MAX)
		return -E2BIG;
	for (i = 0; i < n; i++)
		if ((err = tun_udp_sockaddr(&dp->udp, &peers[i], &tmp[i])) < 0)
			return err;
	memcpy(dp->peers, tmp, n * sizeof(tmp[0]));
	dp->npeers = n;
	/* New peers join whole subnets to ours: tell them (and, through
	 * them, those subnets) our SAs before any frame has to wait for one. */
	dp->now_ms = tun_dp_clock_ms();
	for (struct tun_vnet *vn = dp->vnets; vn; vn = vn->next)
		tun_saex_announce(dp, vn);
	return 0;
}

struct tun_vnet *tun_dp_vnet_find(const struct tun_dp *dp, const struct vnet_id *id)
{
	struct tun_vnet *vn;

	for (vn = dp->vnets; vn; vn = vn->next)
		if (vnet_id_eq(&vn->id, id))
			return vn;
	return NULL;
}

struct tun_vnet *tun_dp_vnet_add(struct tun_dp *dp, const struct tun_vnet_conf *vc)
{
	struct tun_vnet *vn;

	if (tun_dp_vnet_find(dp, &vc->id)) {
		errno = EEXIST;
		return NULL;
	}
	dp->now_ms = tun_dp_clock_ms();
	vn = tun_vnet_new(dp, vc);
	if (!vn)
		return NULL;
	vn->next = dp->vnets;
	dp->vnets = vn;
	/* Hosts that hear it answer with their SAs and ask for ours. */
	tun_saex_announce(dp, vn);
	return vn;
}

void tun_dp_vnet_del(struct tun_dp *dp, struct tun_vnet *vn)
{
	struct tun_vnet **pp;

	if (!vn)
		return;
	for (pp = &dp->vnets; *pp; pp = &(*pp)->next) {
		if (*pp == vn) {
			*pp = vn->next;
			break;
		}
	}
	tun_rxsa_flush(dp, vn);
	if (dp->tx_st == &vn->st) /* left there by tun_dp_rx_tap(vn) */
		dp->tx_st = &dp->st;
	tun_vnet_free(vn);
}

void tun_dp_stats(const struct tun_dp *dp, struct tun_stats *out)
{
	*out = dp->st;
}

/* Splits a super-frame into slots and sends each segment. */
static void tap_super(struct tun_dp *dp, struct tun_vnet *vn, size_t len,
		      const struct virtio_net_hdr *vh)
{
	struct tun_seg seg;
	int n;

	if (tun_seg_start(&seg, dp->tapbuf, len, vh) < 0) {
		vn->st.drop_malformed++;
		return;
	}
	for (;;) {
		uint8_t *slot = tun_encap_slot(dp, 1 + dp->npeers);

		n = tun_seg_next(&seg, slot + TUN_SLOT_HEAD, TUN_SLOT_DATA);
		if (n <= 0) {
			tun_encap_unslot(dp, slot);
			if (n < 0)
				vn->st.drop_malformed++;
			return;
		}
		tun_encap_frame(dp, vn, slot, (size_t)n);
	}
}

/* One read from a TAP with offloads: a plain frame, one needing its
 * checksum completed, or a super-frame. */
static ssize_t tap_read_offload(struct tun_dp *dp, struct tun_vnet *vn)
{
	struct virtio_net_hdr vh;
	ssize_t n = tun_tap_read(&vn->tap, dp->tapbuf, TUN_TAP_BIG, &vh);
	uint8_t *slot;

	if (n <= 0)
		return n;
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		tap_super(dp, vn, (size_t)n, &vh);
		return n;
	}
	if ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    tun_seg_csum(dp->tapbuf, (size_t)n, &vh) < 0) {
		vn->st.drop_malformed++;
		return n;
	}
	if ((size_t)n > TUN_SLOT_DATA) {
		vn->st.drop_malformed++;
		return n;
	}
	slot = tun_encap_slot(dp, 1 + dp->npeers);
	memcpy(slot + TUN_SLOT_HEAD, dp->tapbuf, (size_t)n);
	tun_encap_frame(dp, vn, slot, (size_t)n);
	return n;
}

/* One read from a plain TAP (or test socket), straight into a slot. */
static ssize_t tap_read_plain(struct tun_dp *dp, struct tun_vnet *vn)
{
	struct virtio_net_hdr vh;
	uint8_t *slot = tun_encap_slot(dp, 1 + dp->npeers);
	ssize_t n = tun_tap_read(&vn->tap, slot + TUN_SLOT_HEAD, TUN_SLOT_DATA, &vh);

	if (n <= 0) {
		tun_encap_unslot(dp, slot);
		return n;
	}
	tun_encap_frame(dp, vn, slot, (size_t)n);
	return n;
}

int tun_dp_rx_tap(struct tun_dp *dp, struct tun_vnet *vn)
{
	int frames = 0;
	ssize_t n = 0;

	dp->now_ms = tun_dp_clock_ms();
	dp->tx_st = &vn->st;
	while (frames < TUN_TAP_BATCH) {
		n = vn->tap.hdr_len ? tap_read_offload(dp, vn) : tap_read_plain(dp, vn);
		if (n <= 0)
			break;
		frames++;
	}
	tun_encap_flush(dp);
	if (vn->miss.npending)
		tun_miss_report(dp, vn);
	return n < 0 && frames == 0 ? (int)n : frames;
}

static void rx_train(struct tun_dp *dp, const struct tun_udp_dgram *d)
{
	size_t off;

	for (off = 0; off < d->len; off += d->seg) {
		size_t len = d->len - off < d->seg ? d->len - off : d->seg;

		tun_decap_dgram(dp, d->data + off, len, &d->from, d->mcast);
	}
}

void tun_dp_rx_dgrams(struct tun_dp *dp, const struct tun_udp_dgram *d, int n)
{
	struct tun_vnet *vn;
	int i;

	dp->now_ms = tun_dp_clock_ms();
	dp->tx_st = &dp->st;
	for (i = 0; i < n; i++)
		rx_train(dp, &d[i]);
	/* Merged TCP segments point into the receive buffers: write them
	 * out before the next batch reuses those. */
	for (vn = dp->vnets; vn; vn = vn->next)
		vn->st.drop_noroute += tun_gro_flush(&vn->gro, &vn->tap);
	/* Floods relayed to the group or to our peers were queued on the way. */
	tun_encap_flush(dp);
}

int tun_dp_rx_udp(struct tun_dp *dp)
{
	int n = tun_udp_recv(&dp->udp, &dp->rxq, &dp->st.drop_malformed);

	if (n > 0)
		tun_dp_rx_dgrams(dp, dp->rxq.d, n);
	return n;
}

int tun_dp_varp_send(struct tun_dp *dp, struct tun_vnet *vn, const struct vnet_addr *dst,
		     const struct varp_msg *msg)
{
	struct sockaddr_in to;
	uint8_t *slot;
	struct tun_stats *saved = dp->tx_st;
	size_t lost;
	int err;

	if (!vnet_id_eq(&msg->vnet, &vn->id))
		return -EINVAL;
	if (dst && (err = tun_udp_sockaddr(&dp->udp, dst, &to)) < 0)
		return err;
	slot = tun_encap_slot(dp, 1 + dp->npeers);
	varp_encode(msg, slot + TUN_SLOT_HEAD);
	err = tun_encap_send(dp, vn, slot, VARP_MSG_LEN, PKT_VARP, dst ? &to : NULL);
	if (err < 0) {
		tun_encap_unslot(dp, slot);
		return err;
	}
	vn->st.varp_out++;
	/* VARP is control traffic: send it now, not at the next batch. */
	dp->tx_st = &vn->st;
	lost = tun_encap_flush(dp);
	dp->tx_st = saved;
	return lost ? -EAGAIN : 0;
}
