/*
 * mig_vif.c: the TAPs of a domain's vifs (mig_vif.h). migrated makes them
 * so that a vmm never needs CAP_NET_ADMIN, and on a migration's
 * destination before the vmm is spawned: its vCPUs may resume within
 * milliseconds of the stream's END and the TAP must be on the bridge by
 * then.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tern/abi.h>

#include "hv_domcfg.h"
#include "hv_stream.h"
#include "log.h"
#include "mig_vif.h"
#include "migrated.h"
#include "nl_link.h"

_Static_assert(MIG_VIF_MAX == TERN_NET_MAX, "one TAP per possible vif");
_Static_assert(MIG_VIF_MAX + 2 <= CTL_FDS_MAX, "TAP fds and an incoming's two fit dom_spawn");

/* One TAP: made, MTU of its bridge, on the bridge, up. Returns the fd. */
static int vif_tap(struct nl_link *nl, const char *name, const char *bridge, char *err,
		   size_t errlen)
{
	struct nl_link_info br;
	char tap[IFNAMSIZ];
	int fd, rc;

	if (bridge[0] && (rc = nl_link_info(nl, bridge, &br)) < 0) {
		snprintf(err, errlen, "bridge %s: %s", bridge,
			 rc == -ENODEV ? "no such bridge on this host" : nl_link_errmsg(nl));
		return rc;
	}
	if (bridge[0] && strcmp(br.kind, "bridge") != 0) {
		snprintf(err, errlen, "%s is a %s link, not a bridge", bridge,
			 br.kind[0] ? br.kind : "plain");
		return -EINVAL;
	}
	snprintf(tap, sizeof(tap), "%s", name);
	if ((fd = nl_link_tap_open(nl, tap, 0)) < 0) {
		snprintf(err, errlen, "TAP %s: %s", name, strerror(-fd));
		return fd;
	}
	if (bridge[0] && ((rc = nl_link_set_mtu(nl, tap, br.mtu)) < 0 ||
			  (rc = nl_link_set_master(nl, tap, bridge)) < 0)) {
		snprintf(err, errlen, "TAP %s onto bridge %s: %s", name, bridge,
			 nl_link_errmsg(nl));
		close(fd);
		return rc;
	}
	if ((rc = nl_link_set_up(nl, tap, true)) < 0) {
		snprintf(err, errlen, "TAP %s up: %s", name, nl_link_errmsg(nl));
		close(fd);
		return rc;
	}
	return fd;
}

int mig_vif_open(struct mig_dom *d, const struct hv_domcfg *cfg, char *err, size_t errlen)
{
	struct mig_vifs *v = &d->vifs;
	struct nl_link *nl;
	char why[384];
	int rc = 0;

	if (!cfg->nvifs)
		return 0;
	if (!(nl = nl_link_new())) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < cfg->nvifs && i < MIG_VIF_MAX; i++) {
		snprintf(v->name[i], sizeof(v->name[i]), "tern%uv%u", d->domid, i);
		if ((v->fd[i] = vif_tap(nl, v->name[i], cfg->vif[i].bridge, why, sizeof(why))) <
		    0) {
			rc = v->fd[i];
			snprintf(err, errlen, "domain %s: vif %u (%s): %s", cfg->name, i,
				 cfg->vif[i].text, why);
			break;
		}
		v->n = i + 1;
		log_info("domain %s: vif %u: TAP %s on %s", cfg->name, i, v->name[i],
			 cfg->vif[i].bridge[0] ? cfg->vif[i].bridge : "no bridge");
	}
	nl_link_free(nl);
	if (rc < 0)
		mig_vif_remove(d);
	return rc;
}

/* The text becomes the domain's config file, as a create's does: a later
 * migration offers it, vifs included. */
static int vif_keep_cfg(struct mig_dom *d, const char *text, char *err, size_t errlen)
{
	size_t n = strlen(text);
	int fd;

	snprintf(d->cfg_path, sizeof(d->cfg_path), "%s/dom%u.cfg", d->m->conf.runtime_dir,
		 d->domid);
	fd = open(d->cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) < 0) {
		int rc = fd < 0 ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", d->cfg_path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		d->cfg_path[0] = '\0';
		return rc;
	}
	return 0;
}

int mig_vif_open_text(struct mig_dom *d, const char *text, char *err, size_t errlen)
{
	static struct hv_domcfg cfg; /* large; one loop thread */
	int rc;

	hv_domcfg_init(&cfg);
	if (hv_domcfg_parse(&cfg, text, strlen(text), "offer", err, errlen) < 0)
		return -EINVAL;
	if (!d->cfg_path[0] && (rc = vif_keep_cfg(d, text, err, errlen)) < 0)
		return rc;
	return mig_vif_open(d, &cfg, err, errlen);
}

int mig_vif_open_save(struct mig_dom *d, const char *path, char *err, size_t errlen)
{
	static struct hv_stream_state st;
	struct hv_stream_in in;
	char why[256];
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if ((rc = hv_stream_in_init_fd(&in, fd)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	/* The vmm checks the whole file; only its config is read here. */
	rc = hv_stream_load_header(&in, &st, why, sizeof(why));
	hv_stream_in_fini(&in);
	close(fd);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return rc;
	}
	return mig_vif_open_text(d, st.cfg, err, errlen);
}

static void vif_close_fds(struct mig_vifs *v)
{
	for (unsigned i = 0; i < v->n; i++)
		if (v->fd[i] >= 0) {
			close(v->fd[i]);
			v->fd[i] = -1;
		}
}

int mig_vif_spawn(struct mig_dom *d, const char *const *args, const int *fds, unsigned nfds)
{
	struct mig_vifs *v = &d->vifs;
	const char *a[24];
	int f[CTL_FDS_MAX];
	size_t n = 0;
	int rc;

	for (; *args && n < 8; args++)
		a[n++] = *args;
	for (unsigned i = 0; i < nfds && i < CTL_FDS_MAX; i++)
		f[i] = fds[i];
	for (unsigned i = 0; i < v->n && v->fd[i] >= 0 && nfds < CTL_FDS_MAX; i++) {
		snprintf(v->arg[i], sizeof(v->arg[i]), "%u", 3 + nfds); /* dom_child's numbering */
		f[nfds++] = v->fd[i];
		a[n++] = "--tap-fd";
		a[n++] = v->arg[i];
	}
	a[n] = NULL;
	rc = *args ? -E2BIG : dom_spawn(d, a, f, nfds);
	vif_close_fds(v);
	return rc;
}

void mig_vif_remove(struct mig_dom *d)
{
	struct mig_vifs *v = &d->vifs;
	struct nl_link *nl;

	vif_close_fds(v);
	if (!v->n)
		return;
	if (!(nl = nl_link_new())) {
		log_warn("domain %s: TAPs not deleted: netlink: %s", d->name, strerror(errno));
		return;
	}
	for (unsigned i = 0; i < v->n; i++) {
		int rc = nl_link_delete(nl, v->name[i]);
		if (rc < 0 && rc != -ENODEV)
			log_warn("domain %s: TAP %s: delete: %s", d->name, v->name[i],
				 nl_link_errmsg(nl));
	}
	v->n = 0;
	nl_link_free(nl);
}
