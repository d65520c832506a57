/*
 * MAC location table: a fixed pool of entries chained from a power-of-two
 * bucket array by index, so that the table never allocates after
 * mac_table_new and its size bound is exact. Remote entries are also on a
 * doubly linked list by index, least recently confirmed first, which is
 * what makes eviction O(1) on a full table.
 */
#include "mac_table.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vnet_hash.h"

#define NIL UINT32_MAX
#define MAC_TABLE_MAX (1u << 24)

struct slot {
	struct mac_entry e;
	uint32_t next;	       /* bucket chain, or free list */
	uint32_t older, newer; /* remote entries: the confirmation order */
	bool used;
};

struct mac_table {
	uint64_t seed;
	size_t max, count;
	uint32_t nbuckets; /* power of two, >= max */
	uint32_t free_head;
	/* No entry expires before this (a lower bound, exact after an age
	 * scan): lets a put on a full table refuse, and an age call return,
	 * without scanning. */
	uint64_t next_expiry;
	uint32_t oldest, newest; /* remote entries, NIL when none */
	size_t nlocal;
	uint64_t evicted, refused;
	uint32_t *buckets;
	struct slot *slots;
};

static uint32_t bucket_of(const struct mac_table *t, const struct vnet_id *vnet,
			  const uint8_t mac[6])
{
	uint8_t key[VNET_ID_LEN + 6];

	memcpy(key, vnet->b, VNET_ID_LEN);
	memcpy(key + VNET_ID_LEN, mac, 6);
	return (uint32_t)(vnet_hash_bytes(key, sizeof(key), t->seed) & (t->nbuckets - 1));
}

struct mac_table *mac_table_new(size_t max_entries)
{
	struct mac_table *t;
	uint32_t nb = 1;

	if (max_entries == 0 || max_entries > MAC_TABLE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < max_entries)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->buckets = malloc(nb * sizeof(*t->buckets));
	t->slots = calloc(max_entries, sizeof(*t->slots));
	if (!t->buckets || !t->slots || RAND_bytes((uint8_t *)&t->seed, sizeof(t->seed)) != 1) {
		mac_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->nbuckets = nb;
	t->max = max_entries;
	for (uint32_t i = 0; i < nb; i++)
		t->buckets[i] = NIL;
	for (size_t i = 0; i < max_entries; i++)
		t->slots[i].next = i + 1 < max_entries ? (uint32_t)(i + 1) : NIL;
	t->free_head = 0;
	t->next_expiry = MAC_TABLE_NEVER;
	t->oldest = t->newest = NIL;
	return t;
}

void mac_table_free(struct mac_table *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->slots);
	free(t);
}

static bool live(const struct mac_entry *e, uint64_t now_ms)
{
	return e->expires_ms == MAC_TABLE_NEVER || e->expires_ms > now_ms;
}

/* Index of (vnet, mac), live or not, or NIL. */
static uint32_t find(const struct mac_table *t, const struct vnet_id *vnet, const uint8_t mac[6])
{
	for (uint32_t i = t->buckets[bucket_of(t, vnet, mac)]; i != NIL; i = t->slots[i].next) {
		const struct mac_entry *e = &t->slots[i].e;
		if (memcmp(e->mac, mac, 6) == 0 && vnet_id_eq(&e->vnet, vnet))
			return i;
	}
	return NIL;
}

static void lru_remove(struct mac_table *t, uint32_t idx)
{
	struct slot *s = &t->slots[idx];

	if (s->older != NIL)
		t->slots[s->older].newer = s->newer;
	else
		t->oldest = s->newer;
	if (s->newer != NIL)
		t->slots[s->newer].older = s->older;
	else
		t->newest = s->older;
	s->older = s->newer = NIL;
}

static void lru_append(struct mac_table *t, uint32_t idx)
{
	struct slot *s = &t->slots[idx];

	s->older = t->newest;
	s->newer = NIL;
	if (t->newest != NIL)
		t->slots[t->newest].newer = idx;
	else
		t->oldest = idx;
	t->newest = idx;
}

/* Leaves the entry's place in the remote list and the local count as if
 * it were gone; set_kind puts it back under its (new) flags. */
static void clear_kind(struct mac_table *t, uint32_t idx)
{
	if (t->slots[idx].e.flags & MAC_TABLE_REMOTE)
		lru_remove(t, idx);
	else if (t->slots[idx].e.flags & MAC_TABLE_LOCAL)
		t->nlocal--;
}

static void set_kind(struct mac_table *t, uint32_t idx, uint32_t flags)
{
	t->slots[idx].e.flags = flags;
	if (flags & MAC_TABLE_REMOTE)
		lru_append(t, idx);
	else
		t->nlocal++;
}

static void unlink_slot(struct mac_table *t, uint32_t idx)
{
	uint32_t *link = &t->buckets[bucket_of(t, &t->slots[idx].e.vnet, t->slots[idx].e.mac)];

	clear_kind(t, idx);
	while (*link != idx)
		link = &t->slots[*link].next;
	*link = t->slots[idx].next;
	t->slots[idx].used = false;
	t->slots[idx].next = t->free_head;
	t->free_head = idx;
	t->count--;
}

