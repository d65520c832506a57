/*
 * Fuzz harness for the receive side of a live (migration) stream: HEADER
 * through hv_stream_load_header (it must carry HV_STREAM_F_LIVE), then
 * every record pushed one at a time into hv_stream_live_in_record, as the
 * destination vmm does while the records come off TLS 2. Any input is
 * either taken up to a verified END or refused with a message naming a
 * record; after every accepted PAGES record the page digest the loader
 * keeps must equal the digest of what RAM holds (checked by recomputing it
 * over all pages for small RAM); nothing is read or written outside the
 * input and guest RAM. Then the same input again through
 * hv_stream_live_in_next (page data read straight into RAM), with the same
 * digest check after every record it accepts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_clock.h"
#include "hv_mem.h"
#include "hv_pgdig.h"
#include "hv_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MEM_MAX (4ull << 20)

struct fuzz_src {
	const uint8_t *p;
	size_t len, pos;
};

static int fuzz_read(void *ctx, void *buf, size_t n)
{
	struct fuzz_src *s = ctx;
	size_t left = s->len - s->pos;

	if (left == 0)
		return 0;
	if (left < n) {
		s->pos = s->len;
		return -ENODATA;
	}
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return 1;
}

static int fuzz_dev_save(void *ctx, void *buf)
{
	memcpy(buf, ctx, 16);
	return 0;
}

static int fuzz_dev_load(void *ctx, const void *buf, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	memcpy(ctx, buf, 16);
	return 0;
}

static const struct hv_dev_ops fuzz_dev_ops = {2, "console", 16, 0, fuzz_dev_save, fuzz_dev_load};

/* The loader's running digest equals one computed from RAM now. */
static void fuzz_check_digest(const struct hv_stream_live_in *l)
{
	static struct hv_pgdig_tab t;
	uint8_t a[32], b[32];

	if (hv_pgdig_init(&t, hv_mem_npages(l->mem)) < 0)
		return;
	for (uint64_t pfn = 0; pfn < t.npages; pfn++)
		hv_pgdig_set(&t, pfn, l->mem->base + (pfn << HV_PAGE_SHIFT));
	hv_pgdig_get(&t, a);
	hv_pgdig_get(&l->dig, b);
	hv_pgdig_fini(&t);
	if (memcmp(a, b, 32) != 0)
		__builtin_trap();
}

/* Records after HEADER, pushed one by one; the result of the last. */
static int fuzz_body(struct hv_stream_live_in *l, struct fuzz_src *src, char *err, size_t errlen)
{
	for (;;) {
		struct hv_rec_hdr h;
		uint64_t off = src->pos;

		if (src->len - src->pos < sizeof(h))
			return -EBADMSG;
		memcpy(&h, src->p + src->pos, sizeof(h));
		src->pos += sizeof(h);
		if (h.len > src->len - src->pos)
			return -EBADMSG;
		/* the vmm reads each record into an aligned buffer; so does this */
		static uint8_t *rec;
		if (!rec && !(rec = aligned_alloc(64, (HV_REC_MAX + 63) & ~(size_t)63)))
			return -ENOMEM;
		if (h.len > HV_REC_MAX)
			return -EBADMSG;
		memcpy(rec, src->p + src->pos, h.len);
		int rc = hv_stream_live_in_record(l, h.type, rec, h.len, off, err, errlen);
		src->pos += h.len;
		if (rc < 0 && !err[0])
			__builtin_trap(); /* a refusal always says why */
		if (rc != 0)
			return rc;
		if (h.type == HV_REC_PAGES)
			fuzz_check_digest(l);
	}
}

/* The same records through hv_stream_live_in_next, as the destination vmm
 * reads them: page data straight into RAM once the list is checked. */
static void fuzz_direct(struct hv_stream_state *st, const struct hv_stream_dev *devs,
			struct fuzz_src *src, uint64_t body)
{
	char err[HV_STREAM_ERR_MAX + 64] = "";
	struct hv_stream_live_in l;
	struct hv_mem mem;
	int rc = 0;

	if (hv_mem_init(&mem, st->hdr.mem_size, HV_MEM_NOHUGE) < 0)
		return;
	st->pages = 0;
	st->nvcpus_seen = 0;
	st->devs_seen = 0;
	src->pos = body;
	if (hv_stream_live_in_init(&l, &mem, st, devs, 2, err, sizeof(err)) == 0) {
		l.offset = body;
		while (rc == 0) {
			rc = hv_stream_live_in_next(&l, fuzz_read, src, err, sizeof(err));
			if (rc < 0 && !err[0])
				__builtin_trap();
			if (rc == 0)
				fuzz_check_digest(&l);
		}
		hv_stream_live_in_fini(&l);
	}
	hv_mem_fini(&mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_clock_dev clk;
	static uint8_t con[16];
	const struct hv_stream_dev devs[] = {{&hv_clock_dev_ops, &clk}, {&fuzz_dev_ops, con}};
	static struct hv_stream_state st;
	struct fuzz_src src = {data, size, 0};
	struct hv_stream_live_in l;
	struct hv_stream_in in;
	struct hv_mem mem;
	char err[HV_STREAM_ERR_MAX + 64] = "";

	if (hv_stream_in_init(&in, fuzz_read, &src) < 0)
		return 0;
	hv_stream_in_nohash(&in);
	int rc = hv_stream_load_header(&in, &st, err, sizeof(err));
	hv_stream_in_fini(&in);
	if (rc < 0 && !err[0])
		__builtin_trap();
	if (rc < 0 || !(st.hdr.flags & HV_STREAM_F_LIVE) || st.hdr.mem_size > FUZZ_MEM_MAX ||
	    hv_mem_init(&mem, st.hdr.mem_size, HV_MEM_NOHUGE) < 0)
		return 0;
	uint64_t body = src.pos;
	if (hv_stream_live_in_init(&l, &mem, &st, devs, 2, err, sizeof(err)) == 0) {
		fuzz_body(&l, &src, err, sizeof(err));
		hv_stream_live_in_fini(&l);
	}
	hv_mem_fini(&mem);
	fuzz_direct(&st, devs, &src, body);
	return 0;
}
