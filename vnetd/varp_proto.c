/*
 * VARP, the vnetd side: asks (a flooded request) where a MAC is that the
 * data path had to flood a frame for, answers requests for local MACs with
 * a unicast reply, applies replies and announces to the MAC table (an announce
 * replaces an older location at once and is logged as a move), ages remote
 * entries after varp-ttl and re-announces local MACs every ttl/3 so that
 * every cache stays warm. The data path delivers only messages of a known
 * vnet, and on a secured vnet only authenticated ones.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "tun.h"
#include "vnetd.h"

int varp_proto_send(struct vnetd_vnet *v, enum varp_op op, const uint8_t mac[6],
		    const struct vnet_addr *dst)
{
	struct varp_msg m = {0};
	int rc;

	if (!v->tv)
		return -ENODEV;
	m.op = op;
	m.vnet = v->conf.id;
	memcpy(m.mac, mac, 6);
	m.coa = v->d->local;
	m.ttl_s = op == VARP_MSG_REQUEST ? 0 : v->d->conf.varp_ttl;
	rc = tun_dp_varp_send(v->d->dp, v->tv, dst, &m);
	if (rc < 0)
		log_debug("%s: varp %s: %s", v->name, varp_op_name(op), strerror(-rc));
	return rc;
}

static void varp_proto_mac(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void varp_proto_request(struct vnetd_vnet *v, const struct varp_msg *m)
{
	const struct mac_entry *e = mac_table_get(v->macs, &m->vnet, m->mac, ev_now_ms());

	if (e && (e->flags & MAC_TABLE_LOCAL))
		varp_proto_send(v, VARP_MSG_REPLY, m->mac, &m->coa);
}

/* What arrives from the network, or from a guest through the bridge FDB,
 * may come in floods: at most VARP_PROTO_LOGS_PER_S lines a second, then
 * one line saying how many were left out. */
#define VARP_PROTO_LOGS_PER_S 20

bool varp_proto_may_log(void)
{
	static uint64_t second;
	static unsigned used, dropped;
	uint64_t now = ev_now_ms() / 1000;

	if (now != second) {
		if (dropped)
			log_info("varp: %u more MAC changes not logged", dropped);
		second = now;
		used = dropped = 0;
	}
	if (used < VARP_PROTO_LOGS_PER_S) {
		used++;
		return true;
	}
	dropped++;
	return false;
}

/* A reply or announce: m->mac is at m->coa for m->ttl_s seconds. */
static void varp_proto_learn(struct vnetd_vnet *v, const struct varp_msg *m)
{
	struct vnetd *d = v->d;
	uint64_t now = ev_now_ms();
	const struct mac_entry *old = mac_table_get(v->macs, &m->vnet, m->mac, now);
	bool was_local = old && (old->flags & MAC_TABLE_LOCAL);
	bool known = old != NULL, moved = old && !vnet_addr_eq(&old->coa, &m->coa);
	uint32_t ttl = m->ttl_s < d->conf.varp_ttl ? m->ttl_s : d->conf.varp_ttl;
	char mac[18], addr[VNET_ADDR_STRLEN];
	int rc;

	if (ttl == 0)
		ttl = 1;
	rc = mac_table_put(v->macs, &m->vnet, m->mac, &m->coa, MAC_TABLE_REMOTE,
			   now + (uint64_t)ttl * 1000, now);
	if (rc == 0 || (rc == 1 && known && !moved) || !varp_proto_may_log())
		return;
	varp_proto_mac(m->mac, mac);
	vnet_addr_str(&m->coa, addr);
	if (rc < 0)
		log_warn("%s: %s: MAC table: %s", v->name, mac, strerror(-rc));
	else if (moved)
		log_info("%s: %s moved to %s%s", v->name, mac, addr,
			 was_local ? " (was local)" : "");
	else if (!known)
		log_info("%s: %s learned at %s", v->name, mac, addr);
}

