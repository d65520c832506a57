/* vn vnet-create: sends the file's text; vnetd parses and reports errors
 * as file:line:col, since it is the daemon's parser that decides. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "vn_cli.h"
#include "vn_ctl.h"

/* Reads the whole file; it must fit one control message. */
static int vn_create_read(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, cap, f);
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	/* A file that fills the buffer is too large to send. */
	if (n == cap) {
		fclose(f);
		return -EFBIG;
	}
	fclose(f);
	*len = n;
	return 0;
}

int vn_create_run(struct vn_cli *cli, int argc, char **argv)
{
	static char text[CTL_MSG_MAX];
	static uint8_t msg[CTL_MSG_MAX];
	char abs[PATH_MAX];
	size_t len = 0;
	int rc;

	(void)argc;
	if (!realpath(argv[1], abs)) {
		fprintf(stderr, "%s: vnet-create: %s: %s\n", cli->prog, argv[1], strerror(errno));
		return VN_EXIT_USAGE;
	}
	rc = vn_create_read(abs, text, sizeof(text) - 4096, &len);
	if (rc < 0) {
		fprintf(stderr, "%s: vnet-create: %s: %s\n", cli->prog, argv[1], strerror(-rc));
		return VN_EXIT_USAGE;
	}
	rc = vn_ctl_create_encode(msg, sizeof(msg), abs, text, len);
	if (rc < 0) {
		fprintf(stderr, "%s: vnet-create: %s: %s\n", cli->prog, argv[1],
			rc == -EINVAL ? "file is empty" : strerror(-rc));
		return VN_EXIT_USAGE;
	}
	return vn_request(cli, argv[0], CTL_VN_VNET_CREATE, msg, (size_t)rc, NULL);
}
