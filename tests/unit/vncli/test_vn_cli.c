/* vncli, the client side vn and vm share: which socket (an option, a
 * config, the default), a command's options and argument count, vnet id
 * arguments, and vnet-list's records rendered as text and JSON. */
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

#include "vn_cli.h"
#include "vn_ctl.h"
#include "vnet_id.h"
#include "vnetd_conf.h"

static struct vn_cli cli_new(void)
{
	struct vn_cli cli = {.prog = "vm", .usage = "vm [--vnetd-socket PATH]"};

	return cli;
}

/* Writes text to a new temporary file; its path into path. */
static void tmp_conf(char path[64], const char *text)
{
	int fd;

	strcpy(path, "/tmp/test_vn_cli.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_socket_given(void **state)
{
	struct vn_cli cli = cli_new();
	char longp[300];

	(void)state;
	assert_int_equal(vn_cli_socket(&cli, "/x/vnetd.sock", "/nonexistent.sxp"), 0);
	assert_string_equal(cli.socket, "/x/vnetd.sock"); /* the socket wins */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vn_cli_socket(&cli, longp, NULL), -ENAMETOOLONG);
	longp[sizeof(cli.socket) - 1] = '\0'; /* exactly the room there is */
	assert_int_equal(vn_cli_socket(&cli, longp, NULL), 0);
	assert_string_equal(cli.socket, longp);
}

static void test_socket_from_conf(void **state)
{
	struct vn_cli cli = cli_new();
	char path[64];

	(void)state;
	tmp_conf(path, "(port 1799)\n(control-socket /tmp/h1/run/vnetd.sock)\n");
	assert_int_equal(vn_cli_socket(&cli, NULL, path), 0);
	assert_string_equal(cli.socket, "/tmp/h1/run/vnetd.sock");
	unlink(path);
	/* A config without the key: the built-in default. */
	tmp_conf(path, "(port 1799)\n");
	assert_int_equal(vn_cli_socket(&cli, NULL, path), 0);
	assert_string_equal(cli.socket, "/run/tern/vnetd.sock");
	unlink(path);
}

static void test_socket_conf_bad(void **state)
{
	struct vn_cli cli = cli_new();
	char path[64];

	(void)state;
	strcpy(cli.socket, "unchanged");
	assert_int_equal(vn_cli_socket(&cli, NULL, "/nonexistent/vnetd.sxp"), -ENOENT);
	tmp_conf(path, "(control-sock /x)\n"); /* unknown key */
	assert_int_equal(vn_cli_socket(&cli, NULL, path), -EINVAL);
	unlink(path);
	tmp_conf(path, "(control-socket\n"); /* does not parse */
	assert_true(vn_cli_socket(&cli, NULL, path) < 0);
	unlink(path);
	assert_string_equal(cli.socket, "unchanged");
}

static void test_socket_default(void **state)
{
	struct vn_cli cli = cli_new();

	(void)state;
	assert_int_equal(vn_cli_socket(&cli, NULL, NULL), 0);
	/* Only a host without vnetd's config has a known answer. */
	if (access(VNETD_CONF_DEFAULT, F_OK) != 0)
		assert_string_equal(cli.socket, "/run/tern/vnetd.sock");
	else
		assert_true(cli.socket[0] == '/');
}

/* What the test command saw when run. */
static struct {
	int calls, argc;
	char argv[4][32];
} seen;

static int record_run(struct vn_cli *cli, int argc, char **argv)
{
	(void)cli;
	seen.calls++;
	seen.argc = argc;
	for (int i = 0; i < argc && i < 4; i++)
		snprintf(seen.argv[i], sizeof(seen.argv[i]), "%s", argv[i]);
	return 42;
}

static int run(struct vn_cli *cli, unsigned opts, int n, ...)
{
	static const struct vn_cmd base = {"t-cmd", "[X]", "s", "h", 1, 2, 0, record_run};
	struct vn_cmd c = base;
	char *argv[8];
	va_list ap;

	c.opts = opts;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[n] = NULL;
	memset(&seen, 0, sizeof(seen));
	return vn_cmd_run(cli, &c, n, argv);
}

static void test_cmd_run_options(void **state)
{
	struct vn_cli cli = cli_new();

	(void)state;
	assert_int_equal(run(&cli, 0, 3, "t-cmd", "--json", "97"), 42);
	assert_true(cli.json);
	assert_int_equal(seen.argc, 2);
	assert_string_equal(seen.argv[0], "t-cmd"); /* the name stays in front */
	assert_string_equal(seen.argv[1], "97");
	cli = cli_new();
	assert_int_equal(run(&cli, VN_OPT_LONG, 3, "t-cmd", "-l", "-j"), 42);
	assert_true(cli.json);
	assert_int_equal(seen.argc, 1);
	assert_int_equal(run(&cli, VN_OPT_LONG, 2, "t-cmd", "--long"), 42);
	assert_int_equal(run(&cli, VN_OPT_KEYS, 2, "t-cmd", "--keys"), 42);
	assert_true(cli.keys);
}

static void test_cmd_run_refused(void **state)
{
	struct vn_cli cli = cli_new();

	(void)state;
	/* An option the command does not take, a wrong count: usage, not run. */
	assert_int_equal(run(&cli, 0, 2, "t-cmd", "-l"), VN_EXIT_USAGE);
	assert_int_equal(run(&cli, VN_OPT_LONG, 2, "t-cmd", "--keys"), VN_EXIT_USAGE);
	assert_int_equal(run(&cli, 0, 2, "t-cmd", "--bogus"), VN_EXIT_USAGE);
	assert_int_equal(run(&cli, 0, 4, "t-cmd", "a", "b", "c"), VN_EXIT_USAGE);
	assert_int_equal(seen.calls, 0);
	/* --help answers and runs nothing. */
	assert_int_equal(run(&cli, 0, 3, "t-cmd", "--help", "a"), VN_EXIT_OK);
	assert_int_equal(seen.calls, 0);
}

static void test_vnet_table(void **state)
{
	(void)state;
	assert_non_null(vn_cmd_find(vn_vnet_cmds, "vnet-create"));
	assert_non_null(vn_cmd_find(vn_vnet_cmds, "vnet-delete"));
	assert_int_equal(vn_cmd_find(vn_vnet_cmds, "vnet-list")->opts, VN_OPT_LONG);
	assert_null(vn_cmd_find(vn_vnet_cmds, "peer-add"));
	assert_null(vn_cmd_find(vn_vnet_cmds, "vnet"));
	assert_null(vn_cmd_find(vn_vnet_cmds, ""));
}

static void test_id_arg(void **state)
{
	struct vn_cli cli = cli_new();
	struct vnet_id vid;
	uint8_t id[16];
	char buf[VNET_ID_STRLEN];

	(void)state;
	assert_int_equal(vn_id_arg(&cli, "vnet-delete", "97", id), 0);
	memcpy(vid.b, id, sizeof(vid.b));
	assert_string_equal(vnet_id_str(&vid, buf), "97");
	assert_int_equal(vn_id_arg(&cli, "vnet-delete", "1/2", id), -EINVAL);
	assert_int_equal(vn_id_arg(&cli, "vnet-delete", "", id), -EINVAL);
	assert_int_equal(vn_id_arg(&cli, "vnet-delete", "0", id), -EINVAL);
}

static struct vn_ctl_vnet vnet97(void)
{
	struct vn_ctl_vnet v;
	struct vnet_id vid;

	memset(&v, 0, sizeof(v));
	assert_int_equal(vnet_id_parse("97", &vid, NULL, 0), VNET_ID_OK);
	memcpy(v.id, vid.b, sizeof(v.id));
	strcpy(v.bridge, "vnet97");
	strcpy(v.vnetif, "vnif97");
	strcpy(v.suite, "aes128gcm");
	v.security = VN_CTL_SEC_CONF;
	v.mtu = 1400;
	return v;
}

/* Renders records through vn_vnet_rec; returns its result, text in out. */
static int render(bool json, const void *p, size_t len, char *out, size_t cap)
{
	struct vn_cli cli = cli_new();
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	int rc;

	assert_non_null(f);
	out_init(&cli.out, f, json);
	out_begin(&cli.out);
	rc = vn_vnet_rec(&cli, p, len);
	out_end(&cli.out);
	fclose(f);
	snprintf(out, cap, "%s", text);
	free(text);
	return rc;
}

static void test_vnet_rec(void **state)
{
	struct vn_ctl_vnet v[2] = {vnet97(), vnet97()};
	char out[512];

	(void)state;
	strcpy(v[1].bridge, "br98");
	v[1].security = VN_CTL_SEC_NONE;
	strcpy(v[1].suite, "none");
	assert_int_equal(render(true, v, sizeof(v), out, sizeof(out)), 0);
	assert_string_equal(out, "[{\"id\":\"97\",\"bridge\":\"vnet97\",\"vnetif\":\"vnif97\","
				 "\"security\":\"conf\",\"suite\":\"aes128gcm\",\"mtu\":1400},"
				 "{\"id\":\"97\",\"bridge\":\"br98\",\"vnetif\":\"vnif97\","
				 "\"security\":\"none\",\"suite\":\"none\",\"mtu\":1400}]\n");
	assert_int_equal(render(false, v, sizeof(v[0]), out, sizeof(out)), 0);
	assert_non_null(strstr(out, "vnet 97 bridge vnet97 vnetif vnif97 security conf"));
	assert_int_equal(render(true, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "[]\n");
}

static void test_vnet_rec_bad(void **state)
{
	struct vn_ctl_vnet v = vnet97();
	char out[512];

	(void)state;
	assert_int_equal(render(true, &v, sizeof(v) - 1, out, sizeof(out)), -EPROTO);
	v.security = 3;
	assert_int_equal(render(true, &v, sizeof(v), out, sizeof(out)), -EPROTO);
	v = vnet97();
	memset(v.bridge, 'b', sizeof(v.bridge)); /* no NUL */
	assert_int_equal(render(true, &v, sizeof(v), out, sizeof(out)), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_socket_given),    cmocka_unit_test(test_socket_from_conf),
	    cmocka_unit_test(test_socket_conf_bad), cmocka_unit_test(test_socket_default),
	    cmocka_unit_test(test_cmd_run_options), cmocka_unit_test(test_cmd_run_refused),
	    cmocka_unit_test(test_vnet_table),	    cmocka_unit_test(test_id_arg),
	    cmocka_unit_test(test_vnet_rec),	    cmocka_unit_test(test_vnet_rec_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
