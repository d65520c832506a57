/*
 * TCP segmentation and checksum completion (see tun_seg.h). Sums are taken
 * over native-order 16-bit words and stored natively, which RFC 1071 shows
 * gives the same bytes on any endianness.
 */
#include "tun_seg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define TUN_ETH_IPV4 0x0800
#define TUN_ETH_IPV6 0x86dd
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint64_t sum_add(const uint8_t *p, size_t len, uint64_t sum)
{
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		memcpy(&w, p, 1); /* the odd byte, padded with a zero byte after it */
		sum += w;
	}
	return sum;
}

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t tun_seg_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	return fold(sum_add(p, len, sum));
}

static void put_csum(uint8_t *at, uint64_t sum)
{
	uint16_t c = (uint16_t)~fold(sum);

	memcpy(at, &c, 2);
}

int tun_seg_csum(uint8_t *frame, size_t len, const struct virtio_net_hdr *vh)
{
	size_t start = vh->csum_start, at = start + vh->csum_offset;

	if (start >= len || at + 2 > len)
		return -EINVAL;
	/* The kernel left the pseudo-header sum in the field. */
	put_csum(frame + at, sum_add(frame + start, len - start, 0));
	return 0;
}

static size_t l3_offset(const uint8_t *f, size_t len, uint16_t *proto)
{
	size_t off = 12;
	int tags;

	for (tags = 0; tags <= 2; tags++) {
		if (off + 2 > len)
			return 0;
		*proto = (uint16_t)(f[off] << 8 | f[off + 1]);
		if (*proto != 0x8100 && *proto != 0x88a8)
			return off + 2;
		off += 4;
	}
	return 0;
}

static int parse_l3(struct tun_seg *s, uint16_t proto)
{
	const uint8_t *ip = s->frame + s->l3;

	if (proto == TUN_ETH_IPV4 && !s->v6) {
		if (s->l3 + 20 > s->len || (ip[0] >> 4) != 4 || (ip[0] & 0x0f) < 5 || ip[9] != 6)
			return -EINVAL;
		s->l4 = s->l3 + (size_t)(ip[0] & 0x0f) * 4;
		return 0;
	}
	if (proto == TUN_ETH_IPV6 && s->v6) {
		/* Extension headers are not handed to us with TSO6 in practice;
		 * refusing them is safe (the frame is dropped, TCP resends). */
		if (s->l3 + 40 > s->len || (ip[0] >> 4) != 6 || ip[6] != 6)
			return -EINVAL;
		s->l4 = s->l3 + 40;
		return 0;
	}
	return -EINVAL;
}

int tun_seg_start(struct tun_seg *s, const uint8_t *frame, size_t len,
		  const struct virtio_net_hdr *vh)
{
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	uint16_t proto = 0;
	size_t doff;

	memset(s, 0, sizeof(*s));
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EOPNOTSUPP;
	s->frame = frame;
	s->len = len;
	s->v6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
	s->mss = vh->gso_size;
	if (!s->mss || !(s->l3 = l3_offset(frame, len, &proto)) || parse_l3(s, proto) < 0)
		return -EINVAL;
	if (s->l4 + 20 > len)
		return -EINVAL;
	doff = (size_t)(frame[s->l4 + 12] >> 4) * 4;
	if (doff < 20 || s->l4 + doff > len)
		return -EINVAL;
	s->pay = s->l4 + doff;
	return 0;
}

static void fix_l3(struct tun_seg *s, uint8_t *out, size_t chunk)
{
	uint8_t *ip = out + s->l3;

	if (s->v6) {
		uint16_t plen = htons((uint16_t)(s->pay - s->l4 + chunk));

		memcpy(ip + 4, &plen, 2);
		return;
	}
	uint16_t tot = htons((uint16_t)(s->pay - s->l3 + chunk)), id;

	memcpy(ip + 2, &tot, 2);
	memcpy(&id, ip + 4, 2);
	id = htons((uint16_t)(ntohs(id) + s->idx));
	memcpy(ip + 4, &id, 2);
	memset(ip + 10, 0, 2);
	put_csum(ip + 10, sum_add(ip, s->l4 - s->l3, 0));
}

uint32_t tun_seg_pseudo(const uint8_t *ip, int v6, size_t l4len)
{
	uint8_t ph[40];

	if (v6) {
		memcpy(ph, ip + 8, 32);
		ph[32] = (uint8_t)(l4len >> 24);
		ph[33] = (uint8_t)(l4len >> 16);
		ph[34] = (uint8_t)(l4len >> 8);
		ph[35] = (uint8_t)l4len;
		memset(ph + 36, 0, 3);
		ph[39] = 6;
		return fold(sum_add(ph, 40, 0));
	}
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = (uint8_t)(l4len >> 8);
	ph[11] = (uint8_t)l4len;
	return fold(sum_add(ph, 12, 0));
}

static void fix_l4(struct tun_seg *s, uint8_t *out, size_t chunk, int last)
{
	uint8_t *tcp = out + s->l4;
	size_t l4len = s->pay - s->l4 + chunk;
	uint32_t seq;

	memcpy(&seq, tcp + 4, 4);
	seq = htonl(ntohl(seq) + (uint32_t)s->off);
	memcpy(tcp + 4, &seq, 4);
	if (!last)
		tcp[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (s->idx)
		tcp[13] &= (uint8_t)~TCP_CWR;
	memset(tcp + 16, 0, 2);
	put_csum(tcp + 16, sum_add(tcp, l4len, tun_seg_pseudo(out + s->l3, s->v6, l4len)));
}

int tun_seg_next(struct tun_seg *s, uint8_t *out, size_t cap)
{
	size_t left = s->len - s->pay - s->off, chunk = left < s->mss ? left : s->mss;

	if (s->idx && !left)
		return 0;
	if (s->pay + chunk > cap)
		return -ENOSPC;
	memcpy(out, s->frame, s->pay);
	memcpy(out + s->pay, s->frame + s->pay + s->off, chunk);
	fix_l3(s, out, chunk);
	fix_l4(s, out, chunk, chunk == left);
	s->off += chunk;
	s->idx++;
	return (int)(s->pay + chunk);
}
