/*
 * hv_badcall OUT.elf badptr|port|in
 *
 * Writes a tiny guest image that attacks the vmm's hypercall interface:
 *   badptr  console write with a data pointer beyond RAM and with a huge
 *           length, console read into memory beyond RAM (each must return
 *           -TERN_EINVAL), net kick (-TERN_ENODEV), then hypercalls whose
 *           argument struct lies outside RAM or straddles its end (must be
 *           ignored); prints "badcall: ok" and halts 0 if every return was
 *           right, else halts with the number of the failed step (1-4).
 *           Needs memory = 32 (the straddling pointer is 32 MiB - 8).
 *   port    an out to port 0x600, which no device owns: the vmm must crash
 *           the domain ("unknown port 0x600").
 *   in      an in from a hypercall port: also a crash.
 * The code below is the assembly in the comment, assembled with GNU as. The
 * image carries the ABI note (abi.h) in a PT_NOTE segment, as the vmm wants.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tern/abi.h>

/*
 * badptr: mov $0x201000,%eax; mov $0x500,%edx; out %eax,(%dx)    # A: data beyond RAM
 *         cmpq $-22,0x201010; jne fail1
 *         mov $0x201020,%eax; out %eax,(%dx)                      # B: length 2^62
 *         cmpq $-22,0x201030; jne fail2
 *         mov $0x201040,%eax; mov $0x501,%edx; out %eax,(%dx)     # C: read beyond RAM
 *         cmpq $-22,0x201050; jne fail3
 *         mov $0x201060,%eax; mov $0x503,%edx; out %eax,(%dx)     # D: net kick
 *         cmpq $-19,0x201068; jne fail4
 *         mov $0x7ffff000,%eax; mov $0x500,%edx; out %eax,(%dx)   # struct beyond RAM
 *         mov $0x1fffff8,%eax; out %eax,(%dx)                     # struct straddles the end
 *         mov $0x7ffff000,%eax; mov $0x502,%edx; out %eax,(%dx)   # yield, struct beyond RAM
 *         mov $0x201080,%eax; mov $0x500,%edx; out %eax,(%dx)     # E: "badcall: ok\n"
 *         movq $0,0x2010c0; jmp halt
 * failN:  movq $N,0x2010c0; jmp halt
 * halt:   mov $0x2010c0,%eax; mov $0x504,%edx; out %eax,(%dx); jmp .
 * port:   mov $0x201000,%eax; mov $0x600,%edx; out %eax,(%dx); jmp .      (offset 0xcb)
 * in:     mov $0x500,%edx; in (%dx),%eax; jmp .                           (offset 0xd8)
 */
