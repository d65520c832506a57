/*
 * The entry environment of abi.h: identity page tables (2 MiB pages, U bit,
 * NX except where a page overlaps an executable segment), a GDT with CPL3
 * segments and a 64-bit TSS whose I/O bitmap opens every port, the boot-info
 * page, the command line, the clock page, and the vCPU registers for a CPL3
 * entry with IOPL=3.
 */
#ifndef HV_BOOT_H
#define HV_BOOT_H

#include <stdint.h>

#include "hv_elf.h"
#include "hv_mem.h"

struct hv_vcpu;

#define HV_BOOT_PTE_P 0x1ull
#define HV_BOOT_PTE_RW 0x2ull
#define HV_BOOT_PTE_US 0x4ull
#define HV_BOOT_PTE_PS 0x80ull
#define HV_BOOT_PTE_NX (1ull << 63)

/* Largest RAM the page-table area below TERN_GPA_IMAGE_MIN can map. */
#define HV_BOOT_MEM_MAX (64ull << 30)

/* Writes PML4, PDPT and page directories at TERN_GPA_PAGETABLES mapping all
 * of RAM. Returns 0, or -EINVAL if RAM is larger than HV_BOOT_MEM_MAX. */
int hv_boot_pagetables(struct hv_mem *mem, const struct hv_elf_image *img);
/* Writes the GDT at TERN_GPA_GDT and the TSS + I/O bitmap at TERN_GPA_TSS. */
int hv_boot_gdt(struct hv_mem *mem);
/* Writes boot info and the command line (-E2BIG if longer than
 * TERN_CMDLINE_MAX - 1). The clock page is written by the caller. */
int hv_boot_info(struct hv_mem *mem, const struct hv_elf_image *img, const char *cmdline,
		 unsigned ncpus);
/* Sets registers, segments, control registers and XCR0 of the boot vCPU
 * for entry at img->entry. Returns 0 or -errno. */
int hv_boot_vcpu(struct hv_vcpu *vcpu, const struct hv_elf_image *img, uint64_t mem_size);
/* All of the above (no clock page). */
int hv_boot_setup(struct hv_vcpu *vcpu, struct hv_mem *mem, const struct hv_elf_image *img,
		  const char *cmdline, unsigned ncpus);

#endif
