/*
 * The complete architectural state of an x86-64 vCPU, as KVM exposes it:
 * everything a fresh VM needs to continue the guest exactly where it was.
 *
 * The struct is plain data made of KVM UAPI structures (stable kernel ABI),
 * so the save/restore stream carries it as one fixed-size blob. EFER and the
 * control registers live in sregs (KVM_GET_MSRS was seen to return 0 for EFER
 * on PVM); the TSC is not among the MSRs but captured separately as `tsc`
 * through hv_clock (the clock page rewrite keeps guest time right whatever
 * the destination TSC is).
 */
#ifndef HV_VCPU_STATE_H
#define HV_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdint.h>

struct hv_vcpu;

#define HV_VCPU_STATE_VERSION 1u
#define HV_MSR_MAX 24u

struct hv_vcpu_state {
	uint32_t version; /* HV_VCPU_STATE_VERSION */
	uint32_t nmsrs;
	uint64_t tsc; /* guest TSC when captured */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;   /* only used where KVM lacks XSAVE */
	uint32_t xsave[1024]; /* struct kvm_xsave's region (4 KiB) */
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp_state;
	uint32_t has_xsave;
	uint32_t pad;
	struct kvm_msr_entry msrs[HV_MSR_MAX];
};

/* Captures the state. The vCPU must not be running (its thread parked after
 * hv_vcpu_settle()). Returns 0 or -errno of the failing ioctl. */
int hv_vcpu_state_get(struct hv_vcpu *vcpu, struct hv_vcpu_state *st);
/* Loads state captured by hv_vcpu_state_get(), possibly in another VM or
 * process. Rejects a wrong version or nmsrs with -EINVAL. */
int hv_vcpu_state_set(struct hv_vcpu *vcpu, const struct hv_vcpu_state *st);

#endif
