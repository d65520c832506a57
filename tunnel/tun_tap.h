/*
 * One vnet's TAP fd (internal to libtunnel). vnetd opens the TAP (nl_link)
 * and hands us the fd. If it was opened with IFF_VNET_HDR, every frame
 * carries a virtio-net header and we enable TSO/checksum offload, so the
 * kernel may hand us TCP super-frames of up to 64 KiB that tun_seg.c splits
 * into MTU-sized frames. Any other fd that keeps record boundaries (a
 * SOCK_SEQPACKET or SOCK_DGRAM socketpair in tests) is used frame by frame.
 */
#ifndef TERN_TUN_TAP_H
#define TERN_TUN_TAP_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Largest read: a 64 KiB super-frame plus its virtio-net header. */
#define TUN_TAP_BIG (65536u + 64u)
#define TUN_TAP_HDR_MAX 16 /* virtio-net header sizes we accept (10, 12) */
#define TUN_TAP_IOV_MAX 64 /* pieces of one tun_tap_writev */

struct tun_tap {
	int fd;		/* the caller's; never closed here */
	size_t hdr_len; /* virtio-net header bytes per frame, 0 without */
	bool offload;	/* TSO/CSUM on: reads may need tun_seg */
};

/* Probes `fd` (TUNGETIFF), makes it non-blocking and, for a TAP with
 * IFF_VNET_HDR, pins the header size to 10 bytes and turns on
 * TSO4/TSO6/CSUM offload. Returns 0, -errno of fcntl, or -EINVAL for a
 * header size we cannot handle (a fd that is not a TAP is fine). */
int tun_tap_init(struct tun_tap *t, int fd);

/* Reads one frame. Without a virtio-net header, into buf (cap bytes) and
 * *vh is zeroed; with one, the header goes to *vh and the frame to buf.
 * Returns the frame length, 0 if nothing is waiting, or -errno (-EMSGSIZE
 * for a frame shorter than the header). */
ssize_t tun_tap_read(struct tun_tap *t, uint8_t *buf, size_t cap, struct virtio_net_hdr *vh);

/* Writes one complete frame (prefixing a zero virtio-net header if the TAP
 * wants one). Returns 0 or -errno (-EAGAIN: the TAP queue is full). */
int tun_tap_write(struct tun_tap *t, const uint8_t *frame, size_t len);

/* Writes one GSO super-frame: header *vh, then the n iovecs. Returns 0 or
 * -errno; -EOPNOTSUPP if the TAP has no virtio-net header. */
int tun_tap_writev(struct tun_tap *t, const struct virtio_net_hdr *vh, const struct iovec *iov,
		   int n);

#endif
