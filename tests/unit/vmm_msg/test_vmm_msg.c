/*
 * The vmm control records' codecs (vmm_msg.c): a status record round trip
 * (two vifs with counters, one with a broken ring), then each bad size,
 * version, count, enum, string and vif record refused with its exact
 * message; the progress record likewise.
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

#include "vmm_ctl.h"

static struct vmm_status in, out;
static uint8_t buf[65536];

static int make(void)
{
	memset(&in, 0, sizeof(in));
	in.rec.state = 1;
	in.rec.nvifs = 2;
	in.rec.id = in.rec.pid = 4215;
	in.rec.memory_mib = 1024;
	in.rec.vcpus = 2;
	in.rec.uptime_ns = 3541000000ull;
	in.rec.console_bytes_out = 144;
	in.rec.op = (struct vmm_ctl_progress){
	    VMM_CTL_OP_SAVE, VMM_CTL_PHASE_PAGES, 1 << 20, 1 << 30, 4096, 12};
	strcpy(in.name, "web1");
	strcpy(in.kernel, "/usr/lib/tern/guests/dirtier.elf");
	strcpy(in.extra, "ws=64 rate=20");
	strcpy(in.vif[0], "mac=00:16:3e:00:00:11, bridge=vnet97");
	strcpy(in.vif[1], "bridge=tern0");
	in.vifc[0] = (struct vmm_ctl_vif){.rx_frames = 12,
					  .rx_bytes = 3400,
					  .tx_frames = 10,
					  .tx_bytes = 900,
					  .rx_runt = 1,
					  .rx_oversize = 2,
					  .kicks = 7,
					  .wakes = 5,
					  .first_frame_us = 1234};
	in.vifc[1] = (struct vmm_ctl_vif){.tx_err = 3,
					  .first_frame_us = VMM_CTL_FIRST_FRAME_NONE,
					  .ring = VMM_CTL_RING_RX,
					  .ring_err = VMM_CTL_RING_EADDR};
	return vmm_msg_status_enc(&in, buf, sizeof(buf));
}

static void test_round_trip(void **state)
{
	char err[256] = "";
	int n = make();

	(void)state;
	assert_int_equal(n, (int)(sizeof(struct vmm_ctl_status) + 6 * 2 + 4 + 32 + 13 + 0 + 36 +
				  12 + 2 * sizeof(struct vmm_ctl_vif)));
	assert_int_equal(vmm_msg_status_dec(buf, (size_t)n, &out, err, sizeof(err)), 0);
	assert_int_equal(out.rec.version, VMM_CTL_STATUS_VERSION);
	assert_int_equal(out.rec.size, sizeof(struct vmm_ctl_status));
	assert_int_equal(out.rec.state, 1);
	assert_int_equal(out.rec.memory_mib, 1024);
	assert_int_equal(out.rec.op.bytes_total, 1 << 30);
	assert_string_equal(out.name, "web1");
	assert_string_equal(out.kernel, in.kernel);
	assert_string_equal(out.extra, "ws=64 rate=20");
	assert_string_equal(out.crash, "");
	assert_string_equal(out.vif[1], "bridge=tern0");
	assert_string_equal(vmm_msg_state_name(out.rec.state), "paused");
	assert_string_equal(vmm_msg_phase_name(out.rec.op.phase), "pages");
	assert_int_equal(out.rec.vif_size, sizeof(struct vmm_ctl_vif));
	assert_memory_equal(out.vifc, in.vifc, 2 * sizeof(struct vmm_ctl_vif));
	assert_null(vmm_msg_ring_error_name(out.vifc[0].ring, out.vifc[0].ring_err));
	assert_string_equal(vmm_msg_ring_error_name(out.vifc[1].ring, out.vifc[1].ring_err),
			    "rx_address");
	assert_string_equal(vmm_msg_ring_error_name(VMM_CTL_RING_TX, VMM_CTL_RING_EINDEX),
			    "tx_index");
	assert_null(vmm_msg_ring_error_name(3, VMM_CTL_RING_ELEN));
	assert_null(vmm_msg_ring_error_name(VMM_CTL_RING_TX, VMM_CTL_RING_NERR));
}

static void test_enc_limits(void **state)
{
	(void)state;
	make();
	assert_int_equal(vmm_msg_status_enc(&in, buf, sizeof(struct vmm_ctl_status) + 3), -ENOSPC);
	assert_int_equal(vmm_msg_status_enc(&in, buf, 10), -ENOSPC);
	int n = make();
	assert_int_equal(vmm_msg_status_enc(&in, buf, (size_t)n - 1), -ENOSPC);
	assert_int_equal(vmm_msg_status_enc(&in, buf, (size_t)n), n);
	in.vifc[1].ring = VMM_CTL_RING_NONE; /* a reason without a ring */
	assert_int_equal(vmm_msg_status_enc(&in, buf, sizeof(buf)), -EINVAL);
	make();
	in.rec.nvifs = VMM_CTL_VIF_MAX + 1;
	assert_int_equal(vmm_msg_status_enc(&in, buf, sizeof(buf)), -EINVAL);
}

