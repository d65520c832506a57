/*
 * Internals shared by the data-path files: the data path object, the vnets
 * it holds, the receive SA table and the transmit buffer slots.
 *
 * Buffers: one receive area (tun_udp_rxq, decapsulated in place), one TAP
 * read area for super-frames, and TUN_TX_SLOTS transmit slots. A frame is
 * read straight into a slot after TUN_SLOT_HEAD bytes of headroom, so that
 * ESP, clear and FLOOD headers are written in front of it and ESP padding
 * and ICV after it without moving it. Slots are handed out in order and all
 * become free again when the transmit queue is flushed.
 */
#ifndef TERN_TUN_PRIV_H
#define TERN_TUN_PRIV_H

#include "esp_tag.h"
#include "mac_table.h"
#include "pkt.h"
#include "replay.h"
#include "sa_msg.h"
#include "tun.h"
#include "tun_gro.h"
#include "tun_tap.h"
#include "tun_udp.h"

#define TUN_SLOT_HEAD 128 /* >= PKT_FLOOD_HDR_LEN + PKT_VNET_HDR_LEN + ESP_HEADROOM */
#define TUN_SLOT_DATA 2048
#define TUN_SLOT_TAIL 64 /* >= ESP_TAILROOM */
#define TUN_SLOT_SIZE (TUN_SLOT_HEAD + TUN_SLOT_DATA + TUN_SLOT_TAIL)
#define TUN_TX_SLOTS TUN_UDP_TX_BATCH
/* TAP reads per tun_dp_rx_tap call: bounds one turn of the event loop. */
#define TUN_TAP_BATCH 64

#define TUN_RXSA_BUCKETS 256
/* Receive SA entries, one per (sender, vnet); at most TUN_RXSA_PENDING of
 * them may be waiting for an answer (no SA yet): those can be made by
 * anyone who sends a packet, so the oldest is dropped to make room. */
#define TUN_RXSA_MAX 4096
#define TUN_RXSA_PENDING 1024
/* How long a MAC learned from traffic (not VARP) is kept as a hint. */
#define TUN_LEARN_TTL_MS 60000u
/* FLOOD duplicate windows are per vnet (one vnet's floods, genuine or
 * forged where it has no key, must not move another's window), for this
 * many origins each. */
#define TUN_FLOOD_ORIGINS 1024
#define TUN_FLOOD_AGE_MS 600000u
/* The SA exchange (tun_saex.c): a sender is asked for its SA at most once
 * per TUN_SA_ASK_MS per vnet (a per-sender budget: forged packets in a
 * sender's name cannot use up anybody else's), and an answer counts only
 * within TUN_SA_CHALLENGE_MS of the question it answers. Our challenges
 * are not stored: each is a MAC, under a key drawn at start, of (vnet,
 * sender, TUN_SA_SLOT_MS time slot), so an answer can be checked whatever
 * became of the entry that asked, and asking again within a slot asks the
 * same question (a late answer to the first still counts). */
#define TUN_SA_ASK_MS 100u
#define TUN_SA_CHALLENGE_MS 3000u
#define TUN_SA_SLOT_MS 1000u
/* vnetd is asked to rekey at this outbound sequence number. */
#define TUN_REKEY_SEQ ESP_SA_REKEY_SEQ /* 0xF0000000: 2^28 packets to spare */

/* Unknown unicast destinations of one vnet: a small set-associative cache
 * of when each MAC was last reported, so that ops->miss fires at most once
 * per TUN_MISS_INTERVAL_MS per MAC, and the MACs of the current TAP batch
 * waiting to be reported once it is sent. The set is picked by a seeded
 * hash: guests choose the MACs. */
#define TUN_MISS_SETS 64
#define TUN_MISS_WAYS 4
#define TUN_MISS_PENDING 16

struct tun_miss_ent {
	uint8_t mac[6];
	bool used;
	uint64_t last_ms;
};

struct tun_miss {
	struct tun_miss_ent e[TUN_MISS_SETS][TUN_MISS_WAYS];
	uint64_t seed;
	uint32_t tokens; /* reports left this second */
	uint64_t refill_ms;
	uint8_t pending[TUN_MISS_PENDING][6];
	size_t npending;
};

/* What we know of one sender on one vnet: its current SA and, for a grace
 * period after it changed, the previous one; and the question we asked it,
 * if any. An entry with no SA yet is "pending" and sits on the dp's
 * pending list, oldest first. */
