#include "vnet_conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const sec_names[] = {"none", "auth", "conf"};

const char *vnet_conf_security_name(enum vnet_security sec)
{
	return (unsigned)sec < 3 ? sec_names[sec] : "?";
}

int vnet_conf_security_parse(const char *name, enum vnet_security *out)
{
	for (unsigned i = 0; i < 3; i++) {
		if (strcmp(name, sec_names[i]) == 0) {
			*out = (enum vnet_security)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum esp_suite_id vnet_conf_default_suite(enum vnet_security sec)
{
	switch (sec) {
	case VNET_SEC_AUTH:
		return ESP_SUITE_NULL_SHA1;
	case VNET_SEC_CONF:
		return ESP_SUITE_AES128_GCM;
	case VNET_SEC_NONE:
		break;
	}
	return ESP_SUITE_NONE;
}

/* The level a suite belongs to: encrypting suites are conf, NULL ones auth. */
static enum vnet_security suite_level(enum esp_suite_id suite)
{
	const struct esp_suite_info *si = esp_sa_suite_info(suite);

	return si && si->enc_key_len ? VNET_SEC_CONF : VNET_SEC_AUTH;
}

bool vnet_conf_ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > VNET_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
			    *p))
			return false;
	return true;
}

/* The value node of (key value), for positioning errors. */
static const struct sxp_node *value_node(const struct sxp_node *list, const char *key)
{
	return sxp_find(list, key)->kids->next;
}

static int conf_id(const struct sxp_node *v, struct vnet_conf *conf, struct sxp_error *err)
{
	const char *s;
	char why[96];
	int r = sxp_get_str(v, "id", &s, err);

	if (r < 0)
		return -EINVAL;
	if (vnet_id_parse(s, &conf->id, why, sizeof(why)) != VNET_ID_OK)
		return sxp_errorf(err, value_node(v, "id"), "'id': '%s': %s", s, why);
	return 0;
}

/* bridge or vnetif: given, or prefix + short id. */
static int conf_ifname(const struct sxp_node *v, const char *key, const char *prefix,
		       const struct vnet_id *id, char out[VNET_IFNAME_MAX + 1],
		       struct sxp_error *err)
{
	char idstr[VNET_ID_STRLEN];
	const char *s;
	int r = sxp_get_str(v, key, &s, err);

	if (r == -ENOENT) {
		if (!vnet_id_is_short(id))
			return sxp_errorf(err, v, "missing key '%s' (id %s has no short form)", key,
					  vnet_id_str(id, idstr));
		snprintf(out, VNET_IFNAME_MAX + 1, "%s%s", prefix, vnet_id_str(id, idstr));
		return 0;
	}
	if (r < 0)
		return r;
	if (strlen(s) > VNET_IFNAME_MAX)
		return sxp_errorf(err, value_node(v, key),
				  "'%s': '%s' is longer than %d characters", key, s,
				  VNET_IFNAME_MAX);
	if (!vnet_conf_ifname_valid(s))
		return sxp_errorf(err, value_node(v, key),
				  "'%s': '%s' is not a valid interface name", key, s);
	snprintf(out, VNET_IFNAME_MAX + 1, "%s", s);
	return 0;
}

static int conf_security(const struct sxp_node *v, struct vnet_conf *conf, struct sxp_error *err)
{
	const char *s;
	int r = sxp_get_str(v, "security", &s, err);

	conf->security = VNET_SEC_NONE;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (vnet_conf_security_parse(s, &conf->security) < 0)
		return sxp_errorf(err, value_node(v, "security"),
				  "'security': '%s' is not none, auth or conf", s);
	return 0;
}

static int conf_suite(const struct sxp_node *v, struct vnet_conf *conf, struct sxp_error *err)
{
	const char *s;
	int r = sxp_get_str(v, "esp-suite", &s, err);

	conf->suite = vnet_conf_default_suite(conf->security);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (conf->security == VNET_SEC_NONE)
		return sxp_errorf(err, sxp_find(v, "esp-suite"),
				  "'esp-suite' needs security auth or conf");
	if (esp_sa_suite_parse(s, &conf->suite) < 0)
		return sxp_errorf(err, value_node(v, "esp-suite"),
				  "'esp-suite': '%s' is not aes128-gcm, aes128-cbc-sha1, "
				  "null-sha1 or null-sha256",
				  s);
	if (suite_level(conf->suite) != conf->security)
		return sxp_errorf(err, value_node(v, "esp-suite"),
				  "'esp-suite': %s needs security %s", s,
				  vnet_conf_security_name(suite_level(conf->suite)));
	return 0;
}

