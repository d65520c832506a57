/* vncli: a command's options and help, and which socket to talk to. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vn_cli.h"
#include "vnetd_conf.h"

const struct vn_cmd *vn_cmd_find(const struct vn_cmd *table, const char *name)
{
	for (const struct vn_cmd *c = table; c->name; c++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

void vn_cmd_help(const struct vn_cli *cli, FILE *f, const struct vn_cmd *c)
{
	fprintf(f, "usage: %s %s %s\n\n%s\n", cli->usage, c->name, c->args, c->help);
}

/* Applies one option of the command; false for one it does not take. */
static bool vn_cmd_opt(struct vn_cli *cli, const struct vn_cmd *c, int ch)
{
	if (ch == 'j')
		cli->json = true;
	else if (ch == 'k' && (c->opts & VN_OPT_KEYS))
		cli->keys = true;
	else if (ch != 'l' || !(c->opts & VN_OPT_LONG))
		return false;
	return true;
}

int vn_cmd_run(struct vn_cli *cli, const struct vn_cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"keys", no_argument, NULL, 'k'},
	    {"long", no_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1; /* argv[0] is the command name */
	while ((ch = getopt_long(argc, argv, "+jhkl", opts, NULL)) != -1) {
		if (ch == 'h') {
			vn_cmd_help(cli, stdout, c);
			return VN_EXIT_OK;
		}
		if (!vn_cmd_opt(cli, c, ch)) {
			fprintf(stderr, "%s: %s: unknown option\n", cli->prog, c->name);
			vn_cmd_help(cli, stderr, c);
			return VN_EXIT_USAGE;
		}
	}
	/* Keep the command name in front of its operands. */
	argv[optind - 1] = argv[0];
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < c->min_args || argc > c->max_args) {
		fprintf(stderr, "%s: %s: wrong number of arguments\n", cli->prog, c->name);
		vn_cmd_help(cli, stderr, c);
		return VN_EXIT_USAGE;
	}
	return c->run(cli, argc, argv);
}

static int vn_cli_set(struct vn_cli *cli, const char *sock)
{
	if (strlen(sock) >= sizeof(cli->socket)) {
		fprintf(stderr, "%s: %s: socket path too long (at most %zu bytes)\n", cli->prog,
			sock, sizeof(cli->socket) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(cli->socket, sock);
	return 0;
}

int vn_cli_socket(struct vn_cli *cli, const char *sock, const char *conf)
{
	struct vnetd_conf c;
	struct sxp_error err = {0};
	int rc;

	if (sock)
		return vn_cli_set(cli, sock);
	rc = vnetd_conf_load(&c, conf ? conf : VNETD_CONF_DEFAULT, !conf, &err);
	if (rc < 0 && conf) {
		fprintf(stderr, "%s: %s\n", cli->prog, err.msg);
		return rc;
	}
	if (rc < 0)
		vnetd_conf_defaults(&c);
	return vn_cli_set(cli, c.control_socket);
}
