#include "hv_pgdig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define HV_PGDIG_PAGE 4096u

int hv_pgdig_init(struct hv_pgdig_tab *t, uint64_t npages)
{
	memset(t, 0, sizeof(*t));
	t->npages = npages;
	t->term = calloc(npages ? npages : 1, sizeof(*t->term));
	t->nonzero = calloc((npages + 63) / 64 + 1, sizeof(uint64_t));
	if (!t->term || !t->nonzero) {
		hv_pgdig_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void hv_pgdig_fini(struct hv_pgdig_tab *t)
{
	free(t->term);
	free(t->nonzero);
	t->term = NULL;
	t->nonzero = NULL;
}

/* Eight words at a time with an early exit: the common non-zero page is
 * known after its first cache line, a zero page costs one read of 4 KiB. */
int hv_pgdig_page_is_zero(const void *page)
{
	const uint64_t *w = page;

	for (unsigned i = 0; i < HV_PGDIG_PAGE / 8; i += 8) {
		uint64_t acc = w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] |
			       w[i + 6] | w[i + 7];
		if (acc)
			return 0;
	}
	return 1;
}

struct hv_pgdig hv_pgdig_term(const void *page, uint64_t pfn)
{
	if (!page || hv_pgdig_page_is_zero(page))
		return (struct hv_pgdig){0, 0};
	XXH128_hash_t h = XXH3_128bits_withSeed(page, HV_PGDIG_PAGE, pfn);
	return (struct hv_pgdig){h.low64, h.high64};
}

static void hv_pgdig_add(struct hv_pgdig *s, struct hv_pgdig v)
{
	uint64_t lo = s->lo + v.lo;

	s->hi += v.hi + (lo < s->lo);
	s->lo = lo;
}

static void hv_pgdig_sub(struct hv_pgdig *s, struct hv_pgdig v)
{
	uint64_t lo = s->lo - v.lo;

	s->hi -= v.hi + (s->lo < v.lo);
	s->lo = lo;
}

int hv_pgdig_set(struct hv_pgdig_tab *t, uint64_t pfn, const void *page)
{
	struct hv_pgdig v = hv_pgdig_term(page, pfn);
	int nz = page && (v.lo || v.hi || !hv_pgdig_page_is_zero(page));

	hv_pgdig_sub(&t->sum, t->term[pfn]);
	hv_pgdig_add(&t->sum, v);
	t->term[pfn] = v;
	if (nz)
		t->nonzero[pfn / 64] |= 1ull << (pfn % 64);
	else
		t->nonzero[pfn / 64] &= ~(1ull << (pfn % 64));
	return nz;
}

int hv_pgdig_nonzero(const struct hv_pgdig_tab *t, uint64_t pfn)
{
	return (int)((t->nonzero[pfn / 64] >> (pfn % 64)) & 1);
}

void hv_pgdig_get(const struct hv_pgdig_tab *t, uint8_t md[32])
{
	memset(md, 0, 32);
	memcpy(md, &t->sum.lo, 8); /* x86-64: little-endian */
	memcpy(md + 8, &t->sum.hi, 8);
}
