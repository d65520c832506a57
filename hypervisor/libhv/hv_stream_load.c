#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv_mem.h"
#include "hv_stream.h"
#include "hv_stream_int.h"

void hv_stream_hex8(const uint8_t *md, char *out)
{
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

int hv_stream_load_header(struct hv_stream_in *in, struct hv_stream_state *st, char *err,
			  size_t errlen)
{
	const char *cfg;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = hv_stream_in_next(in, err, errlen)) < 0)
		return rc;
	if (in->type != HV_REC_HEADER) {
		snprintf(err, errlen, "record %s at offset %llu: stream must start with HEADER",
			 hv_stream_dec_type_name(in->type), (unsigned long long)in->rec_offset);
		return -EBADMSG;
	}
	rc = hv_stream_dec_header(in->buf, in->len, in->rec_offset, &st->hdr, &cfg, err, errlen);
	if (rc < 0)
		return rc;
	if (st->hdr.nvcpus > sizeof(st->vcpu) / sizeof(st->vcpu[0])) {
		snprintf(err, errlen, "record HEADER: %u vCPUs, at most %zu", st->hdr.nvcpus,
			 sizeof(st->vcpu) / sizeof(st->vcpu[0]));
		return -EBADMSG;
	}
	memcpy(st->cfg, cfg, st->hdr.cfg_len);
	st->cfg[st->hdr.cfg_len] = '\0';
	return 0;
}

static int hv_load_pages(struct hv_stream_in *in, struct hv_mem *mem, struct hv_stream_state *st,
			 char *err, size_t errlen)
{
	struct hv_stream_pages_view v;
	const uint8_t *data;
	int rc = hv_stream_dec_pages(in->buf, in->len, in->rec_offset, hv_mem_npages(mem), &v, err,
				     errlen);

	if (rc < 0)
		return rc;
	data = v.data;
	for (uint32_t i = 0; i < v.count; i++) {
		uint8_t *pg =
		    hv_mem_ptr(mem, HV_PAGE_ENTRY_PFN(v.entries[i]) << HV_PAGE_SHIFT, HV_PAGE_SIZE);
		if (HV_PAGE_ENTRY_TYPE(v.entries[i]) == HV_PAGE_ZERO) {
			memset(pg, 0, HV_PAGE_SIZE);
			continue;
		}
		memcpy(pg, data, HV_PAGE_SIZE);
		data += HV_PAGE_SIZE;
	}
	st->pages += v.count;
	return 0;
}

/* DEVICE: dispatched by kind to the device's ops, which check and stage
 * the state; any order, the last record of a kind wins. */
