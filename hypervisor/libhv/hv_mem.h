/*
 * Guest RAM: one anonymous mapping from guest-physical 0 to `size`.
 *
 * Guest pointers are integers on the host side; hv_mem_ptr() is the only way
 * from a guest-physical address to host memory, and it checks the whole
 * range against the RAM size (Solo5 hvt style).
 */
#ifndef HV_MEM_H
#define HV_MEM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define HV_PAGE_SIZE 4096ull
#define HV_PAGE_SHIFT 12
#define HV_HUGE_SIZE (2ull << 20)

/* hv_mem_init flags */
#define HV_MEM_PREALLOC 0x1u /* populate all of RAM now (MADV_POPULATE_WRITE) */
#define HV_MEM_NOHUGE 0x2u   /* no MADV_HUGEPAGE: 4 KiB host pages (benchmarks) */
/* Populate from a background thread started by hv_mem_populate_start(),
 * so that the guest starts at once; its own first touches and the thread
 * fault pages in concurrently. */
#define HV_MEM_PREALLOC_BG 0x4u

struct hv_mem {
	uint8_t *base; /* host address of gpa 0 */
	uint64_t size; /* bytes, a multiple of 2 MiB */
	void *map;     /* the mmap()ed region (base rounded up inside it) */
	size_t map_len;
	int populated; /* 1 if MADV_POPULATE_WRITE (or its fallback) ran */
	pthread_t populator;
	int populate_bg;   /* HV_MEM_PREALLOC_BG given */
	int populating;	   /* the background thread exists and is not joined */
	int populate_stop; /* asks the thread to stop early (teardown) */
};

/* Maps `size` bytes (multiple of 2 MiB, > 0) of zeroed guest RAM. Returns 0
 * or -errno (-EINVAL for a bad size, -ENOMEM). Populating falls back to
 * touching every page where MADV_POPULATE_WRITE is unsupported. */
int hv_mem_init(struct hv_mem *mem, uint64_t size, unsigned flags);
/* Starts the background population of HV_MEM_PREALLOC_BG memory (once;
 * populates in the caller if no thread can be made). Call it after the
 * threads and vCPUs exist: population holds mmap_lock, in 8 MiB steps. */
void hv_mem_populate_start(struct hv_mem *mem);
/* Waits for a background population to finish (no-op without one). */
void hv_mem_populate_wait(struct hv_mem *mem);
/* Unmaps (after waiting for population); safe on a zeroed or already
 * finalised struct. */
void hv_mem_fini(struct hv_mem *mem);
/* Host pointer for [gpa, gpa+len), or NULL if any byte lies outside RAM
 * (also on overflow). len 0 is valid for gpa <= size. */
void *hv_mem_ptr(const struct hv_mem *mem, uint64_t gpa, uint64_t len);
/* Number of 4 KiB pages of RAM. */
uint64_t hv_mem_npages(const struct hv_mem *mem);

#endif
