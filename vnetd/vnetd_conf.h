/*
 * vnetd's own configuration (configs/vnetd.sxp): one (key value) per line,
 * every key optional, unknown or duplicate keys refused with file:line:col.
 * Read by vnetd at start and by `vn` for the default control socket.
 */
#ifndef TERN_VNETD_CONF_H
#define TERN_VNETD_CONF_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "sxp.h"
#include "vnet_addr.h"

#define VNETD_CONF_DEFAULT "/etc/tern/vnetd.sxp"
#define VNETD_PATH_MAX 256 /* a Unix socket path must fit in sun_path */

struct vnetd_conf {
	struct vnet_addr group; /* IPv4-mapped multicast group */
	uint16_t port;
	char underlay_if[IF_NAMESIZE];
	struct vnet_addr underlay_addr; /* valid if has_underlay_addr */
	bool has_underlay_addr;
	char control_socket[VNETD_PATH_MAX];
	char runtime_dir[VNETD_PATH_MAX];
	char state_dir[VNETD_PATH_MAX];
	unsigned varp_ttl;	 /* seconds */
	unsigned control_idle_s; /* a control client without a request is closed */
	enum log_level log_level;
};

/* Fills the built-in defaults (the values shown in configs/vnetd.sxp). */
void vnetd_conf_defaults(struct vnetd_conf *c);
/* Applies the (key value) elements of an sxp document over *c. Returns 0 or
 * -EINVAL with err->msg "file:line:col: reason"; *c may be half-updated. */
int vnetd_conf_apply(struct vnetd_conf *c, const struct sxp_node *doc, struct sxp_error *err);
/* Defaults, then the file at `path`. A missing file is an error unless
 * missing_ok (the default path may be absent). Returns 0 or -errno with
 * err->msg set. */
int vnetd_conf_load(struct vnetd_conf *c, const char *path, bool missing_ok, struct sxp_error *err);

#endif
