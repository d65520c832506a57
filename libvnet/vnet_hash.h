/*
 * Seeded hash for libvnet's tables (MAC table, FLOOD origins). Keys come
 * from the network, so each table draws a random seed at creation; this is
 * not a cryptographic MAC, only enough mixing that an outsider who does not
 * know the seed cannot aim entries at one bucket. Private to libvnet.
 */
#ifndef TERN_VNET_HASH_H
#define TERN_VNET_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A 64-bit finaliser (MurmurHash3's fmix64): every input bit affects
 * every output bit. */
static inline uint64_t vnet_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Hash of len bytes at p under seed; take the low bits for a bucket. */
static inline uint64_t vnet_hash_bytes(const void *p, size_t len, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull);

	while (len >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = vnet_hash_mix(h ^ w) + 0x9e3779b97f4a7c15ull;
		b += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, b, len);
		h = vnet_hash_mix(h ^ w ^ ((uint64_t)len << 56));
	}
	return vnet_hash_mix(h);
}

#endif
