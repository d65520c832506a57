/*
 * The sending side of a live stream (docs/stream.md, "The live stream"):
 * HEADER with HV_STREAM_F_LIVE, PAGES records written from guest RAM, END
 * with the page digest.
 *
 * A PAGES record goes out as [hdr][pages hdr][entries][data], the fixed
 * part placed right before the entries actually used in the stage, so it
 * and any staged data are contiguous whatever number of pages turned out
 * zero. Page data is not copied (runs of consecutive pages): each page is
 * zero-checked and hashed where it is in guest RAM, and SSL_write reads it
 * from there too (OpenSSL encrypts from its input into its own record
 * buffer).
 *
 * Why sending from RAM the guest may be writing is correct: the digest
 * term is taken a moment before the bytes are encrypted, so a guest write
 * in between makes the source's term differ from the bytes sent (and from
 * the destination's term). But the page's dirty bit was cleared before
 * this reads it, so such a write marks it dirty again and a later round
 * sends it anew, replacing its term on both sides; and the last round
 * (stop-and-copy) runs with the vCPUs stopped, so there the term and the
 * bytes are the same. At END every page's last copy was one no write
 * raced with, and the sums agree. The same holds for a page found zero
 * (left out or sent as ZERO) that the guest writes right after.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_mem.h"
#include "hv_pgdig.h"
#include "hv_stream.h"

#define HV_LIVE_FIXED (sizeof(struct hv_rec_hdr) + sizeof(struct hv_rec_pages))
#define HV_LIVE_DATA_OFF (HV_LIVE_FIXED + HV_STREAM_LIVE_BATCH * 8)
/* Consecutive pages from this many on (one full 16 KiB TLS record) are
 * written straight from guest RAM. */
#define HV_LIVE_DIRECT_RUN 4u

int hv_stream_live_stage_init(struct hv_stream_live_stage *s)
{
	s->buf = aligned_alloc(64, (HV_LIVE_DATA_OFF + HV_STREAM_LIVE_BATCH * HV_PAGE_SIZE + 63) &
				       ~(size_t)63);
	return s->buf ? 0 : -ENOMEM;
}

void hv_stream_live_stage_fini(struct hv_stream_live_stage *s)
{
	free(s->buf);
	s->buf = NULL;
}

int hv_stream_save_header_live(struct hv_stream_out *out, uint64_t mem_size, uint32_t nvcpus,
			       const char *cfg)
{
	struct hv_rec_hdr rh;
	struct hv_rec_header h;
	size_t n = strlen(cfg);
	int rc;

	if (n > HV_STREAM_CFG_MAX)
		return -E2BIG;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, HV_STREAM_MAGIC, 8);
	h.version = HV_STREAM_VERSION;
	h.flags = HV_STREAM_F_LIVE;
	h.mem_size = mem_size;
	h.nvcpus = nvcpus;
	h.cfg_len = (uint32_t)n;
	rh = (struct hv_rec_hdr){HV_REC_HEADER, (uint32_t)(sizeof(h) + n)};
	if ((rc = hv_stream_out_put(out, &rh, sizeof(rh))) < 0 ||
	    (rc = hv_stream_out_put(out, &h, sizeof(h))) < 0)
		return rc;
	return hv_stream_out_put(out, cfg, n);
}

/* Normal pages (nz[i] set) pfns[i..j) that follow each other in RAM. */
static uint32_t hv_live_out_run(const uint64_t *pfns, const uint8_t *nz, uint32_t n, uint32_t i)
{
	uint32_t j = i + 1;

	while (j < n && nz[j] && pfns[j] == pfns[j - 1] + 1)
		j++;
	return j;
}

int hv_stream_save_live_pages(struct hv_stream_out *out, struct hv_stream_live_stage *stage,
			      const struct hv_mem *mem, struct hv_pgdig_tab *dig,
			      const uint64_t *pfns, uint32_t n, int skip_zero, uint64_t *sent)
{
	uint64_t entries[HV_STREAM_LIVE_BATCH];
	uint8_t nz[HV_STREAM_LIVE_BATCH];
	uint32_t m = 0, normal = 0;
	int rc;

	if (n > HV_STREAM_LIVE_BATCH)
		return -EINVAL;
	/* Zero check and digest term in guest RAM, no copy (see the top). */
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *pg = hv_mem_ptr(mem, pfns[i] << HV_PAGE_SHIFT, HV_PAGE_SIZE);

		if (!pg || pfns[i] >= dig->npages)
			return -EINVAL;
		nz[i] = !hv_pgdig_page_is_zero(pg) && hv_pgdig_set(dig, pfns[i], pg);
		if (nz[i]) {
			entries[m++] = HV_PAGE_ENTRY(pfns[i], HV_PAGE_NORMAL);
			normal++;
			continue;
		}
		hv_pgdig_set(dig, pfns[i], NULL);
		if (!skip_zero)
			entries[m++] = HV_PAGE_ENTRY(pfns[i], HV_PAGE_ZERO);
	}
	if (m == 0)
		return 0;
	uint8_t *rec = stage->buf + (HV_STREAM_LIVE_BATCH - m) * 8;
	uint8_t *data = stage->buf + HV_LIVE_DATA_OFF, *fill = data;
	struct hv_rec_hdr h = {HV_REC_PAGES, (uint32_t)(sizeof(struct hv_rec_pages) + m * 8 +
							(size_t)normal * HV_PAGE_SIZE)};
	struct hv_rec_pages rp = {m, 0};
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), &rp, sizeof(rp));
	memcpy(rec + HV_LIVE_FIXED, entries, (size_t)m * 8);
	*sent += m;
	/* The data in entry order: a run of HV_LIVE_DIRECT_RUN pages or more
	 * is written from guest RAM, what is staged before it going first;
	 * shorter runs are copied behind the list, so that scattered pages
	 * still leave in full TLS records, not a record and a send each. */
	for (uint32_t i = 0; i < n;) {
		if (!nz[i]) {
			i++;
			continue;
		}
		uint32_t j = hv_live_out_run(pfns, nz, n, i);
		const uint8_t *pg = mem->base + (pfns[i] << HV_PAGE_SHIFT);
		size_t len = (size_t)(j - i) * HV_PAGE_SIZE;
		if (j - i < HV_LIVE_DIRECT_RUN) {
			memcpy(fill, pg, len);
			fill += len;
		} else {
			if ((rc = hv_stream_out_put_direct(out, rec, (size_t)(fill - rec))) < 0 ||
			    (rc = hv_stream_out_put_direct(out, pg, len)) < 0)
				return rc;
			rec = fill = data;
		}
		i = j;
	}
	return fill > rec ? hv_stream_out_put_direct(out, rec, (size_t)(fill - rec)) : 0;
}

int hv_stream_save_end_live(struct hv_stream_out *out, const struct hv_pgdig_tab *dig,
			    uint64_t pages)
{
	struct hv_rec_hdr h = {HV_REC_END, sizeof(struct hv_rec_end)};
	struct hv_rec_end e;
	int rc;

	memset(&e, 0, sizeof(e));
	hv_pgdig_get(dig, e.mem_sha256);
	e.pages = pages;
	if ((rc = hv_stream_out_put(out, &h, sizeof(h))) < 0 ||
	    (rc = hv_stream_out_put(out, &e, sizeof(e))) < 0)
		return rc;
	return hv_stream_out_flush(out);
}
