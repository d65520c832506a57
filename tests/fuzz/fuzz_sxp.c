/* sxp parser and vnet definitions: never crash; every list position lies
 * inside the input; a vnet that parses prints back to text that parses to
 * the same vnet. */
#include <stdint.h>
#include <string.h>

#include "sxp.h"
#include "vnet_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_conf(const struct sxp_node *n)
{
	struct vnet_conf conf, back;
	struct sxp_error err;
	char text[1024];
	size_t len;

	if (vnet_conf_from_sxp(n, &conf, &err) != 0)
		return;
	len = vnet_conf_format(&conf, text, sizeof(text));
	if (len >= sizeof(text) || vnet_conf_parse("fmt", text, len, &back, &err) != 0 ||
	    memcmp(&conf.id, &back.id, sizeof(conf.id)) != 0 ||
	    strcmp(conf.bridge, back.bridge) != 0 || strcmp(conf.vnetif, back.vnetif) != 0 ||
	    conf.security != back.security || conf.suite != back.suite ||
	    strcmp(conf.key_file, back.key_file) != 0 || conf.mtu != back.mtu)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sxp_error err;
	struct sxp_node *doc = sxp_parse("fuzz", (const char *)data, size, &err);
	static const char *const keys[] = {"port", "multicast-address", "peer*", NULL};
	const char *s;
	long long v;
	bool b;

	if (!doc)
		return 0;
	for (const struct sxp_node *n = doc->kids; n; n = n->next) {
		if (n->line == 0 || n->col == 0 || n->line > size + 1)
			__builtin_trap();
		check_conf(n);
	}
	(void)sxp_check_keys(doc, 0, keys, &err);
	(void)sxp_get_str(doc, "multicast-address", &s, &err);
	(void)sxp_get_int(doc, "port", 1, 65535, &v, &err);
	(void)sxp_get_bool(doc, "debug", &b, &err);
	sxp_free(doc);
	return 0;
}
