/*
 * hv_bench BUILD_DIR: measures the hypervisor side of Tern on this host.
 *
 *   boot          vmm start to the guest's first console line (256 MiB, 1 GiB)
 *   first touch   guest writes one word per 4 KiB page of a 256 MiB working
 *                 set in a 1 GiB guest: RAM preallocated with huge pages vs
 *                 4 KiB pages populated on demand
 *   hypercall     round trip of the yield hypercall with deadline 0, through
 *                 the vmm (N calls minus 0 calls, divided by N)
 *   idle          CPU used by a vmm whose guest blocks in yield, over 3 s
 *   dirty log     KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG of 1 GiB, all
 *                 pages dirty and none dirty
 * Prints one "name value unit" line per figure, then a verdict for targets.
 */
#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_boot.h"
#include "hv_clock.h"
#include "hv_dirty_log.h"
#include "hv_elf.h"
#include "hv_lines.h"
#include "hv_vcpu.h"
#include "hv_vm.h"

#include <tern/abi.h>

#define MIB (1ull << 20)
#define BOOT_RUNS 5
#define YIELDS 20000

static const char *build;
static char tmpdir[] = "/tmp/hv_bench.XXXXXX";

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void write_cfg(const char *path, const char *kernel, unsigned mib, const char *extra)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "name = \"bench\"\nkernel = \"%s\"\nmemory = %u\nextra = \"%s\"\n", kernel, mib,
		extra);
	fclose(f);
}

