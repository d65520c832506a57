/*
 * vn's command table and the request/reply helper the commands share.
 */
#ifndef TERN_VN_CMD_H
#define TERN_VN_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "out.h"

enum { VN_EXIT_OK = 0, VN_EXIT_REFUSED = 1, VN_EXIT_USAGE = 2, VN_EXIT_UNREACHABLE = 3 };

#define VN_OPT_KEYS 0x1u /* the command takes --keys */

struct vn_cli {
	char socket[256];
	bool json;
	bool keys;
	struct out out;
};

struct vn_cmd {
	const char *name;
	const char *args;    /* usage after the name */
	const char *summary; /* one line for `vn --help` */
	const char *help;    /* paragraph for `vn help CMD` */
	int min_args, max_args;
	unsigned opts;
	/* argv[0] is the command name; returns a VN_EXIT_* code. */
	int (*run)(struct vn_cli *cli, int argc, char **argv);
};

extern const struct vn_cmd vn_cmds[]; /* ends with a NULL name */

void vn_cmd_help(FILE *f, const struct vn_cmd *c);
/* Parses the command's options, checks its argument count, runs it. */
int vn_cmd_run(struct vn_cli *cli, const struct vn_cmd *c, int argc, char **argv);

/* Called for each reply message's payload; returns 0 or -EPROTO for a
 * payload that does not decode. */
typedef int (*vn_reply_cb)(struct vn_cli *cli, const uint8_t *p, size_t len);

/* Sends one request and feeds every reply message to cb (may be NULL for
 * requests answered with an empty reply). Returns a VN_EXIT_* code, having
 * printed the reason for any failure. */
int vn_request(struct vn_cli *cli, const char *what, uint16_t type, const void *req, size_t req_len,
	       vn_reply_cb cb);

/* vn key-gen (vn_keygen.c). */
int vn_keygen_run(struct vn_cli *cli, int argc, char **argv);
/* vn vnet-create (vn_create.c). */
int vn_create_run(struct vn_cli *cli, int argc, char **argv);

#endif
