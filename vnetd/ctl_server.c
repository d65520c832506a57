/*
 * The control socket: accepts `vn` clients (same uid or root, SO_PEERCRED),
 * reads whole messages with ctl_conn_read (length capped before any read),
 * decodes each request with its own size-checking decoder and dispatches
 * it through one table. A malformed request is answered with an error and
 * the client is disconnected; the daemon goes on. A request that waits for
 * something (peer-add's DNS lookup) leaves its client paused until
 * ctl_server_reply.
 *
 * Replies are queued per client (ctl_out) and written when the socket is
 * writable, never with a blocking send: the loop also carries the data
 * path. While a client has unread replies queued, its requests are not
 * read (back-pressure), so a client that pipelines and never reads costs
 * its socket buffers and one reply. A client that sends no request and
 * takes no reply for control-idle-timeout seconds is closed; when all
 * CTL_CLIENTS_MAX slots are taken, a new connection evicts the client idle
 * the longest (one waiting for a lookup is never evicted), so idle
 * connections cannot lock the operator out.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "log.h"
#include "tun.h"
#include "vnetd.h"

#define CTL_CLIENTS_MAX 64
/* Requests handled per readiness event of one client, so that a client
 * that pipelines cannot keep the loop from the data path for long. */
#define CTL_BATCH 16

struct ctl_client {
	struct ctl_client *next;
	struct vnetd *d;
	struct ev_io io;
	struct ctl_conn *conn;
	struct ctl_out out;
	uint64_t active_ms; /* accepted, last whole request, or reply bytes taken */
	int err;	    /* a reply could not be queued (-ENOBUFS, -ENOMEM): drop */
	bool pending;	    /* a reply is owed later: not reading meanwhile */
	bool closing;	    /* refused: the error reply goes out, then we close */
};

enum { CTL_DONE = 0, CTL_PENDING = 1 };

/* A handler returns CTL_DONE (replied), CTL_PENDING, or -errno for a
 * request that did not decode (the client is then disconnected). */
struct ctl_handler {
	uint16_t type;
	const char *name;
	int (*fn)(struct ctl_client *c, const uint8_t *p, size_t len);
};

static void ctl_server_refused(struct vnetd *d, const char *why)
{
	static uint64_t last_ms;
	uint64_t now = ev_now_ms();

	d->ctl_refused++;
	if (now - last_ms >= 1000 || last_ms == 0) {
		last_ms = now;
		log_warn("control: refused a request: %s (%llu so far)", why,
			 (unsigned long long)d->ctl_refused);
	}
}

/* Rate-limited like ctl_server_refused; the reason names the client's fd. */
static void ctl_server_dropped(struct vnetd *d, int fd, const char *why)
{
	static uint64_t last_ms;
	uint64_t now = ev_now_ms();

	d->ctl_dropped++;
	if (now - last_ms >= 1000 || last_ms == 0) {
		last_ms = now;
		log_warn("control: client fd %d dropped: %s (%llu so far)", fd, why,
			 (unsigned long long)d->ctl_dropped);
	}
}

/* Queues the records as one reply (CTL_F_MORE on all messages but the
 * last); the bound is checked once for the whole reply. A failure is kept
 * in c->err and the client is dropped once the handler returns. */
static int ctl_server_records(struct ctl_client *c, uint16_t type, const void *recs, size_t n,
			      size_t size)
{
	size_t per = CTL_MSG_MAX / size, off = 0;
	size_t msgs = n ? (n + per - 1) / per : 1;
	int rc = ctl_out_room(&c->out, msgs * sizeof(struct ctl_hdr) + n * size);

	while (rc == 0) {
		size_t k = n - off < per ? n - off : per;
		uint16_t flags = CTL_F_REPLY | (off + k < n ? CTL_F_MORE : 0);
		const uint8_t *at = k ? (const uint8_t *)recs + off * size : NULL;
		rc = ctl_out_msg(&c->out, type, flags, at, (uint32_t)(k * size));
		off += k;
		if (off >= n)
			break;
	}
	if (rc < 0 && !c->err)
		c->err = rc;
	return rc;
}

static int ctl_server_error(struct ctl_client *c, uint16_t type, int err, const char *msg)
{
	int rc = ctl_out_error(&c->out, type, err, "%s", msg);

	if (rc < 0 && !c->err)
		c->err = rc;
	return rc;
}

