/* nl_link in a private network namespace: bridges (create, ensure, MTU,
 * up/down, ports), veths attached and detached, TAPs fd-held, persistent
 * and multi-queue, and the exact message of every refused request,
 * including the kernel's extended-ack text. Without a namespace, or with a
 * /dev/net/tun that cannot be opened, the cases fail as root and skip only
 * when not root (netns_missing). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns_private.h"
#include "nl_link.h"

static struct nl_link *nl;
static int netns_err; /* netns_private() in group_setup */

static int group_setup(void **state)
{
	(void)state;
	if ((netns_err = netns_private()) < 0)
		return 0; /* every test reports it (netns_missing) */
	nl = nl_link_new();
	return nl ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	nl_link_free(nl);
	nl_link_free(NULL);
	return 0;
}

#define NEED_NETNS()                                                                               \
	do {                                                                                       \
		if (!nl)                                                                           \
			netns_missing("no private network namespace", netns_err);                  \
	} while (0)

static void assert_err(int got, int want, const char *msg)
{
	assert_int_equal(got, want);
	assert_string_equal(nl_link_errmsg(nl), msg);
}

static void test_loopback_info(void **state)
{
	struct nl_link_info info;
	static const uint8_t zero[6];

	(void)state;
	NEED_NETNS();
	assert_int_equal(nl_link_info(nl, "lo", &info), 0);
	assert_string_equal(info.name, "lo");
	assert_string_equal(info.kind, "");
	assert_int_equal(info.ifindex, 1);
	assert_int_equal(info.mtu, 65536);
	assert_int_equal(info.master, 0);
	assert_false(info.up);
	assert_memory_equal(info.mac, zero, 6);
	assert_int_equal(nl_link_ifindex(nl, "lo"), 1);
	assert_int_equal(nl_link_info_by_index(nl, 1, &info), 0);
	assert_string_equal(info.name, "lo");
}

static void test_bridge_create_ensure_mtu_up(void **state)
{
	struct nl_link_info info;

	(void)state;
	NEED_NETNS();
	assert_int_equal(nl_link_bridge_add(nl, "tbr0", 1400), 0);
	assert_int_equal(nl_link_info(nl, "tbr0", &info), 0);
	assert_string_equal(info.kind, "bridge");
	assert_int_equal(info.mtu, 1400);
	assert_false(info.up);
	assert_err(nl_link_bridge_add(nl, "tbr0", 1400), -EEXIST,
		   "bridge tbr0: create: File exists");
	/* A restarted vnetd: the bridge is there already, MTU is re-applied. */
	assert_int_equal(nl_link_bridge_ensure(nl, "tbr0", 1300), 0);
	assert_int_equal(nl_link_info(nl, "tbr0", &info), 0);
	assert_int_equal(info.mtu, 1300);
	assert_int_equal(nl_link_bridge_ensure(nl, "tbr1", 0), 0);
	assert_int_equal(nl_link_info(nl, "tbr1", &info), 0);
	assert_string_equal(info.kind, "bridge");
	assert_int_equal(nl_link_set_up(nl, "tbr0", true), 0);
	assert_int_equal(nl_link_info(nl, "tbr0", &info), 0);
	assert_true(info.up);
	assert_int_equal(nl_link_set_up(nl, "tbr0", false), 0);
	assert_int_equal(nl_link_info(nl, "tbr0", &info), 0);
	assert_false(info.up);
	assert_int_equal(nl_link_delete(nl, "tbr1"), 0);
	assert_err(nl_link_delete(nl, "tbr1"), -ENODEV, "link tbr1: delete: No such device");
	assert_int_equal(nl_link_delete(nl, "tbr0"), 0);
}

static void test_ports_attach_detach(void **state)
{
	struct nl_link_info ports[4], info;
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};
	const uint8_t mcast[6] = {0x01, 0, 0, 0, 0, 0x01};
	int br;

	(void)state;
	NEED_NETNS();
	assert_int_equal(nl_link_bridge_add(nl, "tbr2", 0), 0);
	br = nl_link_ifindex(nl, "tbr2");
	assert_true(br > 0);
	assert_int_equal(nl_link_veth_add(nl, "tv0", "tv1"), 0);
	assert_err(nl_link_veth_add(nl, "tv0", "tv9"), -EEXIST, "veth tv0: create: File exists");
	assert_int_equal(nl_link_bridge_ports(nl, "tbr2", ports, 4), 0);
	assert_int_equal(nl_link_set_master(nl, "tv0", "tbr2"), 0);
	assert_int_equal(nl_link_set_master(nl, "tv0", "tbr2"), 0); /* again: fine */
	assert_int_equal(nl_link_bridge_ports(nl, "tbr2", ports, 4), 1);
	assert_string_equal(ports[0].name, "tv0");
	assert_string_equal(ports[0].kind, "veth");
	assert_int_equal(ports[0].master, br);
	assert_int_equal(nl_link_bridge_ports(nl, "tbr2", ports, 0), 1); /* count only */
	assert_int_equal(nl_link_set_mac(nl, "tv0", mac), 0);
	assert_int_equal(nl_link_info(nl, "tv0", &info), 0);
	assert_memory_equal(info.mac, mac, 6);
	assert_err(nl_link_set_mac(nl, "tv0", mcast), -EADDRNOTAVAIL,
		   "link tv0: set address 01:00:00:00:00:01: Cannot assign requested address");
	assert_err(nl_link_set_mtu(nl, "tv0", 70000), -EINVAL,
		   "link tv0: set mtu 70000: Invalid argument (mtu greater than device maximum)");
	assert_err(nl_link_set_master(nl, "tv0", "nope0"), -ENODEV,
		   "link tv0: attach to nope0: No such device");
	assert_err(nl_link_set_master(nl, "tbr2", "tbr2"), -ELOOP,
		   "link tbr2: attach to tbr2: Too many levels of symbolic links "
		   "(Can not enslave a bridge to a bridge)");
	assert_err(nl_link_bridge_ensure(nl, "tv1", 0), -EEXIST,
		   "bridge tv1: create: a veth link has that name: File exists");
	assert_err(nl_link_bridge_ports(nl, "tv1", ports, 4), -EINVAL,
		   "bridge tv1: list ports: a veth link, not a bridge: Invalid argument");
	assert_int_equal(nl_link_set_nomaster(nl, "tv0"), 0);
	assert_int_equal(nl_link_set_nomaster(nl, "tv0"), 0); /* none: fine */
	assert_int_equal(nl_link_bridge_ports(nl, "tbr2", ports, 4), 0);
	assert_int_equal(nl_link_info(nl, "tv0", &info), 0);
	assert_int_equal(info.master, 0);
	assert_int_equal(nl_link_delete(nl, "tv0"), 0); /* takes tv1 along */
	assert_int_equal(nl_link_ifindex(nl, "tv1"), -ENODEV);
	assert_int_equal(nl_link_delete(nl, "tbr2"), 0);
}

