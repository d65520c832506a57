/*
 * Restore: a fresh VM loaded from a saved stream. Every record is checked
 * and both digests verified before any vCPU state is set or any guest code
 * runs; on any error the caller throws the VM away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_stream.h"
#include "hv_vcpu.h"
#include "hv_vcpu_state.h"
#include "vmm.h"

static int vmm_restore_cfg(struct vmm *vmm, const struct hv_stream_state *st, const char *path,
			   char **overrides, int noverrides, char *err, size_t errlen)
{
	char src[4200];
	int rc;

	snprintf(src, sizeof(src), "%s (saved config)", path);
	hv_domcfg_init(&vmm->cfg);
	if ((rc = hv_domcfg_parse(&vmm->cfg, st->cfg, strlen(st->cfg), src, err, errlen)) < 0)
		return rc;
	for (int i = 0; i < noverrides; i++)
		if ((rc = hv_domcfg_override(&vmm->cfg, overrides[i], err, errlen)) < 0)
			return rc;
	if ((uint64_t)vmm->cfg.memory_mib << 20 != st->hdr.mem_size ||
	    vmm->cfg.vcpus != st->hdr.nvcpus) {
		snprintf(
		    err, errlen,
		    "%s: memory and vcpus cannot change on restore (saved: %llu MiB, %u vCPUs)",
		    path, (unsigned long long)(st->hdr.mem_size >> 20), st->hdr.nvcpus);
		return -EINVAL;
	}
	return 0;
}

static int vmm_restore_vcpus(struct vmm *vmm, const struct hv_stream_state *st, char *err,
			     size_t errlen)
{
	for (unsigned i = 0; i < vmm->vm->nvcpus; i++) {
		int rc = hv_vcpu_state_set(vmm->vm->vcpus[i], &st->vcpu[i]);
		if (rc < 0) {
			snprintf(err, errlen, "vcpu %u: load state: %s", i, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int vmm_restore_stream(struct vmm *vmm, struct hv_stream_in *in, struct hv_stream_state *st,
			      const char *path, char **overrides, int noverrides, char *err,
			      size_t errlen)
{
	char why[HV_STREAM_ERR_MAX + 64];
	struct hv_stream_dev devs[VMM_DEV_MAX];
	int rc;

	if ((rc = hv_stream_load_header(in, st, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return rc;
	}
	if ((rc = vmm_restore_cfg(vmm, st, path, overrides, noverrides, err, errlen)) < 0 ||
	    (rc = vmm_boot_restored(vmm, err, errlen)) < 0)
		return rc;
	memset(&vmm->clock_dev, 0, sizeof(vmm->clock_dev));
	rc = hv_stream_load_body(in, &vmm->vm->mem, st, devs, vmm_dev_table(vmm, devs), why,
				 sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return rc;
	}
	if ((rc = vmm_restore_vcpus(vmm, st, err, errlen)) < 0)
		return rc;
	vmm_boot_resume_clock(vmm, vmm->clock_dev.loaded.mono_ns);
	return 0;
}

int vmm_restore(struct vmm *vmm, const char *path, char **overrides, int noverrides, char *err,
		size_t errlen)
{
	struct hv_stream_state *st = calloc(1, sizeof(*st));
	struct hv_stream_in in;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0 || !st) {
		rc = fd < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if ((rc = hv_stream_in_init_fd(&in, fd)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	rc = vmm_restore_stream(vmm, &in, st, path, overrides, noverrides, err, errlen);
	hv_stream_in_fini(&in);
out:
	if (fd >= 0)
		close(fd);
	free(st);
	return rc;
}