/* A request that decoded but failed: the error is the whole reply. */
static int ctl_fail(struct ctl_client *c, uint16_t type, int err, const char *msg)
{
	ctl_server_error(c, type, err, msg);
	return CTL_DONE;
}

static void ctl_client_free(struct ctl_client *c)
{
	struct ctl_client **pp;

	for (pp = &c->d->clients; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	peers_forget_waiter(c->d, c);
	ev_io_stop(&c->io);
	if (c->io.fd >= 0)
		close(c->io.fd);
	ctl_out_fini(&c->out);
	free(c->conn);
	if (!c->d->clients)
		ev_timer_stop(&c->d->ctl_timer);
	free(c);
}

/* Writes what the socket takes now; a client that took bytes is active. */
static int ctl_client_flush(struct ctl_client *c)
{
	uint64_t sent = c->out.sent;
	ssize_t rc = ctl_out_flush(&c->out, c->io.fd);

	if (c->out.sent != sent)
		c->active_ms = ev_now_ms();
	return rc < 0 ? (int)rc : 0;
}

/* Reads requests only while nothing is owed or queued (back-pressure). */
static bool ctl_client_reading(const struct ctl_client *c)
{
	return !c->pending && !c->closing && !c->err && ctl_out_pending(&c->out) == 0;
}

/* After any change: flushes, then watches the socket for what comes next
 * (writable while replies are queued, else readable unless a reply is
 * owed or the client is being closed), or closes it. c may be freed. */
static void ctl_client_settle(struct ctl_client *c)
{
	unsigned want;

	if (c->err) {
		ctl_server_dropped(c->d, c->io.fd,
				   c->err == -ENOBUFS ? "unread replies over the bound"
						      : "cannot queue a reply");
		ctl_client_free(c);
		return;
	}
	if (ctl_client_flush(c) < 0 || (c->closing && ctl_out_pending(&c->out) == 0)) {
		ctl_client_free(c);
		return;
	}
	want = ctl_out_pending(&c->out) ? EV_WRITE : ctl_client_reading(c) ? EV_READ : 0;
	if (want != c->io.events && ev_io_set(&c->io, want) < 0)
		ctl_client_free(c);
}

void ctl_server_reply(struct ctl_client *c, uint16_t type, int err, const char *msg,
		      const void *recs, size_t n, size_t size)
{
	if (err)
		ctl_server_error(c, type, err, msg ? msg : strerror(-err));
	else
		ctl_server_records(c, type, recs, n, size);
	c->pending = false;
	c->active_ms = ev_now_ms();
	ctl_client_settle(c);
}

/* ---- vnets ---- */

/* Parses every (vnet ...) of the request into confs; returns how many. */
static int ctl_vnet_parse(const struct vn_ctl_create *req, struct vnet_conf *confs, size_t cap,
			  char *msg, size_t msglen)
{
	struct sxp_error err = {0};
	struct sxp_node *doc = sxp_parse(req->path, req->text, req->text_len, &err);
	size_t n = 0;
	int rc = 0;

	if (!doc) {
		snprintf(msg, msglen, "%s", err.msg);
		return -EINVAL;
	}
	for (const struct sxp_node *k = doc->kids; k && rc == 0; k = k->next) {
		const char *key = sxp_key(k);
		if (!key || strcmp(key, "vnet") != 0)
			rc = sxp_errorf(&err, k, "expected (vnet ...)");
		else if (n == cap)
			rc = sxp_errorf(&err, k, "more than %zu vnets in one file", cap);
		else
			rc = vnet_conf_from_sxp(k, &confs[n++], &err);
		if (rc < 0)
			snprintf(msg, msglen, "%s", err.msg);
	}
	if (rc == 0 && n == 0) {
		snprintf(msg, msglen, "%.300s: no (vnet ...) definition", req->path);
		rc = -EINVAL;
	}
	sxp_free(doc);
	return rc < 0 ? rc : (int)n;
}

#define CTL_VNETS_PER_FILE 64

static int ctl_vnet_create(struct ctl_client *c, const uint8_t *p, size_t len)
{
	static struct vnet_conf confs[CTL_VNETS_PER_FILE];
	struct vn_ctl_create req;
	char msg[512];
	int n, rc = vn_ctl_create_decode(p, len, &req);

	if (rc < 0)
		return rc;
	n = ctl_vnet_parse(&req, confs, CTL_VNETS_PER_FILE, msg, sizeof(msg));
	if (n < 0)
		return ctl_fail(c, CTL_VN_VNET_CREATE, n, msg);
	for (int i = 0; i < n; i++) {
		rc = vnet_mgr_create(c->d, &confs[i], false, msg, sizeof(msg));
		if (rc == 0)
			continue;
		/* All or nothing: undo the ones this file created. */
		for (int j = i - 1; j >= 0; j--) {
			char ignore[512];
			struct vnetd_vnet *v = vnet_mgr_find(c->d, &confs[j].id);
			if (v)
				vnet_mgr_delete(c->d, v, ignore, sizeof(ignore));
		}
		log_warn("%s", msg);
		return ctl_fail(c, CTL_VN_VNET_CREATE, rc, msg);
	}
	ctl_server_records(c, CTL_VN_VNET_CREATE, NULL, 0, 1);
	return CTL_DONE;
}

/* The vnet a request names by id: 0 with *v; a decode error (-errno: the
 * request is malformed); or 1 when there is no such vnet (the failure is
 * sent: the handler is done). */
static int ctl_vnet_arg(struct ctl_client *c, uint16_t type, const uint8_t *p, size_t len,
			struct vnetd_vnet **v)
{
	struct vnet_id id;
	char msg[128], ids[VNET_ID_STRLEN];
	int rc = vn_ctl_id_decode(p, len, id.b);

	if (rc < 0)
		return rc;
	*v = vnet_mgr_find(c->d, &id);
	if (*v)
		return 0;
	snprintf(msg, sizeof(msg), "vnet %s: no such vnet", vnet_id_str(&id, ids));
	ctl_fail(c, type, -ENOENT, msg);
	return 1;
}

static int ctl_vnet_delete(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct vnetd_vnet *v;
	char msg[512];
	int rc = ctl_vnet_arg(c, CTL_VN_VNET_DELETE, p, len, &v);

	if (rc != 0)
		return rc < 0 ? rc : CTL_DONE;
	rc = vnet_mgr_delete(c->d, v, msg, sizeof(msg));
	if (rc < 0)
		return ctl_fail(c, CTL_VN_VNET_DELETE, rc, msg);
	ctl_server_records(c, CTL_VN_VNET_DELETE, NULL, 0, 1);
	return CTL_DONE;
}

/* A new sending SA now (as at sequence exhaustion): for an operator who
 * wants one, and for tests. */
static int ctl_sa_rekey(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct vnetd_vnet *v;
	char msg[256];
	int rc = ctl_vnet_arg(c, CTL_VN_SA_REKEY, p, len, &v);

	if (rc != 0)
		return rc < 0 ? rc : CTL_DONE;
	rc = v->tv ? tun_vnet_rekey(v->tv) : -ENOENT;
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s: rekey: %s", v->name,
			 rc == -EINVAL ? "security none has no SA" : strerror(-rc));
		return ctl_fail(c, CTL_VN_SA_REKEY, rc, msg);
	}
	log_info("%s: rekeyed on request", v->name);
	ctl_server_records(c, CTL_VN_SA_REKEY, NULL, 0, 1);
	return CTL_DONE;
}

