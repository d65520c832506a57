/*
 * Keys and epochs: the per-vnet key file (read with esp_key, mode checked),
 * the rekey callback of the data path (bump and persist the epoch, then
 * switch), and the SA listing of `vn sa-list`, which derives our outbound
 * SA the same way the data path and every receiver do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "tun.h"
#include "vnetd.h"

int sa_keys_load(struct vnetd_vnet *v, char *msg, size_t msglen)
{
	char why[512];
	int rc;

	if (v->conf.security == VNET_SEC_NONE)
		return 0;
	rc = esp_key_read(v->conf.key_file, &v->key, why, sizeof(why));
	if (rc < 0)
		snprintf(msg, msglen, "%s: key-file %s", v->name, why);
	return rc;
}

void sa_keys_rekey(void *arg, struct tun_vnet *tv)
{
	struct vnetd *d = arg;
	struct vnetd_vnet *v = vnet_mgr_find(d, tun_vnet_id(tv));
	uint16_t epoch;
	int rc;

	if (!v)
		return;
	/* Persist first: an epoch must never be used twice with one key. */
	rc = persist_epoch_next(d, &epoch);
	if (rc < 0) {
		log_error("%s: rekey: cannot persist a new epoch", v->name);
		return;
	}
	d->epoch = epoch;
	rc = tun_vnet_rekey(tv, epoch);
	if (rc < 0) {
		log_error("%s: rekey to epoch %u: %s", v->name, epoch, strerror(-rc));
		return;
	}
	v->epoch = epoch;
	log_info("%s: rekeyed, epoch %u", v->name, epoch);
}

static struct vn_ctl_sa *sa_keys_slot(struct vn_ctl_sa **list, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct vn_ctl_sa *l = realloc(*list, ncap * sizeof(*l));
		if (!l)
			return NULL;
		*list = l;
		*cap = ncap;
	}
	memset(&(*list)[*n], 0, sizeof(**list));
	return &(*list)[(*n)++];
}

static void sa_keys_copy(const struct esp_sa_keys *k, struct vn_ctl_sa *out)
{
	const struct esp_suite_info *si = esp_sa_suite_info(k->suite);

	memcpy(out->enc_key, k->enc_key, si->enc_key_len);
	memcpy(out->enc_key + si->enc_key_len, k->salt, si->salt_len);
	out->enc_key_len = (uint8_t)(si->enc_key_len + si->salt_len);
	memcpy(out->auth_key, k->auth_key, si->auth_key_len);
	out->auth_key_len = (uint8_t)si->auth_key_len;
}

int sa_keys_list(struct vnetd_vnet *v, bool with_keys, struct vn_ctl_sa **list, size_t *n,
		 size_t *cap)
{
	struct esp_sa_keys k;
	struct vn_ctl_sa *sa;
	int rc;

	if (v->conf.security == VNET_SEC_NONE)
		return 0;
	rc = esp_key_derive(&v->key, &v->conf.id, v->conf.suite, &v->d->local, v->epoch, &k);
	if (rc < 0)
		return rc;
	sa = sa_keys_slot(list, n, cap);
	if (!sa) {
		OPENSSL_cleanse(&k, sizeof(k));
		return -ENOMEM;
	}
	memcpy(sa->id, v->conf.id.b, sizeof(sa->id));
	memcpy(sa->src, v->d->local.b, sizeof(sa->src));
	/* Our SA is used for the group, every peer and every unicast. */
	memcpy(sa->dst, v->d->conf.group.b, sizeof(sa->dst));
	snprintf(sa->suite, sizeof(sa->suite), "%s", esp_sa_suite_name(k.suite));
	sa->spi = k.spi;
	sa->dir = VN_CTL_SA_OUT;
	if (with_keys)
		sa_keys_copy(&k, sa);
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}