struct tun_rxsa {
	struct tun_rxsa *next; /* hash chain */
	struct tun_rxsa *pend_prev, *pend_next;
	struct tun_vnet *vn;
	struct vnet_addr sender;
	uint16_t hash16;
	struct esp_sa *cur, *prev;
	uint8_t cur_nonce[ESP_NONCE_LEN], prev_nonce[ESP_NONCE_LEN];
	uint64_t prev_until_ms;
	uint64_t asked_ms;    /* last question (rate limit) */
	uint64_t ann_used_ms; /* the announce whose challenge it answered */
	/* The time slot of the question whose answer installed cur: an
	 * answer to an older question never replaces it. */
	uint64_t cur_slot;
};

struct tun_vnet {
	struct tun_vnet *next;
	struct tun_dp *dp;
	struct vnet_id id;
	struct tun_tap tap;
	struct tun_gro gro; /* TCP segments held for one GSO write */
	enum esp_suite_id suite;
	struct esp_key key;
	struct esp_sa *tx_sa; /* NULL on a `none` vnet */
	uint8_t tx_nonce[ESP_NONCE_LEN];
	bool rekey_asked;
	struct esp_tag *sa_tag;	   /* SA exchange messages */
	struct esp_tag *flood_tag; /* FLOOD envelopes */
	/* Our last ANNOUNCE's challenge: every host that hears it answers
	 * with its own SA, once each. */
	uint8_t ann_challenge[SA_CHALLENGE_LEN];
	uint64_t ann_ms;
	struct mac_table *macs;
	struct replay_flood *floods; /* (origin, seq) seen on this vnet */
	struct tun_miss miss;
	struct tun_stats st;
};

struct tun_dp {
	struct tun_udp udp;
	struct vnet_addr local;
	struct tun_dp_ops ops;
	void *arg;
	uint64_t flood_seq;
	struct esp_tag *chal; /* our SA exchange challenges (random key) */
	struct sockaddr_in group;
	struct sockaddr_in peers[TUN_PEERS_MAX];
	size_t npeers;
	struct tun_vnet *vnets;
	struct tun_rxsa *rxsa[TUN_RXSA_BUCKETS];
	size_t nrxsa, npending;
	struct tun_rxsa *pend_head, *pend_tail; /* pending entries, oldest first */
	struct tun_udp_rxq rxq;
	struct tun_udp_txq txq;
	uint8_t *slots;
	size_t slot_next;
	uint8_t *tapbuf; /* TUN_TAP_BIG bytes, for super-frames */
	uint64_t now_ms; /* monotonic, refreshed once per batch */
	/* Who is charged for datagrams a flush could not send: the vnet whose
	 * TAP is being read, or the data path itself while receiving. */
	struct tun_stats *tx_st;
	struct tun_stats st;
};

/* tun_dp.c */
uint64_t tun_dp_clock_ms(void);
/* Delivers n received datagrams or GRO trains, as tun_dp_rx_udp does after
 * its recvmmsg (also the entry point of the decap fuzzer). */
void tun_dp_rx_dgrams(struct tun_dp *dp, const struct tun_udp_dgram *d, int n);

/* tun_miss.c: unknown unicast reports. */
void tun_miss_init(struct tun_miss *m, uint64_t now_ms);
/* A frame to `mac` was flooded because no entry knew it: queue a report
 * unless one went out for it within TUN_MISS_INTERVAL_MS or the vnet's
 * budget for this second is spent. */
void tun_miss_note(struct tun_miss *m, const uint8_t mac[6], uint64_t now_ms);
/* Hands the queued reports of vn to ops->miss (call after a flush). */
void tun_miss_report(struct tun_dp *dp, struct tun_vnet *vn);

/* tun_vnet.c: per-vnet state. */
struct tun_vnet *tun_vnet_new(struct tun_dp *dp, const struct tun_vnet_conf *vc);
void tun_vnet_free(struct tun_vnet *vn);

/* tun_rxsa.c: the receive SA table. */
/* The SA for an ESP packet with `spi` from `sender`: its current SA, or the
 * previous one during the grace period. NULL if none: *vn_out is then the
 * vnet the SPI names (and the sender is asked for its SA, rate limited), or
 * NULL if no vnet of ours has it. */
struct esp_sa *tun_rxsa_lookup(struct tun_dp *dp, const struct vnet_addr *sender, uint32_t spi,
			       struct tun_vnet **vn_out);
/* The vnet of an existing SA for (sender, spi), or NULL; no side effect. */
struct tun_vnet *tun_rxsa_vnet(struct tun_dp *dp, const struct vnet_addr *sender, uint32_t spi);
/* The entry of (vn, sender), made (pending) if there is none; NULL if the
 * table is full of SAs. */
