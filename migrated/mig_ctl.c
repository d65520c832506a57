/* The migrated control protocol's codecs (mig_ctl.h). */
#include "mig_ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int mig_ctl_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int mig_ctl_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

const char *mig_ctl_state_name(uint32_t state)
{
	static const char *const names[] = {"starting", "running",  "paused",	 "crashed",
					    "exited",	"incoming", "migrating", "saving"};

	return state < MIG_DOM_STATE_N ? names[state] : "unknown";
}

/* n bytes of printable ASCII into out (cap n+1 checked by the caller). */
static int mig_ctl_str(const char *what, const uint8_t *p, size_t n, size_t max, char *out,
		       char *err, size_t errlen)
{
	if (n == 0 || n > max)
		return mig_ctl_fail(err, errlen, "%s: length %zu not in 1..%zu", what, n, max);
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return mig_ctl_fail(err, errlen, "%s: byte %zu is not printable", what, i);
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int mig_ctl_dec_save(const uint8_t *p, size_t len, struct mig_ctl_req *r, char *err,
			    size_t errlen)
{
	struct mig_ctl_save s;
	int rc;

	if (len < sizeof(s))
		return mig_ctl_fail(err, errlen, "save: %zu bytes, header is %zu", len, sizeof(s));
	memcpy(&s, p, sizeof(s));
	if ((size_t)s.dom_len + s.path_len != len - sizeof(s))
		return mig_ctl_fail(err, errlen, "save: lengths %u + %u do not match %zu bytes",
				    s.dom_len, s.path_len, len - sizeof(s));
	p += sizeof(s);
	if ((rc = mig_ctl_str("save: domain", p, s.dom_len, MIG_CTL_DOM_MAX, r->dom, err, errlen)) <
	    0)
		return rc;
	if ((rc = mig_ctl_str("save: path", p + s.dom_len, s.path_len, MIG_CTL_PATH_MAX, r->path,
			      err, errlen)) < 0)
		return rc;
	if (r->path[0] != '/')
		return mig_ctl_fail(err, errlen, "save: path is not absolute");
	return 0;
}

static int mig_ctl_dec_migrate(const uint8_t *p, size_t len, struct mig_ctl_req *r, char *err,
			       size_t errlen)
{
	struct mig_ctl_migrate *m = &r->mig;
	int rc;

	if (len < sizeof(*m))
		return mig_ctl_fail(err, errlen, "migrate: %zu bytes, header is %zu", len,
				    sizeof(*m));
	memcpy(m, p, sizeof(*m));
	if (m->flags & ~MIG_CTL_MIG_F_LIVE)
		return mig_ctl_fail(err, errlen, "migrate: unknown flags 0x%x", m->flags);
	if (m->port > 65535)
		return mig_ctl_fail(err, errlen, "migrate: port %u", m->port);
	if ((size_t)m->dom_len + m->host_len != len - sizeof(*m))
		return mig_ctl_fail(err, errlen, "migrate: lengths %u + %u do not match %zu bytes",
				    m->dom_len, m->host_len, len - sizeof(*m));
	p += sizeof(*m);
	if ((rc = mig_ctl_str("migrate: domain", p, m->dom_len, MIG_CTL_DOM_MAX, r->dom, err,
			      errlen)) < 0)
		return rc;
	return mig_ctl_str("migrate: host", p + m->dom_len, m->host_len, MIG_CTL_HOST_MAX, r->host,
			   err, errlen);
}

int mig_ctl_req_dec(uint16_t type, const void *payload, size_t len, struct mig_ctl_req *r,
		    char *err, size_t errlen)
{
	const uint8_t *p = payload;

	memset(r, 0, sizeof(*r));
	r->type = type;
	switch (type) {
	case MIG_CTL_LIST:
		return len ? mig_ctl_fail(err, errlen, "list: %zu bytes, want 0", len) : 0;
	case MIG_CTL_CREATE:
		if (len == 0 || len > MIG_CTL_CFG_MAX || memchr(p, '\0', len))
			return mig_ctl_fail(err, errlen, "create: config of %zu bytes", len);
		r->cfg = payload;
		r->cfg_len = len;
		return 0;
	case MIG_CTL_PAUSE:
	case MIG_CTL_UNPAUSE:
	case MIG_CTL_SHUTDOWN:
	case MIG_CTL_DESTROY:
	case MIG_CTL_MIGRATE_CANCEL:
	case MIG_CTL_CONSOLE:
		return mig_ctl_str("domain", p, len, MIG_CTL_DOM_MAX, r->dom, err, errlen);
	case MIG_CTL_SAVE:
		return mig_ctl_dec_save(p, len, r, err, errlen);
	case MIG_CTL_RESTORE:
		if (mig_ctl_str("restore: path", p, len, MIG_CTL_PATH_MAX, r->path, err, errlen))
			return -EBADMSG;
		return r->path[0] == '/'
			   ? 0
			   : mig_ctl_fail(err, errlen, "restore: path is not absolute");
	case MIG_CTL_CONSOLE_IN:
		if (len == 0)
			return mig_ctl_fail(err, errlen, "console input: empty");
		r->bytes = p;
		r->nbytes = len;
		return 0;
	case MIG_CTL_MIGRATE:
		return mig_ctl_dec_migrate(p, len, r, err, errlen);
	}
	return mig_ctl_fail(err, errlen, "unknown request type 0x%04x", type);
}

int mig_ctl_dom_enc(const char *dom, void *buf, size_t cap)
{
	size_t n = strlen(dom);

	if (n == 0 || n > MIG_CTL_DOM_MAX)
		return -EINVAL;
	if (cap < n)
		return -ENOSPC;
	memcpy(buf, dom, n);
	return (int)n;
}

int mig_ctl_save_enc(const char *dom, const char *path, void *buf, size_t cap)
{
	struct mig_ctl_save s = {(uint32_t)strlen(dom), (uint32_t)strlen(path)};
	uint8_t *p = buf;

	if (!s.dom_len || s.dom_len > MIG_CTL_DOM_MAX || !s.path_len ||
	    s.path_len > MIG_CTL_PATH_MAX)
		return -EINVAL;
	if (cap < sizeof(s) + s.dom_len + s.path_len)
		return -ENOSPC;
	memcpy(p, &s, sizeof(s));
	memcpy(p + sizeof(s), dom, s.dom_len);
	memcpy(p + sizeof(s) + s.dom_len, path, s.path_len);
	return (int)(sizeof(s) + s.dom_len + s.path_len);
}

int mig_ctl_migrate_enc(const struct mig_ctl_migrate *m, const char *dom, const char *host,
			void *buf, size_t cap)
{
	struct mig_ctl_migrate h = *m;
	uint8_t *p = buf;

	h.dom_len = (uint32_t)strlen(dom);
	h.host_len = (uint32_t)strlen(host);
	if (!h.dom_len || h.dom_len > MIG_CTL_DOM_MAX || !h.host_len ||
	    h.host_len > MIG_CTL_HOST_MAX)
		return -EINVAL;
	if (cap < sizeof(h) + h.dom_len + h.host_len)
		return -ENOSPC;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), dom, h.dom_len);
	memcpy(p + sizeof(h) + h.dom_len, host, h.host_len);
	return (int)(sizeof(h) + h.dom_len + h.host_len);
}