/* Collects one record per item into a heap array, then sends it. */
#define CTL_COLLECT(c, type, rectype, list, fill)                                                  \
	do {                                                                                       \
		size_t n_ = 0, cap_ = 0;                                                           \
		rectype *recs_ = NULL;                                                             \
		for (__typeof__(list) it = (list); it; it = it->next) {                            \
			if (n_ == cap_) {                                                          \
				cap_ = cap_ ? 2 * cap_ : 16;                                       \
				rectype *r_ = realloc(recs_, cap_ * sizeof(*r_));                  \
				if (!r_)                                                           \
					break;                                                     \
				recs_ = r_;                                                        \
			}                                                                          \
			fill(it, &recs_[n_++]);                                                    \
		}                                                                                  \
		ctl_server_records(c, type, recs_, n_, sizeof(rectype));                           \
		free(recs_);                                                                       \
	} while (0)

static int ctl_vnet_list(struct ctl_client *c, const uint8_t *p, size_t len)
{
	int rc = vn_ctl_empty_decode(p, len);

	if (rc < 0)
		return rc;
	CTL_COLLECT(c, CTL_VN_VNET_LIST, struct vn_ctl_vnet, c->d->vnets, vnet_mgr_fill);
	return CTL_DONE;
}

/* ---- peers ---- */

