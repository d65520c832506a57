/*
 * hv_dirtylog ELF [base=MiB pages=N stride=K rounds=R]
 *
 * Drives libhv directly: boots dirtylog.elf with the dirty log on, and at
 * each "dirtylog: round=..." console line (the vCPU is stopped in that
 * hypercall) reads and clears the dirty log and asserts that the bitmap of
 * the guest's test region is exactly the set of pages the line names.
 * Prints "hv_dirtylog: PASS rounds=R" and exits 0, or says what differed.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "hv_boot.h"
#include "hv_clock.h"
#include "hv_dirty_log.h"
#include "hv_elf.h"
#include "hv_lines.h"
#include "hv_vcpu.h"
#include "hv_vm.h"

#define MEM (64ull << 20)

struct run {
	struct hv_vm *vm;
	uint64_t *bitmap;
	uint64_t region_first, region_pages; /* pfns checked */
	unsigned rounds_ok;
	struct hv_lines lines;
};

static int test_bit(const uint64_t *b, uint64_t pfn)
{
	return (int)((b[pfn / 64] >> (pfn % 64)) & 1);
}

/* "dirtylog: round=<i> first=0x.. count=<n> stride=0x.." */
static int check_round(struct run *r, const char *line)
{
	unsigned round;
	uint64_t first, stride, count;

	if (sscanf(line, "dirtylog: round=%u first=%" SCNx64 " count=%" SCNu64 " stride=%" SCNx64,
		   &round, &first, &count, &stride) != 4) {
		fprintf(stderr, "hv_dirtylog: cannot parse '%s'\n", line);
		return -1;
	}
	int64_t n = hv_dirty_log_sync(r->vm, r->bitmap);
	if (n < 0) {
		fprintf(stderr, "hv_dirtylog: sync: %s\n", strerror((int)-n));
		return -1;
	}
	uint64_t f = first >> 12, s = stride >> 12, seen = 0;
	for (uint64_t pfn = r->region_first; pfn < r->region_first + r->region_pages; pfn++) {
		int want = pfn >= f && (pfn - f) % s == 0 && (pfn - f) / s < count;
		int got = test_bit(r->bitmap, pfn);
		if (want != got) {
			fprintf(stderr, "hv_dirtylog: round %u: page 0x%" PRIx64 " is %s but %s\n",
				round, pfn << 12, got ? "dirty" : "clean",
				want ? "was written" : "was not");
			return -1;
		}
		seen += (uint64_t)got;
	}
	printf("hv_dirtylog: round %u: %" PRIu64 " dirty pages in the region, exactly as printed "
	       "(%" PRId64 " in all RAM)\n",
	       round, seen, n);
	r->rounds_ok++;
	return 0;
}

static int console(struct run *r, uint32_t gpa)
{
	struct tern_hc_console_write *a = hv_mem_ptr(&r->vm->mem, gpa, sizeof(*a));
	const char *p = a ? hv_mem_ptr(&r->vm->mem, a->data, a->len) : NULL;

	if (!p)
		return -1;
	fwrite(p, 1, a->len, stdout);
	a->ret = (int64_t)a->len;
	size_t pos = 0;
	const char *line;
	while ((line = hv_lines_next(&r->lines, p, a->len, &pos)))
		if (strncmp(line, "dirtylog: round=", 16) == 0 && check_round(r, line) < 0)
			return -1;
	return 0;
}

/* Returns the halt status, or -1 on any failure. */
static int run_guest(struct run *r, struct hv_vcpu *vcpu)
{
	for (;;) {
		int rc = hv_vcpu_run(vcpu);
		if (rc == -EINTR)
			continue;
		if (rc < 0 || vcpu->run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "hv_dirtylog: unexpected exit %u (rc %d)\n",
				vcpu->run->exit_reason, rc);
			return -1;
		}
		uint32_t gpa;
		memcpy(&gpa, (uint8_t *)vcpu->run + vcpu->run->io.data_offset, 4);
		switch (vcpu->run->io.port) {
		case TERN_HC_CONSOLE_WRITE:
			if (console(r, gpa) < 0)
				return -1;
			break;
		case TERN_HC_YIELD: {
			struct tern_hc_yield *y = hv_mem_ptr(&r->vm->mem, gpa, sizeof(*y));
			if (y)
				y->ret = 0, y->ready_set = 0; /* an early return is legal */
			break;
		}
		case TERN_HC_HALT: {
			struct tern_hc_halt *h = hv_mem_ptr(&r->vm->mem, gpa, sizeof(*h));
			return h ? (int)h->status : -1;
		}
		default:
			fprintf(stderr, "hv_dirtylog: unexpected port 0x%x\n", vcpu->run->io.port);
			return -1;
		}
	}
}

int main(int argc, char **argv)
{
	struct run r;
	struct hv_elf_image img;
	char cmdline[256] = "", err[256];
	unsigned base = 16, pages = 100, stride = 1, rounds = 5;

	if (argc < 2) {
		fprintf(stderr,
			"usage: hv_dirtylog dirtylog.elf [base=MiB pages=N stride=K rounds=R]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		sscanf(argv[i], "base=%u", &base);
		sscanf(argv[i], "pages=%u", &pages);
		sscanf(argv[i], "stride=%u", &stride);
		sscanf(argv[i], "rounds=%u", &rounds);
		strncat(cmdline, argv[i], sizeof(cmdline) - strlen(cmdline) - 2);
		strcat(cmdline, " ");
	}
	memset(&r, 0, sizeof(r));
	r.vm = hv_vm_new(MEM, HV_MEM_PREALLOC);
	struct hv_vcpu *vcpu = r.vm ? hv_vcpu_new(r.vm, 0) : NULL;
	if (!vcpu) {
		fprintf(stderr, "hv_dirtylog: create VM: %s\n", strerror(errno));
		return 1;
	}
	if (hv_elf_load_file(&r.vm->mem, argv[1], &img, err, sizeof(err)) < 0) {
		fprintf(stderr, "hv_dirtylog: %s: %s\n", argv[1], err);
		return 1;
	}
	uint64_t tsc;
	hv_clock_guest_tsc(vcpu, &tsc);
	hv_clock_init(hv_mem_ptr(&r.vm->mem, TERN_GPA_CLOCK, 4096), hv_clock_tsc_khz(vcpu), tsc,
		      hv_clock_wall_ns());
	if (hv_boot_setup(vcpu, &r.vm->mem, &img, cmdline, 1) < 0)
		return 1;
	r.region_first = (uint64_t)base << 8;
	r.region_pages = (uint64_t)rounds * pages * stride;
	r.bitmap = calloc(hv_dirty_log_words(r.vm), sizeof(uint64_t));
	/* Start logging and drop the initial all-dirty report. */
	if (!r.bitmap || hv_dirty_log_start(r.vm) < 0 || hv_dirty_log_sync(r.vm, r.bitmap) < 0) {
		fprintf(stderr, "hv_dirtylog: dirty log: %s\n", strerror(errno));
		return 1;
	}
	int status = run_guest(&r, vcpu);
	hv_dirty_log_stop(r.vm);
	free(r.bitmap);
	hv_vm_free(r.vm);
	if (status != 0 || r.rounds_ok != rounds) {
		fprintf(stderr, "hv_dirtylog: FAIL (status %d, %u of %u rounds checked)\n", status,
			r.rounds_ok, rounds);
		return 1;
	}
	printf("hv_dirtylog: PASS rounds=%u\n", rounds);
	return 0;
}
