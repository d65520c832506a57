/*
 * The migration records' codecs (vmm_msg_mig.c): request, progress and
 * result round trips, then each bad size, flag, bound, enum and string
 * refused with its exact message, and the encoders' own limits.
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

static uint8_t buf[8192];
static char err[256];

static struct vmm_ctl_migrate good_migrate(void)
{
	struct vmm_ctl_migrate m = {VMM_CTL_MIG_F_LIVE, 300, 100, 30, {0}, 0, 0};

	for (unsigned i = 0; i < VMM_CTL_MIG_KEY_LEN; i++)
		m.key[i] = (uint8_t)(i * 7 + 1);
	return m;
}

static void expect_migrate(const void *p, size_t n, const char *want)
{
	struct vmm_ctl_migrate m;
	char peer[VMM_CTL_MIG_PEER_MAX + 1];

	err[0] = '\0';
	if (vmm_msg_migrate_dec(p, n, &m, peer, err, sizeof(err)) != -EBADMSG ||
	    strcmp(err, want) != 0)
		fail_msg("%zu bytes: got \"%s\", want \"%s\"", n, err, want);
}

static void test_migrate(void **state)
{
	struct vmm_ctl_migrate m = good_migrate(), out, bad;
	char peer[VMM_CTL_MIG_PEER_MAX + 1], big[VMM_CTL_MIG_PEER_MAX + 2];
	size_t fixed = sizeof(m);

	(void)state;
	int n = vmm_msg_migrate_enc(&m, "host2:8002", buf, sizeof(buf));
	assert_int_equal(n, (int)(fixed + 10));
	assert_int_equal(vmm_msg_migrate_dec(buf, (size_t)n, &out, peer, err, sizeof(err)), 0);
	assert_string_equal(peer, "host2:8002");
	assert_int_equal(out.peer_len, 10);
	assert_memory_equal(out.key, m.key, VMM_CTL_MIG_KEY_LEN);
	assert_int_equal(out.bandwidth_mbps, 100);
	/* an empty peer is allowed: the name is only for messages */
	assert_int_equal(vmm_msg_migrate_enc(&m, "", buf, sizeof(buf)), (int)fixed);
	assert_int_equal(vmm_msg_migrate_dec(buf, fixed, &out, peer, err, sizeof(err)), 0);
	assert_string_equal(peer, "");

	expect_migrate(buf, fixed - 1, "migrate: too short (55 bytes, want at least 56)");
	n = vmm_msg_migrate_enc(&m, "host2:8002", buf, sizeof(buf));
	expect_migrate(buf, (size_t)n - 1, "migrate: peer: 10 bytes, 9 follow");
	expect_migrate(buf, (size_t)n + 1, "migrate: peer: 10 bytes, 11 follow");
	buf[fixed + 4] = '\0';
	expect_migrate(buf, (size_t)n, "migrate: peer: NUL byte");
	bad = m;
	bad.flags = 6;
	memcpy(buf, &bad, fixed);
	expect_migrate(buf, fixed, "migrate: unknown flags 0x6");
	bad = m;
	bad.downtime_ms = 60001;
	memcpy(buf, &bad, fixed);
	expect_migrate(buf, fixed, "migrate: downtime 60001 ms, at most 60000");
	bad = m;
	bad.max_rounds = 31;
	memcpy(buf, &bad, fixed);
	expect_migrate(buf, fixed, "migrate: 31 rounds, at most 30");
	bad = m;
	bad.peer_len = 256;
	memcpy(buf, &bad, fixed);
	expect_migrate(buf, fixed, "migrate: peer: 256 bytes, at most 255");
	bad = m;
	bad.pad = 1;
	memcpy(buf, &bad, fixed);
	expect_migrate(buf, fixed, "migrate: pad not zero");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vmm_msg_migrate_enc(&m, big, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(vmm_msg_migrate_enc(&m, "h", buf, fixed), -ENOSPC);
	bad = m;
	bad.flags = 2;
	assert_int_equal(vmm_msg_migrate_enc(&bad, "h", buf, sizeof(buf)), -EINVAL);
}

