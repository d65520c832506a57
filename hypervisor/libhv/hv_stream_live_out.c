/*
 * The sending side of a live stream (docs/stream.md, "The live stream"):
 * HEADER with HV_STREAM_F_LIVE, PAGES records built in a stage and written
 * in one piece, END with the page digest.
 *
 * A PAGES record is staged as [hdr][pages hdr][entries][data]: the data
 * area starts after room for HV_STREAM_LIVE_BATCH entries, and the fixed
 * part is placed right before the entries actually used, so the record is
 * contiguous whatever number of pages turned out zero. Each page is read
 * from guest RAM once (the zero check) and copied once (into the stage);
 * its digest term comes from the copy, so the digest covers exactly the
 * bytes on the wire even while the guest writes the page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_mem.h"
#include "hv_pgdig.h"
#include "hv_stream.h"

#define HV_LIVE_FIXED (sizeof(struct hv_rec_hdr) + sizeof(struct hv_rec_pages))
#define HV_LIVE_DATA_OFF (HV_LIVE_FIXED + HV_STREAM_LIVE_BATCH * 8)

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

int hv_stream_save_live_pages(struct hv_stream_out *out, struct hv_stream_live_stage *stage,
			      const struct hv_mem *mem, struct hv_pgdig_tab *dig,
			      const uint64_t *pfns, uint32_t n, int skip_zero, uint64_t *sent)
{
	uint64_t entries[HV_STREAM_LIVE_BATCH];
	uint8_t *data = stage->buf + HV_LIVE_DATA_OFF;
	uint32_t m = 0, normal = 0;

	if (n > HV_STREAM_LIVE_BATCH)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *pg = hv_mem_ptr(mem, pfns[i] << HV_PAGE_SHIFT, HV_PAGE_SIZE);
		uint8_t *copy = data + (size_t)normal * HV_PAGE_SIZE;

		if (!pg || pfns[i] >= dig->npages)
			return -EINVAL;
		if (!hv_pgdig_page_is_zero(pg)) {
			memcpy(copy, pg, HV_PAGE_SIZE);
			if (hv_pgdig_set(dig, pfns[i], copy)) {
				entries[m++] = HV_PAGE_ENTRY(pfns[i], HV_PAGE_NORMAL);
				normal++;
				continue;
			}
		}
		hv_pgdig_set(dig, pfns[i], NULL);
		if (!skip_zero)
			entries[m++] = HV_PAGE_ENTRY(pfns[i], HV_PAGE_ZERO);
	}
	if (m == 0)
		return 0;
	uint8_t *rec = stage->buf + (HV_STREAM_LIVE_BATCH - m) * 8;
	struct hv_rec_hdr h = {HV_REC_PAGES, (uint32_t)(sizeof(struct hv_rec_pages) + m * 8 +
							(size_t)normal * HV_PAGE_SIZE)};
	struct hv_rec_pages rp = {m, 0};
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), &rp, sizeof(rp));
	memcpy(rec + HV_LIVE_FIXED, entries, (size_t)m * 8);
	*sent += m;
	return hv_stream_out_put_direct(out, rec, sizeof(h) + h.len);
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