/* The end of a peer-add's lookup: the reply it was waiting for. */
static void ctl_peer_added(void *arg, int status, const char *msg, const struct vn_ctl_peer *rec)
{
	ctl_server_reply(arg, CTL_VN_PEER_ADD, status, msg, rec, rec ? 1 : 0, sizeof(*rec));
}

static int ctl_peer_add(struct ctl_client *c, const uint8_t *p, size_t len)
{
	char host[VN_CTL_HOST], msg[512];
	int rc = vn_ctl_host_decode(p, len, host);

	if (rc < 0)
		return rc;
	rc = peers_add(c->d, host, ctl_peer_added, c, msg, sizeof(msg));
	if (rc < 0)
		return ctl_fail(c, CTL_VN_PEER_ADD, rc, msg);
	return CTL_PENDING;
}

static int ctl_peer_del(struct ctl_client *c, const uint8_t *p, size_t len)
{
	char host[VN_CTL_HOST], msg[512];
	int rc = vn_ctl_host_decode(p, len, host);

	if (rc < 0)
		return rc;
	rc = peers_del(c->d, host, msg, sizeof(msg));
	if (rc < 0)
		return ctl_fail(c, CTL_VN_PEER_DEL, rc, msg);
	ctl_server_records(c, CTL_VN_PEER_DEL, NULL, 0, 1);
	return CTL_DONE;
}

static int ctl_peer_list(struct ctl_client *c, const uint8_t *p, size_t len)
{
	int rc = vn_ctl_empty_decode(p, len);

	if (rc < 0)
		return rc;
	CTL_COLLECT(c, CTL_VN_PEER_LIST, struct vn_ctl_peer, c->d->peers, peers_fill);
	return CTL_DONE;
}

/* ---- VARP table ---- */

struct ctl_varp_acc {
	struct vnetd *d;
	struct vn_ctl_varp *recs;
	size_t n, cap;
	uint64_t now;
};

static int ctl_varp_one(const struct mac_entry *e, void *arg)
{
	struct ctl_varp_acc *a = arg;

	if (e->expires_ms <= a->now)
		return 0; /* expired, not yet aged out */
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct vn_ctl_varp *r = realloc(a->recs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		a->recs = r;
		a->cap = cap;
	}
	varp_proto_fill(a->d, e, &a->recs[a->n++]);
	return 0;
}

static int ctl_varp_list(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct ctl_varp_acc a = {c->d, NULL, 0, 0, ev_now_ms()};
	int rc = vn_ctl_empty_decode(p, len);

	if (rc < 0)
		return rc;
	for (struct vnetd_vnet *v = c->d->vnets; v && rc == 0; v = v->next)
		rc = mac_table_foreach(v->macs, ctl_varp_one, &a);
	if (rc < 0)
		ctl_server_error(c, CTL_VN_VARP_LIST, rc, "varp-list: out of memory");
	else
		ctl_server_records(c, CTL_VN_VARP_LIST, a.recs, a.n, sizeof(*a.recs));
	free(a.recs);
	return CTL_DONE;
}

static int ctl_varp_flush(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct vnet_id id;
	char msg[128], ids[VNET_ID_STRLEN];
	int has_id, rc = vn_ctl_flush_decode(p, len, id.b, &has_id);
	size_t n;

	if (rc < 0)
		return rc;
	if (has_id && !vnet_mgr_find(c->d, &id)) {
		snprintf(msg, sizeof(msg), "vnet %s: no such vnet", vnet_id_str(&id, ids));
		return ctl_fail(c, CTL_VN_VARP_FLUSH, -ENOENT, msg);
	}
	n = 0;
	for (struct vnetd_vnet *v = c->d->vnets; v; v = v->next) {
		if (!has_id || vnet_id_eq(&v->conf.id, &id))
			n += mac_table_flush(v->macs, NULL, MAC_TABLE_REMOTE);
	}
	log_info("varp: flushed %zu remote entries%s%s", n, has_id ? " of vnet " : "",
		 has_id ? vnet_id_str(&id, ids) : "");
	ctl_server_records(c, CTL_VN_VARP_FLUSH, NULL, 0, 1);
	return CTL_DONE;
}

/* ---- stats and SAs ---- */

