/* sxp: the tree and its positions, quoting, limits, and every error text. */
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

#include "sxp.h"

static struct sxp_node *parse(const char *text, struct sxp_error *err)
{
	return sxp_parse("t.sxp", text, strlen(text), err);
}

static void test_vnet_tree(void **state)
{
	struct sxp_error err;
	const char *text =
	    "# vnets\n(vnet (id 97) (bridge vnet97)\n      (key-file /etc/tern/vnet97.key))\n";
	struct sxp_node *doc = parse(text, &err);
	const struct sxp_node *vnet, *id;
	const char *s;
	(void)state;

	assert_non_null(doc);
	assert_int_equal(doc->type, SXP_LIST);
	assert_int_equal(doc->nkids, 1);
	vnet = doc->kids;
	assert_string_equal(sxp_key(vnet), "vnet");
	assert_int_equal(vnet->line, 2);
	assert_int_equal(vnet->col, 1);
	assert_int_equal(vnet->nkids, 4);
	id = sxp_find(vnet, "id");
	assert_non_null(id);
	assert_int_equal(id->line, 2);
	assert_int_equal(id->col, 7);
	assert_int_equal(id->kids->next->col, 11);
	assert_string_equal(id->file, "t.sxp");
	assert_int_equal(sxp_get_str(vnet, "key-file", &s, &err), 0);
	assert_string_equal(s, "/etc/tern/vnet97.key");
	assert_int_equal(sxp_find(vnet, "key-file")->line, 3);
	assert_int_equal(sxp_find(vnet, "key-file")->col, 7);
	assert_null(sxp_find(vnet, "mtu"));
	sxp_free(doc);
}

static void test_daemon_config(void **state)
{
	struct sxp_error err;
	const char *text = "(multicast-address 224.10.0.1)\n(port 1798) # the VARP port\n"
			   "(relocation-hosts-allow '^localhost$ ^10\\.97\\..*$')\n"
			   "(motd \"say \\\"hi\\\"\\n\\tnow\")\n(debug yes)\n(hex 0x10)\n(neg -5)\n"
			   "(tag a#b)\n";
	struct sxp_node *doc = parse(text, &err);
	const char *s;
	long long v;
	bool b;
	(void)state;

	assert_non_null(doc);
	assert_int_equal(doc->nkids, 8);
	assert_int_equal(sxp_get_str(doc, "multicast-address", &s, &err), 0);
	assert_string_equal(s, "224.10.0.1");
	assert_int_equal(sxp_get_int(doc, "port", 1, 65535, &v, &err), 0);
	assert_int_equal(v, 1798);
	assert_int_equal(sxp_get_str(doc, "relocation-hosts-allow", &s, &err), 0);
	assert_string_equal(s, "^localhost$ ^10\\.97\\..*$");
	assert_true(sxp_find(doc, "relocation-hosts-allow")->kids->next->quoted);
	assert_int_equal(sxp_get_str(doc, "motd", &s, &err), 0);
	assert_string_equal(s, "say \"hi\"\n\tnow");
	assert_int_equal(sxp_get_bool(doc, "debug", &b, &err), 0);
	assert_true(b);
	assert_int_equal(sxp_get_int(doc, "hex", 0, 100, &v, &err), 0);
	assert_int_equal(v, 16);
	assert_int_equal(sxp_get_int(doc, "neg", -10, 10, &v, &err), 0);
	assert_int_equal(v, -5);
	assert_int_equal(sxp_get_str(doc, "tag", &s, &err), 0);
	assert_string_equal(s, "a#b");
	sxp_free(doc);
}

struct bad_case {
	const char *text;
	int err;
	const char *msg;
};

static const struct bad_case bad[] = {
    {"(vnet (id 97)", EINVAL, "t.sxp:1:1: '(' is never closed"},
    {"(a))", EINVAL, "t.sxp:1:4: unexpected ')'"},
    {"(a\n  'abc)", EINVAL, "t.sxp:2:3: unterminated string"},
    {"(a b\"c\")", EINVAL, "t.sxp:1:5: quote inside the word 'b'"},
    {"(a \x01)", EINVAL, "t.sxp:1:4: control character 0x01"},
    {"(a 'x\x7fy')", EINVAL, "t.sxp:1:6: control character 0x7f"},
    {"(a\n\n   b\x02)", EINVAL, "t.sxp:3:5: control character 0x02"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sxp_error err;
		errno = 0;
		assert_null(parse(bad[i].text, &err));
		assert_int_equal(errno, bad[i].err);
		assert_string_equal(err.msg, bad[i].msg);
	}
}

