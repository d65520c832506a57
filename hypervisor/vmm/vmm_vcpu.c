/* vCPU threads: the KVM_RUN loop, exit dispatch, pause and stop. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <x86intrin.h>

#include "hv_clock.h"
#include "hv_vcpu.h"
#include "log.h"
#include "vmm.h"

#define VMM_PAUSE_TIMEOUT_S 5

struct vmm_vcpu_arg {
	struct vmm *vmm;
	struct hv_vcpu *vcpu;
};

static struct vmm_vcpu_arg vmm_vcpu_args[HV_VCPU_MAX];

uint64_t vmm_guest_mono(struct vmm *vmm)
{
	return hv_clock_mono(vmm->clock, __rdtsc() + (uint64_t)vmm->tsc_offset);
}

enum vmm_state vmm_state_get(struct vmm *vmm)
{
	enum vmm_state st;

	pthread_mutex_lock(&vmm->lock);
	st = vmm->state;
	pthread_mutex_unlock(&vmm->lock);
	return st;
}

void vmm_set_state(struct vmm *vmm, enum vmm_state st)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vmm->lock);
	vmm->state = st;
	vmm->stop_req = 1;
	pthread_cond_broadcast(&vmm->cond);
	pthread_mutex_unlock(&vmm->lock);
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++)
		hv_vcpu_kick(vmm->vm->vcpus[i]);
	if (write(vmm->event_fd, &one, sizeof(one)) < 0)
		log_debug("event_fd: %s", strerror(errno));
}

/* Parks while paused. Returns 1 when the thread must end. */
static int vmm_vcpu_park(struct vmm *vmm, struct hv_vcpu *vcpu)
{
	int stop;

	pthread_mutex_lock(&vmm->lock);
	if (vmm->pause_req && !vmm->stop_req) {
		/* Finish the exit KVM still owes (e.g. a port write) so that
		 * the state read while paused is the state we resume from. */
		int rc = hv_vcpu_settle(vcpu);
		if (rc < 0)
			log_warn("domain %s: vcpu %u: settle: %s", vmm->cfg.name, vcpu->index,
				 strerror(-rc));
		vmm->parked++;
		pthread_cond_broadcast(&vmm->cond);
		while (vmm->pause_req && !vmm->stop_req)
			pthread_cond_wait(&vmm->cond, &vmm->lock);
		vmm->parked--;
		hv_vcpu_wake_clear(vcpu);
	}
	stop = vmm->stop_req;
	pthread_mutex_unlock(&vmm->lock);
	return stop;
}

static int vmm_vcpu_io(struct vmm *vmm, struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint16_t port = run->io.port;

	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4 && run->io.count == 1 &&
	    port >= TERN_HC_PORT_BASE && port <= TERN_HC_PORT_LAST) {
		uint32_t arg;
		memcpy(&arg, (uint8_t *)run + run->io.data_offset, sizeof(arg));
		return vmm_hcall(vmm, vcpu, port, arg);
	}
	return vmm_crash(vmm, vcpu, "unknown port 0x%x (%s, size %u, count %u)", port,
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size,
			 run->io.count);
}

