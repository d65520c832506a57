/* `vn stats`: the data path's counters in the order of the JSON keys, and
 * per vnet its MAC table and announce limit (0 on the global entry). */
#include <string.h>

#include "tun.h"
#include "vnetd.h"

static void stats_copy(const struct tun_stats *s, struct vn_ctl_stats *out)
{
	out->c[VN_STAT_FRAMES_IN] = s->rx_frames;
	out->c[VN_STAT_FRAMES_OUT] = s->tx_frames;
	out->c[VN_STAT_BYTES_IN] = s->rx_bytes;
	out->c[VN_STAT_BYTES_OUT] = s->tx_bytes;
	out->c[VN_STAT_FLOODS_IN] = s->rx_floods;
	out->c[VN_STAT_FLOODS_OUT] = s->tx_floods;
	out->c[VN_STAT_VARP_IN] = s->varp_in;
	out->c[VN_STAT_VARP_OUT] = s->varp_out;
	out->c[VN_STAT_DROP_AUTH] = s->drop_auth;
	out->c[VN_STAT_DROP_REPLAY] = s->drop_replay;
	out->c[VN_STAT_DROP_MALFORMED] = s->drop_malformed;
	out->c[VN_STAT_DROP_NOROUTE] = s->drop_noroute;
	out->c[VN_STAT_DROP_DUP] = s->drop_dup_flood;
	out->c[VN_STAT_DROP_NOSA] = s->drop_nosa;
	out->c[VN_STAT_DROP_NOTPEER] = s->drop_notpeer;
	out->c[VN_STAT_DROP_SA] = s->drop_sa;
	out->c[VN_STAT_SA_LEARNED] = s->sa_learned;
	out->c[VN_STAT_FLOODS_REMCAST] = s->flood_remcast;
	out->c[VN_STAT_FLOODS_FWD] = s->flood_fwd;
}

void stats_fill_vnet(const struct vnetd_vnet *v, struct vn_ctl_stats *out)
{
	struct tun_stats s = {0};

	memset(out, 0, sizeof(*out));
	memcpy(out->id, v->conf.id.b, sizeof(out->id));
	if (v->tv)
		tun_vnet_stats(v->tv, &s);
	stats_copy(&s, out);
	if (v->macs) {
		struct mac_table_stats m;
		mac_table_stats(v->macs, &m);
		out->c[VN_STAT_MACS] = m.count;
		out->c[VN_STAT_MACS_LOCAL] = m.local;
		out->c[VN_STAT_MAC_MAX] = m.max;
		out->c[VN_STAT_MAC_EVICTIONS] = m.evicted;
		out->c[VN_STAT_MAC_REFUSALS] = m.refused;
	}
	out->c[VN_STAT_ANNOUNCES_LIMITED] = v->announces_limited;
}

void stats_fill_global(const struct vnetd *d, struct vn_ctl_stats *out)
{
	struct tun_stats s = {0};

	memset(out, 0, sizeof(*out));
	out->global = 1;
	tun_dp_stats(d->dp, &s);
	stats_copy(&s, out);
}
