/*
 * A KVM virtual machine: the /dev/kvm and VM fds, guest RAM registered as
 * memory slot 0, and its vCPUs.
 *
 * Lifetime: hv_vm_new() -> hv_vcpu_new() for each vCPU -> run -> hv_vm_free()
 * (which also frees the vCPUs). No in-kernel irqchip: Tern guests take no
 * interrupts, they block in the yield hypercall.
 */
#ifndef HV_VM_H
#define HV_VM_H

#include <stdint.h>

#include "hv_mem.h"

#define HV_VCPU_MAX 8u
#define HV_MEM_SLOT 0u

struct hv_vcpu;

struct hv_vm {
	int kvm_fd;
	int vm_fd;
	struct hv_mem mem;
	int run_size;	   /* mmap size of struct kvm_run */
	int dirty_logging; /* KVM_MEM_LOG_DIRTY_PAGES set on the slot */
	int dirty_manual;  /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled */
	unsigned nvcpus;
	struct hv_vcpu *vcpus[HV_VCPU_MAX];
};

/* Opens /dev/kvm, creates the VM and `mem_size` bytes of RAM (a multiple of
 * 2 MiB; HV_MEM_* flags), and registers it. Returns NULL with errno set
 * (ENOENT/EACCES for /dev/kvm, ENOSYS for an unusable KVM API version). */
struct hv_vm *hv_vm_new(uint64_t mem_size, unsigned mem_flags);
/* Frees vCPUs, slot, RAM and fds. NULL is fine. */
void hv_vm_free(struct hv_vm *vm);
/* (Re)registers slot 0 with or without KVM_MEM_LOG_DIRTY_PAGES. */
int hv_vm_set_slot(struct hv_vm *vm, int log_dirty);

#endif
