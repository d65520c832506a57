/*
 * Our own TCP segmentation and checksum completion for frames a TAP with
 * TSO/CSUM offload hands us (virtio-net header semantics, as in
 * Documentation/networking/segmentation-offloads.rst): a super-frame is cut
 * into frames of at most gso_size payload bytes, each with copied headers,
 * fixed IP length/id/checksum, TCP sequence number, flags and a full TCP
 * checksum. Nothing here trusts the header: every offset is checked
 * against the frame.
 */
#ifndef TERN_TUN_SEG_H
#define TERN_TUN_SEG_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

struct tun_seg {
	const uint8_t *frame;
	size_t len;
	size_t l3, l4, pay; /* offsets of IP header, TCP header, payload */
	size_t mss;
	size_t off;   /* next payload byte to emit */
	unsigned idx; /* segments emitted */
	int v6;
};

/* Completes a NEEDS_CSUM checksum in place (non-GSO frame). Returns 0 or
 * -EINVAL if csum_start/csum_offset point outside the frame. */
int tun_seg_csum(uint8_t *frame, size_t len, const struct virtio_net_hdr *vh);

/* Prepares segmentation of a GSO_TCPV4/TCPV6 super-frame. Returns 0,
 * -EINVAL for headers that do not parse or a bad gso_size, -EOPNOTSUPP for
 * another GSO type. */
int tun_seg_start(struct tun_seg *s, const uint8_t *frame, size_t len,
		  const struct virtio_net_hdr *vh);
/* Writes the next segment into out (cap bytes). Returns its length, 0
 * when all are out, or -ENOSPC if cap is too small. */
int tun_seg_next(struct tun_seg *s, uint8_t *out, size_t cap);

/* The Internet checksum's ones'-complement sum of `len` bytes, folded to
 * 16 bits (not complemented), starting from `sum`. */
uint16_t tun_seg_sum(const uint8_t *p, size_t len, uint32_t sum);

/* The TCP pseudo-header sum (folded, not complemented) for the IPv4 or
 * IPv6 header at ip and a TCP segment of l4len bytes. */
uint32_t tun_seg_pseudo(const uint8_t *ip, int v6, size_t l4len);

#endif
