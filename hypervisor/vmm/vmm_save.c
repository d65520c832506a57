/* Save: the stream of hv_stream.h to a file, written while the domain is
 * paused, to a fresh temporary name beside the target and renamed into
 * place only when complete.
 *
 * It runs on the I/O thread as a job in steps (VMM_SAVE_STEP_PAGES pages
 * of RAM per step, then the vCPU and device state and END, then fsync and
 * rename), reporting progress through vmm_op after each step, so the main
 * thread keeps answering the control socket and a cancel stops it within
 * a step. The memory digest of END is computed on the same pass over RAM.
 * A failed, cancelled or aborted save removes its temporary file.
 *
 * The directory may be writable by others: the temporary name carries 64
 * random bits and is created with O_EXCL | O_NOFOLLOW, so nothing planted
 * there (a symlink, a file) is ever opened, truncated or written through;
 * rename() replaces a symlink at the target itself, never what it points
 * to. The vmm's seccomp filter allows openat with exactly these flags. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "hv_clock.h"
#include "hv_stream.h"
#include "hv_vcpu_state.h"
#include "vmm.h"

/* 16 MiB of RAM per step: ~10-20 ms of hashing and writing here. */
#define VMM_SAVE_STEP_PAGES 4096u

struct vmm_save_job {
	struct vmm_io_job job;
	struct vmm *vmm;
	char path[CTL_VMM_PATH_MAX + 1];
	char tmp[CTL_VMM_PATH_MAX + 32];
	int fd;
	struct hv_stream_out out;
	EVP_MD_CTX *mem_sha;
	uint64_t next_pfn, pages, synced;
	uint32_t phase;
	int rc; /* the result, once finished */
	char err[VMM_OP_ERR_MAX];
};

static int vmm_save_state(struct vmm_save_job *s)
{
	struct vmm *vmm = s->vmm;
	struct hv_vcpu_state *st = malloc(sizeof(*st));
	struct hv_stream_dev devs[VMM_DEV_MAX];
	uint8_t md[32];
	uint64_t tsc0 = 0;
	int rc = -ENOMEM;

	if (!st)
		goto out;
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++) {
		if ((rc = hv_vcpu_state_get(vmm->vm->vcpus[i], st)) < 0) {
			snprintf(s->err, sizeof(s->err), "vcpu %u: read state: %s", i,
				 strerror(-rc));
			goto out;
		}
		if (i == 0)
			tsc0 = st->tsc;
		if ((rc = hv_stream_save_vcpu(&s->out, i, st)) < 0)
			goto io;
	}
	vmm->clock_dev =
	    (struct hv_clock_dev){.page = vmm->clock, .tsc_khz = vmm->tsc_khz, .tsc_stop = tsc0};
	rc = -EIO;
	if (!EVP_DigestFinal_ex(s->mem_sha, md, NULL))
		goto io;
	if ((rc = hv_stream_save_devices(&s->out, devs, vmm_dev_table(vmm, devs))) < 0 ||
	    (rc = hv_stream_save_end_md(&s->out, md, s->pages)) < 0)
		goto io;
	goto out;
io:
	snprintf(s->err, sizeof(s->err), "write: %s", strerror(-rc));
out:
	free(st);
	return rc;
}

/* Starts writing back what this step wrote, so the final fsync is short. */
static void vmm_save_writeback(struct vmm_save_job *s)
{
	if (s->out.offset > s->synced &&
	    sync_file_range(s->fd, (off64_t)s->synced, (off64_t)(s->out.offset - s->synced),
			    SYNC_FILE_RANGE_WRITE) == 0)
		s->synced = s->out.offset;
}

static int vmm_save_commit(struct vmm_save_job *s)
{
	int rc = 0;

	if (fsync(s->fd) < 0) {
		rc = -errno;
		snprintf(s->err, sizeof(s->err), "fsync: %s", strerror(errno));
	}
	if (close(s->fd) < 0 && rc == 0) {
		rc = -errno;
		snprintf(s->err, sizeof(s->err), "close: %s", strerror(errno));
	}
	s->fd = -1;
	if (rc == 0 && rename(s->tmp, s->path) < 0) {
		rc = -errno;
		snprintf(s->err, sizeof(s->err), "rename to %s: %s", s->path, strerror(errno));
	}
	return rc;
}

static void vmm_save_free(struct vmm_save_job *s, int unlink_tmp)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (unlink_tmp)
		unlink(s->tmp);
	hv_stream_out_fini(&s->out);
	EVP_MD_CTX_free(s->mem_sha);
	free(s);
}

/* The job is finished with rc; vmm_save_done reports it. Returns 1. */
static int vmm_save_end(struct vmm_save_job *s, int rc)
{
	s->rc = rc;
	return 1;
}

/* The end of the job: the file is gone (failure) or in place before the
 * main thread hears of it, so a reply to the client or to a CANCEL comes
 * after the fact; and the I/O thread is free by then. */
static void vmm_save_done(struct vmm_io_job *job)
{
	struct vmm_save_job *s = (struct vmm_save_job *)job;
	struct vmm *vmm = s->vmm;
	char err[VMM_OP_ERR_MAX];
	int rc = s->rc;

	memcpy(err, s->err, sizeof(err));
	vmm_save_free(s, rc < 0);
	vmm_op_finish(vmm, rc, err);
}