/* Starts the vmm on cfg with stdout on a pipe; returns its pid. */
static pid_t spawn_vmm(const char *cfg, int *out_fd)
{
	char vmm[4096];
	int p[2];
	pid_t pid;

	snprintf(vmm, sizeof(vmm), "%s/hypervisor/vmm/vmm", build);
	if (pipe(p) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		freopen("/dev/null", "r", stdin);
		freopen("/dev/null", "w", stderr);
		close(p[0]);
		close(p[1]);
		execl(vmm, vmm, "--config", cfg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* Seconds from spawn to the first '\n' on the guest console. */
static double boot_once(const char *cfg)
{
	double t0 = now_s(), t = -1;
	int fd;
	pid_t pid = spawn_vmm(cfg, &fd);
	char c;

	while (read(fd, &c, 1) == 1)
		if (c == '\n') {
			t = now_s() - t0;
			break;
		}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(fd);
	return t;
}

static double bench_boot(unsigned mib)
{
	char cfg[256], kernel[4096];
	double t[BOOT_RUNS];

	snprintf(cfg, sizeof(cfg), "%s/boot.cfg", tmpdir);
	snprintf(kernel, sizeof(kernel), "%s/hypervisor/guest/dirtier.elf", build);
	write_cfg(cfg, kernel, mib, "ws=16 rate=0");
	for (int i = 0; i < BOOT_RUNS; i++) {
		t[i] = boot_once(cfg);
		usleep(200000); /* let the previous vmm's memory go */
	}
	qsort(t, BOOT_RUNS, sizeof(t[0]), cmp_double);
	return t[BOOT_RUNS / 2];
}

/* --- In-process guests (libhv directly). --- */

struct guest {
	struct hv_vm *vm;
	struct hv_vcpu *vcpu;
	struct hv_lines lines;
};

static int guest_boot(struct guest *g, uint64_t mem, unsigned flags, const char *elf,
		      const char *cmdline)
{
	struct hv_elf_image img;
	char err[256];
	uint64_t tsc;

	memset(g, 0, sizeof(*g));
	g->vm = hv_vm_new(mem, flags);
	g->vcpu = g->vm ? hv_vcpu_new(g->vm, 0) : NULL;
	if (!g->vcpu || hv_elf_load_file(&g->vm->mem, elf, &img, err, sizeof(err)) < 0) {
		fprintf(stderr, "hv_bench: guest %s: %s\n", elf, g->vcpu ? err : strerror(errno));
		return -1;
	}
	hv_clock_guest_tsc(g->vcpu, &tsc);
	hv_clock_init(hv_mem_ptr(&g->vm->mem, TERN_GPA_CLOCK, 4096), hv_clock_tsc_khz(g->vcpu), tsc,
		      hv_clock_wall_ns());
	return hv_boot_setup(g->vcpu, &g->vm->mem, &img, cmdline, 1);
}

/* Runs until a console line starting with `prefix` is complete (returns 0,
 * the vCPU stopped in that hypercall) or the guest halts (-1). */
static int guest_until(struct guest *g, const char *prefix)
{
	for (;;) {
		if (hv_vcpu_run(g->vcpu) < 0 || g->vcpu->run->exit_reason != KVM_EXIT_IO)
			return -1;
		uint32_t gpa;
		memcpy(&gpa, (uint8_t *)g->vcpu->run + g->vcpu->run->io.data_offset, 4);
		uint16_t port = g->vcpu->run->io.port;
		if (port == TERN_HC_HALT)
			return -1;
		if (port == TERN_HC_YIELD) {
			struct tern_hc_yield *y = hv_mem_ptr(&g->vm->mem, gpa, sizeof(*y));
			if (y)
				y->ret = 0, y->ready_set = 0;
			continue;
		}
		if (port != TERN_HC_CONSOLE_WRITE)
			return -1;
		struct tern_hc_console_write *a = hv_mem_ptr(&g->vm->mem, gpa, sizeof(*a));
		const char *p = a ? hv_mem_ptr(&g->vm->mem, a->data, a->len) : NULL;
		if (!p)
			return -1;
		a->ret = (int64_t)a->len;
		size_t pos = 0;
		const char *line;
		while ((line = hv_lines_next(&g->lines, p, a->len, &pos)))
			if (strncmp(line, prefix, strlen(prefix)) == 0)
				return 0;
	}
}

/* Time for dirtylog.elf to write one word in each page of 256 MiB. */
static double bench_first_touch(unsigned flags)
{
	char elf[4096];
	struct guest g;
	double t = -1;

	snprintf(elf, sizeof(elf), "%s/hypervisor/guest/dirtylog.elf", build);
	if (guest_boot(&g, 1024 * MIB, flags, elf, "base=16 pages=65536 stride=1 rounds=1") == 0 &&
	    guest_until(&g, "tern-rt: boot") == 0) {
		double t0 = now_s();
		if (guest_until(&g, "dirtylog: round=0") == 0)
			t = now_s() - t0;
	}
	hv_vm_free(g.vm);
	return t;
}

/* Dirty-log read-and-clear of 1 GiB after the guest dirtied all of it
 * (992 MiB above its 16 MiB base) and, right after, with nothing dirty. */
static int bench_dirty_log(double *all, double *none, int64_t *ndirty)
{
	char elf[4096];
	struct guest g;
	uint64_t *bm = NULL;
	int rc = -1;

	snprintf(elf, sizeof(elf), "%s/hypervisor/guest/dirtylog.elf", build);
	if (guest_boot(&g, 1024 * MIB, HV_MEM_PREALLOC, elf,
		       "base=16 pages=253952 stride=1 rounds=1") < 0)
		goto out;
	bm = calloc(hv_dirty_log_words(g.vm), sizeof(uint64_t));
	if (!bm || hv_dirty_log_start(g.vm) < 0 || hv_dirty_log_sync(g.vm, bm) < 0)
		goto out;
	if (guest_until(&g, "dirtylog: round=0") < 0)
		goto out;
	double t0 = now_s();
	*ndirty = hv_dirty_log_sync(g.vm, bm);
	double t1 = now_s();
	int64_t n2 = hv_dirty_log_sync(g.vm, bm);
	double t2 = now_s();
	*all = t1 - t0;
	*none = t2 - t1;
	rc = *ndirty > 0 && n2 == 0 ? 0 : -1;
out:
	free(bm);
	hv_vm_free(g.vm);
	return rc;
}

/* A guest of our own: `n` yield hypercalls with deadline 0, then halt. */
static void write_yield_elf(const char *path, uint32_t n)
{
	uint8_t f[0x2200];
	uint8_t code[] = {
	    0xb9, 0,	0,    0,    0,	  /* mov $n, %ecx */
	    0x85, 0xc9,			  /* test %ecx, %ecx */
	    0x74, 0x0f,			  /* jz halt */
	    0xb8, 0x00, 0x10, 0x20, 0x00, /* loop: mov $0x201000, %eax */
	    0xba, 0x02, 0x05, 0,    0,	  /* mov $TERN_HC_YIELD, %edx */
	    0xef,			  /* out %eax, (%dx) */
	    0xff, 0xc9,			  /* dec %ecx */
	    0x75, 0xf1,			  /* jnz loop */
	    0xb8, 0x00, 0x11, 0x20, 0x00, /* halt: mov $0x201100, %eax */
	    0xba, 0x04, 0x05, 0,    0,	  /* mov $TERN_HC_HALT, %edx */
	    0xef,			  /* out %eax, (%dx) */
	    0xeb, 0xfe,			  /* jmp . */
	};
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
	Elf64_Phdr *ph = (Elf64_Phdr *)(f + 64);
	FILE *out = fopen(path, "wb");

	memcpy(code + 1, &n, 4);
	memset(f, 0, sizeof(f));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x200000;
	eh->e_phoff = 64;
	eh->e_ehsize = 64;
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	ph[0] = (Elf64_Phdr){PT_LOAD,  PF_R | PF_X,  0x1000,	   0x200000,
			     0x200000, sizeof(code), sizeof(code), 0x1000};
	ph[1] =
	    (Elf64_Phdr){PT_LOAD, PF_R | PF_W, 0x2000, 0x201000, 0x201000, 0x200, 0x1000, 0x1000};
	/* The ABI note the vmm requires, in a PT_NOTE past the code. */
	ph[2] = (Elf64_Phdr){PT_NOTE, PF_R, 0x1800, 0, 0, sizeof(struct tern_abi_note), 0, 4};
	memcpy(f + 0x1800,
	       &(struct tern_abi_note){sizeof(TERN_NOTE_NAME), sizeof(uint32_t),
				       TERN_NOTE_ABI_VERSION, TERN_NOTE_NAME, TERN_ABI_VERSION},
	       sizeof(struct tern_abi_note));
	memcpy(f + 0x1000, code, sizeof(code));
	/* yield args at 0x201000 (deadline 0, wait nothing); halt status 0 at 0x201100 */
	if (!out || fwrite(f, 1, sizeof(f), out) != sizeof(f))
		exit(1);
	fclose(out);
}

static double run_vmm_to_end(const char *cfg)
{
	double t0 = now_s();
	int fd;
	pid_t pid = spawn_vmm(cfg, &fd);
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	waitpid(pid, NULL, 0);
	close(fd);
	return now_s() - t0;
}

static double bench_hypercall(void)
{
	char elf[256], cfg[256];
	double base = 1e9, loop = 1e9;

	snprintf(elf, sizeof(elf), "%s/yield.elf", tmpdir);
	snprintf(cfg, sizeof(cfg), "%s/yield.cfg", tmpdir);
	write_cfg(cfg, elf, 32, "");
	for (int i = 0; i < 3; i++) {
		write_yield_elf(elf, 0);
		double b = run_vmm_to_end(cfg);
		write_yield_elf(elf, YIELDS);
		double l = run_vmm_to_end(cfg);
		base = b < base ? b : base;
		loop = l < loop ? l : loop;
	}
	return (loop - base) / YIELDS;
}

static double bench_idle(void)
{
	char cfg[256], kernel[4096], path[64];
	unsigned long ut0, st0, ut1, st1;
	int fd;

	snprintf(cfg, sizeof(cfg), "%s/idle.cfg", tmpdir);
	snprintf(kernel, sizeof(kernel), "%s/hypervisor/guest/dirtier.elf", build);
	write_cfg(cfg, kernel, 64, "ws=16 rate=0");
	pid_t pid = spawn_vmm(cfg, &fd);
	sleep(1);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f || fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut0,
			 &st0) != 2)
		return -1;
	fclose(f);
	double t0 = now_s();
	sleep(3);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut1,
			 &st1) != 2)
		return -1;
	fclose(f);
	double wall = now_s() - t0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(fd);
	return (double)(ut1 + st1 - ut0 - st0) / (double)sysconf(_SC_CLK_TCK) / wall;
}

