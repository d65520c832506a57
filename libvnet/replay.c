#include "replay.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vnet_hash.h"

#define WORD_BITS 64u

/*
 * The window is a ring of REPLAY_WORDS bitmap words; bit (seq % 64) of word
 * (seq / 64) % REPLAY_WORDS records seq. The ring has one word more than
 * the window needs, so the words covering [top - WINDOW + 1, top] never
 * alias. Sliding right zeroes the words that newly enter the window.
 */
static enum replay_verdict ring_check(uint64_t top, const uint64_t *bits, uint64_t seq)
{
	if (seq > top)
		return REPLAY_NEW;
	if (top - seq >= REPLAY_WINDOW)
		return REPLAY_TOO_OLD;
	uint64_t word = bits[(seq / WORD_BITS) % REPLAY_WORDS];
	return (word >> (seq % WORD_BITS)) & 1 ? REPLAY_DUPLICATE : REPLAY_NEW;
}

/* Records seq, which ring_check found new; returns the new top. */
static uint64_t ring_set(uint64_t top, uint64_t *bits, uint64_t seq)
{
	if (seq > top) {
		uint64_t cur = top / WORD_BITS, want = seq / WORD_BITS;
		uint64_t n = want - cur < REPLAY_WORDS ? want - cur : REPLAY_WORDS;
		for (uint64_t i = 1; i <= n; i++)
			bits[(cur + i) % REPLAY_WORDS] = 0;
		top = seq;
	}
	bits[(seq / WORD_BITS) % REPLAY_WORDS] |= 1ull << (seq % WORD_BITS);
	return top;
}

void replay_init(struct replay_win *w)
{
	memset(w, 0, sizeof(*w));
}

void replay_init_floor(struct replay_win *w, uint32_t top)
{
	uint32_t bit = top % WORD_BITS;

	memset(w->bits, 0xff, sizeof(w->bits));
	/* Numbers above top in its own word are still to come. */
	if (bit != WORD_BITS - 1)
		w->bits[(top / WORD_BITS) % REPLAY_WORDS] = (2ull << bit) - 1;
	w->top = top;
}

enum replay_verdict replay_check(const struct replay_win *w, uint32_t seq)
{
	if (seq == 0)
		return REPLAY_TOO_OLD;
	return ring_check(w->top, w->bits, seq);
}

enum replay_verdict replay_update(struct replay_win *w, uint32_t seq)
{
	enum replay_verdict v = replay_check(w, seq);

	if (v == REPLAY_NEW)
		w->top = (uint32_t)ring_set(w->top, w->bits, seq);
	return v;
}

void replay_init64(struct replay_win64 *w)
{
	memset(w, 0, sizeof(*w));
	w->empty = 1;
}

enum replay_verdict replay_check64(const struct replay_win64 *w, uint64_t seq)
{
	if (w->empty)
		return REPLAY_NEW;
	return ring_check(w->top, w->bits, seq);
}

enum replay_verdict replay_update64(struct replay_win64 *w, uint64_t seq)
{
	enum replay_verdict v = replay_check64(w, seq);

	if (v != REPLAY_NEW)
		return v;
	if (w->empty) {
		/* Start the ring clean around the first number seen. */
		memset(w->bits, 0, sizeof(w->bits));
		w->top = seq;
		w->empty = 0;
	}
	w->top = ring_set(w->top, w->bits, seq);
	return v;
}

/* FLOOD dedup table: entries chained from buckets by index; NIL ends a
 * chain and marks a free entry's link in the free list. */
#define NIL UINT32_MAX

struct flood_origin {
	struct vnet_addr addr;
	uint64_t last_ms;
	uint32_t next; /* bucket chain, or free list */
	bool used;
	struct replay_win64 win;
};

struct replay_flood {
	uint64_t seed;
	uint64_t max_age_ms;
	size_t max, count;
	uint32_t nbuckets; /* power of two */
	uint32_t free_head;
	uint32_t *buckets;
	struct flood_origin *entries;
};

static uint32_t flood_bucket(const struct replay_flood *t, const struct vnet_addr *a)
{
	return (uint32_t)(vnet_hash_bytes(a->b, VNET_ADDR_LEN, t->seed) & (t->nbuckets - 1));
}

