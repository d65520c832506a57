/*
 * Receive-side coalescing (internal to libtunnel): consecutive in-order
 * TCP segments of one flow that arrive in one receive batch are written to
 * a TAP with IFF_VNET_HDR as one GSO super-frame, the way a virtio NIC
 * hands the kernel TSO traffic, so the kernel's stack runs once per 64 KiB
 * instead of once per segment. Nothing is copied: the super-frame is a
 * writev of the first frame (headers rewritten in place) and the payloads
 * of the others, all still in the receive buffers, so tun_gro_flush must
 * run before those buffers are reused. Only segments whose TCP checksum
 * verifies are merged, so merging never makes a bad segment look good.
 */
#ifndef TERN_TUN_GRO_H
#define TERN_TUN_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tun_tap.h"

#define TUN_GRO_MAX_SEGS 44
#define TUN_GRO_MAX_PAYLOAD 62000u

struct tun_gro {
	uint8_t *first; /* first frame; NULL when nothing is held */
	size_t first_len;
	size_t l3, l4, hlen; /* IP header, TCP header, payload offsets */
	bool v6, psh;
	size_t mss;	/* payload bytes of the first segment */
	size_t payload; /* payload bytes held */
	uint32_t next_seq;
	unsigned segs;
	bool closed; /* a shorter segment ended the run */
	struct iovec iov[1 + TUN_GRO_MAX_SEGS];
};

/* Writes the frame to the TAP, or holds it to merge with the next ones.
 * Returns the number of frames that could not be written (0 normally). */
size_t tun_gro_write(struct tun_gro *g, struct tun_tap *tap, uint8_t *frame, size_t len);
/* Writes what is held. Returns the number of frames lost (0 normally). */
size_t tun_gro_flush(struct tun_gro *g, struct tun_tap *tap);

#endif
