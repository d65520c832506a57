/*
 * Receive SAs, found by (sender address, SPI). The SPI's high half is the
 * hash of (vnet, sender), so one entry per (sender, hash) holds what we know
 * of that sender on that vnet: its current SA, for a grace period after it
 * changed the previous one, and the question we asked it. SAs come only
 * from verified answers to our own fresh questions (tun_saex.c), never
 * from a packet alone: a packet with an unknown SPI is dropped and makes us
 * ask (at most once per TUN_SA_ASK_MS per sender and vnet).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "esp_key.h"
#include "tun_priv.h"

static size_t bucket(const struct vnet_addr *sender, uint16_t hash16)
{
	uint32_t h = 2166136261u ^ hash16;
	size_t i;

	for (i = 0; i < VNET_ADDR_LEN; i++)
		h = (h ^ sender->b[i]) * 16777619u;
	return h % TUN_RXSA_BUCKETS;
}

static struct tun_rxsa *find(const struct tun_dp *dp, const struct vnet_addr *sender,
			     uint16_t hash16)
{
	struct tun_rxsa *e;

	for (e = dp->rxsa[bucket(sender, hash16)]; e; e = e->next)
		if (e->hash16 == hash16 && vnet_addr_eq(&e->sender, sender))
			return e;
	return NULL;
}

struct tun_vnet *tun_rxsa_vnet(struct tun_dp *dp, const struct vnet_addr *sender, uint32_t spi)
{
	struct tun_rxsa *e = find(dp, sender, (uint16_t)(spi >> 16));

	return e ? e->vn : NULL;
}

/* The secured vnet whose SPI hash for `sender` is hash16. Two vnets
 * colliding for one sender (1 in 65536) is not resolved: the first wins. */
static struct tun_vnet *vnet_for_hash(const struct tun_dp *dp, const struct vnet_addr *sender,
				      uint16_t hash16)
{
	struct tun_vnet *vn;

	for (vn = dp->vnets; vn; vn = vn->next)
		if (vn->suite != ESP_SUITE_NONE && esp_key_spi_hash(&vn->id, sender) == hash16)
			return vn;
	return NULL;
}

static void pend_link(struct tun_dp *dp, struct tun_rxsa *e)
{
	e->pend_prev = dp->pend_tail;
	e->pend_next = NULL;
	if (dp->pend_tail)
		dp->pend_tail->pend_next = e;
	else
		dp->pend_head = e;
	dp->pend_tail = e;
	dp->npending++;
}

static void pend_unlink(struct tun_dp *dp, struct tun_rxsa *e)
{
	if (e->pend_prev)
		e->pend_prev->pend_next = e->pend_next;
	else
		dp->pend_head = e->pend_next;
	if (e->pend_next)
		e->pend_next->pend_prev = e->pend_prev;
	else
		dp->pend_tail = e->pend_prev;
	e->pend_prev = e->pend_next = NULL;
	dp->npending--;
}

