/*
 * The underlay UDP socket: one per vnetd, bound to port 1798 on the
 * wildcard address (receiving multicast needs that) and joined to the group.
 */
#include "tun_udp.h"

#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* How long a flush waits for a full socket to drain before dropping. */
#define TUN_UDP_SEND_WAIT_MS 5
#define TUN_UDP_SNDBUF (4 << 20)
#define TUN_UDP_RCVBUF (8 << 20)

static int v4_of(const struct vnet_addr *a, struct in_addr *out)
{
	if (!vnet_addr_is_v4(a))
		return -EAFNOSUPPORT;
	memcpy(&out->s_addr, &a->b[12], 4);
	return 0;
}

int tun_udp_sockaddr(const struct tun_udp *u, const struct vnet_addr *a, struct sockaddr_in *out)
{
	memset(out, 0, sizeof(*out));
	if (vnet_addr_is_zero(a))
		return -EINVAL;
	out->sin_family = AF_INET;
	out->sin_port = htons(u->port);
	return v4_of(a, &out->sin_addr);
}

static int setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

static int join_group(struct tun_udp *u, int ifindex, int ttl)
{
	struct ip_mreqn mreq = {
	    .imr_multiaddr = u->group,
	    .imr_address = u->local,
	    .imr_ifindex = ifindex,
	};

	if (setsockopt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
		return -errno;
	/* Our own floods must not come back to us through the loopback. */
	if (setopt(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0) < 0)
		return -errno;
	if (setopt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl ? ttl : 1) < 0)
		return -errno;
	mreq.imr_multiaddr.s_addr = 0;
	if (setsockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0)
		return -errno;
	return 0;
}

/* Offloads are optional: an older kernel refuses the option and we send
 * and receive one datagram per buffer. */
static void probe_offloads(struct tun_udp *u)
{
	u->caps.gro = setopt(u->fd, IPPROTO_UDP, UDP_GRO, 1) == 0;
	/* UDP_SEGMENT as a socket option is the cheapest probe of GSO
	 * support; 0 keeps it off by default (we pass it per send). */
	u->caps.gso = setopt(u->fd, IPPROTO_UDP, UDP_SEGMENT, 0) == 0;
}

static int configure(struct tun_udp *u, const struct tun_udp_conf *conf)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(u->port)};
	int err;

	if (!vnet_addr_is_zero(&conf->bind) && (err = v4_of(&conf->bind, &sin.sin_addr)) < 0)
		return err;
	u->set_src = sin.sin_addr.s_addr == INADDR_ANY;
	/* A vnet's frames must get through whatever the underlay MTU: let
	 * the kernel fragment datagrams larger than it (as VXLAN does) rather
	 * than refuse them with EMSGSIZE. */
	if (setopt(u->fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    setopt(u->fd, IPPROTO_IP, IP_PKTINFO, 1) < 0 ||
	    setopt(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT) < 0)
		return -errno;
	/* Bigger buffers absorb bursts between two turns of the event loop;
	 * the kernel caps them at rmem_max/wmem_max without failing. */
	setopt(u->fd, SOL_SOCKET, SO_SNDBUF, TUN_UDP_SNDBUF);
	setopt(u->fd, SOL_SOCKET, SO_RCVBUF, TUN_UDP_RCVBUF);
	if (bind(u->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -errno;
	if (u->has_group && (err = join_group(u, conf->ifindex, conf->ttl)) < 0)
		return err;
	probe_offloads(u);
	return 0;
}

int tun_udp_open(struct tun_udp *u, const struct tun_udp_conf *conf)
{
	int err;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->port = conf->port ? conf->port : TUN_PORT_DEFAULT;
	if (vnet_addr_is_zero(&conf->local))
		return -EINVAL;
	if ((err = v4_of(&conf->local, &u->local)) < 0)
		return err;
	u->has_group = !vnet_addr_is_zero(&conf->group);
	if (u->has_group) {
		if ((err = v4_of(&conf->group, &u->group)) < 0)
			return err;
		if (!IN_MULTICAST(ntohl(u->group.s_addr)))
			return -EINVAL;
	}
	u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return -errno;
	if ((err = configure(u, conf)) < 0) {
		tun_udp_close(u);
		return err;
	}
	log_debug("tunnel: udp port %u gro %d gso %d", u->port, u->caps.gro, u->caps.gso);
	return 0;
}

void tun_udp_close(struct tun_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int tun_udp_rxq_init(struct tun_udp_rxq *q)
{
	memset(q, 0, sizeof(*q));
	q->bufs = malloc((size_t)TUN_UDP_RX_BATCH * TUN_UDP_RX_BUF);
	return q->bufs ? 0 : -ENOMEM;
}

void tun_udp_rxq_fini(struct tun_udp_rxq *q)
{
	free(q->bufs);
	q->bufs = NULL;
}

static void rx_meta(struct tun_udp_dgram *d, struct msghdr *mh)
{
	struct cmsghdr *c;

	d->seg = d->len;
	d->mcast = false;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			d->mcast = IN_MULTICAST(ntohl(pi.ipi_addr.s_addr));
		} else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
			int seg;

			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			if (seg > 0 && (size_t)seg < d->len)
				d->seg = (size_t)seg;
		}
	}
}