struct replay_flood *replay_flood_new(size_t max_origins, uint64_t max_age_ms)
{
	struct replay_flood *t;
	uint32_t nb = 1;

	if (max_origins == 0 || max_origins > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max_origins)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->buckets = malloc(nb * sizeof(*t->buckets));
	t->entries = calloc(max_origins, sizeof(*t->entries));
	if (!t->buckets || !t->entries || RAND_bytes((uint8_t *)&t->seed, sizeof(t->seed)) != 1) {
		replay_flood_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->nbuckets = nb;
	t->max = max_origins;
	t->max_age_ms = max_age_ms;
	for (uint32_t i = 0; i < nb; i++)
		t->buckets[i] = NIL;
	for (size_t i = 0; i < max_origins; i++)
		t->entries[i].next = i + 1 < max_origins ? (uint32_t)(i + 1) : NIL;
	t->free_head = 0;
	return t;
}

void replay_flood_free(struct replay_flood *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->entries);
	free(t);
}

static bool flood_expired(const struct replay_flood *t, const struct flood_origin *o,
			  uint64_t now_ms)
{
	return now_ms > o->last_ms && now_ms - o->last_ms >= t->max_age_ms;
}

static struct flood_origin *flood_find(const struct replay_flood *t, const struct vnet_addr *a)
{
	for (uint32_t i = t->buckets[flood_bucket(t, a)]; i != NIL; i = t->entries[i].next)
		if (vnet_addr_eq(&t->entries[i].addr, a))
			return &t->entries[i];
	return NULL;
}

static void flood_remove(struct replay_flood *t, uint32_t idx)
{
	uint32_t *link = &t->buckets[flood_bucket(t, &t->entries[idx].addr)];

	while (*link != idx)
		link = &t->entries[*link].next;
	*link = t->entries[idx].next;
	t->entries[idx].used = false;
	t->entries[idx].next = t->free_head;
	t->free_head = idx;
	t->count--;
}

enum replay_verdict replay_flood_check(const struct replay_flood *t, const struct vnet_addr *origin,
				       uint64_t seq, uint64_t now_ms)
{
	const struct flood_origin *o = flood_find(t, origin);

	if (!o || flood_expired(t, o, now_ms))
		return REPLAY_NEW;
	return replay_check64(&o->win, seq);
}

/* Frees one entry when the table is full: an expired one, else the least
 * recently seen. */
static void flood_make_room(struct replay_flood *t, uint64_t now_ms)
{
	uint32_t oldest = NIL;

	if (replay_flood_age(t, now_ms) > 0)
		return;
	for (uint32_t i = 0; i < t->max; i++)
		if (t->entries[i].used &&
		    (oldest == NIL || t->entries[i].last_ms < t->entries[oldest].last_ms))
			oldest = i;
	flood_remove(t, oldest);
}

static struct flood_origin *flood_add(struct replay_flood *t, const struct vnet_addr *a,
				      uint64_t now_ms)
{
	uint32_t idx, b;
	struct flood_origin *o;

	if (t->count == t->max)
		flood_make_room(t, now_ms);
	idx = t->free_head;
	o = &t->entries[idx];
	t->free_head = o->next;
	b = flood_bucket(t, a);
	o->addr = *a;
	o->used = true;
	o->next = t->buckets[b];
	t->buckets[b] = idx;
	replay_init64(&o->win);
	t->count++;
	return o;
}

enum replay_verdict replay_flood_update(struct replay_flood *t, const struct vnet_addr *origin,
					uint64_t seq, uint64_t now_ms)
{
	struct flood_origin *o = flood_find(t, origin);
	enum replay_verdict v;

	if (o && flood_expired(t, o, now_ms))
		replay_init64(&o->win);
	if (!o)
		o = flood_add(t, origin, now_ms);
	v = replay_update64(&o->win, seq);
	if (v == REPLAY_NEW)
		o->last_ms = now_ms;
	return v;
}

size_t replay_flood_age(struct replay_flood *t, uint64_t now_ms)
{
	size_t n = 0;

	for (uint32_t i = 0; i < t->max; i++) {
		if (t->entries[i].used && flood_expired(t, &t->entries[i], now_ms)) {
			flood_remove(t, i);
			n++;
		}
	}
	return n;
}

size_t replay_flood_count(const struct replay_flood *t)
{
	return t->count;
}
