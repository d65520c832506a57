/* Crash reports: the reason and the vCPU's registers, printed once. */
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hv_vcpu.h"
#include "vmm.h"

static int vmm_crash_regs(struct hv_vcpu *vcpu, char *buf, size_t cap)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return snprintf(buf, cap, "  vcpu %u: registers unavailable\n", vcpu->index);
	return snprintf(buf, cap,
			"  vcpu %u: rip=0x%016llx rsp=0x%016llx rflags=0x%016llx\n"
			"  cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n"
			"  cs=0x%04x ss=0x%04x fs.base=0x%llx gs.base=0x%llx\n"
			"  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n"
			"  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx r8 =0x%016llx\n"
			"  r9 =0x%016llx r10=0x%016llx r11=0x%016llx r12=0x%016llx\n"
			"  r13=0x%016llx r14=0x%016llx r15=0x%016llx\n",
			vcpu->index, r.rip, r.rsp, r.rflags, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
			s.cs.selector, s.ss.selector, s.fs.base, s.gs.base, r.rax, r.rbx, r.rcx,
			r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
			r.r15);
}

int vmm_crash(struct vmm *vmm, struct hv_vcpu *vcpu, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&vmm->lock);
	if (vmm->state == VMM_CRASHED || vmm->state == VMM_HALTED) {
		pthread_mutex_unlock(&vmm->lock);
		return 1; /* another vCPU got there first */
	}
	n = snprintf(vmm->crash, sizeof(vmm->crash), "domain %s: crashed: %s\n", vmm->cfg.name,
		     reason);
	if (n > 0 && (size_t)n < sizeof(vmm->crash))
		vmm_crash_regs(vcpu, vmm->crash + n, sizeof(vmm->crash) - (size_t)n);
	pthread_mutex_unlock(&vmm->lock);
	fputs(vmm->crash, stderr);
	fflush(stderr);
	vmm_set_state(vmm, VMM_CRASHED);
	return 1;
}
