#include "hv_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Touch one byte per host page: the fallback where the kernel predates
 * MADV_POPULATE_WRITE (5.14). Slower, same end state. */
static void hv_mem_touch(uint8_t *p, uint64_t size)
{
	long pg = sysconf(_SC_PAGESIZE);

	for (uint64_t off = 0; off < size; off += (uint64_t)pg)
		((volatile uint8_t *)p)[off] = 0;
}

/* MADV_POPULATE_WRITE holds mmap_lock for reading while it runs; chunks
 * let anything that needs it for writing (thread stacks, vCPU creation,
 * large mallocs) in between, so a background populate does not stall the
 * vmm's start-up. */
#define HV_MEM_POPULATE_CHUNK (8ull << 20)

static int hv_mem_populate(struct hv_mem *mem)
{
	for (uint64_t off = 0; off < mem->size; off += HV_MEM_POPULATE_CHUNK) {
		if (__atomic_load_n(&mem->populate_stop, __ATOMIC_RELAXED))
			break;
		uint64_t n = mem->size - off < HV_MEM_POPULATE_CHUNK ? mem->size - off
								     : HV_MEM_POPULATE_CHUNK;
		if (madvise(mem->base + off, n, MADV_POPULATE_WRITE) == 0)
			continue;
		if (errno != EINVAL)
			return -errno;
		log_debug("hv_mem: MADV_POPULATE_WRITE unsupported, touching pages");
		hv_mem_touch(mem->base + off, mem->size - off);
		break;
	}
	return 0;
}

static void *hv_mem_populator(void *arg)
{
	struct hv_mem *mem = arg;
	int rc = hv_mem_populate(mem);

	if (rc < 0)
		log_debug("hv_mem: background populate: %s", strerror(-rc));
	return NULL;
}

void hv_mem_populate_start(struct hv_mem *mem)
{
	if (!mem->populate_bg || mem->populating || mem->populated)
		return;
	if (pthread_create(&mem->populator, NULL, hv_mem_populator, mem) == 0)
		mem->populating = 1;
	else
		hv_mem_populate(mem);
	mem->populated = 1;
}

void hv_mem_populate_wait(struct hv_mem *mem)
{
	if (!mem->populating)
		return;
	pthread_join(mem->populator, NULL);
	mem->populating = 0;
}

int hv_mem_init(struct hv_mem *mem, uint64_t size, unsigned flags)
{
	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % HV_HUGE_SIZE != 0 || size > (1ull << 46))
		return -EINVAL;
	/* Over-map by 2 MiB so that gpa 0 sits on a huge-page boundary. */
	mem->map_len = size + HV_HUGE_SIZE;
	mem->map = mmap(NULL, mem->map_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem->map == MAP_FAILED) {
		mem->map = NULL;
		return -ENOMEM;
	}
	uintptr_t a = ((uintptr_t)mem->map + HV_HUGE_SIZE - 1) & ~(uintptr_t)(HV_HUGE_SIZE - 1);
	mem->base = (uint8_t *)a;
	mem->size = size;
	if (!(flags & HV_MEM_NOHUGE) && madvise(mem->base, size, MADV_HUGEPAGE) < 0)
		log_debug("hv_mem: MADV_HUGEPAGE: %s", strerror(errno));
	if (flags & HV_MEM_NOHUGE)
		madvise(mem->base, size, MADV_NOHUGEPAGE);
	mem->populate_bg = !!(flags & HV_MEM_PREALLOC_BG);
	if (flags & HV_MEM_PREALLOC) {
		int rc = hv_mem_populate(mem);
		if (rc < 0) {
			hv_mem_fini(mem);
			return rc;
		}
		mem->populated = 1;
	}
	return 0;
}

void hv_mem_fini(struct hv_mem *mem)
{
	__atomic_store_n(&mem->populate_stop, 1, __ATOMIC_RELAXED);
	hv_mem_populate_wait(mem);
	if (mem->map)
		munmap(mem->map, mem->map_len);
	memset(mem, 0, sizeof(*mem));
}

void *hv_mem_ptr(const struct hv_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!mem->base || gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->base + gpa;
}

uint64_t hv_mem_npages(const struct hv_mem *mem)
{
	return mem->size >> HV_PAGE_SHIFT;
}
