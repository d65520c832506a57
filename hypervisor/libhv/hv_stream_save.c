#include <errno.h>
#include <string.h>

#include "hv_mem.h"
#include "hv_stream.h"

static int hv_save_rec(struct hv_stream_out *out, uint32_t type, uint32_t len)
{
	struct hv_rec_hdr h = {type, len};

	return hv_stream_out_put(out, &h, sizeof(h));
}

int hv_stream_save_header(struct hv_stream_out *out, uint64_t mem_size, uint32_t nvcpus,
			  const char *cfg)
{
	struct hv_rec_header h;
	size_t n = strlen(cfg);
	int rc;

	if (n > HV_STREAM_CFG_MAX)
		return -E2BIG;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, HV_STREAM_MAGIC, 8);
	h.version = HV_STREAM_VERSION;
	h.mem_size = mem_size;
	h.nvcpus = nvcpus;
	h.cfg_len = (uint32_t)n;
	if ((rc = hv_save_rec(out, HV_REC_HEADER, (uint32_t)(sizeof(h) + n))) < 0 ||
	    (rc = hv_stream_out_put(out, &h, sizeof(h))) < 0)
		return rc;
	return hv_stream_out_put(out, cfg, n);
}

static int hv_save_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t acc = 0;

	for (unsigned i = 0; i < HV_PAGE_SIZE / 8; i++)
		acc |= w[i];
	return acc == 0;
}