int tun_udp_recv(struct tun_udp *u, struct tun_udp_rxq *q, uint64_t *truncated)
{
	int n, i, kept = 0;

	for (i = 0; i < TUN_UDP_RX_BATCH; i++) {
		struct msghdr *mh = &q->msgs[i].msg_hdr;

		q->iov[i].iov_base = q->bufs + (size_t)i * TUN_UDP_RX_BUF;
		q->iov[i].iov_len = TUN_UDP_RX_BUF;
		*mh = (struct msghdr){
		    .msg_name = &q->d[i].from,
		    .msg_namelen = sizeof(q->d[i].from),
		    .msg_iov = &q->iov[i],
		    .msg_iovlen = 1,
		    .msg_control = q->ctl[i].buf,
		    .msg_controllen = sizeof(q->ctl[i].buf),
		};
	}
	n = recvmmsg(u->fd, q->msgs, TUN_UDP_RX_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct msghdr *mh = &q->msgs[i].msg_hdr;
		struct tun_udp_dgram *d = &q->d[kept];

		if ((mh->msg_flags & MSG_TRUNC) || mh->msg_namelen != sizeof(d->from)) {
			(*truncated)++;
			continue;
		}
		if (kept != i)
			d->from = q->d[i].from;
		d->data = q->iov[i].iov_base;
		d->len = q->msgs[i].msg_len;
		rx_meta(d, mh);
		kept++;
	}
	return kept;
}

void tun_udp_txq_add(struct tun_udp_txq *q, const uint8_t *data, size_t len,
		     const struct sockaddr_in *dst)
{
	struct tun_udp_txent *e = &q->e[q->n++];

	e->data = data;
	e->len = len;
	e->dst = *dst;
}

static bool same_dst(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/* How many entries from `i` on can go as one GSO send: same destination,
 * same size, only the last one may be shorter. */
static size_t gso_run(const struct tun_udp *u, const struct tun_udp_txq *q, size_t i)
{
	size_t n = 1, bytes = q->e[i].len;

	if (!u->caps.gso)
		return 1;
	while (i + n < q->n && n < TUN_UDP_GSO_MAX_SEGS) {
		const struct tun_udp_txent *e = &q->e[i + n];

		if (!same_dst(&e->dst, &q->e[i].dst) || e->len > q->e[i].len ||
		    bytes + e->len > TUN_UDP_GSO_MAX_BYTES)
			break;
		bytes += e->len;
		n++;
		if (e->len < q->e[i].len)
			break;
	}
	return n;
}

static void build_ctl(const struct tun_udp *u, struct msghdr *mh, void *buf, size_t cap,
		      size_t segs, uint16_t seg_size)
{
	struct cmsghdr *c;
	size_t len = 0;

	mh->msg_control = buf;
	mh->msg_controllen = cap;
	c = CMSG_FIRSTHDR(mh);
	if (u->set_src) {
		struct in_pktinfo pi = {.ipi_spec_dst = u->local};

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		len += CMSG_SPACE(sizeof(pi));
		c = CMSG_NXTHDR(mh, c);
	}
	if (segs > 1) {
		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg_size));
		memcpy(CMSG_DATA(c), &seg_size, sizeof(seg_size));
		len += CMSG_SPACE(sizeof(seg_size));
	}
	mh->msg_controllen = len;
	if (!len)
		mh->msg_control = NULL;
}

/* Builds q->msgs from q->e; returns the number of messages and stores in
 * segs[m] how many entries message m carries. */
static size_t build_msgs(const struct tun_udp *u, struct tun_udp_txq *q, uint8_t *segs)
{
	size_t i = 0, m = 0;

	while (i < q->n) {
		size_t run = gso_run(u, q, i), k;
		struct msghdr *mh = &q->msgs[m].msg_hdr;

		for (k = 0; k < run; k++) {
			q->iov[i + k].iov_base = (void *)q->e[i + k].data;
			q->iov[i + k].iov_len = q->e[i + k].len;
		}
		*mh = (struct msghdr){
		    .msg_name = &q->e[i].dst,
		    .msg_namelen = sizeof(q->e[i].dst),
		    .msg_iov = &q->iov[i],
		    .msg_iovlen = run,
		};
		build_ctl(u, mh, q->ctl[m].buf, sizeof(q->ctl[m].buf), run, (uint16_t)q->e[i].len);
		segs[m++] = (uint8_t)run;
		i += run;
	}
	return m;
}

static bool wait_writable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	return poll(&p, 1, TUN_UDP_SEND_WAIT_MS) == 1;
}

/* Removes the entries of the first `msgs` messages from the queue. */
static void drop_sent(struct tun_udp_txq *q, const uint8_t *segs, size_t msgs)
{
	size_t k, first = 0;

	for (k = 0; k < msgs; k++)
		first += segs[k];
	memmove(q->e, q->e + first, (q->n - first) * sizeof(q->e[0]));
	q->n -= first;
}

size_t tun_udp_flush(struct tun_udp *u, struct tun_udp_txq *q)
{
	uint8_t segs[TUN_UDP_TX_BATCH];
	size_t m = build_msgs(u, q, segs), done = 0, lost = 0;
	bool waited = false;

	while (done < m) {
		int n = sendmmsg(u->fd, q->msgs + done, (unsigned)(m - done), MSG_DONTWAIT);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && !waited) {
			waited = true;
			if (wait_writable(u->fd))
				continue;
		}
		if (n < 0 && (errno == EIO || errno == EINVAL || errno == EMSGSIZE) &&
		    segs[done] > 1) {
			/* The route's device cannot checksum GSO (EIO) or its
			 * MTU is below our segment size (EMSGSIZE; plain sends
			 * are fragmented instead): fall back for good and
			 * resend the rest datagram by datagram. */
			u->caps.gso = false;
			log_debug("tunnel: udp: GSO send failed, disabled");
			drop_sent(q, segs, done);
			return tun_udp_flush(u, q) + lost;
		}
		/* Unreachable destination or still full: drop this message
		 * and go on with the next one. */
		lost += segs[done++];
	}
	q->n = 0;
	return lost;
}
