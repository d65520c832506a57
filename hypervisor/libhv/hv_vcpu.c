#include "hv_vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv_vm.h"
#include "log.h"

#define HV_CPUID_MAX 256

static void hv_vcpu_on_kick(int sig)
{
	(void)sig;
}

int hv_vcpu_signal_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hv_vcpu_on_kick;
	sigemptyset(&sa.sa_mask);
	if (sigaction(HV_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* The guest sees the host's supported CPUID, with its own APIC id. */
static int hv_vcpu_set_cpuid(struct hv_vcpu *vcpu)
{
	size_t sz = sizeof(struct kvm_cpuid2) + HV_CPUID_MAX * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	int rc = 0;

	if (!c)
		return -ENOMEM;
	c->nent = HV_CPUID_MAX;
	if (ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		rc = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (vcpu->index << 24);
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vcpu->index;
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
		rc = -errno;
out:
	free(c);
	return rc;
}

struct hv_vcpu *hv_vcpu_new(struct hv_vm *vm, unsigned index)
{
	struct hv_vcpu *vcpu;
	int rc;

	if (index >= HV_VCPU_MAX || index != vm->nvcpus) {
		errno = EINVAL;
		return NULL;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = -1;
	vcpu->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vcpu->wake_fd < 0)
		goto fail;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		goto fail;
	vcpu->run =
	    mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		goto fail;
	}
	rc = hv_vcpu_set_cpuid(vcpu);
	if (rc < 0) {
		errno = -rc;
		goto fail;
	}
	vm->vcpus[vm->nvcpus++] = vcpu;
	return vcpu;
fail:
	rc = errno;
	hv_vcpu_free(vcpu);
	errno = rc;
	return NULL;
}

void hv_vcpu_free(struct hv_vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	if (vcpu->wake_fd >= 0)
		close(vcpu->wake_fd);
	free(vcpu);
}

int hv_vcpu_run(struct hv_vcpu *vcpu)
{
	if (!vcpu->has_thread) {
		vcpu->thread = pthread_self();
		__atomic_store_n(&vcpu->has_thread, 1, __ATOMIC_RELEASE);
	}
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
		int err = errno;
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		return -err;
	}
	return 0;
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	uint64_t one = 1;

	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&vcpu->has_thread, __ATOMIC_ACQUIRE))
		pthread_kill(vcpu->thread, HV_KICK_SIGNAL);
	if (write(vcpu->wake_fd, &one, sizeof(one)) < 0)
		log_debug("hv_vcpu %u: wake: %s", vcpu->index, strerror(errno));
}

int hv_vcpu_settle(struct hv_vcpu *vcpu)
{
	int rc;

	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	rc = ioctl(vcpu->fd, KVM_RUN, 0);
	rc = rc < 0 ? -errno : 0;
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	return rc == -EINTR ? 0 : rc;
}

void hv_vcpu_wake_clear(struct hv_vcpu *vcpu)
{
	uint64_t v;

	while (read(vcpu->wake_fd, &v, sizeof(v)) == sizeof(v))
		;
}
