#include "hv_dirty_log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hv_vm.h"

size_t hv_dirty_log_words(const struct hv_vm *vm)
{
	return (size_t)((hv_mem_npages(&vm->mem) + 63) / 64);
}

int hv_dirty_log_start(struct hv_vm *vm)
{
	return hv_vm_set_slot(vm, 1);
}

int hv_dirty_log_stop(struct hv_vm *vm)
{
	return hv_vm_set_slot(vm, 0);
}

uint64_t hv_dirty_log_count(const uint64_t *bitmap, size_t words)
{
	uint64_t n = 0;

	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(bitmap[i]);
	return n;
}

/* Clears only the 64-page chunks with dirty bits: one ioctl per run of
 * non-zero words keeps the all-clean case cheap for large RAM. */
static int hv_dirty_log_clear(struct hv_vm *vm, uint64_t *bitmap, size_t words)
{
	uint64_t npages = hv_mem_npages(&vm->mem);
	size_t w = 0;

	while (w < words) {
		if (!bitmap[w]) {
			w++;
			continue;
		}
		size_t end = w;
		while (end < words && bitmap[end])
			end++;
		uint64_t first = (uint64_t)w * 64, last = (uint64_t)end * 64;
		struct kvm_clear_dirty_log c = {
		    .slot = HV_MEM_SLOT,
		    .first_page = first,
		    .num_pages = (uint32_t)((last > npages ? npages : last) - first),
		    .dirty_bitmap = &bitmap[w],
		};
		if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c) < 0)
			return -errno;
		w = end;
	}
	return 0;
}

int64_t hv_dirty_log_sync(struct hv_vm *vm, uint64_t *bitmap)
{
	size_t words = hv_dirty_log_words(vm);
	struct kvm_dirty_log d = {.slot = HV_MEM_SLOT, .dirty_bitmap = bitmap};
	int rc;

	if (!vm->dirty_logging)
		return -EINVAL;
	memset(bitmap, 0, words * sizeof(uint64_t));
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
		return -errno;
	if (vm->dirty_manual && (rc = hv_dirty_log_clear(vm, bitmap, words)) < 0)
		return rc;
	return (int64_t)hv_dirty_log_count(bitmap, words);
}
