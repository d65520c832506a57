/*
 * Multiboot v1 header and the 32-bit entry stub.
 *
 * A Multiboot loader (qemu -kernel, GRUB) enters rt_mb_entry32 in 32-bit
 * protected mode at CPL0 with paging off, eax = 0x2badb002 and ebx = the
 * Multiboot info. The stub builds what the vmm would have built -- GDT,
 * 64-bit TSS with an all-open I/O bitmap, identity page tables with 2 MiB
 * pages (U everywhere, NX outside the image's text), PAE + LME + NXE +
 * paging, SSE, FSGSBASE when CPUID has it, no IDT -- fills a boot-info
 * page with loader = TERN_LOADER_MULTIBOOT and irets to rt_entry64 at CPL3.
 *
 * CPL0 code is emulated at ~1 us per instruction on nested "PVM" KVM, so
 * the stub stays short: about 150 instructions plus 12 per 2 MiB of RAM
 * and 5 per command-line byte. Everything else happens at CPL3.
 *
 * QEMU refuses Multiboot ELF64 images unless the header carries the
 * a.out-kludge address fields (flag bit 16); the linker script guarantees
 * that the file bytes from __image_start to __data_end are the memory image.
 */
#include <tern/abi.h>

#define MB_HDR_MAGIC 0x1badb002
#define MB_HDR_FLAGS 0x00010002 /* bit 1: want memory info; bit 16: address fields */
#define MB_BOOT_MAGIC 0x2badb002
#define MBI_FLAGS 0
#define MBI_MEM_UPPER 8 /* KiB above 1 MiB */
#define MBI_CMDLINE 16
#define MBI_HAS_MEM (1 << 0)
#define MBI_HAS_CMDLINE (1 << 2)

/* The page tables in .bss cover this much RAM; a larger machine is used up
 * to this size (mem_upper is a 32-bit KiB count below the PCI hole anyway). */
#define STUB_MAX_GIB 4
#define STUB_MAX_KIB (STUB_MAX_GIB << 20)

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PS 0x80
#define PTE_TABLE (PTE_P | PTE_W | PTE_U)
#define PTE_2M (PTE_P | PTE_W | PTE_U | PTE_PS)

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_ET (1 << 4)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define CR4_FSGSBASE (1 << 16)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

#define ISA_DEBUG_EXIT_PORT 0xf4

	.section .multiboot, "a"
	.balign 4
rt_mb_header:
	.long	MB_HDR_MAGIC
	.long	MB_HDR_FLAGS
	.long	-(MB_HDR_MAGIC + MB_HDR_FLAGS)
	.long	rt_mb_header		/* header_addr */
	.long	__image_start		/* load_addr */
	.long	__data_end		/* load_end_addr */
	.long	__bss_end		/* bss_end_addr */
	.long	rt_mb_entry32		/* entry_addr */

	.section .text.rt_mb, "ax"
	.code32
	.globl rt_mb_entry32
	.type rt_mb_entry32, @function
rt_mb_entry32:
	cli
	cld
	mov	$rt_mb_stack_top, %esp
	cmp	$MB_BOOT_MAGIC, %eax
	jne	rt_mb_fail
	testl	$MBI_HAS_MEM, MBI_FLAGS(%ebx)
	jz	rt_mb_fail

	/* ebp = RAM in KiB (mem_upper counts from 1 MiB), capped. */
	mov	MBI_MEM_UPPER(%ebx), %ebp
	cmp	$(STUB_MAX_KIB - 1024), %ebp
	jbe	1f
	mov	$(STUB_MAX_KIB - 1024), %ebp
1:	add	$1024, %ebp
	mov	%ebp, %eax
	mov	%ebp, %edx
	shl	$10, %eax
	shr	$22, %edx
	mov	%eax, rt_mb_boot_info + TERN_BI_MEM_SIZE
	mov	%edx, rt_mb_boot_info + TERN_BI_MEM_SIZE + 4

	/* Copy the command line before anything can overwrite the info
	 * block the loader put after our image. */
	mov	$rt_mb_cmdline, %edi
	testl	$MBI_HAS_CMDLINE, MBI_FLAGS(%ebx)
	jz	3f
	mov	MBI_CMDLINE(%ebx), %esi
	mov	$(TERN_CMDLINE_MAX - 1), %ecx
2:	lodsb
	test	%al, %al
	jz	3f
	stosb
	loop	2b
3:
	/* esi = NX bit for the high half of a PTE, if the CPU has NX. */
	xor	%esi, %esi
	mov	$0x80000000, %eax
	cpuid
	cmp	$0x80000001, %eax
	jb	4f
	mov	$0x80000001, %eax
	cpuid
	bt	$20, %edx
	jnc	4f
	mov	$0x80000000, %esi
4:
	/* PML4[0] -> PDPT, PDPT[i] -> PD i. PDs past the end of RAM stay
	 * empty, so touching an address beyond RAM page-faults. */
	movl	$(rt_mb_pdpt + PTE_TABLE), rt_mb_pml4
	mov	$(rt_mb_pd + PTE_TABLE), %eax
	xor	%ecx, %ecx
5:	mov	%eax, rt_mb_pdpt(, %ecx, 8)
	add	$4096, %eax
	inc	%ecx
	cmp	$STUB_MAX_GIB, %ecx
	jb	5b

	/* One 2 MiB PTE per 2 MiB of RAM (rounded up); only the pages that
	 * hold the image's text stay executable. */
	lea	2047(%ebp), %edx
	shr	$11, %edx
	xor	%ecx, %ecx
