/*
 * Receive-side coalescing: the segments tun_seg cuts from a super-frame,
 * fed to tun_gro, must come back as one GSO write equal to the original
 * super-frame (apart from the fields the kernel recomputes), and anything
 * that is not the next in-order segment of the same flow must be written
 * on its own, in order. The "TAP" is a SOCK_SEQPACKET socketpair with a
 * virtio-net header length set by hand.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tun_gro.h"
#include "tun_seg.h"

#define MSS 1200
#define PAYLOAD 5000 /* 4 full segments and one of 200 */
#define HDR 10

struct rig {
	struct tun_tap tap;
	struct tun_gro g;
	int sp[2];
	uint8_t segs[8][2048];
	size_t seglen[8];
	int nsegs;
};

static uint8_t super[8192];
static size_t super_len;

/* An IPv4 TCP super-frame with timestamps-sized options, as a TSO TAP
 * would hand it over. */
static void build_super(void)
{
	size_t i;

	memset(super, 0, 66);
	memcpy(super, "\x02\0\0\0\0\x0b\x02\0\0\0\0\x0a\x08\x00", 14);
	super[14] = 0x45;
	super[18] = 0x77;
	super[20] = 0x40; /* DF */
	super[22] = 64;
	super[23] = 6;
	memcpy(super + 26, "\xc0\xa8\x61\x01\xc0\xa8\x61\x02", 8);
	memcpy(super + 34, "\x13\x88\xc3\x50", 4); /* ports */
	memcpy(super + 38, "\x01\x02\x03\x04", 4); /* seq */
	memcpy(super + 42, "\x0a\x0b\x0c\x0d", 4); /* ack */
	super[46] = 0x80;			   /* 32-byte header */
	super[47] = 0x18;			   /* ACK PSH */
	super[48] = 0x01;			   /* window */
	for (i = 54; i < 66; i++)
		super[i] = (uint8_t)i;
	for (i = 0; i < PAYLOAD; i++)
		super[66 + i] = (uint8_t)(i * 13 + 1);
	super_len = 66 + PAYLOAD;
	super[16] = (uint8_t)((super_len - 14) >> 8); /* IP total length */
	super[17] = (uint8_t)(super_len - 14);
}

static void rig_open(struct rig *r)
{
	struct virtio_net_hdr vh = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = MSS};
	struct tun_seg s;
	int n;

	memset(r, 0, sizeof(*r));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, r->sp), 0);
	r->tap.fd = r->sp[0];
	r->tap.hdr_len = HDR;
	build_super();
	assert_int_equal(tun_seg_start(&s, super, super_len, &vh), 0);
	while ((n = tun_seg_next(&s, r->segs[r->nsegs], sizeof(r->segs[0]))) > 0)
		r->seglen[r->nsegs++] = (size_t)n;
	assert_int_equal(r->nsegs, 5);
}

static void rig_close(struct rig *r)
{
	close(r->sp[0]);
	close(r->sp[1]);
}

/* Reads one write; returns its length without the header. */
static ssize_t rig_read(struct rig *r, struct virtio_net_hdr *vh, uint8_t *buf, size_t cap)
{
	uint8_t raw[16384];
	ssize_t n = recv(r->sp[1], raw, sizeof(raw), MSG_DONTWAIT);

	if (n < HDR)
		return -1;
	memcpy(vh, raw, sizeof(*vh));
	assert_true((size_t)n - HDR <= cap);
	memcpy(buf, raw + HDR, (size_t)n - HDR);
	return n - HDR;
}

/* The bytes of a merged write that the kernel recomputes or we rewrote:
 * IP checksum and TCP checksum. */
static void mask(uint8_t *f)
{
	memset(f + 24, 0, 2);
	memset(f + 50, 0, 2);
}

