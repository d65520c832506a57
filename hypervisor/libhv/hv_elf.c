#include "hv_elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tern/abi.h>

#define HV_ELF_PHNUM_MAX 64u

static int hv_elf_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int hv_elf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -ENOEXEC;
}

static int hv_elf_check_ehdr(const Elf64_Ehdr *eh, size_t len, char *err, size_t errlen)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return hv_elf_fail(err, errlen, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return hv_elf_fail(err, errlen, "not a 64-bit ELF (class %u)",
				   eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return hv_elf_fail(err, errlen, "not little-endian");
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return hv_elf_fail(err, errlen, "unknown ELF version");
	if (eh->e_machine != EM_X86_64)
		return hv_elf_fail(err, errlen, "not an x86-64 image (machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return hv_elf_fail(err, errlen, "not a static executable (type %u)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return hv_elf_fail(err, errlen, "bad program header size %u", eh->e_phentsize);
	if (eh->e_phnum == 0 || eh->e_phnum > HV_ELF_PHNUM_MAX)
		return hv_elf_fail(err, errlen, "bad program header count %u", eh->e_phnum);
	if (eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return hv_elf_fail(err, errlen,
				   "program headers at 0x%llx beyond end of file (%zu bytes)",
				   (unsigned long long)eh->e_phoff, len);
	return 0;
}

static int hv_elf_check_seg(const Elf64_Phdr *ph, unsigned i, size_t len, uint64_t mem_size,
			    char *err, size_t errlen)
{
	uint64_t end = ph->p_paddr + ph->p_memsz;

	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return hv_elf_fail(err, errlen, "program header %u: file data beyond end of file",
				   i);
	if (ph->p_filesz > ph->p_memsz)
		return hv_elf_fail(err, errlen,
				   "program header %u: file size larger than memory size", i);
	if (ph->p_vaddr != ph->p_paddr)
		return hv_elf_fail(
		    err, errlen,
		    "program header %u: p_vaddr 0x%llx != p_paddr 0x%llx (RAM is identity-mapped)",
		    i, (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_paddr);
	if (end < ph->p_paddr)
		return hv_elf_fail(err, errlen, "program header %u: segment wraps around", i);
	if (ph->p_paddr < TERN_GPA_IMAGE_MIN)
		return hv_elf_fail(
		    err, errlen, "program header %u: segment [0x%llx, 0x%llx) below 0x%x", i,
		    (unsigned long long)ph->p_paddr, (unsigned long long)end, TERN_GPA_IMAGE_MIN);
	if (end > mem_size)
		return hv_elf_fail(
		    err, errlen,
		    "program header %u: segment [0x%llx, 0x%llx) beyond RAM (0x%llx bytes)", i,
		    (unsigned long long)ph->p_paddr, (unsigned long long)end,
		    (unsigned long long)mem_size);
	return 0;
}

static int hv_elf_check_overlap(const struct hv_elf_image *img, char *err, size_t errlen)
{
	for (unsigned a = 0; a < img->nsegs; a++)
		for (unsigned b = a + 1; b < img->nsegs; b++) {
			const struct hv_elf_seg *x = &img->seg[a], *y = &img->seg[b];
			if (x->gpa < y->gpa + y->memsz && y->gpa < x->gpa + x->memsz)
				return hv_elf_fail(err, errlen, "segments %u and %u overlap", a, b);
		}
	return 0;
}

static int hv_elf_check_entry(const struct hv_elf_image *img, char *err, size_t errlen)
{
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct hv_elf_seg *s = &img->seg[i];
		if ((s->flags & HV_ELF_SEG_EXEC) && img->entry >= s->gpa &&
		    img->entry < s->gpa + s->memsz)
			return 0;
	}
	return hv_elf_fail(err, errlen, "entry point 0x%llx not in an executable segment",
			   (unsigned long long)img->entry);
}

static uint64_t hv_elf_note_pad(uint64_t n, uint64_t align)
{
	return (n + align - 1) & ~(align - 1);
}

/* Walks the notes of one PT_NOTE segment (p[0..size) at file offset `foff`).
 * Returns 1 with *version set when the ABI note is among them, 0 when it is
 * not, -ENOEXEC when a note does not fit. Names and descriptors are padded
 * to 4 bytes, or to 8 in a segment aligned to 8 (gABI). */
static int hv_elf_scan_notes(const uint8_t *p, uint64_t size, uint64_t align, uint64_t foff,
			     uint32_t *version, char *err, size_t errlen)
{
	uint64_t off = 0;

	while (off < size) {
		Elf64_Nhdr nh;
		if (size - off < sizeof(nh))
			return hv_elf_fail(err, errlen, "note at offset 0x%llx: truncated header",
					   (unsigned long long)(foff + off));
		memcpy(&nh, p + off, sizeof(nh)); /* the file gives no alignment */
		/* 32-bit sizes on offsets within a buffer in memory: no overflow. */
		uint64_t name = off + sizeof(nh);
		uint64_t desc = name + hv_elf_note_pad(nh.n_namesz, align);
		if (desc > size || nh.n_descsz > size - desc)
			return hv_elf_fail(
			    err, errlen, "note at offset 0x%llx: sizes %u + %u overrun its segment",
			    (unsigned long long)(foff + off), nh.n_namesz, nh.n_descsz);
		if (nh.n_namesz == sizeof(TERN_NOTE_NAME) && nh.n_type == TERN_NOTE_ABI_VERSION &&
		    memcmp(p + name, TERN_NOTE_NAME, sizeof(TERN_NOTE_NAME)) == 0) {
			if (nh.n_descsz != sizeof(*version))
				return hv_elf_fail(
				    err, errlen,
				    "ABI note at offset 0x%llx: descriptor of %u bytes, want %zu",
				    (unsigned long long)(foff + off), nh.n_descsz,
				    sizeof(*version));
			memcpy(version, p + desc, sizeof(*version));
			return 1;
		}
		off = desc + hv_elf_note_pad(nh.n_descsz, align); /* past size ends the walk */
	}
	return 0;
}

/* The image must carry the ABI note (abi.h) for this vmm's version. */
static int hv_elf_check_abi(const uint8_t *buf, size_t len, const Elf64_Phdr *ph, unsigned phnum,
			    char *err, size_t errlen)
{
	uint32_t version = 0;
	int rc = 0;

	for (unsigned i = 0; i < phnum && rc == 0; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		if (ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset)
			return hv_elf_fail(err, errlen,
					   "program header %u: file data beyond end of file", i);
		rc = hv_elf_scan_notes(buf + ph[i].p_offset, ph[i].p_filesz,
				       ph[i].p_align == 8 ? 8 : 4, ph[i].p_offset, &version, err,
				       errlen);
	}
	if (rc < 0)
		return rc;
	if (rc == 0)
		return hv_elf_fail(err, errlen, "not a Tern guest image: no ABI note");
	if (version != TERN_ABI_VERSION)
		return hv_elf_fail(err, errlen, "built for guest ABI %u, this vmm speaks %u",
				   version, TERN_ABI_VERSION);
	return 0;
}

int hv_elf_load(struct hv_mem *mem, uint64_t mem_size, const void *buf, size_t len,
		struct hv_elf_image *img, char *err, size_t errlen)
{
	/* Headers are copied out: the file gives no alignment (e_phoff may
	 * be odd), and a misaligned struct access is undefined. */
	Elf64_Ehdr eh;
	Elf64_Phdr ph[HV_ELF_PHNUM_MAX];
	int rc;

	memset(img, 0, sizeof(*img));
	if (len < sizeof(eh))
		return hv_elf_fail(err, errlen, "file too short for an ELF header (%zu bytes)",
				   len);
	memcpy(&eh, buf, sizeof(eh));
	if ((rc = hv_elf_check_ehdr(&eh, len, err, errlen)) < 0)
		return rc;
	memcpy(ph, (const uint8_t *)buf + eh.e_phoff, eh.e_phnum * sizeof(ph[0]));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if ((rc = hv_elf_check_seg(&ph[i], i, len, mem_size, err, errlen)) < 0)
			return rc;
		if (img->nsegs == HV_ELF_SEG_MAX)
			return hv_elf_fail(err, errlen, "more than %u PT_LOAD segments",
					   HV_ELF_SEG_MAX);
		struct hv_elf_seg *s = &img->seg[img->nsegs++];
		s->gpa = ph[i].p_paddr;
		s->memsz = ph[i].p_memsz;
		s->flags = (ph[i].p_flags & PF_X) ? HV_ELF_SEG_EXEC : 0;
		if (s->gpa + s->memsz > img->image_end)
			img->image_end = s->gpa + s->memsz;
	}
	if (img->nsegs == 0)
		return hv_elf_fail(err, errlen, "no PT_LOAD segment");
	img->entry = eh.e_entry;
	if ((rc = hv_elf_check_overlap(img, err, errlen)) < 0 ||
	    (rc = hv_elf_check_entry(img, err, errlen)) < 0 ||
	    (rc = hv_elf_check_abi(buf, len, ph, eh.e_phnum, err, errlen)) < 0)
		return rc;
	for (unsigned i = 0; mem && i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		uint8_t *dst = hv_mem_ptr(mem, ph[i].p_paddr, ph[i].p_memsz);
		if (!dst)
			return hv_elf_fail(err, errlen, "program header %u: segment outside RAM",
					   i);
		memcpy(dst, (const uint8_t *)buf + ph[i].p_offset, ph[i].p_filesz);
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return 0;
}

static int hv_elf_read(const char *path, uint8_t **out, size_t *outlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if ((uint64_t)st.st_size > HV_ELF_FILE_MAX)
		rc = -EFBIG;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*out = malloc(st.st_size ? (size_t)st.st_size : 1);
	while (*out && got < (size_t)st.st_size) {
		ssize_t n = read(fd, *out + got, (size_t)st.st_size - got);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)n;
	}
	if (!*out)
		rc = -ENOMEM;
	close(fd);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	*outlen = got;
	return rc;
}

static int hv_elf_file(struct hv_mem *mem, uint64_t mem_size, const char *path,
		       struct hv_elf_image *img, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = hv_elf_read(path, &buf, &len);

	if (rc < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	rc = hv_elf_load(mem, mem_size, buf, len, img, err, errlen);
	free(buf);
	return rc;
}

int hv_elf_load_file(struct hv_mem *mem, const char *path, struct hv_elf_image *img, char *err,
		     size_t errlen)
{
	return hv_elf_file(mem, mem->size, path, img, err, errlen);
}

int hv_elf_check_file(const char *path, uint64_t mem_size, struct hv_elf_image *img, char *err,
		      size_t errlen)
{
	return hv_elf_file(NULL, mem_size, path, img, err, errlen);
}
