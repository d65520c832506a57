/* One request to vnetd and its possibly multi-message reply (vncli). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "vn_cli.h"

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
			fprintf(stderr, "%s: %s: %s: reply: %s\n", cli->prog, what, cli->socket,
				strerror(-n));
			return VN_EXIT_UNREACHABLE;
		}
		if (hdr.type != type || !(hdr.flags & CTL_F_REPLY)) {
			fprintf(stderr, "%s: %s: %s: unexpected reply type %#x\n", cli->prog, what,
				cli->socket, hdr.type);
			return VN_EXIT_UNREACHABLE;
		}
		if (hdr.flags & CTL_F_ERROR) {
			char msg[1024];
			int err;
			ctl_parse_error(buf, (size_t)n, &err, msg, sizeof(msg));
			fprintf(stderr, "%s: %s\n", cli->prog, msg);
			return VN_EXIT_REFUSED;
		}
		if (cb && cb(cli, buf, (size_t)n) < 0) {
			fprintf(stderr, "%s: %s: malformed reply from vnetd\n", cli->prog, what);
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
		fprintf(stderr, "%s: %s: connect: %s (is vnetd running?)\n", cli->prog, cli->socket,
			strerror(-fd));
		return VN_EXIT_UNREACHABLE;
	}
	rc = ctl_send(fd, type, 0, req, (uint32_t)req_len);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s: send: %s\n", cli->prog, what, cli->socket,
			strerror(-rc));
		close(fd);
		return VN_EXIT_UNREACHABLE;
	}
	buf = malloc(CTL_MSG_MAX);
	if (!buf) {
		fprintf(stderr, "%s: %s: %s\n", cli->prog, what, strerror(ENOMEM));
		close(fd);
		return VN_EXIT_UNREACHABLE;
	}
	rc = vn_reply_loop(cli, fd, what, type, buf, cb);
	free(buf);
	close(fd);
	return rc;
}

int vn_list(struct vn_cli *cli, const char *what, uint16_t type, const void *req, size_t req_len,
	    vn_reply_cb cb)
{
	char *text = NULL;
	size_t text_len = 0;
	FILE *mem = open_memstream(&text, &text_len);
	int rc;

	if (!mem) {
		fprintf(stderr, "%s: %s: %s\n", cli->prog, what, strerror(errno));
		return VN_EXIT_UNREACHABLE;
	}
	out_init(&cli->out, mem, cli->json);
	out_begin(&cli->out);
	rc = vn_request(cli, what, type, req, req_len, cb);
	out_end(&cli->out);
	fclose(mem);
	if (rc == VN_EXIT_OK)
		fwrite(text, 1, text_len, stdout);
	free(text);
	return rc;
}