int hv_stream_load_device(const void *p, uint32_t len, uint64_t off, struct hv_stream_state *st,
			  const struct hv_stream_dev *devs, unsigned ndevs, char *err,
			  size_t errlen)
{
	char why[HV_STREAM_ERR_MAX] = "";
	const void *state;
	unsigned i;
	int rc = hv_stream_dec_device(p, len, off, devs, ndevs, &i, &state, err, errlen);

	if (rc < 0)
		return rc;
	if ((rc = devs[i].ops->load(devs[i].ctx, state, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "record DEVICE at offset %llu: %s: %s",
			 (unsigned long long)off, devs[i].ops->name, why[0] ? why : strerror(-rc));
		return rc == -EBADMSG ? rc : -EBADMSG;
	}
	st->devs_seen |= 1u << i;
	return 0;
}

/* The first required device of devs that did not come, or NULL. */
const char *hv_stream_load_missing(const struct hv_stream_state *st,
				   const struct hv_stream_dev *devs, unsigned ndevs)
{
	for (unsigned i = 0; i < ndevs; i++)
		if (devs[i].ops->required && !(st->devs_seen & (1u << i)))
			return devs[i].ops->name;
	return NULL;
}

int hv_stream_load_vcpu(const void *p, uint32_t len, uint64_t off, struct hv_stream_state *st,
			char *err, size_t errlen)
{
	static __thread struct hv_vcpu_state tmp;
	uint32_t idx;
	int rc = hv_stream_dec_vcpu(p, len, off, st->hdr.nvcpus, &idx, &tmp, err, errlen);

	if (rc < 0)
		return rc;
	if (st->nvcpus_seen & (1u << idx)) {
		snprintf(err, errlen, "record VCPU at offset %llu: vCPU %u sent twice",
			 (unsigned long long)off, idx);
		return -EBADMSG;
	}
	st->nvcpus_seen |= 1u << idx;
	st->vcpu[idx] = tmp;
	return 0;
}

/* END: everything must have arrived, and both digests must match. */
static int hv_load_end(struct hv_stream_in *in, struct hv_mem *mem, struct hv_stream_state *st,
		       const char *missing, char *err, size_t errlen)
{
	struct hv_rec_end e;
	uint8_t md[32];
	char want[17], got[17];
	int rc = hv_stream_dec_end(in->buf, in->len, in->rec_offset, &e, err, errlen);
	unsigned long long off = (unsigned long long)in->rec_offset;

	if (rc < 0)
		return rc;
	if ((rc = hv_stream_in_digest(in, md)) < 0)
		return rc;
	if (memcmp(md, e.stream_sha256, 32) != 0) {
		hv_stream_hex8(e.stream_sha256, want);
		hv_stream_hex8(md, got);
		snprintf(err, errlen,
			 "record END at offset %llu: stream digest mismatch (expected %s..., got "
			 "%s...): the stream was altered",
			 off, want, got);
		return -EBADMSG;
	}
	if (st->nvcpus_seen != (1u << st->hdr.nvcpus) - 1 || missing) {
		snprintf(err, errlen, "record END at offset %llu: stream lacks %s state", off,
			 missing ? missing : "vCPU");
		return -EBADMSG;
	}
	if (e.pages != st->pages) {
		snprintf(err, errlen,
			 "record END at offset %llu: %llu pages announced, %llu received", off,
			 (unsigned long long)e.pages, (unsigned long long)st->pages);
		return -EBADMSG;
	}
	if ((rc = hv_stream_save_mem_digest(mem, md)) < 0)
		return rc;
	if (memcmp(md, e.mem_sha256, 32) != 0) {
		hv_stream_hex8(e.mem_sha256, want);
		hv_stream_hex8(md, got);
		snprintf(
		    err, errlen,
		    "record END at offset %llu: memory digest mismatch (expected %s..., got %s...)",
		    off, want, got);
		return -EBADMSG;
	}
	return 0;
}

int hv_stream_load_body(struct hv_stream_in *in, struct hv_mem *mem, struct hv_stream_state *st,
			const struct hv_stream_dev *devs, unsigned ndevs, char *err, size_t errlen)
{
	int rc;

	if (ndevs > HV_DEV_MAX) {
		snprintf(err, errlen, "%u devices, at most %u", ndevs, HV_DEV_MAX);
		return -EINVAL;
	}

	if (st->hdr.flags & HV_STREAM_F_LIVE) {
		snprintf(err, errlen,
			 "record HEADER at offset 0: a live (migration) stream, not a "
			 "saved file");
		return -EBADMSG;
	}
	if (mem->size != st->hdr.mem_size) {
		snprintf(err, errlen, "memory size %llu does not match the stream's %llu",
			 (unsigned long long)mem->size, (unsigned long long)st->hdr.mem_size);
		return -EINVAL;
	}
	for (;;) {
		if ((rc = hv_stream_in_next(in, err, errlen)) < 0)
			return rc;
		switch (in->type) {
		case HV_REC_PAGES:
			rc = hv_load_pages(in, mem, st, err, errlen);
			break;
		case HV_REC_VCPU:
			rc = hv_stream_load_vcpu(in->buf, in->len, in->rec_offset, st, err, errlen);
			break;
		case HV_REC_DEVICE:
			rc = hv_stream_load_device(in->buf, in->len, in->rec_offset, st, devs,
						   ndevs, err, errlen);
			break;
		case HV_REC_END:
			return hv_load_end(in, mem, st, hv_stream_load_missing(st, devs, ndevs),
					   err, errlen);
		default:
			snprintf(err, errlen, "record %s at offset %llu: unexpected here",
				 hv_stream_dec_type_name(in->type),
				 (unsigned long long)in->rec_offset);
			return -EBADMSG;
		}
		if (rc < 0)
			return rc;
	}
}
