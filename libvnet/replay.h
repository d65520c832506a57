/*
 * Anti-replay windows.
 *
 * struct replay_win: the RFC 4303 (section 3.4.3) sliding window for 32-bit
 * ESP sequence numbers, REPLAY_WINDOW packets wide, as a ring of bitmap
 * words so that sliding costs a few word clears. Check before verifying the
 * ICV, update only after it verified.
 *
 * struct replay_win64: the same over 64-bit numbers, used for FLOOD
 * (origin, seq) duplicate suppression.
 *
 * struct replay_flood: FLOOD dedup table, one replay_win64 per origin
 * address, at most `max_origins`, each forgotten after `max_age_ms` without
 * a flood. When full, expired origins are dropped first, then the least
 * recently seen one (losing it can only let one duplicate through, while
 * refusing new origins would cut hosts off).
 */
#ifndef TERN_REPLAY_H
#define TERN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "vnet_addr.h"

#define REPLAY_WINDOW 2048u
#define REPLAY_WORDS (REPLAY_WINDOW / 64u + 1u) /* one spare word for the ring */

enum replay_verdict {
	REPLAY_NEW = 0,	  /* never seen and inside or right of the window */
	REPLAY_DUPLICATE, /* already recorded */
	REPLAY_TOO_OLD,	  /* left of the window (or ESP seq 0) */
};

struct replay_win {
	uint32_t top; /* highest recorded; 0 = nothing recorded yet */
	uint64_t bits[REPLAY_WORDS];
};

struct replay_win64 {
	uint64_t top;
	uint64_t bits[REPLAY_WORDS];
	int empty; /* nothing recorded yet: any seq is new */
};

/* Empties the window. */
void replay_init(struct replay_win *w);
/* A window in which every number up to `top` counts as recorded. */
void replay_init_floor(struct replay_win *w, uint32_t top);
/* Verdict for `seq` without changing the window. Sequence number 0 is
 * never valid in ESP and is TOO_OLD. */
enum replay_verdict replay_check(const struct replay_win *w, uint32_t seq);
/* Records `seq`, sliding the window right if it is beyond the top. Returns
 * the verdict replay_check gave before recording; nothing changes unless it
 * is REPLAY_NEW. */
enum replay_verdict replay_update(struct replay_win *w, uint32_t seq);

/* The same over 64-bit numbers, where 0 is a valid number and an empty
 * window takes any number as new. */
void replay_init64(struct replay_win64 *w);
/* Verdict for seq without changing the window. */
enum replay_verdict replay_check64(const struct replay_win64 *w, uint64_t seq);
/* Records seq if new; returns the verdict before recording. */
enum replay_verdict replay_update64(struct replay_win64 *w, uint64_t seq);

struct replay_flood;

/* Creates a FLOOD dedup table. max_origins >= 1. Returns NULL with errno
 * EINVAL or ENOMEM. */
struct replay_flood *replay_flood_new(size_t max_origins, uint64_t max_age_ms);
/* Frees the table. NULL is safe. */
void replay_flood_free(struct replay_flood *t);

/* Verdict for (origin, seq) without recording it; an unknown or expired
 * origin gives REPLAY_NEW. `now_ms` is a monotonic clock in ms. */
enum replay_verdict replay_flood_check(const struct replay_flood *t, const struct vnet_addr *origin,
				       uint64_t seq, uint64_t now_ms);
/* Records (origin, seq) and refreshes the origin's age, making room as
 * described above. Returns the verdict before recording. */
enum replay_verdict replay_flood_update(struct replay_flood *t, const struct vnet_addr *origin,
					uint64_t seq, uint64_t now_ms);
/* Forgets origins not seen for max_age_ms; returns how many. */
size_t replay_flood_age(struct replay_flood *t, uint64_t now_ms);
/* Number of origins currently tracked. */
size_t replay_flood_count(const struct replay_flood *t);

#endif
