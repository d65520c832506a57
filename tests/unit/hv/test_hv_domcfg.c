/* Domain config parser: good and bad configs, overrides, format round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hv_domcfg.h"

struct bad_case {
	const char *text;
	const char *err;
};

static const struct bad_case bad_cases[] = {
    {"name = \"a\"\nkernel = \"/k\"\nmemory = abc\n", "web1.cfg:3: memory: not a number: 'abc'"},
    {"memory = \"12x\"\n", "web1.cfg:1: memory: not a number: '12x'"},
    {"memory = 8\n", "web1.cfg:1: memory: 8 out of range (16..65536)"},
    {"memory = 99999999999\n", "web1.cfg:1: memory: not a number: '99999999999'"},
    {"memory = 129\n", "web1.cfg:1: memory: 129 is not a multiple of 2 MiB"},
    {"vcpus = 0\n", "web1.cfg:1: vcpus: 0 out of range (1..8)"},
    {"name = \"a\"\nname = \"b\"\n", "web1.cfg:2: name: duplicate key"},
    {"colour = \"blue\"\n", "web1.cfg:1: colour: unknown key"},
    {"name = web1\n", "web1.cfg:1: name: expected a quoted string, got 'web1'"},
    {"name = \"a b\"\n", "web1.cfg:1: name: bad name 'a b' (use letters, digits, '_', '.', '-')"},
    {"name = \"abc\n", "web1.cfg:1: unterminated string"},
    {"name \"abc\"\n", "web1.cfg:1: name: expected '=' after the key"},
    {"name = \"a\" \"b\"\n", "web1.cfg:1: name: unexpected text after the value"},
    {"= 3\n", "web1.cfg:1: expected a key"},
    {"kernel = \"\"\n", "web1.cfg:1: kernel: empty path"},
    {"vif = 'mac=00:16:3e:00:00:01'\n", "web1.cfg:1: vif: expected a list [ '...', ... ]"},
    {"vif = [ 'mac=00:16:3e:00:00:01' ]\n", "web1.cfg:1: vif: entry 0: bridge missing"},
    {"vif = [ 'mac=zz:16:3e:00:00:01, bridge=br0' ]\n",
     "web1.cfg:1: vif: entry 0: mac: bad unicast MAC address 'zz:16:3e:00:00:01'"},
    {"vif = [ 'mac=01:16:3e:00:00:01, bridge=br0' ]\n",
     "web1.cfg:1: vif: entry 0: mac: bad unicast MAC address '01:16:3e:00:00:01'"},
    {"vif = [ 'bridge=br0, model=e1000' ]\n", "web1.cfg:1: vif: entry 0: unknown key 'model'"},
    {"vif = [ 'bridge=averyveryverylongbridge' ]\n",
     "web1.cfg:1: vif: entry 0: bridge: bad interface name 'averyveryverylongbridge'"},
    {"vif = [ 'bridge=a', 'bridge=b', 'bridge=c', 'bridge=d', 'bridge=e' ]\n",
     "web1.cfg:1: vif: at most 4 interfaces"},
    {"vif = [ 'bridge=a' 'bridge=b' ]\n", "web1.cfg:1: expected ',' or ']' in list"},
    {"vif = [ bridge ]\n", "web1.cfg:1: list entries must be quoted strings"},
    {"on_crash = \"reboot\"\n", "web1.cfg:1: on_crash: must be \"destroy\" or \"preserve\""},
    {"extra = \"a\\qb\"\n",
     "web1.cfg:1: bad escape in string (only \\\\, \\\" and \\' are allowed)"},
    {"memory = 64 $\n", "web1.cfg:1: unexpected character '$'"},
    {"\n\nvcpus = [ ]\n", "web1.cfg:3: vcpus: expected a number, got a list"},
};

static void test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct hv_domcfg cfg;
		char err[256] = "";
		hv_domcfg_init(&cfg);
		int rc = hv_domcfg_parse(&cfg, bad_cases[i].text, strlen(bad_cases[i].text),
					 "web1.cfg", err, sizeof(err));
		if (rc != -22 || strcmp(err, bad_cases[i].err) != 0)
			fail_msg("case %zu: rc %d err \"%s\", want \"%s\"", i, rc, err,
				 bad_cases[i].err);
	}
}

static void test_good_config(void **state)
{
	static const char text[] = "# web server\n"
				   "name   = \"web1\"\n"
				   "kernel = '/usr/lib/tern/guests/echo.elf'\n"
				   "memory = 256                # MiB\n"
				   "vcpus  = 1\n"
				   "vif    = [ 'mac=00:16:3e:00:00:11, bridge=vnet97',\n"
				   "           'bridge=vnet98', ]\n"
				   "extra  = \"ip=10.97.0.11/24 msg=\\\"hi\\\"\"\n"
				   "on_crash = \"preserve\"\n";
	struct hv_domcfg cfg;
	char err[256] = "";

	(void)state;
	hv_domcfg_init(&cfg);
	assert_int_equal(hv_domcfg_parse(&cfg, text, strlen(text), "web1.cfg", err, sizeof(err)),
			 0);
	assert_string_equal(cfg.name, "web1");
	assert_string_equal(cfg.kernel, "/usr/lib/tern/guests/echo.elf");
	assert_int_equal(cfg.memory_mib, 256);
	assert_int_equal(cfg.vcpus, 1);
	assert_int_equal(cfg.nvifs, 2);
	assert_int_equal(cfg.vif[0].has_mac, 1);
	assert_memory_equal(cfg.vif[0].mac, "\x00\x16\x3e\x00\x00\x11", 6);
	assert_string_equal(cfg.vif[0].bridge, "vnet97");
	assert_string_equal(cfg.vif[0].text, "mac=00:16:3e:00:00:11, bridge=vnet97");
	assert_int_equal(cfg.vif[1].has_mac, 0);
	assert_string_equal(cfg.vif[1].bridge, "vnet98");
	assert_string_equal(cfg.extra, "ip=10.97.0.11/24 msg=\"hi\"");
	assert_int_equal(cfg.on_crash, HV_ON_CRASH_PRESERVE);
	assert_int_equal(hv_domcfg_check(&cfg, "web1.cfg", err, sizeof(err)), 0);
	assert_int_equal(cfg.has, HV_DOMCFG_HAS_NAME | HV_DOMCFG_HAS_KERNEL | HV_DOMCFG_HAS_MEMORY |
				      HV_DOMCFG_HAS_VCPUS | HV_DOMCFG_HAS_VIF |
				      HV_DOMCFG_HAS_EXTRA | HV_DOMCFG_HAS_ON_CRASH);
}

static void test_defaults_and_missing(void **state)
{
	struct hv_domcfg cfg;
	char err[256] = "";

	(void)state;
	hv_domcfg_init(&cfg);
	assert_int_equal(hv_domcfg_parse(&cfg, "kernel = \"/k\"", 13, "a.cfg", err, sizeof(err)),
			 0);
	assert_int_equal(cfg.memory_mib, 128);
	assert_int_equal(cfg.vcpus, 1);
	assert_int_equal(hv_domcfg_check(&cfg, "a.cfg", err, sizeof(err)), -22);
	assert_string_equal(err, "a.cfg: missing required key 'name'");
	hv_domcfg_init(&cfg);
	assert_int_equal(hv_domcfg_parse(&cfg, "name = \"x\"", 10, "a.cfg", err, sizeof(err)), 0);
	assert_int_equal(hv_domcfg_check(&cfg, "a.cfg", err, sizeof(err)), -22);
	assert_string_equal(err, "a.cfg: missing required key 'kernel'");
}

static void test_overrides(void **state)
{
	struct hv_domcfg cfg;
	char err[256] = "";
	const char *text = "name = \"a\"\nmemory = 64\n";

	(void)state;
	hv_domcfg_init(&cfg);
	assert_int_equal(hv_domcfg_parse(&cfg, text, strlen(text), "a.cfg", err, sizeof(err)), 0);
	assert_int_equal(hv_domcfg_override(&cfg, "memory=512", err, sizeof(err)), 0);
	assert_int_equal(cfg.memory_mib, 512);
	assert_int_equal(hv_domcfg_override(&cfg, "extra=ws=64 rate=20", err, sizeof(err)), 0);
	assert_string_equal(cfg.extra, "ws=64 rate=20");
	assert_int_equal(hv_domcfg_override(&cfg, "name='b2'", err, sizeof(err)), 0);
	assert_string_equal(cfg.name, "b2");
	assert_int_equal(hv_domcfg_override(&cfg, "vif=['bridge=br1']", err, sizeof(err)), 0);
	assert_int_equal(cfg.nvifs, 1);
	assert_int_equal(hv_domcfg_override(&cfg, "memory=abc", err, sizeof(err)), -22);
	assert_string_equal(err, "command line: memory: not a number: 'abc'");
	assert_int_equal(hv_domcfg_override(&cfg, "memory=1024", err, sizeof(err)), -22);
	assert_string_equal(err, "command line: memory: given twice on the command line");
	assert_int_equal(hv_domcfg_override(&cfg, "nokey", err, sizeof(err)), -22);
	assert_string_equal(err, "command line: expected key=value, got 'nokey'");
	assert_int_equal(hv_domcfg_override(&cfg, "size=3", err, sizeof(err)), -22);
	assert_string_equal(err, "command line: size: unknown key");
}

static void test_format_round_trip(void **state)
{
	struct hv_domcfg a, b;
	char err[256] = "", text[8192];
	const char *src = "name = \"w\"\nkernel = \"/a \\\"b\\\"\"\nmemory = 32\n"
			  "vif = [ 'bridge=br0' ]\nextra = \"x=1\"\n";

	(void)state;
	hv_domcfg_init(&a);
	assert_int_equal(hv_domcfg_parse(&a, src, strlen(src), "a.cfg", err, sizeof(err)), 0);
	assert_int_equal(hv_domcfg_fill_macs(&a), 0);
	assert_int_equal(a.vif[0].has_mac, 1);
	assert_memory_equal(a.vif[0].mac, "\x00\x16\x3e", 3);
	int n = hv_domcfg_format(&a, text, sizeof(text));
	assert_true(n > 0);
	hv_domcfg_init(&b);
	assert_int_equal(hv_domcfg_parse(&b, text, (size_t)n, "saved", err, sizeof(err)), 0);
	assert_string_equal(b.kernel, "/a \"b\"");
	assert_int_equal(b.memory_mib, 32);
	assert_memory_equal(b.vif[0].mac, a.vif[0].mac, 6);
	assert_string_equal(b.vif[0].bridge, "br0");
	assert_string_equal(b.extra, "x=1");
	assert_int_equal(hv_domcfg_format(&a, text, 10), -28);
}

/* Formats into heap buffers of every size up to the text's own: each one
 * short of room is refused with -ENOSPC and nothing is written past it (ASan
 * sees a write one byte beyond). The kernel path ends in an escaped
 * character and extra is empty: both once wrote their NUL one byte past
 * the end when the string's closing quote took the last byte. */
static void test_format_every_cap(void **state)
{
	struct hv_domcfg a;
	char err[256] = "", full[8192];
	const char *src = "name = \"w\"\nkernel = \"/k\\\\\"\nmemory = 32\n";

	(void)state;
	hv_domcfg_init(&a);
	assert_int_equal(hv_domcfg_parse(&a, src, strlen(src), "a.cfg", err, sizeof(err)), 0);
	assert_string_equal(a.kernel, "/k\\");
	int n = hv_domcfg_format(&a, full, sizeof(full));
	assert_true(n > 0);
	assert_non_null(strstr(full, "kernel = \"/k\\\\\"\n"));
	for (size_t cap = 1; cap <= (size_t)n + 1; cap++) {
		char *buf = malloc(cap);

		assert_non_null(buf);
		int rc = hv_domcfg_format(&a, buf, cap);
		if (cap <= (size_t)n) {
			assert_int_equal(rc, -ENOSPC);
		} else {
			assert_int_equal(rc, n);
			assert_string_equal(buf, full);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_configs),		 cmocka_unit_test(test_good_config),
	    cmocka_unit_test(test_defaults_and_missing), cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_format_round_trip),	 cmocka_unit_test(test_format_every_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
