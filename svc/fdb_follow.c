/*
 * fdb_follow: a bridge FDB monitor in the shape of iproute2's
 * bridge/monitor.c: one netlink socket subscribed to RTNLGRP_NEIGH, one
 * per-message callback (on_msg) that decodes an ndmsg into a struct
 * fdb_event. See fdb_follow.h for the contract.
 */
#include "fdb_follow.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

#define FDB_RCVBUF (4u << 20) /* room for a burst (a port leaving flushes all its entries) */
#define FDB_RECV_BURST 64     /* datagrams per wake-up, to be fair to other fds */

struct fdb_follow {
	struct ev_loop *loop;
	struct mnl_socket *nl;
	struct ev_io io;
	int bridge;
	fdb_follow_cb cb;
	void *arg;
	uint32_t seq;
	bool dumping;	  /* a dump request is outstanding */
	bool begin_due;	  /* SYNC_BEGIN not yet delivered for it */
	bool redump;	  /* start another dump when this one ends */
	bool dispatching; /* inside on_readable: free is deferred */
	bool dead;	  /* fdb_follow_free was called while dispatching */
	uint64_t dumps;
	uint64_t overruns;
	/* A dump datagram is at most 32 KiB (the kernel's cap); 64 KiB
	 * leaves room for larger future ones. */
	uint8_t buf[65536];
};

static void emit(struct fdb_follow *f, const struct fdb_event *ev)
{
	if (!f->dead)
		f->cb(ev, f->arg);
}

static void emit_type(struct fdb_follow *f, enum fdb_event_type type)
{
	struct fdb_event ev = {.type = type};

	emit(f, &ev);
}

/* --- decoding, one message at a time --- */

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NDA_MAX) < 0)
		return MNL_CB_OK; /* newer kernel attribute: ignore */
	switch (type) {
	case NDA_LLADDR:
		if (mnl_attr_get_payload_len(attr) != 6)
			return MNL_CB_OK;
		break;
	case NDA_VLAN:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_OK;
		break;
	case NDA_MASTER:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_OK;
		break;
	default:
		break;
	}
	tb[type] = attr;
	return MNL_CB_OK;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct fdb_follow *f = data;
	const struct nlattr *tb[NDA_MAX + 1] = {0};
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct fdb_event ev = {0};
	int master;

	if ((nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm) || ndm->ndm_family != AF_BRIDGE)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ndm), attr_cb, tb) < 0 || !tb[NDA_LLADDR])
		return MNL_CB_OK;
	master = tb[NDA_MASTER] ? (int)mnl_attr_get_u32(tb[NDA_MASTER]) : 0;
	/* Ours: entries of the bridge's ports, and the bridge's own. */
	if (master != f->bridge && ndm->ndm_ifindex != f->bridge)
		return MNL_CB_OK;
	ev.type = nlh->nlmsg_type == RTM_NEWNEIGH ? FDB_EVENT_ADD : FDB_EVENT_DEL;
	memcpy(ev.mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(ev.mac));
	ev.port = ndm->ndm_ifindex;
	ev.vlan = tb[NDA_VLAN] ? mnl_attr_get_u16(tb[NDA_VLAN]) : 0;
	ev.state = ndm->ndm_state;
	ev.flags = ndm->ndm_flags;
	ev.local = ndm->ndm_state & NUD_PERMANENT;
	ev.is_static = !ev.local && (ndm->ndm_state & NUD_NOARP);
	ev.learned = !ev.local && !ev.is_static;
	ev.self = ndm->ndm_flags & NTF_SELF;
	ev.ext_learned = ndm->ndm_flags & NTF_EXT_LEARNED;
	emit(f, &ev);
	return f->dead ? MNL_CB_STOP : MNL_CB_OK;
}

/* --- dumps --- */

/* Legacy request form (ifinfomsg + IFLA_MASTER): every kernel since 3.x
 * filters on it without NETLINK_GET_STRICT_CHK. */