static uint32_t alloc_slot(struct mac_table *t, const struct vnet_id *vnet, const uint8_t mac[6])
{
	uint32_t idx = t->free_head, b = bucket_of(t, vnet, mac);
	struct slot *s = &t->slots[idx];

	t->free_head = s->next;
	memset(s, 0, sizeof(*s));
	s->older = s->newer = NIL;
	s->e.vnet = *vnet;
	memcpy(s->e.mac, mac, 6);
	s->used = true;
	s->next = t->buckets[b];
	t->buckets[b] = idx;
	t->count++;
	return idx;
}

/* A full table: the least recently confirmed remote entry goes (no scan:
 * an attacker inserting at line rate must not cost a pass over the table
 * per frame). An expired one was due anyway and is not counted. With no
 * remote entry, local ones win: refused, unless some local entry with an
 * expiry is due (vnetd's never are). */
static int make_room(struct mac_table *t, uint64_t now_ms)
{
	uint32_t victim = t->oldest;

	if (victim != NIL) {
		if (live(&t->slots[victim].e, now_ms))
			t->evicted++;
		unlink_slot(t, victim);
		return 0;
	}
	if (now_ms >= t->next_expiry && mac_table_age(t, now_ms) > 0)
		return 0;
	t->refused++;
	return -ENOSPC;
}

int mac_table_put(struct mac_table *t, const struct vnet_id *vnet, const uint8_t mac[6],
		  const struct vnet_addr *coa, uint32_t flags, uint64_t expires_ms, uint64_t now_ms)
{
	uint32_t idx;
	struct mac_entry *e;
	int changed;

	if (flags != MAC_TABLE_LOCAL && flags != MAC_TABLE_REMOTE)
		return -EINVAL;
	idx = find(t, vnet, mac);
	if (idx == NIL) {
		if (t->count == t->max && make_room(t, now_ms) < 0)
			return -ENOSPC;
		idx = alloc_slot(t, vnet, mac);
		changed = 1;
	} else {
		e = &t->slots[idx].e;
		changed = !live(e, now_ms) || e->flags != flags || !vnet_addr_eq(&e->coa, coa);
		clear_kind(t, idx);
	}
	/* New or confirmed: a remote entry becomes the newest. */
	set_kind(t, idx, flags);
	e = &t->slots[idx].e;
	e->coa = *coa;
	e->expires_ms = expires_ms;
	if (expires_ms < t->next_expiry)
		t->next_expiry = expires_ms;
	return changed;
}

const struct mac_entry *mac_table_get(const struct mac_table *t, const struct vnet_id *vnet,
				      const uint8_t mac[6], uint64_t now_ms)
{
	uint32_t idx = find(t, vnet, mac);

	if (idx == NIL || !live(&t->slots[idx].e, now_ms))
		return NULL;
	return &t->slots[idx].e;
}

int mac_table_del(struct mac_table *t, const struct vnet_id *vnet, const uint8_t mac[6])
{
	uint32_t idx = find(t, vnet, mac);

	if (idx == NIL)
		return -ENOENT;
	unlink_slot(t, idx);
	return 0;
}

size_t mac_table_age(struct mac_table *t, uint64_t now_ms)
{
	uint64_t next = MAC_TABLE_NEVER;
	size_t n = 0;

	/* vnetd ages every second: scanning a large table that has nothing
	 * due would cost a pass over every slot each time. */
	if (t->count == 0) {
		t->next_expiry = MAC_TABLE_NEVER;
		return 0;
	}
	if (now_ms < t->next_expiry)
		return 0;
	for (uint32_t i = 0; i < t->max; i++) {
		if (!t->slots[i].used)
			continue;
		if (!live(&t->slots[i].e, now_ms)) {
			unlink_slot(t, i);
			n++;
		} else if (t->slots[i].e.expires_ms < next) {
			next = t->slots[i].e.expires_ms;
		}
	}
	t->next_expiry = next;
	return n;
}

size_t mac_table_flush(struct mac_table *t, const struct vnet_id *vnet, uint32_t flags)
{
	size_t n = 0;

	for (uint32_t i = 0; i < t->max; i++) {
		const struct mac_entry *e = &t->slots[i].e;
		if (!t->slots[i].used || (vnet && !vnet_id_eq(&e->vnet, vnet)) ||
		    (flags && !(e->flags & flags)))
			continue;
		unlink_slot(t, i);
		n++;
	}
	return n;
}

size_t mac_table_count(const struct mac_table *t)
{
	return t->count;
}

void mac_table_stats(const struct mac_table *t, struct mac_table_stats *out)
{
	out->count = t->count;
	out->local = t->nlocal;
	out->max = t->max;
	out->evicted = t->evicted;
	out->refused = t->refused;
}

int mac_table_foreach(const struct mac_table *t, int (*fn)(const struct mac_entry *e, void *arg),
		      void *arg)
{
	for (uint32_t i = 0; i < t->max; i++) {
		if (!t->slots[i].used)
			continue;
		int r = fn(&t->slots[i].e, arg);
		if (r)
			return r;
	}
	return 0;
}
