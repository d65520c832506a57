/*
 * TAP reads and writes, with or without the virtio-net header.
 */
#include "tun_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Offload is worth having but never required: without it the kernel
 * segments and checksums for us. */
static int enable_offload(struct tun_tap *t)
{
	unsigned feats = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	int sz = (int)sizeof(struct virtio_net_hdr);

	/* Pin the header size we read and write; someone else may have set
	 * another (12 with num_buffers) on a shared TAP. */
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0 &&
	    (ioctl(t->fd, TUNGETVNETHDRSZ, &sz) < 0 || sz < (int)sizeof(struct virtio_net_hdr) ||
	     sz > TUN_TAP_HDR_MAX))
		return -EINVAL;
	t->hdr_len = (size_t)sz;
	t->offload = ioctl(t->fd, TUNSETOFFLOAD, feats) == 0;
	return 0;
}

int tun_tap_init(struct tun_tap *t, int fd)
{
	struct ifreq ifr;
	int err;

	t->fd = fd;
	t->hdr_len = 0;
	t->offload = false;
	if ((err = set_nonblock(fd)) < 0)
		return err;
	memset(&ifr, 0, sizeof(ifr));
	/* TUNGETIFF fills a struct ifreq; any other kind of fd refuses it. */
	if (ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR) &&
	    (err = enable_offload(t)) < 0)
		return err;
	log_debug("tunnel: tap fd %d vnet_hdr %zu offload %d", fd, t->hdr_len, t->offload);
	return 0;
}

ssize_t tun_tap_read(struct tun_tap *t, uint8_t *buf, size_t cap, struct virtio_net_hdr *vh)
{
	uint8_t hdr[TUN_TAP_HDR_MAX];
	struct iovec iov[2] = {
	    {.iov_base = hdr, .iov_len = t->hdr_len},
	    {.iov_base = buf, .iov_len = cap},
	};
	ssize_t n;

	memset(vh, 0, sizeof(*vh));
	n = t->hdr_len ? readv(t->fd, iov, 2) : read(t->fd, buf, cap);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET; /* a socketpair's peer closed; a TAP never reads 0 */
	if (!t->hdr_len)
		return n;
	if ((size_t)n < t->hdr_len)
		return -EMSGSIZE;
	memcpy(vh, hdr, sizeof(*vh));
	return n - (ssize_t)t->hdr_len;
}

int tun_tap_write(struct tun_tap *t, const uint8_t *frame, size_t len)
{
	static const uint8_t zero[TUN_TAP_HDR_MAX];
	struct iovec iov[2] = {
	    {.iov_base = (void *)zero, .iov_len = t->hdr_len},
	    {.iov_base = (void *)frame, .iov_len = len},
	};
	ssize_t n;

	n = t->hdr_len ? writev(t->fd, iov, 2) : write(t->fd, frame, len);
	if (n < 0)
		return -errno;
	return 0;
}

int tun_tap_writev(struct tun_tap *t, const struct virtio_net_hdr *vh, const struct iovec *iov,
		   int n)
{
	uint8_t hdr[TUN_TAP_HDR_MAX] = {0};
	struct iovec v[1 + TUN_TAP_IOV_MAX];

	if (!t->hdr_len)
		return -EOPNOTSUPP;
	if (n < 1 || n > TUN_TAP_IOV_MAX)
		return -EINVAL;
	memcpy(hdr, vh, sizeof(*vh));
	v[0].iov_base = hdr;
	v[0].iov_len = t->hdr_len;
	memcpy(v + 1, iov, (size_t)n * sizeof(*iov));
	return writev(t->fd, v, n + 1) < 0 ? -errno : 0;
}
