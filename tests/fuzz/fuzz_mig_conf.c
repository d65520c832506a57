/*
 * Fuzz harness for migrated's config reader (mig_conf.c over common/sxp):
 * any text is either a configuration whose values are in range or refused
 * with a positioned message; hosts-allow patterns compile or are refused.
 */
#include <string.h>

#include "mig_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(c)                                                                                 \
	do {                                                                                       \
		if (c)                                                                             \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mig_conf c;
	struct sxp_error err = {0};
	struct sxp_node *doc = sxp_parse("fuzz.sxp", (const char *)data, size, &err);

	if (!doc)
		return 0;
	mig_conf_defaults(&c);
	if (mig_conf_apply(&c, doc, &err) < 0) {
		TRAP_IF(!err.msg[0]);
	} else {
		TRAP_IF(c.relocation_port == 0 || c.max_migrations == 0 || c.max_migrations > 64);
		TRAP_IF(c.allow.n > MIG_ALLOW_MAX);
		TRAP_IF(c.tls_ca[0] != '/' || c.control_socket[0] != '/');
		(void)mig_allow_match(&c.allow, "10.0.0.1");
	}
	mig_conf_fini(&c);
	sxp_free(doc);
	return 0;
}
