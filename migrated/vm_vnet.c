/*
 * vm vnet-create/vnet-delete/vnet-list: Xen's `xm vnet-*`. They talk to
 * vnetd's control socket directly, not through migrated, and run vncli's
 * own commands (vnetd/vn_cli.h), so output, messages and exit codes are
 * those of `vn vnet-*` with "vm:" in front.
 */
#include "vm.h"
#include "vn_cli.h"

bool vm_is_vnet_cmd(const char *name)
{
	return vn_cmd_find(vn_vnet_cmds, name) != NULL;
}

int vm_cmd_vnet(const char *sock, const char *conf, int argc, char **argv)
{
	static struct vn_cli cli = {
	    .prog = "vm",
	    .usage = "vm [--vnetd-socket PATH | --vnetd-config FILE]",
	};
	const struct vn_cmd *c = vn_cmd_find(vn_vnet_cmds, argv[0]);

	if (vn_cli_socket(&cli, sock, conf) < 0)
		return VN_EXIT_USAGE;
	return vn_cmd_run(&cli, c, argc, argv);
}
