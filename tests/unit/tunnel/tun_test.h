/*
 * Shared harness for the tunnel unit tests: "hosts" are data paths bound to
 * 127.0.0.x on one test port, their TAPs are SOCK_SEQPACKET socketpairs, and
 * raw UDP sockets stand in for a host when a test needs to see or forge the
 * exact bytes on the wire. Everything stays on loopback.
 */
#ifndef TERN_TUN_TEST_H
#define TERN_TUN_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mac_table.h"
#include "tun.h"

static uint16_t test_port __attribute__((unused));

static inline uint16_t port_pick(void)
{
	if (!test_port)
		test_port = (uint16_t)(20000 + getpid() % 30000);
	return test_port;
}

static inline struct vnet_addr lo_addr(int host)
{
	struct vnet_addr a;

	vnet_addr_from_v4(&a, htonl(0x7f000000u | (uint32_t)host));
	return a;
}

struct host {
	int num; /* 127.0.0.num */
	struct tun_dp *dp;
	struct tun_vnet *vn;
	struct mac_table *macs;
	int tap[2]; /* [0] given to the data path, [1] is the "kernel" side */
};

/* group: join 224.10.0.1 on lo; else no multicast. */
static inline int host_open(struct host *h, int num, bool group, uint64_t seq0,
			    const struct tun_dp_ops *ops, void *arg)
{
	struct tun_udp_conf uc = {.port = port_pick(), .ifindex = 1};

	memset(h, 0, sizeof(*h));
	h->num = num;
	h->tap[0] = h->tap[1] = -1;
	uc.bind = uc.local = lo_addr(num);
	if (group)
		vnet_addr_parse(TUN_GROUP_DEFAULT, &uc.group);
	h->dp = tun_dp_new(&uc, seq0, ops, arg);
	if (!h->dp)
		return -errno;
	h->macs = mac_table_new(1024);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, h->tap) < 0)
		return -errno;
	return h->macs ? 0 : -ENOMEM;
}

/* Adds vnet `id` at `suite` with key bytes 0x5a. A secured vnet ANNOUNCEs
 * its SA at once, to the group and the peers the data path has. */
static inline int host_vnet(struct host *h, uint16_t id, enum esp_suite_id suite)
{
	struct tun_vnet_conf vc = {
	    .tap_fd = h->tap[0],
	    .suite = suite,
	    .macs = h->macs,
	};

	vnet_id_from_short(&vc.id, id);
	memset(vc.key.b, 0x5a, sizeof(vc.key.b));
	h->vn = tun_dp_vnet_add(h->dp, &vc);
	return h->vn ? 0 : -errno;
}

static inline void host_close(struct host *h)
{
	tun_dp_free(h->dp);
	mac_table_free(h->macs);
	if (h->tap[0] >= 0)
		close(h->tap[0]);
	if (h->tap[1] >= 0)
		close(h->tap[1]);
	h->dp = NULL;
	h->macs = NULL;
	h->tap[0] = h->tap[1] = -1;
}

/* Runs the data paths of the n hosts until none has received anything for
 * `quiet_ms` (at most 50 rounds), so that SA exchanges, announces and
 * answers settle. Returns the datagrams handled. */
static inline int hosts_pump(struct host **h, int n, int quiet_ms)
{
	int total = 0;

	for (int round = 0; round < 50; round++) {
		struct pollfd p[8];

		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = tun_dp_fd(h[i]->dp), .events = POLLIN};
		if (poll(p, (nfds_t)n, quiet_ms) <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLIN)
				total += tun_dp_rx_udp(h[i]->dp);
	}
	return total;
}

static inline int sa_out_cb(const struct tun_sa_info *sa, void *arg)
{
	if (sa->dir != ESP_SA_OUT)
		return 0;
	*(uint32_t *)arg = sa->spi;
	return 1;
}

/* The SPI h's vnet sends with (0 for a `none` vnet). */
static inline uint32_t host_spi(const struct host *h)
{
	uint32_t spi = 0;

	tun_vnet_sa_foreach(h->vn, sa_out_cb, &spi);
	return spi;
}

struct sa_find {
	struct vnet_addr sender;
	uint32_t spi;
};

static inline int sa_in_cb(const struct tun_sa_info *sa, void *arg)
{
	const struct sa_find *f = arg;

	return sa->dir == ESP_SA_IN && !sa->grace && sa->spi == f->spi &&
	       vnet_addr_eq(&sa->sender, &f->sender);
}

/* True if x holds y's current sending SA as the current receive SA. */
static inline bool host_knows(const struct host *x, const struct host *y)
{
	struct sa_find f = {.sender = lo_addr(y->num), .spi = host_spi(y)};

	return f.spi && tun_vnet_sa_foreach(x->vn, sa_in_cb, &f) == 1;
}

/* x learns y's SA through the real exchange: x asks (an SA REQUEST), y
 * replies, x installs. The pump handles whatever else x and y have
 * waiting, so call it when no frames are in flight. An ask within
 * TUN_SA_ASK_MS of the previous one is not sent: then it waits and asks
 * again. Returns 0 or -ETIMEDOUT. */
static inline int host_learn(struct host *x, struct host *y)
{
	struct host *both[2] = {x, y};
	struct vnet_addr ay = lo_addr(y->num);

	for (int tries = 0; tries < 5; tries++) {
		if (host_knows(x, y))
			return 0;
		if (tun_vnet_sa_ask(x->vn, &ay) < 0)
			return -EINVAL;
		hosts_pump(both, 2, 10);
		if (host_knows(x, y))
			return 0;
		poll(NULL, 0, 110);
	}
	return -ETIMEDOUT;
}

/* Reads and drops whatever is waiting on fd within ms; returns how many. */
static inline int raw_drain(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t buf[2048];
	int n = 0;

	while (poll(&p, 1, ms) == 1 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

/* A plain UDP socket on 127.0.0.num:port (num 0: the wildcard, joined to
 * the group on lo), to capture or forge packets. */
static inline int raw_open(int num)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port_pick())};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = num ? htonl(0x7f000000u | (uint32_t)num) : INADDR_ANY;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	if (!num) {
		struct ip_mreqn m = {.imr_ifindex = 1};

		inet_pton(AF_INET, TUN_GROUP_DEFAULT, &m.imr_multiaddr);
		setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
	}
	return fd;
}

/* Receives one datagram within `ms` ms; returns its length or -1. */
static inline ssize_t recv_wait(int fd, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fd, buf, cap, MSG_DONTWAIT);
}

static inline ssize_t raw_send(int fd, int to, const uint8_t *buf, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port_pick())};

	sin.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)to);
	return sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin));
}

/* Builds an Ethernet frame of `len` bytes from src to dst with a
 * recognisable payload. */
static inline void frame_make(uint8_t *f, size_t len, const uint8_t dst[6], const uint8_t src[6],
			      uint8_t fill)
{
	size_t i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental ethertype */
	for (i = 14; i < len; i++)
		f[i] = (uint8_t)(fill + i);
}

#endif
