/*
 * The live stream's page digest (docs/stream.md, "The live stream"): the
 * sum modulo 2^128 over every pfn whose page is not all zero of
 * XXH3-128(page, seed = pfn). It is additive, so each side keeps it up to
 * date page by page (subtract the page's old term, add the new one) and no
 * pass over all of RAM falls into a migration's downtime. The source sums
 * the bytes it sent, the destination the bytes it stored; END carries the
 * source's sum and the destination compares.
 *
 * The table keeps each page's current term (16 bytes per 4 KiB page,
 * allocated lazily by calloc) and a bit per page that is not all zero.
 */
#ifndef HV_PGDIG_H
#define HV_PGDIG_H

#include <stddef.h>
#include <stdint.h>

struct hv_pgdig {
	uint64_t lo, hi; /* the sum, little-endian halves */
};

struct hv_pgdig_tab {
	struct hv_pgdig sum;
	struct hv_pgdig *term; /* per pfn; {0,0} for a zero page */
	uint64_t *nonzero;     /* bit per pfn: the page's last copy was not all zero */
	uint64_t npages;
};

/* A table for npages pages, all zero (sum 0). 0 or -ENOMEM. */
int hv_pgdig_init(struct hv_pgdig_tab *t, uint64_t npages);
void hv_pgdig_fini(struct hv_pgdig_tab *t);
/* 1 if the 4 KiB page is all zero. */
int hv_pgdig_page_is_zero(const void *page);
/* The term of one page: {0,0} if all zero, else XXH3-128(page, pfn). */
struct hv_pgdig hv_pgdig_term(const void *page, uint64_t pfn);
/* Page pfn (< npages) now holds `page` (NULL: all zero). Returns 1 if the
 * page is not all zero. */
int hv_pgdig_set(struct hv_pgdig_tab *t, uint64_t pfn, const void *page);
/* 1 if page pfn was last set to something not all zero. */
int hv_pgdig_nonzero(const struct hv_pgdig_tab *t, uint64_t pfn);
/* The sum as END carries it: 16 bytes little-endian, 16 zero bytes. */
void hv_pgdig_get(const struct hv_pgdig_tab *t, uint8_t md[32]);

#endif
