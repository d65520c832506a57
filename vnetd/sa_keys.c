/*
 * Keys: the per-vnet key file (read with esp_key, mode and owner checked),
 * the rekey callback of the data path (a new SA with fresh randomness,
 * retried every second until it succeeds), and the SA listing of
 * `vn sa-list`: the data path's own SAs, ours and every sender's, with
 * their sequence numbers.
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

#define SA_KEYS_RETRY_MS 1000

/* Nothing of the old SA is reused, so a rekey needs no state on disk; it
 * fails only without randomness or memory, and then the old SA goes on
 * until it is exhausted while we retry. */
static void sa_keys_rekey_now(struct vnetd_vnet *v)
{
	int rc = tun_vnet_rekey(v->tv);

	if (rc == 0) {
		log_info("%s: rekeyed", v->name);
		return;
	}
	log_error("%s: rekey failed: %s; retrying in %d ms", v->name, strerror(-rc),
		  SA_KEYS_RETRY_MS);
	if (!ev_timer_active(&v->rekey_timer))
		ev_timer_start(v->d->loop, &v->rekey_timer, SA_KEYS_RETRY_MS, 0);
}

void sa_keys_rekey_retry(struct ev_timer *t, void *arg)
{
	struct vnetd_vnet *v = arg;

	(void)t;
	if (v->tv)
		sa_keys_rekey_now(v);
}

void sa_keys_rekey(void *arg, struct tun_vnet *tv)
{
	struct vnetd *d = arg;
	struct vnetd_vnet *v = vnet_mgr_find(d, tun_vnet_id(tv));

	if (v && v->tv == tv)
		sa_keys_rekey_now(v);
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

struct sa_keys_walk {
	struct vnetd_vnet *v;
	bool with_keys;
	struct vn_ctl_sa **list;
	size_t *n, *cap;
};

static void sa_keys_copy(const struct esp_sa_keys *k, struct vn_ctl_sa *out)
{
	const struct esp_suite_info *si = esp_sa_suite_info(k->suite);

	memcpy(out->enc_key, k->enc_key, si->enc_key_len);
	memcpy(out->enc_key + si->enc_key_len, k->salt, si->salt_len);
	out->enc_key_len = (uint8_t)(si->enc_key_len + si->salt_len);
	memcpy(out->auth_key, k->auth_key, si->auth_key_len);
	out->auth_key_len = (uint8_t)si->auth_key_len;
}

/* One SA of the data path as a record. Ours go to the group, every peer
 * and every unicast, so dst is the group; a sender's come to us. */
static int sa_keys_one(const struct tun_sa_info *si, void *arg)
{
	struct sa_keys_walk *w = arg;
	struct vnetd *d = w->v->d;
	struct vn_ctl_sa *sa = sa_keys_slot(w->list, w->n, w->cap);
	bool out = si->dir == ESP_SA_OUT;

	if (!sa)
		return -ENOMEM;
	memcpy(sa->id, w->v->conf.id.b, sizeof(sa->id));
	memcpy(sa->src, si->sender.b, sizeof(sa->src));
	memcpy(sa->dst, out ? d->conf.group.b : d->local.b, sizeof(sa->dst));
	snprintf(sa->suite, sizeof(sa->suite), "%s", esp_sa_suite_name(si->keys->suite));
	sa->spi = si->spi;
	sa->dir = out ? VN_CTL_SA_OUT : VN_CTL_SA_IN;
	sa->seq = si->seq;
	if (w->with_keys)
		sa_keys_copy(si->keys, sa);
	return 0;
}

int sa_keys_list(struct vnetd_vnet *v, bool with_keys, struct vn_ctl_sa **list, size_t *n,
		 size_t *cap)
{
	struct sa_keys_walk w = {v, with_keys, list, n, cap};

	if (v->conf.security == VNET_SEC_NONE || !v->tv)
		return 0;
	return tun_vnet_sa_foreach(v->tv, sa_keys_one, &w);
}
