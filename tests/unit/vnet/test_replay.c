/* replay: window edges against a reference model, 64-bit windows, and the
 * FLOOD origin table (ageing, bound, eviction). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

static void test_basic(void **state)
{
	struct replay_win w;
	(void)state;
	replay_init(&w);
	assert_int_equal(replay_check(&w, 0), REPLAY_TOO_OLD);
	assert_int_equal(replay_update(&w, 0), REPLAY_TOO_OLD);
	assert_int_equal(replay_check(&w, 1), REPLAY_NEW);
	assert_int_equal(replay_update(&w, 1), REPLAY_NEW);
	assert_int_equal(replay_update(&w, 1), REPLAY_DUPLICATE);
	assert_int_equal(replay_update(&w, 3), REPLAY_NEW);
	assert_int_equal(replay_update(&w, 2), REPLAY_NEW);
	assert_int_equal(replay_update(&w, 2), REPLAY_DUPLICATE);
	assert_int_equal(w.top, 3);
}

struct edge_case {
	uint32_t seq;
	enum replay_verdict v;
};

/* After recording 5000 only: the window is [5000 - 2047, 5000]. */
static const struct edge_case edges[] = {
    {5000, REPLAY_DUPLICATE}, {4999, REPLAY_NEW}, {2953, REPLAY_NEW},	    {2952, REPLAY_TOO_OLD},
    {1, REPLAY_TOO_OLD},      {5001, REPLAY_NEW}, {UINT32_MAX, REPLAY_NEW}, {0, REPLAY_TOO_OLD},
};

static void test_edges(void **state)
{
	struct replay_win w;
	(void)state;
	replay_init(&w);
	assert_int_equal(replay_update(&w, 5000), REPLAY_NEW);
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		assert_int_equal(replay_check(&w, edges[i].seq), edges[i].v);
	/* Recording the left edge keeps it; one more slide drops it. */
	assert_int_equal(replay_update(&w, 2953), REPLAY_NEW);
	assert_int_equal(replay_update(&w, 2953), REPLAY_DUPLICATE);
	assert_int_equal(replay_update(&w, 5001), REPLAY_NEW);
	assert_int_equal(replay_check(&w, 2953), REPLAY_TOO_OLD);
	assert_int_equal(replay_check(&w, 2954), REPLAY_NEW);
	/* A jump far beyond the window forgets everything before it. */
	assert_int_equal(replay_update(&w, 1000000), REPLAY_NEW);
	assert_int_equal(replay_check(&w, 1000000 - 2047), REPLAY_NEW);
	assert_int_equal(replay_check(&w, 1000000 - 2048), REPLAY_TOO_OLD);
	assert_int_equal(replay_update(&w, UINT32_MAX), REPLAY_NEW);
	assert_int_equal(replay_check(&w, UINT32_MAX - 2047), REPLAY_NEW);
	assert_int_equal(replay_check(&w, UINT32_MAX - 2048), REPLAY_TOO_OLD);
	assert_int_equal(replay_check(&w, UINT32_MAX), REPLAY_DUPLICATE);
}

/* Reference model: the set of recorded numbers, brute force. */
static enum replay_verdict model_check(const uint8_t *seen, uint32_t top, uint32_t seq)
{
	if (seq == 0)
		return REPLAY_TOO_OLD;
	if (seq > top)
		return REPLAY_NEW;
	if (top - seq >= REPLAY_WINDOW)
		return REPLAY_TOO_OLD;
	return seen[seq] ? REPLAY_DUPLICATE : REPLAY_NEW;
}

static void test_random_against_model(void **state)
{
	enum { N = 40000 };
	uint8_t *seen = calloc(N + 4096, 1);
	struct replay_win w;
	uint32_t top = 0, rnd = 12345;
	(void)state;

	assert_non_null(seen);
	replay_init(&w);
	for (int i = 0; i < 200000; i++) {
		rnd = rnd * 1103515245u + 12345u;
		/* Mostly near the top, sometimes far behind or ahead. */
		uint32_t r = rnd >> 8, seq;
		if (r % 10 < 7)
			seq = top + 40 > 2100 ? top + 40 - r % 2100 : r % (top + 41);
		else if (r % 10 < 9)
			seq = r % (top + 1);
		else
			seq = top + 1 + r % 3000;
		if (seq >= N)
			continue;
		enum replay_verdict want = model_check(seen, top, seq);
		assert_int_equal(replay_check(&w, seq), want);
		assert_int_equal(replay_update(&w, seq), want);
		if (want == REPLAY_NEW) {
			seen[seq] = 1;
			if (seq > top)
				top = seq;
		}
		assert_int_equal(w.top, top);
	}
	free(seen);
}

static void test_win64(void **state)
{
	struct replay_win64 w;
	uint64_t base = 1763780000000000ull; /* a CLOCK_REALTIME in microseconds */
	(void)state;
	replay_init64(&w);
	assert_int_equal(replay_check64(&w, 0), REPLAY_NEW); /* 0 is a valid flood seq */
	assert_int_equal(replay_update64(&w, base), REPLAY_NEW);
	assert_int_equal(replay_update64(&w, base), REPLAY_DUPLICATE);
	assert_int_equal(replay_update64(&w, base - 2047), REPLAY_NEW);
	assert_int_equal(replay_update64(&w, base - 2048), REPLAY_TOO_OLD);
	assert_int_equal(replay_update64(&w, base + 64 * 40), REPLAY_NEW);
	assert_int_equal(replay_check64(&w, base), REPLAY_TOO_OLD);
	assert_int_equal(replay_check64(&w, base + 64 * 40 - 1), REPLAY_NEW);
	assert_int_equal(replay_update64(&w, UINT64_MAX), REPLAY_NEW);
	assert_int_equal(replay_check64(&w, UINT64_MAX - 2047), REPLAY_NEW);
	assert_int_equal(replay_check64(&w, UINT64_MAX - 2048), REPLAY_TOO_OLD);
}

