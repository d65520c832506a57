/* Stream decoders and loader on good, truncated and corrupted buffers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hv_clock.h"
#include "hv_mem.h"
#include "hv_membuf.h"
#include "hv_stream.h"

#define RAM (4ull << 20)

static struct membuf stream;
static struct hv_mem src;
/* The loader's device table: the clock alone. */
static struct hv_clock_dev clkdev;
static const struct hv_stream_dev devs[] = {{&hv_clock_dev_ops, &clkdev}};

/* A stream of a 4 MiB guest: a few non-zero pages, one vCPU, clock. */
static int make_stream(void **state)
{
	struct hv_stream_out out;
	static struct hv_vcpu_state vs;
	struct hv_clock_state clk = {123456789, 42, 2300000, 0};
	uint64_t pages = 0;

	(void)state;
	assert_int_equal(hv_mem_init(&src, RAM, 0), 0);
	for (int i = 0; i < 40; i++)
		memset(src.base + (uint64_t)i * 97 * 1024, i + 1, 100);
	memset(&vs, 0, sizeof(vs));
	vs.version = HV_VCPU_STATE_VERSION;
	vs.regs.rip = 0x200123;
	assert_int_equal(hv_stream_out_init(&out, mem_write, &stream), 0);
	assert_int_equal(hv_stream_save_header(&out, RAM, 1, "name = \"t\"\n"), 0);
	assert_int_equal(hv_stream_save_all_pages(&out, &src, 1, &pages), 0);
	uint64_t zero_pfn = 1000;
	assert_int_equal(hv_stream_save_pages(&out, &src, &zero_pfn, 1), 0);
	assert_int_equal(hv_stream_save_vcpu(&out, 0, &vs), 0);
	assert_int_equal(hv_stream_save_device(&out, HV_CLOCK_DEV_KIND, &clk, sizeof(clk)), 0);
	assert_int_equal(hv_stream_save_end(&out, &src, pages + 1), 0);
	hv_stream_out_fini(&out);
	return 0;
}

static int free_stream(void **state)
{
	(void)state;
	free(stream.b);
	hv_mem_fini(&src);
	return 0;
}

/* Loads buf[0..len) into a fresh RAM; returns rc and the error text. */
static int load(const uint8_t *buf, size_t len, char *err, size_t errlen, struct hv_mem *dst)
{
	struct membuf m = {(uint8_t *)buf, len, len, 0};
	struct hv_stream_in in;
	static struct hv_stream_state st;
	int rc;

	assert_int_equal(hv_stream_in_init(&in, mem_read, &m), 0);
	rc = hv_stream_load_header(&in, &st, err, errlen);
	if (rc == 0) {
		assert_string_equal(st.cfg, "name = \"t\"\n");
		rc = hv_stream_load_body(&in, dst, &st, devs, 1, err, errlen);
	}
	if (rc == 0) {
		assert_int_equal(st.vcpu[0].regs.rip, 0x200123);
		assert_int_equal(clkdev.loaded.mono_ns, 123456789);
	}
	hv_stream_in_fini(&in);
	return rc;
}

static void test_round_trip(void **state)
{
	struct hv_mem dst;
	char err[256] = "";

	(void)state;
	assert_int_equal(hv_mem_init(&dst, RAM, 0), 0);
	memset(dst.base + 1000 * 4096, 0x55, 4096); /* a zero page must clear it */
	assert_int_equal(load(stream.b, stream.len, err, sizeof(err), &dst), 0);
	assert_memory_equal(dst.base, src.base, RAM);
	hv_mem_fini(&dst);
}

static void test_truncated(void **state)
{
	struct hv_mem dst;
	size_t cuts[] = {0, 3, 8, 20, 60, 4000, stream.len / 2, stream.len - 81, stream.len - 1};

	(void)state;
	assert_int_equal(hv_mem_init(&dst, RAM, 0), 0);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char err[256] = "";
		int rc = load(stream.b, cuts[i], err, sizeof(err), &dst);
		if (rc != -EBADMSG || !strstr(err, "truncated"))
			fail_msg("cut at %zu: rc %d \"%s\"", cuts[i], rc, err);
	}
	char err[256] = "";
	assert_int_equal(load(stream.b, 8, err, sizeof(err), &dst), -EBADMSG);
	assert_string_equal(err, "record HEADER at offset 0: truncated");
	assert_int_equal(load(stream.b, 0, err, sizeof(err), &dst), -EBADMSG);
	assert_string_equal(err, "offset 0: truncated: stream ends before the END record");
	hv_mem_fini(&dst);
}