int hv_stream_save_pages(struct hv_stream_out *out, const struct hv_mem *mem, const uint64_t *pfns,
			 uint32_t n)
{
	uint64_t entries[HV_STREAM_BATCH_MAX];
	struct hv_rec_pages rp = {n, 0};
	uint32_t normal = 0;
	int rc;

	if (n == 0 || n > HV_STREAM_BATCH_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *pg = hv_mem_ptr(mem, pfns[i] << HV_PAGE_SHIFT, HV_PAGE_SIZE);
		if (!pg)
			return -EINVAL;
		int zero = hv_save_is_zero(pg);
		entries[i] = HV_PAGE_ENTRY(pfns[i], zero ? HV_PAGE_ZERO : HV_PAGE_NORMAL);
		normal += !zero;
	}
	uint64_t len = sizeof(rp) + (uint64_t)n * 8 + (uint64_t)normal * HV_PAGE_SIZE;
	if ((rc = hv_save_rec(out, HV_REC_PAGES, (uint32_t)len)) < 0 ||
	    (rc = hv_stream_out_put(out, &rp, sizeof(rp))) < 0 ||
	    (rc = hv_stream_out_put(out, entries, (size_t)n * 8)) < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		if (HV_PAGE_ENTRY_TYPE(entries[i]) != HV_PAGE_NORMAL)
			continue;
		rc = hv_stream_out_put(out, hv_mem_ptr(mem, pfns[i] << HV_PAGE_SHIFT, HV_PAGE_SIZE),
				       HV_PAGE_SIZE);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int hv_stream_save_pages_step(struct hv_stream_out *out, const struct hv_mem *mem, int skip_zero,
			      EVP_MD_CTX *mem_sha, uint64_t *next_pfn, uint64_t budget,
			      uint64_t *sent)
{
	uint64_t pfns[HV_STREAM_BATCH_MAX];
	uint64_t npages = hv_mem_npages(mem), end = *next_pfn + budget;
	uint32_t n = 0;
	int rc;

	if (end > npages || end < *next_pfn)
		end = npages;
	for (uint64_t pfn = *next_pfn; pfn < end; pfn++) {
		const uint8_t *pg = mem->base + (pfn << HV_PAGE_SHIFT);
		if (mem_sha && !EVP_DigestUpdate(mem_sha, pg, HV_PAGE_SIZE))
			return -EIO;
		if (skip_zero && hv_save_is_zero(pg))
			continue;
		pfns[n++] = pfn;
		if (n == HV_STREAM_BATCH_MAX) {
			if ((rc = hv_stream_save_pages(out, mem, pfns, n)) < 0)
				return rc;
			*sent += n;
			n = 0;
		}
	}
	if (n > 0) {
		if ((rc = hv_stream_save_pages(out, mem, pfns, n)) < 0)
			return rc;
		*sent += n;
	}
	*next_pfn = end;
	return end == npages;
}

int hv_stream_save_all_pages(struct hv_stream_out *out, const struct hv_mem *mem, int skip_zero,
			     uint64_t *sent)
{
	uint64_t next = 0;
	int rc;

	*sent = 0;
	rc = hv_stream_save_pages_step(out, mem, skip_zero, NULL, &next, UINT64_MAX, sent);
	return rc < 0 ? rc : 0;
}

int hv_stream_save_dirty(struct hv_stream_out *out, const struct hv_mem *mem,
			 const uint64_t *bitmap, size_t words, uint64_t *sent)
{
	uint64_t pfns[HV_STREAM_BATCH_MAX];
	uint64_t npages = hv_mem_npages(mem);
	uint32_t n = 0;
	int rc;

	*sent = 0;
	for (size_t w = 0; w < words; w++) {
		for (uint64_t bits = bitmap[w]; bits; bits &= bits - 1) {
			uint64_t pfn = (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(bits);
			if (pfn >= npages)
				return -EINVAL;
			pfns[n++] = pfn;
			if (n < HV_STREAM_BATCH_MAX)
				continue;
			if ((rc = hv_stream_save_pages(out, mem, pfns, n)) < 0)
				return rc;
			*sent += n;
			n = 0;
		}
	}
	if (n > 0) {
		if ((rc = hv_stream_save_pages(out, mem, pfns, n)) < 0)
			return rc;
		*sent += n;
	}
	return 0;
}

int hv_stream_save_vcpu(struct hv_stream_out *out, uint32_t index, const struct hv_vcpu_state *st)
{
	struct hv_rec_vcpu rv = {index, sizeof(*st)};
	int rc;

	if ((rc = hv_save_rec(out, HV_REC_VCPU, sizeof(rv) + sizeof(*st))) < 0 ||
	    (rc = hv_stream_out_put(out, &rv, sizeof(rv))) < 0)
		return rc;
	return hv_stream_out_put(out, st, sizeof(*st));
}

int hv_stream_save_device(struct hv_stream_out *out, uint32_t kind, const void *dev, uint32_t size)
{
	struct hv_rec_device rd = {kind, size};
	int rc;

	if ((rc = hv_save_rec(out, HV_REC_DEVICE, sizeof(rd) + size)) < 0 ||
	    (rc = hv_stream_out_put(out, &rd, sizeof(rd))) < 0)
		return rc;
	return hv_stream_out_put(out, dev, size);
}

int hv_stream_save_devices(struct hv_stream_out *out, const struct hv_stream_dev *devs,
			   unsigned ndevs)
{
	uint8_t state[HV_DEV_STATE_MAX];
	int rc;

	for (unsigned i = 0; i < ndevs; i++) {
		const struct hv_dev_ops *ops = devs[i].ops;
		if (ops->size > sizeof(state))
			return -EINVAL;
		if ((rc = ops->save(devs[i].ctx, state)) < 0 ||
		    (rc = hv_stream_save_device(out, ops->kind, state, ops->size)) < 0)
			return rc;
	}
	return 0;
}

int hv_stream_save_mem_digest(const struct hv_mem *mem, uint8_t md[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(c, mem->base, mem->size) && EVP_DigestFinal_ex(c, md, NULL);

	EVP_MD_CTX_free(c);
	return ok ? 0 : -EIO;
}

int hv_stream_save_end(struct hv_stream_out *out, const struct hv_mem *mem, uint64_t pages)
{
	uint8_t md[32];
	int rc = hv_stream_save_mem_digest(mem, md);

	return rc < 0 ? rc : hv_stream_save_end_md(out, md, pages);
}

int hv_stream_save_end_md(struct hv_stream_out *out, const uint8_t mem_sha256[32], uint64_t pages)
{
	struct hv_rec_end e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.pages = pages;
	memcpy(e.mem_sha256, mem_sha256, 32);
	if ((rc = hv_stream_out_digest(out, e.stream_sha256)) < 0 ||
	    (rc = hv_save_rec(out, HV_REC_END, sizeof(e))) < 0 ||
	    (rc = hv_stream_out_put(out, &e, sizeof(e))) < 0)
		return rc;
	return hv_stream_out_flush(out);
}
