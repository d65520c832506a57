/*
 * regs: a long exit-free loop whose result depends only on `iters`, used to
 * prove that a vCPU interrupted anywhere, saved and resumed in a fresh VM
 * continues with every register intact (GPRs, xmm0-15, RFLAGS, FS base).
 *
 * cmdline `iters=<n>` (default 200000000, ~1-3 s natively). The loop itself
 * is regs_loop.S; this file sets up the table it reads through %fs.
 */
#include "rt.h"
#include "rt_cpu.h"

#define DEFAULT_ITERS 200000000ull
#define TABLE_WORDS 256

uint64_t regs_loop_run(uint64_t iters, uint64_t fs_disp);

static uint64_t regs_table[TABLE_WORDS] __attribute__((aligned(64)));

/* splitmix64: a fixed, well-mixed table. */
static void regs_table_fill(void)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < TABLE_WORDS; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		regs_table[i] = z ^ (z >> 31);
	}
}

static int regs_has_fsgsbase(void)
{
	uint32_t r[4];

	rt_cpuid(0, 0, r);
	if (r[0] < 7)
		return 0;
	rt_cpuid(7, 0, r);
	return r[1] & 1;
}

/* Both loaders set CR4.FSGSBASE exactly when CPUID reports it. Without it
 * the FS base stays 0 and the table is reached at its absolute address. */
static uint64_t regs_fs_setup(void)
{
	uint64_t table = (uint64_t)(uintptr_t)regs_table;

	if (!regs_has_fsgsbase())
		return table;
	__asm__ volatile("wrfsbase %0" : : "r"(table) : "memory");
	return 0;
}

int app_main(void)
{
	uint64_t iters, result;

	if (rt_cmdline_u64("iters", DEFAULT_ITERS, &iters)) {
		rt_printf("regs: bad iters (want a count)\n");
		return 1;
	}
	regs_table_fill();
	rt_printf("regs: start iters=%lu\n", iters);
	result = regs_loop_run(iters, regs_fs_setup());
	rt_printf("regs: iters=%lu result=%016lx\n", iters, result);
	return 0;
}
