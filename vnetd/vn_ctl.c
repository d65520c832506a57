#include "vn_ctl.h"

#include <errno.h>
#include <string.h>

const char *const vn_ctl_stat_names[VN_STAT_COUNT] = {
    "frames_in",      "frames_out",   "bytes_in", "bytes_out",	    "floods_in",
    "floods_out",     "varp_in",      "varp_out", "drop_auth",	    "drop_replay",
    "drop_malformed", "drop_noroute", "drop_dup", "floods_remcast", "floods_fwd",
    "drop_nosa",      "drop_notpeer", "drop_sa",  "sa_learned",
};

const char *vn_ctl_security_name(unsigned security)
{
	static const char *const names[] = {"none", "auth", "conf"};

	return security < 3 ? names[security] : "?";
}

int vn_ctl_create_encode(uint8_t *buf, size_t cap, const char *path, const char *text,
			 size_t text_len)
{
	size_t plen = strlen(path);

	if (plen == 0 || plen >= sizeof(((struct vn_ctl_create *)0)->path))
		return -ENAMETOOLONG;
	if (text_len == 0)
		return -EINVAL;
	if (2 + plen + text_len > cap)
		return -EFBIG;
	buf[0] = (uint8_t)(plen >> 8);
	buf[1] = (uint8_t)plen;
	memcpy(buf + 2, path, plen);
	memcpy(buf + 2 + plen, text, text_len);
	return (int)(2 + plen + text_len);
}

int vn_ctl_host_encode(uint8_t *buf, size_t cap, const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n >= VN_CTL_HOST || n > cap)
		return -EINVAL;
	memcpy(buf, host, n);
	return (int)n;
}

int vn_ctl_create_decode(const uint8_t *p, size_t len, struct vn_ctl_create *out)
{
	size_t plen;

	if (len < 2)
		return -EINVAL;
	plen = (size_t)p[0] << 8 | p[1];
	if (plen == 0 || plen >= sizeof(out->path) || plen > len - 2)
		return -EINVAL;
	if (memchr(p + 2, '\0', plen) || p[2] != '/')
		return -EINVAL;
	if (len - 2 - plen == 0 || memchr(p + 2 + plen, '\0', len - 2 - plen))
		return -EINVAL;
	memcpy(out->path, p + 2, plen);
	out->path[plen] = '\0';
	out->text = (const char *)p + 2 + plen;
	out->text_len = len - 2 - plen;
	return 0;
}

int vn_ctl_host_decode(const uint8_t *p, size_t len, char host[VN_CTL_HOST])
{
	if (len == 0 || len >= VN_CTL_HOST)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f)
			return -EINVAL;
	}
	memcpy(host, p, len);
	host[len] = '\0';
	return 0;
}

int vn_ctl_id_decode(const uint8_t *p, size_t len, uint8_t id[VN_CTL_ID_LEN])
{
	if (len != VN_CTL_ID_LEN)
		return -EINVAL;
	memcpy(id, p, VN_CTL_ID_LEN);
	return 0;
}

int vn_ctl_flush_decode(const uint8_t *p, size_t len, uint8_t id[VN_CTL_ID_LEN], int *has_id)
{
	*has_id = len != 0;
	if (len == 0)
		return 0;
	return vn_ctl_id_decode(p, len, id);
}

int vn_ctl_empty_decode(const uint8_t *p, size_t len)
{
	(void)p;
	return len == 0 ? 0 : -EINVAL;
}

int vn_ctl_salist_decode(const uint8_t *p, size_t len, int *with_keys)
{
	if (len != 1 || p[0] > 1)
		return -EINVAL;
	*with_keys = p[0];
	return 0;
}

size_t vn_ctl_count(size_t len, size_t rec_size)
{
	return len % rec_size ? 0 : len / rec_size;
}

/* Copies record i after checking the payload holds whole records. */
static int vn_ctl_record(const uint8_t *p, size_t len, size_t i, void *out, size_t size)
{
	if (len % size != 0 || i >= len / size)
		return -EINVAL;
	memcpy(out, p + i * size, size);
	return 0;
}

static int vn_ctl_str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int vn_ctl_vnet_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_vnet *out)
{
	if (vn_ctl_record(p, len, i, out, sizeof(*out)) < 0)
		return -EINVAL;
	if (!vn_ctl_str_ok(out->bridge, sizeof(out->bridge)) ||
	    !vn_ctl_str_ok(out->vnetif, sizeof(out->vnetif)) ||
	    !vn_ctl_str_ok(out->suite, sizeof(out->suite)) || out->security > VN_CTL_SEC_CONF)
		return -EINVAL;
	return 0;
}

int vn_ctl_peer_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_peer *out)
{
	if (vn_ctl_record(p, len, i, out, sizeof(*out)) < 0)
		return -EINVAL;
	if (!vn_ctl_str_ok(out->host, sizeof(out->host)) || out->naddrs > VN_CTL_PEER_ADDRS)
		return -EINVAL;
	return 0;
}

int vn_ctl_varp_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_varp *out)
{
	if (vn_ctl_record(p, len, i, out, sizeof(*out)) < 0)
		return -EINVAL;
	return out->local > 1 ? -EINVAL : 0;
}

int vn_ctl_stats_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_stats *out)
{
	if (vn_ctl_record(p, len, i, out, sizeof(*out)) < 0)
		return -EINVAL;
	return out->global > 1 ? -EINVAL : 0;
}

int vn_ctl_sa_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_sa *out)
{
	if (vn_ctl_record(p, len, i, out, sizeof(*out)) < 0)
		return -EINVAL;
	if (!vn_ctl_str_ok(out->suite, sizeof(out->suite)) || out->dir > VN_CTL_SA_IN ||
	    out->enc_key_len > sizeof(out->enc_key) || out->auth_key_len > sizeof(out->auth_key))
		return -EINVAL;
	return 0;
}
