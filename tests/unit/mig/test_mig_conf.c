/* migrated.sxp: defaults, every key, and bad files refused with
 * file:line:col and the key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mig_conf.h"

static struct mig_conf c;

static int apply(const char *text, char *msg, size_t cap)
{
	struct sxp_error err = {0};
	struct sxp_node *doc = sxp_parse("m.sxp", text, strlen(text), &err);
	int rc;

	mig_conf_fini(&c);
	mig_conf_defaults(&c);
	if (!doc) {
		snprintf(msg, cap, "%s", err.msg);
		return -EINVAL;
	}
	rc = mig_conf_apply(&c, doc, &err);
	snprintf(msg, cap, "%s", err.msg);
	sxp_free(doc);
	return rc;
}

static void test_defaults(void **state)
{
	(void)state;
	mig_conf_defaults(&c);
	assert_false(c.relocation_server);
	assert_int_equal(c.relocation_port, 8002);
	assert_string_equal(c.relocation_address, "");
	assert_true(mig_allow_all(&c.allow));
	assert_int_equal(c.max_migrations, 1);
	assert_string_equal(c.control_socket, "/run/tern/migrated.sock");
}

static void test_all_keys(void **state)
{
	char msg[256];

	(void)state;
	assert_int_equal(apply("(relocation-server yes)\n(relocation-port 9002)\n"
			       "(relocation-address '10.0.1.2')\n"
			       "(relocation-hosts-allow '^localhost$ ^10\\.97\\..*$')\n"
			       "(tls-ca /c/ca.pem) (tls-cert /c/h.pem) (tls-key /c/h.key)\n"
			       "(control-socket /r/m.sock) (runtime-dir /r) (state-dir /s)\n"
			       "(vmm-binary /b/vmm) (max-migrations 3) (domain-memory 2048)\n"
			       "(log-level debug)\n",
			       msg, sizeof(msg)),
			 0);
	assert_true(c.relocation_server);
	assert_int_equal(c.relocation_port, 9002);
	assert_string_equal(c.relocation_address, "10.0.1.2");
	assert_int_equal(c.allow.n, 2);
	assert_true(mig_allow_match(&c.allow, "localhost"));
	assert_true(mig_allow_match(&c.allow, "10.97.3.4"));
	assert_false(mig_allow_match(&c.allow, "10.98.3.4"));
	assert_false(mig_allow_match(&c.allow, "mylocalhost"));
	assert_false(mig_allow_match(&c.allow, NULL));
	assert_string_equal(c.tls_key, "/c/h.key");
	assert_string_equal(c.vmm_binary, "/b/vmm");
	assert_int_equal(c.max_migrations, 3);
	assert_int_equal(c.domain_memory_mib, 2048);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	/* What operators write passes: brackets, escapes, small intervals. */
	assert_int_equal(
	    apply("(relocation-hosts-allow '^h[0-9]{1,3}$ ^a[+*]+\\.b$')", msg, sizeof(msg)), 0);
	assert_true(mig_allow_match(&c.allow, "h12"));
	assert_true(mig_allow_match(&c.allow, "a+*.b"));
	/* An empty hosts-allow allows all. */
	assert_int_equal(apply("(relocation-hosts-allow '')", msg, sizeof(msg)), 0);
	assert_true(mig_allow_all(&c.allow));
}

static void test_bad(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	    {"(colour red)", "m.sxp:1:1: unknown key 'colour'"},
	    {"(relocation-port 1)\n(relocation-port 2)",
	     "m.sxp:2:1: duplicate key 'relocation-port' (first at line 1 col 1)"},
	    {"(relocation-port 70000)",
	     "m.sxp:1:18: 'relocation-port': 70000 is out of range 1..65535"},
	    {"(relocation-server maybe)",
	     "m.sxp:1:20: 'relocation-server': 'maybe' is not yes or no"},
	    {"(relocation-address host1)",
	     "m.sxp:1:1: relocation-address: 'host1' is not an IP address"},
	    {"(relocation-hosts-allow '^a$ [x')",
	     "m.sxp:1:1: relocation-hosts-allow: '[x': Unmatched [, [^, [:, [., or [="},
	    {"(tls-ca ca.pem)", "m.sxp:1:1: tls-ca: 'ca.pem' is not an absolute path"},
	    /* Patterns glibc would compile at unbounded cost (fuzz_mig_conf). */
	    {"(relocation-hosts-allow 't+++')",
	     "m.sxp:1:1: relocation-hosts-allow: 't+++': a quantifier follows a quantifier"},
	    {"(relocation-hosts-allow '(a{1,9}){1,9}')",
	     "m.sxp:1:1: relocation-hosts-allow: '(a{1,9}){1,9}': an interval on a group"},
	    {"(relocation-hosts-allow 'a{1,300}')",
	     "m.sxp:1:1: relocation-hosts-allow: 'a{1,300}': intervals over 255 or more than 4 of "
	     "them"},
	    {"(max-migrations 0)", "m.sxp:1:17: 'max-migrations': 0 is out of range 1..64"},
	    {"(log-level loud)", "m.sxp:1:1: log-level: 'loud' is not error, warn, info or debug"},
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(apply(cases[i].text, msg, sizeof(msg)), -EINVAL);
		assert_string_equal(msg, cases[i].msg);
	}
}

static int teardown(void **state)
{
	(void)state;
	mig_conf_fini(&c);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_keys),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