static void test_corrupted(void **state)
{
	struct hv_mem dst;
	uint8_t *copy = malloc(stream.len);
	struct {
		size_t off;
		uint8_t x;
		const char *prefix;
	} flips[] = {
	    {8, 0x01, "record HEADER at offset 0: bad magic (not a Tern stream)"},
	    {0, 0x40, "record unknown (type 65) at offset 0: bad length"},
	    {4, 0x80, "record HEADER at offset 0: config length 11 does not match record"},
	    {6, 0x80, "record HEADER (type 1) at offset 0: bad length 8388651"},
	    {stream.len / 2, 0x01, "record END at offset "}, /* page data: stream digest */
	    {stream.len - 50, 0x01, "record END at offset "},
	};

	(void)state;
	assert_int_equal(hv_mem_init(&dst, RAM, 0), 0);
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		char err[256] = "";
		memcpy(copy, stream.b, stream.len);
		copy[flips[i].off] ^= flips[i].x;
		int rc = load(copy, stream.len, err, sizeof(err), &dst);
		if (rc != -EBADMSG || strncmp(err, flips[i].prefix, strlen(flips[i].prefix)) != 0)
			fail_msg("flip at %zu: rc %d \"%s\"", flips[i].off, rc, err);
	}
	char err[256] = "";
	memcpy(copy, stream.b, stream.len);
	copy[stream.len / 2] ^= 1;
	load(copy, stream.len, err, sizeof(err), &dst);
	assert_non_null(strstr(err, "stream digest mismatch"));
	free(copy);
	hv_mem_fini(&dst);
}

/* A live stream resends dirtied pages: the last copy of a page wins, and
 * a page that became zero is sent as a zero page. */
static void test_resend_last_wins(void **state)
{
	struct membuf m = {NULL, 0, 0, 0};
	struct hv_stream_out out;
	struct hv_stream_in in;
	static struct hv_stream_state st;
	static struct hv_vcpu_state vs;
	struct hv_clock_state clk = {1, 2, 2300000, 0};
	struct hv_mem a, b;
	uint64_t bitmap[16] = {0}, n1 = 0, n2 = 0;
	char err[256] = "";

	(void)state;
	assert_int_equal(hv_mem_init(&a, 2ull << 20, 0), 0);
	assert_int_equal(hv_mem_init(&b, 2ull << 20, 0), 0);
	vs.version = HV_VCPU_STATE_VERSION;
	memset(a.base + 5 * 4096, 1, 4096);
	memset(a.base + 70 * 4096, 2, 4096);
	bitmap[0] = 1ull << 5;
	bitmap[1] = 1ull << 6; /* pfn 70 */
	assert_int_equal(hv_stream_out_init(&out, mem_write, &m), 0);
	assert_int_equal(hv_stream_save_header(&out, a.size, 1, "name = \"t\"\n"), 0);
	assert_int_equal(hv_stream_save_dirty(&out, &a, bitmap, 16, &n1), 0);
	assert_int_equal(n1, 2);
	memset(a.base + 5 * 4096, 3, 4096);  /* dirtied again */
	memset(a.base + 70 * 4096, 0, 4096); /* now zero */
	assert_int_equal(hv_stream_save_dirty(&out, &a, bitmap, 16, &n2), 0);
	assert_int_equal(hv_stream_save_vcpu(&out, 0, &vs), 0);
	assert_int_equal(hv_stream_save_device(&out, HV_CLOCK_DEV_KIND, &clk, sizeof(clk)), 0);
	assert_int_equal(hv_stream_save_end(&out, &a, n1 + n2), 0);
	hv_stream_out_fini(&out);
	bitmap[15] = 1ull << 63; /* pfn 1023: beyond 2 MiB */
	assert_int_equal(hv_stream_save_dirty(&out, &a, bitmap, 16, &n1), -EINVAL);

	assert_int_equal(hv_stream_in_init(&in, mem_read, &m), 0);
	assert_int_equal(hv_stream_load_header(&in, &st, err, sizeof(err)), 0);
	assert_int_equal(hv_stream_load_body(&in, &b, &st, devs, 1, err, sizeof(err)), 0);
	assert_memory_equal(a.base, b.base, a.size);
	assert_int_equal(b.base[5 * 4096], 3);
	assert_int_equal(b.base[70 * 4096], 0);
	hv_stream_in_fini(&in);
	free(m.b);
	hv_mem_fini(&a);
	hv_mem_fini(&b);
}

