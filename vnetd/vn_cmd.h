/*
 * vn's own commands: those beyond the vnet commands it shares with vm
 * (vn_cli.h, the vncli library).
 */
#ifndef TERN_VN_CMD_H
#define TERN_VN_CMD_H

#include "vn_cli.h"

/* peer-*, varp-*, stats, key-gen, sa-*; ends with a NULL name. */
extern const struct vn_cmd vn_cmds[];

/* vn key-gen (vn_keygen.c). */
int vn_keygen_run(struct vn_cli *cli, int argc, char **argv);

#endif
