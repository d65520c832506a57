/*
 * dirtier: dirties a working set at a steady rate and proves, after every
 * restore or migration, that none of it was lost.
 *
 * cmdline `ws=<MiB> rate=<MiB/s>` (defaults 64 and 10). The working set
 * starts at the first 2 MiB boundary after the image. Each write stores the
 * incremented global counter into one 8-byte word of the next 4 KiB page,
 * cycling over the set (the word moves on by one each pass), and keeps a
 * running checksum -- the sum of every word of the set -- up to date by
 * subtracting the old value and adding the new. Writes come in ~1 ms
 * batches paced to rate * 256 pages per second; between batches the guest
 * blocks in the yield hypercall. Once per second of guest time it prints its
 * progress; when the clock page's resume counter changes it sums the whole
 * set from memory and checks it against the running checksum.
 *
 * Optional `beat=<ms>` (default 0: off, and the output is as above): every
 * <ms> of guest time it also prints the line "b", so a host that timestamps
 * the console can see the guest stop and resume across a migration (the
 * guest's own clock cannot: the TSC is carried over). Two bytes, because
 * under a Multiboot loader each byte costs two port-I/O exits. A resume
 * prints a beat at once, before the verify pass.
 *
 * Optional `fill=1`: before pacing starts, write every page of the set once
 * (the same writes as above, so the checksum holds) and print
 * `dirtier: filled pages=<n> counter=<n> checksum=<x>`: a working set that
 * is all data, not zero pages a migration can skip.
 */
#include "rt.h"

#define DEFAULT_WS_MIB 64
#define DEFAULT_RATE_MIB 10
#define MAX_RATE_MIB 1000000
#define PAGES_PER_MIB 256
#define WORDS_PER_PAGE (RT_PAGE_SIZE / 8)
#define BATCH_NS 1000000ull
/* After a long stop (pause, migration) catch up at most 100 ms of writes
 * instead of bursting through everything that was missed. */
#define MAX_CATCHUP_DIV 10
#define MAX_BEAT_MS 60000

struct dirtier {
	volatile uint64_t *ws;
	uint64_t npages;
	uint64_t pps;	   /* page writes per second */
	uint64_t counter;  /* last value written */
	uint64_t checksum; /* sum of all words of the set */
	uint64_t page;	   /* next page to write */
	uint64_t word;	   /* word within the page for this pass */
	uint64_t beat_ns;  /* heartbeat period, 0: none */
	uint32_t resumes;
};

static uint64_t dirtier_sum(const struct dirtier *d)
{
	uint64_t sum = 0, n = d->npages * WORDS_PER_PAGE;

	for (uint64_t i = 0; i < n; i++)
		sum += d->ws[i];
	return sum;
}

static void dirtier_write(struct dirtier *d)
{
	volatile uint64_t *p = d->ws + d->page * WORDS_PER_PAGE + d->word;
	uint64_t old = *p;

	*p = ++d->counter;
	d->checksum += d->counter - old;
	if (++d->page == d->npages) {
		d->page = 0;
		d->word = (d->word + 1) % WORDS_PER_PAGE;
	}
}

/* Pages due after `ns` of pacing, without overflowing for long runs. */
static uint64_t dirtier_due(const struct dirtier *d, uint64_t ns)
{
	return ns / RT_NS_PER_SEC * d->pps + ns % RT_NS_PER_SEC * d->pps / RT_NS_PER_SEC;
}

static void dirtier_verify(struct dirtier *d, uint32_t resumes)
{
	uint64_t got = dirtier_sum(d);

	if (got == d->checksum) {
		rt_printf("dirtier: resumed n=%u counter=%lu checksum=%016lx verify=ok\n", resumes,
			  d->counter, d->checksum);
		return;
	}
	rt_printf("dirtier: resumed n=%u counter=%lu checksum=%016lx verify=FAIL "
		  "expected=%016lx got=%016lx\n",
		  resumes, d->counter, d->checksum, d->checksum, got);
	rt_sys_halt(1);
}

