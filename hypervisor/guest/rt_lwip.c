/*
 * lwIP's port: its clock (sys_now, in ms from the runtime's monotonic
 * clock), its heap (one MEM_SIZE block from rt_alloc at start), random
 * numbers for ports and ISNs, asserts that halt the guest, and atoi.
 */
#include <stdlib.h>

#include "lwip/init.h"
#include "lwip/sys.h"
#include "rt.h"
#include "rt_cpu.h"
#include "rt_lwip.h"

unsigned char *rt_lwip_heap;
static uint64_t lwip_rand_state;

u32_t sys_now(void)
{
	return (u32_t)(rt_clock_ns() / 1000000u);
}

/* xorshift64 seeded from the TSC: TCP ISNs and ephemeral ports only need
 * to differ between boots, not to resist prediction. */
uint32_t rt_lwip_rand(void)
{
	uint64_t x = lwip_rand_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	lwip_rand_state = x;
	return (uint32_t)(x >> 16);
}

void rt_lwip_assert(const char *msg, const char *file, int line)
{
	rt_printf("lwip: assertion \"%s\" failed at %s:%d\n", msg, file, line);
	rt_sys_halt(3);
}

int atoi(const char *s)
{
	int v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

int rt_lwip_init(void)
{
	rt_lwip_heap = rt_alloc(MEM_SIZE + 2 * MEM_ALIGNMENT + 64, 64);
	if (!rt_lwip_heap)
		return -RT_E2BIG;
	lwip_rand_state = rt_rdtsc() | 1;
	lwip_init();
	return 0;
}
