/*
 * The destination of a live migration: `vmm --incoming FD --key-fd KFD`.
 *
 * Set-up (main thread, before the control socket and the seccomp filter):
 * the key from its pipe, TLS 2 as server, HEADER, the config it carries,
 * the VM, and RAM populated by a background thread from then on (DESIGN.md
 * section 1: first touches of fresh memory are slow, so they must not pace
 * the receiving). The vCPU threads start parked.
 *
 * Then a job on the I/O thread takes the records as they come, in steps
 * of at most VMM_IN_STEP_MS: pages into RAM (the page digest follows each
 * store), vCPU and device state staged. At END, verified by the loader,
 * the vCPUs are set and READY goes out; COMMIT must come within
 * VMM_MIG_TIMEOUT_MS; then the clock is rebased, the vCPUs run, and
 * RUNNING goes out. Any error sends FAIL with the message, and the vmm
 * exits 2 with nothing left behind; after RUNNING it is an ordinary
 * domain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hv_stream.h"
#include "hv_vcpu_state.h"
#include "log.h"
#include "vmm_mig.h"

#define VMM_IN_STEP_MS 20

struct vmm_incoming {
	struct vmm_io_job job;
	struct vmm *vmm;
	struct vmm_mig_conn conn;
	struct hv_stream_in in;
	struct hv_stream_state st;
	struct hv_stream_live_in live;
	struct hv_stream_dev devs[VMM_DEV_MAX];
	int in_ok, live_ok, done;
	uint64_t t0, cpu0; /* cpu0: the I/O thread's CPU time at the first step */
	long flt0;	   /* and its page faults then: pages that beat the population */
	struct vmm_mig_result res;
	char err[768];
};

static uint64_t vmm_in_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t vmm_in_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Page faults of the calling thread (minor: first touches of RAM). */
static long vmm_in_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_minflt : 0;
}

