/* migrated.sxp (mig_conf.h). */
#include "mig_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const mig_conf_keys[] = {
    "relocation-server",
    "relocation-port",
    "relocation-address",
    "relocation-hosts-allow",
    "tls-ca",
    "tls-cert",
    "tls-key",
    "control-socket",
    "runtime-dir",
    "state-dir",
    "vmm-binary",
    "max-migrations",
    "domain-memory",
    "log-level",
    NULL,
};

void mig_conf_defaults(struct mig_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->relocation_port = MIG_PORT_DEFAULT;
	snprintf(c->tls_ca, sizeof(c->tls_ca), "/etc/tern/tls/ca.pem");
	snprintf(c->tls_cert, sizeof(c->tls_cert), "/etc/tern/tls/host.pem");
	snprintf(c->tls_key, sizeof(c->tls_key), "/etc/tern/tls/host.key");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/tern/migrated.sock");
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "/run/tern/migrated");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/tern/migrated");
	snprintf(c->vmm_binary, sizeof(c->vmm_binary), "/usr/lib/tern/vmm");
	c->max_migrations = 1;
	c->log_level = LOG_LVL_INFO;
}

static int mig_conf_num(const struct sxp_node *doc, const char *key, long long min, long long max,
			unsigned *out, struct sxp_error *err)
{
	long long v;
	int rc = sxp_get_int(doc, key, min, max, &v, err);

	if (rc == 0)
		*out = (unsigned)v;
	return rc == -ENOENT ? 0 : rc;
}

static int mig_conf_reloc(const struct sxp_node *doc, struct mig_conf *c, struct sxp_error *err)
{
	unsigned port = c->relocation_port;
	const char *s;
	char why[256];
	int rc = sxp_get_bool(doc, "relocation-server", &c->relocation_server, err);

	if (rc < 0 && rc != -ENOENT)
		return rc;
	if ((rc = mig_conf_num(doc, "relocation-port", 1, 65535, &port, err)) < 0)
		return rc;
	c->relocation_port = (uint16_t)port;
	rc = sxp_get_str(doc, "relocation-address", &s, err);
	if (rc == 0) {
		struct in6_addr a6;
		struct in_addr a4;
		if (*s && inet_pton(AF_INET, s, &a4) != 1 && inet_pton(AF_INET6, s, &a6) != 1)
			return sxp_errorf(err, sxp_find(doc, "relocation-address"),
					  "relocation-address: '%s' is not an IP address", s);
		snprintf(c->relocation_address, sizeof(c->relocation_address), "%s", s);
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = sxp_get_str(doc, "relocation-hosts-allow", &s, err);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (strlen(s) >= sizeof(c->hosts_allow))
		return sxp_errorf(err, sxp_find(doc, "relocation-hosts-allow"),
				  "relocation-hosts-allow: longer than %zu bytes",
				  sizeof(c->hosts_allow) - 1);
	mig_allow_fini(&c->allow);
	if (mig_allow_init(&c->allow, s, why, sizeof(why)) < 0)
		return sxp_errorf(err, sxp_find(doc, "relocation-hosts-allow"),
				  "relocation-hosts-allow: %s", why);
	strcpy(c->hosts_allow, s);
	return 0;
}

int mig_conf_apply(struct mig_conf *c, const struct sxp_node *doc, struct sxp_error *err)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} paths[] = {
#define P(k, f) {k, offsetof(struct mig_conf, f), sizeof(((struct mig_conf *)0)->f)}
	    P("tls-ca", tls_ca),	   P("tls-cert", tls_cert),
	    P("tls-key", tls_key),	   P("control-socket", control_socket),
	    P("runtime-dir", runtime_dir), P("state-dir", state_dir),
	    P("vmm-binary", vmm_binary),
#undef P
	};
	int rc = sxp_check_keys(doc, 0, mig_conf_keys, err);

	if (rc == 0)
		rc = mig_conf_reloc(doc, c, err);
	for (size_t i = 0; rc == 0 && i < sizeof(paths) / sizeof(paths[0]); i++)
		rc = sxp_get_path_opt(doc, paths[i].key, (char *)c + paths[i].off, paths[i].cap,
				      err);
	if (rc == 0)
		rc = mig_conf_num(doc, "max-migrations", 1, 64, &c->max_migrations, err);
	if (rc == 0)
		rc = mig_conf_num(doc, "domain-memory", 16, 16 * 1024 * 1024, &c->domain_memory_mib,
				  err);
	if (rc == 0 && (rc = sxp_get_log_level(doc, "log-level", &c->log_level, err)) == -ENOENT)
		rc = 0;
	return rc;
}

int mig_conf_load(struct mig_conf *c, const char *path, bool missing_ok, struct sxp_error *err)
{
	struct sxp_node *doc;
	int rc;

	mig_conf_defaults(c);
	doc = sxp_parse_file(path, err);
	if (!doc) {
		rc = -errno;
		return rc == -ENOENT && missing_ok ? 0 : rc;
	}
	rc = mig_conf_apply(c, doc, err);
	sxp_free(doc);
	if (rc < 0)
		mig_conf_fini(c);
	return rc;
}

void mig_conf_fini(struct mig_conf *c)
{
	mig_allow_fini(&c->allow);
}
