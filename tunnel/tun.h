/*
 * libtunnel: the vnet data path (docs/wire.md, DESIGN.md section 6).
 *
 * Everything per packet between a vnet's TAP device and the UDP underlay
 * socket. One struct tun_dp per vnetd owns the underlay socket (UDP 1798,
 * joined to the multicast group) and holds one struct tun_vnet per vnet: its
 * id, TAP fd, security, the SA it sends with, the SAs of every sender it has
 * heard from, and its counters.
 *
 * It is driven from vnetd's single-threaded event loop: vnetd watches
 * tun_dp_fd() and every vnet's TAP fd for input and calls tun_dp_rx_udp()
 * and tun_dp_rx_tap() when they are readable. Neither blocks nor allocates
 * per packet; each handles a bounded batch and returns, so the loop stays
 * fair (call again while it returns a full batch, or just wait for the fd,
 * which stays readable: both fds are level-triggered sources).
 *
 * Addresses are struct vnet_addr (vnet_addr.h): an IPv4 underlay address is
 * IPv4-mapped, as on the wire. The underlay is IPv4 for now: an address that
 * is not IPv4-mapped is refused with -EAFNOSUPPORT.
 *
 * Nothing here is thread-safe. Errors are 0 or -errno; allocators return
 * NULL with errno set. Nothing here logs above debug level.
 */
#ifndef TERN_TUN_H
#define TERN_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_key.h"
#include "esp_sa.h"
#include "varp.h"
#include "vnet_addr.h"
#include "vnet_id.h"

struct mac_table;

#define TUN_PORT_DEFAULT 1798
#define TUN_GROUP_DEFAULT "224.10.0.1"
#define TUN_PEERS_MAX 64
/* A sender's previous receive SA stays valid this long after it changed. */
#define TUN_SA_GRACE_S 30
/* ops->miss is called at most once per this interval per (vnet, MAC), and
 * at most TUN_MISS_PER_S times a second per vnet. */
#define TUN_MISS_INTERVAL_MS 1000u
#define TUN_MISS_PER_S 100u

/* ---- the underlay socket (tun_udp.c) ---------------------------------- */

struct tun_udp_conf {
	/* Address bound; all zero binds the wildcard address, which is what
	 * receiving multicast needs. */
	struct vnet_addr bind;
	/* This host's underlay address: the source of everything sent
	 * (IP_PKTINFO), the FLOOD origin and the sender address that peers
	 * derive our SAs from. Required. */
	struct vnet_addr local;
	struct vnet_addr group; /* multicast group; all zero: no multicast */
	uint16_t port;		/* 0: TUN_PORT_DEFAULT */
	int ifindex;		/* underlay interface for the group; 0: any */
	int ttl;		/* multicast TTL; 0: 1 */
};

/* What tun_udp_open found the kernel supports. */
struct tun_udp_caps {
	bool gro; /* UDP_GRO on receive */
	bool gso; /* UDP_SEGMENT on send */
};

/* ---- per-vnet configuration and counters ------------------------------ */

struct tun_vnet_conf {
	struct vnet_id id;
	/* Frames in and out; any fd that keeps record boundaries works (TAP,
	 * SOCK_SEQPACKET or SOCK_DGRAM socketpair). Stays the caller's. */
	int tap_fd;
	/* ESP_SUITE_NONE is security `none` (clear FRAME/VARP); any other
	 * suite is the vnet's `auth` or `conf` level (vnetd maps levels and
	 * (esp-suite ...) to suites). */
	enum esp_suite_id suite;
	/* The vnet key (ignored for ESP_SUITE_NONE); copied, so the caller
	 * may wipe its own at once. Our sending SA gets a fresh nonce and SPI
	 * here and at every rekey; other hosts learn it through the SA
	 * exchange (docs/wire.md), which starts with an ANNOUNCE. */
	struct esp_key key;
	/* The vnet's MAC table, owned by vnetd, consulted for every frame
	 * sent and taught the source MAC of every frame received (as a hint;
	 * VARP announces still win). Must outlive the vnet. */
	struct mac_table *macs;
};

/* Counters of one vnet; tun_vnet_stats() copies them out. */
struct tun_stats {
	uint64_t tx_frames, tx_bytes; /* frames read from TAP and sent */
	/* Frames handed to the TAP (a failed write is also in drop_noroute). */
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_floods; /* of tx_frames, sent as FLOOD */
	uint64_t tx_local;  /* frames to a local MAC: not sent */
	uint64_t varp_in, varp_out;
	uint64_t drop_auth;	 /* ESP integrity check failed */
	uint64_t drop_replay;	 /* ESP seq replayed, or before the SA was learned */
	uint64_t drop_malformed; /* bad header, length, flags, vnet */
	uint64_t drop_noroute;	 /* no SA, send failed, tap full */
	uint64_t drop_dup_flood; /* FLOOD (origin, seq) seen before */
	uint64_t flood_remcast;	 /* FLOODs from a peer re-sent to our group */
	/* FLOODs accepted: (origin, seq) new and the inner packet delivered;
	 * counted once each, after dedup. */
	uint64_t rx_floods;
	uint64_t tx_miss; /* unknown unicast destinations reported (ops->miss) */
	/* ESP from a sender whose SA we have not learned (yet): dropped, and
	 * the sender asked for its SA. */
	uint64_t drop_nosa;
	/* A FLOOD sent to us by unicast from a host that is not our peer. */
	uint64_t drop_notpeer;
	/* SA exchange: messages refused (bad tag, unasked answer, malformed)
	 * and SAs learned from verified answers. */
	uint64_t drop_sa;
	uint64_t sa_learned;
	/* FLOODs from our subnet (multicast, hops 0) sent on to our peers;
	 * counted once per FLOOD, however many peers got it. */
	uint64_t flood_fwd;
};

