/* vnetd's state dir: atomic file replacement, vnet and peer files, and the "bridge created" marker.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vnetd.h"

static struct vnetd d;
static char dir[] = "/tmp/test_persist.XXXXXX";

static int setup(void **state)
{
	(void)state;
	memset(&d, 0, sizeof(d));
	assert_non_null(mkdtemp(dir));
	snprintf(d.conf.state_dir, sizeof(d.conf.state_dir), "%s/state", dir);
	return persist_init(&d);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void read_file(const char *rel, char *buf, size_t cap)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/state/vnetd/%s", dir, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_atomic_write(void **state)
{
	char path[512], tmp[520];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/state/vnetd/f", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(persist_write_file(path, "one", 3, 0600), 0);
	assert_int_equal(persist_write_file(path, "two!", 4, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(persist_write_file("/nonexistent/dir/f", "x", 1, 0600), -ENOENT);
}

static void test_vnet_files(void **state)
{
	struct vnetd_vnet v = {0};
	struct vnet_conf back;
	struct sxp_error err;
	char buf[512];

	(void)state;
	v.d = &d;
	assert_int_equal(vnet_conf_parse("t", "(vnet (id 97) (security none))", 30, &v.conf, &err),
			 0);
	v.bridge_created = true;
	assert_int_equal(persist_vnet_save(&d, &v), 0);
	assert_true(persist_vnet_created(&d, &v.conf.id));
	read_file("vnets/97.sxp", buf, sizeof(buf));
	assert_int_equal(vnet_conf_parse("97.sxp", buf, strlen(buf), &back, &err), 0);
	assert_string_equal(back.bridge, "vnet97");
	assert_int_equal(back.mtu, 1400);
	v.bridge_created = false;
	assert_int_equal(persist_vnet_save(&d, &v), 0);
	assert_false(persist_vnet_created(&d, &v.conf.id));
	assert_int_equal(persist_vnet_remove(&d, &v.conf.id), 0);
	assert_int_equal(persist_vnet_remove(&d, &v.conf.id), -ENOENT);
}

static void test_peers_file(void **state)
{
	struct vnetd_peer a = {0}, b = {0};
	char buf[256];

	(void)state;
	strcpy(a.host, "h2.example");
	strcpy(b.host, "10.0.0.3");
	a.next = &b;
	d.peers = &a;
	assert_int_equal(persist_peers_save(&d), 0);
	read_file("peers", buf, sizeof(buf));
	assert_string_equal(buf, "h2.example\n10.0.0.3\n");
	d.peers = NULL;
	assert_int_equal(persist_peers_save(&d), 0);
	read_file("peers", buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_atomic_write),
	    cmocka_unit_test(test_vnet_files),
	    cmocka_unit_test(test_peers_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
