/*
 * Tern guest ABI, version 1.
 *
 * The one header shared by the `vmm` (host side) and the freestanding guest
 * runtime. Everything here is a wire contract: fixed-width fields, explicit
 * padding, little-endian x86-64. Changing a layout means bumping
 * TERN_ABI_VERSION; the vmm refuses images built for another version.
 *
 * Entry (vmm loader): 64-bit long mode, CPL3 (cs = TERN_SEL_UCODE, ss and
 * data selectors = TERN_SEL_UDATA), RFLAGS.IOPL = 3 and IF = 0, identity
 * page tables with 2 MiB pages (U bit everywhere, NX outside executable
 * PT_LOAD segments), rsp = top of RAM (16-byte aligned), rdi = guest-physical
 * address of a struct tern_boot_info. The TSS I/O bitmap also opens every
 * port, so port I/O works whether or not IOPL is honoured.
 *
 * Entry (Multiboot v1, e.g. qemu -kernel): the image's own 32-bit stub builds
 * the same environment and a boot-info page with loader = TERN_LOADER_MULTIBOOT;
 * there is no clock page (the runtime calibrates the TSC) and no hypercall
 * ports (console goes to COM1 at 0x3f8).
 *
 * Hypercalls: `outl %eax, $port` where eax is the 32-bit guest-physical
 * address of the call's argument struct (so argument structs live below
 * 4 GiB), one port per call. The vmm writes results back into the struct
 * before the vCPU resumes. A bad pointer or length fails the call with
 * ret = -TERN_EINVAL; it never kills the domain.
 */
#ifndef TERN_ABI_H
#define TERN_ABI_H

#include <stdint.h>

#define TERN_ABI_VERSION 1u

/* Guest-physical layout the vmm builds before entry. */
#define TERN_GPA_BOOT_INFO 0x1000u   /* struct tern_boot_info, one page */
#define TERN_GPA_CMDLINE 0x2000u     /* NUL-terminated, TERN_CMDLINE_MAX */
#define TERN_GPA_CLOCK 0x3000u       /* struct tern_clock_page, one page */
#define TERN_GPA_GDT 0x4000u         /* GDT + 64-bit TSS descriptor */
#define TERN_GPA_TSS 0x5000u         /* TSS followed by an all-open I/O bitmap */
#define TERN_GPA_PAGETABLES 0x10000u /* PML4, PDPT, then one PD per GiB */
#define TERN_GPA_IMAGE_MIN 0x200000u /* lowest address a PT_LOAD may use */
#define TERN_CMDLINE_MAX 4096u

/* GDT selectors (index << 3 | RPL). */
#define TERN_SEL_KCODE 0x08u
#define TERN_SEL_KDATA 0x10u
#define TERN_SEL_UDATA 0x1bu /* index 3, RPL 3 (sysret layout: data before code) */
#define TERN_SEL_UCODE 0x23u /* index 4, RPL 3, 64-bit */
#define TERN_SEL_TSS 0x28u   /* index 5, 16-byte system descriptor */

/* Hypercall ports. */
#define TERN_HC_PORT_BASE 0x500u
#define TERN_HC_CONSOLE_WRITE (TERN_HC_PORT_BASE + 0)
#define TERN_HC_CONSOLE_READ (TERN_HC_PORT_BASE + 1)
#define TERN_HC_YIELD (TERN_HC_PORT_BASE + 2)
#define TERN_HC_NET_KICK (TERN_HC_PORT_BASE + 3) /* reserved: network issue */
#define TERN_HC_HALT (TERN_HC_PORT_BASE + 4)
#define TERN_HC_PORT_LAST TERN_HC_HALT

/* Serial console used when there is no vmm (Multiboot loaders). */
#define TERN_COM1_PORT 0x3f8u

/* Error values returned in `ret` fields (negated). */
#define TERN_EINVAL 22
#define TERN_EAGAIN 11
#define TERN_ENODEV 19

/* Console write: `len` bytes at guest-physical `data`. ret = bytes written. */
struct tern_hc_console_write {
	uint64_t data;
	uint64_t len;
	int64_t ret;
};

/* Console read: up to `len` bytes into `data`; ret = bytes read, 0 if none
 * pending (never blocks: use yield with TERN_READY_CONSOLE to wait). */
struct tern_hc_console_read {
	uint64_t data;
	uint64_t len;
	int64_t ret;
};

/* Yield: block until one of the sources in `wait_set` is ready or guest
 * monotonic time reaches `deadline_ns` (0 = do not block, UINT64_MAX = no
 * deadline). On return `ready_set` holds the ready sources. An idle guest
 * blocks here and uses no host CPU. */
#define TERN_READY_CONSOLE (1ull << 0)
#define TERN_READY_NET(i) (1ull << (8 + (i)))
struct tern_hc_yield {
	uint64_t deadline_ns;
	uint64_t wait_set;
	uint64_t ready_set;
	int64_t ret;
};

/* Net kick: tell the backend that TX ring `dev` has new descriptors. */
struct tern_hc_net_kick {
	uint32_t dev;
	uint32_t pad;
	int64_t ret;
};

/* Halt: the domain stops with `status` (0 = success). Does not return. */
struct tern_hc_halt {
	int64_t status;
};

/*
 * Clock page. Guest monotonic time in ns:
 *   mono = ns_base + (((rdtsc() - tsc_base) * tsc_mul) >> 32)
 * computed with a 128-bit product; wall time (ns since the Unix epoch) is
 * mono + wall_offset_ns. The vmm rewrites tsc_base/ns_base/wall_offset_ns on
 * resume (after restore or migration) so that mono never goes backwards.
 * Readers use `version` as a seqlock: retry while it is odd or changed.
 */
struct tern_clock_page {
	volatile uint32_t version;
	uint32_t tsc_khz;
	uint64_t tsc_mul; /* ns per TSC tick, 32.32 fixed point */
	uint64_t tsc_base;
	uint64_t ns_base;
	int64_t wall_offset_ns;
	uint32_t resumes; /* incremented by the vmm at every restore/migration */
	uint32_t pad;
};

/* Net device (the network issue fills these in; ndevs is 0 until then). */
#define TERN_NET_MAX 4u
struct tern_net_info {
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t ring_entries; /* power of two */
	uint64_t tx_ring;      /* guest-physical */
	uint64_t rx_ring;      /* guest-physical */
};

#define TERN_BOOT_MAGIC 0x6e726574u /* "tern" */
#define TERN_LOADER_VMM 1u
#define TERN_LOADER_MULTIBOOT 2u

struct tern_boot_info {
	uint32_t magic;
	uint32_t abi_version;
	uint32_t loader;
	uint32_t ncpus;
	uint64_t mem_size;    /* bytes of guest RAM, from gpa 0 */
	uint64_t cmdline;     /* gpa of NUL-terminated command line */
	uint64_t clock;       /* gpa of struct tern_clock_page, 0 if none */
	uint64_t image_end;   /* first gpa past the loaded image (heap start) */
	uint32_t ndevs;
	uint32_t pad;
	struct tern_net_info net[TERN_NET_MAX];
};

#endif /* TERN_ABI_H */