/* ---- the data path (tun_dp.c) ----------------------------------------- */

struct tun_dp;
struct tun_vnet;

/* How a received packet reached us; handed to the VARP callback. */
struct tun_rx_info {
	struct vnet_addr from;	 /* UDP source address */
	struct vnet_addr sender; /* whose message: FLOOD origin, else from */
	bool flooded;		 /* came inside a FLOOD */
	bool multicast;		 /* UDP destination was the group */
	bool authenticated;	 /* came inside ESP that verified */
};

struct tun_dp_ops {
	/* A VARP message arrived on vn, decoded by varp_decode (malformed ones
	 * are counted and dropped) and its vnet id checked to be vn's. On a
	 * secured vnet only messages that came in verified ESP are handed
	 * over; on a `none` vnet only clear ones. May call any tun_dp function
	 * except tun_dp_vnet_del(vn) and tun_dp_free(). */
	void (*varp)(void *arg, struct tun_vnet *vn, const struct tun_rx_info *info,
		     const struct varp_msg *msg);
	/* vn's sending sequence number is near exhaustion (0xF0000000):
	 * call tun_vnet_rekey(), and again later if it failed. Called once
	 * per SA from inside tun_dp_rx_tap() or tun_dp_varp_send(); calling
	 * tun_vnet_rekey(vn) right there is fine. May be NULL: the vnet then
	 * stops sending secured frames at 2^32 - 1 (counted as drop_noroute). */
	void (*rekey)(void *arg, struct tun_vnet *vn);
	/* A unicast frame read from vn's TAP was for a MAC the MAC table does
	 * not know, so it went out as a FLOOD: vnetd may ask where the MAC is
	 * (a VARP REQUEST) rather than wait for traffic or announces. Called
	 * from inside tun_dp_rx_tap() once the batch was sent, at most once
	 * per TUN_MISS_INTERVAL_MS per (vnet, MAC) and TUN_MISS_PER_S a second
	 * per vnet. May call any tun_dp function except tun_dp_vnet_del(vn)
	 * and tun_dp_free(). May be NULL. */
	void (*miss)(void *arg, struct tun_vnet *vn, const uint8_t mac[6]);
};

/* Opens the underlay socket (tun_udp_open) and returns the data path, or
 * NULL with errno (EINVAL: bad conf; EAFNOSUPPORT: not IPv4; EADDRINUSE and
 * other socket errors as the kernel gives them). flood_seq0 is the first
 * FLOOD sequence number: CLOCK_REALTIME in microseconds at vnetd start, so
 * that it keeps rising across restarts. ops is copied; arg is passed back. */
struct tun_dp *tun_dp_new(const struct tun_udp_conf *conf, uint64_t flood_seq0,
			  const struct tun_dp_ops *ops, void *arg);
/* Frees every vnet, SA and buffer and closes the underlay socket (never the
 * TAP fds). NULL is fine. */
void tun_dp_free(struct tun_dp *dp);

/* The underlay socket, non-blocking; watch it for EPOLLIN. */
int tun_dp_fd(const struct tun_dp *dp);
/* Which offloads the underlay socket got. */
void tun_dp_caps(const struct tun_dp *dp, struct tun_udp_caps *caps);

/* Replaces the peer list (vn peer-add): floods we send, and floods our
 * subnet's hosts multicast (hops 0), also go unicast to each, and FLOODs
 * that come by unicast are taken only from them. Announces our SAs anew
 * (they reach the new peers' subnets too).
 * Copies; returns 0, -E2BIG above TUN_PEERS_MAX, -EAFNOSUPPORT. */
int tun_dp_peers_set(struct tun_dp *dp, const struct vnet_addr *peers, size_t n);

/* Adds a vnet. Returns it, or NULL with errno: EEXIST (id already there),
 * EINVAL (id 0 or 1, unknown suite, no mac table, tap_fd < 0, a
 * virtio-net header size other than 10 or 12 that cannot be changed),
 * ENOMEM, or EIO (OpenSSL setup failed). Sets tap_fd non-blocking; if the
 * TAP was opened with IFF_VNET_HDR (nl_link_tap_open with
 * NL_LINK_TAP_VNET_HDR, recommended) it turns on TSO4/TSO6/CSUM offload,
 * segments what the kernel hands over itself, and writes received TCP
 * segments of one flow as one GSO super-frame. A secured vnet announces
 * its sending SA at once (ANNOUNCE to the group and every peer). */