static struct vnet_addr addr(unsigned n)
{
	struct vnet_addr a;
	vnet_addr_from_v4(&a, (uint32_t)n);
	return a;
}

static void test_flood_table(void **state)
{
	struct replay_flood *t = replay_flood_new(3, 1000);
	struct vnet_addr a = addr(1), b = addr(2), c = addr(3), d = addr(4);
	(void)state;

	assert_non_null(t);
	assert_int_equal(replay_flood_check(t, &a, 10, 0), REPLAY_NEW);
	assert_int_equal(replay_flood_count(t), 0); /* check records nothing */
	assert_int_equal(replay_flood_update(t, &a, 10, 0), REPLAY_NEW);
	assert_int_equal(replay_flood_update(t, &a, 10, 1), REPLAY_DUPLICATE);
	assert_int_equal(replay_flood_check(t, &a, 10, 1), REPLAY_DUPLICATE);
	/* Another origin's sequence space is separate. */
	assert_int_equal(replay_flood_update(t, &b, 10, 2), REPLAY_NEW);
	assert_int_equal(replay_flood_update(t, &c, 10, 3), REPLAY_NEW);
	assert_int_equal(replay_flood_count(t), 3);
	/* Full: d evicts the least recently seen origin, a. */
	assert_int_equal(replay_flood_update(t, &b, 11, 4), REPLAY_NEW);
	assert_int_equal(replay_flood_update(t, &d, 10, 5), REPLAY_NEW);
	assert_int_equal(replay_flood_count(t), 3);
	assert_int_equal(replay_flood_check(t, &a, 10, 5), REPLAY_NEW);
	assert_int_equal(replay_flood_check(t, &b, 11, 5), REPLAY_DUPLICATE);
	assert_int_equal(replay_flood_check(t, &c, 10, 5), REPLAY_DUPLICATE);
	/* Ageing: c was last seen at 3, so at 1003 it is forgotten. */
	assert_int_equal(replay_flood_check(t, &c, 10, 1003), REPLAY_NEW);
	assert_int_equal(replay_flood_age(t, 1003), 1);
	assert_int_equal(replay_flood_count(t), 2);
	/* An expired origin restarts with a fresh window on update. */
	assert_int_equal(replay_flood_update(t, &b, 11, 2000), REPLAY_NEW);
	assert_int_equal(replay_flood_update(t, &b, 11, 2001), REPLAY_DUPLICATE);
	/* With expired entries present, a new origin reuses their room. */
	assert_int_equal(replay_flood_update(t, &a, 1, 2002), REPLAY_NEW);
	assert_int_equal(replay_flood_update(t, &c, 1, 2003), REPLAY_NEW);
	assert_int_equal(replay_flood_count(t), 3);
	assert_int_equal(replay_flood_check(t, &b, 11, 2003), REPLAY_DUPLICATE);
	replay_flood_free(t);
	replay_flood_free(NULL);
	errno = 0;
	assert_null(replay_flood_new(0, 1));
	assert_int_equal(errno, EINVAL);
}

static void test_flood_many(void **state)
{
	struct replay_flood *t = replay_flood_new(500, 60000);
	(void)state;
	assert_non_null(t);
	for (unsigned i = 1; i <= 2000; i++) {
		struct vnet_addr a = addr(i);
		assert_int_equal(replay_flood_update(t, &a, i, i), REPLAY_NEW);
		assert_int_equal(replay_flood_update(t, &a, i, i), REPLAY_DUPLICATE);
	}
	assert_int_equal(replay_flood_count(t), 500);
	for (unsigned i = 1501; i <= 2000; i++) {
		struct vnet_addr a = addr(i);
		assert_int_equal(replay_flood_check(t, &a, i, 2000), REPLAY_DUPLICATE);
	}
	replay_flood_free(t);
}

/* A floor window: everything up to top counts as recorded, nothing
 * above it, also right above top in the same bitmap word and past it. */
static void test_floor(void **state)
{
	static const uint32_t tops[] = {0, 1, 62, 63, 64, 100, 127, 2047, 2048, 5000, 0xffff0000u};
	struct replay_win w;
	(void)state;

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		uint32_t top = tops[i];

		replay_init_floor(&w, top);
		assert_int_equal(w.top, top);
		for (uint32_t d = 0; d < 2100 && d < top; d++)
			assert_int_not_equal(replay_check(&w, top - d), REPLAY_NEW);
		for (uint32_t d = 1; d < 200; d++)
			assert_int_equal(replay_check(&w, top + d), REPLAY_NEW);
		/* Out of order above the floor still works. */
		assert_int_equal(replay_update(&w, top + 5), REPLAY_NEW);
		assert_int_equal(replay_update(&w, top + 2), REPLAY_NEW);
		assert_int_equal(replay_update(&w, top + 2), REPLAY_DUPLICATE);
		assert_int_equal(replay_check(&w, top), top ? REPLAY_DUPLICATE : REPLAY_TOO_OLD);
		assert_int_equal(replay_check(&w, top + 1), REPLAY_NEW);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_random_against_model),
	    cmocka_unit_test(test_win64),
	    cmocka_unit_test(test_flood_table),
	    cmocka_unit_test(test_flood_many),
	    cmocka_unit_test(test_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
