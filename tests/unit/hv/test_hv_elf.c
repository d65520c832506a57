/* ELF loader: a good image loads; every malformed header, a missing,
 * foreign-version or malformed ABI note is refused with its exact reason. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <tern/abi.h>

#include "hv_elf.h"

#define RAM (8ull << 20)
#define IMG_LEN 0x3000
#define NOTE_OFF 0x2100 /* past both PT_LOADs' file data */

struct img {
	uint8_t b[IMG_LEN];
};

static Elf64_Ehdr *eh(struct img *i)
{
	return (Elf64_Ehdr *)i->b;
}
static Elf64_Phdr *ph(struct img *i, int n)
{
	return (Elf64_Phdr *)(i->b + 64) + n;
}
static struct tern_abi_note *note(struct img *i, size_t off)
{
	return (struct tern_abi_note *)(i->b + off);
}

static void put_note(struct img *i, size_t off)
{
	*note(i, off) =
	    (struct tern_abi_note){sizeof(TERN_NOTE_NAME), sizeof(uint32_t), TERN_NOTE_ABI_VERSION,
				   TERN_NOTE_NAME, TERN_ABI_VERSION};
}

/* Two segments: code at 0x200000 (R+X), data+bss at 0x300000 (R+W); the
 * ABI note in a PT_NOTE segment of its own. */
static void make_image(struct img *i)
{
	memset(i, 0, sizeof(*i));
	memcpy(eh(i)->e_ident, ELFMAG, SELFMAG);
	eh(i)->e_ident[EI_CLASS] = ELFCLASS64;
	eh(i)->e_ident[EI_DATA] = ELFDATA2LSB;
	eh(i)->e_ident[EI_VERSION] = EV_CURRENT;
	eh(i)->e_type = ET_EXEC;
	eh(i)->e_machine = EM_X86_64;
	eh(i)->e_version = EV_CURRENT;
	eh(i)->e_entry = 0x200010;
	eh(i)->e_phoff = 64;
	eh(i)->e_ehsize = 64;
	eh(i)->e_phentsize = sizeof(Elf64_Phdr);
	eh(i)->e_phnum = 3;
	*ph(i, 0) =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0x1000, 0x200000, 0x200000, 0x100, 0x100, 0x1000};
	*ph(i, 1) =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_W, 0x2000, 0x300000, 0x300000, 0x10, 0x2000, 0x1000};
	*ph(i, 2) = (Elf64_Phdr){PT_NOTE, PF_R, NOTE_OFF, 0, 0, sizeof(struct tern_abi_note), 0, 4};
	put_note(i, NOTE_OFF);
	memset(i->b + 0x1000, 0x90, 0x100);
	memset(i->b + 0x2000, 0xab, 0x10);
}

static void test_good_image(void **state)
{
	struct hv_mem mem;
	struct hv_elf_image img;
	struct img i;
	char err[256] = "";

	(void)state;
	make_image(&i);
	assert_int_equal(hv_mem_init(&mem, RAM, 0), 0);
	memset(hv_mem_ptr(&mem, 0x300000, 0x3000), 0xee, 0x3000);
	assert_int_equal(hv_elf_load(&mem, mem.size, i.b, sizeof(i.b), &img, err, sizeof(err)), 0);
	assert_int_equal(img.entry, 0x200010);
	assert_int_equal(img.nsegs, 2);
	assert_int_equal(img.image_end, 0x302000);
	assert_int_equal(img.seg[0].flags, HV_ELF_SEG_EXEC);
	assert_int_equal(img.seg[1].flags, 0);
	uint8_t *code = hv_mem_ptr(&mem, 0x200000, 0x100);
	uint8_t *data = hv_mem_ptr(&mem, 0x300000, 0x2001);
	assert_int_equal(code[0], 0x90);
	assert_int_equal(code[0xff], 0x90);
	assert_int_equal(data[0xf], 0xab);
	assert_int_equal(data[0x10], 0); /* bss zeroed */
	assert_int_equal(data[0x1fff], 0);
	assert_int_equal(data[0x2000], 0xee); /* nothing past memsz touched */
	hv_mem_fini(&mem);
	hv_mem_fini(&mem); /* twice is fine */
}

typedef void (*mutate_fn)(struct img *i, size_t *len);