/* One step of the state machine: PAGES (bounded) -> STATE -> SYNC. */
static int vmm_save_step(struct vmm_io_job *job)
{
	struct vmm_save_job *s = (struct vmm_save_job *)job;
	struct vmm *vmm = s->vmm;
	int rc = 0;

	if (vmm_op_progress(vmm, s->phase, s->next_pfn << HV_PAGE_SHIFT, s->out.offset)) {
		rc = -ECANCELED;
		snprintf(s->err, sizeof(s->err), "cancelled");
	} else if (s->phase == VMM_CTL_PHASE_PAGES) {
		rc = hv_stream_save_pages_step(&s->out, &vmm->vm->mem, 1, s->mem_sha, &s->next_pfn,
					       VMM_SAVE_STEP_PAGES, &s->pages);
		if (rc < 0)
			snprintf(s->err, sizeof(s->err), "write: %s", strerror(-rc));
		else if (rc == 1)
			s->phase = VMM_CTL_PHASE_STATE;
		vmm_save_writeback(s);
		return rc < 0 ? vmm_save_end(s, rc) : 0;
	} else if (s->phase == VMM_CTL_PHASE_STATE) {
		if ((rc = vmm_save_state(s)) == 0)
			s->phase = VMM_CTL_PHASE_SYNC;
		if (rc == 0)
			return 0;
	} else {
		rc = vmm_save_commit(s);
	}
	return vmm_save_end(s, rc);
}

static void vmm_save_abort(struct vmm_io_job *job)
{
	struct vmm_save_job *s = (struct vmm_save_job *)job;

	snprintf(s->err, sizeof(s->err), "the vmm is stopping");
	vmm_save_end(s, -ECANCELED);
	vmm_save_done(job);
}

/* Creates "<path>.<16 hex>.part" (mode 0600) and returns its fd, with its
 * name in tmp; a name that exists is never reused, so retry a few times. */
static int vmm_save_create(const char *path, char *tmp, size_t tmpcap, char *err, size_t errlen)
{
	int fd = -EEXIST;

	for (int tries = 0; tries < 8 && fd == -EEXIST; tries++) {
		uint64_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -errno;
		}
		if ((size_t)snprintf(tmp, tmpcap, "%s.%016llx.part", path, (unsigned long long)r) >=
		    tmpcap) {
			snprintf(err, errlen, "%s: path too long", path);
			return -ENAMETOOLONG;
		}
		fd = open(tmp, VMM_SAVE_OPEN_FLAGS, 0600);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		snprintf(err, errlen, "%s: temporary file: %s", path, strerror(-fd));
	return fd;
}

/* The header goes out at once: a config that does not fit fails here. */
static int vmm_save_header(struct vmm_save_job *s, char *err, size_t errlen)
{
	char *cfg = malloc(HV_STREAM_CFG_MAX + 1);
	int rc = -ENOMEM;

	if (!cfg) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return rc;
	}
	if ((rc = hv_domcfg_format(&s->vmm->cfg, cfg, HV_STREAM_CFG_MAX + 1)) < 0)
		snprintf(err, errlen, "config too large for the stream");
	else if ((rc = hv_stream_save_header(&s->out, s->vmm->vm->mem.size, s->vmm->vm->nvcpus,
					     cfg)) < 0)
		snprintf(err, errlen, "write: %s", strerror(-rc));
	free(cfg);
	return rc;
}

int vmm_save_start(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	struct vmm_save_job *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	s->job = (struct vmm_io_job){
	    .step = vmm_save_step, .done = vmm_save_done, .abort = vmm_save_abort};
	s->vmm = vmm;
	s->phase = VMM_CTL_PHASE_PAGES;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if ((s->fd = vmm_save_create(path, s->tmp, sizeof(s->tmp), err, errlen)) < 0) {
		rc = s->fd;
		free(s);
		return rc;
	}
	s->mem_sha = EVP_MD_CTX_new();
	if (!s->mem_sha || !EVP_DigestInit_ex(s->mem_sha, EVP_sha256(), NULL) ||
	    (rc = hv_stream_out_init_fd(&s->out, s->fd)) < 0) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		vmm_save_free(s, 1);
		return -ENOMEM;
	}
	if ((rc = vmm_save_header(s, err, errlen)) < 0) {
		vmm_save_free(s, 1);
		return rc;
	}
	if ((rc = vmm_op_begin(vmm, VMM_CTL_OP_SAVE, vmm->vm->mem.size)) < 0) {
		snprintf(err, errlen, "another operation is running");
		vmm_save_free(s, 1);
		return rc;
	}
	if ((rc = vmm_io_submit(vmm->io, &s->job)) < 0) {
		struct vmm_op_report r;
		snprintf(err, errlen, "the I/O thread is busy");
		vmm_op_finish(vmm, rc, err);
		vmm_op_take(vmm, &r); /* never started: nobody waits for it */
		vmm_save_free(s, 1);
		return rc;
	}
	return 0;
}
