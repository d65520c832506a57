/*
 * Peers (`vn peer-add HOST`): hosts that multicast does not reach, to which
 * the data path also sends every flood by unicast. A peer keeps the name it
 * was given and the IPv4 addresses it resolved to (c-ares: /etc/hosts, then
 * DNS); the data path gets the union of all peers' addresses. A peer-add
 * waits for its lookup and fails if the name does not resolve; a peer
 * restored at start that does not resolve stays and is retried.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "res.h"
#include "tun.h"
#include "vnetd.h"

#define PEERS_RETRY_MS 30000

static struct vnetd_peer *peers_find(struct vnetd *d, const char *host)
{
	for (struct vnetd_peer *p = d->peers; p; p = p->next) {
		if (strcmp(p->host, host) == 0)
			return p;
	}
	return NULL;
}

/* Hands the data path every peer address once, never our own. */
static void peers_push(struct vnetd *d)
{
	struct vnet_addr all[TUN_PEERS_MAX];
	size_t n = 0;
	int rc;

	for (struct vnetd_peer *p = d->peers; p; p = p->next) {
		for (size_t i = 0; i < p->naddrs; i++) {
			bool dup = vnet_addr_eq(&p->addrs[i], &d->local);
			for (size_t j = 0; j < n && !dup; j++)
				dup = vnet_addr_eq(&all[j], &p->addrs[i]);
			if (!dup && n < TUN_PEERS_MAX)
				all[n++] = p->addrs[i];
		}
	}
	rc = tun_dp_peers_set(d->dp, all, n);
	if (rc < 0)
		log_error("peers: data path: %s", strerror(-rc));
}

static void peers_unlink(struct vnetd *d, struct vnetd_peer *p)
{
	struct vnetd_peer **pp;

	for (pp = &d->peers; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	res_cancel(p->query);
	free(p);
}

/* Keeps the IPv4 answers (the underlay is IPv4), at most VN_CTL_PEER_ADDRS. */
static void peers_set_addrs(struct vnetd_peer *p, const struct res_addr *addrs, size_t n)
{
	p->naddrs = 0;
	for (size_t i = 0; i < n && p->naddrs < VN_CTL_PEER_ADDRS; i++) {
		if (addrs[i].family == AF_INET)
			vnet_addr_from_v4(&p->addrs[p->naddrs++], addrs[i].u.in.s_addr);
	}
}

/* Hands the end of a lookup to whoever waited for it (once). */
static void peers_finish(struct vnetd_peer *p, int status, const char *msg,
			 const struct vn_ctl_peer *rec)
{
	void (*done)(void *, int, const char *, const struct vn_ctl_peer *) = p->done;

	p->done = NULL;
	if (done)
		done(p->done_arg, status, msg, rec);
}

/* A lookup failed: tell the waiting peer-add, which then adds nothing. */
static void peers_failed(struct vnetd_peer *p, bool waited, int status)
{
	char msg[VN_CTL_HOST + 64];

	snprintf(msg, sizeof(msg), "peer %s: resolve: %s", p->host, res_strerror(status));
	log_warn("%s", msg);
	if (!waited)
		return; /* a restored peer stays and is retried */
	peers_finish(p, status, msg, NULL);
	if (p->naddrs == 0) {
		struct vnetd *d = p->d;
		peers_unlink(d, p);
		persist_peers_save(d);
	}
}

static void peers_log(const struct vnetd_peer *p, bool added, const struct vnet_addr *before,
		      size_t nbefore)
{
	char buf[VNET_ADDR_STRLEN];
	const char *more = p->naddrs > 1 ? ", ..." : "";

	vnet_addr_str(&p->addrs[0], buf);
	if (added)
		log_info("peer %s: added (%s%s)", p->host, buf, more);
	else if (nbefore != p->naddrs || memcmp(before, p->addrs, nbefore * sizeof(*before)))
		log_info("peer %s: now at %s%s", p->host, buf, more);
}

static void peers_resolved(int status, const struct res_addr *addrs, size_t n, void *arg)
{
	struct vnetd_peer *p = arg;
	bool waited = p->done != NULL;
	struct vnet_addr before[VN_CTL_PEER_ADDRS];
	size_t nbefore = p->naddrs;
	struct vn_ctl_peer rec;

	memcpy(before, p->addrs, sizeof(before));
	p->query = NULL;
	if (status == 0)
		peers_set_addrs(p, addrs, n);
	if (status == 0 && p->naddrs == 0) {
		/* Only IPv6 answers: keep what we had. */
		status = -ENOENT;
		memcpy(p->addrs, before, sizeof(before));
		p->naddrs = nbefore;
	}
	if (status < 0) {
		peers_failed(p, waited, status);
		return;
	}
	peers_log(p, nbefore == 0 || waited, before, nbefore);
	peers_push(p->d);
	if (persist_peers_save(p->d) < 0)
		log_error("peer %s: save state failed", p->host);
	peers_fill(p, &rec);
	peers_finish(p, 0, NULL, &rec);
}

static int peers_lookup(struct vnetd_peer *p)
{
	p->query = res_forward(p->d->res, p->host, AF_INET, peers_resolved, p);
	return p->query ? 0 : -errno;
}

int peers_add(struct vnetd *d, const char *host,
	      void (*done)(void *arg, int status, const char *msg, const struct vn_ctl_peer *rec),
	      void *arg, char *msg, size_t msglen)
{
	struct vnetd_peer *p = peers_find(d, host), **tail;
	bool fresh = !p;
	int rc;

	if (p && p->query) {
		snprintf(msg, msglen, "peer %s: a lookup is already in progress", host);
		return -EBUSY;
	}
	if (fresh) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			snprintf(msg, msglen, "peer %s: %s", host, strerror(ENOMEM));
			return -ENOMEM;
		}
		p->d = d;
		snprintf(p->host, sizeof(p->host), "%s", host);
		for (tail = &d->peers; *tail; tail = &(*tail)->next)
			;
		*tail = p;
	}
	rc = peers_lookup(p);
	if (rc < 0) {
		snprintf(msg, msglen, "peer %s: resolve: %s", host, strerror(-rc));
		if (fresh)
			peers_unlink(d, p);
		return rc;
	}
	p->done = done;
	p->done_arg = arg;
	/* Saved now so a restart during the lookup keeps it; a failed
	 * peer-add rewrites the file without it. */
	if (done && fresh)
		persist_peers_save(d);
	return 0;
}