/* Patches the fixed part of a good record with fn, decodes n bytes. */
static void expect(size_t n, const char *want, void (*patch)(struct vmm_ctl_status *))
{
	struct vmm_ctl_status r;
	char err[256] = "";

	make();
	memcpy(&r, buf, sizeof(r));
	if (patch)
		patch(&r);
	memcpy(buf, &r, sizeof(r));
	if (vmm_msg_status_dec(buf, n, &out, err, sizeof(err)) != -EBADMSG ||
	    strcmp(err, want) != 0)
		fail_msg("%zu bytes: got \"%s\", want \"%s\"", n, err, want);
}

/* Like expect, for a record whose misreading some check must catch. */
static void expect_refused(size_t n, void (*patch)(struct vmm_ctl_status *))
{
	struct vmm_ctl_status r;
	char err[256] = "";

	make();
	memcpy(&r, buf, sizeof(r));
	patch(&r);
	memcpy(buf, &r, sizeof(r));
	assert_int_equal(vmm_msg_status_dec(buf, n, &out, err, sizeof(err)), -EBADMSG);
	assert_true(err[0] != '\0');
}

static void p_version(struct vmm_ctl_status *r)
{
	r->version = 1; /* before the vifs' counters */
}
static void p_vif_size(struct vmm_ctl_status *r)
{
	r->vif_size = 88;
}
static void p_pad(struct vmm_ctl_status *r)
{
	r->pad = 1;
}
static void p_size(struct vmm_ctl_status *r)
{
	r->size = 64;
}
static void p_state(struct vmm_ctl_status *r)
{
	r->state = 5;
}
static void p_nvifs(struct vmm_ctl_status *r)
{
	r->nvifs = 5;
}
static void p_op(struct vmm_ctl_status *r)
{
	r->op.op = 4;
}
static void p_phase(struct vmm_ctl_status *r)
{
	r->op.phase = 9;
}
static void p_done(struct vmm_ctl_status *r)
{
	r->op.bytes_done = r->op.bytes_total + 1;
}
static void p_morevifs(struct vmm_ctl_status *r)
{
	r->nvifs = 3;
}
static void p_fewervifs(struct vmm_ctl_status *r)
{
	r->nvifs = 1;
}

static void test_bad_fixed(void **state)
{
	size_t fixed = sizeof(struct vmm_ctl_status), full = (size_t)make();
	char want[128];

	(void)state;
	expect(0, "status: too short (0 bytes)", NULL);
	expect(7, "status: too short (7 bytes)", NULL);
	expect(full, "status: version 1, want 2", p_version);
	snprintf(want, sizeof(want), "status: fixed part 64 bytes, want %zu", fixed);
	expect(full, want, p_size);
	snprintf(want, sizeof(want), "status: too short (%zu bytes, want at least %zu)", fixed - 1,
		 fixed);
	expect(fixed - 1, want, NULL);
	expect(full, "status: unknown state 5", p_state);
	expect(full, "status: 5 vifs, at most 4", p_nvifs);
	expect(full, "status: unknown operation 4", p_op);
	expect(full, "status: unknown phase 9", p_phase);
	expect(full, "status: 1073741825 of 1073741824 bytes done", p_done);
	snprintf(want, sizeof(want), "status: vif record 88 bytes, want %zu",
		 sizeof(struct vmm_ctl_vif));
	expect(full, want, p_vif_size);
	expect(full, "status: pad 1, want 0", p_pad);
}

