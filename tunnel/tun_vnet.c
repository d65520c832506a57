/*
 * Per-vnet state: TAP, security, the SA we send with, counters, and the
 * listing of its SAs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tun_priv.h"

/* A new sending SA: fresh nonce and SPI (never the previous SPI), so that
 * no (key, nonce) pair can repeat whatever became of earlier SAs. */
static int tx_sa_make(struct tun_vnet *vn, struct esp_sa **out, uint8_t nonce[ESP_NONCE_LEN])
{
	uint32_t prev = vn->tx_sa ? esp_sa_spi(vn->tx_sa) : 0, spi;
	struct esp_sa_keys keys;
	int err;

	*out = NULL;
	err = esp_key_nonce_new(nonce);
	if (err == 0)
		err = esp_key_spi_new(&vn->id, &vn->dp->local, prev, &spi);
	if (err == 0)
		err =
		    esp_key_derive(&vn->key, &vn->id, vn->suite, &vn->dp->local, spi, nonce, &keys);
	if (err == 0) {
		*out = esp_sa_new(&keys, ESP_SA_OUT);
		err = *out ? 0 : -errno;
	}
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (err == 0)
		esp_sa_set_rekey_seq(*out, TUN_REKEY_SEQ);
	return err;
}

/* The vnet's control keys: SA exchange and FLOOD tags. */
static int tags_make(struct tun_vnet *vn)
{
	uint8_t k[ESP_CTL_KEY_LEN];
	int err = esp_key_derive_ctl(&vn->key, &vn->id, ESP_CTL_SA, k);

	if (err == 0 && !(vn->sa_tag = esp_tag_new(k)))
		err = -errno;
	if (err == 0)
		err = esp_key_derive_ctl(&vn->key, &vn->id, ESP_CTL_FLOOD, k);
	if (err == 0 && !(vn->flood_tag = esp_tag_new(k)))
		err = -errno;
	OPENSSL_cleanse(k, sizeof(k));
	return err;
}

static int conf_check(const struct tun_vnet_conf *vc)
{
	if (vnet_id_check(&vc->id) != VNET_ID_OK || !vc->macs || vc->tap_fd < 0)
		return -EINVAL;
	if (vc->suite != ESP_SUITE_NONE && !esp_sa_suite_info(vc->suite))
		return -EINVAL;
	return 0;
}

static int secure_init(struct tun_vnet *vn)
{
	int err = tags_make(vn);

	if (err == 0)
		err = tx_sa_make(vn, &vn->tx_sa, vn->tx_nonce);
	return err;
}

struct tun_vnet *tun_vnet_new(struct tun_dp *dp, const struct tun_vnet_conf *vc)
{
	struct tun_vnet *vn;
	int err;

	if ((err = conf_check(vc)) < 0) {
		errno = -err;
		return NULL;
	}
	if (!(vn = calloc(1, sizeof(*vn))))
		return NULL;
	vn->dp = dp;
	vn->id = vc->id;
	vn->suite = vc->suite;
	vn->macs = vc->macs;
	vn->key = vc->key;
	tun_miss_init(&vn->miss, dp->now_ms);
	vn->floods = replay_flood_new(TUN_FLOOD_ORIGINS, TUN_FLOOD_AGE_MS);
	if (!vn->floods)
		err = -ENOMEM;
	if (err < 0 || (err = tun_tap_init(&vn->tap, vc->tap_fd)) < 0 ||
	    (vn->suite != ESP_SUITE_NONE && (err = secure_init(vn)) < 0)) {
		tun_vnet_free(vn);
		errno = -err;
		return NULL;
	}
	return vn;
}

void tun_vnet_free(struct tun_vnet *vn)
{
	if (!vn)
		return;
	esp_sa_free(vn->tx_sa);
	replay_flood_free(vn->floods);
	esp_tag_free(vn->sa_tag);
	esp_tag_free(vn->flood_tag);
	esp_key_wipe(&vn->key);
	OPENSSL_cleanse(vn->tx_nonce, sizeof(vn->tx_nonce));
	free(vn);
}

int tun_vnet_rekey(struct tun_vnet *vn)
{
	uint8_t nonce[ESP_NONCE_LEN];
	struct esp_sa *sa;
	int err;

	if (vn->suite == ESP_SUITE_NONE)
		return -EINVAL;
	if ((err = tx_sa_make(vn, &sa, nonce)) < 0)
		return err;
	esp_sa_free(vn->tx_sa);
	vn->tx_sa = sa;
	memcpy(vn->tx_nonce, nonce, ESP_NONCE_LEN);
	OPENSSL_cleanse(nonce, sizeof(nonce));
	vn->rekey_asked = false;
	/* Tell everyone now (control packets go out at once, also from
	 * inside a batch). */
	vn->dp->now_ms = tun_dp_clock_ms();
	tun_saex_announce(vn->dp, vn);
	return 0;
}

int tun_vnet_sa_ask(struct tun_vnet *vn, const struct vnet_addr *sender)
{
	struct tun_rxsa *e;
	struct sockaddr_in sin;

	if (!vn->tx_sa)
		return -EINVAL;
	if (tun_udp_sockaddr(&vn->dp->udp, sender, &sin) < 0)
		return -EAFNOSUPPORT;
	vn->dp->now_ms = tun_dp_clock_ms();
	if (!(e = tun_rxsa_get(vn->dp, vn, sender)))
		return -ENOSPC;
	tun_saex_ask(vn->dp, e, 0);
	return 0;
}

void tun_vnet_stats(const struct tun_vnet *vn, struct tun_stats *out)
{
	*out = vn->st;
}

const struct vnet_id *tun_vnet_id(const struct tun_vnet *vn)
{
	return &vn->id;
}

int tun_vnet_tap_fd(const struct tun_vnet *vn)
{
	return vn->tap.fd;
}

bool tun_vnet_offload(const struct tun_vnet *vn)
{
	return vn->tap.offload;
}

int tun_vnet_sa_foreach(const struct tun_vnet *vn,
			int (*fn)(const struct tun_sa_info *sa, void *arg), void *arg)
{
	struct tun_sa_info si = {.dir = ESP_SA_OUT, .sender = vn->dp->local};
	int rc;

	if (vn->tx_sa) {
		si.spi = esp_sa_spi(vn->tx_sa);
		si.seq = esp_sa_seq(vn->tx_sa);
		si.keys = esp_sa_keys(vn->tx_sa);
		if ((rc = fn(&si, arg)) != 0)
			return rc;
	}
	return tun_rxsa_foreach(vn->dp, vn, fn, arg);
}
