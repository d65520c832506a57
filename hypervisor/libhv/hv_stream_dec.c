#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hv_stream.h"

const char *hv_stream_dec_type_name(uint32_t type)
{
	switch (type) {
	case HV_REC_HEADER:
		return "HEADER";
	case HV_REC_PAGES:
		return "PAGES";
	case HV_REC_VCPU:
		return "VCPU";
	case HV_REC_DEVICE:
		return "DEVICE";
	case HV_REC_END:
		return "END";
	}
	return "unknown";
}

static int hv_dec_fail(char *err, size_t errlen, uint32_t type, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int hv_dec_fail(char *err, size_t errlen, uint32_t type, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "record %s at offset %llu: ", hv_stream_dec_type_name(type),
			 (unsigned long long)off);

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

int hv_stream_dec_header(const void *p, size_t len, uint64_t off, struct hv_rec_header *h,
			 const char **cfg, char *err, size_t errlen)
{
	const char *text = (const char *)p + sizeof(*h);

	if (len < sizeof(*h))
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off, "too short (%zu bytes)", len);
	memcpy(h, p, sizeof(*h));
	if (memcmp(h->magic, HV_STREAM_MAGIC, 8) != 0)
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off,
				   "bad magic (not a Tern stream)");
	if (h->version != HV_STREAM_VERSION)
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off,
				   "unsupported version %u (want %u)", h->version,
				   HV_STREAM_VERSION);
	if (h->flags & ~HV_STREAM_F_LIVE)
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off, "unknown flags 0x%x", h->flags);
	if (h->mem_size == 0 || h->mem_size % (2u << 20) != 0 || h->mem_size > (1ull << 46))
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off, "bad memory size %llu",
				   (unsigned long long)h->mem_size);
	if (h->nvcpus == 0 || h->nvcpus > 8)
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off, "bad vCPU count %u", h->nvcpus);
	if (h->cfg_len > HV_STREAM_CFG_MAX || h->cfg_len != len - sizeof(*h))
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off,
				   "config length %u does not match record", h->cfg_len);
	if (memchr(text, 0, h->cfg_len))
		return hv_dec_fail(err, errlen, HV_REC_HEADER, off, "NUL byte in config text");
	*cfg = text;
	return 0;
}

int hv_stream_dec_pages(const void *p, size_t len, uint64_t off, uint64_t npages,
			struct hv_stream_pages_view *v, char *err, size_t errlen)
{
	struct hv_rec_pages rp;
	uint64_t normal = 0;

	if (len < sizeof(rp))
		return hv_dec_fail(err, errlen, HV_REC_PAGES, off, "too short (%zu bytes)", len);
	memcpy(&rp, p, sizeof(rp));
	if (rp.count == 0 || rp.count > HV_STREAM_BATCH_MAX)
		return hv_dec_fail(err, errlen, HV_REC_PAGES, off, "bad page count %u", rp.count);
	if (len < sizeof(rp) + (size_t)rp.count * 8)
		return hv_dec_fail(err, errlen, HV_REC_PAGES, off, "pfn list truncated");
	v->count = rp.count;
	v->entries = (const uint64_t *)((const uint8_t *)p + sizeof(rp));
	v->data = (const uint8_t *)(v->entries + rp.count);
	for (uint32_t i = 0; i < rp.count; i++) {
		uint64_t e = v->entries[i];
		if (HV_PAGE_ENTRY_TYPE(e) > HV_PAGE_ZERO)
			return hv_dec_fail(err, errlen, HV_REC_PAGES, off,
					   "entry %u: bad page type %u", i, HV_PAGE_ENTRY_TYPE(e));
		if ((e & ~(((1ull << 52) - 1) | (0xfull << 60))) != 0 ||
		    HV_PAGE_ENTRY_PFN(e) >= npages)
			return hv_dec_fail(err, errlen, HV_REC_PAGES, off,
					   "entry %u: pfn 0x%llx outside RAM (%llu pages)", i,
					   (unsigned long long)HV_PAGE_ENTRY_PFN(e),
					   (unsigned long long)npages);
		normal += HV_PAGE_ENTRY_TYPE(e) == HV_PAGE_NORMAL;
	}
	if (len != sizeof(rp) + (size_t)rp.count * 8 + normal * 4096)
		return hv_dec_fail(err, errlen, HV_REC_PAGES, off,
				   "length %zu does not match %u entries with %llu data pages", len,
				   rp.count, (unsigned long long)normal);
	return 0;
}

int hv_stream_dec_vcpu(const void *p, size_t len, uint64_t off, uint32_t nvcpus, uint32_t *index,
		       struct hv_vcpu_state *st, char *err, size_t errlen)
{
	struct hv_rec_vcpu rv;

	if (len != sizeof(rv) + sizeof(*st))
		return hv_dec_fail(err, errlen, HV_REC_VCPU, off, "bad length %zu", len);
	memcpy(&rv, p, sizeof(rv));
	if (rv.index >= nvcpus)
		return hv_dec_fail(err, errlen, HV_REC_VCPU, off, "vCPU index %u out of range",
				   rv.index);
	if (rv.size != sizeof(*st))
		return hv_dec_fail(err, errlen, HV_REC_VCPU, off, "state size %u, want %zu",
				   rv.size, sizeof(*st));
	memcpy(st, (const uint8_t *)p + sizeof(rv), sizeof(*st));
	if (st->version != HV_VCPU_STATE_VERSION)
		return hv_dec_fail(err, errlen, HV_REC_VCPU, off, "state version %u, want %u",
				   st->version, HV_VCPU_STATE_VERSION);
	if (st->nmsrs > HV_MSR_MAX)
		return hv_dec_fail(err, errlen, HV_REC_VCPU, off, "%u MSRs, at most %u", st->nmsrs,
				   HV_MSR_MAX);
	*index = rv.index;
	return 0;
}

int hv_stream_dec_device(const void *p, size_t len, uint64_t off, const struct hv_stream_dev *devs,
			 unsigned ndevs, unsigned *index, const void **state, char *err,
			 size_t errlen)
{
	struct hv_rec_device rd;
	unsigned i;

	if (len < sizeof(rd))
		return hv_dec_fail(err, errlen, HV_REC_DEVICE, off, "too short (%zu bytes)", len);
	memcpy(&rd, p, sizeof(rd));
	for (i = 0; i < ndevs && devs[i].ops->kind != rd.kind; i++)
		;
	if (i == ndevs)
		return hv_dec_fail(err, errlen, HV_REC_DEVICE, off, "unknown device kind %u",
				   rd.kind);
	if (rd.size != devs[i].ops->size || len != sizeof(rd) + rd.size)
		return hv_dec_fail(err, errlen, HV_REC_DEVICE, off, "device %u: bad size %u",
				   rd.kind, rd.size);
	*index = i;
	*state = (const uint8_t *)p + sizeof(rd);
	return 0;
}

int hv_stream_dec_end(const void *p, size_t len, uint64_t off, struct hv_rec_end *e, char *err,
		      size_t errlen)
{
	if (len != sizeof(*e))
		return hv_dec_fail(err, errlen, HV_REC_END, off, "bad length %zu", len);
	memcpy(e, p, sizeof(*e));
	return 0;
}
