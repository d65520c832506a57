/*
 * A bump allocator over the RAM between the end of the image and the stack
 * reserve at the top of RAM. Guests here allocate a few large regions once
 * (a working set, buffers) and never free, so nothing more is needed.
 */
#include "rt.h"

static uint64_t alloc_next;
static uint64_t alloc_end;

void rt_alloc_init(uint64_t start, uint64_t end)
{
	alloc_next = start;
	alloc_end = end > start ? end : start;
}

void *rt_alloc(uint64_t size, uint64_t align)
{
	uint64_t p;

	if (!align || (align & (align - 1)))
		return NULL;
	p = (alloc_next + align - 1) & ~(align - 1);
	if (p < alloc_next || p > alloc_end || size > alloc_end - p)
		return NULL;
	alloc_next = p + size;
	return (void *)(uintptr_t)p;
}

void *rt_alloc_pages(uint64_t npages)
{
	if (npages > UINT64_MAX / RT_PAGE_SIZE)
		return NULL;
	return rt_alloc(npages * RT_PAGE_SIZE, RT_PAGE_SIZE);
}

uint64_t rt_alloc_next(void)
{
	return alloc_next;
}

uint64_t rt_alloc_avail(void)
{
	return alloc_end - alloc_next;
}
