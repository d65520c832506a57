/* vm: the CLI of migrated. Shared between its command files. */
#ifndef TERN_VM_H
#define TERN_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"

/* Exit codes (migrated/README.md). */
#define VM_EXIT_OK 0
#define VM_EXIT_FAILED 1    /* migrated or the vmm refused or failed the request */
#define VM_EXIT_USAGE 2	    /* bad usage, config file, or migrated unreachable */
#define VM_EXIT_AMBIGUOUS 3 /* migration outcome unknown: see the message */

struct vm_ctx {
	const char *sock;
	int fd;
	_Alignas(8) uint8_t buf[CTL_MSG_MAX];
};

/* Connects (timeout_ms per receive, 0 none); prints and returns -errno. */
int vm_connect(struct vm_ctx *v, int timeout_ms);
/* One request, one reply (an error reply is printed): the reply's length,
 * or -errno. */
int vm_call(struct vm_ctx *v, uint16_t type, const void *p, size_t len, struct ctl_hdr *h);
/* Prints an error reply as "vm: MESSAGE"; returns VM_EXIT_FAILED. */
int vm_print_error(const void *p, size_t len);

int vm_cmd_migrate(struct vm_ctx *v, int argc, char **argv);
int vm_cmd_console(struct vm_ctx *v, int argc, char **argv);
int vm_cmd_cert(int argc, char **argv);
/* vnet-create, vnet-delete, vnet-list (vm_vnet.c): vnetd at `sock`, else
 * at the control-socket of `conf`, else of vnetd's default config. Exit
 * codes are vn's: 0 ok, 1 refused, 2 usage, 3 vnetd unreachable. */
bool vm_is_vnet_cmd(const char *name);
int vm_cmd_vnet(const char *sock, const char *conf, int argc, char **argv);

#endif
