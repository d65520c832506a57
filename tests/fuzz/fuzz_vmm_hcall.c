/*
 * The vmm's hypercall handlers (hypervisor/vmm/vmm_hcall.c, compiled in),
 * called as a vCPU thread calls vmm_hcall after a guest's `outl gpa, port`.
 * Guest RAM is a 64 KiB heap buffer (ASan notices any host access outside
 * it); the console and the clock are the stubs below; the vCPU's wake
 * eventfd is always readable, so a yield returns at once.
 *
 * Input: byte 0 picks the port (mod 6: the five hypercalls, or 0x600),
 * bytes 1-4 the argument pointer (gpa, little-endian), byte 5 bit 0 makes
 * console input pending; the rest is written to RAM at gpa (as far as RAM
 * goes): the argument struct and anything after it.
 *
 * Checked against a model of abi.h: RAM afterwards, byte for byte (the
 * struct written back with its ret, a console read's bytes, nothing
 * else, nothing at all for a pointer whose struct is not wholly in RAM),
 * what the console got, the return value and the halt state.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <tern/abi.h>

#include "hv_vcpu.h"
#include "vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define RAM_SIZE (64u * 1024u)
#define CONSOLE_PENDING 100 /* bytes of console input waiting, when any */
#define CALL_MAX (1u << 20) /* VMM_CONSOLE_CALL_MAX */

static struct {
	struct vmm vmm;
	struct hv_vm vm;
	struct hv_vcpu vcpu;
	uint8_t *ram, *want;
	int ready_fd;
	const void *out_p;
	size_t out_n;
	int outs;
} fz;

/* ---- the rest of the vmm ---- */

void vmm_console_out(struct vmm *vmm, const void *p, size_t n)
{
	TRAP_IF(vmm != &fz.vmm);
	fz.out_p = p;
	fz.out_n = n;
	fz.outs++;
	if (n)
		(void)*(volatile const uint8_t *)((const uint8_t *)p + n - 1); /* in RAM? */
}

static uint8_t console_byte(size_t i)
{
	return (uint8_t)('a' + i % 26);
}

size_t vmm_console_in(struct vmm *vmm, void *p, size_t n)
{
	size_t k = vmm->console_in_fd >= 0 ? CONSOLE_PENDING : 0;

	k = k < n ? k : n;
	for (size_t i = 0; i < k; i++)
		((uint8_t *)p)[i] = console_byte(i);
	return k;
}

uint64_t vmm_guest_mono(struct vmm *vmm)
{
	(void)vmm;
	return 1000000;
}

void vmm_set_state(struct vmm *vmm, enum vmm_state st)
{
	vmm->state = st;
}

/* The fuzzed domain has no vif (vmm_net.c's descriptor checks have their
 * own harness, fuzz_vmm_net_ring). */
int vmm_net_kick(struct vmm *vmm, uint32_t dev)
{
	(void)vmm;
	(void)dev;
	return -TERN_ENODEV;
}

int vmm_net_yield_fds(struct vmm *vmm, uint64_t wait_set, struct pollfd *pfd, int cap)
{
	(void)vmm, (void)wait_set, (void)pfd, (void)cap;
	return 0;
}

uint64_t vmm_net_yield_ready(struct vmm *vmm, struct pollfd *pfd, int n)
{
	(void)vmm, (void)pfd, (void)n;
	return 0;
}

/* ---- the model ---- */

static int in_ram(uint64_t gpa, uint64_t len)
{
	return gpa <= RAM_SIZE && len <= RAM_SIZE - gpa;
}

static void model_console(uint16_t port, uint32_t gpa, int pending)
{
	struct tern_hc_console_write a; /* same layout as tern_hc_console_read */
	int ok;

	memcpy(&a, fz.want + gpa, sizeof(a));
	ok = a.len <= CALL_MAX && in_ram(a.data, a.len);
	if (port == TERN_HC_CONSOLE_WRITE) {
		TRAP_IF(fz.outs != ok);
		TRAP_IF(ok && (fz.out_p != fz.ram + a.data || fz.out_n != a.len));
		a.ret = ok ? (int64_t)a.len : -TERN_EINVAL;
	} else {
		size_t k = ok ? (pending ? CONSOLE_PENDING : 0) : 0;

		k = k < a.len ? k : a.len;
		for (size_t i = 0; i < k; i++)
			fz.want[a.data + i] = console_byte(i);
		a.ret = ok ? (int64_t)k : -TERN_EINVAL;
	}
	memcpy(fz.want + gpa, &a, sizeof(a));
}

