/*
 * Device records through hv_dev_ops tables: saved in table order by each
 * device's own ops, loaded by kind in any order, an unknown kind refused
 * naming the record, a missing required device refused at END, a device's
 * own check (clock: TSC frequency) named with the device.
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

#include "hv_clock.h"
#include "hv_mem.h"
#include "hv_membuf.h"
#include "hv_stream.h"

#define RAM (2ull << 20)

/* A test device of kind 2 ("counter"): 16 bytes, saved from and loaded into
 * a pair of counters, like the vmm's console. */
struct counters {
	uint64_t a, b;
	int loads;
};

static int ctr_save(void *ctx, void *buf)
{
	memcpy(buf, ctx, 16);
	return 0;
}

static int ctr_load(void *ctx, const void *buf, char *why, size_t whylen)
{
	struct counters *c = ctx;

	(void)why;
	(void)whylen;
	memcpy(c, buf, 16);
	c->loads++;
	return 0;
}

static const struct hv_dev_ops ctr_ops = {2, "counter", 16, 0, ctr_save, ctr_load};

static struct hv_mem ram;
static struct tern_clock_page page;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(hv_mem_init(&ram, RAM, 0), 0);
	memset(ram.base + 3 * 4096, 7, 4096);
	hv_clock_init(&page, 2300000, 1000, 5);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hv_mem_fini(&ram);
	return 0;
}

/* Writes HEADER, PAGES, VCPU, then `emit` (device records), then END.
 * Offsets of the device records go to offs[]. */
typedef void (*emit_fn)(struct hv_stream_out *out, uint64_t *offs);

static void build(struct membuf *m, emit_fn emit, uint64_t *offs, uint64_t *end_off)
{
	static struct hv_vcpu_state vs;
	struct hv_stream_out out;
	uint64_t pages = 0;

	memset(m, 0, sizeof(*m));
	vs.version = HV_VCPU_STATE_VERSION;
	assert_int_equal(hv_stream_out_init(&out, mem_write, m), 0);
	assert_int_equal(hv_stream_save_header(&out, RAM, 1, "name = \"d\"\n"), 0);
	assert_int_equal(hv_stream_save_all_pages(&out, &ram, 1, &pages), 0);
	assert_int_equal(hv_stream_save_vcpu(&out, 0, &vs), 0);
	emit(&out, offs);
	*end_off = out.offset;
	assert_int_equal(hv_stream_save_end(&out, &ram, pages), 0);
	hv_stream_out_fini(&out);
}

/* Loads m with the table {clock, counter}; returns rc, err set. */
static int load(struct membuf *m, struct hv_clock_dev *clk, struct counters *ctr, char *err,
		size_t errlen)
{
	static struct hv_stream_state st;
	const struct hv_stream_dev devs[] = {{&hv_clock_dev_ops, clk}, {&ctr_ops, ctr}};
	struct hv_stream_in in;
	struct hv_mem dst;
	int rc;

	m->pos = 0;
	assert_int_equal(hv_mem_init(&dst, RAM, 0), 0);
	assert_int_equal(hv_stream_in_init(&in, mem_read, m), 0);
	rc = hv_stream_load_header(&in, &st, err, errlen);
	if (rc == 0)
		rc = hv_stream_load_body(&in, &dst, &st, devs, 2, err, errlen);
	if (rc == 0)
		assert_memory_equal(dst.base, ram.base, RAM);
	hv_stream_in_fini(&in);
	hv_mem_fini(&dst);
	return rc;
}

static struct hv_clock_dev save_clk;
static struct counters save_ctr = {111, 222, 0};

/* Table order: clock, counter, through the ops. */
static void emit_table(struct hv_stream_out *out, uint64_t *offs)
{
	const struct hv_stream_dev devs[] = {{&hv_clock_dev_ops, &save_clk}, {&ctr_ops, &save_ctr}};

	save_clk = (struct hv_clock_dev){.page = &page, .tsc_khz = 2300000, .tsc_stop = 1000};
	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_devices(out, devs, 2), 0);
}

/* The other order: counter first, then clock. */
static void emit_reversed(struct hv_stream_out *out, uint64_t *offs)
{
	struct hv_clock_state cs = {42, 5, 2300000, 0};

	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_device(out, 2, &save_ctr, 16), 0);
	offs[1] = out->offset;
	assert_int_equal(hv_stream_save_device(out, HV_CLOCK_DEV_KIND, &cs, sizeof(cs)), 0);
}

static void emit_unknown(struct hv_stream_out *out, uint64_t *offs)
{
	struct hv_clock_state cs = {42, 5, 2300000, 0};
	uint8_t net[24] = {1};

	assert_int_equal(hv_stream_save_device(out, HV_CLOCK_DEV_KIND, &cs, sizeof(cs)), 0);
	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_device(out, 7, net, sizeof(net)), 0);
}

