/*
 * migrated's configuration (configs/migrated.sxp, DESIGN.md section 5):
 * one (key value) per line in the xend style, every key optional, unknown
 * or duplicate keys refused with file:line:col. Read by migrated at start
 * (and by `migrated -n`) and by `vm` for the default control socket.
 */
#ifndef TERN_MIG_CONF_H
#define TERN_MIG_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "mig_allow.h"
#include "sxp.h"

#define MIG_CONF_DEFAULT "/etc/tern/migrated.sxp"
#define MIG_PATH_MAX 108 /* a Unix socket path must fit in sun_path */
#define MIG_FILE_MAX 4096
#define MIG_PORT_DEFAULT 8002

struct mig_conf {
	bool relocation_server; /* off unless configured on */
	uint16_t relocation_port;
	char relocation_address[64]; /* "" = every address */
	char hosts_allow[1024];	     /* as written; compiled into allow */
	struct mig_allow allow;
	char tls_ca[MIG_FILE_MAX], tls_cert[MIG_FILE_MAX], tls_key[MIG_FILE_MAX];
	char control_socket[MIG_PATH_MAX];
	char runtime_dir[MIG_PATH_MAX - 16]; /* vmm sockets are made inside */
	char state_dir[MIG_FILE_MAX];
	char vmm_binary[MIG_FILE_MAX];
	unsigned max_migrations;    /* incoming at once */
	unsigned domain_memory_mib; /* what domains may use in all; 0: MemAvailable */
	enum log_level log_level;
};

/* The built-in defaults (as in configs/migrated.sxp). */
void mig_conf_defaults(struct mig_conf *c);
/* Applies a document's (key value) elements over *c. 0 or -EINVAL with
 * err->msg "file:line:col: reason". */
int mig_conf_apply(struct mig_conf *c, const struct sxp_node *doc, struct sxp_error *err);
/* Defaults, then `path` (a missing file is fine when missing_ok). 0 or
 * -errno with err->msg set. Free with mig_conf_fini. */
int mig_conf_load(struct mig_conf *c, const char *path, bool missing_ok, struct sxp_error *err);
void mig_conf_fini(struct mig_conf *c);

#endif