/* An entry's vifs: counted only with the vmm's answer, and each broken
 * ring named with its reason (or neither). */
static int mig_ctl_vifs_check(const struct mig_ctl_dom *d, uint32_t i, char *err, size_t errlen)
{
	if (d->vifs >= MIG_CTL_VIFS_N)
		return mig_ctl_fail(err, errlen, "list: entry %u: vifs %u", i, d->vifs);
	if (d->nvifs > (d->vifs == MIG_CTL_VIFS_OK ? MIG_CTL_VIF_MAX : 0))
		return mig_ctl_fail(err, errlen, "list: entry %u: %u vifs", i, d->nvifs);
	for (uint32_t k = 0; k < d->nvifs; k++) {
		const struct mig_ctl_vif *v = &d->vif[k];

		if (v->ring > MIG_CTL_RING_RX || v->ring_err > MIG_CTL_RING_ERR_MAX ||
		    (v->ring == 0) != (v->ring_err == 0))
			return mig_ctl_fail(err, errlen,
					    "list: entry %u: vif %u: ring %u, error %u", i, k,
					    v->ring, v->ring_err);
	}
	return 0;
}

int mig_ctl_list_dec(const void *p, size_t len, const struct mig_ctl_dom **doms, uint32_t *total,
		     char *err, size_t errlen)
{
	struct mig_ctl_list_hdr h;
	const struct mig_ctl_dom *d;

	if (len < sizeof(h))
		return mig_ctl_fail(err, errlen, "list: %zu bytes, header is %zu", len, sizeof(h));
	memcpy(&h, p, sizeof(h));
	if (h.version != MIG_CTL_LIST_VERSION)
		return mig_ctl_fail(err, errlen, "list: version %u, want %u", h.version,
				    MIG_CTL_LIST_VERSION);
	if ((len - sizeof(h)) % sizeof(*d) || (len - sizeof(h)) / sizeof(*d) != h.count)
		return mig_ctl_fail(err, errlen, "list: %u entries do not fill %zu bytes", h.count,
				    len - sizeof(h));
	if (h.pad != 0)
		return mig_ctl_fail(err, errlen, "list: header padding %u, want 0", h.pad);
	if (h.total < h.count)
		return mig_ctl_fail(err, errlen, "list: %u entries of %u in all", h.count, h.total);
	d = (const struct mig_ctl_dom *)((const uint8_t *)p + sizeof(h));
	for (uint32_t i = 0; i < h.count; i++) {
		if (!memchr(d[i].name, '\0', sizeof(d[i].name)) ||
		    !memchr(d[i].note, '\0', sizeof(d[i].note)))
			return mig_ctl_fail(err, errlen, "list: entry %u: unterminated string", i);
		if (d[i].state >= MIG_DOM_STATE_N)
			return mig_ctl_fail(err, errlen, "list: entry %u: state %u", i, d[i].state);
		if (mig_ctl_vifs_check(&d[i], i, err, errlen) < 0)
			return -EBADMSG;
	}
	*doms = d;
	if (total)
		*total = h.total;
	return (int)h.count;
}