void varp_proto_rx(void *arg, struct tun_vnet *tv, const struct tun_rx_info *info,
		   const struct varp_msg *m)
{
	struct vnetd *d = arg;
	struct vnetd_vnet *v = vnet_mgr_find(d, tun_vnet_id(tv));

	(void)info;
	/* The data path checked the message and that its vnet is tv's. */
	if (!v)
		return;
	/* Our own multicast looped back, or someone claiming our address. */
	if (vnet_addr_eq(&m->coa, &d->local))
		return;
	if (m->op == VARP_MSG_REQUEST)
		varp_proto_request(v, m);
	else
		varp_proto_learn(v, m);
}

void varp_proto_miss(void *arg, struct tun_vnet *tv, const uint8_t mac[6])
{
	struct vnetd *d = arg;
	struct vnetd_vnet *v = vnet_mgr_find(d, tun_vnet_id(tv));

	/* libtunnel rate-limits the reports per MAC; a failed send is
	 * logged at debug level by varp_proto_send and the frame itself
	 * went out as a flood anyway. */
	if (v)
		varp_proto_send(v, VARP_MSG_REQUEST, mac, NULL);
}

static void varp_proto_age(struct ev_timer *t, void *arg)
{
	struct vnetd *d = arg;

	(void)t;
	for (struct vnetd_vnet *v = d->vnets; v; v = v->next) {
		mac_table_age(v->macs, ev_now_ms());
		if (v->announces_due)
			local_macs_announce_due(v);
	}
}

bool varp_proto_announce_ok(struct vnetd_vnet *v)
{
	uint64_t now = ev_now_ms(), add;

	/* Refill by whole tokens; the remainder of a partial one is kept by
	 * advancing announce_ms only as far as the tokens given. */
	add = (now - v->announce_ms) * VNETD_ANNOUNCE_PER_S / 1000;
	if (add) {
		uint64_t tokens = v->announce_tokens + add;
		v->announce_tokens =
		    tokens > VNETD_ANNOUNCE_BURST ? VNETD_ANNOUNCE_BURST : (uint32_t)tokens;
		v->announce_ms = tokens > VNETD_ANNOUNCE_BURST
				     ? now
				     : v->announce_ms + add * 1000 / VNETD_ANNOUNCE_PER_S;
	}
	if (v->announce_tokens == 0) {
		v->announces_limited++;
		return false;
	}
	v->announce_tokens--;
	return true;
}

static void varp_proto_announce(struct ev_timer *t, void *arg)
{
	struct vnetd *d = arg;

	(void)t;
	for (struct vnetd_vnet *v = d->vnets; v; v = v->next)
		local_macs_announce_all(v);
}

int varp_proto_timers_start(struct vnetd *d)
{
	uint64_t every = (uint64_t)d->conf.varp_ttl * 1000 / 3;
	int rc;

	ev_timer_init(&d->age_timer, varp_proto_age, d);
	ev_timer_init(&d->announce_timer, varp_proto_announce, d);
	rc = ev_timer_start(d->loop, &d->age_timer, 1000, 1000);
	if (rc == 0)
		rc = ev_timer_start(d->loop, &d->announce_timer, every, every);
	return rc;
}

void varp_proto_timers_stop(struct vnetd *d)
{
	ev_timer_stop(&d->age_timer);
	ev_timer_stop(&d->announce_timer);
}

void varp_proto_fill(struct vnetd *d, const struct mac_entry *e, struct vn_ctl_varp *out)
{
	uint64_t now = ev_now_ms();

	memset(out, 0, sizeof(*out));
	memcpy(out->id, e->vnet.b, sizeof(out->id));
	memcpy(out->addr, e->coa.b, sizeof(out->addr));
	memcpy(out->mac, e->mac, 6);
	out->local = (e->flags & MAC_TABLE_LOCAL) != 0;
	if (e->expires_ms == MAC_TABLE_NEVER)
		out->ttl_s = d->conf.varp_ttl; /* local: as announced */
	else
		out->ttl_s =
		    e->expires_ms > now ? (uint32_t)((e->expires_ms - now + 999) / 1000) : 0;
}
