/*
 * The receiving side of a live stream: records applied one at a time as
 * they arrive (the destination of a migration reads them off TLS 2). A
 * page may come many times; the last copy wins and the page digest
 * follows each store, so END is checked without a pass over RAM. Pages
 * are written only when they change what RAM holds: a ZERO entry for a
 * page that is zero already touches nothing (the destination's RAM is
 * fresh and may still be being populated).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv_mem.h"
#include "hv_pgdig.h"
#include "hv_stream.h"
#include "hv_stream_int.h"

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
	if (hv_pgdig_init(&l->dig, hv_mem_npages(mem)) < 0) {
		snprintf(err, errlen, "live loader: page digest table: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

void hv_stream_live_in_fini(struct hv_stream_live_in *l)
{
	hv_pgdig_fini(&l->dig);
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
