#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_stream.h"

#define HV_STREAM_OUT_BUF (1u << 20)

static int hv_stream_out_fd_write(void *ctx, const void *buf, size_t len)
{
	struct hv_stream_out *out = ctx;
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(out->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hv_stream_out_init(struct hv_stream_out *out,
		       int (*write_fn)(void *ctx, const void *buf, size_t len), void *ctx)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->write = write_fn;
	out->ctx = ctx;
	out->cap = HV_STREAM_OUT_BUF;
	out->buf = malloc(out->cap);
	out->sha = EVP_MD_CTX_new();
	if (!out->buf || !out->sha || !EVP_DigestInit_ex(out->sha, EVP_sha256(), NULL)) {
		hv_stream_out_fini(out);
		return -ENOMEM;
	}
	return 0;
}

int hv_stream_out_init_fd(struct hv_stream_out *out, int fd)
{
	int rc = hv_stream_out_init(out, hv_stream_out_fd_write, NULL);

	if (rc == 0) {
		out->ctx = out;
		out->fd = fd;
	}
	return rc;
}

void hv_stream_out_fini(struct hv_stream_out *out)
{
	free(out->buf);
	out->buf = NULL;
	EVP_MD_CTX_free(out->sha);
	out->sha = NULL;
}

int hv_stream_out_flush(struct hv_stream_out *out)
{
	int rc = 0;

	if (out->used)
		rc = out->write(out->ctx, out->buf, out->used);
	out->used = 0;
	return rc;
}

void hv_stream_out_nohash(struct hv_stream_out *out)
{
	EVP_MD_CTX_free(out->sha);
	out->sha = NULL;
}

int hv_stream_out_put_direct(struct hv_stream_out *out, const void *p, size_t n)
{
	int rc;

	if (out->sha && !EVP_DigestUpdate(out->sha, p, n))
		return -EIO;
	if ((rc = hv_stream_out_flush(out)) < 0)
		return rc;
	out->offset += n;
	return out->write(out->ctx, p, n);
}

int hv_stream_out_put(struct hv_stream_out *out, const void *p, size_t n)
{
	const uint8_t *b = p;
	int rc;

	if (out->sha && !EVP_DigestUpdate(out->sha, p, n))
		return -EIO;
	out->offset += n;
	while (n > 0) {
		size_t k = out->cap - out->used;
		if (k > n)
			k = n;
		memcpy(out->buf + out->used, b, k);
		out->used += k;
		b += k;
		n -= k;
		if (out->used == out->cap && (rc = hv_stream_out_flush(out)) < 0)
			return rc;
	}
	return 0;
}

int hv_stream_out_digest(struct hv_stream_out *out, uint8_t md[32])
{
	EVP_MD_CTX *c = out->sha ? EVP_MD_CTX_new() : NULL;
	int ok = c && EVP_MD_CTX_copy_ex(c, out->sha) && EVP_DigestFinal_ex(c, md, NULL);

	EVP_MD_CTX_free(c);
	return ok ? 0 : -EIO;
}