static int vmm_in_key(int key_fd, uint8_t key[VMM_CTL_MIG_KEY_LEN], char *err, size_t errlen)
{
	uint8_t buf[VMM_CTL_MIG_KEY_LEN + 1];
	size_t got = 0;

	while (got < sizeof(buf)) {
		ssize_t n = read(key_fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "--key-fd %d: %s", key_fd, strerror(errno));
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(key_fd);
	if (got != VMM_CTL_MIG_KEY_LEN) {
		snprintf(err, errlen, "--key-fd %d: %zu bytes, want exactly %u", key_fd, got,
			 VMM_CTL_MIG_KEY_LEN);
		return -EINVAL;
	}
	memcpy(key, buf, VMM_CTL_MIG_KEY_LEN);
	memset(buf, 0, sizeof(buf));
	return 0;
}

static int vmm_in_cfg(struct vmm *vmm, const struct hv_stream_state *st, char *err, size_t errlen)
{
	int rc;

	hv_domcfg_init(&vmm->cfg);
	if ((rc = hv_domcfg_parse(&vmm->cfg, st->cfg, strlen(st->cfg), "the incoming config", err,
				  errlen)) < 0)
		return rc;
	if ((uint64_t)vmm->cfg.memory_mib << 20 != st->hdr.mem_size ||
	    vmm->cfg.vcpus != st->hdr.nvcpus) {
		snprintf(err, errlen, "HEADER: %llu MiB, %u vCPUs do not match its config",
			 (unsigned long long)(st->hdr.mem_size >> 20), st->hdr.nvcpus);
		return -EINVAL;
	}
	return 0;
}

/* The vmm is ending (destroy, a signal): a wait for the source gives up. */
static int vmm_in_stopping(void *arg)
{
	struct vmm *vmm = arg;

	return __atomic_load_n(&vmm->stopping, __ATOMIC_ACQUIRE);
}

/* TLS 2, HEADER, config and VM. */
static int vmm_in_open(struct vmm_incoming *c, int fd, const uint8_t *key, char *err, size_t errlen)
{
	struct vmm *vmm = c->vmm;
	char why[HV_STREAM_ERR_MAX + 64];
	int rc;

	c->conn.cancelled = vmm_in_stopping;
	c->conn.arg = vmm;
	if ((rc = vmm_mig_conn_open(&c->conn, fd, key, 1, err, errlen)) < 0)
		return rc;
	if ((rc = hv_stream_in_init(&c->in, vmm_mig_conn_read_cb, &c->conn)) < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	c->in_ok = 1;
	hv_stream_in_nohash(&c->in);
	if ((rc = hv_stream_load_header(&c->in, &c->st, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	if (!(c->st.hdr.flags & HV_STREAM_F_LIVE)) {
		snprintf(err, errlen, "record HEADER at offset 0: not a live stream");
		return -EBADMSG;
	}
	if ((rc = vmm_in_cfg(vmm, &c->st, err, errlen)) < 0 ||
	    (rc = vmm_boot_restored(vmm, err, errlen)) < 0)
		return rc;
	hv_mem_populate_start(&vmm->vm->mem); /* now, ahead of the pages */
	memset(&vmm->clock_dev, 0, sizeof(vmm->clock_dev));
	rc = hv_stream_live_in_init(&c->live, &vmm->vm->mem, &c->st, c->devs,
				    vmm_dev_table(vmm, c->devs), err, errlen);
	if (rc < 0)
		return rc;
	c->live_ok = 1;
	/* The records after HEADER are read by the live loader itself. */
	c->live.offset = c->in.offset;
	hv_stream_in_fini(&c->in);
	c->in_ok = 0;
	return 0;
}

static void vmm_in_free(struct vmm_incoming *c)
{
	if (c->live_ok)
		hv_stream_live_in_fini(&c->live);
	if (c->in_ok)
		hv_stream_in_fini(&c->in);
	vmm_mig_conn_close(&c->conn, c->done);
	free(c);
}

void vmm_incoming_fail(struct vmm *vmm, int rc, const char *err)
{
	struct vmm_incoming *c = vmm->in;

	if (!c)
		return;
	if (c->conn.ssl &&
	    vmm_mig_send_rec(&c->conn, VMM_MIG_REC_FAIL, rc < 0 ? rc : -EIO, err) < 0)
		log_debug("incoming: FAIL not sent");
	vmm_in_free(c);
	vmm->in = NULL;
}

int vmm_incoming_setup(struct vmm *vmm, int fd, int key_fd, char *err, size_t errlen)
{
	struct vmm_incoming *c = calloc(1, sizeof(*c));
	uint8_t key[VMM_CTL_MIG_KEY_LEN];
	int rc;

	if (!c) {
		close(fd);
		close(key_fd);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	c->vmm = vmm;
	c->conn.fd = -1;
	c->t0 = vmm_in_now_ns();
	vmm->in = c;
	if ((rc = vmm_in_key(key_fd, key, err, errlen)) < 0) {
		close(fd);
		return rc;
	}
	rc = vmm_in_open(c, fd, key, err, errlen);
	memset(key, 0, sizeof(key));
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&vmm->lock);
	vmm->state = VMM_INCOMING;
	vmm->pause_req = 1; /* the vCPU threads start parked */
	pthread_mutex_unlock(&vmm->lock);
	return 0;
}

static void vmm_in_report(struct vmm_incoming *c, uint32_t phase)
{
	struct vmm_ctl_mig_progress p = {
	    .phase = phase,
	    .mem_bytes = c->vmm->vm->mem.size,
	    .bytes_sent = c->live.offset,
	    .round_done = c->st.pages,
	    .round_pages = c->st.pages,
	};

	vmm_op_mig_progress(c->vmm, &p);
}

static int vmm_in_failf(struct vmm_incoming *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vmm_in_failf(struct vmm_incoming *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* END verified: set the vCPUs, READY, wait for COMMIT, run, RUNNING.
 * Each part is timed: the destination's share of the source's downtime. */
static int vmm_in_handover(struct vmm_incoming *c)
{
	struct vmm *vmm = c->vmm;
	char msg[VMM_MIG_FAIL_MSG_MAX + 1];
	uint64_t t0 = vmm_in_now_ns(), t1, t2, t3;
	uint32_t type = 0;
	int32_t perr;
	int rc;

	for (unsigned i = 0; i < vmm->vm->nvcpus; i++)
		if ((rc = hv_vcpu_state_set(vmm->vm->vcpus[i], &c->st.vcpu[i])) < 0)
			return vmm_in_failf(c, rc, "vcpu %u: load state: %s", i, strerror(-rc));
	if ((rc = vmm_net_incoming_bind(vmm, msg, sizeof(msg))) < 0)
		return vmm_in_failf(c, rc, "net: %s", msg);
	if ((rc = vmm_mig_send_rec(&c->conn, VMM_MIG_REC_READY, 0, NULL)) < 0)
		return vmm_in_failf(c, rc, "sending READY: %s", strerror(-rc));
	t1 = vmm_in_now_ns();
	vmm_in_report(c, VMM_CTL_MIG_HANDOVER);
	rc = vmm_mig_recv_rec(&c->conn, &type, &perr, msg, sizeof(msg), VMM_MIG_TIMEOUT_MS);
	if (rc < 0)
		return vmm_in_failf(c, rc, "no COMMIT from the source: %s",
				    rc == -EBADMSG ? "malformed handover record" : strerror(-rc));
	if (type != VMM_MIG_REC_COMMIT)
		return vmm_in_failf(c, -EPROTO, "handover record %u instead of COMMIT", type);
	t2 = vmm_in_now_ns();
	vmm_boot_resume_clock(vmm, vmm->clock_dev.loaded.mono_ns);
	vmm_net_incoming_announce(vmm); /* the bridges learn the MACs' new port */
	pthread_mutex_lock(&vmm->lock);
	vmm->state = VMM_PAUSED;
	pthread_mutex_unlock(&vmm->lock);
	vmm_vcpu_unpause(vmm);
	c->done = 1;
	if ((rc = vmm_mig_send_rec(&c->conn, VMM_MIG_REC_RUNNING, 0, NULL)) < 0)
		log_warn("domain %s: RUNNING not sent (%s): the source will ask its operator",
			 vmm->cfg.name, strerror(-rc));
	t3 = vmm_in_now_ns();
	log_info("domain %s: handover: END to READY %llu us (vCPU state set), READY to COMMIT "
		 "%llu us, COMMIT to RUNNING %llu us (clock rebase, vCPUs resumed)",
		 vmm->cfg.name, (unsigned long long)(t1 - t0) / 1000,
		 (unsigned long long)(t2 - t1) / 1000, (unsigned long long)(t3 - t2) / 1000);
	return 0;
}

/* One step: records for up to VMM_IN_STEP_MS. 1 when finished. */
static int vmm_in_step(struct vmm_io_job *job)
{
	struct vmm_incoming *c = (struct vmm_incoming *)job;
	uint64_t deadline = vmm_in_now_ns() + VMM_IN_STEP_MS * 1000000ull;
	char why[HV_STREAM_ERR_MAX + 64];
	int rc = 0;

	if (!c->cpu0) {
		c->cpu0 = vmm_in_cpu_ns();
		c->flt0 = vmm_in_faults();
	}
	vmm_in_report(c, VMM_CTL_MIG_PRECOPY);
	while (rc == 0 && vmm_in_now_ns() < deadline) {
		/* page data goes from OpenSSL's record buffer into guest RAM */
		rc = hv_stream_live_in_next(&c->live, vmm_mig_conn_read_cb, &c->conn, why,
					    sizeof(why));
		if (rc < 0)
			vmm_in_failf(c, rc, "%s", why);
	}
	if (rc == 1)
		rc = vmm_in_handover(c);
	else if (rc == 0)
		return 0;
	c->res.rec.err = rc;
	return 1;
}

static void vmm_in_done(struct vmm_io_job *job)
{
	static struct vmm_mig_result res; /* I/O thread only */
	struct vmm_incoming *c = (struct vmm_incoming *)job;
	struct vmm *vmm = c->vmm;
	struct vmm_ctl_mig_result *r = &c->res.rec;

	r->outcome = r->err == 0 ? VMM_CTL_MIG_OK : VMM_CTL_MIG_FAILED;
	r->total_ms = (vmm_in_now_ns() - c->t0) / 1000000;
	r->bytes = c->live.offset;
	if (r->err == 0)
		snprintf(c->res.msg, sizeof(c->res.msg),
			 "domain %s: incoming migration done, %llu pages (%llu zero), %llu bytes, "
			 "I/O thread CPU %llu ms, %ld page faults",
			 vmm->cfg.name, (unsigned long long)c->st.pages,
			 (unsigned long long)c->live.zero, (unsigned long long)r->bytes,
			 (unsigned long long)(vmm_in_cpu_ns() - c->cpu0) / 1000000,
			 vmm_in_faults() - c->flt0);
	else
		snprintf(c->res.msg, sizeof(c->res.msg), "domain %s: incoming migration failed: %s",
			 vmm->cfg.name, c->err);
	res = c->res;
	if (r->err < 0) {
		vmm->exit_code = VMM_EXIT_ERROR;
		vmm_incoming_fail(vmm, r->err, c->err); /* frees c */
		vmm_op_mig_finish(vmm, &res);
		return;
	}
	/* The domain runs: migrated hears it before the clean-up (TLS close,
	 * the digest table freed), so that this host lists it as running as
	 * soon as possible after the source heard RUNNING. */
	vmm_op_mig_finish(vmm, &res);
	vmm_in_free(c);
	vmm->in = NULL;
}

static void vmm_in_abort(struct vmm_io_job *job)
{
	struct vmm_incoming *c = (struct vmm_incoming *)job;

	vmm_in_failf(c, -ECANCELED, "the destination vmm is stopping");
	c->res.rec.err = -ECANCELED;
	vmm_in_done(job);
}

int vmm_incoming_start(struct vmm *vmm, char *err, size_t errlen)
{
	struct vmm_incoming *c = vmm->in;
	int rc;

	c->job =
	    (struct vmm_io_job){.step = vmm_in_step, .done = vmm_in_done, .abort = vmm_in_abort};
	if ((rc = vmm_op_begin(vmm, VMM_CTL_OP_INCOMING, vmm->vm->mem.size)) < 0) {
		snprintf(err, errlen, "another operation is running");
		return rc;
	}
	if ((rc = vmm_io_submit(vmm->io, &c->job)) < 0) {
		struct vmm_op_report r;
		snprintf(err, errlen, "the I/O thread is busy");
		vmm_op_finish(vmm, rc, err);
		vmm_op_take(vmm, &r);
		return rc;
	}
	return 0;
}
