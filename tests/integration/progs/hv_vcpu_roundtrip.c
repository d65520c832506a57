/*
 * hv_vcpu_roundtrip regs.elf [iters=N]
 *
 * Proves the vCPU state round trip by resuming in a fresh VM:
 *  1. runs regs.elf uninterrupted: the reference result and its run time T;
 *  2. runs it again and kicks the vCPU out of KVM_RUN after 0.3 T, in the
 *     middle of its register-heavy loop; captures the full vCPU state
 *     (hv_vcpu_state_get) and all of RAM, and destroys that VM;
 *  3. creates a fresh VM, loads RAM and state, rebases the clock page, runs
 *     to the end, and asserts the printed result equals the reference.
 * Prints "hv_vcpu_roundtrip: PASS result=<x>" and exits 0 on success.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_boot.h"
#include "hv_clock.h"
#include "hv_elf.h"
#include "hv_lines.h"
#include "hv_vcpu.h"
#include "hv_vcpu_state.h"
#include "hv_vm.h"

#define MEM (32ull << 20)

struct guest {
	struct hv_vm *vm;
	struct hv_vcpu *vcpu;
	struct hv_lines lines;
	char result[64];
	int started;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int guest_new(struct guest *g)
{
	memset(g, 0, sizeof(*g));
	g->vm = hv_vm_new(MEM, HV_MEM_PREALLOC);
	g->vcpu = g->vm ? hv_vcpu_new(g->vm, 0) : NULL;
	if (!g->vcpu)
		fprintf(stderr, "hv_vcpu_roundtrip: create VM: %s\n", strerror(errno));
	return g->vcpu ? 0 : -1;
}

static int guest_boot(struct guest *g, const char *elf, const char *cmdline)
{
	struct hv_elf_image img;
	char err[256];
	uint64_t tsc;

	if (guest_new(g) < 0)
		return -1;
	if (hv_elf_load_file(&g->vm->mem, elf, &img, err, sizeof(err)) < 0) {
		fprintf(stderr, "hv_vcpu_roundtrip: %s: %s\n", elf, err);
		return -1;
	}
	hv_clock_guest_tsc(g->vcpu, &tsc);
	hv_clock_init(hv_mem_ptr(&g->vm->mem, TERN_GPA_CLOCK, 4096), hv_clock_tsc_khz(g->vcpu), tsc,
		      hv_clock_wall_ns());
	return hv_boot_setup(g->vcpu, &g->vm->mem, &img, cmdline, 1);
}

static void guest_console(struct guest *g, uint32_t gpa)
{
	struct tern_hc_console_write *a = hv_mem_ptr(&g->vm->mem, gpa, sizeof(*a));
	const char *p = a ? hv_mem_ptr(&g->vm->mem, a->data, a->len) : NULL;

	if (!p)
		return;
	fwrite(p, 1, a->len, stdout);
	fflush(stdout);
	a->ret = (int64_t)a->len;
	size_t pos = 0;
	const char *line;
	while ((line = hv_lines_next(&g->lines, p, a->len, &pos))) {
		if (strncmp(line, "regs: start", 11) == 0)
			g->started = 1;
		const char *res = strstr(line, "result=");
		if (strncmp(line, "regs: iters=", 12) == 0 && res)
			snprintf(g->result, sizeof(g->result), "%s", res + 7);
	}
}

/* Runs until halt (returns status) or a kick (returns 1000), -1 on error. */
static int guest_run(struct guest *g)
{
	for (;;) {
		int rc = hv_vcpu_run(g->vcpu);
		if (rc == -EINTR)
			return 1000;
		if (rc < 0 || g->vcpu->run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "hv_vcpu_roundtrip: unexpected exit %u (rc %d)\n",
				g->vcpu->run->exit_reason, rc);
			return -1;
		}
		uint32_t gpa;
		memcpy(&gpa, (uint8_t *)g->vcpu->run + g->vcpu->run->io.data_offset, 4);
		uint16_t port = g->vcpu->run->io.port;
		if (port == TERN_HC_CONSOLE_WRITE) {
			guest_console(g, gpa);
		} else if (port == TERN_HC_HALT) {
			struct tern_hc_halt *h = hv_mem_ptr(&g->vm->mem, gpa, sizeof(*h));
			return h ? (int)h->status : -1;
		} else if (port == TERN_HC_YIELD) {
			struct tern_hc_yield *y = hv_mem_ptr(&g->vm->mem, gpa, sizeof(*y));
			if (y)
				y->ret = 0, y->ready_set = 0;
		} else {
			fprintf(stderr, "hv_vcpu_roundtrip: unexpected port 0x%x\n", port);
			return -1;
		}
	}
}