static void m_short(struct img *i, size_t *len)
{
	(void)i;
	*len = 20;
}
static void m_magic(struct img *i, size_t *len)
{
	(void)len;
	i->b[1] = 'X';
}
static void m_class(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_ident[EI_CLASS] = ELFCLASS32;
}
static void m_endian(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_ident[EI_DATA] = ELFDATA2MSB;
}
static void m_machine(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_machine = EM_AARCH64;
}
static void m_type(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_type = ET_DYN;
}
static void m_phentsize(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_phentsize = 32;
}
static void m_phnum0(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_phnum = 0;
}
static void m_phnum_big(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_phnum = 1000;
}
static void m_phoff(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_phoff = 0x2ff0;
}
static void m_phoff_huge(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_phoff = ~0ull - 10;
}
static void m_offset(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 0)->p_offset = 0x2f80;
}
static void m_offset_wrap(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 0)->p_offset = ~0ull;
}
static void m_filesz(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 1)->p_filesz = 0x3000;
	ph(i, 1)->p_offset = 0;
}
static void m_vaddr(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 1)->p_vaddr = 0x400000;
}
static void m_low(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 1)->p_paddr = ph(i, 1)->p_vaddr = 0x100000;
}
static void m_high(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 1)->p_paddr = ph(i, 1)->p_vaddr = 0x7ff000;
}
static void m_wrap(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 1)->p_paddr = ph(i, 1)->p_vaddr = ~0ull - 0xfff;
}
static void m_overlap(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 1)->p_paddr = ph(i, 1)->p_vaddr = 0x200080;
}
static void m_entry(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_entry = 0x300000;
}
static void m_noload(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 0)->p_type = PT_NOTE;
	ph(i, 1)->p_type = PT_NOTE;
}

static void m_note_none(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 2)->p_type = PT_NULL;
}
static void m_note_name(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->name[3] = 'a';
}
static void m_note_type(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->type = 2;
}
static void m_note_version(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->abi_version = 2;
}
static void m_note_version0(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->abi_version = 0;
}
static void m_note_short_hdr(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 2)->p_filesz = 8;
}
static void m_note_short_desc(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 2)->p_filesz = 22;
}
static void m_note_namesz(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->namesz = ~0u;
}
static void m_note_descsz(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->descsz = ~0u - 2;
}
static void m_note_desc8(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->descsz = 8;
	ph(i, 2)->p_filesz += 4;
}
static void m_note_tail(struct img *i, size_t *len)
{
	(void)len;
	note(i, NOTE_OFF)->type = 2; /* not ours: the walk goes on into 3 stray bytes */
	ph(i, 2)->p_filesz += 3;
}
static void m_note_offset(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 2)->p_offset = 0x2ff0;
}
static void m_note_offset_wrap(struct img *i, size_t *len)
{
	(void)len;
	ph(i, 2)->p_offset = ~0ull - 4;
}
static void m_note_file_cut(struct img *i, size_t *len)
{
	(void)i;
	*len = NOTE_OFF + 16;
}

static const struct {
	mutate_fn fn;
	const char *err;
} bad[] = {
    {m_short, "file too short for an ELF header (20 bytes)"},
    {m_magic, "not an ELF file (bad magic)"},
    {m_class, "not a 64-bit ELF (class 1)"},
    {m_endian, "not little-endian"},
    {m_machine, "not an x86-64 image (machine 183)"},
    {m_type, "not a static executable (type 3)"},
    {m_phentsize, "bad program header size 32"},
    {m_phnum0, "bad program header count 0"},
    {m_phnum_big, "bad program header count 1000"},
    {m_phoff, "program headers at 0x2ff0 beyond end of file (12288 bytes)"},
    {m_phoff_huge, "program headers at 0xfffffffffffffff5 beyond end of file (12288 bytes)"},
    {m_offset, "program header 0: file data beyond end of file"},
    {m_offset_wrap, "program header 0: file data beyond end of file"},
    {m_filesz, "program header 1: file size larger than memory size"},
    {m_vaddr, "program header 1: p_vaddr 0x400000 != p_paddr 0x300000 (RAM is identity-mapped)"},
    {m_low, "program header 1: segment [0x100000, 0x102000) below 0x200000"},
    {m_high, "program header 1: segment [0x7ff000, 0x801000) beyond RAM (0x800000 bytes)"},
    {m_wrap, "program header 1: segment wraps around"},
    {m_overlap, "segments 0 and 1 overlap"},
    {m_entry, "entry point 0x300000 not in an executable segment"},
    {m_noload, "no PT_LOAD segment"},
    {m_note_none, "not a Tern guest image: no ABI note"},
    {m_note_name, "not a Tern guest image: no ABI note"},
    {m_note_type, "not a Tern guest image: no ABI note"},
    {m_note_version, "built for guest ABI 2, this vmm speaks 1"},
    {m_note_version0, "built for guest ABI 0, this vmm speaks 1"},
    {m_note_short_hdr, "note at offset 0x2100: truncated header"},
    {m_note_short_desc, "note at offset 0x2100: sizes 5 + 4 overrun its segment"},
    {m_note_namesz, "note at offset 0x2100: sizes 4294967295 + 4 overrun its segment"},
    {m_note_descsz, "note at offset 0x2100: sizes 5 + 4294967293 overrun its segment"},
    {m_note_desc8, "ABI note at offset 0x2100: descriptor of 8 bytes, want 4"},
    {m_note_tail, "note at offset 0x2118: truncated header"},
    {m_note_offset, "program header 2: file data beyond end of file"},
    {m_note_offset_wrap, "program header 2: file data beyond end of file"},
    {m_note_file_cut, "program header 2: file data beyond end of file"},
};

