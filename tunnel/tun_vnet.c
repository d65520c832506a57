/*
 * Per-vnet state: TAP, security, the SA we send with, counters, and the
 * listing of its SAs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tun_priv.h"

static int tx_sa_make(struct tun_vnet *vn, uint16_t epoch, struct esp_sa **out)
{
	struct esp_sa_keys keys;
	int err;

	*out = NULL;
	err = esp_key_derive(&vn->key, &vn->id, vn->suite, &vn->dp->local, epoch, &keys);
	if (err == 0) {
		*out = esp_sa_new(&keys, ESP_SA_OUT);
		err = *out ? 0 : -errno;
	}
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (err == 0)
		esp_sa_set_rekey_seq(*out, TUN_REKEY_SEQ);
	return err;
}

static int conf_check(const struct tun_vnet_conf *vc)
{
	if (vnet_id_check(&vc->id) != VNET_ID_OK || !vc->macs || vc->tap_fd < 0)
		return -EINVAL;
	if (vc->suite != ESP_SUITE_NONE && (!esp_sa_suite_info(vc->suite) || vc->epoch == 0))
		return -EINVAL;
	return 0;
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
	vn->epoch = vc->epoch;
	tun_miss_init(&vn->miss, dp->now_ms);
	if ((err = tun_tap_init(&vn->tap, vc->tap_fd)) < 0 ||
	    (vn->suite != ESP_SUITE_NONE && (err = tx_sa_make(vn, vn->epoch, &vn->tx_sa)) < 0)) {
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
	esp_key_wipe(&vn->key);
	free(vn);
}

int tun_vnet_rekey(struct tun_vnet *vn, uint16_t epoch)
{
	struct esp_sa *sa;
	int err;

	if (vn->suite == ESP_SUITE_NONE || epoch == 0)
		return -EINVAL;
	if ((err = tx_sa_make(vn, epoch, &sa)) < 0)
		return err;
	esp_sa_free(vn->tx_sa);
	vn->tx_sa = sa;
	vn->epoch = epoch;
	vn->rekey_asked = false;
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