int peers_del(struct vnetd *d, const char *host, char *msg, size_t msglen)
{
	struct vnetd_peer *p = peers_find(d, host);
	int rc;

	if (!p) {
		snprintf(msg, msglen, "peer %s: no such peer", host);
		return -ENOENT;
	}
	peers_finish(p, -ECANCELED, "peer deleted", NULL);
	peers_unlink(d, p);
	peers_push(d);
	rc = persist_peers_save(d);
	if (rc < 0) {
		snprintf(msg, msglen, "peer %s: save state: %s", host, strerror(-rc));
		return rc;
	}
	log_info("peer %s: deleted", host);
	return 0;
}

void peers_fill(const struct vnetd_peer *p, struct vn_ctl_peer *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", p->host);
	out->naddrs = (uint8_t)p->naddrs;
	for (size_t i = 0; i < p->naddrs; i++)
		memcpy(out->addrs[i], p->addrs[i].b, VN_CTL_ADDR_LEN);
}

void peers_forget_waiter(struct vnetd *d, const void *arg)
{
	for (struct vnetd_peer *p = d->peers; p; p = p->next) {
		if (p->done && p->done_arg == arg)
			p->done = NULL;
	}
}

/* Re-resolves every peer (all, or only those without an address). */
static void peers_refresh(struct vnetd *d, bool unresolved_only)
{
	for (struct vnetd_peer *p = d->peers; p; p = p->next) {
		if (p->query || (unresolved_only && p->naddrs))
			continue;
		if (peers_lookup(p) < 0)
			log_warn("peer %s: resolve: %s", p->host, strerror(errno));
	}
}

void peers_refresh_all(struct vnetd *d)
{
	peers_refresh(d, false);
}

static void peers_retry(struct ev_timer *t, void *arg)
{
	(void)t;
	peers_refresh(arg, true);
}

int peers_timer_start(struct vnetd *d)
{
	ev_timer_init(&d->peer_timer, peers_retry, d);
	return ev_timer_start(d->loop, &d->peer_timer, PEERS_RETRY_MS, PEERS_RETRY_MS);
}

void peers_free_all(struct vnetd *d)
{
	ev_timer_stop(&d->peer_timer);
	while (d->peers)
		peers_unlink(d, d->peers);
}
