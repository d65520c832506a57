/* vnet_conf: defaults, every key's checks with exact messages, round trip
 * through vnet_conf_format. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vnet_conf.h"

static int parse(const char *text, struct vnet_conf *conf, struct sxp_error *err)
{
	return vnet_conf_parse("v.sxp", text, strlen(text), conf, err);
}

struct good_case {
	const char *text;
	uint16_t id;
	const char *bridge, *vnetif;
	enum vnet_security sec;
	enum esp_suite_id suite;
	const char *key_file;
	unsigned mtu;
	unsigned mac_max;
};

static const struct good_case good[] = {
    {"(vnet (id 97) (bridge vnet97) (vnetif vnif97) (security conf)\n"
     "      (key-file /etc/tern/vnet97.key))",
     0x97, "vnet97", "vnif97", VNET_SEC_CONF, ESP_SUITE_AES128_GCM, "/etc/tern/vnet97.key", 1400,
     4096},
    {"(vnet (id 97))", 0x97, "vnet97", "vnif97", VNET_SEC_NONE, ESP_SUITE_NONE, "", 1400, 4096},
    {"(vnet (id ABCD) (security auth) (key-file /k))", 0xabcd, "vnetabcd", "vnifabcd",
     VNET_SEC_AUTH, ESP_SUITE_NULL_SHA1, "/k", 1400, 4096},
    {"(vnet (id 2) (security auth) (esp-suite null-sha256) (key-file /k) (mtu 9000)"
     " (mac-max 65536))",
     2, "vnet2", "vnif2", VNET_SEC_AUTH, ESP_SUITE_NULL_SHA256, "/k", 9000, 65536},
    {"(vnet (security conf) (esp-suite aes128-cbc-sha1) (key-file '/a b/k') (id 3) (mtu 576)\n"
     " (bridge br.x-1_) (vnetif abcdefghijklmn))",
     3, "br.x-1_", "abcdefghijklmn", VNET_SEC_CONF, ESP_SUITE_AES128_CBC_SHA1, "/a b/k", 576, 4096},
    {"(vnet (id 0:0:0:0:0:0:0:10) (security none))", 0x10, "vnet10", "vnif10", VNET_SEC_NONE,
     ESP_SUITE_NONE, "", 1400, 4096},
    {"(vnet (id 98) (mac-max 16))", 0x98, "vnet98", "vnif98", VNET_SEC_NONE, ESP_SUITE_NONE, "",
     1400, 16},
};

static void check_good(const struct good_case *g, const struct vnet_conf *c)
{
	struct vnet_id id;

	vnet_id_from_short(&id, g->id);
	assert_true(vnet_id_eq(&c->id, &id));
	assert_string_equal(c->bridge, g->bridge);
	assert_string_equal(c->vnetif, g->vnetif);
	assert_int_equal(c->security, g->sec);
	assert_int_equal(c->suite, g->suite);
	assert_string_equal(c->key_file, g->key_file);
	assert_int_equal(c->mtu, g->mtu);
	assert_int_equal(c->mac_max, g->mac_max);
}

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vnet_conf c, back;
		struct sxp_error err = {0};
		char buf[512];
		if (parse(good[i].text, &c, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		check_good(&good[i], &c);
		/* Round trip through the printer that vnetd persists with. */
		size_t n = vnet_conf_format(&c, buf, sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_int_equal(parse(buf, &back, &err), 0);
		check_good(&good[i], &back);
	}
}

static void test_format_text(void **state)
{
	struct vnet_conf c;
	struct sxp_error err;
	char buf[512], small[10];
	(void)state;
	assert_int_equal(parse(good[0].text, &c, &err), 0);
	vnet_conf_format(&c, buf, sizeof(buf));
	assert_string_equal(
	    buf,
	    "(vnet (id 97) (bridge vnet97) (vnetif vnif97) (security conf) "
	    "(esp-suite aes128-gcm) (key-file /etc/tern/vnet97.key) (mtu 1400) (mac-max 4096))\n");
	assert_int_equal(parse(good[1].text, &c, &err), 0);
	assert_int_equal(vnet_conf_format(&c, small, sizeof(small)),
			 strlen("(vnet (id 97) (bridge vnet97) (vnetif vnif97) (security none) "
				"(mtu 1400) (mac-max 4096))\n"));
	assert_string_equal(small, "(vnet (id");
	assert_int_equal(parse(good[4].text, &c, &err), 0);
	vnet_conf_format(&c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "(key-file \"/a b/k\")"));
}

