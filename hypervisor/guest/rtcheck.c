/*
 * rtcheck: the runtime's own test guest (in the Solo5 style: it prints
 * SUCCESS or FAILURE and halts with 0 or 1). Table-driven checks of the
 * formatter, the command-line parser, the allocator, the string helpers and
 * the clock, run in the real freestanding environment under either loader.
 * It re-points the command line and the allocator at test data, so it runs
 * nothing else.
 */
#include "rt.h"

static unsigned checks, failures;

static void check(int ok, const char *what, const char *detail)
{
	checks++;
	if (ok)
		return;
	failures++;
	rt_printf("rtcheck: FAIL %s: %s\n", what, detail);
}

#define CHECK_FMT(want, ...)                                                                       \
	do {                                                                                       \
		char got_[64];                                                                     \
		int n_ = rt_snprintf(got_, sizeof(got_), __VA_ARGS__);                             \
		check(!strcmp(got_, want) && n_ == (int)strlen(want), "printf " #__VA_ARGS__,      \
		      got_);                                                                       \
	} while (0)

static void check_printf(void)
{
	/* volatile: a visible NULL would (rightly) trip -Wformat-overflow */
	const char *volatile null_str = NULL;
	char small[4];

	CHECK_FMT("-42 42 ff FF", "%d %u %x %X", -42, 42u, 255u, 255u);
	CHECK_FMT("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
	CHECK_FMT("00000000000c8280", "%016llx", 0xc8280ull);
	CHECK_FMT("0x200000", "%p", (void *)0x200000);
	CHECK_FMT("[  ab][ab  ][00042]", "[%4s][%-4s][%05d]", "ab", "ab", 42);
	CHECK_FMT("abc|x|%", "%.3s|%c|%%", "abcdef", 'x');
	CHECK_FMT("-9223372036854775808", "%ld", (long)INT64_MIN);
	CHECK_FMT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	CHECK_FMT("(null)", "%s", null_str);
	check(rt_snprintf(small, sizeof(small), "%s", "truncated") == 9 && !strcmp(small, "tru"),
	      "snprintf truncation", small);
}

struct u64_case {
	const char *line, *key;
	int ret;
	uint64_t val;
};

static const struct u64_case u64_cases[] = {
    {"ws=16 rate=5", "ws", 0, 16},
    {"ws=16 rate=5", "rate", 0, 5},
    {"  ws=16   rate=0x1F ", "rate", 0, 31},
    {"xws=1 ws=2", "ws", 0, 2},
    {"ws rate=5", "ws", 0, 7}, /* a bare word is not a key: default */
    {"", "ws", 0, 7},
    {"ws=", "ws", -RT_EINVAL, 0},
    {"ws=0x", "ws", -RT_EINVAL, 0},
    {"ws=12a", "ws", -RT_EINVAL, 0},
    {"ws=-1", "ws", -RT_EINVAL, 0},
    {"ws=18446744073709551615", "ws", 0, UINT64_MAX},
    {"ws=18446744073709551616", "ws", -RT_ERANGE, 0},
    {"ws=0x10000000000000000", "ws", -RT_ERANGE, 0},
};

static void check_cmdline(void)
{
	char buf[4], detail[96];

	for (size_t i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		const struct u64_case *c = &u64_cases[i];
		uint64_t v = 0;
		int ret;

		rt_cmdline_init(c->line);
		ret = rt_cmdline_u64(c->key, 7, &v);
		rt_snprintf(detail, sizeof(detail), "'%s' %s: ret %d val %lu", c->line, c->key, ret,
			    v);
		check(ret == c->ret && (ret || v == c->val), "cmdline u64", detail);
	}
	rt_cmdline_init("mode=gp long=abcd");
	check(!rt_cmdline_str("mode", "pf", buf, sizeof(buf)) && !strcmp(buf, "gp"), "cmdline str",
	      buf);
	check(!rt_cmdline_str("other", "pf", buf, sizeof(buf)) && !strcmp(buf, "pf"),
	      "cmdline str default", buf);
	check(rt_cmdline_str("long", "", buf, sizeof(buf)) == -RT_E2BIG, "cmdline str too long",
	      "want -E2BIG");
}

static void check_alloc(void)
{
	uint64_t base = rt_alloc_next();

	rt_alloc_init(base + 100, base + 100 + 3 * RT_PAGE_SIZE);
	check((uint64_t)(uintptr_t)rt_alloc(1, 1) == base + 100, "alloc first", "");
	check((uint64_t)(uintptr_t)rt_alloc_pages(1) % RT_PAGE_SIZE == 0, "alloc page aligned", "");
	check(rt_alloc_pages(2) == NULL, "alloc exhausted", "2 pages do not fit");
	check(rt_alloc(8, 3) == NULL, "alloc bad align", "");
	check(rt_alloc(UINT64_MAX, 1) == NULL, "alloc huge", "");
}

static void check_string(void)
{
	char s[16] = "abcdefgh";

	memmove(s + 2, s, 6);
	check(!memcmp(s, "ababcdef", 8), "memmove up", s);
	memmove(s, s + 2, 6);
	check(!memcmp(s, "abcdefef", 8), "memmove down", s);
	memset(s, 'z', 3);
	check(!memcmp(s, "zzzdefef", 8), "memset", s);
	check(strlen("abc") == 3 && strnlen("abc", 2) == 2, "strlen", "");
	check(strcmp("a", "b") < 0 && !strncmp("abx", "aby", 2), "strcmp", "");
	check(strchr("key=val", '=') && !strchr("key", '='), "strchr", "");
}

static void check_clock(void)
{
	uint64_t t0 = rt_clock_ns(), t1;

	rt_sys_yield(t0 + 20 * 1000000, 0);
	t1 = rt_clock_ns();
	check(t1 >= t0 + 20 * 1000000, "yield reaches its deadline", "");
	check(t1 < t0 + RT_NS_PER_SEC, "yield returns soon after its deadline", "");
	check(rt_clock_tsc_khz() >= 100000, "tsc rate plausible", "");
}

int app_main(void)
{
	check_printf();
	check_cmdline();
	check_alloc();
	check_string();
	check_clock();
	rt_printf("rtcheck: %u checks, %u failed\n", checks, failures);
	rt_printf("%s\n", failures ? "FAILURE" : "SUCCESS");
	return failures ? 1 : 0;
}
