/*
 * The receiving side of a live stream: records applied one at a time as
 * they arrive (the destination of a migration reads them off TLS 2). A
 * page may come many times; the last copy wins and the page digest
 * follows each store, so END is checked without a pass over RAM. Pages
 * are written only when they change what RAM holds: a ZERO entry for a
 * page that is zero already touches nothing (the destination's RAM is
 * fresh and may still be being populated).
 *
 * hv_stream_live_in_next reads the records itself so that page data goes
 * from the reader (OpenSSL's record buffer, for a migration) straight
 * into guest RAM: the PAGES header and pfn list come first into a small
 * buffer and are checked whole (type, pfn inside RAM, length matching the
 * normal pages), and only then is any page written, each run of
 * consecutive pfns with one read. The digest term of each page is taken
 * from RAM right after its read (XXH3 over the page in place, still in
 * cache) and replaces the term of what the page held before. If a read
 * fails halfway, RAM holds part of a record and the digest no longer
 * matches it; the caller throws the VM away then (a failed migration
 * never runs the destination).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_mem.h"
#include "hv_pgdig.h"
#include "hv_stream.h"
#include "hv_stream_int.h"

/* The largest record hv_stream_live_in_next reads whole, rounded to 64:
 * a pfn list, a vCPU, a device, END (a PAGES record's data goes to RAM). */
#define HV_LIVE_IN_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define HV_LIVE_IN_BUF                                                                             \
	((HV_LIVE_IN_MAX2(                                                                         \
	      HV_LIVE_IN_MAX2(sizeof(struct hv_rec_pages) + HV_STREAM_BATCH_MAX * 8,               \
			      sizeof(struct hv_rec_vcpu) + sizeof(struct hv_vcpu_state)),          \
	      HV_LIVE_IN_MAX2(sizeof(struct hv_rec_device) + HV_DEV_STATE_MAX,                     \
			      sizeof(struct hv_rec_end))) +                                        \
	  63) &                                                                                    \
	 ~(size_t)63)

