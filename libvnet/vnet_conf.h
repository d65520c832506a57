/*
 * A vnet definition: the `(vnet ...)` sxp form of DESIGN.md section 6,
 *
 *     (vnet (id 97) (bridge vnet97) (vnetif vnif97) (security conf)
 *           (esp-suite aes128-gcm) (key-file /etc/tern/vnet97.key) (mtu 1400))
 *
 * parsed into struct vnet_conf and printed back (vnetd persists its vnets
 * with vnet_conf_format). Keys: id (required), bridge and vnetif (default
 * vnet<short id> and vnif<short id>; required when the id has no short
 * form), security none|auth|conf (default none), esp-suite (default
 * aes128-gcm for conf, null-sha1 for auth; refused for none or when it does
 * not match the level), key-file (required iff security is not none), mtu
 * (576..9000, default 1400), mac-max (16..65536, default 4096: how many MACs,
 * local and remote, the vnet's MAC table holds on one host; see
 * mac_table.h for what happens at the limit). Unknown and repeated keys are
 * refused.
 */
#ifndef TERN_VNET_CONF_H
#define TERN_VNET_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "esp_sa.h"
#include "sxp.h"
#include "vnet_id.h"

#define VNET_IFNAME_MAX 14 /* bridge and vnetif names, DESIGN.md */
#define VNET_CONF_PATH_MAX 256
#define VNET_MTU_DEFAULT 1400
#define VNET_MTU_MIN 576
#define VNET_MTU_MAX 9000
#define VNET_MAC_MAX_DEFAULT 4096
#define VNET_MAC_MAX_MIN 16
#define VNET_MAC_MAX_MAX 65536

enum vnet_security { VNET_SEC_NONE, VNET_SEC_AUTH, VNET_SEC_CONF };

struct vnet_conf {
	struct vnet_id id;
	char bridge[VNET_IFNAME_MAX + 1];
	char vnetif[VNET_IFNAME_MAX + 1];
	enum vnet_security security;
	enum esp_suite_id suite;	   /* ESP_SUITE_NONE iff security none */
	char key_file[VNET_CONF_PATH_MAX]; /* "" iff security none */
	unsigned mtu;
	unsigned mac_max; /* MAC table quota on one host */
};

/* Fills *conf from a `(vnet ...)` list. Returns 0 or -EINVAL with err
 * positioned at the offending element ("f:3:9: bridge: 'vnet-name-too-long'
 * is longer than 14 characters"). *conf is unspecified on error. */
int vnet_conf_from_sxp(const struct sxp_node *vnet, struct vnet_conf *conf, struct sxp_error *err);

/* Parses a text holding exactly one `(vnet ...)` expression (the file given
 * to `vn vnet-create`). `name` is used in messages. Errors as sxp_parse and
 * vnet_conf_from_sxp, with errno-style return (-EINVAL, -E2BIG, -ENOMEM). */
int vnet_conf_parse(const char *name, const char *text, size_t len, struct vnet_conf *conf,
		    struct sxp_error *err);

/* Prints *conf as one `(vnet ...)` line with every key explicit, followed by
 * a newline, such that vnet_conf_parse reads back the same conf. Returns the
 * length needed (excluding NUL), like snprintf; truncated output if >= cap. */
size_t vnet_conf_format(const struct vnet_conf *conf, char *buf, size_t cap);

/* True if `name` is a usable interface name: 1..VNET_IFNAME_MAX characters
 * from [A-Za-z0-9_.-], not "." or "..". */
bool vnet_conf_ifname_valid(const char *name);

/* "none", "auth", "conf". */
const char *vnet_conf_security_name(enum vnet_security sec);
/* Returns 0 or -EINVAL. */
int vnet_conf_security_parse(const char *name, enum vnet_security *out);
/* The suite a level uses when (esp-suite ...) is absent. */
enum esp_suite_id vnet_conf_default_suite(enum vnet_security sec);

#endif
