/*
 * crash: faults on purpose with no IDT, so the CPU triple-faults and the
 * host must report a crashed domain (never hang).
 *
 * cmdline `mode=pf|ud|gp` (default pf):
 *   pf  writes at 512 GiB -- beyond guest RAM and beyond the first PML4
 *       entry, so neither loader maps it and the write page-faults;
 *   ud  executes ud2;
 *   gp  executes hlt, a privileged instruction at CPL3.
 */
#include "rt.h"

#define CRASH_UNMAPPED_GPA (1ull << 39)

int app_main(void)
{
	char mode[8];

	if (rt_cmdline_str("mode", "pf", mode, sizeof(mode)) ||
	    (strcmp(mode, "pf") && strcmp(mode, "ud") && strcmp(mode, "gp"))) {
		rt_printf("crash: bad mode (want pf, ud or gp)\n");
		return 1;
	}
	rt_printf("crash: faulting mode=%s\n", mode);
	if (!strcmp(mode, "pf")) {
		if (rt_boot_info()->mem_size >= CRASH_UNMAPPED_GPA) {
			rt_printf("crash: RAM reaches 512 GiB, no unmapped address to write\n");
			return 1;
		}
		*(volatile uint64_t *)(uintptr_t)CRASH_UNMAPPED_GPA = 1;
	} else if (!strcmp(mode, "ud")) {
		__asm__ volatile("ud2");
	} else {
		__asm__ volatile("hlt");
	}
	rt_printf("crash: mode=%s did not fault\n", mode);
	return 1;
}
