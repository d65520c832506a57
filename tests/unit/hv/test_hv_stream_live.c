/*
 * The live stream (hv_pgdig.c, hv_stream_live_out.c, hv_stream_live_in.c):
 * the page digest's algebra, a two-round stream (pages repeat, some turn
 * zero) loaded record by record into RAM equal to the source, and each
 * refusal with its message: a page altered after its term was taken, a
 * lost page, a missing vCPU, a live stream given to the file loader, an
 * unknown header flag. With TERN_CORPUS_OUT set it writes the good stream
 * there (the seed of fuzz_stream_live).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "hv_clock.h"
#include "hv_mem.h"
#include "hv_membuf.h"
#include "hv_pgdig.h"
#include "hv_stream.h"

#define RAM (4ull << 20)
#define NPAGES (RAM / 4096)

static struct hv_mem src;
static struct membuf stream;
static struct hv_clock_dev clkdev;
static const struct hv_stream_dev devs[] = {{&hv_clock_dev_ops, &clkdev}};
static uint64_t pages_sent;
static uint64_t end_off; /* offset of END in stream */

static void test_pgdig(void **state)
{
	static uint8_t a[4096], b[4096], zero[4096];
	struct hv_pgdig_tab t, u;
	uint8_t m1[32], m2[32];

	(void)state;
	memset(a, 0xab, sizeof(a));
	memset(b, 0x11, sizeof(b));
	XXH128_hash_t h = XXH3_128bits_withSeed(a, 4096, 7);
	struct hv_pgdig v = hv_pgdig_term(a, 7);
	assert_true(v.lo == h.low64 && v.hi == h.high64);
	v = hv_pgdig_term(zero, 7);
	assert_true(v.lo == 0 && v.hi == 0);
	assert_true(hv_pgdig_page_is_zero(zero));
	b[4095] = 0;
	zero[4095] = 1;
	assert_false(hv_pgdig_page_is_zero(zero));
	zero[4095] = 0;

	/* order does not matter, the last copy wins, zero pages count 0 */
	assert_int_equal(hv_pgdig_init(&t, 16), 0);
	assert_int_equal(hv_pgdig_init(&u, 16), 0);
	assert_int_equal(hv_pgdig_set(&t, 3, a), 1);
	assert_int_equal(hv_pgdig_set(&t, 5, a), 1);
	assert_int_equal(hv_pgdig_set(&t, 3, b), 1);
	assert_int_equal(hv_pgdig_set(&t, 9, zero), 0);
	assert_int_equal(hv_pgdig_set(&u, 5, a), 1);
	assert_int_equal(hv_pgdig_set(&u, 3, b), 1);
	hv_pgdig_get(&t, m1);
	hv_pgdig_get(&u, m2);
	assert_memory_equal(m1, m2, 32);
	for (int i = 16; i < 32; i++)
		assert_int_equal(m1[i], 0);
	assert_true(hv_pgdig_nonzero(&t, 3));
	assert_false(hv_pgdig_nonzero(&t, 9));
	/* a page's term depends on its pfn: the same bytes elsewhere differ */
	hv_pgdig_set(&u, 3, NULL);
	hv_pgdig_set(&u, 4, b);
	hv_pgdig_get(&u, m2);
	assert_memory_not_equal(m1, m2, 16);
	/* back to empty: sum 0 (the carries undo) */
	hv_pgdig_set(&u, 4, NULL);
	hv_pgdig_set(&u, 5, NULL);
	hv_pgdig_get(&u, m2);
	memset(m1, 0, 32);
	assert_memory_equal(m1, m2, 32);
	hv_pgdig_fini(&t);
	hv_pgdig_fini(&u);
}

/* Round 1: every non-zero page; round 2: pages rewritten, one zeroed, one
 * resent unchanged; then vCPU, clock, END. */