static void test_mig_progress(void **state)
{
	struct vmm_ctl_mig_progress
	    p = {VMM_CTL_MIG_PRECOPY, 2, 1ull << 30, 5000, 10, 20, 1000, 2000, 7, 25, 0},
	    q;

	(void)state;
	assert_int_equal(vmm_msg_mig_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	assert_string_equal(vmm_msg_mig_phase_name(q.phase), "precopy");
	assert_string_equal(vmm_msg_mig_phase_name(9), "unknown");
	assert_int_equal(vmm_msg_mig_progress_dec(&p, sizeof(p) - 1, &q, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "mig progress: bad length 71, want 72");
	p.phase = 5;
	assert_int_equal(vmm_msg_mig_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "mig progress: unknown phase 5");
	p.phase = VMM_CTL_MIG_DONE;
	p.round_done = 21;
	assert_int_equal(vmm_msg_mig_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "mig progress: 21 of 20 pages done");
	p.round_done = 20;
	p.throttle_pct = 100;
	assert_int_equal(vmm_msg_mig_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "mig progress: throttle 100%, at most 99");
	p.throttle_pct = 0;
	p.pad = 3;
	assert_int_equal(vmm_msg_mig_progress_dec(&p, sizeof(p), &q, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "mig progress: pad not zero");
}

static struct vmm_mig_result r, o;

static int make_result(uint32_t rounds, const char *msg)
{
	memset(&r, 0, sizeof(r));
	r.rec.outcome = VMM_CTL_MIG_OK;
	r.rec.total_ms = 812;
	r.rec.downtime_us = 4100;
	r.rec.bytes = 123456789;
	r.rec.rounds = rounds;
	for (uint32_t i = 0; i < VMM_CTL_MIG_ROUND_MAX; i++)
		r.round[i] = (struct vmm_ctl_mig_round){1000 + i, 4096000 + i, 10 + i};
	snprintf(r.msg, sizeof(r.msg), "%s", msg);
	return vmm_msg_mig_result_enc(&r, buf, sizeof(buf));
}

static void expect_result(size_t n, const char *want)
{
	err[0] = '\0';
	if (vmm_msg_mig_result_dec(buf, n, &o, err, sizeof(err)) != -EBADMSG ||
	    strcmp(err, want) != 0)
		fail_msg("%zu bytes: got \"%s\", want \"%s\"", n, err, want);
}

static void patch_result(void (*fn)(struct vmm_ctl_mig_result *))
{
	struct vmm_ctl_mig_result rec;

	memcpy(&rec, buf, sizeof(rec));
	fn(&rec);
	memcpy(buf, &rec, sizeof(rec));
}

static void p_outcome(struct vmm_ctl_mig_result *x)
{
	x->outcome = 4;
}
static void p_err_ok(struct vmm_ctl_mig_result *x)
{
	x->err = -5;
}
static void p_failed_noerr(struct vmm_ctl_mig_result *x)
{
	x->outcome = VMM_CTL_MIG_FAILED;
}
static void p_nround(struct vmm_ctl_mig_result *x)
{
	x->nround = 2;
}
static void p_msglen(struct vmm_ctl_mig_result *x)
{
	x->msg_len = VMM_CTL_MIG_MSG_MAX + 1;
}
static void p_pad(struct vmm_ctl_mig_result *x)
{
	x->pad = 1;
}

static void test_mig_result(void **state)
{
	size_t fixed = sizeof(struct vmm_ctl_mig_result), rs = sizeof(struct vmm_ctl_mig_round);
	int n;

	(void)state;
	n = make_result(3, "domain web1: migrated to host2");
	assert_int_equal(n, (int)(fixed + 3 * rs + 30));
	assert_int_equal(vmm_msg_mig_result_dec(buf, (size_t)n, &o, err, sizeof(err)), 0);
	assert_int_equal(o.rec.nround, 3);
	assert_int_equal(o.rec.downtime_us, 4100);
	assert_int_equal(o.round[2].pages, 1002);
	assert_int_equal(o.round[3].pages, 0);
	assert_string_equal(o.msg, "domain web1: migrated to host2");
	assert_string_equal(vmm_msg_mig_outcome_name(o.rec.outcome), "ok");

	/* more rounds than listed: the first VMM_CTL_MIG_ROUND_MAX are */
	n = make_result(70, "");
	assert_int_equal(n, (int)(fixed + VMM_CTL_MIG_ROUND_MAX * rs));
	assert_int_equal(vmm_msg_mig_result_dec(buf, (size_t)n, &o, err, sizeof(err)), 0);
	assert_int_equal(o.rec.rounds, 70);
	assert_int_equal(o.round[63].ms, 73);

	n = make_result(3, "x");
	expect_result(fixed - 1, "mig result: too short (47 bytes, want at least 48)");
	expect_result((size_t)n - 1, "mig result: 72 bytes follow, want 73");
	expect_result((size_t)n + 1, "mig result: 74 bytes follow, want 73");
	buf[n - 1] = '\0';
	expect_result((size_t)n, "mig result: message: NUL byte");
	make_result(3, "x");
	patch_result(p_outcome);
	expect_result((size_t)n, "mig result: unknown outcome 4");
	make_result(3, "x");
	patch_result(p_err_ok);
	expect_result((size_t)n, "mig result: outcome ok with error -5");
	make_result(3, "x");
	patch_result(p_failed_noerr);
	expect_result((size_t)n, "mig result: outcome failed with error 0");
	make_result(3, "x");
	patch_result(p_nround);
	expect_result((size_t)n, "mig result: 2 rounds listed of 3, want 3");
	make_result(3, "x");
	patch_result(p_msglen);
	expect_result((size_t)n, "mig result: message: 1025 bytes, at most 1024");
	make_result(3, "x");
	patch_result(p_pad);
	expect_result((size_t)n, "mig result: pad not zero");

	/* the encoder refuses what the decoder would */
	make_result(3, "x");
	r.rec.outcome = VMM_CTL_MIG_CANCELLED;
	assert_int_equal(vmm_msg_mig_result_enc(&r, buf, sizeof(buf)), -EINVAL);
	r.rec.err = -ECANCELED;
	assert_int_equal(vmm_msg_mig_result_enc(&r, buf, sizeof(buf)), (int)(fixed + 3 * rs + 1));
	assert_int_equal(vmm_msg_mig_result_enc(&r, buf, fixed + 3 * rs), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrate),
	    cmocka_unit_test(test_mig_progress),
	    cmocka_unit_test(test_mig_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
