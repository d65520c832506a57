#include "hv_boot.h"

#include <cpuid.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include <tern/abi.h>

#include "hv_vcpu.h"

#define HV_GIB (1ull << 30)
/* TSS limit covers the bitmap and its mandatory trailing 0xff byte. */
#define HV_TSS_LIMIT (TERN_TSS_SIZE - 1u)
#define HV_GDT_ENTRIES 7u

#define HV_CR0_PE 0x1ull
#define HV_CR0_MP 0x2ull
#define HV_CR0_ET 0x10ull
#define HV_CR0_NE 0x20ull
#define HV_CR0_WP 0x10000ull
#define HV_CR0_PG 0x80000000ull
#define HV_CR4_PAE 0x20ull
#define HV_CR4_OSFXSR 0x200ull
#define HV_CR4_OSXMMEXCPT 0x400ull
#define HV_CR4_FSGSBASE 0x10000ull
#define HV_CR4_OSXSAVE 0x40000ull
#define HV_EFER_LME 0x100ull
#define HV_EFER_LMA 0x400ull
#define HV_EFER_NXE 0x800ull
#define HV_XCR0_X87 0x1ull
#define HV_XCR0_SSE 0x2ull
#define HV_XCR0_AVX 0x4ull

static int hv_boot_exec_overlap(const struct hv_elf_image *img, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; img && i < img->nsegs; i++) {
		const struct hv_elf_seg *s = &img->seg[i];
		if ((s->flags & HV_ELF_SEG_EXEC) && s->gpa < hi && lo < s->gpa + s->memsz)
			return 1;
	}
	return 0;
}

int hv_boot_pagetables(struct hv_mem *mem, const struct hv_elf_image *img)
{
	uint64_t ngib = (mem->size + HV_GIB - 1) / HV_GIB;
	const uint64_t upper = HV_BOOT_PTE_P | HV_BOOT_PTE_RW | HV_BOOT_PTE_US;
	uint64_t *pml4, *pdpt, *pd;

	if (mem->size > HV_BOOT_MEM_MAX)
		return -EINVAL;
	pml4 = hv_mem_ptr(mem, TERN_GPA_PAGETABLES, HV_PAGE_SIZE * (2 + ngib));
	if (!pml4)
		return -EINVAL;
	memset(pml4, 0, HV_PAGE_SIZE * (2 + ngib));
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = (TERN_GPA_PAGETABLES + HV_PAGE_SIZE) | upper;
	for (uint64_t g = 0; g < ngib; g++)
		pdpt[g] = (TERN_GPA_PAGETABLES + HV_PAGE_SIZE * (2 + g)) | upper;
	for (uint64_t a = 0; a < mem->size; a += HV_HUGE_SIZE) {
		uint64_t e = a | upper | HV_BOOT_PTE_PS;
		if (!hv_boot_exec_overlap(img, a, a + HV_HUGE_SIZE))
			e |= HV_BOOT_PTE_NX;
		pd[a / HV_HUGE_SIZE] = e;
	}
	return 0;
}

static uint64_t hv_boot_tss_desc_lo(uint64_t base, uint32_t limit)
{
	return (limit & 0xffffull) | ((base & 0xffffffull) << 16) | (0x89ull << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xffull) << 56);
}

int hv_boot_gdt(struct hv_mem *mem)
{
	uint64_t *gdt = hv_mem_ptr(mem, TERN_GPA_GDT, HV_GDT_ENTRIES * 8);
	uint8_t *tss = hv_mem_ptr(mem, TERN_GPA_TSS, HV_TSS_LIMIT + 1);

	if (!gdt || !tss)
		return -EINVAL;
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull; /* kernel code, 64-bit */
	gdt[2] = 0x00cf92000000ffffull; /* kernel data */
	gdt[3] = 0x00cff2000000ffffull; /* user data, DPL3 */
	gdt[4] = 0x00affa000000ffffull; /* user code, 64-bit, DPL3 */
	gdt[5] = hv_boot_tss_desc_lo(TERN_GPA_TSS, HV_TSS_LIMIT);
	gdt[6] = (uint64_t)TERN_GPA_TSS >> 32;
	memset(tss, 0, HV_TSS_LIMIT + 1);
	/* I/O map base at offset 102; a zero bit opens a port. */
	tss[102] = TERN_TSS_HDR_SIZE & 0xff;
	tss[103] = TERN_TSS_HDR_SIZE >> 8;
	tss[HV_TSS_LIMIT] = 0xff;
	return 0;
}