static int conf_key_file(const struct sxp_node *v, struct vnet_conf *conf, struct sxp_error *err)
{
	const char *s;
	int r = sxp_get_str(v, "key-file", &s, err);

	conf->key_file[0] = '\0';
	if (r == -ENOENT && conf->security == VNET_SEC_NONE)
		return 0;
	if (r == -ENOENT)
		return sxp_errorf(err, v, "missing key 'key-file' (security %s needs one)",
				  vnet_conf_security_name(conf->security));
	if (r < 0)
		return r;
	if (conf->security == VNET_SEC_NONE)
		return sxp_errorf(err, sxp_find(v, "key-file"),
				  "'key-file' needs security auth or conf");
	if (s[0] != '/')
		return sxp_errorf(err, value_node(v, "key-file"),
				  "'key-file': '%s' is not an absolute path", s);
	if (strlen(s) >= VNET_CONF_PATH_MAX)
		return sxp_errorf(err, value_node(v, "key-file"),
				  "'key-file': path longer than %d bytes", VNET_CONF_PATH_MAX - 1);
	snprintf(conf->key_file, sizeof(conf->key_file), "%s", s);
	return 0;
}

static int conf_mtu(const struct sxp_node *v, struct vnet_conf *conf, struct sxp_error *err)
{
	long long mtu;
	int r = sxp_get_int(v, "mtu", VNET_MTU_MIN, VNET_MTU_MAX, &mtu, err);

	conf->mtu = VNET_MTU_DEFAULT;
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		conf->mtu = (unsigned)mtu;
	return r;
}

static int conf_mac_max(const struct sxp_node *v, struct vnet_conf *conf, struct sxp_error *err)
{
	long long n;
	int r = sxp_get_int(v, "mac-max", VNET_MAC_MAX_MIN, VNET_MAC_MAX_MAX, &n, err);

	conf->mac_max = VNET_MAC_MAX_DEFAULT;
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		conf->mac_max = (unsigned)n;
	return r;
}

int vnet_conf_from_sxp(const struct sxp_node *vnet, struct vnet_conf *conf, struct sxp_error *err)
{
	static const char *const keys[] = {"id",       "bridge", "vnetif",  "security", "esp-suite",
					   "key-file", "mtu",	 "mac-max", NULL};
	const char *key = sxp_key(vnet);
	int r;

	if (!key || strcmp(key, "vnet") != 0)
		return sxp_errorf(err, vnet, "expected (vnet ...)");
	memset(conf, 0, sizeof(*conf));
	r = sxp_check_keys(vnet, 1, keys, err);
	if (r == 0)
		r = conf_id(vnet, conf, err);
	if (r == 0)
		r = conf_ifname(vnet, "bridge", "vnet", &conf->id, conf->bridge, err);
	if (r == 0)
		r = conf_ifname(vnet, "vnetif", "vnif", &conf->id, conf->vnetif, err);
	if (r == 0 && strcmp(conf->bridge, conf->vnetif) == 0)
		r = sxp_errorf(err, vnet, "bridge and vnetif are both '%s'", conf->bridge);
	if (r == 0)
		r = conf_security(vnet, conf, err);
	if (r == 0)
		r = conf_suite(vnet, conf, err);
	if (r == 0)
		r = conf_key_file(vnet, conf, err);
	if (r == 0)
		r = conf_mtu(vnet, conf, err);
	if (r == 0)
		r = conf_mac_max(vnet, conf, err);
	return r < 0 ? -EINVAL : 0;
}

int vnet_conf_parse(const char *name, const char *text, size_t len, struct vnet_conf *conf,
		    struct sxp_error *err)
{
	struct sxp_node *doc = sxp_parse(name, text, len, err);
	int r;

	if (!doc)
		return -errno;
	if (doc->nkids != 1)
		r = sxp_errorf(err, doc, "expected one (vnet ...) expression, found %zu",
			       doc->nkids);
	else
		r = vnet_conf_from_sxp(doc->kids, conf, err);
	sxp_free(doc);
	return r;
}

size_t vnet_conf_format(const struct vnet_conf *conf, char *buf, size_t cap)
{
	char id[VNET_ID_STRLEN], path[2 * VNET_CONF_PATH_MAX + 3],
	    tail[2 * VNET_CONF_PATH_MAX + 64];

	tail[0] = '\0';
	if (conf->security != VNET_SEC_NONE) {
		sxp_atom_format(path, sizeof(path), conf->key_file);
		snprintf(tail, sizeof(tail), " (esp-suite %s) (key-file %s)",
			 esp_sa_suite_name(conf->suite), path);
	}
	return (size_t)snprintf(buf, cap,
				"(vnet (id %s) (bridge %s) (vnetif %s) (security %s)%s (mtu %u) "
				"(mac-max %u))\n",
				vnet_id_str(&conf->id, id), conf->bridge, conf->vnetif,
				vnet_conf_security_name(conf->security), tail, conf->mtu,
				conf->mac_max);
}
