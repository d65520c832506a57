/* Boot a domain from its config: VM, RAM, vCPUs, image, entry state, clock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <x86intrin.h>

#include "hv_boot.h"
#include "hv_clock.h"
#include "hv_elf.h"
#include "hv_vcpu.h"
#include "vmm.h"

static int vmm_boot_vm(struct vmm *vmm, char *err, size_t errlen)
{
	uint64_t size = (uint64_t)vmm->cfg.memory_mib << 20;

	if (vmm->cfg.vcpus != 1) {
		snprintf(err, errlen,
			 "vcpus: %u requested, but guest ABI %u starts exactly one vCPU",
			 vmm->cfg.vcpus, TERN_ABI_VERSION);
		return -EINVAL;
	}
	/* Populating RAM takes ~0.1 s per GiB (more when the host is cold):
	 * do it beside the guest rather than before it. */
	vmm->vm = hv_vm_new(size, HV_MEM_PREALLOC_BG);
	if (!vmm->vm) {
		snprintf(err, errlen, "/dev/kvm: create VM with %u MiB: %s", vmm->cfg.memory_mib,
			 strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < vmm->cfg.vcpus; i++) {
		if (!hv_vcpu_new(vmm->vm, i)) {
			snprintf(err, errlen, "create vcpu %u: %s", i, strerror(errno));
			return -errno;
		}
	}
	vmm->clock = hv_mem_ptr(&vmm->vm->mem, TERN_GPA_CLOCK, sizeof(*vmm->clock));
	vmm->tsc_khz = hv_clock_tsc_khz(vmm->vm->vcpus[0]);
	if (!vmm->tsc_khz) {
		snprintf(err, errlen, "KVM does not report the guest TSC frequency");
		return -ENOSYS;
	}
	return 0;
}

/* Guest TSC minus host TSC, measured once per VM. */
static void vmm_boot_tsc_offset(struct vmm *vmm, uint64_t *guest_tsc)
{
	hv_clock_guest_tsc(vmm->vm->vcpus[0], guest_tsc);
	vmm->tsc_offset = (int64_t)(*guest_tsc - __rdtsc());
}

int vmm_boot(struct vmm *vmm, char *err, size_t errlen)
{
	struct hv_elf_image img;
	char why[256];
	uint64_t tsc;
	int rc;

	if ((rc = vmm_boot_vm(vmm, err, errlen)) < 0)
		return rc;
	rc = hv_elf_load_file(&vmm->vm->mem, vmm->cfg.kernel, &img, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "kernel %s: %s", vmm->cfg.kernel, why);
		return rc;
	}
	rc = hv_boot_setup(vmm->vm->vcpus[0], &vmm->vm->mem, &img, vmm->cfg.extra, vmm->cfg.vcpus);
	if (rc < 0) {
		snprintf(err, errlen, "boot setup: %s", strerror(-rc));
		return rc;
	}
	vmm_boot_tsc_offset(vmm, &tsc);
	hv_clock_init(vmm->clock, vmm->tsc_khz, tsc, hv_clock_wall_ns());
	return 0;
}

int vmm_boot_restored(struct vmm *vmm, char *err, size_t errlen)
{
	return vmm_boot_vm(vmm, err, errlen);
}

void vmm_boot_resume_clock(struct vmm *vmm, uint64_t mono_ns)
{
	uint64_t tsc;

	vmm_boot_tsc_offset(vmm, &tsc);
	hv_clock_resume(vmm->clock, mono_ns, tsc, vmm->tsc_khz, hv_clock_wall_ns());
}
