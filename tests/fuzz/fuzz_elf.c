/*
 * The guest image loader (hv_elf.c) on arbitrary files, for 4 MiB of guest
 * RAM. Checking alone (mem NULL, as hv_elf_check_file does) and loading
 * must agree; a refusal is -ENOEXEC with a reason; an accepted image has
 * 1..HV_ELF_SEG_MAX segments inside RAM at or above TERN_GPA_IMAGE_MIN,
 * its entry in an executable one, and after loading every PT_LOAD's bytes
 * are in RAM at p_paddr, its bss part zeroed.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tern/abi.h>

#include "hv_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM (4ull << 20)

static void check_image(const struct hv_elf_image *img)
{
	int entry_ok = 0;

	if (img->nsegs == 0 || img->nsegs > HV_ELF_SEG_MAX || img->image_end > FUZZ_RAM)
		__builtin_trap();
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct hv_elf_seg *s = &img->seg[i];

		if (s->gpa < TERN_GPA_IMAGE_MIN || s->memsz == 0 || s->memsz > FUZZ_RAM - s->gpa ||
		    s->gpa + s->memsz > img->image_end)
			__builtin_trap();
		if ((s->flags & HV_ELF_SEG_EXEC) && img->entry >= s->gpa &&
		    img->entry - s->gpa < s->memsz)
			entry_ok = 1;
	}
	if (!entry_ok)
		__builtin_trap();
}

/* Every PT_LOAD of the file, as the loader must have put it in RAM. */
static void check_ram(const struct hv_mem *mem, const uint8_t *data, size_t size)
{
	Elf64_Ehdr eh;

	memcpy(&eh, data, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		const uint8_t *ram;

		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		ram = hv_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!ram || ph.p_offset > size || ph.p_filesz > size - ph.p_offset ||
		    memcmp(ram, data + ph.p_offset, ph.p_filesz) != 0)
			__builtin_trap();
		for (uint64_t b = ph.p_filesz; b < ph.p_memsz; b++)
			if (ram[b] != 0)
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_mem mem;
	static int ready;
	struct hv_elf_image checked, loaded;
	char err1[256] = "", err2[256] = "";
	int rc1, rc2;

	if (!ready) {
		if (hv_mem_init(&mem, FUZZ_RAM, HV_MEM_NOHUGE) < 0)
			abort(); /* the environment, not the input */
		ready = 1;
	}
	rc1 = hv_elf_load(NULL, FUZZ_RAM, data, size, &checked, err1, sizeof(err1));
	rc2 = hv_elf_load(&mem, FUZZ_RAM, data, size, &loaded, err2, sizeof(err2));
	if (rc1 != rc2 || (rc1 < 0 && (rc1 != -ENOEXEC || !err1[0] || strcmp(err1, err2) != 0)))
		__builtin_trap();
	if (rc1 < 0)
		return 0;
	if (memcmp(&checked, &loaded, sizeof(checked)) != 0)
		__builtin_trap();
	check_image(&loaded);
	check_ram(&mem, data, size);
	return 0;
}
