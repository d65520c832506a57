/*
 * vncli: the client side of vnetd's control socket that more than one CLI
 * needs. `vn` has every command; `vm` (migrated/) has the vnet commands
 * too, as Xen's `xm vnet-*` had. Both run them from the one table
 * vn_vnet_cmds, so the request, output, messages and exit codes are the
 * same; only the program name in messages and usage lines differs.
 */
#ifndef TERN_VN_CLI_H
#define TERN_VN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "out.h"

enum { VN_EXIT_OK = 0, VN_EXIT_REFUSED = 1, VN_EXIT_USAGE = 2, VN_EXIT_UNREACHABLE = 3 };

#define VN_OPT_KEYS 0x1u /* the command takes --keys */
#define VN_OPT_LONG 0x2u /* the command takes -l/--long (xm's vnet-list -l) */

struct vn_cli {
	const char *prog;  /* "vn" or "vm": the prefix of every message */
	const char *usage; /* what a usage line shows before the command */
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

/* vnet-create, vnet-delete, vnet-list; ends with a NULL name. */
extern const struct vn_cmd vn_vnet_cmds[];

/* The entry of `name` in a NULL-name-ended table, or NULL. */
const struct vn_cmd *vn_cmd_find(const struct vn_cmd *table, const char *name);
void vn_cmd_help(const struct vn_cli *cli, FILE *f, const struct vn_cmd *c);
/* Parses the command's options, checks its argument count, runs it. */
int vn_cmd_run(struct vn_cli *cli, const struct vn_cmd *c, int argc, char **argv);

/*
 * Sets cli->socket: `sock` if given; else the control-socket of the config
 * at `conf` (which must exist and parse); else, with both NULL, that of
 * VNETD_CONF_DEFAULT, whose absence or errors leave the built-in default
 * (vnetd, starting from the same file, would report them). Returns 0, or
 * -errno after printing one line naming the path.
 */
int vn_cli_socket(struct vn_cli *cli, const char *sock, const char *conf);

/* Called for each reply message's payload; returns 0 or -EPROTO for a
 * payload that does not decode. */
typedef int (*vn_reply_cb)(struct vn_cli *cli, const uint8_t *p, size_t len);

/* Sends one request and feeds every reply message to cb (may be NULL for
 * requests answered with an empty reply). Returns a VN_EXIT_* code, having
 * printed the reason for any failure. */
int vn_request(struct vn_cli *cli, const char *what, uint16_t type, const void *req, size_t req_len,
	       vn_reply_cb cb);
/* A list request through cli->out whose output is shown only if the whole
 * reply arrived. */
int vn_list(struct vn_cli *cli, const char *what, uint16_t type, const void *req, size_t req_len,
	    vn_reply_cb cb);
/* Parses a vnet id argument of command `cmd`; -EINVAL after printing why. */
int vn_id_arg(const struct vn_cli *cli, const char *cmd, const char *s, uint8_t id[16]);
/* Request `type` of command argv[0] whose payload is the vnet id argv[1]
 * (vnet-delete, sa-rekey, varp-flush ID): a VN_EXIT_* code. */
int vn_id_request(struct vn_cli *cli, char **argv, uint16_t type);

/* vnet-create FILE (vn_create.c): the table's run function. */
int vn_create_run(struct vn_cli *cli, int argc, char **argv);
/* The reply records of vnet-list into cli->out (0 or -EPROTO). */
int vn_vnet_rec(struct vn_cli *cli, const uint8_t *p, size_t len);

#endif