static void test_merge_roundtrip(void **state)
{
	struct virtio_net_hdr vh;
	struct rig r;
	uint8_t got[16384], want[16384];
	ssize_t n;
	int i;

	(void)state;
	rig_open(&r);
	for (i = 0; i < r.nsegs; i++)
		assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[i], r.seglen[i]), 0);
	assert_int_equal(rig_read(&r, &vh, got, sizeof(got)), -1); /* all held */
	assert_int_equal(tun_gro_flush(&r.g, &r.tap), 0);
	n = rig_read(&r, &vh, got, sizeof(got));
	assert_int_equal(n, super_len);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh.gso_size, MSS);
	assert_int_equal(vh.hdr_len, 66);
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.csum_start, 34);
	assert_int_equal(vh.csum_offset, 16);
	assert_int_equal(tun_seg_sum(got + 14, 20, 0), 0xffff);
	/* Completing the partial checksum as the kernel would gives a
	 * segment that verifies. */
	assert_int_equal(tun_seg_csum(got, (size_t)n, &vh), 0);
	assert_int_equal(
	    tun_seg_sum(got + 34, (size_t)n - 34, tun_seg_pseudo(got + 14, 0, (size_t)n - 34)),
	    0xffff);
	memcpy(want, super, super_len);
	mask(want);
	mask(got);
	assert_memory_equal(got, want, super_len);
	assert_int_equal(rig_read(&r, &vh, got, sizeof(got)), -1);
	rig_close(&r);
}

/* Expects the next write to be exactly segment k, unmerged. */
static void expect_single(struct rig *r, int k)
{
	struct virtio_net_hdr vh, zero = {0};
	uint8_t got[4096];

	assert_int_equal(rig_read(r, &vh, got, sizeof(got)), r->seglen[k]);
	assert_memory_equal(&vh, &zero, sizeof(vh));
	assert_memory_equal(got, r->segs[k], r->seglen[k]);
}

static void test_out_of_order(void **state)
{
	struct rig r;

	(void)state;
	rig_open(&r);
	assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[0], r.seglen[0]), 0);
	assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[2], r.seglen[2]), 0);
	expect_single(&r, 0);
	assert_int_equal(tun_gro_flush(&r.g, &r.tap), 0);
	expect_single(&r, 2);
	rig_close(&r);
}

/* A frame that is not TCP goes out in order between what was held and
 * what comes after. */
static void test_other_frame_keeps_order(void **state)
{
	static uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2,
				  0,	0,    0,    0,	  0xa,	0x08, 0x06};
	struct virtio_net_hdr vh;
	struct rig r;
	uint8_t got[16384];

	(void)state;
	rig_open(&r);
	assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[0], r.seglen[0]), 0);
	assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[1], r.seglen[1]), 0);
	assert_int_equal(tun_gro_write(&r.g, &r.tap, arp, sizeof(arp)), 0);
	assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[2], r.seglen[2]), 0);
	assert_int_equal(tun_gro_flush(&r.g, &r.tap), 0);
	assert_int_equal(rig_read(&r, &vh, got, sizeof(got)), 66 + 2 * MSS);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(rig_read(&r, &vh, got, sizeof(got)), sizeof(arp));
	assert_memory_equal(got, arp, sizeof(arp));
	expect_single(&r, 2);
	rig_close(&r);
}

/* A segment whose checksum fails is passed on untouched (the kernel drops
 * it), never merged into a super-frame that would hide the damage. */
static void test_bad_checksum_not_merged(void **state)
{
	struct virtio_net_hdr vh;
	struct rig r;
	uint8_t got[16384];
	int i;

	(void)state;
	rig_open(&r);
	r.segs[1][100] ^= 0x01;
	for (i = 0; i < r.nsegs; i++)
		assert_int_equal(tun_gro_write(&r.g, &r.tap, r.segs[i], r.seglen[i]), 0);
	assert_int_equal(tun_gro_flush(&r.g, &r.tap), 0);
	expect_single(&r, 0);
	expect_single(&r, 1);
	assert_int_equal(rig_read(&r, &vh, got, sizeof(got)), 66 + 2 * MSS + 200);
	assert_int_equal(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_memory_equal(got + 66, super + 66 + 2 * MSS, 2 * MSS + 200);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_roundtrip),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_other_frame_keeps_order),
	    cmocka_unit_test(test_bad_checksum_not_merged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