static const uint8_t code[] = {
    0xb8, 0x00, 0x10, 0x20, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0x48, 0x83, 0x3c, 0x25, 0x10,
    0x10, 0x20, 0x00, 0xea, 0x75, 0x72, 0xb8, 0x20, 0x10, 0x20, 0x00, 0xef, 0x48, 0x83, 0x3c, 0x25,
    0x30, 0x10, 0x20, 0x00, 0xea, 0x75, 0x6f, 0xb8, 0x40, 0x10, 0x20, 0x00, 0xba, 0x01, 0x05, 0x00,
    0x00, 0xef, 0x48, 0x83, 0x3c, 0x25, 0x50, 0x10, 0x20, 0x00, 0xea, 0x75, 0x67, 0xb8, 0x60, 0x10,
    0x20, 0x00, 0xba, 0x03, 0x05, 0x00, 0x00, 0xef, 0x48, 0x83, 0x3c, 0x25, 0x68, 0x10, 0x20, 0x00,
    0xed, 0x75, 0x5f, 0xb8, 0x00, 0xf0, 0xff, 0x7f, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0xb8, 0xf8,
    0xff, 0xff, 0x01, 0xef, 0xb8, 0x00, 0xf0, 0xff, 0x7f, 0xba, 0x02, 0x05, 0x00, 0x00, 0xef, 0xb8,
    0x80, 0x10, 0x20, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0x48, 0xc7, 0x04, 0x25, 0xc0, 0x10,
    0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0xeb, 0x36, 0x48, 0xc7, 0x04, 0x25, 0xc0, 0x10, 0x20, 0x00,
    0x01, 0x00, 0x00, 0x00, 0xeb, 0x28, 0x48, 0xc7, 0x04, 0x25, 0xc0, 0x10, 0x20, 0x00, 0x02, 0x00,
    0x00, 0x00, 0xeb, 0x1a, 0x48, 0xc7, 0x04, 0x25, 0xc0, 0x10, 0x20, 0x00, 0x03, 0x00, 0x00, 0x00,
    0xeb, 0x0c, 0x48, 0xc7, 0x04, 0x25, 0xc0, 0x10, 0x20, 0x00, 0x04, 0x00, 0x00, 0x00, 0xb8, 0xc0,
    0x10, 0x20, 0x00, 0xba, 0x04, 0x05, 0x00, 0x00, 0xef, 0xeb, 0xfe, 0xb8, 0x00, 0x10, 0x20, 0x00,
    0xba, 0x00, 0x06, 0x00, 0x00, 0xef, 0xeb, 0xfe, 0xba, 0x00, 0x05, 0x00, 0x00, 0xed, 0xeb, 0xfe};

#define CODE_GPA 0x200000u
#define DATA_GPA 0x201000u
#define NOTE_OFF 0x1800u /* file offset, past the code */

struct hc3 {
	uint64_t a, b;
	int64_t ret;
};

static void put(uint8_t *data, uint32_t gpa, const void *p, size_t n)
{
	memcpy(data + (gpa - DATA_GPA), p, n);
}

int main(int argc, char **argv)
{
	static uint8_t file[0x2200];
	uint8_t *data = file + 0x2000;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)file;
	Elf64_Phdr *ph = (Elf64_Phdr *)(file + sizeof(*eh));
	uint64_t entry = CODE_GPA;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: hv_badcall OUT.elf badptr|port|in\n");
		return 2;
	}
	if (strcmp(argv[2], "port") == 0)
		entry = CODE_GPA + 0xcb;
	else if (strcmp(argv[2], "in") == 0)
		entry = CODE_GPA + 0xd8;
	else if (strcmp(argv[2], "badptr") != 0)
		return 2;
	put(data, 0x201000, &(struct hc3){0x7fffffff0000ull, 16, 0}, 24);
	put(data, 0x201020, &(struct hc3){0x201100, 1ull << 62, 0}, 24);
	put(data, 0x201040, &(struct hc3){0xfffff00000000000ull, 8, 0}, 24);
	put(data, 0x201080, &(struct hc3){0x201100, 12, 0}, 24);
	put(data, 0x201100, "badcall: ok\n", 12);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;
	ph[0] = (Elf64_Phdr){PT_LOAD,  PF_R | PF_X,  0x1000,	   CODE_GPA,
			     CODE_GPA, sizeof(code), sizeof(code), 0x1000};
	ph[1] =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_W, 0x2000, DATA_GPA, DATA_GPA, 0x200, 0x1000, 0x1000};
	ph[2] = (Elf64_Phdr){PT_NOTE, PF_R, NOTE_OFF, 0, 0, sizeof(struct tern_abi_note), 0, 4};
	memcpy(file + 0x1000, code, sizeof(code));
	memcpy(file + NOTE_OFF,
	       &(struct tern_abi_note){sizeof(TERN_NOTE_NAME), sizeof(uint32_t),
				       TERN_NOTE_ABI_VERSION, TERN_NOTE_NAME, TERN_ABI_VERSION},
	       sizeof(struct tern_abi_note));
	f = fopen(argv[1], "wb");
	if (!f || fwrite(file, 1, sizeof(file), f) != sizeof(file) || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
