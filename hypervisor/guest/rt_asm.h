/*
 * Constants shared by the runtime's assembly files and its C code.
 *
 * abi.h holds C structs, so the assembler cannot include it; the values it
 * needs are repeated here and rt_boot.c checks every one of them against
 * abi.h with _Static_assert, so the two can never drift apart.
 */
#ifndef RT_ASM_H
#define RT_ASM_H

/* struct tern_boot_info field offsets. */
#define RT_BI_MAGIC 0
#define RT_BI_ABI_VERSION 4
#define RT_BI_LOADER 8
#define RT_BI_NCPUS 12
#define RT_BI_MEM_SIZE 16
#define RT_BI_CMDLINE 24
#define RT_BI_CLOCK 32
#define RT_BI_IMAGE_END 40

#define RT_BOOT_MAGIC 0x6e726574 /* TERN_BOOT_MAGIC */
#define RT_ABI_VERSION 1	 /* TERN_ABI_VERSION */
#define RT_LOADER_MULTIBOOT 2	 /* TERN_LOADER_MULTIBOOT */
#define RT_CMDLINE_MAX 4096	 /* TERN_CMDLINE_MAX */

/* GDT selectors, the same layout the vmm builds (TERN_SEL_*). */
#define RT_SEL_KCODE 0x08
#define RT_SEL_KDATA 0x10
#define RT_SEL_UDATA 0x1b
#define RT_SEL_UCODE 0x23
#define RT_SEL_TSS 0x28

/* 64-bit TSS: 104-byte header, then an I/O bitmap of 65536 bits (all zero:
 * every port open) and the 0xff byte the CPU reads past its end. */
#define RT_TSS_HDR_SIZE 104
#define RT_TSS_IOMAP_SIZE 8192
#define RT_TSS_SIZE (RT_TSS_HDR_SIZE + RT_TSS_IOMAP_SIZE + 1)

/* RFLAGS at CPL3 entry: IOPL=3, reserved bit 1, IF=0. */
#define RT_ENTRY_RFLAGS 0x3002

#endif /* RT_ASM_H */
