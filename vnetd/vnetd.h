/*
 * vnetd's model: one struct vnetd reached from main, the control server,
 * the data path callbacks and the timers alike. Each .c file owns one job
 * and exports its functions under its own prefix (vnet_mgr_, local_macs_,
 * varp_proto_, peers_, persist_, sa_keys_, stats_, ctl_server_, underlay_).
 */
#ifndef TERN_VNETD_H
#define TERN_VNETD_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_key.h"
#include "ev.h"
#include "mac_table.h"
#include "varp.h"
#include "vn_ctl.h"
#include "vnet_addr.h"
#include "vnet_conf.h"
#include "vnetd_conf.h"

struct ctl_client;
struct fdb_follow;
struct mac_table;
struct nl_link;
struct res;
struct res_query;
struct tun_dp;
struct tun_vnet;
struct tun_rx_info;

/* VARP announces of new local MACs, per vnet: a token bucket of this rate
 * and burst. A guest sending random source MACs makes the bridge learn
 * each; without a limit each would cost an announce to every host. What
 * the bucket holds back is sent as tokens come back (every second, from
 * the ageing timer), and every local MAC is re-announced every ttl/3
 * anyway. */
#define VNETD_ANNOUNCE_PER_S 100
#define VNETD_ANNOUNCE_BURST 100

struct local_mac {
	uint8_t mac[6];
	int port;	   /* bridge port ifindex */
	bool stale;	   /* not seen in the current FDB dump */
	bool announce_due; /* new here, held back by the announce limit */
};

struct vnetd_vnet {
	struct vnetd_vnet *next;
	struct vnetd *d;
	struct vnet_conf conf;
	char name[VNET_ID_STRLEN + 8]; /* "vnet 97", the object in messages */
	bool bridge_created;	       /* vnetd made the bridge: delete removes it */
	int bridge_ifindex, tap_ifindex;
	int tap_fd;
	struct ev_io tap_io;
	struct tun_vnet *tv;
	struct fdb_follow *fdb;
	struct esp_key key;	     /* valid iff conf.security != none */
	struct ev_timer rekey_timer; /* retries a rekey that failed */
	/* This vnet's MAC table, sized by conf.mac_max: a vnet filling its
	 * table (a guest sending random source MACs, a peer announcing
	 * many) evicts only its own remote entries. */
	struct mac_table *macs;
	struct local_mac *locals; /* at most conf.mac_max */
	size_t nlocals;
	uint64_t locals_ignored; /* FDB entries beyond conf.mac_max */
	/* The announce limit (VNETD_ANNOUNCE_PER_S). */
	uint64_t announce_ms; /* when the bucket was last filled */
	uint32_t announce_tokens;
	size_t announces_due;	    /* locals with announce_due set */
	uint64_t announces_limited; /* announces held back, for vn stats */
};

struct vnetd_peer {
	struct vnetd_peer *next;
	struct vnetd *d;
	char host[VN_CTL_HOST];
	struct vnet_addr addrs[VN_CTL_PEER_ADDRS];
	size_t naddrs;
	struct res_query *query; /* a lookup in flight */
	/* Who waits for the lookup's end (a peer-add), and its argument. */
	void (*done)(void *arg, int status, const char *msg, const struct vn_ctl_peer *rec);
	void *done_arg;
};

struct vnetd {
	struct vnetd_conf conf;
	const char *conf_path;
	struct ev_loop *loop;
	struct ev_signal sig_term, sig_int, sig_hup;
	struct ev_timer age_timer;	/* MAC table expiry, every second */
	struct ev_timer announce_timer; /* local MACs re-announced every ttl/3 */
	struct ev_timer peer_timer;	/* re-resolves peers without addresses */
	struct ev_io udp_io;
	struct nl_link *nl;
	struct tun_dp *dp;
	struct res *res;
	struct vnet_addr local; /* care-of address (IPv4-mapped) */
	int underlay_ifindex;	/* 0 if only an address was configured */
	struct vnetd_vnet *vnets;
	struct vnetd_peer *peers;
	int ctl_fd;
	struct ev_io ctl_io;
	struct ctl_client *clients;
	struct ev_timer ctl_timer; /* closes idle control clients, every second */
	uint64_t ctl_refused;	   /* malformed requests, for rate-limited logs */
	uint64_t ctl_dropped;	   /* clients closed: idle, evicted, backlog too large */
	bool use_syslog;	   /* daemonized: logs go to syslog */
};

/* underlay.c */
/* Finds the care-of address and the underlay ifindex from the config. */
int underlay_resolve(struct vnetd *d);

/* vnet_mgr.c */
struct vnetd_vnet *vnet_mgr_find(struct vnetd *d, const struct vnet_id *id);
/* Creates (or, when restoring, re-ensures) one vnet. Returns 0 or -errno
 * with one line "vnet 97: ..." in msg. */
int vnet_mgr_create(struct vnetd *d, const struct vnet_conf *conf, bool restoring, char *msg,
		    size_t msglen);
int vnet_mgr_delete(struct vnetd *d, struct vnetd_vnet *v, char *msg, size_t msglen);
/* Stops the vnet's watchers, closes its TAP (it goes away), keeps bridge
 * and state: what a clean shutdown does. */
