/* Boot environment builders: page tables, GDT/TSS, boot info. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <tern/abi.h>

#include "hv_boot.h"

#define MIB (1ull << 20)

static void test_pagetables(void **state)
{
	struct hv_mem mem;
	struct hv_elf_image img;
	const uint64_t upper = HV_BOOT_PTE_P | HV_BOOT_PTE_RW | HV_BOOT_PTE_US;

	(void)state;
	/* 1 GiB + 4 MiB: two page directories, the second partly used. */
	assert_int_equal(hv_mem_init(&mem, 1028 * MIB, 0), 0);
	memset(&img, 0, sizeof(img));
	img.nsegs = 2;
	/* Executable segment straddling the 4 MiB boundary: pages 1 and 2. */
	img.seg[0] = (struct hv_elf_seg){0x3ff000, 0x2000, HV_ELF_SEG_EXEC, 0};
	img.seg[1] = (struct hv_elf_seg){0x800000, 0x1000, 0, 0};
	assert_int_equal(hv_boot_pagetables(&mem, &img), 0);
	uint64_t *pml4 = hv_mem_ptr(&mem, TERN_GPA_PAGETABLES, 4096);
	uint64_t *pdpt = hv_mem_ptr(&mem, TERN_GPA_PAGETABLES + 0x1000, 4096);
	uint64_t *pd0 = hv_mem_ptr(&mem, TERN_GPA_PAGETABLES + 0x2000, 4096);
	uint64_t *pd1 = hv_mem_ptr(&mem, TERN_GPA_PAGETABLES + 0x3000, 4096);
	assert_int_equal(pml4[0], (TERN_GPA_PAGETABLES + 0x1000) | upper);
	assert_int_equal(pml4[1], 0);
	assert_int_equal(pdpt[0], (TERN_GPA_PAGETABLES + 0x2000) | upper);
	assert_int_equal(pdpt[1], (TERN_GPA_PAGETABLES + 0x3000) | upper);
	assert_int_equal(pdpt[2], 0);
	const uint64_t leaf = upper | HV_BOOT_PTE_PS;
	assert_int_equal(pd0[0], 0 | leaf | HV_BOOT_PTE_NX);
	assert_int_equal(pd0[1], 0x200000 | leaf); /* holds 0x3ff000 */
	assert_int_equal(pd0[2], 0x400000 | leaf); /* holds 0x400000 */
	assert_int_equal(pd0[3], 0x600000 | leaf | HV_BOOT_PTE_NX);
	assert_int_equal(pd0[4], 0x800000 | leaf | HV_BOOT_PTE_NX); /* data: NX */
	assert_int_equal(pd0[511], 0x3fe00000 | leaf | HV_BOOT_PTE_NX);
	assert_int_equal(pd1[0], 0x40000000 | leaf | HV_BOOT_PTE_NX);
	assert_int_equal(pd1[1], 0x40200000 | leaf | HV_BOOT_PTE_NX);
	assert_int_equal(pd1[2], 0); /* beyond RAM: unmapped */
	hv_mem_fini(&mem);

	struct hv_mem huge = {.base = (uint8_t *)&huge, .size = HV_BOOT_MEM_MAX + HV_HUGE_SIZE};
	assert_int_equal(hv_boot_pagetables(&huge, &img), -EINVAL);
}

static void test_gdt_tss(void **state)
{
	struct hv_mem mem;

	(void)state;
	assert_int_equal(hv_mem_init(&mem, 4 * MIB, 0), 0);
	memset(mem.base, 0xcc, 0x10000);
	assert_int_equal(hv_boot_gdt(&mem), 0);
	uint64_t *gdt = hv_mem_ptr(&mem, TERN_GPA_GDT, 56);
	assert_int_equal(gdt[0], 0);
	/* user code: DPL 3, L=1 */
	assert_int_equal((gdt[TERN_SEL_UCODE >> 3] >> 45) & 3, 3);
	assert_int_equal((gdt[TERN_SEL_UCODE >> 3] >> 53) & 1, 1);
	assert_int_equal((gdt[TERN_SEL_UDATA >> 3] >> 45) & 3, 3);
	uint64_t tss = gdt[TERN_SEL_TSS >> 3];
	assert_int_equal((tss >> 40) & 0xf, 0x9); /* available 64-bit TSS */
	assert_int_equal(((tss >> 16) & 0xffffff) | (((tss >> 56) & 0xff) << 24), TERN_GPA_TSS);
	assert_int_equal((tss & 0xffff) | (((tss >> 48) & 0xf) << 16), 104 + 8192);
	uint8_t *t = hv_mem_ptr(&mem, TERN_GPA_TSS, 104 + 8192 + 1);
	assert_int_equal(t[102] | (t[103] << 8), 104);
	for (unsigned i = 104; i < 104 + 8192; i++)
		if (t[i] != 0)
			fail_msg("I/O bitmap byte %u closed", i - 104);
	assert_int_equal(t[104 + 8192], 0xff);
	hv_mem_fini(&mem);
}

static void test_boot_info(void **state)
{
	static char longline[TERN_CMDLINE_MAX + 1];
	struct hv_mem mem;
	struct hv_elf_image img = {.entry = 0x200000, .image_end = 0x234567};

	(void)state;
	assert_int_equal(hv_mem_init(&mem, 4 * MIB, 0), 0);
	assert_int_equal(hv_boot_info(&mem, &img, "ws=64 rate=20", 1), 0);
	struct tern_boot_info *bi = hv_mem_ptr(&mem, TERN_GPA_BOOT_INFO, sizeof(*bi));
	assert_int_equal(bi->magic, TERN_BOOT_MAGIC);
	assert_int_equal(bi->abi_version, TERN_ABI_VERSION);
	assert_int_equal(bi->loader, TERN_LOADER_VMM);
	assert_int_equal(bi->ncpus, 1);
	assert_int_equal(bi->mem_size, 4 * MIB);
	assert_int_equal(bi->cmdline, TERN_GPA_CMDLINE);
	assert_int_equal(bi->clock, TERN_GPA_CLOCK);
	assert_int_equal(bi->image_end, 0x234567);
	assert_int_equal(bi->ndevs, 0);
	assert_string_equal((char *)hv_mem_ptr(&mem, TERN_GPA_CMDLINE, 1), "ws=64 rate=20");
	memset(longline, 'a', TERN_CMDLINE_MAX);
	assert_int_equal(hv_boot_info(&mem, &img, longline, 1), -E2BIG);
	hv_mem_fini(&mem);
}

static void test_mem_ptr_bounds(void **state)
{
	struct hv_mem mem;

	(void)state;
	assert_int_equal(hv_mem_init(&mem, 0, 0), -EINVAL);
	assert_int_equal(hv_mem_init(&mem, 3 * MIB, 0), -EINVAL);
	assert_int_equal(hv_mem_init(&mem, 2 * MIB, 0), 0);
	assert_non_null(hv_mem_ptr(&mem, 0, 2 * MIB));
	assert_non_null(hv_mem_ptr(&mem, 2 * MIB, 0));
	assert_null(hv_mem_ptr(&mem, 2 * MIB - 1, 2));
	assert_null(hv_mem_ptr(&mem, 2 * MIB + 1, 0));
	assert_null(hv_mem_ptr(&mem, 8, ~0ull - 4));
	assert_null(hv_mem_ptr(&mem, ~0ull, 2));
	hv_mem_fini(&mem);
	assert_null(hv_mem_ptr(&mem, 0, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pagetables),
	    cmocka_unit_test(test_gdt_tss),
	    cmocka_unit_test(test_boot_info),
	    cmocka_unit_test(test_mem_ptr_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