static int ctl_stats(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct vn_ctl_stats *recs;
	size_t n = 0;
	int rc = vn_ctl_empty_decode(p, len);

	if (rc < 0)
		return rc;
	for (struct vnetd_vnet *v = c->d->vnets; v; v = v->next)
		n++;
	recs = calloc(n + 1, sizeof(*recs));
	if (!recs)
		return ctl_fail(c, CTL_VN_STATS, -ENOMEM, "stats: out of memory");
	n = 0;
	for (struct vnetd_vnet *v = c->d->vnets; v; v = v->next)
		stats_fill_vnet(v, &recs[n++]);
	stats_fill_global(c->d, &recs[n++]);
	ctl_server_records(c, CTL_VN_STATS, recs, n, sizeof(*recs));
	free(recs);
	return CTL_DONE;
}

static int ctl_sa_list(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct vn_ctl_sa *recs = NULL;
	size_t n = 0, cap = 0;
	int keys, rc = vn_ctl_salist_decode(p, len, &keys);

	if (rc < 0)
		return rc;
	for (struct vnetd_vnet *v = c->d->vnets; v && rc == 0; v = v->next)
		rc = sa_keys_list(v, keys, &recs, &n, &cap);
	if (rc < 0)
		ctl_server_error(c, CTL_VN_SA_LIST, rc, "sa-list: cannot derive SAs");
	else
		ctl_server_records(c, CTL_VN_SA_LIST, recs, n, sizeof(*recs));
	if (recs)
		OPENSSL_cleanse(recs, cap * sizeof(*recs));
	free(recs);
	return CTL_DONE;
}

static const struct ctl_handler ctl_handlers[] = {
    {CTL_VN_VNET_CREATE, "vnet-create", ctl_vnet_create},
    {CTL_VN_VNET_DELETE, "vnet-delete", ctl_vnet_delete},
    {CTL_VN_SA_REKEY, "sa-rekey", ctl_sa_rekey},
    {CTL_VN_VNET_LIST, "vnet-list", ctl_vnet_list},
    {CTL_VN_PEER_ADD, "peer-add", ctl_peer_add},
    {CTL_VN_PEER_DEL, "peer-del", ctl_peer_del},
    {CTL_VN_PEER_LIST, "peer-list", ctl_peer_list},
    {CTL_VN_VARP_LIST, "varp-list", ctl_varp_list},
    {CTL_VN_VARP_FLUSH, "varp-flush", ctl_varp_flush},
    {CTL_VN_STATS, "stats", ctl_stats},
    {CTL_VN_SA_LIST, "sa-list", ctl_sa_list},
};

/* ---- connections ---- */

/* Handles the message in c->conn; returns 0 to go on, -1 to disconnect. */
static int ctl_client_dispatch(struct ctl_client *c)
{
	const struct ctl_hdr *h = &c->conn->hdr;
	char why[96], msg[128];

	snprintf(why, sizeof(why), "unknown type %#x", h->type);
	for (size_t i = 0; i < sizeof(ctl_handlers) / sizeof(ctl_handlers[0]); i++) {
		if (ctl_handlers[i].type != h->type)
			continue;
		if (h->flags != 0) {
			snprintf(why, sizeof(why), "%s: flags %#x", ctl_handlers[i].name, h->flags);
			break;
		}
		int rc = ctl_handlers[i].fn(c, c->conn->buf, h->len);
		if (rc == CTL_PENDING)
			c->pending = true;
		if (rc >= 0)
			return 0;
		snprintf(why, sizeof(why), "%s: malformed (%u bytes)", ctl_handlers[i].name,
			 h->len);
		goto refuse;
	}
refuse:
	ctl_server_refused(c->d, why);
	snprintf(msg, sizeof(msg), "control: request refused: %s", why);
	ctl_server_error(c, h->type, -EBADMSG, msg);
	return -1;
}

