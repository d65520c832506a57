/*
 * The source side of a live migration (docs/migration.md), a job on the
 * I/O thread in steps:
 *
 *   CONNECT   TLS 2 client handshake, HEADER, dirty log on (and cleared)
 *   ROUND     pre-copy rounds while the guest runs: round 1 every non-zero
 *             page, then the pages the dirty log reported; one step sends
 *             for at most VMM_MIG_STEP_MS, so progress, status and cancel
 *             are served in between
 *   STOP      stop-and-copy, in one go: pause, last dirty-log sync, last
 *             pages, vCPU and device state, END; then READY / COMMIT /
 *             RUNNING (vmm_mig_handover.c)
 *
 * The rounds end when the dirty bytes left, at the throughput measured in
 * the round just sent, fit the downtime target and stopped shrinking (or
 * are tiny), or after max_rounds, or once 3 x RAM went out. A guest that
 * dirties nearly as fast as the link sends is throttled: its vCPUs are
 * held for a growing share of each step. Nothing touches the domain's
 * state before COMMIT: on failure or cancel the vCPUs resume (unless they
 * were paused before), the dirty log goes off, and the domain runs on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_dirty_log.h"
#include "hv_stream.h"
#include "hv_vcpu_state.h"
#include "log.h"
#include "vmm_mig.h"
#include "vmm_mig_int.h"

#define VMM_MIG_STEP_MS 20
#define VMM_MIG_THROTTLE_MS 500
/* Dirty data left that is always worth stopping for: ~1 ms of sending. */
#define VMM_MIG_TINY_US 1000

uint64_t vmm_mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t vmm_mig_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int vmm_mig_cancelled(void *arg)
{
	struct vmm *vmm = arg;
	int c;

	if (__atomic_load_n(&vmm->stopping, __ATOMIC_ACQUIRE))
		return 1;
	pthread_mutex_lock(&vmm->lock);
	c = vmm->op && vmm->op->cancel && !vmm->op->committed;
	pthread_mutex_unlock(&vmm->lock);
	return c;
}

int vmm_mig_fail(struct vmm_mig_job *m, int rc, const char *fmt, ...)
{
	va_list ap;

	if (m->err[0]) /* the first cause is the one to report */
		return rc;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return rc;
}

void vmm_mig_report(struct vmm_mig_job *m, uint32_t phase)
{
	struct vmm_ctl_mig_progress p = {
	    .phase = phase,
	    .round = m->round,
	    .mem_bytes = m->vmm->vm->mem.size,
	    .bytes_sent = m->out.offset,
	    .round_done = m->round_done < m->round_pages ? m->round_done : m->round_pages,
	    .round_pages = m->round_pages,
	    .dirty_rate_bps = m->dirty_rate,
	    .throughput_bps = m->throughput,
	    .throttle_pct = m->throttle,
	};

	if (vmm_op_mig_progress(m->vmm, &p))
		m->cancel = 1;
}

/* All of RAM marked: round 1, and a non-live stop-and-copy. */
static void vmm_mig_mark_all(struct vmm_mig_job *m)
{
	uint64_t npages = hv_mem_npages(&m->vmm->vm->mem);

	memset(m->bitmap, 0xff, m->words * 8);
	if (npages % 64)
		m->bitmap[m->words - 1] = (1ull << (npages % 64)) - 1;
}

static int vmm_mig_header(struct vmm_mig_job *m)
{
	char *cfg = malloc(HV_STREAM_CFG_MAX + 1);
	int rc = -ENOMEM;

	if (!cfg)
		return vmm_mig_fail(m, rc, "%s", strerror(ENOMEM));
	if ((rc = hv_domcfg_format(&m->vmm->cfg, cfg, HV_STREAM_CFG_MAX + 1)) < 0)
		vmm_mig_fail(m, rc, "config too large for the stream");
	else if ((rc = hv_stream_save_header_live(&m->out, m->vmm->vm->mem.size, m->vmm->vm->nvcpus,
						  cfg)) < 0)
		vmm_mig_fail(m, rc, "send: %s", strerror(-rc));
	free(cfg);
	return rc;
}

