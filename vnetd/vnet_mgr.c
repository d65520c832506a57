/*
 * Vnet lifecycle: the bridge and TAP over netlink, the TAP fd handed to the
 * data path, the FDB follower, persistence.
 *
 * Create order: key (refuse early), bridge, TAP (attached, MTU, up), data
 * path vnet, TAP watcher, FDB follower, state file. Each step is undone in
 * reverse on failure. On restore the same steps run idempotently: an
 * existing bridge is reused and the TAP re-created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "nl_link.h"
#include "tun.h"
#include "vnetd.h"

struct vnetd_vnet *vnet_mgr_find(struct vnetd *d, const struct vnet_id *id)
{
	for (struct vnetd_vnet *v = d->vnets; v; v = v->next) {
		if (vnet_id_eq(&v->conf.id, id))
			return v;
	}
	return NULL;
}

static void vnet_mgr_tap_cb(struct ev_io *io, unsigned events, void *arg)
{
	struct vnetd_vnet *v = arg;
	int rc;

	(void)io;
	(void)events;
	rc = tun_dp_rx_tap(v->d->dp, v->tv);
	if (rc < 0 && rc != -EAGAIN) {
		/* The TAP went away under us (deleted by hand): stop watching it
		 * so the loop does not spin; vnet-delete or a restart recovers. */
		log_error("%s: tap %s: read: %s", v->name, v->conf.vnetif, strerror(-rc));
		ev_io_stop(&v->tap_io);
	}
}

/* A stable, locally administered bridge MAC, so the bridge address does not
 * change as guests join and leave (Linux otherwise takes the lowest port
 * MAC) and can be announced like a guest's. */
static int vnet_mgr_bridge_mac(struct vnetd_vnet *v)
{
	uint8_t mac[6];

	if (RAND_bytes(mac, sizeof(mac)) != 1)
		return -EIO;
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	return nl_link_set_mac(v->d->nl, v->conf.bridge, mac);
}

static int vnet_mgr_bridge(struct vnetd_vnet *v, bool restoring, char *msg, size_t msglen)
{
	struct nl_link *nl = v->d->nl;
	bool made = false;
	int rc = nl_link_bridge_add(nl, v->conf.bridge, v->conf.mtu);

	if (rc == 0) {
		made = true;
		rc = vnet_mgr_bridge_mac(v);
	} else if (rc == -EEXIST) {
		rc = nl_link_bridge_ensure(nl, v->conf.bridge, v->conf.mtu);
	}
	/* Whether delete removes the bridge was decided when the vnet was
	 * first created, even if the bridge had to be re-made (a reboot). */
	v->bridge_created = restoring ? persist_vnet_created(v->d, &v->conf.id) : made;
	/* The kernel's FDB gets the vnet's quota too; an old kernel ignores
	 * it, and a failure costs only that bound. */
	if (rc == 0 && nl_link_bridge_set_fdb_max(nl, v->conf.bridge, v->conf.mac_max) < 0)
		log_warn("%s: %s", v->name, nl_link_errmsg(nl));
	if (rc == 0)
		rc = nl_link_set_up(nl, v->conf.bridge, true);
	if (rc == 0)
		rc = nl_link_ifindex(nl, v->conf.bridge);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: %s", v->name, nl_link_errmsg(nl));
		return rc;
	}
	v->bridge_ifindex = rc;
	return 0;
}

static int vnet_mgr_tap(struct vnetd_vnet *v, char *msg, size_t msglen)
{
	struct nl_link *nl = v->d->nl;
	char name[IFNAMSIZ];
	int rc;

	snprintf(name, sizeof(name), "%s", v->conf.vnetif);
	rc = nl_link_tap_open(nl, name, NL_LINK_TAP_VNET_HDR);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: %s", v->name, nl_link_errmsg(nl));
		return rc;
	}
	v->tap_fd = rc;
	rc = nl_link_set_mtu(nl, name, v->conf.mtu);
	if (rc == 0)
		rc = nl_link_set_master(nl, name, v->conf.bridge);
	/* Again now that it has a port: an empty bridge may not keep it. */
	if (rc == 0)
		rc = nl_link_set_mtu(nl, v->conf.bridge, v->conf.mtu);
	if (rc == 0)
		rc = nl_link_set_up(nl, name, true);
	if (rc == 0)
		rc = nl_link_ifindex(nl, name);
	if (rc < 0) {
		snprintf(msg, msglen, "%s: %s", v->name, nl_link_errmsg(nl));
		close(v->tap_fd);
		v->tap_fd = -1;
		return rc;
	}
	v->tap_ifindex = rc;
	return 0;
}

