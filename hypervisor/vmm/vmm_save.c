/* Save: the stream of hv_stream.h to a file, written while the domain is
 * paused, to a fresh temporary name beside the target and renamed into
 * place only when complete.
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

static int vmm_save_stream(struct vmm *vmm, struct hv_stream_out *out, char *err, size_t errlen)
{
	struct hv_vcpu_state *st = malloc(sizeof(*st));
	char *cfg = malloc(HV_STREAM_CFG_MAX + 1);
	struct hv_stream_dev devs[VMM_DEV_MAX];
	uint64_t pages = 0, tsc0 = 0;
	int rc = -ENOMEM;

	if (!st || !cfg)
		goto out;
	if ((rc = hv_domcfg_format(&vmm->cfg, cfg, HV_STREAM_CFG_MAX + 1)) < 0) {
		snprintf(err, errlen, "config too large for the stream");
		goto out;
	}
	if ((rc = hv_stream_save_header(out, vmm->vm->mem.size, vmm->vm->nvcpus, cfg)) < 0 ||
	    (rc = hv_stream_save_all_pages(out, &vmm->vm->mem, 1, &pages)) < 0)
		goto io;
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++) {
		if ((rc = hv_vcpu_state_get(vmm->vm->vcpus[i], st)) < 0) {
			snprintf(err, errlen, "vcpu %u: read state: %s", i, strerror(-rc));
			goto out;
		}
		if (i == 0)
			tsc0 = st->tsc;
		if ((rc = hv_stream_save_vcpu(out, i, st)) < 0)
			goto io;
	}
	vmm->clock_dev =
	    (struct hv_clock_dev){.page = vmm->clock, .tsc_khz = vmm->tsc_khz, .tsc_stop = tsc0};
	if ((rc = hv_stream_save_devices(out, devs, vmm_dev_table(vmm, devs))) < 0 ||
	    (rc = hv_stream_save_end(out, &vmm->vm->mem, pages)) < 0)
		goto io;
	goto out;
io:
	snprintf(err, errlen, "write: %s", strerror(-rc));
out:
	free(st);
	free(cfg);
	return rc;
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

int vmm_save(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	char tmp[4200];
	struct hv_stream_out out;
	int fd, rc;

	if ((fd = vmm_save_create(path, tmp, sizeof(tmp), err, errlen)) < 0)
		return fd;
	rc = hv_stream_out_init_fd(&out, fd);
	if (rc == 0) {
		rc = vmm_save_stream(vmm, &out, err, errlen);
		hv_stream_out_fini(&out);
	}
	if (rc == 0 && fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errlen, "fsync: %s", strerror(errno));
	}
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errlen, "close: %s", strerror(errno));
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "rename to %s: %s", path, strerror(errno));
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
}