static void test_nul_and_limits(void **state)
{
	struct sxp_error err;
	size_t big = SXP_MAX_ATOM + 10;
	char *text = malloc(SXP_MAX_INPUT + 2);
	(void)state;

	assert_non_null(text);
	/* An embedded NUL is a control character, not the end of input. */
	assert_null(sxp_parse("t.sxp", "(a b)\0(c)", 9, &err));
	assert_string_equal(err.msg, "t.sxp:1:6: control character 0x00");

	memset(text, 'a', big);
	assert_null(sxp_parse("t.sxp", text, big, &err));
	assert_int_equal(errno, E2BIG);
	assert_string_equal(err.msg, "t.sxp:1:1: atom longer than 4096 bytes");

	/* 32 nested lists are fine, 33 are not (checked above). */
	memset(text, ' ', SXP_MAX_INPUT + 1);
	assert_null(sxp_parse("t.sxp", text, SXP_MAX_INPUT + 1, &err));
	assert_int_equal(errno, E2BIG);
	assert_string_equal(err.msg, "t.sxp:1:1: input larger than 1048576 bytes");

	/* Node count: 65537 one-character atoms. */
	for (size_t i = 0; i < 2 * (SXP_MAX_NODES + 1); i += 2) {
		text[i] = 'x';
		text[i + 1] = ' ';
	}
	assert_null(sxp_parse("t.sxp", text, 2 * (SXP_MAX_NODES + 1), &err));
	assert_int_equal(errno, E2BIG);
	assert_string_equal(err.msg, "t.sxp:1:131073: more than 65536 elements");
	free(text);

	/* SXP_MAX_DEPTH nested lists are fine, one more is not. */
	char deep[2 * SXP_MAX_DEPTH + 8];
	size_t n = 0;
	for (unsigned i = 0; i < SXP_MAX_DEPTH; i++)
		deep[n++] = '(';
	deep[n++] = 'x';
	for (unsigned i = 0; i < SXP_MAX_DEPTH; i++)
		deep[n++] = ')';
	struct sxp_node *doc = sxp_parse("t.sxp", deep, n, &err);
	assert_non_null(doc);
	sxp_free(doc);
	memmove(deep + 1, deep, n);
	deep[n + 1] = ')';
	assert_null(sxp_parse("t.sxp", deep, n + 2, &err));
	assert_int_equal(errno, E2BIG);
	assert_string_equal(err.msg, "t.sxp:1:33: lists nested deeper than 32");
	sxp_free(NULL);
}

static void test_empty_and_comments(void **state)
{
	struct sxp_error err;
	struct sxp_node *doc = parse("", &err);
	(void)state;
	assert_non_null(doc);
	assert_int_equal(doc->nkids, 0);
	sxp_free(doc);
	doc = parse("# only a comment\n\t\r\n# another", &err);
	assert_non_null(doc);
	assert_int_equal(doc->nkids, 0);
	sxp_free(doc);
	doc = parse("() '' \"\"", &err);
	assert_non_null(doc);
	assert_int_equal(doc->nkids, 3);
	assert_int_equal(doc->kids->type, SXP_LIST);
	assert_int_equal(doc->kids->nkids, 0);
	assert_null(sxp_key(doc->kids));
	assert_int_equal(doc->kids->next->atom_len, 0);
	sxp_free(doc);
}

struct get_case {
	const char *text;
	const char *key;
	int ret;
	const char *msg;
};

static const struct get_case get_bad[] = {
    {"(port)", "port", -EINVAL, "t.sxp:1:1: 'port' takes exactly one value, found 0"},
    {"(port 1 2)", "port", -EINVAL, "t.sxp:1:1: 'port' takes exactly one value, found 2"},
    {"(port (1))", "port", -EINVAL, "t.sxp:1:7: 'port': expected a value, found a list"},
    {"(port abc)", "port", -EINVAL, "t.sxp:1:7: 'port': 'abc' is not an integer"},
    {"(port 0179)", "port", -EINVAL, "t.sxp:1:7: 'port': '0179' is not an integer"},
    {"(port +5)", "port", -EINVAL, "t.sxp:1:7: 'port': '+5' is not an integer"},
    {"(port ' 5')", "port", -EINVAL, "t.sxp:1:7: 'port': ' 5' is not an integer"},
    {"(port 0x)", "port", -EINVAL, "t.sxp:1:7: 'port': '0x' is not an integer"},
    {"(port 65536)", "port", -EINVAL, "t.sxp:1:7: 'port': 65536 is out of range 1..65535"},
    {"(port 0)", "port", -EINVAL, "t.sxp:1:7: 'port': 0 is out of range 1..65535"},
    {"(port 99999999999999999999)", "port", -EINVAL,
     "t.sxp:1:7: 'port': '99999999999999999999' is out of range 1..65535"},
    {"(other 1)", "port", -ENOENT, "t.sxp:1:1: missing key 'port'"},
};

static void test_get_int_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(get_bad) / sizeof(get_bad[0]); i++) {
		struct sxp_error err;
		struct sxp_node *doc = parse(get_bad[i].text, &err);
		long long v = 42;
		assert_non_null(doc);
		assert_int_equal(sxp_get_int(doc, get_bad[i].key, 1, 65535, &v, &err),
				 get_bad[i].ret);
		assert_string_equal(err.msg, get_bad[i].msg);
		assert_int_equal(v, 42);
		sxp_free(doc);
	}
}

