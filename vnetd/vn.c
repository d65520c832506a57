/*
 * vn: the vnetd command-line client. Parses the global options, finds the
 * command in the table, and lets the command build its request and print
 * the reply records through common's out.h (text or --json).
 *
 * Exit codes: 0 ok, 1 the daemon refused (its one-line error is printed),
 * 2 usage error, 3 cannot reach the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vn_cmd.h"
#include "vnetd_conf.h"

static void vn_usage(FILE *f)
{
	fprintf(f, "usage: vn [-s SOCKET] [--json] COMMAND [ARGS]\n"
		   "       vn help [COMMAND] | vn COMMAND --help\n\n"
		   "Talks to vnetd over its control socket (default: the control-socket\n"
		   "of " VNETD_CONF_DEFAULT ", else /run/tern/vnetd.sock).\n\n"
		   "commands:\n");
	for (const struct vn_cmd *c = vn_cmds; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fprintf(f, "\nexit status: 0 ok, 1 refused by vnetd, 2 usage error, "
		   "3 cannot reach vnetd\n");
}

static const struct vn_cmd *vn_cmd_find(const char *name)
{
	for (const struct vn_cmd *c = vn_cmds; c->name; c++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

void vn_cmd_help(FILE *f, const struct vn_cmd *c)
{
	fprintf(f, "usage: vn [-s SOCKET] [--json] %s %s\n\n%s\n", c->name, c->args, c->help);
}

static int vn_help(int argc, char **argv)
{
	const struct vn_cmd *c;

	if (argc < 2) {
		vn_usage(stdout);
		return VN_EXIT_OK;
	}
	c = vn_cmd_find(argv[1]);
	if (!c) {
		fprintf(stderr, "vn: help: unknown command '%s'\n", argv[1]);
		return VN_EXIT_USAGE;
	}
	vn_cmd_help(stdout, c);
	return VN_EXIT_OK;
}

/* The control socket of the default config, or its built-in default. */
static void vn_default_socket(struct vn_cli *cli)
{
	struct vnetd_conf conf;
	struct sxp_error err;

	if (vnetd_conf_load(&conf, VNETD_CONF_DEFAULT, true, &err) < 0)
		vnetd_conf_defaults(&conf);
	snprintf(cli->socket, sizeof(cli->socket), "%s", conf.control_socket);
}

static int vn_global_opts(struct vn_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"socket", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	/* '+': stop at the command, whose own options follow it. */
	while ((ch = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (strlen(optarg) >= sizeof(cli->socket)) {
				fprintf(stderr, "vn: -s: socket path too long\n");
				return -1;
			}
			strcpy(cli->socket, optarg);
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			vn_usage(stdout);
			exit(VN_EXIT_OK);
		default:
			vn_usage(stderr);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vn_cli cli = {0};
	const struct vn_cmd *c;

	vn_default_socket(&cli);
	if (vn_global_opts(&cli, argc, argv) < 0)
		return VN_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		vn_usage(stderr);
		return VN_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return vn_help(argc, argv);
	c = vn_cmd_find(argv[0]);
	if (!c) {
		fprintf(stderr, "vn: unknown command '%s' (try vn --help)\n", argv[0]);
		return VN_EXIT_USAGE;
	}
	return vn_cmd_run(&cli, c, argc, argv);
}
