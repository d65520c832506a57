/*
 * The platform's services: block until a deadline, stop with a status.
 *
 * Under the vmm both are hypercalls: yield blocks in the host, so an idle
 * guest costs no CPU (a CPL3 guest cannot hlt). Under a Multiboot loader
 * there is nobody to block in: yield spins with `pause` until the deadline,
 * and halt writes the status to QEMU's isa-debug-exit device (QEMU exits
 * with status * 2 + 1) and then spins, in case that device is absent. The
 * device is usually placed at 0xf4 (iobase=0xf4); a bare
 * `-device isa-debug-exit` sits at its default 0x501, so both are written.
 */
#include "rt.h"
#include "rt_cpu.h"

#define ISA_DEBUG_EXIT_PORT 0xf4
#define ISA_DEBUG_EXIT_PORT_DEFAULT 0x501

static int sys_hypercall;

/* Argument structs must sit below 4 GiB: they live in the image. */
static volatile struct tern_hc_yield sys_yield_hc;
static volatile struct tern_hc_halt sys_halt_hc;

void rt_sys_init(uint32_t loader)
{
	sys_hypercall = loader == TERN_LOADER_VMM;
}

uint64_t rt_sys_yield(uint64_t deadline_ns, uint64_t wait_set)
{
	if (!sys_hypercall) {
		while (rt_clock_ns() < deadline_ns)
			rt_pause();
		return 0;
	}
	sys_yield_hc.deadline_ns = deadline_ns;
	sys_yield_hc.wait_set = wait_set;
	sys_yield_hc.ready_set = 0;
	sys_yield_hc.ret = 0;
	rt_hypercall(TERN_HC_YIELD, &sys_yield_hc);
	return sys_yield_hc.ret < 0 ? 0 : sys_yield_hc.ready_set;
}

void rt_sys_halt(int64_t status)
{
	if (sys_hypercall) {
		sys_halt_hc.status = status;
		rt_hypercall(TERN_HC_HALT, &sys_halt_hc);
		/* The vmm never resumes a halted vCPU; if it did, crash loudly
		 * (a triple fault the vmm reports) rather than run on. */
		__builtin_trap();
	}
	rt_outb(ISA_DEBUG_EXIT_PORT, (uint8_t)status);
	rt_outb(ISA_DEBUG_EXIT_PORT_DEFAULT, (uint8_t)status);
	for (;;)
		rt_pause();
}