static int vmm_mig_connect(struct vmm_mig_job *m)
{
	struct vmm *vmm = m->vmm;
	int rc;

	m->conn.cancelled = vmm_mig_cancelled;
	m->conn.arg = vmm;
	if ((rc = vmm_mig_conn_open(&m->conn, m->fd, m->req.key, 0, m->err, sizeof(m->err))) < 0)
		return rc;
	if ((rc = hv_stream_out_init(&m->out, vmm_mig_conn_write_cb, &m->conn)) < 0)
		return vmm_mig_fail(m, rc, "%s", strerror(-rc));
	hv_stream_out_nohash(&m->out);
	if ((rc = vmm_mig_header(m)) < 0 || (rc = hv_stream_out_flush(&m->out)) < 0)
		return vmm_mig_fail(m, rc, "send: %s", strerror(-rc));
	if (!(m->req.flags & VMM_CTL_MIG_F_LIVE)) {
		m->step = VMM_MIG_STEP_STOP;
		return 0;
	}
	/* Logging starts before round 1 reads a page: a write from now on
	 * is in the next round's set. */
	if ((rc = hv_dirty_log_start(vmm->vm)) < 0)
		return vmm_mig_fail(m, rc, "dirty log: %s", strerror(-rc));
	m->logging = 1;
	int64_t n = hv_dirty_log_sync(vmm->vm, m->bitmap);
	if (n < 0)
		return vmm_mig_fail(m, (int)n, "dirty log: %s", strerror((int)-n));
	vmm_net_dirty_take(vmm, m->bitmap, m->words); /* forgotten: round 1 sends all */
	vmm_mig_mark_all(m);
	m->round = 1;
	m->round_pages = hv_mem_npages(&vmm->vm->mem);
	m->round_t0 = vmm_mig_now_ns();
	m->round_bytes0 = m->out.offset;
	m->step = VMM_MIG_STEP_ROUND;
	return 0;
}

/* Sends the marked pages from the cursor on until the round is done or
 * the deadline passes. Returns 1 at the round's end, 0 or -errno. */
int vmm_mig_send_marked(struct vmm_mig_job *m, int skip_zero, uint64_t deadline_ns)
{
	uint64_t pfns[HV_STREAM_LIVE_BATCH];
	uint32_t n = 0;
	int rc;

	while (m->cursor < m->words * 64) {
		uint64_t w = m->bitmap[m->cursor / 64] >> (m->cursor % 64);
		if (!w) {
			m->cursor = (m->cursor / 64 + 1) * 64;
		} else {
			unsigned b = (unsigned)__builtin_ctzll(w);
			pfns[n++] = m->cursor + b;
			m->cursor += b + 1;
		}
		if (n == HV_STREAM_LIVE_BATCH || (n && m->cursor >= m->words * 64)) {
			rc = hv_stream_save_live_pages(&m->out, &m->stage, &m->vmm->vm->mem,
						       &m->dig, pfns, n, skip_zero, &m->pages);
			if (rc < 0)
				return vmm_mig_fail(m, rc, "send: %s", strerror(-rc));
			m->round_done += n;
			n = 0;
			if (deadline_ns && vmm_mig_now_ns() >= deadline_ns)
				return 0;
		}
	}
	return 1;
}

/* The round's numbers, kept for the result. */
static void vmm_mig_round_done(struct vmm_mig_job *m, uint64_t now)
{
	struct vmm_ctl_mig_round *r = &m->res.round[m->round - 1];
	uint64_t ns = now - m->round_t0, bytes = m->out.offset - m->round_bytes0;

	if (m->round <= VMM_CTL_MIG_ROUND_MAX)
		*r = (struct vmm_ctl_mig_round){m->round_done, bytes, ns / 1000000};
	m->throughput = ns ? bytes * 1000000000ull / ns : bytes;
}

/* After a round: sync the dirty log, measure, decide. 1: stop and copy. */
static int vmm_mig_next_round(struct vmm_mig_job *m)
{
	uint64_t now = vmm_mig_now_ns(), ns = now - m->round_t0;
	uint64_t prev = m->round_pages;
	int64_t n;

	vmm_mig_round_done(m, now);
	if ((n = hv_dirty_log_sync(m->vmm->vm, m->bitmap)) < 0)
		return vmm_mig_fail(m, (int)n, "dirty log: %s", strerror((int)-n));
	/* Frames the net threads put into guest RAM: not in KVM's log. */
	vmm_net_dirty_take(m->vmm, m->bitmap, m->words);
	n = (int64_t)hv_dirty_log_count(m->bitmap, m->words);
	m->dirty_rate = ns ? (uint64_t)n * HV_PAGE_SIZE * 1000000000ull / ns : 0;
	uint64_t left_us =
	    m->throughput ? (uint64_t)n * HV_PAGE_SIZE * 1000000ull / m->throughput : UINT64_MAX;
	uint64_t target_us = (uint64_t)m->req.downtime_ms * 1000;
	int fits = left_us <= target_us && (left_us <= VMM_MIG_TINY_US || (uint64_t)n * 2 > prev);
	if (fits || m->round >= m->req.max_rounds || m->out.offset >= 3 * m->vmm->vm->mem.size)
		return 1;
	/* Not converging: the guest dirties at most of the link's speed. */
	if (m->round >= 2 && m->dirty_rate * 5 >= m->throughput * 4 && m->throttle < 90)
		m->throttle += m->throttle ? 20 : 30;
	m->round++;
	m->round_pages = (uint64_t)n;
	m->round_done = 0;
	m->cursor = 0;
	m->round_t0 = now;
	m->round_bytes0 = m->out.offset;
	return 0;
}

