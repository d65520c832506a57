/*
 * Where each MAC of each vnet is: (vnet id, MAC) -> care-of address.
 *
 * Local entries come from the bridge FDB, remote ones from VARP replies and
 * announces. A put replaces the old location at once (an announce after a
 * migration must win immediately). Entries expire at an absolute time on a
 * monotonic millisecond clock that the caller passes in; expired entries
 * are invisible to lookups and removed by mac_table_age. The hash is seeded
 * per table so that peers cannot choose colliding MACs.
 *
 * The table holds at most `max_entries` (vnetd gives each vnet its own
 * table, sized by the vnet's `mac-max`, so one vnet cannot fill another's).
 * Remote entries are kept in order of their last confirmation (a put of the
 * entry, whatever changed); when the table is full a new entry, local or
 * remote, takes the place of the least recently confirmed remote entry (an
 * eviction, counted unless that entry had expired anyway). Local entries
 * are never evicted: when every entry is local a new entry is refused with
 * -ENOSPC and counted. Both are O(1).
 */
#ifndef TERN_MAC_TABLE_H
#define TERN_MAC_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vnet_addr.h"
#include "vnet_id.h"

#define MAC_TABLE_LOCAL 0x1u  /* on this host's bridge */
#define MAC_TABLE_REMOTE 0x2u /* learned by VARP */

/* No expiry (e.g. local entries, removed when the FDB says so). */
#define MAC_TABLE_NEVER UINT64_MAX

struct mac_entry {
	struct vnet_id vnet;
	uint8_t mac[6];
	struct vnet_addr coa;
	uint32_t flags;	     /* MAC_TABLE_LOCAL or MAC_TABLE_REMOTE */
	uint64_t expires_ms; /* absolute, or MAC_TABLE_NEVER */
};

struct mac_table;

struct mac_table_stats {
	size_t count;	  /* entries held, expired ones until aged out */
	size_t local;	  /* of which local */
	size_t max;	  /* max_entries */
	uint64_t evicted; /* live remote entries dropped to make room */
	uint64_t refused; /* new entries refused: full of local entries */
};

/* Creates an empty table for at most max_entries (1..2^24) entries. Returns
 * NULL with errno EINVAL or ENOMEM. */
struct mac_table *mac_table_new(size_t max_entries);
/* Frees the table and its entries. NULL is safe. */
void mac_table_free(struct mac_table *t);

/* Inserts or replaces the entry for (vnet, mac) and makes it the most
 * recently confirmed. A new entry in a full table evicts the least recently
 * confirmed remote entry. Returns 1 if it is new or its location or flags
 * changed (worth logging/announcing), 0 if only the expiry was refreshed,
 * -ENOSPC if the table is full of local entries, -EINVAL if flags is not
 * exactly one of LOCAL/REMOTE. An expired entry counts as absent. */
int mac_table_put(struct mac_table *t, const struct vnet_id *vnet, const uint8_t mac[6],
		  const struct vnet_addr *coa, uint32_t flags, uint64_t expires_ms,
		  uint64_t now_ms);

/* The live entry for (vnet, mac) at now_ms, or NULL. The pointer is valid
 * until the next change to the table. */
const struct mac_entry *mac_table_get(const struct mac_table *t, const struct vnet_id *vnet,
				      const uint8_t mac[6], uint64_t now_ms);

/* Removes (vnet, mac). Returns 0 or -ENOENT. */
int mac_table_del(struct mac_table *t, const struct vnet_id *vnet, const uint8_t mac[6]);

/* Removes entries with expires_ms <= now_ms; returns how many. */
size_t mac_table_age(struct mac_table *t, uint64_t now_ms);

/* Removes every entry of `vnet` (all entries if vnet is NULL) whose flags
 * intersect `flags` (0 = any); returns how many. */
size_t mac_table_flush(struct mac_table *t, const struct vnet_id *vnet, uint32_t flags);

/* Number of entries held, expired ones included until aged out. */
size_t mac_table_count(const struct mac_table *t);

/* Counts and counters of the table. */
void mac_table_stats(const struct mac_table *t, struct mac_table_stats *out);

/* Calls fn on every entry (expired ones included until aged out) in no
 * particular order; stops and returns fn's value when it is non-zero.
 * fn must not change the table. */
int mac_table_foreach(const struct mac_table *t, int (*fn)(const struct mac_entry *e, void *arg),
		      void *arg);

#endif