int hv_boot_info(struct hv_mem *mem, const struct hv_elf_image *img, const char *cmdline,
		 unsigned ncpus)
{
	struct tern_boot_info *bi = hv_mem_ptr(mem, TERN_GPA_BOOT_INFO, sizeof(*bi));
	size_t n = strlen(cmdline);
	char *cl = hv_mem_ptr(mem, TERN_GPA_CMDLINE, TERN_CMDLINE_MAX);

	if (!bi || !cl)
		return -EINVAL;
	if (n >= TERN_CMDLINE_MAX)
		return -E2BIG;
	memset(cl, 0, TERN_CMDLINE_MAX);
	memcpy(cl, cmdline, n);
	memset(bi, 0, sizeof(*bi));
	bi->magic = TERN_BOOT_MAGIC;
	bi->abi_version = TERN_ABI_VERSION;
	bi->loader = TERN_LOADER_VMM;
	bi->ncpus = ncpus;
	bi->mem_size = mem->size;
	bi->cmdline = TERN_GPA_CMDLINE;
	bi->clock = TERN_GPA_CLOCK;
	bi->image_end = img->image_end;
	return 0;
}

static void hv_boot_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->dpl = sel & 3;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

static void hv_boot_sregs(struct kvm_sregs *sr, unsigned *xsave)
{
	unsigned a, b, c, d;

	hv_boot_seg(&sr->cs, TERN_SEL_UCODE, 0xb, 1);
	hv_boot_seg(&sr->ss, TERN_SEL_UDATA, 0x3, 0);
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss;
	memset(&sr->tr, 0, sizeof(sr->tr));
	sr->tr.selector = TERN_SEL_TSS;
	sr->tr.base = TERN_GPA_TSS;
	sr->tr.limit = HV_TSS_LIMIT;
	sr->tr.type = 0xb; /* 64-bit TSS, busy */
	sr->tr.present = 1;
	memset(&sr->ldt, 0, sizeof(sr->ldt));
	sr->ldt.type = 0x2;
	sr->ldt.present = 1;
	sr->ldt.unusable = 1;
	sr->gdt.base = TERN_GPA_GDT;
	sr->gdt.limit = HV_GDT_ENTRIES * 8 - 1;
	sr->idt.base = 0;
	sr->idt.limit = 0; /* no IDT: any fault triple-faults */
	sr->cr0 = HV_CR0_PE | HV_CR0_MP | HV_CR0_ET | HV_CR0_NE | HV_CR0_WP | HV_CR0_PG;
	sr->cr3 = TERN_GPA_PAGETABLES;
	sr->cr4 = HV_CR4_PAE | HV_CR4_OSFXSR | HV_CR4_OSXMMEXCPT;
	sr->efer = HV_EFER_LME | HV_EFER_LMA | HV_EFER_NXE;
	*xsave = 0;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & 1u))
		sr->cr4 |= HV_CR4_FSGSBASE;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_XSAVE)) {
		sr->cr4 |= HV_CR4_OSXSAVE;
		*xsave = (c & bit_AVX) ? 2 : 1;
	}
}

int hv_boot_vcpu(struct hv_vcpu *vcpu, const struct hv_elf_image *img, uint64_t mem_size)
{
	struct kvm_sregs sr;
	struct kvm_regs r;
	unsigned xsave;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	hv_boot_sregs(&sr, &xsave);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;
	if (xsave) {
		struct kvm_xcrs x = {.nr_xcrs = 1};
		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = HV_XCR0_X87 | HV_XCR0_SSE | (xsave == 2 ? HV_XCR0_AVX : 0);
		if (ioctl(vcpu->fd, KVM_SET_XCRS, &x) < 0)
			return -errno;
	}
	memset(&r, 0, sizeof(r));
	r.rip = img->entry;
	r.rsp = mem_size & ~0xfull;
	r.rdi = TERN_GPA_BOOT_INFO;
	r.rflags = TERN_ENTRY_RFLAGS;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

int hv_boot_setup(struct hv_vcpu *vcpu, struct hv_mem *mem, const struct hv_elf_image *img,
		  const char *cmdline, unsigned ncpus)
{
	int rc;

	if ((rc = hv_boot_pagetables(mem, img)) < 0 || (rc = hv_boot_gdt(mem)) < 0 ||
	    (rc = hv_boot_info(mem, img, cmdline, ncpus)) < 0)
		return rc;
	return hv_boot_vcpu(vcpu, img, mem->size);
}