static int vnet_mgr_datapath(struct vnetd_vnet *v, char *msg, size_t msglen)
{
	struct tun_vnet_conf tc = {0};
	int rc;

	tc.id = v->conf.id;
	tc.tap_fd = v->tap_fd;
	tc.suite = v->conf.suite; /* ESP_SUITE_NONE for security none */
	tc.key = v->key;
	tc.macs = v->macs;
	v->tv = tun_dp_vnet_add(v->d->dp, &tc);
	esp_key_wipe(&tc.key);
	if (!v->tv) {
		rc = -errno;
		snprintf(msg, msglen, "%s: data path: %s", v->name, strerror(-rc));
		return rc;
	}
	ev_io_init(&v->tap_io, v->tap_fd, vnet_mgr_tap_cb, v);
	rc = ev_io_start(v->d->loop, &v->tap_io, EV_READ);
	if (rc < 0)
		snprintf(msg, msglen, "%s: tap %s: watch: %s", v->name, v->conf.vnetif,
			 strerror(-rc));
	return rc;
}

/* Undoes whatever of create succeeded; safe on a half-made vnet. */
static void vnet_mgr_free(struct vnetd_vnet *v)
{
	if (!v)
		return;
	vnet_mgr_close(v);
	esp_key_wipe(&v->key);
	free(v->locals);
	mac_table_free(v->macs);
	free(v);
}

void vnet_mgr_close(struct vnetd_vnet *v)
{
	local_macs_stop(v);
	ev_io_stop(&v->tap_io);
	ev_timer_stop(&v->rekey_timer);
	if (v->tv) {
		tun_dp_vnet_del(v->d->dp, v->tv);
		v->tv = NULL;
	}
	if (v->tap_fd >= 0) {
		close(v->tap_fd); /* not persistent: the TAP goes with it */
		v->tap_fd = -1;
	}
	mac_table_flush(v->macs, NULL, 0);
}

static struct vnetd_vnet *vnet_mgr_alloc(struct vnetd *d, const struct vnet_conf *conf)
{
	struct vnetd_vnet *v = calloc(1, sizeof(*v));
	char id[VNET_ID_STRLEN];

	if (!v)
		return NULL;
	v->d = d;
	v->conf = *conf;
	v->tap_fd = -1;
	v->macs = mac_table_new(conf->mac_max ? conf->mac_max : VNET_MAC_MAX_DEFAULT);
	if (!v->macs) {
		free(v);
		return NULL;
	}
	v->announce_tokens = VNETD_ANNOUNCE_BURST;
	ev_io_init(&v->tap_io, -1, vnet_mgr_tap_cb, v);
	ev_timer_init(&v->rekey_timer, sa_keys_rekey_retry, v);
	snprintf(v->name, sizeof(v->name), "vnet %s", vnet_id_str(&conf->id, id));
	return v;
}

static int vnet_mgr_build(struct vnetd_vnet *v, bool restoring, char *msg, size_t msglen)
{
	int rc = sa_keys_load(v, msg, msglen);

	if (rc == 0)
		rc = vnet_mgr_bridge(v, restoring, msg, msglen);
	if (rc == 0)
		rc = vnet_mgr_tap(v, msg, msglen);
	if (rc == 0)
		rc = vnet_mgr_datapath(v, msg, msglen);
	if (rc == 0) {
		rc = local_macs_start(v);
		if (rc < 0)
			snprintf(msg, msglen, "%s: bridge %s: follow fdb: %s", v->name,
				 v->conf.bridge, strerror(-rc));
	}
	return rc;
}

