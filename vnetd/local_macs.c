/*
 * Local MACs: which guest MACs sit on this host's bridge, from the bridge
 * FDB (fdb_follow). A MAC learned (or added by hand) on any port but our
 * own TAP, or the bridge's own address, is local: it goes into the MAC
 * table as local and is announced by VARP at once, which is what makes a
 * migrated guest reachable on its new host immediately. MACs leaving the
 * FDB are dropped. The list here is the truth for FDB resyncs (mark stale
 * at SYNC_BEGIN, sweep at SYNC_END); the MAC table is what the data path
 * and VARP read.
 *
 * A guest can make the bridge learn any number of source MACs: the list
 * holds at most the vnet's mac-max, the MAC table refuses a new local MAC
 * once all of its entries are local (the MACs already there stay), new
 * announces go through the vnet's announce limit, and what is logged about
 * them is rate limited; the counts are in `vn stats`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdb_follow.h"
#include "log.h"
#include "vnetd.h"

static void local_macs_fmt(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static struct local_mac *local_macs_find(struct vnetd_vnet *v, const uint8_t mac[6])
{
	for (size_t i = 0; i < v->nlocals; i++) {
		if (memcmp(v->locals[i].mac, mac, 6) == 0)
			return &v->locals[i];
	}
	return NULL;
}

/* True for the 1st, 2nd, 4th, 8th... occurrence: a warning about
 * something a guest can repeat at will is logged with its count, never once
 * per occurrence. */
static bool local_macs_pow2(uint64_t n)
{
	return n && (n & (n - 1)) == 0;
}

static void local_macs_announce(struct vnetd_vnet *v, struct local_mac *l)
{
	if (varp_proto_announce_ok(v)) {
		varp_proto_send(v, VARP_MSG_ANNOUNCE, l->mac, NULL);
		return;
	}
	if (!l->announce_due) {
		l->announce_due = true;
		v->announces_due++;
	}
}

/* Puts l's MAC into the MAC table as local; announces it if it is new here
 * or had been elsewhere. */
static void local_macs_claim(struct vnetd_vnet *v, struct local_mac *l)
{
	struct vnetd *d = v->d;
	struct mac_table_stats st;
	char m[18];
	int rc;

	rc = mac_table_put(v->macs, &v->conf.id, l->mac, &d->local, MAC_TABLE_LOCAL,
			   MAC_TABLE_NEVER, ev_now_ms());
	local_macs_fmt(l->mac, m);
	if (rc == -ENOSPC) {
		mac_table_stats(v->macs, &st);
		if (local_macs_pow2(st.refused))
			log_warn("%s: %s: MAC table full of local MACs (mac-max %u), "
				 "%" PRIu64 " refused so far",
				 v->name, m, v->conf.mac_max, st.refused);
		return;
	}
	if (rc < 0) {
		log_warn("%s: %s: MAC table: %s", v->name, m, strerror(-rc));
		return;
	}
	if (rc == 1) {
		if (varp_proto_may_log())
			log_info("%s: %s is local", v->name, m);
		local_macs_announce(v, l);
	}
}

static void local_macs_forget_due(struct vnetd_vnet *v, struct local_mac *l)
{
	if (l->announce_due) {
		l->announce_due = false;
		v->announces_due--;
	}
}

static void local_macs_add(struct vnetd_vnet *v, const struct fdb_event *e)
{
	struct local_mac *l = local_macs_find(v, e->mac);

	if (!l) {
		if (v->nlocals >= v->conf.mac_max) {
			if (local_macs_pow2(++v->locals_ignored))
				log_warn("%s: more than %u local MACs, %" PRIu64 " ignored so far",
					 v->name, v->conf.mac_max, v->locals_ignored);
			return;
		}
		if (v->nlocals % 64 == 0) {
			struct local_mac *n = realloc(v->locals, (v->nlocals + 64) * sizeof(*n));
			if (!n)
				return;
			v->locals = n;
		}
		l = &v->locals[v->nlocals++];
		memset(l, 0, sizeof(*l));
		memcpy(l->mac, e->mac, 6);
	}
	l->port = e->port;
	l->stale = false;
	local_macs_claim(v, l);
}

