/*
 * svc_nltool: drives libsvc's nl_link and fdb_follow from shell tests.
 *
 *   svc_nltool bridge-add|bridge-ensure NAME MTU
 *   svc_nltool tap-add NAME               persistent TAP
 *   svc_nltool tap-hold NAME BRIDGE SECS  fd-held TAP on BRIDGE, up; prints
 *                                          "ready", holds until SIGTERM/SECS
 *   svc_nltool veth-add NAME PEER
 *   svc_nltool master NAME BRIDGE | nomaster NAME | mtu NAME N
 *   svc_nltool up NAME | down NAME | del NAME
 *   svc_nltool info NAME                  "kind=K mtu=M master=B up=U mac=X"
 *   svc_nltool ports BRIDGE               one port name per line
 *   svc_nltool fdb-follow BRIDGE SECS     one line per FDB event (see below)
 *
 * FDB lines: "sync-begin", "sync-end", or
 * "add|del MAC port NAME vlan N local|static|learned[ self]".
 * Errors: one line "svc_nltool: <message>" on stderr, exit status 1.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "fdb_follow.h"
#include "nl_link.h"

static struct nl_link *nl;

static int check(int err)
{
	if (err < 0) {
		fprintf(stderr, "svc_nltool: %s\n", nl_link_errmsg(nl));
		exit(1);
	}
	return err;
}

static unsigned number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > 1000000) {
		fprintf(stderr, "svc_nltool: bad number '%s'\n", s);
		exit(2);
	}
	return (unsigned)v;
}

static void port_name(int ifindex, char *buf)
{
	if (!if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IFNAMSIZ, "#%d", ifindex);
}

static void on_fdb(const struct fdb_event *ev, void *arg)
{
	char port[IFNAMSIZ];
	const uint8_t *m = ev->mac;

	(void)arg;
	if (ev->type == FDB_EVENT_SYNC_BEGIN || ev->type == FDB_EVENT_SYNC_END) {
		printf("%s\n", ev->type == FDB_EVENT_SYNC_BEGIN ? "sync-begin" : "sync-end");
	} else {
		port_name(ev->port, port);
		printf("%s %02x:%02x:%02x:%02x:%02x:%02x port %s vlan %u %s%s\n",
		       ev->type == FDB_EVENT_ADD ? "add" : "del", m[0], m[1], m[2], m[3], m[4],
		       m[5], port, ev->vlan,
		       ev->local       ? "local"
		       : ev->is_static ? "static"
				       : "learned",
		       ev->self ? " self" : "");
	}
	fflush(stdout);
}

static void on_quit(struct ev_signal *sig, void *arg)
{
	(void)sig;
	ev_stop(arg);
}

static void on_deadline(struct ev_timer *t, void *arg)
{
	(void)t;
	ev_stop(arg);
}

/* Runs a loop until SIGTERM/SIGINT or `secs` pass; fdb_bridge > 0 also
 * follows that bridge's FDB meanwhile. */
static int serve(unsigned secs, int fdb_bridge)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_signal term, intr;
	struct ev_timer deadline;
	struct fdb_follow *f = NULL;
	int err;

	if (!loop)
		return -errno;
	ev_signal_init(&term, SIGTERM, on_quit, loop);
	ev_signal_init(&intr, SIGINT, on_quit, loop);
	ev_timer_init(&deadline, on_deadline, loop);
	if (ev_signal_start(loop, &term) || ev_signal_start(loop, &intr) ||
	    ev_timer_start(loop, &deadline, (uint64_t)secs * 1000u, 0)) {
		ev_loop_free(loop);
		return -EINVAL;
	}
	if (fdb_bridge > 0 && !(f = fdb_follow_new(loop, fdb_bridge, on_fdb, NULL))) {
		err = -errno;
		ev_loop_free(loop);
		return err;
	}
	printf("ready\n");
	fflush(stdout);
	err = ev_run(loop);
	fdb_follow_free(f);
	ev_timer_stop(&deadline);
	ev_signal_stop(&term);
	ev_signal_stop(&intr);
	ev_loop_free(loop);
	return err;
}

static int cmd_info(const char *name)
{
	struct nl_link_info info;
	char master[IFNAMSIZ] = "-";

	check(nl_link_info(nl, name, &info));
	if (info.master)
		port_name(info.master, master);
	printf("kind=%s mtu=%u master=%s up=%d mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
	       info.kind[0] ? info.kind : "-", info.mtu, master, info.up, info.mac[0], info.mac[1],
	       info.mac[2], info.mac[3], info.mac[4], info.mac[5]);
	return 0;
}

static int cmd_ports(const char *bridge)
{
	struct nl_link_info ports[64];
	int n = check(nl_link_bridge_ports(nl, bridge, ports, 64));

	for (int i = 0; i < n && i < 64; i++)
		printf("%s\n", ports[i].name);
	return 0;
}

static int cmd_tap_hold(const char *name, const char *bridge, unsigned secs)
{
	char ifname[IFNAMSIZ];
	int fd, err;

	snprintf(ifname, sizeof(ifname), "%s", name);
	fd = check(nl_link_tap_open(nl, ifname, 0));
	check(nl_link_set_master(nl, ifname, bridge));
	check(nl_link_set_up(nl, ifname, true));
	err = serve(secs, 0);
	close(fd);
	return err;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[1];
	char ifname[IFNAMSIZ];

#define IS(c, n) (!strcmp(cmd, c) && argc == (n) + 2)
	if (IS("bridge-add", 2))
		return check(nl_link_bridge_add(nl, argv[2], number(argv[3])));
	if (IS("bridge-ensure", 2))
		return check(nl_link_bridge_ensure(nl, argv[2], number(argv[3])));
	if (IS("tap-add", 1)) {
		snprintf(ifname, sizeof(ifname), "%s", argv[2]);
		close(check(nl_link_tap_open(nl, ifname, NL_LINK_TAP_PERSIST)));
		return 0;
	}
	if (IS("tap-hold", 3))
		return cmd_tap_hold(argv[2], argv[3], number(argv[4]));
	if (IS("veth-add", 2))
		return check(nl_link_veth_add(nl, argv[2], argv[3]));
	if (IS("master", 2))
		return check(nl_link_set_master(nl, argv[2], argv[3]));
	if (IS("nomaster", 1))
		return check(nl_link_set_nomaster(nl, argv[2]));
	if (IS("mtu", 2))
		return check(nl_link_set_mtu(nl, argv[2], number(argv[3])));
	if (IS("up", 1) || IS("down", 1))
		return check(nl_link_set_up(nl, argv[2], !strcmp(cmd, "up")));
	if (IS("del", 1))
		return check(nl_link_delete(nl, argv[2]));
	if (IS("info", 1))
		return cmd_info(argv[2]);
	if (IS("ports", 1))
		return cmd_ports(argv[2]);
	if (IS("fdb-follow", 2))
		return serve(number(argv[3]), check(nl_link_ifindex(nl, argv[2])));
#undef IS
	fprintf(stderr, "svc_nltool: unknown command or wrong arguments (see the source)\n");
	return -EINVAL;
}

int main(int argc, char **argv)
{
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: svc_nltool COMMAND ARGS...\n");
		return 2;
	}
	nl = nl_link_new();
	if (!nl) {
		fprintf(stderr, "svc_nltool: netlink: %s\n", strerror(errno));
		return 1;
	}
	err = run(argc, argv);
	if (err < 0 && err != -EINVAL)
		fprintf(stderr, "svc_nltool: %s: %s\n", argv[1], strerror(-err));
	nl_link_free(nl);
	return err < 0 ? 1 : 0;
}
