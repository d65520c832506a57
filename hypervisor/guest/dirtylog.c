/*
 * dirtylog: writes an exactly known set of pages per round so that the host
 * can compare its dirty log with what the guest says it touched.
 *
 * cmdline `base=<MiB> pages=<n> stride=<k> rounds=<r>` (defaults 16, 100,
 * 1, 5). Round i writes one word into each page at
 * base * 2^20 + (i*n*k + j*k) * 4096 for j in 0..n-1, then prints the round
 * line. Nothing else in [base, base + r*n*k pages) is ever touched (console
 * buffers, hypercall structs and the stack are elsewhere), so at each round
 * line the region's dirty bitmap must equal exactly that round's pages.
 */
#include "rt.h"

struct dirtylog {
	uint64_t base; /* gpa */
	uint64_t pages;
	uint64_t stride; /* pages */
	uint64_t rounds;
};

static int dirtylog_args(struct dirtylog *dl)
{
	uint64_t base_mib, span, lo = rt_alloc_next(), hi = lo + rt_alloc_avail();

	if (rt_cmdline_u64("base", 16, &base_mib) || rt_cmdline_u64("pages", 100, &dl->pages) ||
	    rt_cmdline_u64("stride", 1, &dl->stride) || rt_cmdline_u64("rounds", 5, &dl->rounds)) {
		rt_printf("dirtylog: bad number in command line\n");
		return -RT_EINVAL;
	}
	if (!dl->pages || !dl->stride || !dl->rounds) {
		rt_printf("dirtylog: pages, stride and rounds must be > 0\n");
		return -RT_EINVAL;
	}
	/* The region must lie in free RAM: above the image, below the stack. */
	if (__builtin_mul_overflow(base_mib, RT_MIB, &dl->base) ||
	    __builtin_mul_overflow(dl->pages, dl->stride, &span) ||
	    __builtin_mul_overflow(span, dl->rounds, &span) ||
	    __builtin_mul_overflow(span, RT_PAGE_SIZE, &span) || dl->base < lo || dl->base > hi ||
	    span > hi - dl->base) {
		rt_printf("dirtylog: region does not fit in free RAM [0x%lx, 0x%lx)\n", lo, hi);
		return -RT_ERANGE;
	}
	return 0;
}

static void dirtylog_round(const struct dirtylog *dl, uint64_t i)
{
	uint64_t first = dl->base + i * dl->pages * dl->stride * RT_PAGE_SIZE;

	for (uint64_t j = 0; j < dl->pages; j++) {
		volatile uint64_t *p =
		    (volatile uint64_t *)(uintptr_t)(first + j * dl->stride * RT_PAGE_SIZE);

		*p = (i << 32 | j) + 1;
	}
	rt_printf("dirtylog: round=%lu first=0x%lx count=%lu stride=0x%lx\n", i, first, dl->pages,
		  dl->stride * RT_PAGE_SIZE);
}

int app_main(void)
{
	struct dirtylog dl;

	if (dirtylog_args(&dl))
		return 1;
	for (uint64_t i = 0; i < dl.rounds; i++)
		dirtylog_round(&dl, i);
	rt_printf("dirtylog: done\n");
	return 0;
}
