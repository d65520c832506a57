/*
 * Receive-side TCP coalescing into GSO writes (see tun_gro.h).
 */
#include "tun_gro.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "tun_seg.h"

#define TCP_ACK 0x10
#define TCP_PSH 0x08

struct seg_view {
	size_t l3, l4, hlen, payload;
	bool v6;
	uint32_t seq;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool parse_ip(const uint8_t *f, size_t len, struct seg_view *v)
{
	const uint8_t *ip = f + 14;
	uint16_t type = get16(f + 12);

	v->l3 = 14;
	if (type == 0x0800 && len >= 14 + 20 + 20) {
		/* No options, no fragments, exact length (no Ethernet padding). */
		v->v6 = false;
		v->l4 = 34;
		return ip[0] == 0x45 && ip[9] == 6 && (get16(ip + 6) & 0x3fff) == 0 &&
		       get16(ip + 2) == len - 14;
	}
	if (type == 0x86dd && len >= 14 + 40 + 20) {
		v->v6 = true;
		v->l4 = 54;
		return (ip[0] >> 4) == 6 && ip[6] == 6 && get16(ip + 4) == len - 54;
	}
	return false;
}

static bool tcp_csum_ok(const uint8_t *f, const struct seg_view *v, size_t len)
{
	return tun_seg_sum(f + v->l4, len - v->l4, tun_seg_pseudo(f + v->l3, v->v6, len - v->l4)) ==
	       0xffff;
}

/* A plain data segment we may merge: ACK (and maybe PSH) only, payload,
 * checksum right. */
static bool parse(const uint8_t *f, size_t len, struct seg_view *v)
{
	const uint8_t *tcp;
	size_t doff;

	if (!parse_ip(f, len, v))
		return false;
	tcp = f + v->l4;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || v->l4 + doff >= len || (tcp[13] & ~TCP_PSH) != TCP_ACK)
		return false;
	v->hlen = v->l4 + doff;
	v->payload = len - v->hlen;
	v->seq = (uint32_t)get16(tcp + 4) << 16 | get16(tcp + 6);
	return tcp_csum_ok(f, v, len);
}

/* Same flow and same headers apart from what segmentation changes: IP
 * length, id and checksum, TCP sequence number, checksum and PSH. */
static bool same_headers(const struct tun_gro *g, const uint8_t *f, const struct seg_view *v)
{
	const uint8_t *a = g->first, *ta = a + g->l4, *tb = f + v->l4;

	if (v->v6 != g->v6 || v->hlen != g->hlen || memcmp(a, f, 14))
		return false;
	if (v->v6 ? memcmp(a + 14, f + 14, 4) || memcmp(a + 20, f + 20, 34)
		  : memcmp(a + 14, f + 14, 2) || memcmp(a + 20, f + 20, 4) ||
			memcmp(a + 26, f + 26, 8))
		return false;
	return !memcmp(ta, tb, 4) && !memcmp(ta + 8, tb + 8, 5) &&
	       ((ta[13] ^ tb[13]) & ~TCP_PSH) == 0 && !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 18, tb + 18, g->hlen - g->l4 - 18);
}

static bool can_merge(const struct tun_gro *g, const uint8_t *f, const struct seg_view *v)
{
	return g->first && !g->closed && g->segs < TUN_GRO_MAX_SEGS && v->seq == g->next_seq &&
	       v->payload <= g->mss && g->payload + v->payload <= TUN_GRO_MAX_PAYLOAD &&
	       same_headers(g, f, v);
}

static void hold(struct tun_gro *g, uint8_t *f, size_t len, const struct seg_view *v)
{
	g->first = f;
	g->first_len = len;
	g->l3 = v->l3;
	g->l4 = v->l4;
	g->hlen = v->hlen;
	g->v6 = v->v6;
	g->mss = v->payload;
	g->payload = v->payload;
	g->next_seq = v->seq + (uint32_t)v->payload;
	g->segs = 1;
	g->psh = f[v->l4 + 13] & TCP_PSH;
	g->closed = g->psh;
	g->iov[0].iov_base = f;
	g->iov[0].iov_len = len;
}

static void append(struct tun_gro *g, uint8_t *f, const struct seg_view *v)
{
	g->iov[g->segs].iov_base = f + v->hlen;
	g->iov[g->segs].iov_len = v->payload;
	g->segs++;
	g->payload += v->payload;
	g->next_seq += (uint32_t)v->payload;
	if (f[v->l4 + 13] & TCP_PSH)
		g->psh = g->closed = true;
	if (v->payload < g->mss)
		g->closed = true;
}

/* Turns the first frame's headers into those of the whole super-frame,
 * TCP checksum left partial for the kernel (NEEDS_CSUM). */
static void rewrite(struct tun_gro *g, struct virtio_net_hdr *vh)
{
	uint8_t *ip = g->first + g->l3, *tcp = g->first + g->l4;
	size_t l4len = g->hlen - g->l4 + g->payload;
	uint16_t pseudo;

	if (g->v6) {
		put16(ip + 4, (uint16_t)l4len);
	} else {
		put16(ip + 2, (uint16_t)(g->l4 - g->l3 + l4len));
		uint16_t c;

		memset(ip + 10, 0, 2);
		c = (uint16_t)~tun_seg_sum(ip, g->l4 - g->l3, 0);
		memcpy(ip + 10, &c, 2);
	}
	if (g->psh)
		tcp[13] |= TCP_PSH;
	pseudo = tun_seg_sum(NULL, 0, tun_seg_pseudo(ip, g->v6, l4len));
	memcpy(tcp + 16, &pseudo, 2);
	*vh = (struct virtio_net_hdr){
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .gso_type = g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
	    .hdr_len = (uint16_t)g->hlen,
	    .gso_size = (uint16_t)g->mss,
	    .csum_start = (uint16_t)g->l4,
	    .csum_offset = 16,
	};
}

size_t tun_gro_flush(struct tun_gro *g, struct tun_tap *tap)
{
	struct virtio_net_hdr vh;
	unsigned segs = g->segs;
	int err;

	if (!g->first)
		return 0;
	if (segs == 1) {
		err = tun_tap_write(tap, g->first, g->first_len);
	} else {
		rewrite(g, &vh);
		err = tun_tap_writev(tap, &vh, g->iov, (int)segs);
	}
	g->first = NULL;
	g->segs = 0;
	return err < 0 ? segs : 0;
}

size_t tun_gro_write(struct tun_gro *g, struct tun_tap *tap, uint8_t *frame, size_t len)
{
	struct seg_view v;
	size_t lost;

	if (!parse(frame, len, &v))
		return tun_gro_flush(g, tap) + (tun_tap_write(tap, frame, len) < 0);
	if (can_merge(g, frame, &v)) {
		append(g, frame, &v);
		return 0;
	}
	lost = tun_gro_flush(g, tap);
	hold(g, frame, len, &v);
	return lost;
}