struct tun_vnet *tun_dp_vnet_add(struct tun_dp *dp, const struct tun_vnet_conf *vc);
/* Removes vn and frees its SAs; the TAP fd stays open. NULL is fine. */
void tun_dp_vnet_del(struct tun_dp *dp, struct tun_vnet *vn);
/* Finds a vnet by wire id; NULL if absent. */
struct tun_vnet *tun_dp_vnet_find(const struct tun_dp *dp, const struct vnet_id *id);

/* Reads a batch (up to 64 reads) from vn's TAP fd and sends each frame:
 * to a remote MAC's care-of address, not at all to a local MAC, else as a
 * FLOOD to the group and every peer; then reports the unknown unicast
 * destinations among them to ops->miss. Returns the number of reads (a TSO
 * super-frame counts once; 0: nothing was ready) or -errno of a TAP read
 * error when nothing was read (-EBADF, -ECONNRESET when a socketpair's
 * peer closed; EAGAIN is not an error). Per-frame failures are counted,
 * not returned. */
int tun_dp_rx_tap(struct tun_dp *dp, struct tun_vnet *vn);
/* Receives a batch of underlay packets (up to 16 datagrams or UDP GRO
 * trains) and delivers them: frames to their vnet's TAP (all written
 * before it returns), VARP messages to ops->varp, FLOODs from a peer
 * re-sent to the group, FLOODs from our subnet sent on to our peers.
 * Returns the number of datagrams or trains received (0: none waiting) or
 * -errno of the socket.
 * Bad packets are counted (per vnet when the vnet is known, else in
 * tun_dp_stats), never returned. */
int tun_dp_rx_udp(struct tun_dp *dp);

/* Encodes *msg and sends it on vn through the same encapsulation as
 * frames: clear VARP, or ESP with next header 253 on a secured vnet. dst
 * NULL: as a FLOOD to the group and every peer; else unicast to *dst.
 * Returns 0, -EINVAL (msg->vnet is not vn's), -EAFNOSUPPORT (dst not
 * IPv4), -EKEYEXPIRED (sequence numbers exhausted, rekey first) or the
 * send error (-EAGAIN when the socket stays full). */
int tun_dp_varp_send(struct tun_dp *dp, struct tun_vnet *vn, const struct vnet_addr *dst,
		     const struct varp_msg *msg);

/* Starts sending with a new SA: fresh nonce and SPI, sequence 1, and an
 * ANNOUNCE so that receivers learn it at once. The old SA is kept if this
 * fails. Returns 0, -EINVAL (security none), -EIO (no randomness, OpenSSL
 * failed), -ENOMEM. */
int tun_vnet_rekey(struct tun_vnet *vn);
/* Asks `sender` for its SA on vn now (an SA exchange REQUEST, at most once
 * per TUN_SA_ASK_MS), instead of waiting for its first packet: for a host
 * known to be there (tests, a new peer). Returns 0, -EINVAL (security
 * none), -ENOSPC (SA table full), -EAFNOSUPPORT. */
int tun_vnet_sa_ask(struct tun_vnet *vn, const struct vnet_addr *sender);
/* Copies vn's counters. */
void tun_vnet_stats(const struct tun_vnet *vn, struct tun_stats *out);
/* Packets no vnet could be charged with (unknown vnet id or SPI, bad outer
 * header, duplicate FLOOD of an unknown vnet). */
void tun_dp_stats(const struct tun_dp *dp, struct tun_stats *out);
/* The vnet's id and TAP fd as given to tun_dp_vnet_add. */
const struct vnet_id *tun_vnet_id(const struct tun_vnet *vn);
int tun_vnet_tap_fd(const struct tun_vnet *vn);
/* Whether the TAP hands us TSO super-frames that we segment ourselves. */
bool tun_vnet_offload(const struct tun_vnet *vn);

/* ---- SAs, for `vn sa-list` (tun_vnet.c, tun_rxsa.c) ------------------- */

/* One SA as the data path holds it. */
struct tun_sa_info {
	enum esp_sa_dir dir;	 /* ESP_SA_OUT: the one we send with */
	struct vnet_addr sender; /* in: the sender; out: our own address */
	uint32_t spi;
	/* out: the last sequence number sent; in: the highest accepted */
	uint32_t seq;
	bool grace; /* in: a sender's previous SA, kept for packets in flight */
	/* suite and key material; valid only during the callback */
	const struct esp_sa_keys *keys;
};

/* Calls fn on vn's outbound SA (a `none` vnet has none), then on each of
 * its receive SAs: every sender's current SA and, during the grace
 * period, its previous one (learned through the SA exchange).
 * Stops at the first non-zero value fn returns and returns it; else 0.
 * fn must not call into the data path. */
int tun_vnet_sa_foreach(const struct tun_vnet *vn,
			int (*fn)(const struct tun_sa_info *sa, void *arg), void *arg);

#endif