/* Returns 0 to keep running, 1 to stop this vCPU. */
static int vmm_vcpu_exit(struct vmm *vmm, struct hv_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return vmm_vcpu_io(vmm, vcpu);
	case KVM_EXIT_SHUTDOWN:
		return vmm_crash(vmm, vcpu, "triple fault (KVM_EXIT_SHUTDOWN)");
	case KVM_EXIT_INTERNAL_ERROR:
		return vmm_crash(vmm, vcpu, "KVM internal error, suberror %u",
				 run->internal.suberror);
	case KVM_EXIT_FAIL_ENTRY:
		return vmm_crash(vmm, vcpu, "VM entry failed, hardware reason 0x%llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_MMIO:
		return vmm_crash(vmm, vcpu, "MMIO %s at gpa 0x%llx (len %u): no device there",
				 run->mmio.is_write ? "write" : "read",
				 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
	case KVM_EXIT_HLT:
		return vmm_crash(vmm, vcpu,
				 "hlt executed (guests must block in the yield hypercall)");
	}
	return vmm_crash(vmm, vcpu, "unhandled exit reason %u", run->exit_reason);
}

static void *vmm_vcpu_main(void *p)
{
	struct vmm_vcpu_arg *a = p;
	struct vmm *vmm = a->vmm;
	struct hv_vcpu *vcpu = a->vcpu;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, HV_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		if (vmm_vcpu_park(vmm, vcpu))
			break;
		int rc = hv_vcpu_run(vcpu);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc < 0) {
			vmm_crash(vmm, vcpu, "KVM_RUN: %s", strerror(-rc));
			break;
		}
		if (vmm_vcpu_exit(vmm, vcpu))
			break;
	}
	pthread_mutex_lock(&vmm->lock);
	vmm->threads_live--;
	pthread_cond_broadcast(&vmm->cond);
	pthread_mutex_unlock(&vmm->lock);
	return NULL;
}

int vmm_vcpu_start(struct vmm *vmm)
{
	sigset_t set, old;
	int rc = 0;

	/* Threads start with the kick signal blocked and unblock it
	 * themselves, so an early kick is never lost or fatal. */
	sigemptyset(&set);
	sigaddset(&set, HV_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++) {
		vmm_vcpu_args[i] = (struct vmm_vcpu_arg){vmm, vmm->vm->vcpus[i]};
		pthread_mutex_lock(&vmm->lock);
		vmm->threads_live++;
		pthread_mutex_unlock(&vmm->lock);
		rc = -pthread_create(&vmm->threads[i], NULL, vmm_vcpu_main, &vmm_vcpu_args[i]);
		if (rc < 0) {
			vmm->threads_live--;
			break;
		}
		vmm->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int vmm_vcpu_pause(struct vmm *vmm)
{
	struct timespec dl;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += VMM_PAUSE_TIMEOUT_S;
	pthread_mutex_lock(&vmm->lock);
	vmm->pause_req = 1;
	pthread_mutex_unlock(&vmm->lock);
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++)
		hv_vcpu_kick(vmm->vm->vcpus[i]);
	pthread_mutex_lock(&vmm->lock);
	while (vmm->parked < vmm->threads_live && rc == 0)
		rc = -pthread_cond_timedwait(&vmm->cond, &vmm->lock, &dl);
	if (rc == 0 && vmm->state == VMM_RUNNING)
		vmm->state = VMM_PAUSED;
	if (rc < 0) {
		/* A vCPU that does not stop must not stay half-paused. */
		vmm->pause_req = 0;
		pthread_cond_broadcast(&vmm->cond);
	}
	pthread_mutex_unlock(&vmm->lock);
	if (rc == 0)
		vmm_net_quiesce(vmm);
	return rc;
}

void vmm_vcpu_unpause(struct vmm *vmm)
{
	pthread_mutex_lock(&vmm->lock);
	vmm->pause_req = 0;
	if (vmm->state == VMM_PAUSED)
		vmm->state = VMM_RUNNING;
	pthread_cond_broadcast(&vmm->cond);
	pthread_mutex_unlock(&vmm->lock);
	vmm_net_resumed(vmm);
}

void vmm_vcpu_stop(struct vmm *vmm)
{
	pthread_mutex_lock(&vmm->lock);
	vmm->stop_req = 1;
	pthread_cond_broadcast(&vmm->cond);
	pthread_mutex_unlock(&vmm->lock);
	for (unsigned i = 0; vmm->vm && i < vmm->vm->nvcpus; i++)
		hv_vcpu_kick(vmm->vm->vcpus[i]);
	for (int i = 0; i < vmm->nthreads; i++)
		pthread_join(vmm->threads[i], NULL);
	vmm->nthreads = 0;
}
