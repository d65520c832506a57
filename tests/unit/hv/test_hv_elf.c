/* ELF loader: a good image loads; every malformed header is refused with
 * its exact reason. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv_elf.h"

#define RAM (8ull << 20)
#define IMG_LEN 0x3000

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

/* Two segments: code at 0x200000 (R+X), data+bss at 0x300000 (R+W). */
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
	eh(i)->e_phnum = 2;
	*ph(i, 0) =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_X, 0x1000, 0x200000, 0x200000, 0x100, 0x100, 0x1000};
	*ph(i, 1) =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_W, 0x2000, 0x300000, 0x300000, 0x10, 0x2000, 0x1000};
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_image),
	    cmocka_unit_test(test_bad_images),
	    cmocka_unit_test(test_load_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
