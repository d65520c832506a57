/*
 * The vmm control protocol: typed messages over common/ctl.h framing on the
 * socket given with `vmm --control SOCKET`. Used by vmmctl, the tests and
 * migrated. Every request is answered with CTL_F_REPLY (and CTL_F_ERROR
 * with "<-errno> <message>" on failure); a malformed request is answered
 * with an error and the connection is closed.
 */
#ifndef VMM_CTL_H
#define VMM_CTL_H

#include <stdint.h>

#define CTL_VMM_PAUSE 0x0101u	/* empty -> empty */
#define CTL_VMM_UNPAUSE 0x0102u /* empty -> empty */
#define CTL_VMM_STATUS 0x0103u	/* empty -> JSON text (see hypervisor/vmm/README.md) */
#define CTL_VMM_SAVE 0x0104u	/* struct vmm_ctl_save + path -> empty once written */
#define CTL_VMM_DESTROY 0x0105u /* empty -> empty, then the vmm exits 0 */

/* Keep the domain paused after a save instead of destroying it (xl save -p). */
#define CTL_VMM_SAVE_F_PAUSE 0x1u
#define CTL_VMM_PATH_MAX 4096u

struct vmm_ctl_save {
	uint32_t flags;
	uint32_t path_len; /* bytes of path that follow, no NUL */
			   /* char path[path_len]: absolute path of the file to write */
};

#endif