/* The throttle's duty cycle: the vCPUs are held for throttle_pct of each
 * period while sending goes on. The period is long because a guest that
 * paces itself by the clock (dirtier catches up to 100 ms of missed
 * writes) must lose time, not just be delayed. Returns the time the
 * current part of the period ends. */
static uint64_t vmm_mig_throttle(struct vmm_mig_job *m, uint64_t now)
{
	uint64_t period = VMM_MIG_THROTTLE_MS * 1000000ull;
	uint64_t pos = (now - m->t0) % period, held = period / 100 * m->throttle;
	int hold = m->throttle && !m->was_paused && pos < held;

	if (hold && !m->held && vmm_vcpu_pause(m->vmm) == 0)
		m->held = 1;
	else if (!hold && m->held) {
		vmm_vcpu_unpause(m->vmm);
		m->held = 0;
	}
	return now - pos + (pos < held ? held : period);
}

static int vmm_mig_round_step(struct vmm_mig_job *m)
{
	uint64_t t0 = vmm_mig_now_ns(), deadline = t0 + VMM_MIG_STEP_MS * 1000000ull;
	int rc;

	if (m->req.bandwidth_mbps) {
		uint64_t bytes = m->out.offset - m->round_bytes0;
		uint64_t due_ns = bytes * 1000000000ull / ((uint64_t)m->req.bandwidth_mbps << 20);
		if (m->round_t0 + due_ns > t0) { /* ahead of the cap: wait a little */
			uint64_t wait = m->round_t0 + due_ns - t0;
			struct timespec ts = {0, (long)(wait < 5000000 ? wait : 5000000)};
			vmm_mig_throttle(m, t0);
			nanosleep(&ts, NULL);
			return 0;
		}
		deadline = t0 + 5000000ull; /* small steps keep the rate even */
	}
	uint64_t part_end = vmm_mig_throttle(m, t0);
	rc = vmm_mig_send_marked(m, m->round == 1, part_end < deadline ? part_end : deadline);
	if (rc == 1 && (rc = vmm_mig_next_round(m)) == 1)
		m->step = VMM_MIG_STEP_STOP;
	return rc < 0 ? rc : 0;
}

/* Lets go of throttled vCPUs (the stop-and-copy pauses them itself). */
static void vmm_mig_unthrottle(struct vmm_mig_job *m)
{
	if (m->held)
		vmm_vcpu_unpause(m->vmm);
	m->held = 0;
}

/* The end, whatever it is: the domain as the outcome says. */
static int vmm_mig_end(struct vmm_mig_job *m, int rc)
{
	struct vmm_ctl_mig_result *r = &m->res.rec;
	struct vmm *vmm = m->vmm;

	vmm_mig_unthrottle(m);
	if (m->logging)
		hv_dirty_log_stop(vmm->vm);
	m->logging = 0;
	if (m->step == VMM_MIG_STEP_ROUND && m->round) /* the round cut short */
		vmm_mig_round_done(m, vmm_mig_now_ns());
	if (rc == 0) {
		r->outcome = VMM_CTL_MIG_OK;
	} else if (m->committed) {
		r->outcome = VMM_CTL_MIG_AMBIGUOUS;
	} else {
		r->outcome = rc == -ECANCELED ? VMM_CTL_MIG_CANCELLED : VMM_CTL_MIG_FAILED;
		if (!m->was_paused)
			vmm_vcpu_unpause(vmm);
	}
	r->err = rc;
	r->total_ms = (vmm_mig_now_ns() - m->t0) / 1000000;
	r->bytes = m->out.offset;
	r->rounds = m->round + (m->stopped ? 1 : 0);
	vmm_mig_conn_close(&m->conn, rc == 0);
	m->fd = -1;
	vmm_mig_result_msg(m, rc);
	return 1;
}