/* Two vnets must not share a bridge or a TAP name. */
static int vnet_mgr_clash(struct vnetd *d, const struct vnet_conf *c, char *msg, size_t msglen)
{
	char id[VNET_ID_STRLEN];

	if (vnet_mgr_find(d, &c->id)) {
		snprintf(msg, msglen, "vnet %s: already exists", vnet_id_str(&c->id, id));
		return -EEXIST;
	}
	for (struct vnetd_vnet *v = d->vnets; v; v = v->next) {
		if (strcmp(v->conf.bridge, c->bridge) == 0 ||
		    strcmp(v->conf.vnetif, c->vnetif) == 0 ||
		    strcmp(v->conf.bridge, c->vnetif) == 0 ||
		    strcmp(v->conf.vnetif, c->bridge) == 0) {
			snprintf(msg, msglen, "vnet %s: interface name already used by %s",
				 vnet_id_str(&c->id, id), v->name);
			return -EEXIST;
		}
	}
	return 0;
}

int vnet_mgr_create(struct vnetd *d, const struct vnet_conf *conf, bool restoring, char *msg,
		    size_t msglen)
{
	struct vnetd_vnet *v;
	int rc = vnet_mgr_clash(d, conf, msg, msglen);

	if (rc < 0)
		return rc;
	v = vnet_mgr_alloc(d, conf);
	if (!v) {
		snprintf(msg, msglen, "vnet: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = vnet_mgr_build(v, restoring, msg, msglen);
	if (rc == 0 && !restoring) {
		rc = persist_vnet_save(d, v);
		if (rc < 0)
			snprintf(msg, msglen, "%s: save state: %s", v->name, strerror(-rc));
	}
	if (rc < 0) {
		bool remove_bridge = v->bridge_created && !restoring;
		vnet_mgr_free(v);
		if (remove_bridge)
			nl_link_delete(d->nl, conf->bridge);
		return rc;
	}
	v->next = d->vnets;
	d->vnets = v;
	log_info("%s: %s (bridge %s, vnetif %s, security %s, mtu %u)", v->name,
		 restoring ? "restored" : "created", conf->bridge, conf->vnetif,
		 vnet_conf_security_name(conf->security), conf->mtu);
	return 0;
}

int vnet_mgr_delete(struct vnetd *d, struct vnetd_vnet *v, char *msg, size_t msglen)
{
	struct vnetd_vnet **pp;
	int rc;

	for (pp = &d->vnets; *pp != v; pp = &(*pp)->next)
		;
	*pp = v->next;
	vnet_mgr_close(v);
	/* Closing a non-persistent TAP removes it; delete is for the case
	 * someone made it persistent by hand. */
	(void)nl_link_delete(d->nl, v->conf.vnetif);
	rc = 0;
	if (v->bridge_created) {
		rc = nl_link_delete(d->nl, v->conf.bridge);
		if (rc == -ENODEV)
			rc = 0;
		if (rc < 0)
			snprintf(msg, msglen, "%s: %s", v->name, nl_link_errmsg(d->nl));
	}
	int prc = persist_vnet_remove(d, &v->conf.id);
	if (prc < 0 && rc == 0) {
		rc = prc;
		snprintf(msg, msglen, "%s: remove state: %s", v->name, strerror(-prc));
	}
	log_info("%s: deleted", v->name);
	vnet_mgr_free(v);
	return rc;
}

void vnet_mgr_close_all(struct vnetd *d)
{
	while (d->vnets) {
		struct vnetd_vnet *v = d->vnets;
		d->vnets = v->next;
		vnet_mgr_free(v);
	}
}

void vnet_mgr_fill(const struct vnetd_vnet *v, struct vn_ctl_vnet *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, v->conf.id.b, sizeof(out->id));
	snprintf(out->bridge, sizeof(out->bridge), "%s", v->conf.bridge);
	snprintf(out->vnetif, sizeof(out->vnetif), "%s", v->conf.vnetif);
	out->security = (uint8_t)v->conf.security;
	/* "none" for security none, as esp_sa_suite_name names it. */
	snprintf(out->suite, sizeof(out->suite), "%s", esp_sa_suite_name(v->conf.suite));
	out->mtu = (uint16_t)v->conf.mtu;
}
