/*
 * Start-up at CPL3: check the boot-info page, bring up console, command
 * line, clock and allocator, print the boot line, run the app, halt with
 * its status.
 */
#include "rt.h"

extern char __image_end[]; /* guest.ld */

static const struct tern_boot_info *boot_info;

const struct tern_boot_info *rt_boot_info(void)
{
	return boot_info;
}

const char *rt_boot_loader_name(void)
{
	return boot_info->loader == TERN_LOADER_VMM ? "vmm" : "multiboot";
}

/* Multiboot loaders put the image's path first on the command line (QEMU
 * and GRUB both do); a first word without '=' is that path, not ours. */
static const char *boot_cmdline(const struct tern_boot_info *bi)
{
	const char *p = (const char *)(uintptr_t)bi->cmdline;
	const char *w = p;

	if (!p)
		return "";
	if (bi->loader != TERN_LOADER_MULTIBOOT)
		return p;
	while (*p && *p != ' ' && *p != '=')
		p++;
	if (*p == '=')
		return w;
	while (*p == ' ')
		p++;
	return p;
}

static void boot_heap(const struct tern_boot_info *bi)
{
	uint64_t start = bi->image_end, end = 0;

	if (start < (uint64_t)(uintptr_t)__image_end)
		start = (uint64_t)(uintptr_t)__image_end;
	if (bi->mem_size > RT_STACK_RESERVE)
		end = bi->mem_size - RT_STACK_RESERVE;
	rt_alloc_init(start, end);
}

void rt_boot_main(uint64_t boot_info_gpa)
{
	const struct tern_boot_info *bi = (const void *)(uintptr_t)boot_info_gpa;
	const char *cmdline;

	/* Nothing to talk to without a valid boot info: crash, which the vmm
	 * reports with our registers, rather than guess a console. */
	if (!bi || bi->magic != TERN_BOOT_MAGIC || bi->abi_version != TERN_ABI_VERSION)
		__builtin_trap();
	boot_info = bi;
	rt_console_init(bi->loader);
	rt_sys_init(bi->loader);
	cmdline = boot_cmdline(bi);
	rt_cmdline_init(cmdline);
	rt_printf("tern-rt: boot abi=%u loader=%s mem=%lu cmdline=\"%.*s\"\n", bi->abi_version,
		  rt_boot_loader_name(), (unsigned long)(bi->mem_size >> 20),
		  (int)(TERN_CMDLINE_MAX - 1), cmdline);
	rt_clock_init(bi);
	boot_heap(bi);
	rt_sys_halt(app_main());
}
