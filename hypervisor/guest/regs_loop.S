/*
 * uint64_t regs_loop_run(uint64_t iters, uint64_t fs_disp)
 *
 * The regs app's loop: `iters` rounds of a deterministic mix that keeps live
 * state in all 15 GPRs, in xmm0-xmm15 (SSE2 integer and double ops), in
 * RFLAGS.CF (carried from each round's last add into the next round's adc,
 * across dec/jnz, which leave CF alone) and in the FS base (a 256-word table
 * is read through %fs at fs_disp). No instruction in the loop exits to the
 * host, so a VM stopped anywhere in it, saved and resumed in a fresh VM must
 * return the same value as an uninterrupted run.
 *
 *   r15  rounds left          r14  %fs displacement of the table
 *   r13  table word loaded last round (index from xmm0 and r12)
 *   rax..r12  a chain of add/xor/rotate steps, each fed by the one before
 *   xmm0-7    64-bit integer lanes (paddq, pxor, pshufd, pmuludq), fed by r11
 *   xmm8-13   damped double sums fed by r10; bounded, so never inf or NaN
 *   xmm14-15  the damping factors (read every round)
 *
 * r14 and r15 are not folded into the result: fs_disp differs between CPUs
 * with and without FSGSBASE, and r15 always ends at 0.
 */
	.section .rodata.regs_seed, "a"
	.balign 16
regs_seed:
	.quad	0x243f6a8885a308d3, 0x13198a2e03707344	/* xmm0 */
	.quad	0xa4093822299f31d0, 0x082efa98ec4e6c89	/* xmm1 */
	.quad	0x452821e638d01377, 0xbe5466cf34e90c6c	/* xmm2 */
	.quad	0xc0ac29b7c97c50dd, 0x3f84d5b5b5470917	/* xmm3 */
	.quad	0x9216d5d98979fb1b, 0xd1310ba698dfb5ac	/* xmm4 */
	.quad	0x2ffd72dbd01adfb7, 0xb8e1afed6a267e96	/* xmm5 */
	.quad	0xba7c9045f12c7f99, 0x24a19947b3916cf7	/* xmm6 */
	.quad	0x0801f2e2858efc16, 0x636920d871574e69	/* xmm7 */
	.double	1.0, -2.0					/* xmm8 */
	.double	3.5, 0.25					/* xmm9 */
	.double	-7.125, 11.0					/* xmm10 */
	.double	0.0625, -13.5					/* xmm11 */
	.double	17.0, 19.75					/* xmm12 */
	.double	-23.0, 29.5					/* xmm13 */
	.double	0.5, 0.625					/* xmm14 */
	.double	0.75, 0.875					/* xmm15 */

	.text
	.globl regs_loop_run
	.type regs_loop_run, @function
regs_loop_run:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rdi, %r15
	mov	%rsi, %r14
	movdqa	regs_seed + 0x00, %xmm0
	movdqa	regs_seed + 0x10, %xmm1
	movdqa	regs_seed + 0x20, %xmm2
	movdqa	regs_seed + 0x30, %xmm3
	movdqa	regs_seed + 0x40, %xmm4
	movdqa	regs_seed + 0x50, %xmm5
	movdqa	regs_seed + 0x60, %xmm6
	movdqa	regs_seed + 0x70, %xmm7
	movapd	regs_seed + 0x80, %xmm8
	movapd	regs_seed + 0x90, %xmm9
	movapd	regs_seed + 0xa0, %xmm10
	movapd	regs_seed + 0xb0, %xmm11
	movapd	regs_seed + 0xc0, %xmm12
	movapd	regs_seed + 0xd0, %xmm13
	movapd	regs_seed + 0xe0, %xmm14
	movapd	regs_seed + 0xf0, %xmm15
	movabs	$0x9e3779b97f4a7c15, %rax
	movabs	$0xbf58476d1ce4e5b9, %rbx
	movabs	$0x94d049bb133111eb, %rcx
	movabs	$0x2545f4914f6cdd1d, %rdx
	movabs	$0xd6e8feb86659fd93, %rsi
	movabs	$0xa0761d6478bd642f, %rdi
	movabs	$0xe7037ed1a0b428db, %rbp
	movabs	$0x8ebc6af09c88c6e3, %r8
	movabs	$0x589965cc75374cc3, %r9
	movabs	$0x1d8e4e27c47d124f, %r10
	movabs	$0xff51afd7ed558ccd, %r11
	movabs	$0xc4ceb9fe1a85ec53, %r12
	movabs	$0x87c37b91114253d5, %r13
	test	%r15, %r15
	jz	2f
	clc