struct bad_case {
	const char *text;
	int ret;
	const char *msg;
};

static const struct bad_case bad[] = {
    {"(vnet (id 97)", -EINVAL, "v.sxp:1:1: '(' is never closed"},
    {"", -EINVAL, "v.sxp:1:1: expected one (vnet ...) expression, found 0"},
    {"(vnet (id 2)) (vnet (id 3))", -EINVAL,
     "v.sxp:1:1: expected one (vnet ...) expression, found 2"},
    {"(vlan (id 2))", -EINVAL, "v.sxp:1:1: expected (vnet ...)"},
    {"(vnet)", -EINVAL, "v.sxp:1:1: missing key 'id'"},
    {"(vnet (id 0))", -EINVAL, "v.sxp:1:11: 'id': '0': id 0 is invalid"},
    {"(vnet (id 1))", -EINVAL, "v.sxp:1:11: 'id': '1': id 1 is reserved"},
    {"(vnet (id 1g))", -EINVAL, "v.sxp:1:11: 'id': '1g': group 1: 'g' is not a hex digit"},
    {"(vnet (id 97) (id 98))", -EINVAL, "v.sxp:1:15: duplicate key 'id' (first at line 1 col 7)"},
    {"(vnet (id 97) (colour red))", -EINVAL, "v.sxp:1:15: unknown key 'colour'"},
    {"(vnet (id 97) (bridge vnet97-far-too-long))", -EINVAL,
     "v.sxp:1:23: 'bridge': 'vnet97-far-too-long' is longer than 14 characters"},
    {"(vnet (id 97) (vnetif abcdefghijklmno))", -EINVAL,
     "v.sxp:1:23: 'vnetif': 'abcdefghijklmno' is longer than 14 characters"},
    {"(vnet (id 97) (bridge 'a/b'))", -EINVAL,
     "v.sxp:1:23: 'bridge': 'a/b' is not a valid interface name"},
    {"(vnet (id 97) (bridge 'a b'))", -EINVAL,
     "v.sxp:1:23: 'bridge': 'a b' is not a valid interface name"},
    {"(vnet (id 97) (bridge ..))", -EINVAL,
     "v.sxp:1:23: 'bridge': '..' is not a valid interface name"},
    {"(vnet (id 97) (bridge ''))", -EINVAL,
     "v.sxp:1:23: 'bridge': '' is not a valid interface name"},
    {"(vnet (id 97) (bridge x) (vnetif x))", -EINVAL, "v.sxp:1:1: bridge and vnetif are both 'x'"},
    {"(vnet (id 1:0:0:0:0:0:0:97))", -EINVAL,
     "v.sxp:1:1: missing key 'bridge' (id 1:0:0:0:0:0:0:97 has no short form)"},
    {"(vnet (id 1:0:0:0:0:0:0:97) (bridge b))", -EINVAL,
     "v.sxp:1:1: missing key 'vnetif' (id 1:0:0:0:0:0:0:97 has no short form)"},
    {"(vnet (id 97) (security high))", -EINVAL,
     "v.sxp:1:25: 'security': 'high' is not none, auth or conf"},
    {"(vnet (id 97) (security conf))", -EINVAL,
     "v.sxp:1:1: missing key 'key-file' (security conf needs one)"},
    {"(vnet (id 97) (security auth))", -EINVAL,
     "v.sxp:1:1: missing key 'key-file' (security auth needs one)"},
    {"(vnet (id 97) (key-file /k))", -EINVAL, "v.sxp:1:15: 'key-file' needs security auth or conf"},
    {"(vnet (id 97) (security none) (key-file /k))", -EINVAL,
     "v.sxp:1:31: 'key-file' needs security auth or conf"},
    {"(vnet (id 97) (security conf) (key-file k))", -EINVAL,
     "v.sxp:1:41: 'key-file': 'k' is not an absolute path"},
    {"(vnet (id 97) (esp-suite aes128-gcm))", -EINVAL,
     "v.sxp:1:15: 'esp-suite' needs security auth or conf"},
    {"(vnet (id 97) (security conf) (esp-suite des) (key-file /k))", -EINVAL,
     "v.sxp:1:42: 'esp-suite': 'des' is not aes128-gcm, aes128-cbc-sha1, null-sha1 or "
     "null-sha256"},
    {"(vnet (id 97) (security conf) (esp-suite null-sha1) (key-file /k))", -EINVAL,
     "v.sxp:1:42: 'esp-suite': null-sha1 needs security auth"},
    {"(vnet (id 97) (security auth) (esp-suite aes128-gcm) (key-file /k))", -EINVAL,
     "v.sxp:1:42: 'esp-suite': aes128-gcm needs security conf"},
    {"(vnet (id 97) (mtu 575))", -EINVAL, "v.sxp:1:20: 'mtu': 575 is out of range 576..9000"},
    {"(vnet (id 97) (mtu 9001))", -EINVAL, "v.sxp:1:20: 'mtu': 9001 is out of range 576..9000"},
    {"(vnet (id 97) (mtu big))", -EINVAL, "v.sxp:1:20: 'mtu': 'big' is not an integer"},
    {"(vnet (id 97) (mac-max 15))", -EINVAL, "v.sxp:1:24: 'mac-max': 15 is out of range 16..65536"},
    {"(vnet (id 97) (mac-max 65537))", -EINVAL,
     "v.sxp:1:24: 'mac-max': 65537 is out of range 16..65536"},
    {"(vnet (id 97) (mac-max -1))", -EINVAL, "v.sxp:1:24: 'mac-max': -1 is out of range 16..65536"},
    {"(vnet (id 97) (mac-max lots))", -EINVAL, "v.sxp:1:24: 'mac-max': 'lots' is not an integer"},
    {"(vnet (id 97) (mac-max 64) (mac-max 64))", -EINVAL,
     "v.sxp:1:28: duplicate key 'mac-max' (first at line 1 col 15)"},
    {"(vnet (id 97 98))", -EINVAL, "v.sxp:1:7: 'id' takes exactly one value, found 2"},
    {"(vnet (id (97)))", -EINVAL, "v.sxp:1:11: 'id': expected a value, found a list"},
    {"(vnet (id 97) extra)", -EINVAL, "v.sxp:1:15: expected (key value), found 'extra'"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vnet_conf c;
		struct sxp_error err = {0};
		int r = parse(bad[i].text, &c, &err);
		if (r != bad[i].ret || strcmp(err.msg, bad[i].msg) != 0)
			fail_msg("case %zu: got %d '%s'", i, r, err.msg);
	}
}

