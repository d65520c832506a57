/*
 * The vmm control records' codecs (vmm_msg.c): a status record round trip,
 * then each bad size, version, count, enum and string refused with its
 * exact message; the progress record likewise.
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
	return vmm_msg_status_enc(&in, buf, sizeof(buf));
}

static void test_round_trip(void **state)
{
	char err[256] = "";
	int n = make();

	(void)state;
	assert_int_equal(n,
			 (int)(sizeof(struct vmm_ctl_status) + 6 * 2 + 4 + 32 + 13 + 0 + 36 + 12));
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
}

static void test_enc_limits(void **state)
{
	(void)state;
	make();
	assert_int_equal(vmm_msg_status_enc(&in, buf, sizeof(struct vmm_ctl_status) + 3), -ENOSPC);
	assert_int_equal(vmm_msg_status_enc(&in, buf, 10), -ENOSPC);
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

static void p_version(struct vmm_ctl_status *r)
{
	r->version = 2;
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
	expect(full, "status: version 2, want 1", p_version);
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
}

static void test_bad_strings(void **state)
{
	size_t fixed = sizeof(struct vmm_ctl_status), full = (size_t)make();
	uint16_t big = VMM_CTL_NAME_MAX + 1;

	(void)state;
	expect(fixed, "status: name: length truncated", NULL);
	expect(fixed + 3, "status: name: 4 bytes, 1 left", NULL);
	expect(full, "status: vif 2: length truncated", p_morevifs);
	expect(full, "status: 14 trailing bytes", p_fewervifs); /* u16 + "bridge=tern0" */
	expect(full - 1, "status: vif 1: 12 bytes, 11 left", NULL);
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
	    cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