static void test_get_bool(void **state)
{
	static const struct {
		const char *text;
		int ret;
		bool v;
	} cases[] = {
	    {"(x yes)", 0, true},    {"(x no)", 0, false}, {"(x true)", 0, true},
	    {"(x false)", 0, false}, {"(x on)", 0, true},  {"(x off)", 0, false},
	    {"(x 1)", 0, true},	     {"(x 0)", 0, false},  {"(x maybe)", -EINVAL, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sxp_error err;
		struct sxp_node *doc = parse(cases[i].text, &err);
		bool v = !cases[i].v;
		assert_int_equal(sxp_get_bool(doc, "x", &v, &err), cases[i].ret);
		if (cases[i].ret == 0)
			assert_int_equal(v, cases[i].v);
		else
			assert_string_equal(err.msg, "t.sxp:1:4: 'x': 'maybe' is not yes or no");
		sxp_free(doc);
	}
}

static void test_check_keys(void **state)
{
	static const char *const allowed[] = {"id", "bridge", "peer*", NULL};
	static const struct {
		const char *text;
		int ret;
		const char *msg;
	} cases[] = {
	    {"(vnet (id 1) (bridge b) (peer a) (peer b))", 0, NULL},
	    {"(vnet (id 1) (colour red))", -EINVAL, "t.sxp:1:14: unknown key 'colour'"},
	    {"(vnet (id 1)\n (id 2))", -EINVAL,
	     "t.sxp:2:2: duplicate key 'id' (first at line 1 col 7)"},
	    {"(vnet (id 1) stray)", -EINVAL, "t.sxp:1:14: expected (key value), found 'stray'"},
	    {"(vnet (id 1) ((x) 1))", -EINVAL,
	     "t.sxp:1:14: expected (key value), found a list without a key"},
	    {"(vnet (id 1) ('id' 1))", -EINVAL,
	     "t.sxp:1:14: expected (key value), found a list without a key"},
	    {"(vnet (peers 1))", -EINVAL, "t.sxp:1:7: unknown key 'peers'"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sxp_error err;
		struct sxp_node *doc = parse(cases[i].text, &err);
		assert_non_null(doc);
		assert_int_equal(sxp_check_keys(doc->kids, 1, allowed, &err), cases[i].ret);
		if (cases[i].msg)
			assert_string_equal(err.msg, cases[i].msg);
		sxp_free(doc);
	}
}

static void test_atom_format(void **state)
{
	static const struct {
		const char *atom, *out;
	} cases[] = {
	    {"vnet97", "vnet97"},   {"/etc/tern/x.key", "/etc/tern/x.key"},
	    {"", "\"\""},	    {"two words", "\"two words\""},
	    {"#hash", "\"#hash\""}, {"a(b", "\"a(b\""},
	    {"q\"q", "\"q\\\"q\""}, {"^10\\.97$ x", "\"^10\\\\.97$ x\""},
	    {"it's", "\"it's\""},   {"l1\nl2\t", "\"l1\\nl2\\t\""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64], text[80];
		struct sxp_error err;
		size_t n = sxp_atom_format(buf, sizeof(buf), cases[i].atom);
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
		/* Reads back as the same atom. */
		snprintf(text, sizeof(text), "(k %s)", buf);
		struct sxp_node *doc = parse(text, &err);
		const char *s;
		assert_non_null(doc);
		assert_int_equal(sxp_get_str(doc, "k", &s, &err), 0);
		assert_string_equal(s, cases[i].atom);
		sxp_free(doc);
	}
	char small[5];
	assert_int_equal(sxp_atom_format(small, sizeof(small), "two words"), 11);
	assert_string_equal(small, "\"two");
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/test_sxp_XXXXXX";
	struct sxp_error err;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "(port 1798)\n(bad\n", 17), 17);
	close(fd);
	assert_null(sxp_parse_file(path, &err));
	char want[128];
	snprintf(want, sizeof(want), "%s:2:1: '(' is never closed", path);
	assert_string_equal(err.msg, want);
	unlink(path);
	assert_null(sxp_parse_file(path, &err));
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err.msg, want);
	assert_null(sxp_parse_file("/tmp", &err));
	assert_string_equal(err.msg, "/tmp: not a regular file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vnet_tree),
	    cmocka_unit_test(test_daemon_config),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_nul_and_limits),
	    cmocka_unit_test(test_empty_and_comments),
	    cmocka_unit_test(test_get_int_bad),
	    cmocka_unit_test(test_get_bool),
	    cmocka_unit_test(test_check_keys),
	    cmocka_unit_test(test_atom_format),
	    cmocka_unit_test(test_parse_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