struct kicker {
	struct hv_vcpu *vcpu;
	double delay;
};

static void *kick_later(void *p)
{
	struct kicker *k = p;

	usleep((useconds_t)(k->delay * 1e6));
	hv_vcpu_kick(k->vcpu);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct hv_vcpu_state st;
	struct guest a, b, c;
	const char *cmdline = argc > 2 ? argv[2] : "";

	if (argc < 2) {
		fprintf(stderr, "usage: hv_vcpu_roundtrip regs.elf [iters=N]\n");
		return 2;
	}
	if (hv_vcpu_signal_init() < 0)
		return 1;
	/* 1. reference */
	double t0 = now_s();
	if (guest_boot(&a, argv[1], cmdline) < 0 || guest_run(&a) != 0 || !a.result[0]) {
		fprintf(stderr, "hv_vcpu_roundtrip: FAIL: reference run did not complete\n");
		return 1;
	}
	double ref_time = now_s() - t0;
	hv_vm_free(a.vm);
	/* 2. interrupted run */
	if (guest_boot(&b, argv[1], cmdline) < 0)
		return 1;
	struct kicker k = {b.vcpu, 0.3 * ref_time};
	pthread_t th;
	pthread_create(&th, NULL, kick_later, &k);
	int rc = guest_run(&b);
	pthread_join(th, NULL);
	if (rc != 1000 || !b.started || b.result[0]) {
		fprintf(
		    stderr,
		    "hv_vcpu_roundtrip: FAIL: the kick at %.3f s did not land mid-loop (rc %d)\n",
		    k.delay, rc);
		return 1;
	}
	if (hv_vcpu_settle(b.vcpu) < 0 || hv_vcpu_state_get(b.vcpu, &st) < 0) {
		fprintf(stderr, "hv_vcpu_roundtrip: FAIL: capture state: %s\n", strerror(errno));
		return 1;
	}
	uint8_t *ram = malloc(MEM);
	memcpy(ram, b.vm->mem.base, MEM);
	struct tern_clock_page *cp = hv_mem_ptr(&b.vm->mem, TERN_GPA_CLOCK, sizeof(*cp));
	uint64_t mono = hv_clock_mono(cp, st.tsc);
	printf("hv_vcpu_roundtrip: interrupted at rip=0x%llx after %.3f s of %.3f s\n",
	       (unsigned long long)st.regs.rip, k.delay, ref_time);
	hv_vm_free(b.vm);
	/* 3. fresh VM */
	if (guest_new(&c) < 0)
		return 1;
	memcpy(c.vm->mem.base, ram, MEM);
	free(ram);
	c.started = 1;
	if ((rc = hv_vcpu_state_set(c.vcpu, &st)) < 0) {
		fprintf(stderr, "hv_vcpu_roundtrip: FAIL: set state: %s\n", strerror(-rc));
		return 1;
	}
	uint64_t tsc;
	hv_clock_guest_tsc(c.vcpu, &tsc);
	hv_clock_resume(hv_mem_ptr(&c.vm->mem, TERN_GPA_CLOCK, 4096), mono, tsc,
			hv_clock_tsc_khz(c.vcpu), hv_clock_wall_ns());
	rc = guest_run(&c);
	hv_vm_free(c.vm);
	if (rc != 0 || strcmp(c.result, a.result) != 0) {
		fprintf(
		    stderr,
		    "hv_vcpu_roundtrip: FAIL: resumed run status %d result '%s', reference '%s'\n",
		    rc, c.result, a.result);
		return 1;
	}
	printf("hv_vcpu_roundtrip: PASS result=%s\n", a.result);
	return 0;
}
