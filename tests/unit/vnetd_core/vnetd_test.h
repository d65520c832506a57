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
#include <poll.h>
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
 * none), key bytes 0x5a. No group and no peers: its ANNOUNCE goes nowhere.
 * Returns 0 or -errno. */
static inline int vt_open(struct vt_host *h, int num, enum esp_suite_id suite)
{
	static const struct tun_dp_ops ops = {
	    .varp = varp_proto_rx,
	    .rekey = sa_keys_rekey,
	    .miss = varp_proto_miss,
	};
	struct tun_udp_conf uc = {.port = vt_port(), .ifindex = 1};
	struct tun_vnet_conf vc = {.suite = suite};

	memset(h, 0, sizeof(*h));
	h->tap[0] = h->tap[1] = -1;
	h->d.ctl_fd = -1;
	vnetd_conf_defaults(&h->d.conf);
	h->d.local = uc.bind = uc.local = vt_addr(num);
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

/* Runs the data paths of the n hosts until none has received anything for
 * 20 ms (at most 50 rounds): SA exchanges, announces and answers settle.
 * Returns the datagrams handled. */
static inline int vt_pump(struct vt_host **h, int n)
{
	int total = 0;

	for (int round = 0; round < 50; round++) {
		struct pollfd p[8];
		int got = 0;

		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = tun_dp_fd(h[i]->d.dp), .events = POLLIN};
		if (poll(p, (nfds_t)n, 20) <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLIN)
				got += tun_dp_rx_udp(h[i]->d.dp);
		total += got;
	}
	return total;
}

static inline int vt_sa_out_cb(const struct tun_sa_info *sa, void *arg)
{
	if (sa->dir != ESP_SA_OUT)
		return 0;
	*(uint32_t *)arg = sa->spi;
	return 1;
}

struct vt_sa_find {
	struct vnet_addr sender;
	uint32_t spi;
};

static inline int vt_sa_in_cb(const struct tun_sa_info *sa, void *arg)
{
	const struct vt_sa_find *f = arg;

	return sa->dir == ESP_SA_IN && !sa->grace && sa->spi == f->spi &&
	       vnet_addr_eq(&sa->sender, &f->sender);
}

/* True if x holds y's current sending SA as its receive SA. */
static inline bool vt_knows(struct vt_host *x, struct vt_host *y)
{
	struct vt_sa_find f = {.sender = y->d.local};

	if (tun_vnet_sa_foreach(y->v.tv, vt_sa_out_cb, &f.spi) != 1)
		return false;
	return tun_vnet_sa_foreach(x->v.tv, vt_sa_in_cb, &f) == 1;
}

/* x learns y's SA through the real exchange: x asks (REQUEST), y replies,
 * x installs; retried after the ask interval if an earlier question is
 * still within it. Returns 0 or -ETIMEDOUT. */
static inline int vt_learn(struct vt_host *x, struct vt_host *y)
{
	struct vt_host *both[2] = {x, y};

	for (int tries = 0; tries < 5; tries++) {
		if (vt_knows(x, y))
			return 0;
		if (tun_vnet_sa_ask(x->v.tv, &y->d.local) < 0)
			return -EINVAL;
		vt_pump(both, 2);
		if (vt_knows(x, y))
			return 0;
		poll(NULL, 0, 110);
	}
	return -ETIMEDOUT;
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
