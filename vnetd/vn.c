/*
 * vn: the vnetd command-line client. Parses the global options, finds the
 * command in the tables (the vnet commands are vncli's, shared with vm),
 * and lets the command build its request and print the reply records
 * through common's out.h (text or --json).
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

/* vncli's vnet commands first, then vn's own. */
static const struct vn_cmd *const vn_tables[] = {vn_vnet_cmds, vn_cmds};

static void vn_usage(FILE *f)
{
	fprintf(f, "usage: vn [-s SOCKET] [--json] COMMAND [ARGS]\n"
		   "       vn help [COMMAND] | vn COMMAND --help\n\n"
		   "Talks to vnetd over its control socket (default: the control-socket\n"
		   "of " VNETD_CONF_DEFAULT ", else /run/tern/vnetd.sock).\n\n"
		   "commands:\n");
	for (size_t t = 0; t < sizeof(vn_tables) / sizeof(vn_tables[0]); t++) {
		for (const struct vn_cmd *c = vn_tables[t]; c->name; c++)
			fprintf(f, "  %-12s %s\n", c->name, c->summary);
	}
	fprintf(f, "\nexit status: 0 ok, 1 refused by vnetd, 2 usage error, "
		   "3 cannot reach vnetd\n");
}

static const struct vn_cmd *vn_find(const char *name)
{
	const struct vn_cmd *c = vn_cmd_find(vn_vnet_cmds, name);

	return c ? c : vn_cmd_find(vn_cmds, name);
}

static int vn_help(const struct vn_cli *cli, int argc, char **argv)
{
	const struct vn_cmd *c;

	if (argc < 2) {
		vn_usage(stdout);
		return VN_EXIT_OK;
	}
	c = vn_find(argv[1]);
	if (!c) {
		fprintf(stderr, "vn: help: unknown command '%s'\n", argv[1]);
		return VN_EXIT_USAGE;
	}
	vn_cmd_help(cli, stdout, c);
	return VN_EXIT_OK;
}

/* Sets *sock to the -s argument, if any. */
static int vn_global_opts(struct vn_cli *cli, const char **sock, int argc, char **argv)
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
			*sock = optarg;
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
	struct vn_cli cli = {.prog = "vn", .usage = "vn [-s SOCKET] [--json]"};
	const char *sock = NULL;
	const struct vn_cmd *c;

	if (vn_global_opts(&cli, &sock, argc, argv) < 0 || vn_cli_socket(&cli, sock, NULL) < 0)
		return VN_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		vn_usage(stderr);
		return VN_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return vn_help(&cli, argc, argv);
	c = vn_find(argv[0]);
	if (!c) {
		fprintf(stderr, "vn: unknown command '%s' (try vn --help)\n", argv[0]);
		return VN_EXIT_USAGE;
	}
	return vn_cmd_run(&cli, c, argc, argv);
}