static void local_macs_remove_at(struct vnetd_vnet *v, size_t i)
{
	const struct mac_entry *me;
	char m[18];

	me = mac_table_get(v->macs, &v->conf.id, v->locals[i].mac, ev_now_ms());
	/* A remote announce may already have replaced it (the guest moved):
	 * that entry is newer and stays. */
	if (me && (me->flags & MAC_TABLE_LOCAL))
		mac_table_del(v->macs, &v->conf.id, v->locals[i].mac);
	local_macs_fmt(v->locals[i].mac, m);
	if (varp_proto_may_log())
		log_info("%s: %s left the bridge", v->name, m);
	local_macs_forget_due(v, &v->locals[i]);
	v->locals[i] = v->locals[--v->nlocals];
}

static bool local_macs_wanted(const struct vnetd_vnet *v, const struct fdb_event *e)
{
	if (e->mac[0] & 1)
		return false; /* group address */
	if (e->port == v->tap_ifindex || e->self)
		return false;
	if (e->learned || e->is_static)
		return true;
	/* The bridge's own address: the host's IP on the vnet lives there. */
	return e->local && e->port == v->bridge_ifindex;
}

static void local_macs_sweep(struct vnetd_vnet *v)
{
	for (size_t i = 0; i < v->nlocals;) {
		if (v->locals[i].stale)
			local_macs_remove_at(v, i);
		else
			i++;
	}
}

static void local_macs_event(const struct fdb_event *e, void *arg)
{
	struct vnetd_vnet *v = arg;
	struct local_mac *l;

	switch (e->type) {
	case FDB_EVENT_SYNC_BEGIN:
		for (size_t i = 0; i < v->nlocals; i++)
			v->locals[i].stale = true;
		break;
	case FDB_EVENT_SYNC_END:
		local_macs_sweep(v);
		break;
	case FDB_EVENT_ADD:
		l = local_macs_find(v, e->mac);
		if (local_macs_wanted(v, e))
			local_macs_add(v, e);
		else if (l && !e->self && e->port != v->bridge_ifindex && e->vlan == 0)
			/* The bridge now sees it behind our TAP: it left this
			 * host (a migration) and talks to us from afar. */
			local_macs_remove_at(v, (size_t)(l - v->locals));
		break;
	case FDB_EVENT_DEL:
		l = local_macs_find(v, e->mac);
		/* Only the entry we track: a MAC may have several (vlan, self). */
		if (l && l->port == e->port && local_macs_wanted(v, e))
			local_macs_remove_at(v, (size_t)(l - v->locals));
		break;
	}
}

int local_macs_start(struct vnetd_vnet *v)
{
	v->fdb = fdb_follow_new(v->d->loop, v->bridge_ifindex, local_macs_event, v);
	return v->fdb ? 0 : -errno;
}

void local_macs_stop(struct vnetd_vnet *v)
{
	fdb_follow_free(v->fdb);
	v->fdb = NULL;
}

/* The periodic pass is not rate limited: it sends at most mac-max
 * announces per ttl/3, and it is what keeps the other hosts' entries of
 * genuine guests alive whatever a flood of new MACs does to the bucket. */
void local_macs_announce_all(struct vnetd_vnet *v)
{
	for (size_t i = 0; i < v->nlocals; i++) {
		struct local_mac *l = &v->locals[i];
		const struct mac_entry *me =
		    mac_table_get(v->macs, &v->conf.id, l->mac, ev_now_ms());

		if (!me) {
			/* Refused while the table was full: try again (a
			 * remote entry, a guest that moved away, stays). */
			local_macs_claim(v, l);
		} else if (me->flags & MAC_TABLE_LOCAL) {
			varp_proto_send(v, VARP_MSG_ANNOUNCE, l->mac, NULL);
			local_macs_forget_due(v, l);
		}
	}
}

void local_macs_announce_due(struct vnetd_vnet *v)
{
	for (size_t i = 0; i < v->nlocals && v->announces_due; i++) {
		struct local_mac *l = &v->locals[i];
		const struct mac_entry *me;

		if (!l->announce_due)
			continue;
		me = mac_table_get(v->macs, &v->conf.id, l->mac, ev_now_ms());
		if (me && (me->flags & MAC_TABLE_LOCAL)) {
			if (!varp_proto_announce_ok(v))
				return;
			varp_proto_send(v, VARP_MSG_ANNOUNCE, l->mac, NULL);
		}
		local_macs_forget_due(v, l);
	}
}