int main(int argc, char **argv)
{
	double all = -1, none = -1;
	int64_t ndirty = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: hv_bench BUILD_DIR (needs root and /dev/kvm)\n");
		return 2;
	}
	build = argv[1];
	if (!mkdtemp(tmpdir) || hv_vcpu_signal_init() < 0)
		return 1;
	double b256 = bench_boot(256), b1g = bench_boot(1024);
	printf("boot_256MiB          %8.1f ms   (median of %d, target < 50)\n", b256 * 1e3,
	       BOOT_RUNS);
	printf("boot_1GiB            %8.1f ms   (median of %d)\n", b1g * 1e3, BOOT_RUNS);
	fflush(stdout);
	double pre = bench_first_touch(HV_MEM_PREALLOC);
	double lazy = bench_first_touch(HV_MEM_NOHUGE);
	printf("first_touch_prealloc %8.1f ms   (256 MiB, 2 MiB host pages, populated)\n",
	       pre * 1e3);
	printf("first_touch_4k_lazy  %8.1f ms   (256 MiB, 4 KiB host pages, no populate)\n",
	       lazy * 1e3);
	printf("first_touch_ratio    %8.1f x\n", lazy / pre);
	fflush(stdout);
	printf("hypercall_yield      %8.2f us   (round trip through the vmm, %d calls)\n",
	       bench_hypercall() * 1e6, YIELDS);
	fflush(stdout);
	printf("idle_cpu             %8.2f %%    (vmm of an idle guest, 3 s)\n",
	       bench_idle() * 100);
	fflush(stdout);
	if (bench_dirty_log(&all, &none, &ndirty) == 0) {
		printf("dirty_log_1GiB_all   %8.2f ms   (%lld pages dirty, target < 5)\n",
		       all * 1e3, (long long)ndirty);
		printf("dirty_log_1GiB_none  %8.2f ms   (target < 5)\n", none * 1e3);
	} else {
		printf("dirty_log_1GiB       failed\n");
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
