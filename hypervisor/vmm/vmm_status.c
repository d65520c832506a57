/* The status record answered on CTL_VMM_STATUS (vmm_ctl.h; encoded by
 * vmm_msg.c, rendered for people by vmmctl). */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm.h"

const char *vmm_state_name(enum vmm_state st)
{
	return vmm_msg_state_name((uint32_t)st);
}

_Static_assert(VMM_CTL_RING_NERR == (int)VMM_NET_RING_NERR, "ring errors: one list");
_Static_assert(VMM_CTL_FIRST_FRAME_NONE == UINT64_MAX, "first frame: one 'unknown'");

/* Vif i's counters as the status record carries them; zeros (and no first
 * frame) while its backend is not set up. */
static void vmm_status_vif(struct vmm *vmm, unsigned i, struct vmm_ctl_vif *v)
{
	struct vmm_net_counters c;
	enum vmm_net_ring_err why = VMM_NET_RING_OK;
	int rx = 0;

	memset(v, 0, sizeof(*v));
	v->first_frame_us = VMM_CTL_FIRST_FRAME_NONE;
	if (vmm_net_counters_get(vmm, i, &c) < 0)
		return;
	v->rx_frames = c.rx_frames;
	v->rx_bytes = c.rx_bytes;
	v->tx_frames = c.tx_frames;
	v->tx_bytes = c.tx_bytes;
	v->rx_runt = c.rx_runt;
	v->rx_oversize = c.rx_oversize;
	v->rx_err = c.rx_err;
	v->tx_err = c.tx_err;
	v->tx_spoofed = c.tx_spoofed;
	v->kicks = c.kicks;
	v->wakes = c.wakes;
	v->first_frame_us = c.first_frame_us;
	if (vmm_net_ring_broken(vmm, i, &rx, &why) == 0 && why != VMM_NET_RING_OK) {
		v->ring = rx ? VMM_CTL_RING_RX : VMM_CTL_RING_TX;
		v->ring_err = (uint32_t)why;
	}
}

void vmm_status_get(struct vmm *vmm, struct vmm_status *st)
{
	struct vmm_ctl_status *r = &st->rec;
	struct timespec now;
	struct rusage ru;

	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_MONOTONIC, &now);
	getrusage(RUSAGE_SELF, &ru);
	r->id = r->pid = (int32_t)getpid();
	if (vmm->domid >= 0)
		r->id = vmm->domid;
	r->memory_mib = vmm->cfg.memory_mib;
	r->vcpus = vmm->cfg.vcpus;
	r->uptime_ns = (uint64_t)((now.tv_sec - vmm->started.tv_sec) * 1000000000LL +
				  (now.tv_nsec - vmm->started.tv_nsec));
	r->cpu_time_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
			 (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	r->console_bytes_out = __atomic_load_n(&vmm->bytes_out, __ATOMIC_RELAXED);
	vmm_console_dropped(vmm, &r->console_dropped_stdout, &r->console_dropped_log);
	vmm_op_get(vmm, &r->op);
	snprintf(st->name, sizeof(st->name), "%s", vmm->cfg.name);
	snprintf(st->kernel, sizeof(st->kernel), "%s", vmm->cfg.kernel);
	snprintf(st->extra, sizeof(st->extra), "%s", vmm->cfg.extra);
	r->nvifs = vmm->cfg.nvifs < VMM_CTL_VIF_MAX ? vmm->cfg.nvifs : VMM_CTL_VIF_MAX;
	for (unsigned i = 0; i < r->nvifs; i++) {
		snprintf(st->vif[i], sizeof(st->vif[i]), "%s", vmm->cfg.vif[i].text);
		vmm_status_vif(vmm, i, &st->vifc[i]);
	}
	pthread_mutex_lock(&vmm->lock);
	r->state = (uint32_t)vmm->state;
	if (vmm->state == VMM_HALTED)
		r->halt_status = vmm->halt_status;
	if (vmm->state == VMM_CRASHED)
		snprintf(st->crash, sizeof(st->crash), "%s", vmm->crash);
	pthread_mutex_unlock(&vmm->lock);
}