static int dump_send(struct fdb_follow *f)
{
	char buf[NLMSG_ALIGN(sizeof(struct nlmsghdr)) + NLMSG_ALIGN(sizeof(struct ifinfomsg)) + 64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++f->seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)f->bridge);
	if (mnl_socket_sendto(f->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	f->dumping = true;
	f->begin_due = true;
	f->redump = false;
	f->dumps++;
	return 0;
}

int fdb_follow_resync(struct fdb_follow *f)
{
	if (f->dumping) {
		f->redump = true;
		return 0;
	}
	return dump_send(f);
}

static void dump_end(struct fdb_follow *f)
{
	f->dumping = false;
	if (f->begin_due) /* an empty answer still frames a sync */
		emit_type(f, FDB_EVENT_SYNC_BEGIN);
	f->begin_due = false;
	emit_type(f, FDB_EVENT_SYNC_END);
	if (f->redump && !f->dead && dump_send(f) < 0)
		log_debug("fdb_follow: bridge %d: resync: %s", f->bridge, strerror(errno));
}

/* --- socket --- */

static void destroy(struct fdb_follow *f)
{
	ev_io_stop(&f->io);
	if (f->nl)
		mnl_socket_close(f->nl);
	free(f);
}

/* A dump whose table changed under it is marked NLM_F_DUMP_INTR; libmnl
 * would stop at the mark (and miss NLMSG_DONE), so take it off here and
 * read the table again once this dump is done. */
static void strip_dump_intr(struct fdb_follow *f, size_t n)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)f->buf;
	int left = (int)n;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			nlh->nlmsg_flags &= (uint16_t)~NLM_F_DUMP_INTR;
			f->redump = true;
		}
	}
}

/* Handles one datagram; returns false to stop reading for now. */
static bool handle_datagram(struct fdb_follow *f, ssize_t n)
{
	int ret;

	strip_dump_intr(f, (size_t)n);
	if (f->begin_due && f->dumping) {
		f->begin_due = false;
		emit_type(f, FDB_EVENT_SYNC_BEGIN);
	}
	ret = mnl_cb_run(f->buf, (size_t)n, 0, 0, on_msg, f);
	if (f->dead)
		return false;
	if (ret == MNL_CB_STOP && f->dumping) {
		dump_end(f); /* NLMSG_DONE */
	} else if (ret < 0 && f->dumping) {
		/* A hard error (the bridge is gone) would only repeat: end the
		 * sync without asking again. */
		log_debug("fdb_follow: bridge %d: dump: %s", f->bridge, strerror(errno));
		f->redump = false;
		dump_end(f);
	}
	return !f->dead;
}

static void on_readable(struct ev_io *io, unsigned events, void *arg)
{
	struct fdb_follow *f = arg;

	(void)io;
	(void)events;
	f->dispatching = true;
	for (int i = 0; i < FDB_RECV_BURST; i++) {
		ssize_t n = mnl_socket_recvfrom(f->nl, f->buf, sizeof(f->buf));

		if (n < 0 && errno == ENOBUFS) {
			/* Events were lost: the table must be read again. */
			f->overruns++;
			if (fdb_follow_resync(f) < 0)
				log_debug("fdb_follow: bridge %d: resync: %s", f->bridge,
					  strerror(errno));
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("fdb_follow: bridge %d: recv: %s", f->bridge,
					  strerror(errno));
			break;
		}
		if (!handle_datagram(f, n))
			break;
	}
	f->dispatching = false;
	if (f->dead)
		destroy(f);
}

static int socket_open(struct fdb_follow *f)
{
	int group = RTNLGRP_NEIGH, fd;
	int rcvbuf = FDB_RCVBUF;

	f->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!f->nl)
		return -errno;
	if (mnl_socket_bind(f->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(f->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return -errno;
	fd = mnl_socket_get_fd(f->nl);
	/* FORCE needs CAP_NET_ADMIN, which vnetd has; else take what we may. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ev_io_init(&f->io, fd, on_readable, f);
	return ev_io_start(f->loop, &f->io, EV_READ);
}

struct fdb_follow *fdb_follow_new(struct ev_loop *loop, int bridge_ifindex, fdb_follow_cb cb,
				  void *arg)
{
	struct fdb_follow *f;
	int err;

	if (bridge_ifindex <= 0 || !cb) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->loop = loop;
	f->bridge = bridge_ifindex;
	f->cb = cb;
	f->arg = arg;
	ev_io_init(&f->io, -1, on_readable, f);
	/* Subscribe before dumping so that no change falls in between. */
	err = socket_open(f);
	if (!err)
		err = dump_send(f);
	if (err) {
		destroy(f);
		errno = -err;
		return NULL;
	}
	return f;
}

void fdb_follow_free(struct fdb_follow *f)
{
	if (!f)
		return;
	if (f->dispatching) {
		f->dead = true;
		ev_io_stop(&f->io);
		return;
	}
	destroy(f);
}

uint64_t fdb_follow_dumps(const struct fdb_follow *f)
{
	return f->dumps;
}

uint64_t fdb_follow_overruns(const struct fdb_follow *f)
{
	return f->overruns;
}
