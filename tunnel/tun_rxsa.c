/*
 * Receive SAs, found by (sender address, SPI). The SPI's high half is the
 * hash of (vnet, sender) and its low half the sender's epoch, so one entry
 * per (sender, hash) holds the sender's current SA and, for a grace period
 * after it moved to a newer epoch, the previous one. An SA is derived on
 * first sight of a sender or epoch but kept only once a packet verified
 * under it, so forged packets cannot fill the table.
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

static bool derive_allowed(struct tun_dp *dp)
{
	uint64_t refill = (dp->now_ms - dp->derive_ms) * TUN_DERIVE_PER_S / 1000u;

	if (refill) {
		dp->derive_tokens = (uint32_t)(dp->derive_tokens + refill > TUN_DERIVE_BURST
						   ? TUN_DERIVE_BURST
						   : dp->derive_tokens + refill);
		dp->derive_ms = dp->now_ms;
	}
	if (!dp->derive_tokens)
		return false;
	dp->derive_tokens--;
	return true;
}

/* Derives the SA of (vn, sender, epoch) and tries the packet with it; on
 * ESP_OK the SA is returned in *sa_out, else freed. Over the derivation
 * budget the packet is refused as ESP_ERROR (counted as drop_noroute). */
static enum esp_result derive_try(struct tun_vnet *vn, const struct vnet_addr *sender,
				  uint16_t epoch, uint8_t *pkt, size_t len,
				  struct esp_decap_out *out, struct esp_sa **sa_out)
{
	struct esp_sa_keys keys;
	struct esp_sa *sa = NULL;
	enum esp_result r;

	*sa_out = NULL;
	if (!derive_allowed(vn->dp))
		return ESP_ERROR;
	if (esp_key_derive(&vn->key, &vn->id, vn->suite, sender, epoch, &keys) == 0)
		sa = esp_sa_new(&keys, ESP_SA_IN);
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (!sa)
		return ESP_ERROR;
	r = esp_sa_decap(sa, pkt, len, out);
	if (r != ESP_OK)
		esp_sa_free(sa);
	else
		*sa_out = sa;
	return r;
}

static void insert(struct tun_dp *dp, struct tun_vnet *vn, const struct vnet_addr *sender,
		   uint16_t hash16, uint16_t epoch, struct esp_sa *sa)
{
	struct tun_rxsa *e;
	size_t b = bucket(sender, hash16);

	/* A full table still delivers, it only stops caching: every packet
	 * of a new sender then pays a derivation. */
	if (dp->nrxsa >= TUN_RXSA_MAX || !(e = calloc(1, sizeof(*e)))) {
		esp_sa_free(sa);
		return;
	}
	e->vn = vn;
	e->sender = *sender;
	e->hash16 = hash16;
	e->epoch = epoch;
	e->cur = sa;
	e->next = dp->rxsa[b];
	dp->rxsa[b] = e;
	dp->nrxsa++;
}

/* A known sender: its current or previous epoch, or a newer one. */
static enum esp_result decap_known(struct tun_dp *dp, struct tun_rxsa *e, uint16_t epoch,
				   uint8_t *pkt, size_t len, struct esp_decap_out *out)
{
	struct esp_sa *sa;
	enum esp_result r;

	if (epoch == e->epoch)
		return esp_sa_decap(e->cur, pkt, len, out);
	if (e->prev && epoch == e->prev_epoch && dp->now_ms < e->prev_until_ms)
		return esp_sa_decap(e->prev, pkt, len, out);
	if (!esp_key_epoch_newer(epoch, e->epoch))
		return ESP_REPLAY; /* an old epoch: replayed or long delayed */
	r = derive_try(e->vn, &e->sender, epoch, pkt, len, out, &sa);
	if (r != ESP_OK)
		return r;
	esp_sa_free(e->prev);
	e->prev = e->cur;
	e->prev_epoch = e->epoch;
	e->prev_until_ms = dp->now_ms + TUN_SA_GRACE_S * 1000u;
	e->cur = sa;
	e->epoch = epoch;
	return ESP_OK;
}

enum esp_result tun_rxsa_decap(struct tun_dp *dp, const struct vnet_addr *sender, uint32_t spi,
			       uint8_t *pkt, size_t len, struct esp_decap_out *out,
			       struct tun_vnet **vn_out)
{
	uint16_t hash16 = (uint16_t)(spi >> 16), epoch = (uint16_t)spi;
	struct tun_rxsa *e = find(dp, sender, hash16);
	struct tun_vnet *vn;
	struct esp_sa *sa;
	enum esp_result r;

	if (e) {
		*vn_out = e->vn;
		return epoch ? decap_known(dp, e, epoch, pkt, len, out) : ESP_MALFORMED;
	}
	*vn_out = vn = vnet_for_hash(dp, sender, hash16);
	if (!vn || !epoch)
		return ESP_MALFORMED;
	r = derive_try(vn, sender, epoch, pkt, len, out, &sa);
	if (r == ESP_OK)
		insert(dp, vn, sender, hash16, epoch, sa);
	return r;
}

void tun_rxsa_flush(struct tun_dp *dp, const struct tun_vnet *vn)
{
	size_t b;

	for (b = 0; b < TUN_RXSA_BUCKETS; b++) {
		struct tun_rxsa **pp = &dp->rxsa[b];

		while (*pp) {
			struct tun_rxsa *e = *pp;

			if (vn && e->vn != vn) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			esp_sa_free(e->cur);
			esp_sa_free(e->prev);
			free(e);
			dp->nrxsa--;
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
			if (e->vn != vn)
				continue;
			rc = rxsa_one(e, e->cur, false, fn, arg);
			if (rc == 0 && e->prev && now < e->prev_until_ms)
				rc = rxsa_one(e, e->prev, true, fn, arg);
		}
	}
	return rc;
}
