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

int vmm_op_take(struct vmm *vmm, struct vmm_op_report *r)
{
	struct vmm_op *done = NULL;
	int rc = -ENOENT;

	pthread_mutex_lock(&vmm->lock);
	if (vmm->op) {
		r->prog = vmm->op->prog;
		r->seq = vmm->op->seq;
		r->finished = vmm->op->finished;
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
		vmm->op->cancel = 1;
		rc = 0;
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