/* 0, or -errno when /dev/net/tun cannot be opened. */
static int tun_usable(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void test_tap_fd_held_and_persistent(void **state)
{
	struct nl_link_info info, ports[2];
	char name[IFNAMSIZ] = "ttap0";
	char any[IFNAMSIZ] = "";
	int fd, fd2;

	(void)state;
	NEED_NETNS();
	int terr = tun_usable();
	if (terr < 0)
		netns_missing("/dev/net/tun", terr);
	fd = nl_link_tap_open(nl, name, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(nl_link_info(nl, "ttap0", &info), 0);
	assert_string_equal(info.kind, "tun");
	assert_int_equal(nl_link_bridge_add(nl, "tbr3", 1400), 0);
	assert_int_equal(nl_link_set_mtu(nl, "ttap0", 1400), 0);
	assert_int_equal(nl_link_set_master(nl, "ttap0", "tbr3"), 0);
	assert_int_equal(nl_link_bridge_ports(nl, "tbr3", ports, 2), 1);
	assert_string_equal(ports[0].name, "ttap0");
	assert_int_equal(ports[0].mtu, 1400);
	close(fd); /* fd-held: gone with its fd */
	assert_int_equal(nl_link_ifindex(nl, "ttap0"), -ENODEV);

	fd = nl_link_tap_open(nl, name, NL_LINK_TAP_PERSIST);
	assert_true(fd >= 0);
	close(fd);
	assert_true(nl_link_ifindex(nl, "ttap0") > 0);
	fd = nl_link_tap_open(nl, name, NL_LINK_TAP_PERSIST); /* re-attach */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(nl_link_delete(nl, "ttap0"), 0);
	assert_int_equal(nl_link_ifindex(nl, "ttap0"), -ENODEV);

	fd = nl_link_tap_open(nl, any, NL_LINK_TAP_MULTI_QUEUE | NL_LINK_TAP_VNET_HDR);
	assert_true(fd >= 0);
	assert_memory_equal(any, "tap", 3);
	fd2 = nl_link_tap_open(nl, any, NL_LINK_TAP_MULTI_QUEUE | NL_LINK_TAP_VNET_HDR);
	assert_true(fd2 >= 0);
	close(fd);
	assert_true(nl_link_ifindex(nl, any) > 0); /* the second queue holds it */
	close(fd2);
	assert_int_equal(nl_link_ifindex(nl, any), -ENODEV);

	assert_err(nl_link_tap_open(nl, (char[IFNAMSIZ]){"tbr3"}, 0), -EEXIST,
		   "tap tbr3: open: a bridge link has that name: File exists");
	assert_err(nl_link_tap_open(nl, name, 0x80), -EINVAL,
		   "tap ttap0: open: unknown flags 0x80: Invalid argument");
	assert_int_equal(nl_link_delete(nl, "tbr3"), 0);
}

static void test_bad_names(void **state)
{
	static const struct {
		const char *name;
		const char *msg;
	} table[] = {
	    {"", "bridge : create: bad name: Invalid argument"},
	    {"a/b", "bridge a/b: create: bad name: Invalid argument"},
	    {"..", "bridge ..: create: bad name: Invalid argument"},
	    {"a b", "bridge a b: create: bad name: Invalid argument"},
	    {"sixteen-chars-xx", "bridge sixteen-chars-xx: create: bad name: Invalid argument"},
	};
	struct nl_link_info info;

	(void)state;
	NEED_NETNS();
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_err(nl_link_bridge_add(nl, table[i].name, 0), -EINVAL, table[i].msg);
	assert_err(nl_link_info(nl, "nope0", &info), -ENODEV, "link nope0: lookup: No such device");
	assert_err(nl_link_info_by_index(nl, 0, &info), -ENODEV, "link #0: lookup: No such device");
	assert_err(nl_link_info_by_index(nl, 99999, &info), -ENODEV,
		   "link #99999: lookup: No such device");
	assert_err(nl_link_set_mtu(nl, "nope0", 1400), -ENODEV,
		   "link nope0: set mtu 1400: No such device");
	assert_err(nl_link_set_up(nl, "a/b", true), -EINVAL,
		   "link a/b: set up: bad name: Invalid argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loopback_info),
	    cmocka_unit_test(test_bridge_create_ensure_mtu_up),
	    cmocka_unit_test(test_ports_attach_detach),
	    cmocka_unit_test(test_tap_fd_held_and_persistent),
	    cmocka_unit_test(test_bad_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
