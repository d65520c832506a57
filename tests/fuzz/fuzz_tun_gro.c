/*
 * Receive coalescing (tun_gro.c) on a train of frames, as tun_decap hands
 * them over: frames that pass pkt_eth_check go to tun_gro_write, the TAP
 * being a non-blocking SOCK_SEQPACKET socketpair with a 10-byte
 * virtio-net header (drained after every call, so no write may fail).
 *
 * Input: records of one control byte, a big-endian u16 length and that
 * many bytes (fewer at the end). Control bits:
 *   0  set the IPv4 total / IPv6 payload length to the frame's
 *   1  set a right TCP checksum (IPv4 without options or IPv6)
 *   2  continue the previous frame: its headers, sequence number moved
 *      past its payload, the bytes as payload (lengths and checksum set)
 *   3  with 2: the next IPv4 id
 *   4  with 2: PSH set (else cleared)
 *   5  tun_gro_flush after the frame (the end of a receive batch)
 * At the end, tun_gro_flush.
 *
 * Checked: what comes out of the TAP is exactly the frames that went in,
 * in order: a plain write (zero header) is the frame byte for byte; a GSO
 * write cut again by tun_seg at its gso_size gives the merged frames but
 * for what segmentation rewrites (IPv4 id and checksum, TCP checksum).
 */
#include <fcntl.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkt.h"
#include "tun_gro.h"
#include "tun_seg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define HDR 10
#define MAX_FRAMES 1024
#define OUT_MAX (70000u)

struct frame {
	uint8_t *p; /* handed to tun_gro (it may rewrite the first of a run) */
	uint8_t *copy;
	size_t len;
};

static struct {
	int sp[2];
	struct tun_tap tap;
	struct tun_gro g;
	struct frame f[MAX_FRAMES];
	size_t n, next; /* frames in; next one expected out */
	uint8_t out[OUT_MAX], seg[OUT_MAX];
} fz;

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Offset of the TCP header of an untagged IPv4/IPv6 frame, or 0. */
static size_t l4_of(const uint8_t *f, size_t len)
{
	if (len >= 34 && get16(f + 12) == 0x0800)
		return 34;
	if (len >= 54 && get16(f + 12) == 0x86dd)
		return 54;
	return 0;
}

static void fix(uint8_t *f, size_t len, uint8_t ctl)
{
	size_t l4 = l4_of(f, len);

	if (!l4)
		return;
	if (ctl & 1)
		put16(l4 == 34 ? f + 16 : f + 18, l4 == 34 ? len - 14 : len - 54);
	if ((ctl & 2) && len >= l4 + 20 && (l4 == 54 || f[14] == 0x45)) {
		uint16_t c;

		memset(f + l4 + 16, 0, 2);
		c = (uint16_t)~tun_seg_sum(f + l4, len - l4,
					   tun_seg_pseudo(f + 14, l4 == 54, len - l4));
		memcpy(f + l4 + 16, &c, 2);
	}
}

/* The previous frame's headers and the record's bytes as payload. */
static uint8_t *follow(const struct frame *prev, const uint8_t *p, size_t n, uint8_t ctl,
		       size_t *len)
{
	size_t l4 = l4_of(prev->copy, prev->len), hlen;
	uint32_t seq;
	uint8_t *f;

	if (!l4 || prev->len < l4 + 20)
		return NULL;
	hlen = l4 + (size_t)(prev->copy[l4 + 12] >> 4) * 4;
	if (hlen < l4 + 20 || hlen > prev->len || !(f = malloc(hlen + n + 1)))
		return NULL;
	memcpy(f, prev->copy, hlen);
	memcpy(f + hlen, p, n);
	seq = (uint32_t)get16(f + l4 + 4) << 16 | get16(f + l4 + 6);
	seq += (uint32_t)(prev->len - hlen);
	put16(f + l4 + 4, seq >> 16);
	put16(f + l4 + 6, seq & 0xffff);
	if ((ctl & 8) && l4 == 34)
		put16(f + 18, (size_t)get16(f + 18) + 1);
	f[l4 + 13] = (uint8_t)((f[l4 + 13] & ~0x08) | ((ctl & 0x10) ? 0x08 : 0));
	*len = hlen + n;
	fix(f, *len, 3);
	return f;
}

