/* The vnet commands of vn and vm (vncli): delete, list and the table that
 * both CLIs run them from; vnet-create is vn_create.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vn_cli.h"
#include "vn_ctl.h"
#include "vnet_id.h"

int vn_vnet_rec(struct vn_cli *cli, const uint8_t *p, size_t len)
{
	size_t n = vn_ctl_count(len, sizeof(struct vn_ctl_vnet));
	struct vn_ctl_vnet v;
	struct vnet_id vid;
	char id[VNET_ID_STRLEN];

	for (size_t i = 0; i < n; i++) {
		if (vn_ctl_vnet_decode(p, len, i, &v) < 0)
			return -EPROTO;
		memcpy(vid.b, v.id, sizeof(vid.b));
		out_obj_begin(&cli->out);
		out_str(&cli->out, "id", "vnet", vnet_id_str(&vid, id));
		out_str(&cli->out, "bridge", "bridge", v.bridge);
		out_str(&cli->out, "vnetif", "vnetif", v.vnetif);
		out_str(&cli->out, "security", "security", vn_ctl_security_name(v.security));
		out_str(&cli->out, "suite", "suite", v.suite);
		out_u64(&cli->out, "mtu", "mtu", v.mtu);
		out_obj_end(&cli->out);
	}
	return len == n * sizeof(v) ? 0 : -EPROTO;
}

int vn_id_arg(const struct vn_cli *cli, const char *cmd, const char *s, uint8_t id[16])
{
	struct vnet_id vid;
	char why[128];

	if (vnet_id_parse(s, &vid, why, sizeof(why)) != VNET_ID_OK) {
		fprintf(stderr, "%s: %s: vnet id '%s': %s\n", cli->prog, cmd, s, why);
		return -EINVAL;
	}
	memcpy(id, vid.b, 16);
	return 0;
}

int vn_id_request(struct vn_cli *cli, char **argv, uint16_t type)
{
	uint8_t id[16];

	if (vn_id_arg(cli, argv[0], argv[1], id) < 0)
		return VN_EXIT_USAGE;
	return vn_request(cli, argv[0], type, id, sizeof(id), NULL);
}

static int vn_vnet_delete(struct vn_cli *cli, int argc, char **argv)
{
	(void)argc;
	return vn_id_request(cli, argv, CTL_VN_VNET_DELETE);
}

static int vn_vnet_list(struct vn_cli *cli, int argc, char **argv)
{
	(void)argc;
	return vn_list(cli, argv[0], CTL_VN_VNET_LIST, NULL, 0, vn_vnet_rec);
}

const struct vn_cmd vn_vnet_cmds[] = {
    {"vnet-create", "FILE", "create the vnets defined in FILE",
     "Sends every (vnet ...) definition of FILE to vnetd, which creates the\n"
     "bridge and TAP of each and persists it. Either all are created or none.",
     2, 2, 0, vn_create_run},
    {"vnet-delete", "ID", "delete a vnet",
     "Removes the vnet's TAP and (if vnetd created it) its bridge, and forgets it.", 2, 2, 0,
     vn_vnet_delete},
    {"vnet-list", "[-l] [--json]", "list vnets",
     "One line (or JSON object) per vnet. -l (--long), xm's option, is\n"
     "accepted: every field is always shown.",
     1, 1, VN_OPT_LONG, vn_vnet_list},
    {NULL, NULL, NULL, NULL, 0, 0, 0, NULL},
};