/* Unhooks e from its chain (and the pending list) and frees it. */
static void entry_free(struct tun_dp *dp, struct tun_rxsa *e)
{
	struct tun_rxsa **pp = &dp->rxsa[bucket(&e->sender, e->hash16)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	if (!e->cur)
		pend_unlink(dp, e);
	esp_sa_free(e->cur);
	esp_sa_free(e->prev);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
	dp->nrxsa--;
}

/* Room for one more pending entry: anyone can make those by sending a
 * packet, so the oldest gives way; entries with an SA never do. */
static bool make_room(struct tun_dp *dp)
{
	if ((dp->nrxsa >= TUN_RXSA_MAX || dp->npending >= TUN_RXSA_PENDING) && dp->pend_head)
		entry_free(dp, dp->pend_head);
	return dp->nrxsa < TUN_RXSA_MAX;
}

struct tun_rxsa *tun_rxsa_get(struct tun_dp *dp, struct tun_vnet *vn,
			      const struct vnet_addr *sender)
{
	uint16_t hash16 = esp_key_spi_hash(&vn->id, sender);
	struct tun_rxsa *e = find(dp, sender, hash16);
	size_t b;

	if (e)
		return e->vn == vn ? e : NULL;
	if (!make_room(dp) || !(e = calloc(1, sizeof(*e))))
		return NULL;
	b = bucket(sender, hash16);
	e->vn = vn;
	e->sender = *sender;
	e->hash16 = hash16;
	e->next = dp->rxsa[b];
	dp->rxsa[b] = e;
	dp->nrxsa++;
	pend_link(dp, e);
	return e;
}

struct esp_sa *tun_rxsa_lookup(struct tun_dp *dp, const struct vnet_addr *sender, uint32_t spi,
			       struct tun_vnet **vn_out)
{
	uint16_t hash16 = (uint16_t)(spi >> 16);
	struct tun_rxsa *e = find(dp, sender, hash16);
	struct tun_vnet *vn;

	if (e) {
		*vn_out = e->vn;
		if (e->cur && esp_sa_spi(e->cur) == spi)
			return e->cur;
		if (e->prev && esp_sa_spi(e->prev) == spi && dp->now_ms < e->prev_until_ms)
			return e->prev;
		tun_saex_ask(dp, e, spi);
		return NULL;
	}
	*vn_out = vn = vnet_for_hash(dp, sender, hash16);
	if (vn && (e = tun_rxsa_get(dp, vn, sender)))
		tun_saex_ask(dp, e, spi);
	return NULL;
}

/* True if (spi, nonce) is the SA `sa` with nonce `have`. */
static bool same_sa(const struct esp_sa *sa, const uint8_t *have, uint32_t spi,
		    const uint8_t *nonce)
{
	return sa && esp_sa_spi(sa) == spi && CRYPTO_memcmp(have, nonce, ESP_NONCE_LEN) == 0;
}

static struct esp_sa *sa_make(const struct tun_rxsa *e, uint32_t spi, const uint8_t *nonce,
			      uint32_t seq)
{
	const struct tun_vnet *vn = e->vn;
	struct esp_sa_keys keys;
	struct esp_sa *sa = NULL;

	if (esp_key_derive(&vn->key, &vn->id, vn->suite, &e->sender, spi, nonce, &keys) == 0)
		sa = esp_sa_new(&keys, ESP_SA_IN);
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (sa && esp_sa_set_replay_floor(sa, seq) < 0) {
		esp_sa_free(sa);
		sa = NULL;
	}
	return sa;
}

int tun_rxsa_install(struct tun_dp *dp, struct tun_rxsa *e, uint32_t spi,
		     const uint8_t nonce[ESP_NONCE_LEN], uint32_t seq, uint64_t slot)
{
	struct esp_sa *sa;

	/* An answer repeated (or replayed) must not reset a replay window,
	 * nor bring back the SA the sender just left. */
	if (same_sa(e->cur, e->cur_nonce, spi, nonce) ||
	    same_sa(e->prev, e->prev_nonce, spi, nonce))
		return 1;
	/* An answer to an older question than the one that told us cur (a
	 * late or replayed one) is older news: keep cur. */
	if (e->cur && slot < e->cur_slot)
		return 1;
	if ((uint16_t)(spi >> 16) != e->hash16)
		return -EINVAL;
	if (!(sa = sa_make(e, spi, nonce, seq)))
		return errno ? -errno : -EIO;
	if (!e->cur) {
		pend_unlink(dp, e);
	} else if (esp_sa_spi(e->cur) != spi) {
		/* Packets of the old SA may still be in flight. */
		esp_sa_free(e->prev);
		e->prev = e->cur;
		memcpy(e->prev_nonce, e->cur_nonce, ESP_NONCE_LEN);
		e->prev_until_ms = dp->now_ms + TUN_SA_GRACE_S * 1000u;
		e->cur = NULL;
	}
	esp_sa_free(e->cur);
	e->cur = sa;
	e->cur_slot = slot;
	memcpy(e->cur_nonce, nonce, ESP_NONCE_LEN);
	return 0;
}

void tun_rxsa_flush(struct tun_dp *dp, const struct tun_vnet *vn)
{
	for (size_t b = 0; b < TUN_RXSA_BUCKETS; b++) {
		struct tun_rxsa *e = dp->rxsa[b], *next;

		for (; e; e = next) {
			next = e->next;
			if (!vn || e->vn == vn)
				entry_free(dp, e);
		}
	}
}

/* One SA of entry e for the listing. */
static int rxsa_one(const struct tun_rxsa *e, const struct esp_sa *sa, bool grace,
		    int (*fn)(const struct tun_sa_info *sa, void *arg), void *arg)
{
	struct tun_sa_info si = {
	    .dir = ESP_SA_IN,
	    .sender = e->sender,
	    .spi = esp_sa_spi(sa),
	    .seq = esp_sa_seq(sa),
	    .grace = grace,
	    .keys = esp_sa_keys(sa),
	};

	return fn(&si, arg);
}

int tun_rxsa_foreach(const struct tun_dp *dp, const struct tun_vnet *vn,
		     int (*fn)(const struct tun_sa_info *sa, void *arg), void *arg)
{
	uint64_t now = tun_dp_clock_ms();
	int rc = 0;

	for (size_t b = 0; b < TUN_RXSA_BUCKETS && rc == 0; b++) {
		for (const struct tun_rxsa *e = dp->rxsa[b]; e && rc == 0; e = e->next) {
			if (e->vn != vn || !e->cur)
				continue;
			rc = rxsa_one(e, e->cur, false, fn, arg);
			if (rc == 0 && e->prev && now < e->prev_until_ms)
				rc = rxsa_one(e, e->prev, true, fn, arg);
		}
	}
	return rc;
}