static void test_long_key_file(void **state)
{
	char text[600], path[300];
	struct vnet_conf c;
	struct sxp_error err;
	(void)state;
	memset(path, 'k', sizeof(path));
	path[0] = '/';
	path[VNET_CONF_PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "(vnet (id 97) (security conf) (key-file %s))", path);
	assert_int_equal(parse(text, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "v.sxp:1:41: 'key-file': path longer than 255 bytes");
	path[VNET_CONF_PATH_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "(vnet (id 97) (security conf) (key-file %s))", path);
	assert_int_equal(parse(text, &c, &err), 0);
	assert_string_equal(c.key_file, path);
}

static void test_names(void **state)
{
	enum vnet_security s;
	(void)state;
	assert_int_equal(vnet_conf_security_parse("auth", &s), 0);
	assert_int_equal(s, VNET_SEC_AUTH);
	assert_int_equal(vnet_conf_security_parse("Auth", &s), -EINVAL);
	assert_string_equal(vnet_conf_security_name(VNET_SEC_CONF), "conf");
	assert_int_equal(vnet_conf_default_suite(VNET_SEC_NONE), ESP_SUITE_NONE);
	assert_int_equal(vnet_conf_default_suite(VNET_SEC_AUTH), ESP_SUITE_NULL_SHA1);
	assert_int_equal(vnet_conf_default_suite(VNET_SEC_CONF), ESP_SUITE_AES128_GCM);
	assert_true(vnet_conf_ifname_valid("vnet97"));
	assert_false(vnet_conf_ifname_valid("vnet97:1"));
	assert_false(vnet_conf_ifname_valid("."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),  cmocka_unit_test(test_format_text),
	    cmocka_unit_test(test_bad),	  cmocka_unit_test(test_long_key_file),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
