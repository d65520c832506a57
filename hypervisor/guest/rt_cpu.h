/*
 * One-instruction CPU helpers (port I/O, TSC, CPUID, hypercall).
 *
 * Everything here runs at CPL3: port I/O works because both loaders open
 * every port in the TSS I/O bitmap (and set IOPL=3).
 */
#ifndef RT_CPU_H
#define RT_CPU_H

#include <stdint.h>

static inline void rt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t rt_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* A hypercall: the vmm reads the argument struct at the 32-bit gpa in eax
 * and writes its results back before the vCPU resumes, hence "memory". */
static inline void rt_hypercall(uint16_t port, volatile void *arg)
{
	uint32_t gpa = (uint32_t)(uintptr_t)arg;

	__asm__ volatile("outl %0, %1" : : "a"(gpa), "Nd"(port) : "memory");
}

static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static inline void rt_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

#endif /* RT_CPU_H */
