/*
 * ELF64 loader for guest images.
 *
 * The image is untrusted input: every header field is bounds-checked before
 * use, and every PT_LOAD segment must lie inside guest RAM, at or above
 * TERN_GPA_IMAGE_MIN, with p_vaddr == p_paddr (RAM is identity-mapped).
 * A PT_NOTE segment must hold the ABI note (abi.h) with TERN_ABI_VERSION:
 * "not a Tern guest image: no ABI note", "built for guest ABI 2, this vmm
 * speaks 1".
 * Failures return -ENOEXEC (or -errno for I/O) and a one-line reason in
 * `err` ("program header 2: segment [0x100000, 0x180000) below 0x200000").
 */
#ifndef HV_ELF_H
#define HV_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "hv_mem.h"

#define HV_ELF_SEG_MAX 16u
#define HV_ELF_FILE_MAX (256u << 20) /* refuse larger image files */

#define HV_ELF_SEG_EXEC 0x1u

struct hv_elf_seg {
	uint64_t gpa;
	uint64_t memsz;
	uint32_t flags; /* HV_ELF_SEG_EXEC */
	uint32_t pad;
};

struct hv_elf_image {
	uint64_t entry;
	uint64_t image_end; /* first byte past the highest segment */
	unsigned nsegs;
	struct hv_elf_seg seg[HV_ELF_SEG_MAX];
};

/* Checks the image in buf[0..len) and, if mem is non-NULL, copies its
 * segments into guest RAM (zeroing the bss part). Returns 0 or -ENOEXEC. */
int hv_elf_load(struct hv_mem *mem, uint64_t mem_size, const void *buf, size_t len,
		struct hv_elf_image *img, char *err, size_t errlen);
/* Reads `path` and calls hv_elf_load(). Returns 0, -ENOEXEC or -errno. */
int hv_elf_load_file(struct hv_mem *mem, const char *path, struct hv_elf_image *img, char *err,
		     size_t errlen);

/* Checks `path` as hv_elf_load_file() would for `mem_size` bytes of RAM,
 * loading nothing. */
int hv_elf_check_file(const char *path, uint64_t mem_size, struct hv_elf_image *img, char *err,
		      size_t errlen);

#endif
