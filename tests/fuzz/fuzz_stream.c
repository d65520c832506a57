/*
 * Fuzz harness for the save/migration stream reader (hv_stream_in.c,
 * hv_stream_dec.c, hv_stream_load.c): any byte string is either loaded
 * completely (both digests right) or refused with a message naming a
 * record; nothing is read or written outside the buffers and guest RAM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv_clock.h"
#include "hv_mem.h"
#include "hv_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MEM_MAX (8ull << 20)

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

/* A second device beside the clock: 16 bytes, no checks, optional (the
 * shape of the vmm's console). */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_clock_dev clk;
	static uint8_t con[16];
	const struct hv_stream_dev devs[] = {{&hv_clock_dev_ops, &clk}, {&fuzz_dev_ops, con}};
	static struct hv_stream_state st;
	struct fuzz_src src = {data, size, 0};
	struct hv_stream_in in;
	struct hv_mem mem;
	char err[HV_STREAM_ERR_MAX + 64] = "";
	int rc;

	if (hv_stream_in_init(&in, fuzz_read, &src) < 0)
		return 0;
	rc = hv_stream_load_header(&in, &st, err, sizeof(err));
	if (rc == 0 && st.hdr.mem_size <= FUZZ_MEM_MAX &&
	    hv_mem_init(&mem, st.hdr.mem_size, 0) == 0) {
		rc = hv_stream_load_body(&in, &mem, &st, devs, 2, err, sizeof(err));
		hv_mem_fini(&mem);
	}
	if (rc < 0 && !err[0])
		abort(); /* a refusal always says why */
	hv_stream_in_fini(&in);
	return 0;
}
