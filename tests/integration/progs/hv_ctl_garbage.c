/*
 * hv_ctl_garbage SOCKET: sends malformed requests to a vmm control socket
 * and checks each is refused with an error reply (or the connection is
 * closed), then that the vmm still answers a good status request (a
 * status record, decoded by vmm_msg.c, saying running).
 * Prints "hv_ctl_garbage: PASS <n> bad requests refused" and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
/* The protocol header lives with the vmm; tests reach it by path. */
#include "../../../hypervisor/vmm/vmm_ctl.h"

static int refused(const char *sock, const char *what, uint16_t type, const void *payload,
		   uint32_t len, int raw_len)
{
	uint8_t buf[4096];
	struct ctl_hdr h = {type, 0, (uint32_t)raw_len};
	int fd = ctl_connect(sock, 5000), n;

	if (fd < 0) {
		fprintf(stderr, "hv_ctl_garbage: %s: connect: %s\n", what, strerror(-fd));
		return 0;
	}
	if (raw_len >= 0) { /* a header that lies about its length */
		n = (int)write(fd, &h, sizeof(h));
		n = n == sizeof(h) ? (int)write(fd, payload, len) : -1;
		n = n < 0 ? -errno : 0;
	} else {
		n = ctl_send(fd, type, 0, payload, len);
	}
	n = n >= 0 ? ctl_recv(fd, &h, buf, sizeof(buf)) : n;
	close(fd);
	/* Refused: an error reply, or the vmm hung up on us. */
	if (n == -ECONNRESET || n == -EPIPE || (n >= 0 && (h.flags & CTL_F_ERROR))) {
		printf("hv_ctl_garbage: %s: refused\n", what);
		return 1;
	}
	fprintf(stderr, "hv_ctl_garbage: %s: not refused (%d, flags 0x%x)\n", what, n,
		n >= 0 ? h.flags : 0);
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t req[64];
	struct vmm_ctl_save s;
	int ok = 0, total = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: hv_ctl_garbage SOCKET\n");
		return 2;
	}
	const char *sock = argv[1];
	signal(SIGPIPE, SIG_IGN); /* the vmm may hang up before we finish writing */
	total++, ok += refused(sock, "unknown type", 0x7777, NULL, 0, -1);
	total++, ok += refused(sock, "payload on pause", CTL_VMM_PAUSE, "x", 1, -1);
	total++, ok += refused(sock, "oversized length", CTL_VMM_STATUS, "x", 1, CTL_MSG_MAX + 1);
	total++, ok += refused(sock, "short save", CTL_VMM_SAVE, "ab", 2, -1);
	s = (struct vmm_ctl_save){0, 9};
	memcpy(req, &s, sizeof(s));
	memcpy(req + sizeof(s), "rel/x.sav", 9);
	total++, ok += refused(sock, "relative save path", CTL_VMM_SAVE, req, sizeof(s) + 9, -1);
	memcpy(req + sizeof(s), "/tmp/\0x.s", 9);
	total++, ok += refused(sock, "NUL in save path", CTL_VMM_SAVE, req, sizeof(s) + 9, -1);
	s = (struct vmm_ctl_save){0, 50};
	memcpy(req, &s, sizeof(s));
	memcpy(req + sizeof(s), "/tmp/x.sav", 10);
	total++,
	    ok += refused(sock, "save path length mismatch", CTL_VMM_SAVE, req, sizeof(s) + 10, -1);
	s = (struct vmm_ctl_save){0x80, 10};
	memcpy(req, &s, sizeof(s));
	total++, ok += refused(sock, "unknown save flag", CTL_VMM_SAVE, req, sizeof(s) + 10, -1);
	s = (struct vmm_ctl_save){0, 22};
	memcpy(req, &s, sizeof(s));
	memcpy(req + sizeof(s), "/nonexistent/dir/x.sav", 22);
	total++, ok += refused(sock, "unwritable save path", CTL_VMM_SAVE, req, sizeof(s) + 22, -1);

	/* Cancel with nothing running: refused with -ENOENT, connection kept. */
	total++, ok += refused(sock, "cancel without a save", CTL_VMM_CANCEL, NULL, 0, -1);
	total++, ok += refused(sock, "payload on cancel", CTL_VMM_CANCEL, "x", 1, -1);

	/* The vmm keeps serving. */
	static struct vmm_status st;
	char reply[CTL_MSG_MAX], why[256];
	struct ctl_hdr h;
	int fd = ctl_connect(sock, 5000);
	int n = fd >= 0 && ctl_send(fd, CTL_VMM_STATUS, 0, NULL, 0) == 0
		    ? ctl_recv(fd, &h, reply, sizeof(reply) - 1)
		    : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0 || (h.flags & CTL_F_ERROR) ||
	    vmm_msg_status_dec(reply, (size_t)n, &st, why, sizeof(why)) < 0 ||
	    st.rec.state != 0 /* running */) {
		fprintf(stderr, "hv_ctl_garbage: FAIL: the vmm no longer answers status\n");
		return 1;
	}
	if (ok != total) {
		fprintf(stderr, "hv_ctl_garbage: FAIL: %d of %d bad requests refused\n", ok, total);
		return 1;
	}
	printf("hv_ctl_garbage: PASS %d bad requests refused, status still served\n", total);
	return 0;
}
