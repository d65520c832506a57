/*
 * The control socket: accepts `vn` clients (same uid or root, SO_PEERCRED),
 * reads whole messages with ctl_conn_read (length capped before any read),
 * decodes each request with its own size-checking decoder and dispatches
 * it through one table. A malformed request is answered with an error and
 * the client is disconnected; the daemon goes on. A request that waits for
 * something (peer-add's DNS lookup) leaves its client paused until
 * ctl_server_reply.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "log.h"
#include "vnetd.h"

#define CTL_CLIENTS_MAX 64
#define CTL_SEND_TIMEOUT_MS 2000

struct ctl_client {
	struct ctl_client *next;
	struct vnetd *d;
	struct ev_io io;
	struct ctl_conn *conn;
	bool pending; /* a reply is owed later: not reading meanwhile */
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

static int ctl_server_records(struct ctl_client *c, uint16_t type, const void *recs, size_t n,
			      size_t size)
{
	size_t per = CTL_MSG_MAX / size, off = 0;
	int rc;

	do {
		size_t k = n - off < per ? n - off : per;
		uint16_t flags = CTL_F_REPLY | (off + k < n ? CTL_F_MORE : 0);
		const uint8_t *at = k ? (const uint8_t *)recs + off * size : NULL;
		rc = ctl_send(c->io.fd, type, flags, at, (uint32_t)(k * size));
		off += k;
	} while (rc == 0 && off < n);
	return rc;
}

static int ctl_server_error(struct ctl_client *c, uint16_t type, int err, const char *msg)
{
	return ctl_send_error(c->io.fd, type, err, "%s", msg);
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
	free(c->conn);
	free(c);
}

void ctl_server_reply(struct ctl_client *c, uint16_t type, int err, const char *msg,
		      const void *recs, size_t n, size_t size)
{
	int rc = err ? ctl_server_error(c, type, err, msg ? msg : strerror(-err))
		     : ctl_server_records(c, type, recs, n, size);

	c->pending = false;
	if (rc < 0 || ev_io_set(&c->io, EV_READ) < 0)
		ctl_client_free(c);
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

static int ctl_vnet_delete(struct ctl_client *c, const uint8_t *p, size_t len)
{
	struct vnet_id id;
	struct vnetd_vnet *v;
	char msg[512], ids[VNET_ID_STRLEN];
	int rc = vn_ctl_id_decode(p, len, id.b);

	if (rc < 0)
		return rc;
	v = vnet_mgr_find(c->d, &id);
	if (!v) {
		snprintf(msg, sizeof(msg), "vnet %s: no such vnet", vnet_id_str(&id, ids));
		return ctl_fail(c, CTL_VN_VNET_DELETE, -ENOENT, msg);
	}
	rc = vnet_mgr_delete(c->d, v, msg, sizeof(msg));
	if (rc < 0)
		return ctl_fail(c, CTL_VN_VNET_DELETE, rc, msg);
	ctl_server_records(c, CTL_VN_VNET_DELETE, NULL, 0, 1);
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

static int ctl_peer_add(struct ctl_client *c, const uint8_t *p, size_t len)
{
	char host[VN_CTL_HOST], msg[512];
	int rc = vn_ctl_host_decode(p, len, host);

	if (rc < 0)
		return rc;
	rc = peers_add(c->d, host, c, msg, sizeof(msg));
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
	rc = mac_table_foreach(c->d->macs, ctl_varp_one, &a);
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
	n = mac_table_flush(c->d->macs, has_id ? &id : NULL, MAC_TABLE_REMOTE);
	log_info("varp: flushed %zu remote entries%s%s", n, has_id ? " of vnet " : "",
		 has_id ? ids : "");
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
	char why[96];

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
	ctl_send_error(c->io.fd, h->type, -EBADMSG, "control: request refused: %s", why);
	return -1;
}

static void ctl_client_cb(struct ev_io *io, unsigned events, void *arg)
{
	struct ctl_client *c = arg;

	(void)io;
	/* Waiting for a lookup, only errors are watched: a client that hung
	 * up is dropped now (its lookup completes without it). */
	if (c->pending) {
		if (events & EV_ERROR)
			ctl_client_free(c);
		return;
	}
	while (!c->pending) {
		int rc = ctl_conn_read(c->conn);
		if (rc == 0)
			return;
		if (rc < 0) {
			if (rc == -EMSGSIZE) {
				ctl_server_refused(c->d, "message too long");
				ctl_send_error(c->io.fd, c->conn->hdr.type, -EMSGSIZE,
					       "control: request refused: too long");
			}
			break;
		}
		if (ctl_client_dispatch(c) < 0)
			break;
		ctl_conn_consume(c->conn);
		if (c->pending && ev_io_set(&c->io, 0) < 0)
			break;
	}
	if (!c->pending)
		ctl_client_free(c);
}

static int ctl_client_count(const struct vnetd *d)
{
	int n = 0;

	for (const struct ctl_client *c = d->clients; c; c = c->next)
		n++;
	return n;
}

static void ctl_accept_cb(struct ev_io *io, unsigned events, void *arg)
{
	struct vnetd *d = arg;
	struct timeval tv = {CTL_SEND_TIMEOUT_MS / 1000, 0};
	struct ctl_client *c;
	int fd;

	(void)events;
	/* Blocking for writes (bounded by SO_SNDTIMEO) so that a reply is
	 * never cut in half; reads use MSG_DONTWAIT. */
	fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (ctl_peer_check(fd) < 0 || ctl_client_count(d) >= CTL_CLIENTS_MAX) {
		ctl_server_refused(d, "peer not allowed or too many clients");
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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
	ev_io_init(&c->io, fd, ctl_client_cb, c);
	if (ev_io_start(d->loop, &c->io, EV_READ) < 0) {
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
	ev_io_stop(&d->ctl_io);
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->conf.control_socket);
		d->ctl_fd = -1;
	}
}