/* A segment as tun_seg cut it, against the frame that went in. */
static void same_segment(const uint8_t *s, size_t slen, const struct frame *in)
{
	size_t l4 = l4_of(in->copy, in->len);

	TRAP_IF(slen != in->len || !l4);
	if (l4 == 34) {
		TRAP_IF(memcmp(s, in->copy, 18) || memcmp(s + 20, in->copy + 20, 4) ||
			memcmp(s + 26, in->copy + 26, 8));
	} else {
		TRAP_IF(memcmp(s, in->copy, 54));
	}
	TRAP_IF(memcmp(s + l4, in->copy + l4, 16) ||
		memcmp(s + l4 + 18, in->copy + l4 + 18, slen - l4 - 18));
}

static void check_gso(const struct virtio_net_hdr *vh, const uint8_t *f, size_t len)
{
	struct tun_seg s;
	int n;

	TRAP_IF(vh->flags != VIRTIO_NET_HDR_F_NEEDS_CSUM || vh->csum_offset != 16);
	TRAP_IF(tun_seg_start(&s, f, len, vh) != 0 || vh->csum_start != s.l4 ||
		vh->hdr_len != s.pay);
	while ((n = tun_seg_next(&s, fz.seg, sizeof(fz.seg))) > 0) {
		TRAP_IF(fz.next >= fz.n);
		same_segment(fz.seg, (size_t)n, &fz.f[fz.next++]);
	}
	TRAP_IF(n < 0 || s.idx < 2);
}

/* Everything written to the TAP so far, against the frames in. */
static void drain(void)
{
	ssize_t r;

	while ((r = recv(fz.sp[1], fz.out, sizeof(fz.out), MSG_DONTWAIT)) >= 0) {
		struct virtio_net_hdr vh;

		TRAP_IF(r < HDR);
		memcpy(&vh, fz.out, sizeof(vh));
		if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
			static const uint8_t zero[HDR];

			TRAP_IF(memcmp(fz.out, zero, HDR) != 0 || fz.next >= fz.n);
			TRAP_IF((size_t)r - HDR != fz.f[fz.next].len ||
				memcmp(fz.out + HDR, fz.f[fz.next].copy, (size_t)r - HDR) != 0);
			fz.next++;
		} else {
			check_gso(&vh, fz.out + HDR, (size_t)r - HDR);
		}
	}
}

static void setup(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fz.sp) < 0)
		abort(); /* the environment, not the input */
	fz.tap.fd = fz.sp[0];
	fz.tap.hdr_len = HDR;
}

static void feed(uint8_t *p, size_t len, uint8_t ctl)
{
	struct frame *fr;

	if (!pkt_eth_check(p, len, 0) || fz.n == MAX_FRAMES || !(fr = &fz.f[fz.n])) {
		free(p);
		return;
	}
	fr->p = p;
	fr->len = len;
	fr->copy = malloc(len);
	if (!fr->copy) {
		free(p);
		return;
	}
	memcpy(fr->copy, p, len);
	fz.n++;
	TRAP_IF(tun_gro_write(&fz.g, &fz.tap, p, len) != 0);
	if (ctl & 0x20)
		TRAP_IF(tun_gro_flush(&fz.g, &fz.tap) != 0);
	drain();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	if (!fz.tap.hdr_len)
		setup();
	memset(&fz.g, 0, sizeof(fz.g));
	fz.n = fz.next = 0;
	while (size - at >= 3) {
		uint8_t ctl = data[at];
		size_t n = (size_t)get16(data + at + 1), len = 0;
		uint8_t *f = NULL;

		at += 3;
		n = n < size - at ? n : size - at;
		if ((ctl & 4) && fz.n > 0)
			f = follow(&fz.f[fz.n - 1], data + at, n, ctl, &len);
		if (!f && (f = malloc(n + 1))) {
			memcpy(f, data + at, n);
			len = n;
			fix(f, len, ctl);
		}
		at += n;
		if (f)
			feed(f, len, ctl);
	}
	TRAP_IF(tun_gro_flush(&fz.g, &fz.tap) != 0);
	drain();
	TRAP_IF(fz.next != fz.n);
	for (size_t i = 0; i < fz.n; i++) {
		free(fz.f[i].p);
		free(fz.f[i].copy);
	}
	return 0;
}