/* Prints a beat when due; returns the next beat time (UINT64_MAX: none).
 * A late wake-up skips missed beats rather than printing them in a burst,
 * which would hide the gap the host is looking for. */
static uint64_t dirtier_beat(const struct dirtier *d, uint64_t now, uint64_t next)
{
	if (!d->beat_ns)
		return UINT64_MAX;
	if (now < next)
		return next;
	rt_console_write("b\n", 2);
	next += d->beat_ns;
	return next > now ? next : now + d->beat_ns;
}

static void dirtier_run(struct dirtier *d)
{
	uint64_t start = rt_clock_ns(), pace_start = start, done = 0, next_beat = start;
	uint64_t next_print = start + RT_NS_PER_SEC, max_behind = d->pps / MAX_CATCHUP_DIV + 1;

	for (;;) {
		uint64_t now = rt_clock_ns(), due, deadline;
		uint32_t r = rt_clock_resumes();

		if (r != d->resumes) {
			d->resumes = r;
			/* The guest runs again: say so before the verify pass, which
			 * reads the whole set and would hide when it resumed. */
			if (d->beat_ns)
				rt_console_write("b\n", 2);
			dirtier_verify(d, r);
		}
		due = dirtier_due(d, now - pace_start);
		if (due - done > max_behind)
			done = due - max_behind;
		for (; done < due; done++)
			dirtier_write(d);
		if (now >= next_print) {
			uint64_t t = (now - start) / RT_NS_PER_SEC;

			rt_printf("dirtier: t=%lu counter=%lu checksum=%016lx\n", t, d->counter,
				  d->checksum);
			next_print = start + (t + 1) * RT_NS_PER_SEC;
		}
		next_beat = dirtier_beat(d, now, next_beat);
		deadline = next_print;
		if (d->pps && now + BATCH_NS < deadline)
			deadline = now + BATCH_NS;
		if (next_beat < deadline)
			deadline = next_beat;
		rt_sys_yield(deadline, 0);
	}
}

int app_main(void)
{
	struct dirtier d = {0};
	uint64_t ws, rate, beat, fill;

	if (rt_cmdline_u64("ws", DEFAULT_WS_MIB, &ws) || !ws) {
		rt_printf("dirtier: bad ws (want a size in MiB > 0)\n");
		return 1;
	}
	if (rt_cmdline_u64("rate", DEFAULT_RATE_MIB, &rate) || rate > MAX_RATE_MIB) {
		rt_printf("dirtier: bad rate (want MiB/s <= %u)\n", MAX_RATE_MIB);
		return 1;
	}
	if (rt_cmdline_u64("fill", 0, &fill) || fill > 1) {
		rt_printf("dirtier: bad fill (want 0 or 1)\n");
		return 1;
	}
	if (rt_cmdline_u64("beat", 0, &beat) || beat > MAX_BEAT_MS) {
		rt_printf("dirtier: bad beat (want ms <= %u)\n", MAX_BEAT_MS);
		return 1;
	}
	if (ws > UINT64_MAX / RT_MIB || !(d.ws = rt_alloc(ws * RT_MIB, 2 * RT_MIB))) {
		rt_printf("dirtier: ws=%lu MiB does not fit in RAM (%lu MiB free)\n", ws,
			  rt_alloc_avail() >> 20);
		return 1;
	}
	d.npages = ws * PAGES_PER_MIB;
	d.pps = rate * PAGES_PER_MIB;
	d.beat_ns = beat * (RT_NS_PER_SEC / 1000);
	d.resumes = rt_clock_resumes();
	rt_printf("dirtier: start ws=%lu rate=%lu\n", ws, rate);
	/* RAM need not be zero under every loader: start from what is there. */
	d.checksum = dirtier_sum(&d);
	if (fill) {
		for (uint64_t i = 0; i < d.npages; i++)
			dirtier_write(&d);
		rt_printf("dirtier: filled pages=%lu counter=%lu checksum=%016lx\n", d.npages,
			  d.counter, d.checksum);
	}
	dirtier_run(&d);
	return 0;
}