static void emit_no_clock(struct hv_stream_out *out, uint64_t *offs)
{
	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_device(out, 2, &save_ctr, 16), 0);
}

static void emit_no_counter(struct hv_stream_out *out, uint64_t *offs)
{
	struct hv_clock_state cs = {42, 5, 2300000, 0};

	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_device(out, HV_CLOCK_DEV_KIND, &cs, sizeof(cs)), 0);
}

static void emit_zero_khz(struct hv_stream_out *out, uint64_t *offs)
{
	struct hv_clock_state cs = {42, 5, 0, 0};

	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_device(out, HV_CLOCK_DEV_KIND, &cs, sizeof(cs)), 0);
}

static void emit_bad_size(struct hv_stream_out *out, uint64_t *offs)
{
	uint8_t c[8] = {0};

	offs[0] = out->offset;
	assert_int_equal(hv_stream_save_device(out, 2, c, sizeof(c)), 0);
}

static void test_table_order_round_trip(void **state)
{
	struct membuf m;
	struct hv_clock_dev clk = {0};
	struct counters ctr = {0, 0, 0};
	uint64_t offs[2], end;
	char err[256] = "";

	(void)state;
	build(&m, emit_table, offs, &end);
	/* Records in table order, each written by its ops: kind, size, state. */
	uint32_t hdr[4];
	memcpy(hdr, m.b + offs[0], sizeof(hdr));
	assert_int_equal(hdr[0], HV_REC_DEVICE);
	assert_int_equal(hdr[2], HV_CLOCK_DEV_KIND);
	assert_int_equal(hdr[3], sizeof(struct hv_clock_state));
	memcpy(hdr, m.b + offs[0] + 8 + 8 + sizeof(struct hv_clock_state), sizeof(hdr));
	assert_int_equal(hdr[2], 2);
	assert_int_equal(hdr[3], 16);
	assert_int_equal(load(&m, &clk, &ctr, err, sizeof(err)), 0);
	assert_int_equal(clk.have, 1);
	assert_int_equal(clk.loaded.tsc_khz, 2300000);
	assert_int_equal(ctr.a, 111);
	assert_int_equal(ctr.b, 222);
	free(m.b);
}

static void test_reordered_restores(void **state)
{
	struct membuf m;
	struct hv_clock_dev clk = {0};
	struct counters ctr = {0, 0, 0};
	uint64_t offs[2], end;
	char err[256] = "";

	(void)state;
	build(&m, emit_reversed, offs, &end);
	assert_int_equal(load(&m, &clk, &ctr, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(clk.loaded.mono_ns, 42);
	assert_int_equal(ctr.a, 111);
	assert_int_equal(ctr.loads, 1);
	free(m.b);
}

/* Each bad stream: its exact message, naming the record at its offset. */
static void test_refused(void **state)
{
	struct {
		emit_fn emit;
		const char *fmt; /* %llu: the device record's offset, or END's */
		int at_end;
	} cases[] = {
	    {emit_unknown, "record DEVICE at offset %llu: unknown device kind 7", 0},
	    {emit_no_clock, "record END at offset %llu: stream lacks clock state", 1},
	    {emit_zero_khz, "record DEVICE at offset %llu: clock: TSC frequency 0", 0},
	    {emit_bad_size, "record DEVICE at offset %llu: device 2: bad size 8", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct membuf m;
		struct hv_clock_dev clk = {0};
		struct counters ctr = {0, 0, 0};
		uint64_t offs[2], end;
		char err[256] = "", want[256];

		build(&m, cases[i].emit, offs, &end);
		snprintf(want, sizeof(want), cases[i].fmt,
			 (unsigned long long)(cases[i].at_end ? end : offs[0]));
		assert_int_equal(load(&m, &clk, &ctr, err, sizeof(err)), -EBADMSG);
		assert_string_equal(err, want);
		free(m.b);
	}
}

/* An optional device (the counter) may be absent. */
static void test_optional_absent(void **state)
{
	struct membuf m;
	struct hv_clock_dev clk = {0};
	struct counters ctr = {0, 0, 0};
	uint64_t offs[2], end;
	char err[256] = "";

	(void)state;
	build(&m, emit_no_counter, offs, &end);
	assert_int_equal(load(&m, &clk, &ctr, err, sizeof(err)), 0);
	assert_int_equal(ctr.loads, 0);
	free(m.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_order_round_trip),
	    cmocka_unit_test(test_reordered_restores),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_optional_absent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
