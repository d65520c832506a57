/*
 * The control-message decoders of vnetd/vn_ctl.c, the daemon's request
 * side and vn's reply side. Byte 0 picks the decoder, the rest is the
 * payload. Whatever a decoder accepts must be safe to use as vn and vnetd
 * use it: strings NUL-terminated inside their arrays, counts and enums in
 * range, and an accepted create request pointing inside the payload with
 * an absolute path; a request encoder's output must decode to its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vn_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static int str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void requests(unsigned which, const uint8_t *p, size_t len)
{
	struct vn_ctl_create cr;
	char host[VN_CTL_HOST];
	uint8_t id[VN_CTL_ID_LEN], buf[VN_CTL_HOST];
	int has_id, keys;

	switch (which) {
	case 0:
		if (vn_ctl_create_decode(p, len, &cr) == 0) {
			TRAP_IF(!str_ok(cr.path, sizeof(cr.path)) || cr.path[0] != '/');
			TRAP_IF(cr.text < (const char *)p || cr.text_len == 0 ||
				cr.text + cr.text_len != (const char *)p + len);
			TRAP_IF(memchr(cr.text, '\0', cr.text_len) != NULL);
		}
		break;
	case 1:
		if (vn_ctl_host_decode(p, len, host) == 0) {
			TRAP_IF(strlen(host) != len);
			/* What the daemon accepted, vn would have sent alike. */
			TRAP_IF(vn_ctl_host_encode(buf, sizeof(buf), host) != (int)len);
			TRAP_IF(memcmp(buf, p, len) != 0);
		}
		break;
	case 2:
		TRAP_IF(vn_ctl_id_decode(p, len, id) == 0 && len != VN_CTL_ID_LEN);
		break;
	case 3:
		if (vn_ctl_flush_decode(p, len, id, &has_id) == 0)
			TRAP_IF(has_id != (len != 0));
		break;
	case 4:
		TRAP_IF(vn_ctl_empty_decode(p, len) == 0 && len != 0);
		break;
	default:
		if (vn_ctl_salist_decode(p, len, &keys) == 0)
			TRAP_IF(keys != 0 && keys != 1);
		break;
	}
}

/* Every record of a reply, as vn's printers walk it. */
static void replies(unsigned which, const uint8_t *p, size_t len)
{
	static const size_t sizes[5] = {sizeof(struct vn_ctl_vnet), sizeof(struct vn_ctl_peer),
					sizeof(struct vn_ctl_varp), sizeof(struct vn_ctl_stats),
					sizeof(struct vn_ctl_sa)};
	size_t n = vn_ctl_count(len, sizes[which]);
	struct vn_ctl_vnet v;
	struct vn_ctl_peer peer;
	struct vn_ctl_varp varp;
	struct vn_ctl_stats st;
	struct vn_ctl_sa sa;

	TRAP_IF(n * sizes[which] != len && n != 0);
	for (size_t i = 0; i <= n; i++) {
		int rc;

		switch (which) {
		case 0:
			rc = vn_ctl_vnet_decode(p, len, i, &v);
			TRAP_IF(rc == 0 && (!str_ok(v.bridge, sizeof(v.bridge)) ||
					    !str_ok(v.vnetif, sizeof(v.vnetif)) ||
					    !str_ok(v.suite, sizeof(v.suite)) ||
					    v.security > VN_CTL_SEC_CONF));
			break;
		case 1:
			rc = vn_ctl_peer_decode(p, len, i, &peer);
			TRAP_IF(rc == 0 && (!str_ok(peer.host, sizeof(peer.host)) ||
					    peer.naddrs > VN_CTL_PEER_ADDRS));
			break;
		case 2:
			rc = vn_ctl_varp_decode(p, len, i, &varp);
			TRAP_IF(rc == 0 && varp.local > 1);
			break;
		case 3:
			rc = vn_ctl_stats_decode(p, len, i, &st);
			TRAP_IF(rc == 0 && st.global > 1);
			break;
		default:
			rc = vn_ctl_sa_decode(p, len, i, &sa);
			TRAP_IF(rc == 0 &&
				(!str_ok(sa.suite, sizeof(sa.suite)) || sa.dir > VN_CTL_SA_IN ||
				 sa.enc_key_len > sizeof(sa.enc_key) ||
				 sa.auth_key_len > sizeof(sa.auth_key)));
			break;
		}
		/* Past the last record, or a payload of partial records. */
		TRAP_IF(rc == 0 && (i == n || len % sizes[which] != 0));
	}
}

/* The create encoder against its decoder: path | text round-trips. */
static void create_round_trip(const uint8_t *p, size_t len)
{
	static uint8_t buf[8192];
	char path[64] = "/";
	struct vn_ctl_create cr;
	size_t plen = len ? p[0] % 60 : 0;
	int n;

	if (len < 1 + plen)
		return;
	memcpy(path + 1, p + 1, plen);
	path[1 + plen] = '\0';
	n = vn_ctl_create_encode(buf, sizeof(buf), path, (const char *)p + 1 + plen,
				 len - 1 - plen);
	if (n < 0 || vn_ctl_create_decode(buf, (size_t)n, &cr) < 0)
		return; /* NUL bytes in path or text: vn never sends those */
	TRAP_IF(strcmp(cr.path, path) != 0 || cr.text_len != len - 1 - plen ||
		memcmp(cr.text, p + 1 + plen, cr.text_len) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0] % 12;
	if (sel < 6)
		requests(sel, data + 1, size - 1);
	else if (sel < 11)
		replies(sel - 6, data + 1, size - 1);
	else
		create_round_trip(data + 1, size - 1);
	return 0;
}
