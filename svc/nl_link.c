/*
 * nl_link: bridges, TAPs and link settings over libnl-route. See nl_link.h.
 *
 * libnl turns kernel errors into its own NLE_* codes and drops the
 * extended-ack text, so an error callback on the socket keeps the kernel's
 * errno and message for the one line nl_link_errmsg() returns.
 */
#include "nl_link.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct nl_link {
	struct nl_sock *sk;
	int kerr;		       /* kernel errno of the last request, 0 if none */
	char kmsg[NL_LINK_ERRMSG_MAX]; /* its extended-ack text, "" if none */
	char errmsg[NL_LINK_ERRMSG_MAX];
};

/* --- errors --- */

/* Keeps the kernel's errno and extended-ack message (NLMSGERR_ATTR_MSG). */
static int on_nl_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nl_link *nl = arg;
	const struct nlmsghdr *h = (const void *)((const char *)e - NLMSG_HDRLEN);
	size_t avail = h->nlmsg_len - NLMSG_HDRLEN; /* libnl checked >= sizeof(*e) */
	size_t off = sizeof(*e);
	const struct nlattr *attr;

	(void)nla;
	nl->kerr = e->error;
	nl->kmsg[0] = 0;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* The TLVs follow the echoed request, whole unless capped. */
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(e->msg))
			return NL_STOP;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - sizeof(e->msg);
		if (off > avail)
			return NL_STOP;
	}
	mnl_attr_for_each(attr, h, off)
	{
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(nl->kmsg, sizeof(nl->kmsg), "%s", mnl_attr_get_str(attr));
	}
	return NL_STOP;
}

static int errno_from_nle(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_INVAL:
	case NLE_RANGE:
		return EINVAL;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return ENODEV;
	case NLE_BUSY:
		return EBUSY;
	case NLE_PERM:
	case NLE_NOACCESS:
		return EPERM;
	case NLE_AGAIN:
		return EAGAIN;
	default:
		return EIO;
	}
}

static void request_begin(struct nl_link *nl)
{
	nl->kerr = 0;
	nl->kmsg[0] = 0;
}

/* The -errno of a failed libnl call: the kernel's own when it gave one. */
static int request_errno(struct nl_link *nl, int nle)
{
	if (nle >= 0)
		return 0;
	return nl->kerr ? nl->kerr : -errno_from_nle(nle);
}

/* Writes "<kind> <name>: <what>: <strerror>[ (<kernel text>)]", returns err. */
__attribute__((format(printf, 5, 6))) static int fail(struct nl_link *nl, int err, const char *kind,
						      const char *name, const char *what, ...)
{
	char action[96];
	size_t len, klen;
	va_list ap;

	va_start(ap, what);
	vsnprintf(action, sizeof(action), what, ap);
	va_end(ap);
	snprintf(nl->errmsg, sizeof(nl->errmsg), "%s %.*s: %s: %s", kind, IFNAMSIZ, name, action,
		 strerror(-err));
	len = strlen(nl->errmsg);
	klen = strlen(nl->kmsg);
	/* The kernel's reason only when it is about this error and fits whole. */
	if (nl->kerr == err && klen && len + klen + 4 <= sizeof(nl->errmsg)) {
		nl->errmsg[len++] = ' ';
		nl->errmsg[len++] = '(';
		memcpy(nl->errmsg + len, nl->kmsg, klen);
		len += klen;
		nl->errmsg[len++] = ')';
		nl->errmsg[len] = 0;
	}
	log_debug("nl_link: %s", nl->errmsg);
	return err;
}

const char *nl_link_errmsg(const struct nl_link *nl)
{
	return nl->errmsg;
}

/* --- socket --- */

struct nl_link *nl_link_new(void)
{
	struct nl_link *nl = calloc(1, sizeof(*nl));
	struct nl_cb *cb;
	int one = 1, err;

	if (!nl)
		return NULL;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		err = ENOMEM;
		goto fail;
	}
	err = nl_connect(nl->sk, NETLINK_ROUTE);
	if (err < 0) {
		err = errno_from_nle(err);
		goto fail;
	}
	/* Older kernels lack extended acks; errors then have no text. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	cb = nl_socket_get_cb(nl->sk); /* a new reference */
	nl_cb_err(cb, NL_CB_CUSTOM, on_nl_error, nl);
	nl_cb_put(cb);
	return nl;