static void ctl_client_cb(struct ev_io *io, unsigned events, void *arg)
{
	struct ctl_client *c = arg;

	(void)io;
	/* Not reading (waiting for a lookup, replies queued, closing), a
	 * client that hung up is dropped now (a lookup completes without it). */
	if (ctl_client_flush(c) < 0 || ((events & EV_ERROR) && !ctl_client_reading(c))) {
		ctl_client_free(c);
		return;
	}
	for (int i = 0; i < CTL_BATCH && ctl_client_reading(c); i++) {
		int rc = ctl_conn_read(c->conn);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (rc != -EMSGSIZE) { /* EOF or a socket error */
				ctl_client_free(c);
				return;
			}
			ctl_server_refused(c->d, "message too long");
			ctl_server_error(c, c->conn->hdr.type, -EMSGSIZE,
					 "control: request refused: too long");
			c->closing = true;
			break;
		}
		c->active_ms = ev_now_ms();
		if (ctl_client_dispatch(c) < 0)
			c->closing = true;
		ctl_conn_consume(c->conn);
		if (ctl_client_flush(c) < 0) {
			ctl_client_free(c);
			return;
		}
	}
	ctl_client_settle(c);
}

/* The client idle the longest, never one waiting for a lookup (its
 * request is the daemon's to finish); NULL if all are. */
static struct ctl_client *ctl_client_idlest(struct vnetd *d)
{
	struct ctl_client *best = NULL;

	for (struct ctl_client *c = d->clients; c; c = c->next)
		if (!c->pending && (!best || c->active_ms <= best->active_ms))
			best = c;
	return best;
}

static void ctl_idle_cb(struct ev_timer *t, void *arg)
{
	struct vnetd *d = arg;
	uint64_t now = ev_now_ms(), idle_ms = (uint64_t)d->conf.control_idle_s * 1000;
	struct ctl_client *c, *next;

	(void)t;
	for (c = d->clients; c; c = next) {
		next = c->next;
		if (!c->pending && now - c->active_ms >= idle_ms) {
			ctl_server_dropped(d, c->io.fd, "idle");
			ctl_client_free(c);
		}
	}
}

static bool ctl_server_full(struct vnetd *d)
{
	int n = 0;

	for (const struct ctl_client *c = d->clients; c; c = c->next)
		n++;
	return n >= CTL_CLIENTS_MAX;
}

static void ctl_accept_cb(struct ev_io *io, unsigned events, void *arg)
{
	struct vnetd *d = arg;
	struct ctl_client *c;
	int fd;

	(void)events;
	fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (ctl_peer_check(fd) < 0) {
		ctl_server_refused(d, "peer not allowed");
		close(fd);
		return;
	}
	if (ctl_server_full(d)) {
		struct ctl_client *old = ctl_client_idlest(d);
		if (!old) {
			ctl_server_refused(d, "too many clients, all waiting for lookups");
			close(fd);
			return;
		}
		ctl_server_dropped(d, old->io.fd, "evicted by a new client (all slots taken)");
		ctl_client_free(old);
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->conn = malloc(sizeof(*c->conn));
	if (!c || !c->conn) {
		free(c);
		close(fd);
		return;
	}
	c->d = d;
	c->conn->fd = fd;
	c->conn->have = 0;
	ctl_out_init(&c->out, CTL_OUT_MAX_DEFAULT);
	c->active_ms = ev_now_ms();
	ev_io_init(&c->io, fd, ctl_client_cb, c);
	if (ev_io_start(d->loop, &c->io, EV_READ) < 0 ||
	    (!ev_timer_active(&d->ctl_timer) &&
	     ev_timer_start(d->loop, &d->ctl_timer, 1000, 1000) < 0)) {
		ev_io_stop(&c->io);
		free(c->conn);
		free(c);
		close(fd);
		return;
	}
	c->next = d->clients;
	d->clients = c;
}

int ctl_server_start(struct vnetd *d)
{
	int rc;

	ev_timer_init(&d->ctl_timer, ctl_idle_cb, d);
	d->ctl_fd = ctl_listen(d->conf.control_socket);
	if (d->ctl_fd < 0) {
		rc = d->ctl_fd;
		log_error("control-socket %s: %s", d->conf.control_socket, strerror(-rc));
		return rc;
	}
	ev_io_init(&d->ctl_io, d->ctl_fd, ctl_accept_cb, d);
	rc = ev_io_start(d->loop, &d->ctl_io, EV_READ);
	if (rc < 0)
		log_error("control-socket %s: watch: %s", d->conf.control_socket, strerror(-rc));
	return rc;
}

void ctl_server_stop(struct vnetd *d)
{
	while (d->clients)
		ctl_client_free(d->clients);
	ev_timer_stop(&d->ctl_timer);
	ev_io_stop(&d->ctl_io);
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->conf.control_socket);
		d->ctl_fd = -1;
	}
}