static int vmm_mig_step(struct vmm_io_job *job)
{
	struct vmm_mig_job *m = (struct vmm_mig_job *)job;
	int rc = 0;

	if (!m->cpu0)
		m->cpu0 = vmm_mig_thread_cpu_ns();
	vmm_mig_report(m, m->step == VMM_MIG_STEP_CONNECT ? VMM_CTL_MIG_CONNECT
			  : m->step == VMM_MIG_STEP_ROUND ? VMM_CTL_MIG_PRECOPY
							  : VMM_CTL_MIG_STOPCOPY);
	if (m->cancel)
		return vmm_mig_end(m, vmm_mig_fail(m, -ECANCELED, "a cancel was asked for"));
	switch (m->step) {
	case VMM_MIG_STEP_CONNECT:
		rc = vmm_mig_connect(m);
		break;
	case VMM_MIG_STEP_ROUND:
		rc = vmm_mig_round_step(m);
		break;
	case VMM_MIG_STEP_STOP:
		vmm_mig_unthrottle(m);
		return vmm_mig_end(m, vmm_mig_stop_copy(m));
	}
	return rc < 0 ? vmm_mig_end(m, rc) : 0;
}

static void vmm_mig_free(struct vmm_mig_job *m)
{
	if (m->logging)
		hv_dirty_log_stop(m->vmm->vm);
	vmm_mig_conn_close(&m->conn, 0);
	if (m->fd >= 0)
		close(m->fd);
	hv_stream_out_fini(&m->out);
	hv_stream_live_stage_fini(&m->stage);
	hv_pgdig_fini(&m->dig);
	free(m->bitmap);
	free(m->fresh);
	free(m);
}

static void vmm_mig_done(struct vmm_io_job *job)
{
	struct vmm_mig_job *m = (struct vmm_mig_job *)job;
	struct vmm *vmm = m->vmm;
	static struct vmm_mig_result res; /* I/O thread only */

	res = m->res;
	vmm_mig_free(m);
	vmm_op_mig_finish(vmm, &res);
}

static void vmm_mig_abort(struct vmm_io_job *job)
{
	struct vmm_mig_job *m = (struct vmm_mig_job *)job;

	vmm_mig_fail(m, -ECANCELED, "the vmm is stopping");
	vmm_mig_end(m, -ECANCELED);
	vmm_mig_done(job);
}

static struct vmm_mig_job *vmm_mig_new(struct vmm *vmm, const struct vmm_ctl_migrate *req,
				       const char *peer, int fd)
{
	struct vmm_mig_job *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->job =
	    (struct vmm_io_job){.step = vmm_mig_step, .done = vmm_mig_done, .abort = vmm_mig_abort};
	m->vmm = vmm;
	m->req = *req;
	if (!m->req.downtime_ms)
		m->req.downtime_ms = VMM_CTL_MIG_DOWNTIME_MS_DEFAULT;
	if (!m->req.max_rounds)
		m->req.max_rounds = VMM_CTL_MIG_ROUNDS_MAX;
	snprintf(m->peer, sizeof(m->peer), "%s", peer[0] ? peer : "the destination");
	m->fd = fd;
	m->conn.fd = -1;
	m->t0 = vmm_mig_now_ns();
	m->words = hv_dirty_log_words(vmm->vm);
	m->bitmap = calloc(m->words, 8);
	m->fresh = calloc(m->words, 8);
	if (!m->bitmap || !m->fresh || hv_stream_live_stage_init(&m->stage) < 0 ||
	    hv_pgdig_init(&m->dig, hv_mem_npages(&vmm->vm->mem)) < 0) {
		m->fd = -1;
		vmm_mig_free(m);
		return NULL;
	}
	return m;
}

int vmm_mig_start(struct vmm *vmm, const struct vmm_ctl_migrate *req, const char *peer, int fd,
		  char *err, size_t errlen)
{
	struct vmm_mig_job *m = vmm_mig_new(vmm, req, peer, fd);
	int rc;

	if (!m) {
		close(fd);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	m->was_paused = vmm_state_get(vmm) == VMM_PAUSED;
	if ((rc = vmm_op_begin(vmm, VMM_CTL_OP_MIGRATE, vmm->vm->mem.size)) < 0) {
		snprintf(err, errlen, "another operation is running");
		vmm_mig_free(m);
		return rc;
	}
	if ((rc = vmm_io_submit(vmm->io, &m->job)) < 0) {
		struct vmm_op_report r;
		snprintf(err, errlen, "the I/O thread is busy");
		vmm_op_finish(vmm, rc, err);
		vmm_op_take(vmm, &r);
		vmm_mig_free(m);
		return rc;
	}
	return 0;
}
