/*
 * Hypercalls (abi.h): the guest does `outl gpa, port`; the argument struct
 * at `gpa` is copied in through hv_mem_ptr(), the one bounds-checked way into
 * guest memory, and the result copied back. A bad pointer or length fails
 * the call with -TERN_EINVAL; it never touches host memory outside RAM.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hv_vcpu.h"
#include "log.h"
#include "vmm.h"

#define VMM_CONSOLE_CALL_MAX (1u << 20) /* bytes per console call */

static int vmm_arg_in(struct vmm *vmm, uint32_t gpa, void *dst, size_t n)
{
	const void *p = hv_mem_ptr(&vmm->vm->mem, gpa, n);

	if (!p)
		return -1;
	memcpy(dst, p, n);
	return 0;
}

static void vmm_arg_out(struct vmm *vmm, uint32_t gpa, const void *src, size_t n)
{
	void *p = hv_mem_ptr(&vmm->vm->mem, gpa, n);

	if (p)
		memcpy(p, src, n);
}

static void vmm_hc_console_write(struct vmm *vmm, uint32_t gpa)
{
	struct tern_hc_console_write a;

	if (vmm_arg_in(vmm, gpa, &a, sizeof(a)) < 0)
		return;
	const void *data =
	    a.len <= VMM_CONSOLE_CALL_MAX ? hv_mem_ptr(&vmm->vm->mem, a.data, a.len) : NULL;
	if (!data) {
		a.ret = -TERN_EINVAL;
	} else {
		vmm_console_out(vmm, data, a.len);
		a.ret = (int64_t)a.len;
	}
	vmm_arg_out(vmm, gpa, &a, sizeof(a));
}

static void vmm_hc_console_read(struct vmm *vmm, uint32_t gpa)
{
	struct tern_hc_console_read a;

	if (vmm_arg_in(vmm, gpa, &a, sizeof(a)) < 0)
		return;
	void *data =
	    a.len <= VMM_CONSOLE_CALL_MAX ? hv_mem_ptr(&vmm->vm->mem, a.data, a.len) : NULL;
	a.ret = data ? (int64_t)vmm_console_in(vmm, data, a.len) : -TERN_EINVAL;
	vmm_arg_out(vmm, gpa, &a, sizeof(a));
}

/* Blocks this vCPU thread until the deadline (guest monotonic ns), console
 * input, a net device's wake (vmm_net.c), or a kick (pause, stop): an idle
 * guest costs no host CPU. */
static void vmm_hc_yield(struct vmm *vmm, struct hv_vcpu *vcpu, uint32_t gpa)
{
	struct tern_hc_yield a;
	struct pollfd pfd[2 + TERN_NET_MAX] = {{vcpu->wake_fd, POLLIN, 0}, {-1, POLLIN, 0}};
	struct timespec ts, *tsp = NULL;

	if (vmm_arg_in(vmm, gpa, &a, sizeof(a)) < 0)
		return;
	if ((a.wait_set & TERN_READY_CONSOLE) && vmm->console_in_fd >= 0)
		pfd[1].fd = vmm->console_in_fd;
	if (a.deadline_ns != UINT64_MAX) {
		uint64_t now = vmm_guest_mono(vmm);
		uint64_t d = a.deadline_ns > now ? a.deadline_ns - now : 0;
		ts.tv_sec = (time_t)(d / 1000000000u);
		ts.tv_nsec = (long)(d % 1000000000u);
		tsp = &ts;
	}
	int nnet = vmm_net_yield_fds(vmm, a.wait_set, pfd + 2, TERN_NET_MAX);
	a.ready_set = 0;
	if (ppoll(pfd, (nfds_t)(2 + nnet), tsp, NULL) > 0) {
		if (pfd[1].revents)
			a.ready_set |= TERN_READY_CONSOLE;
		a.ready_set |= vmm_net_yield_ready(vmm, pfd + 2, nnet);
	}
	a.ret = 0;
	vmm_arg_out(vmm, gpa, &a, sizeof(a));
}

static void vmm_hc_net_kick(struct vmm *vmm, uint32_t gpa)
{
	struct tern_hc_net_kick a;

	if (vmm_arg_in(vmm, gpa, &a, sizeof(a)) < 0)
		return;
	a.ret = vmm_net_kick(vmm, a.dev);
	vmm_arg_out(vmm, gpa, &a, sizeof(a));
}

static int vmm_hc_halt(struct vmm *vmm, uint32_t gpa)
{
	struct tern_hc_halt a;

	if (vmm_arg_in(vmm, gpa, &a, sizeof(a)) < 0) {
		log_warn("domain %s: halt with a bad argument pointer 0x%x ignored", vmm->cfg.name,
			 gpa);
		return 0;
	}
	pthread_mutex_lock(&vmm->lock);
	vmm->halt_status = a.status;
	pthread_mutex_unlock(&vmm->lock);
	fprintf(stderr, "domain %s: halted status %lld\n", vmm->cfg.name, (long long)a.status);
	vmm_set_state(vmm, VMM_HALTED);
	return 1;
}

int vmm_hcall(struct vmm *vmm, struct hv_vcpu *vcpu, uint16_t port, uint32_t arg)
{
	switch (port) {
	case TERN_HC_CONSOLE_WRITE:
		vmm_hc_console_write(vmm, arg);
		return 0;
	case TERN_HC_CONSOLE_READ:
		vmm_hc_console_read(vmm, arg);
		return 0;
	case TERN_HC_YIELD:
		vmm_hc_yield(vmm, vcpu, arg);
		return 0;
	case TERN_HC_NET_KICK:
		vmm_hc_net_kick(vmm, arg);
		return 0;
	case TERN_HC_HALT:
		return vmm_hc_halt(vmm, arg);
	}
	return 0;
}
