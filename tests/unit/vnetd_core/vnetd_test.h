/*
 * A vnetd reduced to what the VARP and SA code touch, for unit tests: the
 * model (struct vnetd, one struct vnetd_vnet) around a real libtunnel data
 * path bound to 127.0.0.x on a test port, with vnetd's own callbacks, and a
 * SOCK_SEQPACKET socketpair as the vnet's TAP. Everything stays on
 * loopback; no netlink, no event loop.
 */
#ifndef TERN_VNETD_TEST_H
#define TERN_VNETD_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"
#include "vnetd.h"

#define VT_VNET 97

struct vt_host {
	struct vnetd d;
	struct vnetd_vnet v;
	int tap[2]; /* [0] the data path's, [1] the "kernel" side */
};

static inline struct vnet_addr vt_addr(int host)
{
	struct vnet_addr a;

	vnet_addr_from_v4(&a, htonl(0x7f000000u | (uint32_t)host));
	return a;
}

static inline uint16_t vt_port(void)
{
	return (uint16_t)(20000 + (getpid() * 7) % 30000);
}

static inline enum vnet_security vt_level(enum esp_suite_id suite)
{
	if (suite == ESP_SUITE_NONE)
		return VNET_SEC_NONE;
	if (suite == ESP_SUITE_AES128_GCM || suite == ESP_SUITE_AES128_CBC_SHA1)
		return VNET_SEC_CONF;
	return VNET_SEC_AUTH;
}

/* Host 127.0.0.num with vnet 97 at `suite` (ESP_SUITE_NONE: security
 * none), key bytes 0x5a, sending epoch `epoch`. Returns 0 or -errno. */
static inline int vt_open(struct vt_host *h, int num, enum esp_suite_id suite, uint16_t epoch)
{
	static const struct tun_dp_ops ops = {
	    .varp = varp_proto_rx,
	    .rekey = sa_keys_rekey,
	    .miss = varp_proto_miss,
	};
	struct tun_udp_conf uc = {.port = vt_port(), .ifindex = 1};
	struct tun_vnet_conf vc = {.suite = suite, .epoch = epoch};

	memset(h, 0, sizeof(*h));
	h->tap[0] = h->tap[1] = -1;
	h->d.ctl_fd = -1;
	vnetd_conf_defaults(&h->d.conf);
	h->d.local = uc.bind = uc.local = vt_addr(num);
	h->d.epoch = epoch;
	h->v.macs = mac_table_new(1024);
	h->d.dp = tun_dp_new(&uc, (uint64_t)num << 32, &ops, &h->d);
	if (!h->v.macs || !h->d.dp || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, h->tap) < 0)
		return -errno;
	h->v.d = &h->d;
	h->v.tap_fd = -1;
	vnet_id_from_short(&h->v.conf.id, VT_VNET);
	h->v.conf.security = vt_level(suite);
	h->v.conf.suite = suite;
	h->v.conf.mtu = 1400;
	h->v.conf.mac_max = 1024;
	h->v.announce_tokens = VNETD_ANNOUNCE_BURST;
	snprintf(h->v.name, sizeof(h->v.name), "vnet %d", VT_VNET);
	memset(h->v.key.b, 0x5a, sizeof(h->v.key.b));
	h->v.epoch = epoch;
	vc.id = h->v.conf.id;
	vc.tap_fd = h->tap[0];
	vc.key = h->v.key;
	vc.macs = h->v.macs;
	h->v.tv = tun_dp_vnet_add(h->d.dp, &vc);
	if (!h->v.tv)
		return -errno;
	h->d.vnets = &h->v;
	return 0;
}

static inline void vt_close(struct vt_host *h)
{
	tun_dp_free(h->d.dp);
	mac_table_free(h->v.macs);
	if (h->tap[0] >= 0)
		close(h->tap[0]);
	if (h->tap[1] >= 0)
		close(h->tap[1]);
	memset(h, 0, sizeof(*h));
	h->tap[0] = h->tap[1] = -1;
}

/* A frame from `src` to `dst` written by the "kernel" to h's TAP, then
 * read by the data path. */
static inline int vt_tap_send(struct vt_host *h, const uint8_t dst[6], const uint8_t src[6])
{
	uint8_t f[98] = {0};

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	if (write(h->tap[1], f, sizeof(f)) != (ssize_t)sizeof(f))
		return -errno;
	return tun_dp_rx_tap(h->d.dp, h->v.tv);
}

#endif
