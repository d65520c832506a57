/*
 * fdb_follow: follows one Linux bridge's forwarding database over
 * rtnetlink (libmnl), the way `bridge monitor fdb` does.
 *
 * A follower subscribes to RTNLGRP_NEIGH, then dumps the bridge's FDB
 * (RTM_GETNEIGH, AF_BRIDGE, filtered by master), and from then on reports
 * every RTM_NEWNEIGH/RTM_DELNEIGH of that bridge, all through one
 * callback per entry, from the caller's ev loop (non-blocking socket).
 *
 * A dump is framed by FDB_EVENT_SYNC_BEGIN and FDB_EVENT_SYNC_END. The
 * first dump starts at once; a later one starts by itself when the kernel
 * dropped events because the socket overflowed (ENOBUFS). Callers that
 * keep a table mark its entries stale at SYNC_BEGIN, refresh them on each
 * FDB_EVENT_ADD, and drop the ones still stale at SYNC_END; events may
 * interleave with a dump and are current.
 *
 * The bridge reports more than learned addresses: its own and each port's
 * address ("permanent" = local), static entries added by hand, and the
 * device address lists of the bridge itself ("self"). The flags below say
 * which is which; vnetd treats as guest MACs only learned entries on ports
 * other than its own TAP.
 */
#ifndef TERN_FDB_FOLLOW_H
#define TERN_FDB_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "ev.h"

struct fdb_follow;

enum fdb_event_type {
	FDB_EVENT_ADD = 1,    /* entry appeared or changed (e.g. moved port) */
	FDB_EVENT_DEL,	      /* entry removed (aged out, port left, flushed) */
	FDB_EVENT_SYNC_BEGIN, /* a dump starts; only `type` is set */
	FDB_EVENT_SYNC_END,   /* the dump is complete; only `type` is set */
};

struct fdb_event {
	enum fdb_event_type type;
	uint8_t mac[6];
	int port;	  /* ifindex the entry points to (the bridge itself for its own) */
	uint16_t vlan;	  /* 0 when the entry has no VLAN */
	bool local;	  /* NUD_PERMANENT: an address of the bridge or a port */
	bool is_static;	  /* NUD_NOARP: added by hand, never ages */
	bool learned;	  /* neither: learned from traffic, ages out */
	bool self;	  /* NTF_SELF: a device address-list entry, not the FDB proper */
	bool ext_learned; /* NTF_EXT_LEARNED: put there by a driver or daemon */
	uint16_t state;	  /* raw ndm_state (NUD_*) */
	uint8_t flags;	  /* raw ndm_flags (NTF_*) */
};

/* Called once per event, from the loop. It may call fdb_follow_free on
 * its own follower: no further event is delivered after that. */
typedef void (*fdb_follow_cb)(const struct fdb_event *ev, void *arg);

/* Starts following bridge `bridge_ifindex` on `loop` (free the follower
 * before the loop): opens the socket, subscribes, sends the first dump
 * request and starts an fd watcher. The events arrive when the loop runs;
 * if the kernel refuses the dump (no such bridge), the sync ends empty.
 * Returns NULL with errno set (EINVAL for ifindex <= 0 or no callback, or
 * the socket's error). */
struct fdb_follow *fdb_follow_new(struct ev_loop *loop, int bridge_ifindex, fdb_follow_cb cb,
				  void *arg);
/* Stops the watcher and closes the socket; no callback runs afterwards.
 * NULL is a no-op. */
void fdb_follow_free(struct fdb_follow *f);
/* Asks for a new dump (framed by SYNC_BEGIN/END), e.g. after the caller
 * lost its table; if a dump is running, the new one follows it. Returns 0
 * or -errno from sending the request. */
int fdb_follow_resync(struct fdb_follow *f);
/* Counters: dumps started and overruns (ENOBUFS) seen, for `vn stats`. */
uint64_t fdb_follow_dumps(const struct fdb_follow *f);
uint64_t fdb_follow_overruns(const struct fdb_follow *f);

#endif