fail:
	nl_link_free(nl);
	errno = err;
	return NULL;
}

void nl_link_free(struct nl_link *nl)
{
	if (!nl)
		return;
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl);
}

/* --- lookups --- */

static bool name_valid(const char *name)
{
	size_t len = name ? strnlen(name, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ && strcmp(name, ".") && strcmp(name, "..") &&
	       !strpbrk(name, "/: \t\n");
}

/* Fetches one link by name or (name NULL) by ifindex; -ENODEV if absent. */
static int link_get(struct nl_link *nl, const char *name, int ifindex, struct rtnl_link **out)
{
	int err;

	request_begin(nl);
	err = rtnl_link_get_kernel(nl->sk, name ? 0 : ifindex, name, out);
	return request_errno(nl, err);
}

static void info_fill(struct rtnl_link *l, struct nl_link_info *out)
{
	struct nl_addr *a = rtnl_link_get_addr(l);
	const char *kind = rtnl_link_get_type(l);

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", rtnl_link_get_name(l));
	snprintf(out->kind, sizeof(out->kind), "%s", kind ? kind : "");
	out->ifindex = rtnl_link_get_ifindex(l);
	out->master = rtnl_link_get_master(l);
	out->mtu = rtnl_link_get_mtu(l);
	out->up = rtnl_link_get_flags(l) & IFF_UP;
	if (a && nl_addr_get_len(a) == sizeof(out->mac))
		memcpy(out->mac, nl_addr_get_binary_addr(a), sizeof(out->mac));
}

int nl_link_info(struct nl_link *nl, const char *name, struct nl_link_info *out)
{
	struct rtnl_link *l = NULL;
	int err;

	if (!name_valid(name))
		return fail(nl, -EINVAL, "link", name ? name : "", "lookup");
	err = link_get(nl, name, 0, &l);
	if (err)
		return fail(nl, err, "link", name, "lookup");
	info_fill(l, out);
	rtnl_link_put(l);
	return 0;
}

int nl_link_info_by_index(struct nl_link *nl, int ifindex, struct nl_link_info *out)
{
	struct rtnl_link *l = NULL;
	char idx[16];
	int err;

	snprintf(idx, sizeof(idx), "#%d", ifindex);
	if (ifindex <= 0)
		return fail(nl, -ENODEV, "link", idx, "lookup");
	err = link_get(nl, NULL, ifindex, &l);
	if (err)
		return fail(nl, err, "link", idx, "lookup");
	info_fill(l, out);
	rtnl_link_put(l);
	return 0;
}

int nl_link_ifindex(struct nl_link *nl, const char *name)
{
	struct nl_link_info info;
	int err = nl_link_info(nl, name, &info);

	return err ? err : info.ifindex;
}

int nl_link_bridge_ports(struct nl_link *nl, const char *name, struct nl_link_info *out, size_t cap)
{
	struct nl_link_info br;
	struct nl_cache *cache = NULL;
	int err, n = 0;

	err = nl_link_info(nl, name, &br);
	if (err)
		return err;
	if (strcmp(br.kind, "bridge"))
		return fail(nl, -EINVAL, "bridge", name, "list ports: a %s link, not a bridge",
			    br.kind[0] ? br.kind : "plain");
	request_begin(nl);
	err = request_errno(nl, rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &cache));
	if (err)
		return fail(nl, err, "bridge", name, "list ports");
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;

		if (rtnl_link_get_master(l) != br.ifindex)
			continue;
		if ((size_t)n < cap)
			info_fill(l, &out[n]);
		n++;
	}
	nl_cache_free(cache);
	return n;
}

/* --- bridges --- */