static void test_bad_strings(void **state)
{
	size_t fixed = sizeof(struct vmm_ctl_status), full = (size_t)make();
	uint16_t big = VMM_CTL_NAME_MAX + 1;

	(void)state;
	expect(fixed, "status: name: length truncated", NULL);
	expect(fixed + 3, "status: name: 4 bytes, 1 left", NULL);
	size_t counters = 2 * sizeof(struct vmm_ctl_vif), strs = full - counters;

	expect(strs, "status: vif 2: length truncated", p_morevifs);
	expect(strs - 1, "status: vif 1: 12 bytes, 11 left", NULL);
	make();
	memcpy(buf + fixed, &big, 2);
	char err[256];
	assert_int_equal(vmm_msg_status_dec(buf, full, &out, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "status: name: 64 bytes, at most 63");
	make();
	buf[fixed + 2 + 1] = '\0'; /* "w\0b1" */
	assert_int_equal(vmm_msg_status_dec(buf, full, &out, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "status: name: NUL byte");
}

/* The vifs' counters: their length, and a broken ring's two fields. */
static void test_bad_vifs(void **state)
{
	size_t one = sizeof(struct vmm_ctl_vif), full = (size_t)make();
	size_t strs = full - 2 * one, at1 = strs + one + offsetof(struct vmm_ctl_vif, ring);
	char err[256], want[128];
	uint32_t v;

	(void)state;
	snprintf(want, sizeof(want), "status: vif counters: %zu bytes, 0 left", 2 * one);
	expect(strs, want, NULL);
	snprintf(want, sizeof(want), "status: vif counters: %zu bytes, %zu left", 2 * one,
		 2 * one - 1);
	expect(full - 1, want, NULL);
	expect(full + 1, "status: 1 trailing bytes", NULL);
	/* nvifs 1: vif 1's string and vif 0's counters misread as vif 0's
	 * counters: refused, whichever check catches it */
	expect_refused(full, p_fewervifs);
	struct {
		uint32_t ring, err;
		const char *msg;
	} bad[] = {
	    {VMM_CTL_RING_NONE, VMM_CTL_RING_EADDR, "status: vif 1: ring 0, error 2"},
	    {VMM_CTL_RING_RX, VMM_CTL_RING_OK, "status: vif 1: ring 2, error 0"},
	    {3, VMM_CTL_RING_ELEN, "status: vif 1: ring 3, error 3"},
	    {VMM_CTL_RING_TX, VMM_CTL_RING_NERR, "status: vif 1: ring 1, error 4"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make();
		v = bad[i].ring;
		memcpy(buf + at1, &v, 4);
		v = bad[i].err;
		memcpy(buf + at1 + 4, &v, 4);
		assert_int_equal(vmm_msg_status_dec(buf, full, &out, err, sizeof(err)), -EBADMSG);
		assert_string_equal(err, bad[i].msg);
	}
}

static void test_progress(void **state)
{
	struct vmm_ctl_progress p = {VMM_CTL_OP_SAVE, VMM_CTL_PHASE_SYNC, 10, 10, 99, 5}, q;
	char err[256];

	(void)state;
	assert_int_equal(vmm_msg_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	assert_int_equal(vmm_msg_progress_dec(&p, sizeof(p) - 1, &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "progress: bad length 39, want 40");
	assert_int_equal(vmm_msg_progress_dec(&p, 0, &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "progress: bad length 0, want 40");
	p.phase = 5;
	assert_int_equal(vmm_msg_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "progress: unknown phase 5");
	p.phase = 1;
	p.op = 7;
	assert_int_equal(vmm_msg_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "progress: unknown operation 7");
	p.op = 1;
	p.bytes_done = 11;
	assert_int_equal(vmm_msg_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "progress: 11 of 10 bytes done");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip), cmocka_unit_test(test_enc_limits),
	    cmocka_unit_test(test_bad_fixed),  cmocka_unit_test(test_bad_strings),
	    cmocka_unit_test(test_bad_vifs),   cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