static int model(uint16_t port, uint32_t gpa, int pending)
{
	static const size_t sizes[5] = {
	    sizeof(struct tern_hc_console_write), sizeof(struct tern_hc_console_read),
	    sizeof(struct tern_hc_yield), sizeof(struct tern_hc_net_kick),
	    sizeof(struct tern_hc_halt)};
	unsigned i = (unsigned)(port - TERN_HC_PORT_BASE);

	if (port < TERN_HC_PORT_BASE || port > TERN_HC_PORT_LAST || !in_ram(gpa, sizes[i]))
		return 0;
	switch (port) {
	case TERN_HC_CONSOLE_WRITE:
	case TERN_HC_CONSOLE_READ:
		model_console(port, gpa, pending);
		return 0;
	case TERN_HC_YIELD: {
		struct tern_hc_yield a;

		memcpy(&a, fz.want + gpa, sizeof(a));
		a.ready_set =
		    (pending && (a.wait_set & TERN_READY_CONSOLE)) ? TERN_READY_CONSOLE : 0;
		a.ret = 0;
		memcpy(fz.want + gpa, &a, sizeof(a));
		return 0;
	}
	case TERN_HC_NET_KICK: {
		struct tern_hc_net_kick a;

		memcpy(&a, fz.want + gpa, sizeof(a));
		a.ret = -TERN_ENODEV;
		memcpy(fz.want + gpa, &a, sizeof(a));
		return 0;
	}
	}
	return 1; /* halt */
}

/* ---- setup and the call ---- */

static void setup(void)
{
	static const uint64_t one = 1;

	fz.ram = malloc(RAM_SIZE);
	fz.want = malloc(RAM_SIZE);
	fz.vcpu.wake_fd = eventfd(0, EFD_CLOEXEC);
	fz.ready_fd = eventfd(0, EFD_CLOEXEC);
	if (!fz.ram || !fz.want || fz.vcpu.wake_fd < 0 || fz.ready_fd < 0 ||
	    write(fz.vcpu.wake_fd, &one, sizeof(one)) != sizeof(one) ||
	    write(fz.ready_fd, &one, sizeof(one)) != sizeof(one))
		abort(); /* the environment, not the input */
	fz.vm.mem.base = fz.ram;
	fz.vm.mem.size = RAM_SIZE;
	fz.vcpu.vm = &fz.vm;
	fz.vmm.vm = &fz.vm;
	snprintf(fz.vmm.cfg.name, sizeof(fz.vmm.cfg.name), "fuzz");
	pthread_mutex_init(&fz.vmm.lock, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[6] = {TERN_HC_CONSOLE_WRITE, TERN_HC_CONSOLE_READ,
					  TERN_HC_YIELD,	 TERN_HC_NET_KICK,
					  TERN_HC_HALT,		 0x600};
	uint16_t port;
	uint32_t gpa;
	int pending, rc, want_rc;

	if (!fz.ram)
		setup();
	if (size < 6)
		return 0;
	port = ports[data[0] % 6];
	gpa = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
	      (uint32_t)data[4] << 24;
	pending = data[5] & 1;
	memset(fz.ram, 0, RAM_SIZE);
	if (gpa < RAM_SIZE)
		memcpy(fz.ram + gpa, data + 6,
		       size - 6 < RAM_SIZE - gpa ? size - 6 : RAM_SIZE - gpa);
	memcpy(fz.want, fz.ram, RAM_SIZE);
	fz.vmm.console_in_fd = pending ? fz.ready_fd : -1;
	fz.vmm.state = VMM_RUNNING;
	fz.vmm.halt_status = 0;
	fz.outs = 0;

	rc = vmm_hcall(&fz.vmm, &fz.vcpu, port, gpa);
	want_rc = model(port, gpa, pending);
	TRAP_IF(rc != want_rc || memcmp(fz.ram, fz.want, RAM_SIZE) != 0);
	if (port != TERN_HC_CONSOLE_WRITE)
		TRAP_IF(fz.outs != 0);
	if (rc == 1) {
		int64_t status;

		memcpy(&status, fz.ram + gpa, sizeof(status));
		TRAP_IF(fz.vmm.state != VMM_HALTED || fz.vmm.halt_status != status);
	} else {
		TRAP_IF(fz.vmm.state != VMM_RUNNING);
	}
	return 0;
}
