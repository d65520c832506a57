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
 *
 * Image note: every guest image carries an ELF note (section .note.tern, in
 * a PT_NOTE segment) with name "Tern", type TERN_NOTE_ABI_VERSION and a
 * 4-byte descriptor holding the TERN_ABI_VERSION it was built for; the vmm
 * refuses an image without it or with another version.
 *
 * The runtime's assembly includes this header too: the constants are plain
 * macros (TERN_U adds the unsigned suffix only in C) and the structs sit in
 * the C-only part, with the field offsets the assembly needs defined next to
 * them and checked there.
 */
#ifndef TERN_ABI_H
#define TERN_ABI_H

#ifdef __ASSEMBLER__
#define TERN_U(x) x
#else
#define TERN_U(x) x##u
#endif

#define TERN_ABI_VERSION TERN_U(1)

/* The ABI note (see above). */
#define TERN_NOTE_NAME "Tern"
#define TERN_NOTE_ABI_VERSION TERN_U(1)

/* Guest-physical layout the vmm builds before entry. */
#define TERN_GPA_BOOT_INFO TERN_U(0x1000)   /* struct tern_boot_info, one page */
#define TERN_GPA_CMDLINE TERN_U(0x2000)	    /* NUL-terminated, TERN_CMDLINE_MAX */
#define TERN_GPA_CLOCK TERN_U(0x3000)	    /* struct tern_clock_page, one page */
#define TERN_GPA_GDT TERN_U(0x4000)	    /* GDT + 64-bit TSS descriptor */
#define TERN_GPA_TSS TERN_U(0x5000)	    /* TSS followed by an all-open I/O bitmap */
#define TERN_GPA_PAGETABLES TERN_U(0x10000) /* PML4, PDPT, then one PD per GiB */
#define TERN_GPA_NET TERN_U(0x100000)	    /* net rings: TERN_NET_DEV_SPAN per device */
#define TERN_GPA_IMAGE_MIN TERN_U(0x200000) /* lowest address a PT_LOAD may use */
#define TERN_CMDLINE_MAX TERN_U(4096)

/* GDT selectors (index << 3 | RPL). */
#define TERN_SEL_KCODE TERN_U(0x08)
#define TERN_SEL_KDATA TERN_U(0x10)
#define TERN_SEL_UDATA TERN_U(0x1b) /* index 3, RPL 3 (sysret layout: data before code) */
#define TERN_SEL_UCODE TERN_U(0x23) /* index 4, RPL 3, 64-bit */
#define TERN_SEL_TSS TERN_U(0x28)   /* index 5, 16-byte system descriptor */

/* 64-bit TSS: a 104-byte header, then an I/O bitmap of 65536 bits (all zero:
 * every port open) and the 0xff byte the CPU reads past its end. The TSS
 * limit is TERN_TSS_SIZE - 1. */
#define TERN_TSS_HDR_SIZE 104
#define TERN_TSS_IOMAP_SIZE 8192
#define TERN_TSS_SIZE (TERN_TSS_HDR_SIZE + TERN_TSS_IOMAP_SIZE + 1)

/* RFLAGS at CPL3 entry: IOPL = 3, reserved bit 1, IF = 0. */
#define TERN_ENTRY_RFLAGS 0x3002

/* Hypercall ports. */
#define TERN_HC_PORT_BASE TERN_U(0x500)
#define TERN_HC_CONSOLE_WRITE (TERN_HC_PORT_BASE + 0)
#define TERN_HC_CONSOLE_READ (TERN_HC_PORT_BASE + 1)
#define TERN_HC_YIELD (TERN_HC_PORT_BASE + 2)
#define TERN_HC_NET_KICK (TERN_HC_PORT_BASE + 3)
#define TERN_HC_HALT (TERN_HC_PORT_BASE + 4)
#define TERN_HC_PORT_LAST TERN_HC_HALT

/* Serial console used when there is no vmm (Multiboot loaders). */
#define TERN_COM1_PORT TERN_U(0x3f8)

/* Error values returned in `ret` fields (negated). */
#define TERN_EINVAL 22
#define TERN_EAGAIN 11
#define TERN_ENODEV 19

/* Field offsets of struct tern_boot_info, for the Multiboot stub (checked
 * against the struct below). */
#define TERN_BI_MAGIC 0
#define TERN_BI_ABI_VERSION 4
#define TERN_BI_LOADER 8
#define TERN_BI_NCPUS 12
#define TERN_BI_MEM_SIZE 16
#define TERN_BI_CMDLINE 24
#define TERN_BI_CLOCK 32
#define TERN_BI_IMAGE_END 40

#define TERN_BOOT_MAGIC TERN_U(0x6e726574) /* "tern" */
#define TERN_LOADER_VMM TERN_U(1)
#define TERN_LOADER_MULTIBOOT TERN_U(2)

#ifndef __ASSEMBLER__
#include <stdint.h>

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

/*
 * Net device i (boot info net[i], i < ndevs): one TX and one RX ring of
 * TERN_NET_RING_ENTRIES descriptors at fixed guest-physical addresses
 * (TERN_GPA_NET + i * TERN_NET_DEV_SPAN, TX first), zeroed by the vmm at
 * boot. Both rings work the same way (the virtio idea):
 *
 *   - indices are free-running uint32_t; slot = index % TERN_NET_RING_ENTRIES;
 *   - the guest fills desc[slot] and then advances `avail` (a release store):
 *     on TX a frame (addr, len = frame length), on RX an empty buffer
 *     (addr, len = its capacity, at least TERN_NET_FRAME_MAX);
 *   - the vmm consumes [used, avail) in order and advances `used`: on TX once
 *     the frame went to the TAP, on RX once a frame was written into the
 *     buffer and its length into desc.used_len;
 *   - `vmm_notify` (vmm-written) = 1: the backend sleeps; the guest makes a
 *     TERN_HC_NET_KICK after advancing `avail`. Otherwise no exit is needed:
 *     an awake backend sees the new `avail` by itself;
 *   - `guest_notify` (guest-written) = 1: the guest sleeps in yield with
 *     TERN_READY_NET(i) in its wait set; the vmm wakes it after advancing
 *     `used`. The side going to sleep sets its flag, then re-reads the other
 *     index (a full barrier between) before sleeping, so no wake-up is lost.
 *
 * The vmm copies each descriptor once, then checks it: avail - used above
 * TERN_NET_RING_ENTRIES, a buffer outside RAM, a TX length outside
 * [TERN_NET_FRAME_MIN, TERN_NET_FRAME_MAX] or an RX capacity below
 * TERN_NET_FRAME_MAX are guest errors: the vmm counts them, stops the
 * device (it moves no more frames) and the domain goes on.
 * Frames are Ethernet II without FCS; the vmm passes them to and from the
 * TAP unchanged (frames from the TAP that are shorter than the Ethernet
 * header or longer than TERN_NET_FRAME_MAX are dropped and counted).
 */
#define TERN_NET_MAX TERN_U(4)
#define TERN_NET_RING_ENTRIES TERN_U(256)
#define TERN_NET_DEV_SPAN TERN_U(0x4000) /* TX ring, then RX ring at +0x2000 */
#define TERN_NET_RING_SPAN TERN_U(0x2000)
#define TERN_NET_FRAME_MIN TERN_U(14)
#define TERN_NET_FRAME_MAX TERN_U(1514)

struct tern_net_desc {
	uint64_t addr;	   /* guest-physical buffer */
	uint32_t len;	   /* TX: frame length; RX: buffer capacity */
	uint32_t used_len; /* RX: frame length written by the vmm */
};

struct tern_net_ring {
	volatile uint32_t avail;	/* guest */
	volatile uint32_t guest_notify; /* guest */
	uint8_t pad0[56];		/* the two sides' words in separate cache lines */
	volatile uint32_t used;		/* vmm */
	volatile uint32_t vmm_notify;	/* vmm */
	uint8_t pad1[56];
	struct tern_net_desc desc[TERN_NET_RING_ENTRIES];
};
_Static_assert(sizeof(struct tern_net_ring) <= TERN_NET_RING_SPAN, "net ring span");

struct tern_net_info {
	uint8_t mac[6];
	uint16_t mtu;	       /* the vif's link: its TAP's MTU, 576..1500 */
	uint32_t ring_entries; /* TERN_NET_RING_ENTRIES */
	uint64_t tx_ring;      /* guest-physical struct tern_net_ring */
	uint64_t rx_ring;      /* guest-physical struct tern_net_ring */
};

struct tern_boot_info {
	uint32_t magic;
	uint32_t abi_version;
	uint32_t loader;
	uint32_t ncpus;
	uint64_t mem_size;  /* bytes of guest RAM, from gpa 0 */
	uint64_t cmdline;   /* gpa of NUL-terminated command line */
	uint64_t clock;	    /* gpa of struct tern_clock_page, 0 if none */
	uint64_t image_end; /* first gpa past the loaded image (heap start) */
	uint32_t ndevs;
	uint32_t pad;
	struct tern_net_info net[TERN_NET_MAX];
};

#define TERN_BI_CHECK(field, off)                                                                  \
	_Static_assert(__builtin_offsetof(struct tern_boot_info, field) == (off),                  \
		       "TERN_BI offset of " #field)
TERN_BI_CHECK(magic, TERN_BI_MAGIC);
TERN_BI_CHECK(abi_version, TERN_BI_ABI_VERSION);
TERN_BI_CHECK(loader, TERN_BI_LOADER);
TERN_BI_CHECK(ncpus, TERN_BI_NCPUS);
TERN_BI_CHECK(mem_size, TERN_BI_MEM_SIZE);
TERN_BI_CHECK(cmdline, TERN_BI_CMDLINE);
TERN_BI_CHECK(clock, TERN_BI_CLOCK);
TERN_BI_CHECK(image_end, TERN_BI_IMAGE_END);
#undef TERN_BI_CHECK

/* The ABI note as it lies in the file: an ELF note header, the name padded
 * to 4 bytes, the descriptor. */
struct tern_abi_note {
	uint32_t namesz; /* sizeof(TERN_NOTE_NAME) */
	uint32_t descsz; /* sizeof(uint32_t) */
	uint32_t type;	 /* TERN_NOTE_ABI_VERSION */
	char name[8];	 /* TERN_NOTE_NAME, NUL-padded */
	uint32_t abi_version;
};
_Static_assert(sizeof(struct tern_abi_note) == 24, "struct tern_abi_note layout");

#endif /* !__ASSEMBLER__ */

#endif /* TERN_ABI_H */
