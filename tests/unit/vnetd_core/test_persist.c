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

static void write_rel(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state/vnetd/%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

/* persist_read hands back what the state dir holds, in name and file
 * order, skipping (and logging) what does not parse, and acts on nothing:
 * no vnet or peer of the daemon appears. An epoch file of an older vnetd
 * is left alone. */
static void test_read(void **state)
{
	struct vnetd_vnet v = {0};
	struct persist_state st;
	struct sxp_error err;
	char long_host[VN_CTL_HOST + 20], peers[VN_CTL_HOST + 64];

	(void)state;
	v.d = &d;
	assert_int_equal(vnet_conf_parse("t", "(vnet (id 98) (security none))", 30, &v.conf, &err),
			 0);
	assert_int_equal(persist_vnet_save(&d, &v), 0);
	assert_int_equal(vnet_conf_parse("t", "(vnet (id 97) (security none))", 30, &v.conf, &err),
			 0);
	assert_int_equal(persist_vnet_save(&d, &v), 0);
	write_rel("vnets/99.sxp", "(vnet (id 99) (bogus 1))");
	write_rel("vnets/96.sxp.tmp", "(vnet (id 96))");
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	snprintf(peers, sizeof(peers), "h2.example\n%s\n\n10.0.0.3\r\n", long_host);
	write_rel("peers", peers);
	write_rel("epoch", "41\n");

	assert_int_equal(persist_read(&d, &st), 0);
	assert_int_equal(st.nvnets, 2);
	assert_int_equal(st.vnets[0].id.b[15], 0x97);
	assert_int_equal(st.vnets[1].id.b[15], 0x98);
	assert_int_equal(st.npeers, 2);
	assert_string_equal(st.peers[0], "h2.example");
	assert_string_equal(st.peers[1], "10.0.0.3");
	assert_null(d.vnets);
	assert_null(d.peers);
	persist_state_free(&st);
	assert_int_equal(st.nvnets, 0);
	read_file("epoch", peers, sizeof(peers));
	assert_string_equal(peers, "41\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_atomic_write),
	    cmocka_unit_test(test_vnet_files),
	    cmocka_unit_test(test_peers_file),
	    cmocka_unit_test(test_read),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
