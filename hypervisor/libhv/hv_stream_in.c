#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_stream.h"

static int hv_stream_in_fd_read(void *ctx, void *buf, size_t len)
{
	struct hv_stream_in *in = ctx;
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(in->fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int)(got == len ? 1 : (got == 0 ? 0 : -ENODATA));
}

int hv_stream_in_init(struct hv_stream_in *in, int (*read_fn)(void *ctx, void *buf, size_t len),
		      void *ctx)
{
	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->read = read_fn;
	in->ctx = ctx;
	in->buf = aligned_alloc(64, (HV_REC_MAX + 63) & ~(size_t)63);
	in->sha = EVP_MD_CTX_new();
	if (!in->buf || !in->sha || !EVP_DigestInit_ex(in->sha, EVP_sha256(), NULL)) {
		hv_stream_in_fini(in);
		return -ENOMEM;
	}
	return 0;
}

int hv_stream_in_init_fd(struct hv_stream_in *in, int fd)
{
	int rc = hv_stream_in_init(in, hv_stream_in_fd_read, NULL);

	if (rc == 0) {
		in->ctx = in;
		in->fd = fd;
	}
	return rc;
}

void hv_stream_in_fini(struct hv_stream_in *in)
{
	free(in->buf);
	in->buf = NULL;
	EVP_MD_CTX_free(in->sha);
	in->sha = NULL;
}

void hv_stream_in_nohash(struct hv_stream_in *in)
{
	EVP_MD_CTX_free(in->sha);
	in->sha = NULL;
}

/* Largest payload each record type may have; checked before reading it. */
int hv_stream_rec_len_ok(uint32_t type, uint32_t len)
{
	switch (type) {
	case HV_REC_HEADER:
		return len >= sizeof(struct hv_rec_header) &&
		       len <= sizeof(struct hv_rec_header) + HV_STREAM_CFG_MAX;
	case HV_REC_PAGES:
		return len >= sizeof(struct hv_rec_pages) + 8 && len <= HV_REC_MAX;
	case HV_REC_VCPU:
		return len == sizeof(struct hv_rec_vcpu) + sizeof(struct hv_vcpu_state);
	case HV_REC_DEVICE:
		return len >= sizeof(struct hv_rec_device) &&
		       len <= sizeof(struct hv_rec_device) + HV_DEV_STATE_MAX;
	case HV_REC_END:
		return len == sizeof(struct hv_rec_end);
	}
	return 0;
}

int hv_stream_in_next(struct hv_stream_in *in, char *err, size_t errlen)
{
	struct hv_rec_hdr h;
	int rc;

	/* The previous record becomes part of the digest once we move on. */
	if (in->sha && in->rec_offset != in->offset &&
	    (!EVP_DigestUpdate(in->sha, &(struct hv_rec_hdr){in->type, in->len}, sizeof(h)) ||
	     !EVP_DigestUpdate(in->sha, in->buf, in->len)))
		return -EIO;
	in->rec_offset = in->offset;
	rc = in->read(in->ctx, &h, sizeof(h));
	if (rc <= 0) {
		snprintf(err, errlen, "offset %llu: %s", (unsigned long long)in->offset,
			 rc == 0 || rc == -ENODATA ? "truncated: stream ends before the END record"
						   : strerror(-rc));
		return rc == 0 || rc == -ENODATA ? -EBADMSG : rc;
	}
	if (!hv_stream_rec_len_ok(h.type, h.len)) {
		snprintf(err, errlen, "record %s (type %u) at offset %llu: bad length %u",
			 hv_stream_dec_type_name(h.type), h.type, (unsigned long long)in->offset,
			 h.len);
		return -EBADMSG;
	}
	rc = in->read(in->ctx, in->buf, h.len);
	if (rc <= 0) {
		snprintf(err, errlen, "record %s at offset %llu: %s",
			 hv_stream_dec_type_name(h.type), (unsigned long long)in->offset,
			 rc == 0 || rc == -ENODATA ? "truncated" : strerror(-rc));
		return rc == 0 || rc == -ENODATA ? -EBADMSG : rc;
	}
	in->type = h.type;
	in->len = h.len;
	in->offset += sizeof(h) + h.len;
	return 0;
}

int hv_stream_in_digest(struct hv_stream_in *in, uint8_t md[32])
{
	EVP_MD_CTX *c = in->sha ? EVP_MD_CTX_new() : NULL;
	int ok = c && EVP_MD_CTX_copy_ex(c, in->sha) && EVP_DigestFinal_ex(c, md, NULL);

	EVP_MD_CTX_free(c);
	return ok ? 0 : -EIO;
}
