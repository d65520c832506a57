/*
 * The source's stop-and-copy and handover (docs/migration.md): everything
 * between the vCPUs stopping and RUNNING arriving is downtime, so this is
 * one uninterrupted piece, every part timed (struct vmm_mig_split):
 *
 *   pause     the vCPUs park (they finish any pending exit first)
 *   sync      the last dirty-log read: only the chunks with dirty bits are
 *             cleared, so this is short for a small set
 *   pages     the last dirty pages; the page digest was kept up to date
 *             while sending, so END needs no pass over RAM
 *   state     vCPU state, the devices, END, flush
 *   ready     until READY (the destination checked END and set its vCPUs)
 *   running   COMMIT out until RUNNING in (one round trip + resume)
 *
 * Outcomes: no READY (FAIL, a timeout, the connection gone) -> FAILED, the
 * caller resumes the domain; COMMIT sent and then no RUNNING -> AMBIGUOUS,
 * the domain stays paused here. COMMIT counts as sent from the moment we
 * try: a write that failed half-way may still have reached the peer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_clock.h"
#include "hv_dirty_log.h"
#include "hv_vcpu_state.h"
#include "log.h"
#include "vmm_mig_int.h"

/* The longest wait for the destination to catch up before the stop. */
#define VMM_MIG_DRAIN_MS 200

static uint64_t vmm_mig_us(uint64_t *t)
{
	uint64_t now = vmm_mig_now_ns(), d = (now - *t) / 1000;

	*t = now;
	return d;
}

static int vmm_mig_state(struct vmm_mig_job *m)
{
	struct vmm *vmm = m->vmm;
	struct hv_vcpu_state *st = malloc(sizeof(*st));
	struct hv_stream_dev devs[VMM_DEV_MAX];
	uint64_t tsc0 = 0;
	int rc = -ENOMEM;

	if (!st)
		return vmm_mig_fail(m, rc, "%s", strerror(ENOMEM));
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++) {
		if ((rc = hv_vcpu_state_get(vmm->vm->vcpus[i], st)) < 0) {
			vmm_mig_fail(m, rc, "vcpu %u: read state: %s", i, strerror(-rc));
			goto out;
		}
		if (i == 0)
			tsc0 = st->tsc;
		if ((rc = hv_stream_save_vcpu(&m->out, i, st)) < 0)
			goto io;
	}
	vmm->clock_dev =
	    (struct hv_clock_dev){.page = vmm->clock, .tsc_khz = vmm->tsc_khz, .tsc_stop = tsc0};
	if ((rc = hv_stream_save_devices(&m->out, devs, vmm_dev_table(vmm, devs))) < 0 ||
	    (rc = hv_stream_save_end_live(&m->out, &m->dig, m->pages)) < 0)
		goto io;
	goto out;
io:
	vmm_mig_fail(m, rc, "send: %s", strerror(-rc));
out:
	free(st);
	return rc;
}

/* The guest stops; the rest of its pages and its state go out. */
static int vmm_mig_copy(struct vmm_mig_job *m, uint64_t *t)
{
	struct vmm *vmm = m->vmm;
	int rc;

	if (!m->was_paused && (rc = vmm_vcpu_pause(vmm)) < 0)
		return vmm_mig_fail(m, rc, "pause: %s", strerror(-rc));
	m->stopped = 1;
	m->split.pause = vmm_mig_us(t);
	if (m->logging) {
		/* The last round's set (read when the rounds ended) plus what
		 * was written since: both go now. */
		int64_t n = hv_dirty_log_sync(vmm->vm, m->fresh);
		if (n < 0)
			return vmm_mig_fail(m, (int)n, "dirty log: %s", strerror((int)-n));
		for (size_t w = 0; w < m->words; w++)
			m->bitmap[w] |= m->fresh[w];
		/* The net threads are quiesced by the pause: their last writes. */
		vmm_net_dirty_take(vmm, m->bitmap, m->words);
	} else {
		memset(m->bitmap, 0xff, m->words * 8); /* stop-and-copy only: all of RAM */
		uint64_t np = hv_mem_npages(&vmm->vm->mem);
		if (np % 64)
			m->bitmap[m->words - 1] = (1ull << (np % 64)) - 1;
	}
	m->split.sync = vmm_mig_us(t);
	uint64_t before = m->pages;
	m->round++;
	m->round_pages = hv_dirty_log_count(m->bitmap, m->words);
	m->round_done = 0;
	m->cursor = 0;
	m->round_bytes0 = m->out.offset;
	m->round_t0 = vmm_mig_now_ns();
	if ((rc = vmm_mig_send_marked(m, !m->logging, 0)) < 0)
		return rc;
	m->split.last_pages = m->pages - before;
	m->split.pages = vmm_mig_us(t);
	if ((rc = vmm_mig_state(m)) < 0)
		return rc;
	m->split.state = vmm_mig_us(t);
	if (m->round <= VMM_CTL_MIG_ROUND_MAX)
		m->res.round[m->round - 1] =
		    (struct vmm_ctl_mig_round){m->round_done, m->out.offset - m->round_bytes0,
					       (vmm_mig_now_ns() - m->round_t0) / 1000000};
	m->round--; /* vmm_mig_end counts the stop-and-copy round */
	return 0;
}