int nl_link_bridge_add(struct nl_link *nl, const char *name, unsigned mtu)
{
	struct rtnl_link *l;
	int err;

	if (!name_valid(name))
		return fail(nl, -EINVAL, "bridge", name ? name : "", "create: bad name");
	l = rtnl_link_bridge_alloc();
	if (!l)
		return fail(nl, -ENOMEM, "bridge", name, "create");
	rtnl_link_set_name(l, name);
	if (mtu)
		rtnl_link_set_mtu(l, mtu);
	request_begin(nl);
	err = request_errno(nl, rtnl_link_add(nl->sk, l, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_put(l);
	if (err)
		return fail(nl, err, "bridge", name, "create");
	return 0;
}

int nl_link_bridge_ensure(struct nl_link *nl, const char *name, unsigned mtu)
{
	struct nl_link_info info;
	int err = nl_link_bridge_add(nl, name, mtu);

	if (err != -EEXIST)
		return err;
	err = nl_link_info(nl, name, &info);
	if (err == -ENODEV) /* deleted meanwhile: try once more */
		return nl_link_bridge_add(nl, name, mtu);
	if (err)
		return err;
	if (strcmp(info.kind, "bridge"))
		return fail(nl, -EEXIST, "bridge", name, "create: a %s link has that name",
			    info.kind[0] ? info.kind : "plain");
	if (mtu && info.mtu != mtu)
		return nl_link_set_mtu(nl, name, mtu);
	return 0;
}

/* Newer than this system's <linux/if_link.h> may be (added in Linux 6.8,
 * after IFLA_BR_FDB_N_LEARNED = 48); libnl-route has no setter for it. */
#ifndef IFLA_BR_FDB_MAX_LEARNED
#define IFLA_BR_FDB_MAX_LEARNED 49
#endif

int nl_link_bridge_set_fdb_max(struct nl_link *nl, const char *name, uint32_t max)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlattr *info, *data;
	struct nl_msg *m;
	int err = nl_link_ifindex(nl, name);

	if (err < 0)
		return err;
	ifi.ifi_index = err;
	m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
	if (!m)
		return fail(nl, -ENOMEM, "bridge", name, "set fdb_max_learned");
	err = nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (!err && !(info = nla_nest_start(m, IFLA_LINKINFO)))
		err = -NLE_NOMEM;
	if (!err)
		err = nla_put_string(m, IFLA_INFO_KIND, "bridge");
	if (!err && !(data = nla_nest_start(m, IFLA_INFO_DATA)))
		err = -NLE_NOMEM;
	if (!err) {
		err = nla_put_u32(m, IFLA_BR_FDB_MAX_LEARNED, max);
		nla_nest_end(m, data);
		nla_nest_end(m, info);
	}
	request_begin(nl);
	if (!err)
		err = nl_send_auto(nl->sk, m);
	if (err >= 0)
		err = nl_wait_for_ack(nl->sk);
	nlmsg_free(m);
	err = request_errno(nl, err);
	return err ? fail(nl, err, "bridge", name, "set fdb_max_learned %u", max) : 0;
}

int nl_link_veth_add(struct nl_link *nl, const char *name, const char *peer)
{
	int err;

	if (!name_valid(name))
		return fail(nl, -EINVAL, "veth", name ? name : "", "create: bad name");
	if (!name_valid(peer))
		return fail(nl, -EINVAL, "veth", name, "create: bad peer name");
	request_begin(nl);
	/* libnl sends NLM_F_CREATE|NLM_F_EXCL: an existing name is -EEXIST. */
	err = request_errno(nl, rtnl_link_veth_add(nl->sk, name, peer, getpid()));
	return err ? fail(nl, err, "veth", name, "create") : 0;
}

/* --- changes to an existing link --- */

/* Applies `changes` to link `name`; takes the reference on changes. */
static int link_change(struct nl_link *nl, const char *name, struct rtnl_link *changes,
		       const char *what)
{
	struct rtnl_link *orig = NULL;
	int err;

	if (!changes)
		return fail(nl, -ENOMEM, "link", name, "%s", what);
	if (!name_valid(name)) {
		rtnl_link_put(changes);
		return fail(nl, -EINVAL, "link", name ? name : "", "%s: bad name", what);
	}
	err = link_get(nl, name, 0, &orig);
	if (!err) {
		request_begin(nl);
		err = request_errno(nl, rtnl_link_change(nl->sk, orig, changes, 0));
		rtnl_link_put(orig);
	}
	rtnl_link_put(changes);
	return err ? fail(nl, err, "link", name, "%s", what) : 0;
}

int nl_link_set_mtu(struct nl_link *nl, const char *name, unsigned mtu)
{
	struct rtnl_link *c = rtnl_link_alloc();
	char what[32];

	snprintf(what, sizeof(what), "set mtu %u", mtu);
	if (c)
		rtnl_link_set_mtu(c, mtu);
	return link_change(nl, name, c, what);
}

int nl_link_set_up(struct nl_link *nl, const char *name, bool up)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (c && up)
		rtnl_link_set_flags(c, IFF_UP);
	else if (c)
		rtnl_link_unset_flags(c, IFF_UP);
	return link_change(nl, name, c, up ? "set up" : "set down");
}

