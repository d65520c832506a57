#include "hv_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hv_vcpu.h"
#include "log.h"

int hv_vm_set_slot(struct hv_vm *vm, int log_dirty)
{
	struct kvm_userspace_memory_region r = {
	    .slot = HV_MEM_SLOT,
	    .flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	    .guest_phys_addr = 0,
	    .memory_size = vm->mem.size,
	    .userspace_addr = (uintptr_t)vm->mem.base,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	vm->dirty_logging = log_dirty;
	return 0;
}

/* Manual protect lets one round's KVM_CLEAR_DIRTY_LOG re-protect only the
 * pages it saw dirty instead of KVM_GET_DIRTY_LOG write-protecting all of
 * RAM. INITIALLY_SET makes enabling the log free: nothing is protected
 * until the first clear. */
static void hv_vm_enable_manual_dirty(struct hv_vm *vm)
{
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};

	if (caps <= 0)
		return;
	cap.args[0] =
	    (uint64_t)caps & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
		vm->dirty_manual = 1;
	else
		log_debug("hv_vm: MANUAL_DIRTY_LOG_PROTECT2: %s", strerror(errno));
}

static int hv_vm_open(struct hv_vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -errno;
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return -ENOSYS;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return -ENOSYS;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	/* Needed by VMX without unrestricted guest; harmless elsewhere. The
	 * address is above any RAM a guest can have below 4 GiB here. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		log_debug("hv_vm: KVM_SET_TSS_ADDR: %s", strerror(errno));
	hv_vm_enable_manual_dirty(vm);
	return 0;
}

struct hv_vm *hv_vm_new(uint64_t mem_size, unsigned mem_flags)
{
	struct hv_vm *vm = calloc(1, sizeof(*vm));
	int rc;

	if (!vm)
		return NULL;
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	rc = hv_vm_open(vm);
	if (rc == 0)
		rc = hv_mem_init(&vm->mem, mem_size, mem_flags);
	if (rc == 0)
		rc = hv_vm_set_slot(vm, 0);
	if (rc < 0) {
		hv_vm_free(vm);
		errno = -rc;
		return NULL;
	}
	return vm;
}

void hv_vm_free(struct hv_vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		hv_vcpu_free(vm->vcpus[i]);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	/* RAM goes after the VM fd: KVM holds no reference once it is closed. */
	hv_mem_fini(&vm->mem);
	free(vm);
}
