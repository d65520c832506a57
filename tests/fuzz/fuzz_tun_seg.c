/*
 * TAP offload handling (tun_seg.c) as tun_dp reads a TAP with a virtio-net
 * header: the input is the 10-byte header (host order, as the kernel
 * writes it) and then the frame. A GSO frame is cut into segments of at
 * most TUN_SLOT_DATA bytes, each into a buffer of exactly that size; a
 * NEEDS_CSUM frame gets its checksum completed. Whatever is accepted must
 * come out consistent: segments carry the super-frame's headers with only
 * the fields segmentation rewrites changed, the payload in order and
 * nothing else, valid IPv4 header and TCP checksums; a completed checksum
 * verifies and no other byte changed.
 */
#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun_seg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEG_CAP 2048 /* TUN_SLOT_DATA */

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void csum(const struct virtio_net_hdr *vh, const uint8_t *f, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	size_t start = vh->csum_start, at = start + vh->csum_offset;
	uint16_t old;

	if (!copy)
		return;
	memcpy(copy, f, len);
	if (tun_seg_csum(copy, len, vh) == 0) {
		TRAP_IF(start >= len || at + 2 > len);
		TRAP_IF(memcmp(copy, f, at) != 0 ||
			memcmp(copy + at + 2, f + at + 2, len - at - 2));
		/* The field held the pseudo-header sum; with the result in
		 * its place the region sums to all ones. */
		memcpy(&old, f + at, 2);
		TRAP_IF((at - start) % 2 == 0 &&
			tun_seg_sum(copy + start, len - start, old) != 0xffff);
	}
	free(copy);
}

/* Segment idx (payload at off, chunk bytes) against the super-frame f. */
static void check_seg(const struct tun_seg *s, const uint8_t *f, const uint8_t *out, size_t n,
		      size_t off, size_t chunk, int last)
{
	const uint8_t *tcp = out + s->l4, *ftcp = f + s->l4;
	uint32_t seq, fseq;

	TRAP_IF(n != s->pay + chunk || memcmp(out + s->pay, f + s->pay + off, chunk) != 0);
	TRAP_IF(memcmp(out, f, s->l3) != 0); /* Ethernet and VLAN headers */
	if (s->v6) {
		TRAP_IF(memcmp(out + s->l3, f + s->l3, 4) ||
			memcmp(out + s->l3 + 6, f + s->l3 + 6, 34));
		TRAP_IF((out[s->l3 + 4] << 8 | out[s->l3 + 5]) != (int)(n - s->l4));
	} else {
		TRAP_IF(memcmp(out + s->l3, f + s->l3, 2) ||
			memcmp(out + s->l3 + 6, f + s->l3 + 6, 4) ||
			memcmp(out + s->l3 + 12, f + s->l3 + 12, s->l4 - s->l3 - 12));
		TRAP_IF((size_t)(out[s->l3 + 2] << 8 | out[s->l3 + 3]) != ((n - s->l3) & 0xffff));
		TRAP_IF(tun_seg_sum(out + s->l3, s->l4 - s->l3, 0) != 0xffff);
	}
	memcpy(&seq, tcp + 4, 4);
	memcpy(&fseq, ftcp + 4, 4);
	TRAP_IF(ntohl(seq) != ntohl(fseq) + (uint32_t)off);
	TRAP_IF(memcmp(tcp, ftcp, 4) || memcmp(tcp + 8, ftcp + 8, 5) ||
		memcmp(tcp + 14, ftcp + 14, 2) || memcmp(tcp + 18, ftcp + 18, s->pay - s->l4 - 18));
	/* Flags: FIN and PSH only on the last, CWR only on the first. */
	TRAP_IF((tcp[13] & ~0x89) != (ftcp[13] & ~0x89));
	TRAP_IF(!last && (tcp[13] & 0x09));
	TRAP_IF(off && (tcp[13] & 0x80));
	TRAP_IF(tun_seg_sum(tcp, n - s->l4, tun_seg_pseudo(out + s->l3, s->v6, n - s->l4)) !=
		0xffff);
}

static void segment(const struct virtio_net_hdr *vh, const uint8_t *f, size_t len)
{
	struct tun_seg s;
	uint8_t *out;
	size_t off = 0, total;
	int n;

	if (tun_seg_start(&s, f, len, vh) < 0)
		return;
	TRAP_IF(s.l3 >= s.l4 || s.l4 + 20 > s.pay || s.pay > len || s.mss == 0);
	total = len - s.pay;
	out = malloc(SEG_CAP);
	if (!out)
		return;
	while ((n = tun_seg_next(&s, out, SEG_CAP)) > 0) {
		size_t chunk = (size_t)n - s.pay;

		TRAP_IF((size_t)n > SEG_CAP || (size_t)n < s.pay || chunk > s.mss ||
			chunk > total - off);
		TRAP_IF(chunk < s.mss && off + chunk != total); /* only the last is short */
		check_seg(&s, f, out, (size_t)n, off, chunk, off + chunk == total);
		off += chunk;
	}
	TRAP_IF(n == 0 && off != total);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr vh;
	const uint8_t *f = data + sizeof(vh);
	size_t len;

	if (size < sizeof(vh))
		return 0;
	memcpy(&vh, data, sizeof(vh));
	len = size - sizeof(vh);
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		segment(&vh, f, len);
	else if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		csum(&vh, f, len);
	return 0;
}
