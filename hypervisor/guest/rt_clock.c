/*
 * Guest monotonic time without exits: rdtsc scaled to ns.
 *
 * Under the vmm the scale and offsets come from the clock page, which the
 * vmm rewrites on resume (seqlock: retry while version is odd or changed).
 * Under a Multiboot loader there is no clock page: the TSC rate comes from
 * CPUID leaf 0x15 when it is complete, else from counting TSC ticks across
 * 50 ms of the PIT's channel 2, else from CPUID leaf 0x16's base clock.
 *
 * Scaling uses a 64x64->128 multiply and a shift, never a 128-bit division
 * (that would need libgcc).
 */
#include "rt.h"
#include "rt_cpu.h"

#define PIT_HZ 1193182ull
#define PIT_CALIBRATE_TICKS 59659u /* 50 ms */
#define PIT_CH2_DATA 0x42
#define PIT_MODE 0x43
#define PIT_MODE_CH2_ONESHOT 0xb0 /* channel 2, lo/hi byte, mode 0, binary */
#define PIT_GATE_PORT 0x61
#define PIT_GATE_CH2 0x01
#define PIT_SPEAKER 0x02
#define PIT_OUT_CH2 0x20
#define FALLBACK_TSC_HZ 1000000000ull

static const volatile struct tern_clock_page *clock_page;
static uint64_t clock_tsc0; /* Multiboot: TSC at rt_clock_init */
static uint64_t clock_mul;  /* Multiboot: ns per tick, 32.32 fixed point */
static uint64_t clock_tsc_khz;

static uint64_t scale(uint64_t ticks, uint64_t mul)
{
	return (uint64_t)(((unsigned __int128)ticks * mul) >> 32);
}

static uint64_t tsc_hz_cpuid15(void)
{
	uint32_t r[4];

	rt_cpuid(0, 0, r);
	if (r[0] < 0x15)
		return 0;
	rt_cpuid(0x15, 0, r);
	/* eax = denominator, ebx = numerator, ecx = crystal Hz (0: unknown) */
	if (!r[0] || !r[1] || !r[2])
		return 0;
	return (uint64_t)r[2] * r[1] / r[0];
}

static uint64_t tsc_hz_cpuid16(void)
{
	uint32_t r[4];

	rt_cpuid(0, 0, r);
	if (r[0] < 0x16)
		return 0;
	rt_cpuid(0x16, 0, r);
	return (uint64_t)(r[0] & 0xffff) * 1000000;
}

/* Counts TSC ticks while PIT channel 2 counts down 50 ms in mode 0 (OUT2
 * goes high at terminal count). Bounded by ~10^10 ticks in case there is
 * no PIT. Each port read is an exit (tens of us nested), well below 0.2%
 * of the window. */
static uint64_t tsc_hz_pit(void)
{
	uint8_t gate = rt_inb(PIT_GATE_PORT);
	uint64_t t0, t1;

	rt_outb(PIT_GATE_PORT, (uint8_t)((gate & ~PIT_SPEAKER) | PIT_GATE_CH2));
	rt_outb(PIT_MODE, PIT_MODE_CH2_ONESHOT);
	rt_outb(PIT_CH2_DATA, PIT_CALIBRATE_TICKS & 0xff);
	rt_outb(PIT_CH2_DATA, PIT_CALIBRATE_TICKS >> 8);
	t0 = rt_rdtsc();
	do {
		t1 = rt_rdtsc();
		if (t1 - t0 > 10000000000ull)
			return 0;
	} while (!(rt_inb(PIT_GATE_PORT) & PIT_OUT_CH2));
	rt_outb(PIT_GATE_PORT, gate);
	return (t1 - t0) * PIT_HZ / PIT_CALIBRATE_TICKS;
}

void rt_clock_init(const struct tern_boot_info *bi)
{
	uint64_t hz;

	if (bi->clock) {
		clock_page = (const volatile struct tern_clock_page *)(uintptr_t)bi->clock;
		clock_tsc_khz = clock_page->tsc_khz;
		return;
	}
	hz = tsc_hz_cpuid15();
	if (!hz)
		hz = tsc_hz_pit();
	if (!hz)
		hz = tsc_hz_cpuid16();
	if (!hz)
		hz = FALLBACK_TSC_HZ;
	clock_tsc_khz = hz / 1000;
	clock_mul = (RT_NS_PER_SEC << 32) / hz;
	clock_tsc0 = rt_rdtsc();
}

static uint64_t clock_page_ns(void)
{
	uint32_t v;
	uint64_t ns, tsc, base;

	for (;;) {
		v = clock_page->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		tsc = rt_rdtsc();
		base = clock_page->tsc_base;
		/* A base just ahead of the TSC (a resume racing this read) must
		 * not turn into a huge unsigned delta. */
		ns = clock_page->ns_base + scale(tsc > base ? tsc - base : 0, clock_page->tsc_mul);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(v & 1) && clock_page->version == v)
			return ns;
		rt_pause();
	}
}

uint64_t rt_clock_ns(void)
{
	if (clock_page)
		return clock_page_ns();
	return scale(rt_rdtsc() - clock_tsc0, clock_mul);
}

uint32_t rt_clock_resumes(void)
{
	return clock_page ? clock_page->resumes : 0;
}

uint64_t rt_clock_tsc_khz(void)
{
	return clock_tsc_khz;
}
