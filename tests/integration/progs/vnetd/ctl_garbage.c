/*
 * Sends malformed control messages to a running vnetd and checks that each
 * is refused with an error reply and a disconnect, that a request that
 * decodes but fails keeps the connection, and that the daemon still answers
 * afterwards. Usage: vnetd_ctl_garbage SOCKET. Exit 0 = all as
 * expected; each failure prints one line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "vn_ctl.h"

static int failures;

static void fail(const char *what, const char *why)
{
	printf("FAIL: %s: %s\n", what, why);
	failures++;
}

/* Expects an error reply of `type`, then EOF. */
static void expect_refused(int fd, const char *what, uint16_t type)
{
	static uint8_t buf[CTL_MSG_MAX];
	struct ctl_hdr h;
	int n = ctl_recv(fd, &h, buf, sizeof(buf));

	if (n < 0)
		return fail(what, "no error reply");
	if (h.type != type || !(h.flags & CTL_F_ERROR))
		return fail(what, "reply is not an error");
	if (ctl_recv(fd, &h, buf, sizeof(buf)) != -ECONNRESET)
		fail(what, "connection not closed after refusal");
}

static int conn(const char *path)
{
	int fd = ctl_connect(path, 3000);

	if (fd < 0) {
		printf("FAIL: connect %s: %s\n", path, strerror(-fd));
		failures++;
	}
	return fd;
}

static void send_raw(const char *path, const char *what, const struct ctl_hdr *h,
		     const void *payload, size_t len, uint16_t reply_type)
{
	int fd = conn(path);

	if (fd < 0)
		return;
	if (write(fd, h, sizeof(*h)) != (ssize_t)sizeof(*h) ||
	    (len && write(fd, payload, len) != (ssize_t)len))
		fail(what, "write");
	else
		expect_refused(fd, what, reply_type);
	close(fd);
}

/* A request that decodes but is refused: error reply, connection kept. */
static void bad_vnet_file(const char *path)
{
	static uint8_t buf[CTL_MSG_MAX];
	struct ctl_hdr h;
	int fd = conn(path), n;

	if (fd < 0)
		return;
	n = vn_ctl_create_encode(buf, sizeof(buf), "/x.sxp", "(vnet (id 97)", 13);
	ctl_send(fd, CTL_VN_VNET_CREATE, 0, buf, (uint32_t)n);
	n = ctl_recv(fd, &h, buf, sizeof(buf) - 1);
	if (n >= 0)
		buf[n] = '\0';
	if (n < 0 || !(h.flags & CTL_F_ERROR))
		fail("unbalanced vnet file", "no error reply");
	else if (!strstr((char *)buf, "/x.sxp:1:"))
		fail("unbalanced vnet file", (char *)buf);
	ctl_send(fd, CTL_VN_VNET_LIST, 0, NULL, 0);
	if (ctl_recv(fd, &h, buf, sizeof(buf)) < 0 || (h.flags & CTL_F_ERROR))
		fail("list after a refused create", "no reply on the same connection");
	close(fd);
}

int main(int argc, char **argv)
{
	static uint8_t zeros[64];
	struct ctl_hdr h;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	h = (struct ctl_hdr){0x7777, 0, 0};
	send_raw(argv[1], "unknown type", &h, NULL, 0, 0x7777);
	h = (struct ctl_hdr){CTL_VN_VNET_DELETE, 0, 15};
	send_raw(argv[1], "short vnet id", &h, zeros, 15, CTL_VN_VNET_DELETE);
	h = (struct ctl_hdr){CTL_VN_VNET_LIST, 0x8, 0};
	send_raw(argv[1], "unknown flags", &h, NULL, 0, CTL_VN_VNET_LIST);
	h = (struct ctl_hdr){CTL_VN_STATS, 0, 4};
	send_raw(argv[1], "payload on stats", &h, zeros, 4, CTL_VN_STATS);
	h = (struct ctl_hdr){CTL_VN_PEER_ADD, 0, 3};
	send_raw(argv[1], "NUL in host", &h, "a\0b", 3, CTL_VN_PEER_ADD);
	h = (struct ctl_hdr){CTL_VN_VNET_LIST, 0, CTL_MSG_MAX + 1};
	send_raw(argv[1], "oversized", &h, NULL, 0, CTL_VN_VNET_LIST);
	/* Half a header, then gone. */
	fd = conn(argv[1]);
	if (fd >= 0) {
		if (write(fd, &h, 3) != 3)
			fail("half header", "write");
		close(fd);
	}
	bad_vnet_file(argv[1]);
	if (failures == 0)
		printf("ok: every malformed request refused\n");
	return failures ? 1 : 0;
}
