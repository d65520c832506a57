/*
 * A vCPU: its fd, the mmap()ed struct kvm_run, and a way to get it out of
 * KVM_RUN from another thread.
 *
 * One thread per vCPU calls hv_vcpu_run() in a loop. hv_vcpu_kick() (any
 * thread) sets run->immediate_exit and sends HV_KICK_SIGNAL to the vCPU
 * thread, so KVM_RUN returns -EINTR whether the thread is inside KVM_RUN or
 * about to enter it; it also writes `wake_fd`, an eventfd that the vCPU
 * thread polls while it blocks outside KVM_RUN (the yield hypercall).
 * Callers keep their own request flags and must set them before kicking.
 */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include <pthread.h>
#include <signal.h>

struct hv_vm;
struct kvm_run;

#define HV_KICK_SIGNAL SIGUSR1

struct hv_vcpu {
	struct hv_vm *vm;
	unsigned index;
	int fd;
	int wake_fd; /* eventfd, readable after a kick */
	struct kvm_run *run;
	pthread_t thread; /* set by hv_vcpu_run() */
	int has_thread;
};

/* Installs the no-op HV_KICK_SIGNAL handler (no SA_RESTART). Call once per
 * process before any vCPU thread starts. Returns 0 or -errno. */
int hv_vcpu_signal_init(void);
/* Creates vCPU `index` (< HV_VCPU_MAX, in order) with the host's supported
 * CPUID and adds it to vm->vcpus. Returns NULL with errno set. */
struct hv_vcpu *hv_vcpu_new(struct hv_vm *vm, unsigned index);
/* Called by hv_vm_free(); NULL is fine. */
void hv_vcpu_free(struct hv_vcpu *vcpu);
/* One KVM_RUN from the calling thread. Returns 0 with vcpu->run->exit_reason
 * set, -EINTR after a kick (immediate_exit is cleared again), or -errno. */
int hv_vcpu_run(struct hv_vcpu *vcpu);
/* Makes the vCPU thread leave KVM_RUN (or its next KVM_RUN) and wakes
 * wake_fd. Safe from any thread, also before the vCPU thread started. */
void hv_vcpu_kick(struct hv_vcpu *vcpu);
/* Completes an exit the vCPU has not finished (port I/O, MMIO) without
 * running guest code, so that register state read next is consistent.
 * Call from the vCPU thread after an exit and before reading state. */
int hv_vcpu_settle(struct hv_vcpu *vcpu);
/* Drains wake_fd. */
void hv_vcpu_wake_clear(struct hv_vcpu *vcpu);

#endif