int hv_stream_live_in_init(struct hv_stream_live_in *l, struct hv_mem *mem,
			   struct hv_stream_state *st, const struct hv_stream_dev *devs,
			   unsigned ndevs, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	if (!(st->hdr.flags & HV_STREAM_F_LIVE) || mem->size != st->hdr.mem_size ||
	    ndevs > HV_DEV_MAX) {
		snprintf(err, errlen, "live loader: not a live stream of this memory size");
		return -EINVAL;
	}
	l->mem = mem;
	l->st = st;
	l->devs = devs;
	l->ndevs = ndevs;
	l->buf = aligned_alloc(64, HV_LIVE_IN_BUF);
	if (!l->buf || hv_pgdig_init(&l->dig, hv_mem_npages(mem)) < 0) {
		free(l->buf);
		l->buf = NULL;
		snprintf(err, errlen, "live loader: page digest table: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void hv_stream_live_in_fini(struct hv_stream_live_in *l)
{
	hv_pgdig_fini(&l->dig);
	free(l->buf);
	l->buf = NULL;
}

static int hv_live_pages(struct hv_stream_live_in *l, const void *p, uint32_t len, uint64_t off,
			 char *err, size_t errlen)
{
	struct hv_stream_pages_view v;
	const uint8_t *data;
	int rc = hv_stream_dec_pages(p, len, off, hv_mem_npages(l->mem), &v, err, errlen);

	if (rc < 0)
		return rc;
	data = v.data;
	for (uint32_t i = 0; i < v.count; i++) {
		uint64_t e, pfn;
		memcpy(&e, &v.entries[i], sizeof(e)); /* the fuzzer's input may be unaligned */
		pfn = HV_PAGE_ENTRY_PFN(e);
		uint8_t *pg = l->mem->base + (pfn << HV_PAGE_SHIFT);
		if (HV_PAGE_ENTRY_TYPE(e) == HV_PAGE_ZERO) {
			if (hv_pgdig_nonzero(&l->dig, pfn))
				memset(pg, 0, HV_PAGE_SIZE);
			hv_pgdig_set(&l->dig, pfn, NULL);
			l->zero++;
			continue;
		}
		memcpy(pg, data, HV_PAGE_SIZE);
		hv_pgdig_set(&l->dig, pfn, pg);
		data += HV_PAGE_SIZE;
		l->normal++;
	}
	l->st->pages += v.count;
	return 0;
}

static int hv_live_end(struct hv_stream_live_in *l, const void *p, uint32_t len, uint64_t off,
		       char *err, size_t errlen)
{
	const char *missing = hv_stream_load_missing(l->st, l->devs, l->ndevs);
	struct hv_rec_end e;
	uint8_t md[32], zero[32] = {0};
	char want[17], got[17];
	int rc = hv_stream_dec_end(p, len, off, &e, err, errlen);

	if (rc < 0)
		return rc;
	if (memcmp(e.stream_sha256, zero, 32) != 0 || memcmp(e.mem_sha256 + 16, zero, 16) != 0) {
		snprintf(err, errlen, "record END at offset %llu: not the END of a live stream",
			 (unsigned long long)off);
		return -EBADMSG;
	}
	if (l->st->nvcpus_seen != (1u << l->st->hdr.nvcpus) - 1 || missing) {
		snprintf(err, errlen, "record END at offset %llu: stream lacks %s state",
			 (unsigned long long)off, missing ? missing : "vCPU");
		return -EBADMSG;
	}
	if (e.pages != l->st->pages) {
		snprintf(err, errlen,
			 "record END at offset %llu: %llu pages announced, %llu received",
			 (unsigned long long)off, (unsigned long long)e.pages,
			 (unsigned long long)l->st->pages);
		return -EBADMSG;
	}
	hv_pgdig_get(&l->dig, md);
	if (memcmp(md, e.mem_sha256, 32) != 0) {
		hv_stream_hex8(e.mem_sha256, want);
		hv_stream_hex8(md, got);
		snprintf(err, errlen,
			 "record END at offset %llu: page digest mismatch (expected %s..., got "
			 "%s...): the destination does not hold what was sent",
			 (unsigned long long)off, want, got);
		return -EBADMSG;
	}
	return 1;
}

int hv_stream_live_in_record(struct hv_stream_live_in *l, uint32_t type, const void *p,
			     uint32_t len, uint64_t off, char *err, size_t errlen)
{
	if (!hv_stream_rec_len_ok(type, len)) {
		snprintf(err, errlen, "record %s (type %u) at offset %llu: bad length %u",
			 hv_stream_dec_type_name(type), type, (unsigned long long)off, len);
		return -EBADMSG;
	}
	switch (type) {
	case HV_REC_PAGES:
		return hv_live_pages(l, p, len, off, err, errlen);
	case HV_REC_VCPU:
		return hv_stream_load_vcpu(p, len, off, l->st, err, errlen);
	case HV_REC_DEVICE:
		return hv_stream_load_device(p, len, off, l->st, l->devs, l->ndevs, err, errlen);
	case HV_REC_END:
		return hv_live_end(l, p, len, off, err, errlen);
	}
	snprintf(err, errlen, "record %s at offset %llu: unexpected here",
		 hv_stream_dec_type_name(type), (unsigned long long)off);
	return -EBADMSG;
}

/* What a read callback's result means for the record at off. */
static int hv_live_read_fail(int rc, uint32_t type, uint64_t off, char *err, size_t errlen)
{
	snprintf(err, errlen, "record %s at offset %llu: %s", hv_stream_dec_type_name(type),
		 (unsigned long long)off, rc == 0 || rc == -ENODATA ? "truncated" : strerror(-rc));
	return rc == 0 || rc == -ENODATA ? -EBADMSG : rc;
}

/* Normal pages entries[i..j) that follow each other in RAM: one read. */
static uint32_t hv_live_run(const struct hv_stream_pages_view *v, uint32_t i)
{
	uint32_t j = i + 1;

	while (j < v->count && HV_PAGE_ENTRY_TYPE(v->entries[j]) == HV_PAGE_NORMAL &&
	       HV_PAGE_ENTRY_PFN(v->entries[j]) == HV_PAGE_ENTRY_PFN(v->entries[j - 1]) + 1)
		j++;
	return j;
}

/* A PAGES record of len bytes at off whose fixed part is not read yet. */
static int hv_live_pages_direct(struct hv_stream_live_in *l, uint32_t len, uint64_t off,
				int (*read_fn)(void *, void *, size_t), void *ctx, char *err,
				size_t errlen)
{
	struct hv_stream_pages_view v;
	struct hv_rec_pages rp;
	int rc;

	if ((rc = read_fn(ctx, l->buf, sizeof(rp))) != 1)
		return hv_live_read_fail(rc, HV_REC_PAGES, off, err, errlen);
	memcpy(&rp, l->buf, sizeof(rp));
	/* Count and list length checked before the list is read (the decoder
	 * says why if not); then the decoder checks the whole record from its
	 * fixed part and list alone: it never reads the data area. */
	if (rp.count >= 1 && rp.count <= HV_STREAM_BATCH_MAX &&
	    len >= sizeof(rp) + (size_t)rp.count * 8 &&
	    (rc = read_fn(ctx, l->buf + sizeof(rp), (size_t)rp.count * 8)) != 1)
		return hv_live_read_fail(rc, HV_REC_PAGES, off, err, errlen);
	if ((rc = hv_stream_dec_pages(l->buf, len, off, hv_mem_npages(l->mem), &v, err, errlen)) <
	    0)
		return rc;
	for (uint32_t i = 0; i < v.count;) {
		uint64_t pfn = HV_PAGE_ENTRY_PFN(v.entries[i]);
		uint8_t *pg = l->mem->base + (pfn << HV_PAGE_SHIFT);
		if (HV_PAGE_ENTRY_TYPE(v.entries[i]) == HV_PAGE_ZERO) {
			if (hv_pgdig_nonzero(&l->dig, pfn))
				memset(pg, 0, HV_PAGE_SIZE);
			hv_pgdig_set(&l->dig, pfn, NULL);
			l->zero++;
			i++;
			continue;
		}
		uint32_t j = hv_live_run(&v, i);
		if ((rc = read_fn(ctx, pg, (size_t)(j - i) * HV_PAGE_SIZE)) != 1)
			return hv_live_read_fail(rc, HV_REC_PAGES, off, err, errlen);
		l->normal += j - i;
		for (; i < j; i++, pfn++, pg += HV_PAGE_SIZE)
			hv_pgdig_set(&l->dig, pfn, pg);
	}
	l->st->pages += v.count;
	return 0;
}

int hv_stream_live_in_next(struct hv_stream_live_in *l, int (*read_fn)(void *, void *, size_t),
			   void *ctx, char *err, size_t errlen)
{
	uint64_t off = l->offset;
	struct hv_rec_hdr h;
	int rc = read_fn(ctx, &h, sizeof(h));

	if (rc != 1) {
		snprintf(err, errlen, "offset %llu: %s", (unsigned long long)off,
			 rc == 0 || rc == -ENODATA ? "truncated: stream ends before the END record"
						   : strerror(-rc));
		return rc == 0 || rc == -ENODATA ? -EBADMSG : rc;
	}
	if (!hv_stream_rec_len_ok(h.type, h.len))
		return hv_stream_live_in_record(l, h.type, NULL, h.len, off, err, errlen);
	if (h.type != HV_REC_PAGES && h.type != HV_REC_VCPU && h.type != HV_REC_DEVICE &&
	    h.type != HV_REC_END) {
		snprintf(err, errlen, "record %s at offset %llu: unexpected here",
			 hv_stream_dec_type_name(h.type), (unsigned long long)off);
		return -EBADMSG;
	}
	l->offset += sizeof(h) + h.len;
	if (h.type == HV_REC_PAGES)
		return hv_live_pages_direct(l, h.len, off, read_fn, ctx, err, errlen);
	if (h.len > HV_LIVE_IN_BUF) /* cannot be, by hv_stream_rec_len_ok */
		return hv_live_read_fail(-EMSGSIZE, h.type, off, err, errlen);
	if ((rc = read_fn(ctx, l->buf, h.len)) != 1)
		return hv_live_read_fail(rc, h.type, off, err, errlen);
	return hv_stream_live_in_record(l, h.type, l->buf, h.len, off, err, errlen);
}