static int make_stream(void **state)
{
	struct hv_stream_out out;
	struct hv_stream_live_stage stage;
	struct hv_pgdig_tab dig;
	static struct hv_vcpu_state vs;
	struct hv_clock_state clk = {123456789, 42, 2300000, 0};
	uint64_t pfns[HV_STREAM_LIVE_BATCH];
	uint32_t n = 0;

	(void)state;
	assert_int_equal(hv_mem_init(&src, RAM, HV_MEM_NOHUGE), 0);
	for (int i = 0; i < 300; i++)
		memset(src.base + (uint64_t)i * 3 * 4096 + i, i % 250 + 1, 100);
	for (int i = 0; i < 10; i++) /* a run: written straight from RAM */
		memset(src.base + (uint64_t)(900 + i) * 4096 + 8 * i, i + 1, 4000);
	memset(&vs, 0, sizeof(vs));
	vs.version = HV_VCPU_STATE_VERSION;
	assert_int_equal(hv_pgdig_init(&dig, NPAGES), 0);
	assert_int_equal(hv_stream_live_stage_init(&stage), 0);
	assert_int_equal(hv_stream_out_init(&out, mem_write, &stream), 0);
	hv_stream_out_nohash(&out);
	assert_int_equal(hv_stream_save_header_live(&out, RAM, 1, "name = \"t\"\n"), 0);
	for (uint64_t pfn = 0; pfn < NPAGES; pfn++) {
		pfns[n++] = pfn;
		if (n == HV_STREAM_LIVE_BATCH || pfn == NPAGES - 1) {
			assert_int_equal(hv_stream_save_live_pages(&out, &stage, &src, &dig, pfns,
								   n, 1, &pages_sent),
					 0);
			n = 0;
		}
	}
	assert_int_equal(pages_sent, 310);
	memset(src.base + 3 * 4096, 0, 4096);	   /* page 3 becomes zero */
	memset(src.base + 6 * 4096 + 7, 0x5a, 9);  /* page 6 changes */
	memset(src.base + 1001 * 4096, 0x77, 64);  /* page 1001 appears */
	memset(src.base + 903 * 4096, 0x42, 4096); /* inside the run */
	uint64_t again[] = {3, 6, 1001, 9, 2};	   /* 9: unchanged; 2: zero, still zero */
	assert_int_equal(
	    hv_stream_save_live_pages(&out, &stage, &src, &dig, again, 5, 0, &pages_sent), 0);
	uint64_t run[] = {901, 902, 903, 904, 905}; /* a run again, after the scattered */
	assert_int_equal(
	    hv_stream_save_live_pages(&out, &stage, &src, &dig, run, 5, 0, &pages_sent), 0);
	assert_int_equal(pages_sent, 320);
	assert_int_equal(hv_stream_save_vcpu(&out, 0, &vs), 0);
	assert_int_equal(hv_stream_save_device(&out, HV_CLOCK_DEV_KIND, &clk, sizeof(clk)), 0);
	end_off = out.offset;
	assert_int_equal(hv_stream_save_end_live(&out, &dig, pages_sent), 0);
	hv_stream_out_fini(&out);
	hv_stream_live_stage_fini(&stage);
	hv_pgdig_fini(&dig);
	const char *corpus = getenv("TERN_CORPUS_OUT");
	if (corpus) {
		FILE *f = fopen(corpus, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(stream.b, 1, stream.len, f), stream.len);
		fclose(f);
	}
	return 0;
}

static int free_stream(void **state)
{
	(void)state;
	free(stream.b);
	hv_mem_fini(&src);
	return 0;
}

/* 1: load() reads with hv_stream_live_in_next, else record by record. */
static int direct;

/* Loads buf record by record into a fresh RAM; rc of the last record.
 * check_ram 1: RAM equals the source after END; 2: RAM is still all zero. */
static int load(const uint8_t *buf, size_t len, char *err, size_t errlen, int check_ram)
{
	static struct hv_stream_state st;
	struct membuf m = {(uint8_t *)buf, len, len, 0};
	struct hv_stream_live_in l;
	struct hv_stream_in in;
	struct hv_mem dst;
	int rc;

	assert_int_equal(hv_mem_init(&dst, RAM, HV_MEM_NOHUGE), 0);
	assert_int_equal(hv_stream_in_init(&in, mem_read, &m), 0);
	hv_stream_in_nohash(&in);
	assert_int_equal(hv_stream_load_header(&in, &st, err, errlen), 0);
	assert_int_equal(hv_stream_live_in_init(&l, &dst, &st, devs, 1, err, errlen), 0);
	l.offset = in.offset;
	do {
		if (direct) { /* as the destination vmm: page data straight into RAM */
			rc = hv_stream_live_in_next(&l, mem_read, &m, err, errlen);
			continue;
		}
		rc = hv_stream_in_next(&in, err, errlen);
		if (rc == 0)
			rc = hv_stream_live_in_record(&l, in.type, in.buf, in.len, in.rec_offset,
						      err, errlen);
	} while (rc == 0);
	if (rc == 1 && check_ram)
		assert_memory_equal(dst.base, src.base, RAM);
	if (check_ram == 2) /* nothing of a refused record reached RAM */
		for (uint64_t pfn = 0; pfn < NPAGES; pfn++)
			assert_true(hv_pgdig_page_is_zero(dst.base + pfn * 4096));
	hv_stream_live_in_fini(&l);
	hv_stream_in_fini(&in);
	hv_mem_fini(&dst);
	return rc;
}

static void test_round_trip(void **state)
{
	char err[512] = "";

	(void)state;
	for (direct = 0; direct < 2; direct++) {
		clkdev.loaded.mono_ns = 0;
		assert_int_equal(load(stream.b, stream.len, err, sizeof(err), 1), 1);
		assert_int_equal(clkdev.loaded.mono_ns, 123456789);
	}
	direct = 0;
}

/* Both readers refuse buf with the same message. */
static void expect_ram(const uint8_t *buf, size_t len, int want_rc, const char *want, int check)
{
	for (direct = 0; direct < 2; direct++) {
		char err[512] = "";
		int rc = load(buf, len, err, sizeof(err), check);

		if (rc != want_rc || strncmp(err, want, strlen(want)) != 0)
			fail_msg("direct %d: rc %d, got \"%s\", want \"%s\"", direct, rc, err,
				 want);
	}
	direct = 0;
}