int nl_link_set_mac(struct nl_link *nl, const char *name, const uint8_t mac[6])
{
	struct rtnl_link *c = rtnl_link_alloc();
	struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);
	char what[48];

	snprintf(what, sizeof(what), "set address %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	if (c && a)
		rtnl_link_set_addr(c, a);
	if (a)
		nl_addr_put(a);
	if (!a && c) {
		rtnl_link_put(c);
		c = NULL;
	}
	return link_change(nl, name, c, what);
}

int nl_link_set_master(struct nl_link *nl, const char *name, const char *master)
{
	struct rtnl_link *c;
	char what[IFNAMSIZ + 16];
	int idx;

	snprintf(what, sizeof(what), "attach to %.*s", IFNAMSIZ, master ? master : "");
	idx = nl_link_ifindex(nl, master);
	if (idx < 0)
		return fail(nl, idx, "link", name ? name : "", "%s", what);
	c = rtnl_link_alloc();
	if (c)
		rtnl_link_set_master(c, idx);
	return link_change(nl, name, c, what);
}

int nl_link_set_nomaster(struct nl_link *nl, const char *name)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (c)
		rtnl_link_set_master(c, 0);
	return link_change(nl, name, c, "detach");
}

int nl_link_delete(struct nl_link *nl, const char *name)
{
	struct rtnl_link *l;
	int err;

	if (!name_valid(name))
		return fail(nl, -EINVAL, "link", name ? name : "", "delete: bad name");
	l = rtnl_link_alloc();
	if (!l)
		return fail(nl, -ENOMEM, "link", name, "delete");
	rtnl_link_set_name(l, name);
	request_begin(nl);
	err = request_errno(nl, rtnl_link_delete(nl->sk, l));
	rtnl_link_put(l);
	return err ? fail(nl, err, "link", name, "delete") : 0;
}

/* --- TAP devices --- */

/* Refuses a name held by a link that is not a TUN/TAP device. */
static int tap_name_free_or_tap(struct nl_link *nl, const char *name)
{
	struct nl_link_info info;
	struct rtnl_link *l = NULL;
	int err;

	if (!name[0])
		return 0;
	err = link_get(nl, name, 0, &l);
	if (err == -ENODEV)
		return 0;
	if (err)
		return fail(nl, err, "tap", name, "open");
	info_fill(l, &info);
	rtnl_link_put(l);
	if (strcmp(info.kind, "tun"))
		return fail(nl, -EEXIST, "tap", name, "open: a %s link has that name",
			    info.kind[0] ? info.kind : "plain");
	return 0;
}

int nl_link_tap_open(struct nl_link *nl, char *name, unsigned flags)
{
	struct ifreq ifr = {0};
	int fd, err;

	if (flags & ~(NL_LINK_TAP_VNET_HDR | NL_LINK_TAP_MULTI_QUEUE | NL_LINK_TAP_PERSIST))
		return fail(nl, -EINVAL, "tap", name ? name : "", "open: unknown flags 0x%x",
			    flags);
	if (!name || (name[0] && !name_valid(name)))
		return fail(nl, -EINVAL, "tap", name ? name : "", "open: bad name");
	err = tap_name_free_or_tap(nl, name);
	if (err)
		return err;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(nl, -errno, "tap", name, "open /dev/net/tun");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	ifr.ifr_flags |= flags & NL_LINK_TAP_VNET_HDR ? IFF_VNET_HDR : 0;
	ifr.ifr_flags |= flags & NL_LINK_TAP_MULTI_QUEUE ? IFF_MULTI_QUEUE : 0;
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = fail(nl, -errno, "tap", name, "open");
		close(fd);
		return err;
	}
	if (!name[0])
		memcpy(name, ifr.ifr_name, IFNAMSIZ);
	if ((flags & NL_LINK_TAP_PERSIST) && ioctl(fd, TUNSETPERSIST, 1) < 0) {
		err = fail(nl, -errno, "tap", name, "make persistent");
		close(fd);
		return err;
	}
	return fd;
}
