#include "vnetd_conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vnet_addr.h"

static const char *const vnetd_conf_keys[] = {
    "multicast-address",
    "port",
    "underlay-interface",
    "underlay-address",
    "control-socket",
    "runtime-dir",
    "state-dir",
    "varp-ttl",
    "log-level",
    "control-idle-timeout",
    NULL,
};

void vnetd_conf_defaults(struct vnetd_conf *c)
{
	memset(c, 0, sizeof(*c));
	vnet_addr_parse("224.10.0.1", &c->group);
	c->port = 1798;
	strcpy(c->underlay_if, "eth0");
	strcpy(c->control_socket, "/run/tern/vnetd.sock");
	strcpy(c->runtime_dir, "/run/tern");
	strcpy(c->state_dir, "/var/lib/tern");
	c->varp_ttl = 120;
	c->control_idle_s = 30;
	c->log_level = LOG_LVL_INFO;
}

/* An IPv4 address (the underlay is IPv4), stored IPv4-mapped. */
static int vnetd_conf_v4(const struct sxp_node *doc, const char *key, bool multicast,
			 struct vnet_addr *out, bool *found, struct sxp_error *err)
{
	const char *s;
	struct vnet_addr a;
	int rc = sxp_get_str(doc, key, &s, err);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (vnet_addr_parse(s, &a) < 0 || !vnet_addr_is_v4(&a))
		return sxp_errorf(err, sxp_find(doc, key), "%s: '%s' is not an IPv4 address", key,
				  s);
	if (multicast && (a.b[12] < 224 || a.b[12] > 239))
		return sxp_errorf(err, sxp_find(doc, key), "%s: '%s' is not a multicast address",
				  key, s);
	*out = a;
	if (found)
		*found = true;
	return 0;
}

static int vnetd_conf_ifname(const struct sxp_node *doc, struct vnetd_conf *c,
			     struct sxp_error *err)
{
	const char *s;
	int rc = sxp_get_str(doc, "underlay-interface", &s, err);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (s[0] == '\0' || strlen(s) >= sizeof(c->underlay_if) || strchr(s, '/'))
		return sxp_errorf(err, sxp_find(doc, "underlay-interface"),
				  "underlay-interface: '%s' is not an interface name", s);
	strcpy(c->underlay_if, s);
	return 0;
}

static int vnetd_conf_numbers(const struct sxp_node *doc, struct vnetd_conf *c,
			      struct sxp_error *err)
{
	long long v;
	int rc = sxp_get_int(doc, "port", 1, 65535, &v, err);

	if (rc == 0)
		c->port = (uint16_t)v;
	else if (rc != -ENOENT)
		return rc;
	/* Re-announcing every ttl/3 needs at least 3 s; a day is plenty. */
	rc = sxp_get_int(doc, "varp-ttl", 3, 86400, &v, err);
	if (rc == 0)
		c->varp_ttl = (unsigned)v;
	else if (rc != -ENOENT)
		return rc;
	rc = sxp_get_int(doc, "control-idle-timeout", 1, 86400, &v, err);
	if (rc == 0)
		c->control_idle_s = (unsigned)v;
	else if (rc != -ENOENT)
		return rc;
	return 0;
}

int vnetd_conf_apply(struct vnetd_conf *c, const struct sxp_node *doc, struct sxp_error *err)
{
	int rc = sxp_check_keys(doc, 0, vnetd_conf_keys, err);

	if (rc == 0)
		rc = vnetd_conf_v4(doc, "multicast-address", true, &c->group, NULL, err);
	if (rc == 0)
		rc = vnetd_conf_v4(doc, "underlay-address", false, &c->underlay_addr,
				   &c->has_underlay_addr, err);
	if (rc == 0)
		rc = vnetd_conf_ifname(doc, c, err);
	if (rc == 0)
		rc = vnetd_conf_numbers(doc, c, err);
	if (rc == 0)
		rc = sxp_get_path_opt(doc, "control-socket", c->control_socket,
				      sizeof(c->control_socket), err);
	if (rc == 0)
		rc = sxp_get_path_opt(doc, "runtime-dir", c->runtime_dir, sizeof(c->runtime_dir),
				      err);
	if (rc == 0)
		rc = sxp_get_path_opt(doc, "state-dir", c->state_dir, sizeof(c->state_dir), err);
	if (rc == 0 && (rc = sxp_get_log_level(doc, "log-level", &c->log_level, err)) == -ENOENT)
		rc = 0;
	return rc;
}

int vnetd_conf_load(struct vnetd_conf *c, const char *path, bool missing_ok, struct sxp_error *err)
{
	struct sxp_node *doc;
	int rc;

	vnetd_conf_defaults(c);
	doc = sxp_parse_file(path, err);
	if (!doc) {
		rc = -errno;
		if (rc == -ENOENT && missing_ok)
			return 0;
		return rc;
	}
	rc = vnetd_conf_apply(c, doc, err);
	sxp_free(doc);
	return rc;
}
