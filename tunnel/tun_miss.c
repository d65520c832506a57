/*
 * Unknown unicast: a frame from the TAP whose destination MAC no entry
 * knows is flooded (tun_encap.c), and vnetd is told so that it can ask
 * where the MAC is. The reports are rate limited per (vnet, MAC) and per
 * vnet, because a guest can send to as many made-up MACs as it likes, and
 * held until the batch is sent so that vnetd's VARP request (which goes
 * through the same transmit slots) cannot disturb frames in flight.
 */
#include <string.h>

#include <openssl/rand.h>

#include "tun_priv.h"

void tun_miss_init(struct tun_miss *m, uint64_t now_ms)
{
	memset(m, 0, sizeof(*m));
	/* Without a random seed the sets are merely predictable. */
	if (RAND_bytes((uint8_t *)&m->seed, sizeof(m->seed)) != 1)
		m->seed = now_ms ^ (uint64_t)(uintptr_t)m;
	m->tokens = TUN_MISS_PER_S;
	m->refill_ms = now_ms;
}

static size_t miss_set(const struct tun_miss *m, const uint8_t mac[6])
{
	uint64_t h = m->seed;

	for (size_t i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)(h % TUN_MISS_SETS);
}

static bool miss_budget(struct tun_miss *m, uint64_t now_ms)
{
	if (now_ms - m->refill_ms >= 1000u) {
		m->tokens = TUN_MISS_PER_S;
		m->refill_ms = now_ms;
	}
	if (!m->tokens)
		return false;
	m->tokens--;
	return true;
}

/* The entry to record mac in: its own, else a free or stale way; NULL if
 * mac was reported recently or every way holds a recent report. */
static struct tun_miss_ent *miss_slot(struct tun_miss *m, const uint8_t mac[6], uint64_t now_ms)
{
	struct tun_miss_ent *set = m->e[miss_set(m, mac)], *free_ent = NULL;

	for (size_t w = 0; w < TUN_MISS_WAYS; w++) {
		struct tun_miss_ent *e = &set[w];
		bool fresh = e->used && now_ms - e->last_ms < TUN_MISS_INTERVAL_MS;

		if (e->used && memcmp(e->mac, mac, 6) == 0)
			return fresh ? NULL : e;
		if (!fresh && !free_ent)
			free_ent = e;
	}
	return free_ent;
}

void tun_miss_note(struct tun_miss *m, const uint8_t mac[6], uint64_t now_ms)
{
	struct tun_miss_ent *e;

	if (m->npending >= TUN_MISS_PENDING || !(e = miss_slot(m, mac, now_ms)))
		return;
	if (!miss_budget(m, now_ms))
		return;
	memcpy(e->mac, mac, 6);
	e->used = true;
	e->last_ms = now_ms;
	memcpy(m->pending[m->npending++], mac, 6);
}

void tun_miss_report(struct tun_dp *dp, struct tun_vnet *vn)
{
	uint8_t macs[TUN_MISS_PENDING][6];
	size_t n = vn->miss.npending;

	/* Emptied before the calls: each report is made once, whatever the
	 * callback does. */
	memcpy(macs, vn->miss.pending, n * 6);
	vn->miss.npending = 0;
	for (size_t i = 0; i < n; i++) {
		vn->st.tx_miss++;
		if (dp->ops.miss)
			dp->ops.miss(dp->arg, vn, macs[i]);
	}
}