1:	/* integer chain */
	adc	%rbx, %rax		/* CF from the previous round */
	xor	%r13, %rbx
	rol	$23, %rbx
	add	%rax, %rcx
	xor	%rcx, %rdx
	rol	$11, %rdx
	add	%rdx, %rsi
	xor	%rsi, %rdi
	rol	$5, %rdi
	add	%rdi, %rbp
	xor	%rbp, %r8
	rol	$29, %r8
	add	%r8, %r9
	xor	%r9, %r10
	rol	$41, %r10
	add	%r10, %r11
	xor	%r11, %r12
	rol	$17, %r12
	/* table load through %fs, indexed by xmm0 and r12 */
	movq	%xmm0, %r13
	xor	%r12, %r13
	and	$0xff, %r13d
	mov	%fs:(%r14, %r13, 8), %r13
	/* SSE2 integer lanes; xmm7 from the previous round is used first */
	paddq	%xmm7, %xmm0
	pxor	%xmm0, %xmm1
	pshufd	$0x39, %xmm1, %xmm1
	paddq	%xmm1, %xmm2
	pmuludq	%xmm2, %xmm3
	paddq	%xmm4, %xmm3
	pxor	%xmm3, %xmm4
	paddq	%xmm4, %xmm5
	pshufd	$0x93, %xmm5, %xmm5
	pxor	%xmm5, %xmm6
	paddq	%xmm13, %xmm6
	movq	%r11, %xmm7
	pxor	%xmm6, %xmm7
	/* SSE2 doubles: x = c * x + input, |c| < 1 */
	cvtsi2sdl %r10d, %xmm8
	shufpd	$1, %xmm8, %xmm8
	mulpd	%xmm15, %xmm9
	addpd	%xmm8, %xmm9
	mulpd	%xmm14, %xmm10
	addpd	%xmm9, %xmm10
	mulpd	%xmm15, %xmm11
	subpd	%xmm10, %xmm11
	mulpd	%xmm14, %xmm12
	addpd	%xmm11, %xmm12
	shufpd	$1, %xmm12, %xmm13
	mulpd	%xmm15, %xmm13
	addpd	%xmm12, %xmm13
	/* the carry for the next round's adc; dec/jnz keep CF */
	add	%rax, %r12
	dec	%r15
	jnz	1b
2:	/* fold CF, the GPRs and every xmm lane into rax */
	adc	$0, %rax
	paddq	%xmm1, %xmm0
	pxor	%xmm2, %xmm0
	paddq	%xmm3, %xmm0
	pshufd	$0x39, %xmm0, %xmm0
	pxor	%xmm4, %xmm0
	paddq	%xmm5, %xmm0
	pxor	%xmm6, %xmm0
	paddq	%xmm7, %xmm0
	pshufd	$0x39, %xmm0, %xmm0
	pxor	%xmm8, %xmm0
	paddq	%xmm9, %xmm0
	pxor	%xmm10, %xmm0
	paddq	%xmm11, %xmm0
	pshufd	$0x39, %xmm0, %xmm0
	pxor	%xmm12, %xmm0
	paddq	%xmm13, %xmm0
	pxor	%xmm14, %xmm0
	paddq	%xmm15, %xmm0
	movq	%xmm0, %r14
	pshufd	$0x4e, %xmm0, %xmm0
	movq	%xmm0, %r15
	.irp reg, %rbx, %rcx, %rdx, %rsi, %rdi, %rbp, %r8, %r9, %r10, %r11, %r12, %r13, %r14, %r15
	rol	$13, %rax
	xor	\reg, %rax
	.endr
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size regs_loop_run, . - regs_loop_run
