/* Clock page arithmetic: init, monotonic time, and the rebase on resume
 * that keeps guest time from going backwards on another TSC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv_clock.h"

static void test_init_and_mono(void **state)
{
	struct tern_clock_page cp;

	(void)state;
	memset(&cp, 0xaa, sizeof(cp));
	hv_clock_init(&cp, 2000000, 1000000, 5000000000ll); /* 2 GHz */
	assert_int_equal(cp.version % 2, 0);
	assert_int_equal(cp.tsc_khz, 2000000);
	assert_int_equal(cp.tsc_mul, (1000000ull << 32) / 2000000); /* 0.5 ns/tick */
	assert_int_equal(cp.resumes, 0);
	assert_int_equal(hv_clock_mono(&cp, 1000000), 0);
	assert_int_equal(hv_clock_mono(&cp, 1000000 + 2000000000ull), 1000000000ull); /* 1 s */
	assert_int_equal(hv_clock_mono(&cp, 999), 0); /* before the base: never negative */
	assert_int_equal(cp.wall_offset_ns, 5000000000ll);
}

static void test_resume_on_other_tsc(void **state)
{
	struct tern_clock_page cp;

	(void)state;
	hv_clock_init(&cp, 2000000, 0, 0);
	uint32_t v0 = cp.version;
	uint64_t stop_tsc = 7 * 2000000000ull; /* the source stopped at 7 s */
	uint64_t mono_stop = hv_clock_mono(&cp, stop_tsc);
	assert_int_equal(mono_stop, 7000000000ull);
	/* The destination runs at 3 GHz and its guest TSC reads much less. */
	hv_clock_resume(&cp, mono_stop, 12345, 3000000, 100 * 1000000000ll);
	assert_int_equal(cp.resumes, 1);
	assert_true(cp.version > v0 && cp.version % 2 == 0);
	assert_int_equal(cp.tsc_khz, 3000000);
	assert_int_equal(hv_clock_mono(&cp, 12345), mono_stop);
	uint64_t later = hv_clock_mono(&cp, 12345 + 3000000000ull);
	assert_true(later >= mono_stop + 999999999ull && later <= mono_stop + 1000000001ull);
	/* wall = mono + offset is the destination's wall time at the resume. */
	assert_int_equal((int64_t)mono_stop + cp.wall_offset_ns, 100 * 1000000000ll);
	hv_clock_resume(&cp, later, 0, 3000000, 0);
	assert_int_equal(cp.resumes, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_and_mono),
	    cmocka_unit_test(test_resume_on_other_tsc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