static void expect(const uint8_t *buf, size_t len, int want_rc, const char *want)
{
	expect_ram(buf, len, want_rc, want, 0);
}

static void test_refusals(void **state)
{
	uint8_t *c = malloc(stream.len);
	char want[256];
	(void)state;

	/* a byte of a page flipped after the source took its term */
	memcpy(c, stream.b, stream.len);
	size_t rec1 = 8 + 32 + 11; /* after HEADER: the first PAGES record */
	uint32_t count;
	memcpy(&count, c + rec1 + 8, 4);
	c[rec1 + 16 + count * 8 + 100] ^= 1; /* inside its first page's data */
	snprintf(want, sizeof(want), "record END at offset %llu: page digest mismatch",
		 (unsigned long long)end_off);
	expect(c, stream.len, -EBADMSG, want);

	/* the page count in END must match */
	memcpy(c, stream.b, stream.len);
	uint64_t wrong = pages_sent + 1;
	memcpy(c + end_off + 8 + 64, &wrong, 8);
	snprintf(want, sizeof(want), "record END at offset %llu: 321 pages announced, 320 received",
		 (unsigned long long)end_off);
	expect(c, stream.len, -EBADMSG, want);

	/* END with a stream digest is not a live END */
	memcpy(c, stream.b, stream.len);
	c[end_off + 8 + 40] = 1;
	snprintf(want, sizeof(want), "record END at offset %llu: not the END of a live stream",
		 (unsigned long long)end_off);
	expect(c, stream.len, -EBADMSG, want);

	/* a pfn outside RAM in the first record's list: refused before any of
	 * its pages is written (the direct reader writes RAM from the list) */
	memcpy(c, stream.b, stream.len);
	uint64_t e = HV_PAGE_ENTRY(NPAGES, HV_PAGE_NORMAL);
	memcpy(c + rec1 + 16 + (count - 1) * 8, &e, 8);
	snprintf(want, sizeof(want),
		 "record PAGES at offset %llu: entry %u: pfn 0x%llx outside RAM (%llu pages)",
		 (unsigned long long)rec1, count - 1, (unsigned long long)NPAGES,
		 (unsigned long long)NPAGES);
	expect_ram(c, stream.len, -EBADMSG, want, 2);

	/* a record length that does not match its list: nothing written */
	memcpy(c, stream.b, stream.len);
	uint32_t len1;
	memcpy(&len1, c + rec1 + 4, 4);
	len1 -= 4096;
	memcpy(c + rec1 + 4, &len1, 4);
	snprintf(want, sizeof(want), "record PAGES at offset %llu: length %u does not match",
		 (unsigned long long)rec1, len1);
	expect_ram(c, stream.len, -EBADMSG, want, 2);

	/* the stream ends inside a page's data */
	memcpy(c, stream.b, stream.len);
	snprintf(want, sizeof(want), "record PAGES at offset %llu: truncated",
		 (unsigned long long)rec1);
	expect(c, rec1 + 16 + count * 8 + 2000, -EBADMSG, want);

	/* a record type that does not exist, with a length it cannot have */
	memcpy(c, stream.b, stream.len);
	uint32_t bad[2] = {9, 4};
	memcpy(c + end_off, bad, 8);
	snprintf(want, sizeof(want), "record unknown (type 9) at offset %llu: bad length 4",
		 (unsigned long long)end_off);
	expect(c, stream.len, -EBADMSG, want);
	free(c);
}

static void test_file_loader_refuses_live(void **state)
{
	static struct hv_stream_state st;
	struct membuf m = {stream.b, stream.len, stream.len, 0};
	struct hv_stream_in in;
	struct hv_mem dst;
	char err[512];

	(void)state;
	assert_int_equal(hv_mem_init(&dst, RAM, HV_MEM_NOHUGE), 0);
	assert_int_equal(hv_stream_in_init(&in, mem_read, &m), 0);
	assert_int_equal(hv_stream_load_header(&in, &st, err, sizeof(err)), 0);
	assert_int_equal(hv_stream_load_body(&in, &dst, &st, devs, 1, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err,
			    "record HEADER at offset 0: a live (migration) stream, not a saved "
			    "file");
	/* the live loader refuses a stream without the flag */
	struct hv_stream_live_in l;
	st.hdr.flags = 0;
	assert_int_equal(hv_stream_live_in_init(&l, &dst, &st, devs, 1, err, sizeof(err)), -EINVAL);
	hv_stream_in_fini(&in);
	hv_mem_fini(&dst);

	/* any other flag is refused by the decoder */
	struct hv_rec_header h;
	const char *cfg;
	memcpy(&h, stream.b + 8, sizeof(h));
	h.flags = 3;
	assert_int_equal(hv_stream_dec_header(&h, sizeof(h), 0, &h, &cfg, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "record HEADER at offset 0: unknown flags 0x3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pgdig),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_file_loader_refuses_live),
	};
	return cmocka_run_group_tests(tests, make_stream, free_stream);
}
