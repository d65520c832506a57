/*
 * Our TCP segmentation of TSO super-frames: every segment must be a frame
 * the receiving kernel accepts as if it had been sent unsegmented, i.e.
 * right lengths, sequence numbers, flags and checksums that verify.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "tun_seg.h"

#define MSS 1000
#define PAYLOAD 3500 /* 3 full segments and one of 500 */

struct seg_case {
	const char *name;
	int v6;
	int vlan;
};

static const struct seg_case cases[] = {
    {"ipv4", 0, 0},
    {"ipv6", 1, 0},
    {"ipv4 vlan", 0, 1},
};

/* A TSO super-frame as the kernel hands it over: checksum fields hold the
 * pseudo-header sum only (we do not rely on them). */
static size_t build(const struct seg_case *c, uint8_t *f, size_t *l4)
{
	size_t off = 12, ip, tcp, i;

	memset(f, 0, 128);
	memset(f, 0x02, 12);
	if (c->vlan) {
		f[off] = 0x81;
		f[off + 2] = 0x00;
		f[off + 3] = 0x05;
		off += 4;
	}
	f[off] = c->v6 ? 0x86 : 0x08;
	f[off + 1] = c->v6 ? 0xdd : 0x00;
	ip = off + 2;
	if (c->v6) {
		f[ip] = 0x60;
		f[ip + 6] = 6;
		f[ip + 7] = 64;
		for (i = 0; i < 32; i++)
			f[ip + 8 + i] = (uint8_t)(i + 1);
		tcp = ip + 40;
	} else {
		f[ip] = 0x45;
		f[ip + 4] = 0x12; /* id 0x1234 */
		f[ip + 5] = 0x34;
		f[ip + 8] = 64;
		f[ip + 9] = 6;
		memcpy(f + ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		tcp = ip + 20;
	}
	f[tcp + 4] = 0x10;			 /* seq 0x10000000 */
	f[tcp + 12] = 0x80;			 /* 32-byte header with options */
	f[tcp + 13] = 0x80 | 0x08 | 0x01 | 0x10; /* CWR PSH FIN ACK */
	for (i = 20; i < 32; i++)
		f[tcp + i] = 1; /* NOPs */
	for (i = 0; i < PAYLOAD; i++)
		f[tcp + 32 + i] = (uint8_t)(i * 7);
	*l4 = tcp;
	return tcp + 32 + PAYLOAD;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Verifies the TCP checksum the way a receiver does: the sum over pseudo
 * header and segment is 0xffff. */
static void check_tcp_csum(const struct seg_case *c, const uint8_t *s, size_t l3, size_t l4,
			   size_t len)
{
	uint8_t ph[40] = {0};
	size_t tcplen = len - l4, phlen;
	uint16_t sum;

	if (c->v6) {
		memcpy(ph, s + l3 + 8, 32);
		ph[34] = (uint8_t)(tcplen >> 8);
		ph[35] = (uint8_t)tcplen;
		ph[39] = 6;
		phlen = 40;
	} else {
		memcpy(ph, s + l3 + 12, 8);
		ph[9] = 6;
		ph[10] = (uint8_t)(tcplen >> 8);
		ph[11] = (uint8_t)tcplen;
		phlen = 12;
	}
	sum = tun_seg_sum(s + l4, tcplen, tun_seg_sum(ph, phlen, 0));
	assert_int_equal(sum, 0xffff);
}

static void seg_case(const struct seg_case *c)
{
	static uint8_t f[8192], out[2048], joined[PAYLOAD];
	struct virtio_net_hdr vh = {.gso_size = MSS};
	size_t l4, l3, len = build(c, f, &l4), got = 0;
	struct tun_seg s;
	unsigned k = 0;
	int n;

	l3 = c->v6 ? l4 - 40 : l4 - 20;
	vh.gso_type = c->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	assert_int_equal(tun_seg_start(&s, f, len, &vh), 0);
	while ((n = tun_seg_next(&s, out, sizeof(out))) > 0) {
		size_t pay = (size_t)n - l4 - 32;
		uint8_t flags = out[l4 + 13];

		assert_int_equal(pay, k < 3 ? MSS : PAYLOAD - 3 * MSS);
		assert_int_equal(be32(out + l4 + 4), 0x10000000u + k * MSS);
		assert_int_equal(!!(flags & 0x01), k == 3); /* FIN on the last only */
		assert_int_equal(!!(flags & 0x08), k == 3); /* PSH too */
		assert_int_equal(!!(flags & 0x80), k == 0); /* CWR on the first only */
		if (c->v6) {
			assert_int_equal(out[l3 + 4] << 8 | out[l3 + 5], 32 + pay);
		} else {
			assert_int_equal(out[l3 + 2] << 8 | out[l3 + 3], 20 + 32 + pay);
			assert_int_equal(out[l3 + 4] << 8 | out[l3 + 5], 0x1234 + k);
			assert_int_equal(tun_seg_sum(out + l3, 20, 0), 0xffff);
		}
		check_tcp_csum(c, out, l3, l4, (size_t)n);
		memcpy(joined + got, out + l4 + 32, pay);
		got += pay;
		k++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(k, 4);
	assert_int_equal(got, PAYLOAD);
	assert_memory_equal(joined, f + l4 + 32, PAYLOAD);
}

static void test_segment(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		seg_case(&cases[i]);
}

struct bad_case {
	const char *name;
	size_t len;  /* frame bytes offered (of a good IPv4 super-frame) */
	uint8_t gso; /* gso_type */
	uint16_t mss;
	size_t poke; /* byte to overwrite (0: none) */
	uint8_t value;
	int err;
};

static const struct bad_case bad[] = {
    {"udp gso", 0, VIRTIO_NET_HDR_GSO_UDP, MSS, 0, 0, -EOPNOTSUPP},
    {"mss 0", 0, VIRTIO_NET_HDR_GSO_TCPV4, 0, 0, 0, -EINVAL},
    {"short", 30, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 0, 0, -EINVAL},
    {"not ipv4", 0, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 14, 0x65, -EINVAL},
    {"ihl 4", 0, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 14, 0x44, -EINVAL},
    {"udp proto", 0, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 23, 17, -EINVAL},
    {"doff 4", 0, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 46, 0x40, -EINVAL},
    {"doff past end", 60, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 46, 0xf0, -EINVAL},
    {"v6 type, v4 frame", 0, VIRTIO_NET_HDR_GSO_TCPV6, MSS, 0, 0, -EINVAL},
};

static void test_bad_frames(void **state)
{
	static uint8_t f[8192];
	size_t i, l4;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtio_net_hdr vh = {.gso_type = bad[i].gso, .gso_size = bad[i].mss};
		struct tun_seg s;
		size_t len = build(&cases[0], f, &l4);

		if (bad[i].poke)
			f[bad[i].poke] = bad[i].value;
		if (bad[i].len)
			len = bad[i].len;
		print_message("%s\n", bad[i].name);
		assert_int_equal(tun_seg_start(&s, f, len, &vh), bad[i].err);
	}
}

/* Frames cut short anywhere before the payload, the last byte offered
 * just before a page nobody may read: a read past the frame's end (e.g. of
 * the IP header of a frame that ends with its Ethernet header) faults in any
 * build rather than reading the next byte of a larger buffer. */
static void test_short_frames(void **state)
{
	static uint8_t f[8192];
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map =
	    mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t c, len, l4;

	(void)state;
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct virtio_net_hdr vh = {.gso_type = cases[c].v6 ? VIRTIO_NET_HDR_GSO_TCPV6
								    : VIRTIO_NET_HDR_GSO_TCPV4,
					    .gso_size = MSS};
		struct tun_seg s;

		build(&cases[c], f, &l4);
		for (len = 0; len < l4 + 32; len++) { /* up to the end of the TCP header */
			uint8_t *at = map + pg - len;

			memcpy(at, f, len);
			if (len == l4 - (cases[c].v6 ? 40 : 20))
				print_message("%s: frame ends with its Ethernet header\n",
					      cases[c].name);
			assert_int_equal(tun_seg_start(&s, at, len, &vh), -EINVAL);
		}
	}
	munmap(map, (size_t)pg * 2);
}

/* A frame needing its checksum completed: the field holds the pseudo
 * header sum, as the kernel leaves it. */
static void test_csum_complete(void **state)
{
	static uint8_t f[8192];
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};
	size_t l4, len = build(&cases[0], f, &l4);
	uint8_t ph[12] = {0};
	uint16_t seed;

	(void)state;
	memcpy(ph, f + 14 + 12, 8);
	ph[9] = 6;
	ph[10] = (uint8_t)((len - l4) >> 8);
	ph[11] = (uint8_t)(len - l4);
	seed = tun_seg_sum(ph, sizeof(ph), 0);
	memcpy(f + l4 + 16, &seed, 2);
	vh.csum_start = (uint16_t)l4;
	vh.csum_offset = 16;
	assert_int_equal(tun_seg_csum(f, len, &vh), 0);
	assert_int_equal(tun_seg_sum(f + l4, len - l4, tun_seg_sum(ph, sizeof(ph), 0)), 0xffff);

	vh.csum_start = (uint16_t)(len - 1);
	assert_int_equal(tun_seg_csum(f, len, &vh), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_segment),
	    cmocka_unit_test(test_bad_frames),
	    cmocka_unit_test(test_short_frames),
	    cmocka_unit_test(test_csum_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