/* Waits for the destination's answer of the given type. */
static int vmm_mig_expect(struct vmm_mig_job *m, uint32_t want, const char *what)
{
	char msg[VMM_MIG_FAIL_MSG_MAX + 1];
	uint32_t type = 0;
	int32_t perr;
	int rc = vmm_mig_recv_rec(&m->conn, &type, &perr, msg, sizeof(msg), VMM_MIG_TIMEOUT_MS);

	if (rc == -ETIMEDOUT)
		return vmm_mig_fail(m, rc, "no %s from %s within %d ms", what, m->peer,
				    VMM_MIG_TIMEOUT_MS);
	if (rc < 0)
		return vmm_mig_fail(m, rc, "waiting for %s from %s: %s", what, m->peer,
				    rc == -EBADMSG ? "malformed handover record" : strerror(-rc));
	if (type == VMM_MIG_REC_FAIL)
		return vmm_mig_fail(m, perr, "%s refused: %s", m->peer, msg);
	if (type != want)
		return vmm_mig_fail(m, -EPROTO, "%s sent handover record %u, want %s", m->peer,
				    type, what);
	return 0;
}

int vmm_mig_stop_copy(struct vmm_mig_job *m)
{
	uint64_t t, t_stop;
	int rc;

	/* While the guest still runs: let the destination catch up. */
	if ((rc = hv_stream_out_flush(&m->out)) < 0)
		return vmm_mig_fail(m, rc, "send: %s", strerror(-rc));
	vmm_mig_conn_drain(&m->conn, VMM_MIG_DRAIN_MS);
	t = t_stop = vmm_mig_now_ns();
	if ((rc = vmm_mig_copy(m, &t)) < 0)
		return rc;
	vmm_mig_report(m, VMM_CTL_MIG_HANDOVER);
	if ((rc = vmm_mig_expect(m, VMM_MIG_REC_READY, "READY")) < 0)
		return rc;
	m->split.ready = vmm_mig_us(&t);
	if (vmm_op_commit(m->vmm))
		return vmm_mig_fail(m, -ECANCELED, "a cancel was asked for");
	m->committed = 1;
	if ((rc = vmm_mig_send_rec(&m->conn, VMM_MIG_REC_COMMIT, 0, NULL)) < 0)
		return vmm_mig_fail(m, rc, "sending COMMIT to %s: %s", m->peer, strerror(-rc));
	if ((rc = vmm_mig_expect(m, VMM_MIG_REC_RUNNING, "RUNNING")) < 0)
		return rc;
	m->split.running = vmm_mig_us(&t);
	m->res.rec.downtime_us = (t - t_stop) / 1000;
	return 0;
}

void vmm_mig_result_msg(struct vmm_mig_job *m, int rc)
{
	const char *name = m->vmm->cfg.name;
	const struct vmm_mig_split *s = &m->split;
	char msg[2048]; /* cut to the result's bound below */
	size_t cap = sizeof(msg);

	if (rc == 0) {
		snprintf(msg, cap, "domain %s: migrated to %s", name, m->peer);
		uint64_t cpu_ms = (vmm_mig_thread_cpu_ns() - m->cpu0) / 1000000;
		log_info(
		    "domain %s: migrated to %s: %u rounds, %llu ms, %llu bytes (I/O thread CPU "
		    "%llu ms), downtime %llu us (pause %llu, sync %llu, last pages %llu (%llu), "
		    "state+END %llu, READY %llu, COMMIT..RUNNING %llu)",
		    name, m->peer, m->res.rec.rounds, (unsigned long long)m->res.rec.total_ms,
		    (unsigned long long)m->res.rec.bytes, (unsigned long long)cpu_ms,
		    (unsigned long long)m->res.rec.downtime_us, (unsigned long long)s->pause,
		    (unsigned long long)s->sync, (unsigned long long)s->pages,
		    (unsigned long long)s->last_pages, (unsigned long long)s->state,
		    (unsigned long long)s->ready, (unsigned long long)s->running);
	} else if (m->committed) {
		snprintf(
		    msg, cap,
		    "domain %s: migration to %s: outcome unknown after COMMIT (%s); the domain "
		    "is paused here. If it runs on %s, destroy it here (vm destroy %s); if not, "
		    "resume it here (vm unpause %s)",
		    name, m->peer, m->err, m->peer, name, name);
	} else {
		snprintf(msg, cap, "domain %s: migration to %s %s: %s; the domain %s here", name,
			 m->peer, rc == -ECANCELED ? "cancelled" : "failed", m->err,
			 m->was_paused ? "stays paused" : "runs on");
	}
	snprintf(m->res.msg, sizeof(m->res.msg), "%.*s", VMM_CTL_MIG_MSG_MAX, msg);
}