void vnet_mgr_close(struct vnetd_vnet *v);
/* vnet_mgr_close for every vnet, then forgets them (shutdown). */
void vnet_mgr_close_all(struct vnetd *d);
void vnet_mgr_fill(const struct vnetd_vnet *v, struct vn_ctl_vnet *out);

/* local_macs.c: the bridge FDB follower of one vnet. */
int local_macs_start(struct vnetd_vnet *v);
void local_macs_stop(struct vnetd_vnet *v);
/* Sends an ANNOUNCE for every local MAC of v (and claims again the ones
 * a full table refused, if there is room now). */
void local_macs_announce_all(struct vnetd_vnet *v);
/* Sends the announces the limit held back, as far as it allows now. */
void local_macs_announce_due(struct vnetd_vnet *v);

/* varp_proto.c */
void varp_proto_rx(void *arg, struct tun_vnet *tv, const struct tun_rx_info *info,
		   const struct varp_msg *msg);
/* The data path flooded a frame for a MAC nobody knows: ask where it is
 * (a flooded VARP REQUEST; the owner answers by unicast). */
void varp_proto_miss(void *arg, struct tun_vnet *tv, const uint8_t mac[6]);
int varp_proto_send(struct vnetd_vnet *v, enum varp_op op, const uint8_t mac[6],
		    const struct vnet_addr *dst);
/* Takes a token of v's announce limit: true if an announce may go now,
 * false (counted in announces_limited) if it must wait. */
bool varp_proto_announce_ok(struct vnetd_vnet *v);
/* Whether a line about a MAC change may be logged: at most 20 a second
 * for the whole daemon, then one line saying how many were left out. */
bool varp_proto_may_log(void);
int varp_proto_timers_start(struct vnetd *d);
void varp_proto_timers_stop(struct vnetd *d);
void varp_proto_fill(struct vnetd *d, const struct mac_entry *e, struct vn_ctl_varp *out);

/* peers.c */
/* Starts resolving host (adding or refreshing it). When the lookup ends,
 * done (if not NULL) is called with arg and 0 and the peer's record, or
 * -errno and a message naming the peer; a failed lookup of a peer with no
 * address then removes it, unless done is NULL (a restored peer stays and
 * is retried). Returns 0 (done will be called) or -errno with msg. */
int peers_add(struct vnetd *d, const char *host,
	      void (*done)(void *arg, int status, const char *msg, const struct vn_ctl_peer *rec),
	      void *arg, char *msg, size_t msglen);
int peers_del(struct vnetd *d, const char *host, char *msg, size_t msglen);
void peers_fill(const struct vnetd_peer *p, struct vn_ctl_peer *out);
/* The waiter with this arg went away: its lookups end without a call. */
void peers_forget_waiter(struct vnetd *d, const void *arg);
int peers_timer_start(struct vnetd *d);
void peers_refresh_all(struct vnetd *d);
void peers_free_all(struct vnetd *d);

/* persist.c: state-dir/vnetd/{vnets/<id>.sxp, peers}. */
/* mkdir -p of path and the directories above it. */
int persist_mkdirs(const char *path, unsigned mode);
int persist_init(struct vnetd *d);
int persist_vnet_save(struct vnetd *d, const struct vnetd_vnet *v);
/* Whether the saved vnet's bridge was made by vnetd. */
bool persist_vnet_created(struct vnetd *d, const struct vnet_id *id);
int persist_vnet_remove(struct vnetd *d, const struct vnet_id *id);
int persist_peers_save(struct vnetd *d);
/* What the state dir holds, read without acting on it: the saved vnets
 * (in name order) and peers (in file order). A file that cannot be read
 * or parsed is logged with its path and skipped. */
struct persist_state {
	struct vnet_conf *vnets;
	size_t nvnets;
	char (*peers)[VN_CTL_HOST];
	size_t npeers;
};
/* Fills *st (free with persist_state_free). Returns 0, or -ENOMEM. */
int persist_read(struct vnetd *d, struct persist_state *st);
void persist_state_free(struct persist_state *st);
/* Atomic replace of path with data (temp file, fsync, rename). */
int persist_write_file(const char *path, const char *data, size_t len, unsigned mode);

/* sa_keys.c */
int sa_keys_load(struct vnetd_vnet *v, char *msg, size_t msglen);
/* The rekey-retry timer's callback (v->rekey_timer). */
void sa_keys_rekey_retry(struct ev_timer *t, void *arg);
void sa_keys_rekey(void *arg, struct tun_vnet *tv);
/* Appends v's SAs to list (grown as needed): the outbound one (dst the
 * group) and every receive SA (src the sender, dst our address), with the
 * data path's sequence numbers; key material only if with_keys. A vnet
 * with security none has none. Returns 0 or -ENOMEM/-EIO. */
int sa_keys_list(struct vnetd_vnet *v, bool with_keys, struct vn_ctl_sa **list, size_t *n,
		 size_t *cap);

/* stats.c */
void stats_fill_vnet(const struct vnetd_vnet *v, struct vn_ctl_stats *out);
void stats_fill_global(const struct vnetd *d, struct vn_ctl_stats *out);

/* ctl_server.c */
int ctl_server_start(struct vnetd *d);
void ctl_server_stop(struct vnetd *d);
/* Finishes a request left pending (peer-add): sends records or an error,
 * then resumes reading from the client. */
void ctl_server_reply(struct ctl_client *c, uint16_t type, int err, const char *msg,
		      const void *recs, size_t n, size_t size);

#endif
