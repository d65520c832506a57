/* vnetd's config: defaults, each key, and refused input with the exact
 * file:line:col message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vnet_conf.h"
#include "vnetd_conf.h"

static int parse(const char *text, struct vnetd_conf *c, struct sxp_error *err)
{
	struct sxp_node *doc = sxp_parse("t.sxp", text, strlen(text), err);
	int rc;

	vnetd_conf_defaults(c);
	if (!doc)
		return -errno;
	rc = vnetd_conf_apply(c, doc, err);
	sxp_free(doc);
	return rc;
}

static void test_defaults(void **state)
{
	struct vnetd_conf c;
	struct sxp_error err;
	char buf[VNET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(parse("# nothing but a comment\n", &c, &err), 0);
	assert_string_equal(vnet_addr_str(&c.group, buf), "224.10.0.1");
	assert_int_equal(c.port, 1798);
	assert_string_equal(c.underlay_if, "eth0");
	assert_false(c.has_underlay_addr);
	assert_string_equal(c.control_socket, "/run/tern/vnetd.sock");
	assert_string_equal(c.runtime_dir, "/run/tern");
	assert_string_equal(c.state_dir, "/var/lib/tern");
	assert_int_equal(c.varp_ttl, 120);
	assert_int_equal(c.control_idle_s, 30);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
}

static void test_every_key(void **state)
{
	static const char text[] = "(multicast-address 239.1.2.3)\n"
				   "(port 1799)\n"
				   "(underlay-interface veth-u1)\n"
				   "(underlay-address 10.0.0.7)\n"
				   "(control-socket /tmp/x/vnetd.sock)\n"
				   "(runtime-dir /tmp/x/run)\n"
				   "(state-dir /tmp/x/state)\n"
				   "(varp-ttl 30)\n"
				   "(log-level debug)\n"
				   "(control-idle-timeout 5)\n";
	struct vnetd_conf c;
	struct sxp_error err;
	char buf[VNET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(parse(text, &c, &err), 0);
	assert_string_equal(vnet_addr_str(&c.group, buf), "239.1.2.3");
	assert_int_equal(c.port, 1799);
	assert_string_equal(c.underlay_if, "veth-u1");
	assert_true(c.has_underlay_addr);
	assert_string_equal(vnet_addr_str(&c.underlay_addr, buf), "10.0.0.7");
	assert_string_equal(c.control_socket, "/tmp/x/vnetd.sock");
	assert_string_equal(c.runtime_dir, "/tmp/x/run");
	assert_string_equal(c.state_dir, "/tmp/x/state");
	assert_int_equal(c.varp_ttl, 30);
	assert_int_equal(c.control_idle_s, 5);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
}

static const struct {
	const char *text;
	const char *msg;
} bad[] = {
    {"(port 1798)\n(port 1799)", "t.sxp:2:1: duplicate key 'port' (first at line 1 col 1)"},
    {"(colour blue)", "t.sxp:1:1: unknown key 'colour'"},
    {"(multicast-address 10.0.0.1)",
     "t.sxp:1:1: multicast-address: '10.0.0.1' is not a multicast address"},
    {"(multicast-address ff02::1)",
     "t.sxp:1:1: multicast-address: 'ff02::1' is not an IPv4 address"},
    {"(underlay-address host.example)",
     "t.sxp:1:1: underlay-address: 'host.example' is not an IPv4 address"},
    {"(underlay-interface a/b)", "t.sxp:1:1: underlay-interface: 'a/b' is not an interface name"},
    {"(underlay-interface sixteen-chars-xx)",
     "t.sxp:1:1: underlay-interface: 'sixteen-chars-xx' is not an interface name"},
    {"(state-dir var/lib)", "t.sxp:1:1: state-dir: 'var/lib' is not an absolute path"},
    {"(log-level loud)", "t.sxp:1:1: log-level: 'loud' is not error, warn, info or debug"},
};

static void test_bad(void **state)
{
	struct vnetd_conf c;
	struct sxp_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(parse(bad[i].text, &c, &err), -EINVAL);
		assert_string_equal(err.msg, bad[i].msg);
	}
}

/* Range errors come from sxp_get_int; they must name the key and place. */
static void test_ranges(void **state)
{
	static const char *const texts[] = {"(port 0)",		"(port 65536)", "(varp-ttl 2)",
					    "(varp-ttl 86401)", "(port)",	"(port (1))"};
	struct vnetd_conf c;
	struct sxp_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(parse(texts[i], &c, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "t.sxp:1:"));
		assert_non_null(
		    strstr(err.msg, strncmp(texts[i], "(port", 5) == 0 ? "port" : "varp-ttl"));
	}
	for (int i = 0; i < 2; i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(
		    parse(i ? "(control-idle-timeout 86401)" : "(control-idle-timeout 0)", &c,
			  &err),
		    -EINVAL);
		assert_non_null(strstr(err.msg, "t.sxp:1:"));
		assert_non_null(strstr(err.msg, "control-idle-timeout"));
	}
}

static void test_load_missing(void **state)
{
	struct vnetd_conf c;
	struct sxp_error err = {0};

	(void)state;
	assert_int_equal(vnetd_conf_load(&c, "/nonexistent/vnetd.sxp", true, &err), 0);
	assert_int_equal(c.port, 1798);
	assert_int_equal(vnetd_conf_load(&c, "/nonexistent/vnetd.sxp", false, &err), -ENOENT);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_vnetd_conf.XXXXXX";
	struct vnetd_conf c;
	struct sxp_error err = {0};
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "(port 2000)\n(varp-ttl x)\n", 25), 25);
	close(fd);
	assert_int_equal(vnetd_conf_load(&c, path, false, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ":2:"));
	assert_non_null(strstr(err.msg, "varp-ttl"));
	unlink(path);
}

/* The shipped files: configs/vnetd.sxp states exactly the defaults, and
 * the sample vnet parses. */
static void test_shipped_configs(void **state)
{
	const char *src = getenv("TERN_SRC");
	char path[512];
	struct vnetd_conf def, c;
	struct vnet_conf vc;
	struct sxp_error err = {0};
	struct sxp_node *doc;

	(void)state;
	if (!src)
		fail_msg(
		    "TERN_SRC is not set (CTest sets it to the source tree): cannot find configs/");
	snprintf(path, sizeof(path), "%s/configs/vnetd.sxp", src);
	assert_int_equal(vnetd_conf_load(&c, path, false, &err), 0);
	vnetd_conf_defaults(&def);
	assert_memory_equal(&c, &def, sizeof(c));
	snprintf(path, sizeof(path), "%s/configs/vnets/vnet97.sxp", src);
	doc = sxp_parse_file(path, &err);
	assert_non_null(doc);
	assert_int_equal(doc->nkids, 1);
	assert_int_equal(vnet_conf_from_sxp(doc->kids, &vc, &err), 0);
	assert_int_equal(vc.security, VNET_SEC_CONF);
	assert_string_equal(vc.key_file, "/etc/tern/vnet97.key");
	sxp_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_load_missing),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_shipped_configs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