struct tun_rxsa *tun_rxsa_get(struct tun_dp *dp, struct tun_vnet *vn,
			      const struct vnet_addr *sender);
/* Installs the SA (spi, nonce) that a verified REPLY told, with every
 * sequence number up to seq counted as seen. The same SA again changes
 * nothing. Returns 0, 1 if it was known already, or -errno. */
int tun_rxsa_install(struct tun_dp *dp, struct tun_rxsa *e, uint32_t spi,
		     const uint8_t nonce[ESP_NONCE_LEN], uint32_t seq, uint64_t slot);
/* Frees the SAs of vn (all if vn is NULL). */
void tun_rxsa_flush(struct tun_dp *dp, const struct tun_vnet *vn);
/* tun_vnet_sa_foreach for the receive SAs of vn. */
int tun_rxsa_foreach(const struct tun_dp *dp, const struct tun_vnet *vn,
		     int (*fn)(const struct tun_sa_info *sa, void *arg), void *arg);

/* tun_flood.c: FLOOD envelope tags on secured vnets. */
/* Writes the tag of the tagged FLOOD of `len` bytes at pkt. 0 or -errno. */
int tun_flood_tag(const struct tun_vnet *vn, uint8_t *pkt, size_t len);
/* True if the tagged FLOOD of `len` bytes at pkt has vn's right tag. */
bool tun_flood_tag_ok(const struct tun_vnet *vn, const uint8_t *pkt, size_t len);

/* tun_saex.c: the SA exchange (sa_msg.h). */
/* Floods (group and every peer, relayed like any flood) an ANNOUNCE of vn's
 * sending SA with a fresh challenge. Sent at once. */
void tun_saex_announce(struct tun_dp *dp, struct tun_vnet *vn);
/* Asks e's sender for its SA unless asked within TUN_SA_ASK_MS. Sent at once. */
void tun_saex_ask(struct tun_dp *dp, struct tun_rxsa *e, uint32_t spi);
/* Our challenge to `sender` on vn for time slot `slot` (now_ms /
 * TUN_SA_SLOT_MS). Returns 0 or -EIO. */
int tun_saex_challenge(const struct tun_dp *dp, const struct tun_vnet *vn,
		       const struct vnet_addr *sender, uint64_t slot,
		       uint8_t out[SA_CHALLENGE_LEN]);
/* Handles a received SA packet (info->kind PKT_SA) from `from` (the UDP
 * source, or the FLOOD origin of a flooded ANNOUNCE, then `flooded`).
 * Returns true if it was genuine and taken, false if refused (counted). */
bool tun_saex_rx(struct tun_dp *dp, const uint8_t *pkt, size_t len, const struct vnet_addr *from,
		 bool flooded);

/* tun_encap.c: TAP -> network. */
/* A free transmit slot (its payload area starts at + TUN_SLOT_HEAD),
 * flushing the queue first if slots or queue entries (`dsts` more) run
 * out. */
uint8_t *tun_encap_slot(struct tun_dp *dp, size_t dsts);
/* Gives back the slot last handed out (not queued after all). */
void tun_encap_unslot(struct tun_dp *dp, uint8_t *slot);
/* Sends a control packet to dst now (with what was queued before it);
 * never takes a frame's slot, so callable anywhere. */
void tun_encap_ctl(struct tun_dp *dp, const uint8_t *pkt, size_t len,
		   const struct sockaddr_in *dst);
/* Sends the frame of `len` bytes at slot + TUN_SLOT_HEAD on vn: to the
 * destination MAC's care-of address, nowhere for a local MAC, else as a
 * FLOOD. Counts it. */
void tun_encap_frame(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *slot, size_t len);
/* Encapsulates `len` payload bytes at slot + TUN_SLOT_HEAD (a frame or a
 * VARP message) and queues it to dst, or as a FLOOD if dst is NULL.
 * Returns 0 or -errno (-EKEYEXPIRED, -EIO). */
int tun_encap_send(struct tun_dp *dp, struct tun_vnet *vn, uint8_t *slot, size_t len,
		   enum pkt_kind kind, const struct sockaddr_in *dst);
/* Flushes the transmit queue and frees every slot; counts and returns the
 * datagrams lost (in dp->tx_st->drop_noroute). */
size_t tun_encap_flush(struct tun_dp *dp);

/* tun_decap.c: network -> TAP. Handles one datagram (not a GRO train). */
void tun_decap_dgram(struct tun_dp *dp, uint8_t *buf, size_t len, const struct sockaddr_in *from,
		     bool mcast);

#endif
