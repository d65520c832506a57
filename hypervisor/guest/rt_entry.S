/*
 * 64-bit CPL3 entry, the ELF entry point.
 *
 * The vmm enters here directly; the Multiboot stub (rt_multiboot.S) builds
 * the same environment and irets here too. Both give rdi = gpa of the
 * boot-info page and rsp = top of RAM.
 */
	.section .text.rt_entry, "ax"
	.code64
	.globl rt_entry64
	.type rt_entry64, @function
rt_entry64:
	cld
	xor	%ebp, %ebp		/* end of the frame-pointer chain */
	and	$-16, %rsp		/* SysV alignment before the call */
	call	rt_boot_main
	ud2				/* not reached: rt_boot_main halts */
	.size rt_entry64, . - rt_entry64
