/* One request to vnetd and its possibly multi-message reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "vn_cmd.h"

/* Long enough for a peer-add whose DNS lookup times out (c-ares tries a
 * few servers), short enough that a hung daemon does not hang scripts. */
#define VN_TIMEOUT_MS 30000

static int vn_reply_loop(struct vn_cli *cli, int fd, const char *what, uint16_t type, uint8_t *buf,
			 vn_reply_cb cb)
{
	struct ctl_hdr hdr;

	for (;;) {
		int n = ctl_recv(fd, &hdr, buf, CTL_MSG_MAX);
		if (n < 0) {
			fprintf(stderr, "vn: %s: %s: reply: %s\n", what, cli->socket, strerror(-n));
			return VN_EXIT_UNREACHABLE;
		}
		if (hdr.type != type || !(hdr.flags & CTL_F_REPLY)) {
			fprintf(stderr, "vn: %s: %s: unexpected reply type %#x\n", what,
				cli->socket, hdr.type);
			return VN_EXIT_UNREACHABLE;
		}
		if (hdr.flags & CTL_F_ERROR) {
			char msg[1024];
			int err;
			ctl_parse_error(buf, (size_t)n, &err, msg, sizeof(msg));
			fprintf(stderr, "vn: %s\n", msg);
			return VN_EXIT_REFUSED;
		}
		if (cb && cb(cli, buf, (size_t)n) < 0) {
			fprintf(stderr, "vn: %s: malformed reply from vnetd\n", what);
			return VN_EXIT_UNREACHABLE;
		}
		if (!(hdr.flags & CTL_F_MORE))
			return VN_EXIT_OK;
	}
}

int vn_request(struct vn_cli *cli, const char *what, uint16_t type, const void *req, size_t req_len,
	       vn_reply_cb cb)
{
	uint8_t *buf;
	int fd, rc;

	fd = ctl_connect(cli->socket, VN_TIMEOUT_MS);
	if (fd < 0) {
		fprintf(stderr, "vn: %s: connect: %s (is vnetd running?)\n", cli->socket,
			strerror(-fd));
		return VN_EXIT_UNREACHABLE;
	}
	rc = ctl_send(fd, type, 0, req, (uint32_t)req_len);
	if (rc < 0) {
		fprintf(stderr, "vn: %s: %s: send: %s\n", what, cli->socket, strerror(-rc));
		close(fd);
		return VN_EXIT_UNREACHABLE;
	}
	buf = malloc(CTL_MSG_MAX);
	if (!buf) {
		fprintf(stderr, "vn: %s: %s\n", what, strerror(ENOMEM));
		close(fd);
		return VN_EXIT_UNREACHABLE;
	}
	rc = vn_reply_loop(cli, fd, what, type, buf, cb);
	free(buf);
	close(fd);
	return rc;
}
