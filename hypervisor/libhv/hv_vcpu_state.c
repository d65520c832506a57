#include "hv_vcpu_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hv_clock.h"
#include "hv_vcpu.h"
#include "hv_vm.h"
#include "log.h"

_Static_assert(sizeof(struct kvm_xsave) == sizeof(((struct hv_vcpu_state *)0)->xsave),
	       "KVM_GET_XSAVE writes exactly struct kvm_xsave");

/* Architectural MSRs a 64-bit guest can change that sregs does not carry.
 * FS/GS base are in sregs; EFER too. Only those KVM lists are saved. */
static const uint32_t hv_state_msrs[] = {
    0x00000174, /* SYSENTER_CS */
    0x00000175, /* SYSENTER_ESP */
    0x00000176, /* SYSENTER_EIP */
    0x00000277, /* PAT */
    0xc0000081, /* STAR */
    0xc0000082, /* LSTAR */
    0xc0000083, /* CSTAR */
    0xc0000084, /* SYSCALL_MASK (FMASK) */
    0xc0000102, /* KERNEL_GS_BASE */
    0xc0000103, /* TSC_AUX */
    0x000001a0, /* MISC_ENABLE */
};

/* KVM_GET/SET_MSRS buffer (kvm_msrs ends in a flexible array). */
union hv_msr_buf {
	struct kvm_msrs hdr;
	uint8_t raw[sizeof(struct kvm_msrs) + HV_MSR_MAX * sizeof(struct kvm_msr_entry)];
};

union hv_msr_list {
	struct kvm_msr_list hdr;
	uint8_t raw[sizeof(struct kvm_msr_list) + 1024 * sizeof(uint32_t)];
};

static int hv_state_msr_supported(struct hv_vcpu *vcpu, uint32_t idx)
{
	union hv_msr_list list;

	list.hdr.nmsrs = 1024;
	if (ioctl(vcpu->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
		return 1; /* unknown: try it, GET_MSRS tells */
	for (uint32_t i = 0; i < list.hdr.nmsrs && i < 1024; i++)
		if (list.hdr.indices[i] == idx)
			return 1;
	return 0;
}

static int hv_state_get_msrs(struct hv_vcpu *vcpu, struct hv_vcpu_state *st)
{
	union hv_msr_buf b;
	uint32_t n = 0;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(hv_state_msrs) / sizeof(hv_state_msrs[0]); i++)
		if (hv_state_msr_supported(vcpu, hv_state_msrs[i]))
			b.hdr.entries[n++].index = hv_state_msrs[i];
	b.hdr.nmsrs = n;
	int got = ioctl(vcpu->fd, KVM_GET_MSRS, &b);
	if (got < 0)
		return -errno;
	/* KVM stops at the first MSR it cannot read; keep what it read. */
	st->nmsrs = (uint32_t)got;
	memcpy(st->msrs, b.hdr.entries, sizeof(st->msrs[0]) * (size_t)got);
	return 0;
}

static int hv_state_ioctl(struct hv_vcpu *vcpu, unsigned long req, void *arg, const char *what)
{
	if (ioctl(vcpu->fd, req, arg) < 0) {
		int err = errno;
		log_debug("hv_vcpu %u: %s: %s", vcpu->index, what, strerror(err));
		return -err;
	}
	return 0;
}

int hv_vcpu_state_get(struct hv_vcpu *vcpu, struct hv_vcpu_state *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->version = HV_VCPU_STATE_VERSION;
	st->has_xsave = ioctl(vcpu->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	if ((rc = hv_state_ioctl(vcpu, KVM_GET_REGS, &st->regs, "GET_REGS")) ||
	    (rc = hv_state_ioctl(vcpu, KVM_GET_SREGS, &st->sregs, "GET_SREGS")))
		return rc;
	if (st->has_xsave) {
		if ((rc = hv_state_ioctl(vcpu, KVM_GET_XSAVE, st->xsave, "GET_XSAVE")) ||
		    (rc = hv_state_ioctl(vcpu, KVM_GET_XCRS, &st->xcrs, "GET_XCRS")))
			return rc;
	} else if ((rc = hv_state_ioctl(vcpu, KVM_GET_FPU, &st->fpu, "GET_FPU"))) {
		return rc;
	}
	if ((rc = hv_state_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &st->events, "GET_VCPU_EVENTS")) ||
	    (rc = hv_state_ioctl(vcpu, KVM_GET_DEBUGREGS, &st->debugregs, "GET_DEBUGREGS")) ||
	    (rc = hv_state_ioctl(vcpu, KVM_GET_MP_STATE, &st->mp_state, "GET_MP_STATE")))
		return rc;
	if ((rc = hv_state_get_msrs(vcpu, st)) < 0)
		return rc;
	return hv_clock_guest_tsc(vcpu, &st->tsc);
}

static int hv_state_set_msrs(struct hv_vcpu *vcpu, const struct hv_vcpu_state *st)
{
	union hv_msr_buf b;

	memset(&b, 0, sizeof(b));
	b.hdr.nmsrs = st->nmsrs;
	memcpy(b.hdr.entries, st->msrs, sizeof(st->msrs[0]) * st->nmsrs);
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, &b);
	if (n < 0)
		return -errno;
	return (uint32_t)n == st->nmsrs ? 0 : -EINVAL;
}

int hv_vcpu_state_set(struct hv_vcpu *vcpu, const struct hv_vcpu_state *st)
{
	int rc;

	if (st->version != HV_VCPU_STATE_VERSION || st->nmsrs > HV_MSR_MAX)
		return -EINVAL;
	/* Order as QEMU does: sregs (modes) before the state that depends on
	 * them, mp_state before events. */
	if ((rc = hv_state_ioctl(vcpu, KVM_SET_SREGS, (void *)&st->sregs, "SET_SREGS")) ||
	    (rc = hv_state_ioctl(vcpu, KVM_SET_REGS, (void *)&st->regs, "SET_REGS")))
		return rc;
	if (st->has_xsave) {
		if ((rc = hv_state_ioctl(vcpu, KVM_SET_XCRS, (void *)&st->xcrs, "SET_XCRS")) ||
		    (rc = hv_state_ioctl(vcpu, KVM_SET_XSAVE, (void *)st->xsave, "SET_XSAVE")))
			return rc;
	} else if ((rc = hv_state_ioctl(vcpu, KVM_SET_FPU, (void *)&st->fpu, "SET_FPU"))) {
		return rc;
	}
	if ((rc = hv_state_set_msrs(vcpu, st)) < 0)
		return rc;
	if ((rc = hv_state_ioctl(vcpu, KVM_SET_MP_STATE, (void *)&st->mp_state, "SET_MP_STATE")) ||
	    (rc = hv_state_ioctl(vcpu, KVM_SET_VCPU_EVENTS, (void *)&st->events,
				 "SET_VCPU_EVENTS")) ||
	    (rc = hv_state_ioctl(vcpu, KVM_SET_DEBUGREGS, (void *)&st->debugregs, "SET_DEBUGREGS")))
		return rc;
	return hv_clock_set_guest_tsc(vcpu, st->tsc);
}