static void test_dec_pages(void **state)
{
	uint64_t buf[8 + 512];
	struct hv_stream_pages_view v;
	struct hv_rec_pages rp = {1, 0};
	char err[256];

	(void)state;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &rp, sizeof(rp));
	buf[1] = HV_PAGE_ENTRY(5, HV_PAGE_ZERO);
	assert_int_equal(hv_stream_dec_pages(buf, 16, 0, 1024, &v, err, sizeof(err)), 0);
	assert_int_equal(v.count, 1);
	assert_int_equal(hv_stream_dec_pages(buf, 24, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(
	    err, "record PAGES at offset 7: length 24 does not match 1 entries with 0 data pages");
	buf[1] = HV_PAGE_ENTRY(5, HV_PAGE_NORMAL);
	assert_int_equal(hv_stream_dec_pages(buf, 16, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(
	    err, "record PAGES at offset 7: length 16 does not match 1 entries with 1 data pages");
	buf[1] = HV_PAGE_ENTRY(1024, HV_PAGE_ZERO);
	assert_int_equal(hv_stream_dec_pages(buf, 16, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(
	    err, "record PAGES at offset 7: entry 0: pfn 0x400 outside RAM (1024 pages)");
	buf[1] = HV_PAGE_ENTRY(3, 7);
	assert_int_equal(hv_stream_dec_pages(buf, 16, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "record PAGES at offset 7: entry 0: bad page type 7");
	buf[1] = 3 | (1ull << 55);
	assert_int_equal(hv_stream_dec_pages(buf, 16, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	rp.count = 0;
	memcpy(buf, &rp, sizeof(rp));
	assert_int_equal(hv_stream_dec_pages(buf, 16, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "record PAGES at offset 7: bad page count 0");
	rp.count = 513;
	memcpy(buf, &rp, sizeof(rp));
	assert_int_equal(hv_stream_dec_pages(buf, sizeof(buf), 7, 1024, &v, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record PAGES at offset 7: bad page count 513");
	rp.count = 100;
	memcpy(buf, &rp, sizeof(rp));
	assert_int_equal(hv_stream_dec_pages(buf, 80, 7, 1024, &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "record PAGES at offset 7: pfn list truncated");
}

static void test_dec_other(void **state)
{
	static uint8_t buf[sizeof(struct hv_rec_vcpu) + sizeof(struct hv_vcpu_state)];
	static struct hv_vcpu_state st;
	struct hv_rec_vcpu rv = {1, sizeof(st)};
	struct hv_rec_device rd = {9, 4};
	struct hv_rec_header h;
	const char *cfg;
	uint32_t idx;
	unsigned di;
	const void *dstate;
	uint8_t dev[64];
	char err[256];

	(void)state;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &rv, sizeof(rv));
	assert_int_equal(hv_stream_dec_vcpu(buf, sizeof(buf), 9, 1, &idx, &st, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record VCPU at offset 9: vCPU index 1 out of range");
	rv.index = 0;
	memcpy(buf, &rv, sizeof(rv));
	assert_int_equal(hv_stream_dec_vcpu(buf, sizeof(buf), 9, 1, &idx, &st, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record VCPU at offset 9: state version 0, want 1");
	assert_int_equal(hv_stream_dec_vcpu(buf, 12, 9, 1, &idx, &st, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "record VCPU at offset 9: bad length 12");

	memset(dev, 0, sizeof(dev));
	memcpy(dev, &rd, sizeof(rd));
	assert_int_equal(hv_stream_dec_device(dev, 12, 3, devs, 1, &di, &dstate, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record DEVICE at offset 3: unknown device kind 9");
	rd.kind = HV_CLOCK_DEV_KIND;
	memcpy(dev, &rd, sizeof(rd));
	assert_int_equal(hv_stream_dec_device(dev, 12, 3, devs, 1, &di, &dstate, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record DEVICE at offset 3: device 1: bad size 4");

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, HV_STREAM_MAGIC, 8);
	h.version = 2;
	assert_int_equal(hv_stream_dec_header(&h, sizeof(h), 0, &h, &cfg, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record HEADER at offset 0: unsupported version 2 (want 1)");
	h.version = 1;
	h.mem_size = 3 << 20;
	assert_int_equal(hv_stream_dec_header(&h, sizeof(h), 0, &h, &cfg, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record HEADER at offset 0: bad memory size 3145728");
	h.mem_size = 4 << 20;
	h.nvcpus = 1;
	h.cfg_len = 5;
	assert_int_equal(hv_stream_dec_header(&h, sizeof(h), 0, &h, &cfg, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err,
			    "record HEADER at offset 0: config length 5 does not match record");
	struct hv_rec_end e;
	assert_int_equal(hv_stream_dec_end(&e, 10, 5, &e, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "record END at offset 5: bad length 10");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip), cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_corrupted),  cmocka_unit_test(test_resend_last_wins),
	    cmocka_unit_test(test_dec_pages),  cmocka_unit_test(test_dec_other),
	};
	return cmocka_run_group_tests(tests, make_stream, free_stream);
}