static void test_bad_images(void **state)
{
	struct hv_elf_image img;
	struct img i;

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char err[256] = "";
		size_t len = sizeof(i.b);
		make_image(&i);
		bad[k].fn(&i, &len);
		int rc = hv_elf_load(NULL, RAM, i.b, len, &img, err, sizeof(err));
		if (rc != -ENOEXEC || strcmp(err, bad[k].err) != 0)
			fail_msg("case %zu: rc %d \"%s\", want \"%s\"", k, rc, err, bad[k].err);
	}
}

/* Images that must load: the ABI note among others, in a second PT_NOTE
 * segment, in an 8-aligned segment. */
static void g_after_other_note(struct img *i, size_t *len)
{
	(void)len;
	/* A GNU build-id note (namesz 4, descsz 20) first, then ours. */
	Elf64_Nhdr gnu = {4, 20, NT_GNU_BUILD_ID};
	memcpy(i->b + NOTE_OFF, &gnu, sizeof(gnu));
	memcpy(i->b + NOTE_OFF + sizeof(gnu), "GNU", 4);
	put_note(i, NOTE_OFF + 36);
	ph(i, 2)->p_filesz = 36 + sizeof(struct tern_abi_note);
}
static void g_second_segment(struct img *i, size_t *len)
{
	(void)len;
	eh(i)->e_phnum = 4;
	*ph(i, 3) = *ph(i, 2);
	note(i, NOTE_OFF)->type = 2;
	put_note(i, NOTE_OFF + 0x40);
	ph(i, 3)->p_offset = NOTE_OFF + 0x40;
}
static void g_align8(struct img *i, size_t *len)
{
	(void)len;
	/* With 8-byte padding the name "Tern\0" takes 8 bytes, as with 4. */
	ph(i, 2)->p_align = 8;
}

static void test_note_good(void **state)
{
	static const mutate_fn good[] = {g_after_other_note, g_second_segment, g_align8};
	struct hv_elf_image img;
	struct img i;

	(void)state;
	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
		char err[256] = "";
		size_t len = sizeof(i.b);
		make_image(&i);
		good[k](&i, &len);
		int rc = hv_elf_load(NULL, RAM, i.b, len, &img, err, sizeof(err));
		if (rc != 0)
			fail_msg("case %zu: rc %d \"%s\"", k, rc, err);
		assert_int_equal(img.entry, 0x200010);
	}
}

static void test_load_file_errors(void **state)
{
	struct hv_mem mem;
	struct hv_elf_image img;
	char err[256] = "";

	(void)state;
	assert_int_equal(hv_mem_init(&mem, RAM, 0), 0);
	assert_int_equal(hv_elf_load_file(&mem, "/nonexistent/x.elf", &img, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "No such file or directory");
	assert_int_equal(hv_elf_load_file(&mem, "/", &img, err, sizeof(err)), -EINVAL);
	hv_mem_fini(&mem);
}

/* Nothing in ELF promises alignment: program headers at an odd e_phoff,
 * and a whole image at an odd address, load like the aligned image. The
 * loader must copy headers out rather than read through a misaligned
 * pointer (UBSan's alignment check aborts the sanitizer build if it does). */
static void test_unaligned_headers(void **state)
{
	static _Alignas(16) uint8_t base[IMG_LEN + 16];
	static struct img i;
	struct hv_mem mem;
	struct hv_elf_image img;
	uint64_t phoff = 65;

	(void)state;
	assert_int_equal(hv_mem_init(&mem, RAM, 0), 0);
	for (int shift = 0; shift <= 1; shift++) {
		char err[256] = "";
		uint8_t *at = base + shift;

		make_image(&i);
		memmove(i.b + phoff, i.b + 64, 3 * sizeof(Elf64_Phdr));
		memcpy(i.b + offsetof(Elf64_Ehdr, e_phoff), &phoff, sizeof(phoff));
		memcpy(at, i.b, IMG_LEN);
		int rc = hv_elf_load(&mem, mem.size, at, IMG_LEN, &img, err, sizeof(err));
		if (rc != 0)
			fail_msg("image at +%d, e_phoff %llu: rc %d \"%s\"", shift,
				 (unsigned long long)phoff, rc, err);
		assert_int_equal(img.entry, 0x200010);
		assert_int_equal(img.nsegs, 2);
		assert_int_equal(img.image_end, 0x302000);
		assert_int_equal(((uint8_t *)hv_mem_ptr(&mem, 0x200000, 1))[0], 0x90);
		assert_int_equal(((uint8_t *)hv_mem_ptr(&mem, 0x300000, 16))[15], 0xab);
	}
	hv_mem_fini(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_image),	     cmocka_unit_test(test_bad_images),
	    cmocka_unit_test(test_note_good),	     cmocka_unit_test(test_unaligned_headers),
	    cmocka_unit_test(test_load_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
