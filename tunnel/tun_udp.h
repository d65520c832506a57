/*
 * The underlay UDP socket (internal to libtunnel): open and configure it,
 * receive batches with recvmmsg (UDP_GRO trains split by the caller), and
 * send queued datagrams with sendmmsg, merging runs of equal-sized
 * datagrams to one destination into one UDP_SEGMENT (GSO) send.
 *
 * Queued datagrams point into the caller's buffers, which must stay put
 * until tun_udp_flush() returns: nothing is copied.
 */
#ifndef TERN_TUN_UDP_H
#define TERN_TUN_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tun.h"

#define TUN_UDP_RX_BATCH 16
/* A GRO train is at most 64 KiB; a datagram without GRO at most 64 KiB. */
#define TUN_UDP_RX_BUF 65536u
#define TUN_UDP_TX_BATCH 128
/* Kernel limit on segments per UDP_SEGMENT send (UDP_MAX_SEGMENTS). */
#define TUN_UDP_GSO_MAX_SEGS 64
#define TUN_UDP_GSO_MAX_BYTES 63000u

struct tun_udp {
	int fd;
	struct tun_udp_caps caps;
	uint16_t port; /* host order */
	struct in_addr local, group;
	bool has_group;
	bool set_src; /* bound to the wildcard: pin our source with IP_PKTINFO */
};

/* One received datagram, or a GRO train of `seg`-byte datagrams (the last
 * may be shorter) when seg < len. */
struct tun_udp_dgram {
	uint8_t *data;
	size_t len;
	size_t seg;
	struct sockaddr_in from;
	bool mcast; /* sent to a multicast group */
};

struct tun_udp_rxq {
	uint8_t *bufs; /* TUN_UDP_RX_BATCH * TUN_UDP_RX_BUF, one allocation */
	struct tun_udp_dgram d[TUN_UDP_RX_BATCH];
	struct mmsghdr msgs[TUN_UDP_RX_BATCH];
	struct iovec iov[TUN_UDP_RX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[TUN_UDP_RX_BATCH];
};

struct tun_udp_txent {
	const uint8_t *data;
	size_t len;
	struct sockaddr_in dst;
};

struct tun_udp_txq {
	size_t n;
	struct tun_udp_txent e[TUN_UDP_TX_BATCH];
	/* scratch for tun_udp_flush */
	struct mmsghdr msgs[TUN_UDP_TX_BATCH];
	struct iovec iov[TUN_UDP_TX_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[TUN_UDP_TX_BATCH];
};

/* Opens, binds and configures the socket into *u (u->fd = -1 first so that
 * tun_udp_close is safe on every path). Returns 0 or -errno. */
int tun_udp_open(struct tun_udp *u, const struct tun_udp_conf *conf);
/* Closes the socket; safe twice. */
void tun_udp_close(struct tun_udp *u);

/* Allocates / frees the receive buffers. rxq_init returns 0 or -ENOMEM;
 * rxq_fini is safe twice and after a failed init. */
int tun_udp_rxq_init(struct tun_udp_rxq *q);
void tun_udp_rxq_fini(struct tun_udp_rxq *q);
/* Receives up to TUN_UDP_RX_BATCH datagrams into q->d. Returns how many
 * (0 if none was waiting) or -errno. Truncated datagrams are dropped and
 * counted in *truncated. */
int tun_udp_recv(struct tun_udp *u, struct tun_udp_rxq *q, uint64_t *truncated);

/* Converts a wire address to a socket address on our port. Returns 0 or
 * -EAFNOSUPPORT for a non-IPv4 address, -EINVAL for the zero address. */
int tun_udp_sockaddr(const struct tun_udp *u, const struct vnet_addr *a, struct sockaddr_in *out);

/* True if the queue has no room for `n` more datagrams. */
static inline bool tun_udp_txq_full(const struct tun_udp_txq *q, size_t n)
{
	return q->n + n > TUN_UDP_TX_BATCH;
}
/* Queues one datagram (the caller checked tun_udp_txq_full). */
void tun_udp_txq_add(struct tun_udp_txq *q, const uint8_t *data, size_t len,
		     const struct sockaddr_in *dst);
/* Sends everything queued and empties the queue. Returns the number of
 * datagrams that could not be sent (socket full for longer than a short
 * bounded wait, or an error such as no route). */
size_t tun_udp_flush(struct tun_udp *u, struct tun_udp_txq *q);

#endif
