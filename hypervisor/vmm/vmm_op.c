/*
 * The long operation a vmm runs (one at a time): its progress and result,
 * shared between the I/O thread that runs it and the main thread that
 * reports it (status, progress records, the final reply) and cancels it.
 * Every field is under vmm->lock; each update wakes the main loop through
 * vmm->event_fd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

static void vmm_op_wake(struct vmm *vmm)
{
	uint64_t one = 1;

	if (write(vmm->event_fd, &one, sizeof(one)) < 0)
		log_debug("event_fd: %s", strerror(errno));
}

static uint64_t vmm_op_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

int vmm_op_begin(struct vmm *vmm, uint32_t kind, uint64_t bytes_total)
{
	struct vmm_op *op = calloc(1, sizeof(*op));
	int rc = 0;

	if (!op)
		return -ENOMEM;
	op->prog.op = kind;
	op->prog.phase = VMM_CTL_PHASE_PAGES;
	op->prog.bytes_total = bytes_total;
	clock_gettime(CLOCK_MONOTONIC, &op->t0);
	pthread_mutex_lock(&vmm->lock);
	if (vmm->op)
		rc = -EBUSY;
	else
		vmm->op = op;
	pthread_mutex_unlock(&vmm->lock);
	if (rc < 0)
		free(op);
	return rc;
}

int vmm_op_progress(struct vmm *vmm, uint32_t phase, uint64_t done, uint64_t written)
{
	int cancel;

	pthread_mutex_lock(&vmm->lock);
	vmm->op->prog.phase = phase;
	vmm->op->prog.bytes_done =
	    done < vmm->op->prog.bytes_total ? done : vmm->op->prog.bytes_total;
	vmm->op->prog.bytes_written = written;
	vmm->op->prog.elapsed_ms = vmm_op_ms_since(&vmm->op->t0);
	vmm->op->seq++;
	cancel = vmm->op->cancel;
	pthread_mutex_unlock(&vmm->lock);
	vmm_op_wake(vmm);
	return cancel;
}

void vmm_op_finish(struct vmm *vmm, int rc, const char *err)
{
	pthread_mutex_lock(&vmm->lock);
	vmm->op->finished = 1;
	vmm->op->rc = rc;
	if (rc == 0)
		vmm->op->prog.phase = VMM_CTL_PHASE_DONE;
	vmm->op->prog.elapsed_ms = vmm_op_ms_since(&vmm->op->t0);
	snprintf(vmm->op->err, sizeof(vmm->op->err), "%s", err ? err : "");
	vmm->op->seq++;
	pthread_mutex_unlock(&vmm->lock);
	vmm_op_wake(vmm);
}

/* The status's op follows a migration: phase PAGES while rounds run,
 * STATE once stopped, SYNC for the handover; bytes are the round's pages. */
static uint32_t vmm_op_mig_phase(uint32_t phase)
{
	switch (phase) {
	case VMM_CTL_MIG_CONNECT:
	case VMM_CTL_MIG_PRECOPY:
		return VMM_CTL_PHASE_PAGES;
	case VMM_CTL_MIG_STOPCOPY:
		return VMM_CTL_PHASE_STATE;
	case VMM_CTL_MIG_HANDOVER:
		return VMM_CTL_PHASE_SYNC;
	}
	return VMM_CTL_PHASE_DONE;
}

int vmm_op_mig_progress(struct vmm *vmm, const struct vmm_ctl_mig_progress *mp)
{
	int cancel;

	pthread_mutex_lock(&vmm->lock);
	vmm->op->mig = *mp;
	vmm->op->mig.elapsed_ms = vmm->op->prog.elapsed_ms = vmm_op_ms_since(&vmm->op->t0);
	vmm->op->prog.phase = vmm_op_mig_phase(mp->phase);
	vmm->op->prog.bytes_total = mp->round_pages << 12;
	vmm->op->prog.bytes_done = mp->round_done << 12;
	vmm->op->prog.bytes_written = mp->bytes_sent;
	vmm->op->seq++;
	cancel = vmm->op->cancel && !vmm->op->committed;
	pthread_mutex_unlock(&vmm->lock);
	vmm_op_wake(vmm);
	return cancel;
}

int vmm_op_commit(struct vmm *vmm)
{
	int cancel;

	pthread_mutex_lock(&vmm->lock);
	cancel = vmm->op->cancel;
	vmm->op->committed = !cancel;
	pthread_mutex_unlock(&vmm->lock);
	return cancel;
}

void vmm_op_mig_finish(struct vmm *vmm, const struct vmm_mig_result *res)
{
	pthread_mutex_lock(&vmm->lock);
	vmm->op->res = *res;
	vmm->op->mig.phase = VMM_CTL_MIG_DONE;
	pthread_mutex_unlock(&vmm->lock);
	vmm_op_finish(vmm, res->rec.err, res->msg);
}

int vmm_op_take(struct vmm *vmm, struct vmm_op_report *r)
{
	struct vmm_op *done = NULL;
	int rc = -ENOENT;

	pthread_mutex_lock(&vmm->lock);
	if (vmm->op) {
		r->prog = vmm->op->prog;
		r->seq = vmm->op->seq;
		r->finished = vmm->op->finished;
		r->mig = vmm->op->mig;
		if (r->finished)
			r->res = vmm->op->res;
		r->rc = vmm->op->rc;
		memcpy(r->err, vmm->op->err, sizeof(r->err));
		rc = r->finished;
		if (r->finished) {
			done = vmm->op;
			vmm->op = NULL;
		}
	}
	pthread_mutex_unlock(&vmm->lock);
	free(done);
	return rc;
}

int vmm_op_cancel(struct vmm *vmm)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&vmm->lock);
	if (vmm->op && !vmm->op->finished) {
		rc = vmm->op->committed ? -EBUSY : 0;
		vmm->op->cancel = !vmm->op->committed;
	}
	pthread_mutex_unlock(&vmm->lock);
	return rc;
}

void vmm_op_get(struct vmm *vmm, struct vmm_ctl_progress *prog)
{
	pthread_mutex_lock(&vmm->lock);
	if (vmm->op)
		*prog = vmm->op->prog;
	else
		memset(prog, 0, sizeof(*prog));
	pthread_mutex_unlock(&vmm->lock);
}