6:	mov	%ecx, %eax
	shl	$21, %eax
	or	$PTE_2M, %eax
	mov	%eax, rt_mb_pd(, %ecx, 8)
	mov	%ecx, %eax
	shr	$11, %eax
	cmp	$__rt_text_first_2m, %ecx
	jb	7f
	cmp	$__rt_text_last_2m, %ecx
	jbe	8f
7:	or	%esi, %eax
8:	mov	%eax, rt_mb_pd + 4(, %ecx, 8)
	inc	%ecx
	cmp	%edx, %ecx
	jb	6b

	/* TSS: I/O bitmap right after the header, all zero = all ports open. */
	movw	$TERN_TSS_HDR_SIZE, rt_mb_tss + 102
	movb	$0xff, rt_mb_tss + TERN_TSS_HDR_SIZE + TERN_TSS_IOMAP_SIZE
	mov	$rt_mb_tss, %eax
	mov	%eax, %edx
	shl	$16, %eax
	or	$(TERN_TSS_SIZE - 1), %eax	/* base[15:0], limit[15:0] */
	mov	%eax, rt_mb_gdt + TERN_SEL_TSS
	mov	%edx, %eax
	and	$0xff000000, %eax		/* base[31:24] */
	shr	$16, %edx
	movzbl	%dl, %edx			/* base[23:16] */
	or	%edx, %eax
	or	$0x8900, %eax			/* present, available 64-bit TSS */
	mov	%eax, rt_mb_gdt + TERN_SEL_TSS + 4

	lgdt	rt_mb_gdtr
	mov	$TERN_SEL_KDATA, %eax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss

	/* CR4: PAE, SSE, and FSGSBASE when CPUID leaf 7 has it. */
	mov	$(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %edi
	xor	%eax, %eax
	cpuid
	cmp	$7, %eax
	jb	9f
	mov	$7, %eax
	xor	%ecx, %ecx
	cpuid
	test	$1, %ebx
	jz	9f
	or	$CR4_FSGSBASE, %edi
9:	mov	%edi, %cr4
	mov	$rt_mb_pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	test	%esi, %esi
	jz	10f
	or	$EFER_NXE, %eax
10:	wrmsr
	mov	$(CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG), %eax
	mov	%eax, %cr0
	ljmp	$TERN_SEL_KCODE, $rt_mb_entry64

rt_mb_fail:
	/* Not booted by a Multiboot loader we understand: nothing to run. */
	mov	$1, %al
	out	%al, $ISA_DEBUG_EXIT_PORT
11:	hlt
	jmp	11b
	.size rt_mb_entry32, . - rt_mb_entry32

	.code64
rt_mb_entry64:
	mov	$TERN_SEL_TSS, %eax
	ltr	%ax
	lidt	rt_mb_idtr			/* limit 0: any fault triple-faults */
	mov	$TERN_SEL_UDATA, %eax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs

	movl	$TERN_BOOT_MAGIC, rt_mb_boot_info + TERN_BI_MAGIC
	movl	$TERN_ABI_VERSION, rt_mb_boot_info + TERN_BI_ABI_VERSION
	movl	$TERN_LOADER_MULTIBOOT, rt_mb_boot_info + TERN_BI_LOADER
	movl	$1, rt_mb_boot_info + TERN_BI_NCPUS
	movq	$rt_mb_cmdline, rt_mb_boot_info + TERN_BI_CMDLINE
	movq	$__image_end, rt_mb_boot_info + TERN_BI_IMAGE_END

	/* iretq to rt_entry64 at CPL3, rsp = top of RAM, rdi = boot info. */
	mov	rt_mb_boot_info + TERN_BI_MEM_SIZE, %rax
	and	$-16, %rax
	push	$TERN_SEL_UDATA
	push	%rax
	push	$TERN_ENTRY_RFLAGS
	push	$TERN_SEL_UCODE
	push	$rt_entry64
	mov	$rt_mb_boot_info, %edi
	iretq

	.section .data.rt_mb, "aw"
	.balign 16
rt_mb_gdt:
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x08 kernel code, 64-bit */
	.quad	0x00cf92000000ffff		/* 0x10 kernel data */
	.quad	0x00cff2000000ffff		/* 0x1b user data */
	.quad	0x00affa000000ffff		/* 0x23 user code, 64-bit */
	.quad	0, 0				/* 0x28 TSS, filled in above */
rt_mb_gdt_end:
	/* Pseudo-descriptors: the 2-byte pad puts each base on 8 bytes. */
	.balign 8
	.word	0
rt_mb_gdtr:
	.word	rt_mb_gdt_end - rt_mb_gdt - 1
	.quad	rt_mb_gdt
	.balign 8
	.word	0
rt_mb_idtr:
	.word	0
	.quad	0

	.section .bss.rt_mb, "aw", @nobits
	.balign 4096
rt_mb_boot_info:
	.space	4096
rt_mb_cmdline:
	.space	TERN_CMDLINE_MAX
rt_mb_pml4:
	.space	4096
rt_mb_pdpt:
	.space	4096
rt_mb_pd:
	.space	4096 * STUB_MAX_GIB
rt_mb_tss:
	.space	TERN_TSS_SIZE
	.balign 16
rt_mb_stack:
	.space	256
rt_mb_stack_top:
