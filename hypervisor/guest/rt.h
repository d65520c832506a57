/*
 * Tern guest runtime ("mini-OS"): what a guest app can call.
 *
 * The runtime starts from either loader (rt_entry.S for the vmm,
 * rt_multiboot.S for Multiboot loaders such as qemu -kernel), prints the boot
 * line, sets up console, clock, command line and allocator, then calls the
 * app's app_main(). Its return value becomes the halt status.
 *
 * Everything runs at CPL3 on one vCPU with interrupts off and no IDT: a fault
 * triple-faults the VM, which the vmm reports as a crash. Nothing here is
 * reentrant and nothing needs to be.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <tern/abi.h>

/* Negative errno values used by the runtime (there is no libc errno.h). */
#define RT_ENOENT 2
#define RT_E2BIG 7
#define RT_EINVAL 22
#define RT_ERANGE 34

#define RT_PAGE_SIZE ((uint64_t)4096)
#define RT_MIB ((uint64_t)1 << 20)
#define RT_NS_PER_SEC ((uint64_t)1000000000)

/* Bytes below the top of RAM kept for the stack (both loaders put rsp at
 * the top of RAM); the allocator never hands them out. */
#define RT_STACK_RESERVE ((uint64_t)1 << 20)

/* The app: called once after the runtime is up; returns the halt status. */
int app_main(void);

/* rt_boot.c: entry from rt_entry64 with the boot-info page. */
void rt_boot_main(uint64_t boot_info) __attribute__((noreturn));
/* The boot-info page the loader gave us (valid for the guest's lifetime). */
const struct tern_boot_info *rt_boot_info(void);
/* "vmm" or "multiboot". */
const char *rt_boot_loader_name(void);

/* rt_console.c: whole-buffer console output (hypercall or COM1). */
void rt_console_init(uint32_t loader);
void rt_console_write(const char *buf, size_t len);

/* rt_printf.c: %d %i %u %x %X %p %s %c %% with flags '-' '0', a width, a
 * precision for %s, and length modifiers l, ll, z. No floating point. */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vprintf(const char *fmt, va_list ap);
/* snprintf semantics: always NUL-terminates when size > 0 and returns the
 * length the full output would have had. */
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* rt_clock.c: guest monotonic time in ns, read without exits. */
void rt_clock_init(const struct tern_boot_info *bi);
uint64_t rt_clock_ns(void);
/* The clock page's resume counter (0 when there is no clock page). */
uint32_t rt_clock_resumes(void);
/* The TSC rate the clock uses, in kHz. */
uint64_t rt_clock_tsc_khz(void);

/* rt_sys.c: the platform's services (hypercalls under the vmm; spinning and
 * isa-debug-exit under Multiboot). */
void rt_sys_init(uint32_t loader);
/* Blocks until guest monotonic time reaches deadline_ns or a source in
 * wait_set is ready; returns the ready set (always 0 under Multiboot). */
uint64_t rt_sys_yield(uint64_t deadline_ns, uint64_t wait_set);
/* Stops the domain with status (0 = success). */
void rt_sys_halt(int64_t status) __attribute__((noreturn));

/* rt_alloc.c: bump allocator over [start, end); nothing is ever freed. */
void rt_alloc_init(uint64_t start, uint64_t end);
/* align must be a power of two. Returns NULL when the request does not fit. */
void *rt_alloc(uint64_t size, uint64_t align);
void *rt_alloc_pages(uint64_t npages);
/* First free byte (the free range is [next, next + avail)). */
uint64_t rt_alloc_next(void);
/* Bytes still free at alignment 1. */
uint64_t rt_alloc_avail(void);

/* rt_cmdline.c: `key=value` words separated by spaces. */
void rt_cmdline_init(const char *cmdline);
const char *rt_cmdline_get(void);
/* 0 and the value (not NUL-terminated) or -RT_ENOENT. */
int rt_cmdline_find(const char *key, const char **val, size_t *len);
/* Decimal or 0x-hex. 0 with def when absent, -RT_EINVAL when malformed,
 * -RT_ERANGE when it overflows 64 bits. */
int rt_cmdline_u64(const char *key, uint64_t def, uint64_t *out);
/* Copies the value (or def when absent) into buf; -RT_E2BIG when too long. */
int rt_cmdline_str(const char *key, const char *def, char *buf, size_t size);

/* rt_string.c: the C library subset the compiler may call on its own. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
void *memchr(const void *s, int c, size_t n);

#endif /* RT_H */
