/*
 * The source side of `vm migrate` (docs/migration.md): resolve HOST
 * (c-ares), connect to HOST:port, TLS 1 with our certificate and the
 * server's checked against the cluster CA and against HOST (DNS or IP
 * SAN), OFFER, then ACCEPT or REFUSE. On ACCEPT: the exported key,
 * close_notify both ways, and the bare socket with the key goes to the
 * domain's vmm (CTL_VMM_MIGRATE). The vmm's progress records go on to the
 * client as they are; its result settles the registry: OK, the domain left
 * (its vmm exits); FAILED or CANCELLED, it runs on here; AMBIGUOUS, it
 * stays paused here and the message names the commands that resolve it.
 *
 * Until the socket is handed over nothing of the domain has moved: every
 * failure there is an error reply to the client and the domain runs on.
 * A timer bounds that part (MIG_RELOC_TIMEOUT_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"
#include "reloc_msg.h"
#include "vmm_ctl.h"

enum out_state { OUT_RESOLVE, OUT_HANDSHAKE, OUT_OFFER, OUT_REPLY, OUT_CLOSE, OUT_VMM };

struct mig_out {
	struct mig *m;
	struct mig_dom *d;
	struct mig_client *c;
	enum out_state st;
	struct mig_ctl_migrate opts;
	char host[MIG_CTL_HOST_MAX + 1];
	char peer[MIG_CTL_HOST_MAX + 16];
	struct res_query *q;
	struct tls_conn *tls;
	struct ev_timer timer;
	uint8_t tx[RELOC_MSG_HDR_LEN + RELOC_MSG_MAX];
	size_t tx_len, tx_off;
	uint8_t rx[RELOC_MSG_HDR_LEN + RELOC_MSG_TEXT_MAX + 8];
	size_t rx_len;
	bool sent_close;
	uint8_t key[MIG_KEY_LEN];
	struct vmm_req *req, *cancel;
};

void reloc_client_free(struct mig_out *o)
{
	if (!o)
		return;
	if (o->d)
		o->d->out = NULL;
	res_cancel(o->q);
	tls_conn_free(o->tls);
	vmm_req_free(o->req);
	vmm_req_free(o->cancel);
	ev_timer_stop(&o->timer);
	explicit_bzero(o->key, sizeof(o->key));
	free(o);
}

/* A failure before the vmm has anything: the domain runs on untouched. */
static void out_fail(struct mig_out *o, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void out_fail(struct mig_out *o, int err, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("domain %s: migrate to %s: %s; the domain runs on here", o->d->name, o->peer, msg);
	if (o->c)
		ctl_server_error(o->c, MIG_CTL_MIGRATE, err, "migrate %s to %s: %s", o->d->name,
				 o->peer, msg);
	if (o->d->state == MIG_DOM_MIGRATING)
		o->d->state = MIG_DOM_RUNNING;
	reloc_client_free(o);
}

static void out_on_timer(struct ev_timer *t, void *arg)
{
	(void)t;
	out_fail(arg, -ETIMEDOUT, "no answer within %u ms", MIG_RELOC_TIMEOUT_MS);
}

static void out_tls_fail(struct mig_out *o, int err)
{
	out_fail(o, err, "%s", tls_conn_errmsg(o->tls));
}

/* The OFFER's config: the file the domain was created from, or what the
 * registry knows (a restored domain); the stream carries the real one. */
static void out_cfg(const struct mig_dom *d, char *buf, size_t cap)
{
	ssize_t n = -1;
	int fd = d->cfg_path[0] ? open(d->cfg_path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		n = read(fd, buf, cap - 1);
		close(fd);
	}
	if (n < 0)
		n = snprintf(buf, cap, "name = \"%s\"\nmemory = %u\nvcpus = %u\n", d->name,
			     d->memory_mib, d->vcpus);
	buf[n < (ssize_t)cap ? n : (ssize_t)cap - 1] = '\0';
	for (char *p = buf; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			*p = '?';
}

static int out_offer(struct mig_out *o)
{
	static struct reloc_offer off;
	int n;

	memset(&off, 0, sizeof(off));
	off.version = RELOC_MSG_VERSION;
	off.flags = o->opts.flags & MIG_CTL_MIG_F_LIVE ? RELOC_MSG_F_LIVE : 0;
	off.memory_mib = o->d->memory_mib;
	off.vcpus = o->d->vcpus;
	snprintf(off.name, sizeof(off.name), "%s", o->d->name);
	out_cfg(o->d, off.cfg, sizeof(off.cfg));
	if ((n = reloc_msg_offer_enc(&off, o->tx, sizeof(o->tx))) < 0)
		return n;
	o->tx_len = (size_t)n;
	o->tx_off = 0;
	return 0;
}

static void out_on_mig(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
		       int err, void *arg);

/* Both close_notify seen: the socket and key go to the vmm. */
static void out_handover(struct mig_out *o)
{
	struct vmm_ctl_migrate vm = {0};
	uint8_t buf[sizeof(vm) + VMM_CTL_MIG_PEER_MAX];
	int fd = tls_conn_release_fd(o->tls), n;

	tls_conn_free(o->tls);
	o->tls = NULL;
	vm.flags = o->opts.flags & MIG_CTL_MIG_F_LIVE ? VMM_CTL_MIG_F_LIVE : 0;
	vm.downtime_ms = o->opts.downtime_ms;
	vm.bandwidth_mbps = o->opts.bandwidth_mbps;
	memcpy(vm.key, o->key, sizeof(vm.key));
	explicit_bzero(o->key, sizeof(o->key));
	n = vmm_msg_migrate_enc(&vm, o->peer, buf, sizeof(buf));
	explicit_bzero(&vm, sizeof(vm));
	if (fd < 0 || n < 0) {
		if (fd >= 0)
			close(fd);
		explicit_bzero(buf, sizeof(buf));
		out_fail(o, n < 0 ? n : fd, "cannot hand the connection to the vmm");
		return;
	}
	o->req = vmm_req_start(o->m, o->d, CTL_VMM_MIGRATE, buf, (size_t)n, &fd, 1, out_on_mig, o);
	explicit_bzero(buf, sizeof(buf));
	close(fd); /* the vmm has its own copy now */
	if (!o->req) {
		out_fail(o, -errno, "vmm: %s", strerror(errno));
		return;
	}
	ev_timer_stop(&o->timer);
	o->st = OUT_VMM;
	log_info("domain %s: migrating to %s (%s)", o->d->name, o->peer,
		 o->opts.flags & MIG_CTL_MIG_F_LIVE ? "live" : "stop and copy");
}

static void out_reply(struct mig_out *o)
{
	static struct reloc_msg msg;
	char err[256];
	int rc;

	for (;;) {
		rc = tls_conn_read(o->tls, o->rx + o->rx_len, sizeof(o->rx) - o->rx_len);
		if (rc == -EAGAIN)
			return;
		if (rc <= 0) {
			if (rc == 0)
				out_fail(o, -ECONNRESET, "closed without an answer");
			else
				out_tls_fail(o, rc);
			return;
		}
		o->rx_len += (size_t)rc;
		rc = reloc_msg_dec(o->rx, o->rx_len, &msg, err, sizeof(err));
		if (rc < 0 || (rc == 0 && o->rx_len == sizeof(o->rx))) {
			out_fail(o, -EBADMSG, "bad answer: %s", rc < 0 ? err : "too long");
			return;
		}
		if (rc > 0)
			break;
	}
	if (msg.type == RELOC_MSG_REFUSE) {
		out_fail(o, msg.u.refuse.err, "refused: %s", msg.u.refuse.msg);
		return;
	}
	if (msg.type != RELOC_MSG_ACCEPT || (size_t)rc != o->rx_len) {
		out_fail(o, -EBADMSG, "bad answer: %s", reloc_msg_type_name(msg.type));
		return;
	}
	if (tls_conn_export_key(o->tls, MIG_KEY_LABEL, o->key, sizeof(o->key)) < 0) {
		out_fail(o, -EPROTO, "TLS key export failed");
		return;
	}
	o->st = OUT_CLOSE;
	tls_conn_want(o->tls, EV_WRITE | EV_READ);
}

/* Ours first (after ACCEPT), then the destination's. */
static void out_close(struct mig_out *o)
{
	uint8_t junk[64];
	int rc;

	if (!o->sent_close) {
		rc = tls_conn_shutdown(o->tls);
		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			out_tls_fail(o, rc);
			return;
		}
		o->sent_close = true;
		tls_conn_want(o->tls, EV_READ);
	}
	rc = tls_conn_read(o->tls, junk, sizeof(junk));
	if (rc == -EAGAIN)
		return;
	if (rc != 0) {
		if (rc > 0)
			out_fail(o, -EPROTO, "data after ACCEPT instead of close_notify");
		else
			out_tls_fail(o, rc);
		return;
	}
	out_handover(o);
}

static void out_on_io(struct tls_conn *c, unsigned events, void *arg)
{
	struct mig_out *o = arg;

	(void)c;
	(void)events;
	if (o->st == OUT_OFFER) {
		while (o->tx_off < o->tx_len) {
			int n = tls_conn_write(o->tls, o->tx + o->tx_off, o->tx_len - o->tx_off);
			if (n == -EAGAIN)
				return;
			if (n < 0) {
				out_tls_fail(o, n);
				return;
			}
			o->tx_off += (size_t)n;
		}
		o->st = OUT_REPLY;
		tls_conn_want(o->tls, EV_READ);
		return;
	}
	if (o->st == OUT_REPLY)
		out_reply(o);
	else if (o->st == OUT_CLOSE)
		out_close(o);
}

static void out_on_handshake(struct tls_conn *c, int err, void *arg)
{
	struct mig_out *o = arg;
	int rc;

	(void)c;
	if (err) {
		out_tls_fail(o, err);
		return;
	}
	if ((rc = out_offer(o)) < 0) {
		out_fail(o, rc, "OFFER: %s", strerror(-rc));
		return;
	}
	o->st = OUT_OFFER;
	tls_conn_want(o->tls, EV_WRITE);
}

static int out_connect(struct mig_out *o, const struct res_addr *a)
{
	struct sockaddr_storage ss = {0};
	struct tls_conn_opts opts = {0};
	socklen_t sl;
	int fd;

	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)o->opts.port);
		s4->sin_addr = a->u.in;
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)o->opts.port);
		s6->sin6_addr = a->u.in6;
		sl = sizeof(*s6);
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int e = -errno;
		close(fd);
		return e;
	}
	opts.peer = o->peer;
	opts.handshake_timeout_ms = MIG_RELOC_TIMEOUT_MS;
	opts.handshake_cb = out_on_handshake;
	opts.io_cb = out_on_io;
	opts.arg = o;
	if (!(o->tls = tls_conn_new(o->m->tls_cli, o->m->loop, fd, &opts)))
		return -errno;
	if (tls_conn_expect_name(o->tls, o->host) < 0)
		return -EINVAL;
	o->st = OUT_HANDSHAKE;
	return 0;
}

static void out_on_resolved(int status, const struct res_addr *addrs, size_t n, void *arg)
{
	struct mig_out *o = arg;
	int rc;

	o->q = NULL;
	if (status < 0 || n == 0) {
		out_fail(o, status < 0 ? status : -ENOENT, "%s: %s", o->host, res_strerror(status));
		return;
	}
	if ((rc = out_connect(o, &addrs[0])) < 0)
		out_fail(o, rc, "connect: %s", strerror(-rc));
}

static int out_tls_ctx(struct mig *m, char *err, size_t errlen)
{
	struct tls_files f = {m->conf.tls_ca, m->conf.tls_cert, m->conf.tls_key};

	if (m->tls_cli)
		return 0;
	m->tls_cli = tls_ctx_new(TLS_CLIENT, &f, err, errlen);
	return m->tls_cli ? 0 : -errno;
}

void reloc_client_start(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	struct mig_out *o = calloc(1, sizeof(*o));
	char err[512];
	int rc;

	if (!o) {
		ctl_server_error(c, MIG_CTL_MIGRATE, -ENOMEM, "migrate %s: out of memory", d->name);
		return;
	}
	o->m = c->m;
	o->d = d;
	o->c = c;
	o->opts = req->mig;
	if (!o->opts.port)
		o->opts.port = MIG_PORT_DEFAULT;
	snprintf(o->host, sizeof(o->host), "%s", req->host);
	snprintf(o->peer, sizeof(o->peer), "%s:%u", req->host, o->opts.port);
	ev_timer_init(&o->timer, out_on_timer, o);
	d->out = o;
	if ((rc = out_tls_ctx(c->m, err, sizeof(err))) < 0) {
		out_fail(o, rc, "TLS: %s", err);
		return;
	}
	ev_timer_start(c->m->loop, &o->timer, MIG_RELOC_TIMEOUT_MS, 0);
	if (!(o->q = res_forward(c->m->res, o->host, AF_UNSPEC, out_on_resolved, o)))
		out_fail(o, -errno, "%s: %s", o->host, strerror(errno));
}

/* The vmm's result: what happened to the domain, said once. */
static void out_result(struct mig_out *o, const struct vmm_mig_result *r)
{
	struct mig_dom *d = o->d;
	const char *oc = vmm_msg_mig_outcome_name(r->rec.outcome);

	switch (r->rec.outcome) {
	case VMM_CTL_MIG_OK:
		log_info("domain %s: now runs on %s (%llu ms, downtime %llu ms, %u rounds)",
			 d->name, o->peer, (unsigned long long)r->rec.total_ms,
			 (unsigned long long)(r->rec.downtime_us / 1000), r->rec.rounds);
		snprintf(d->note, sizeof(d->note), "migrated to %.100s", o->peer);
		d->destroying = true; /* its vmm exits; the exit removes the entry */
		break;
	case VMM_CTL_MIG_AMBIGUOUS:
		/* The vmm's message names the commands that resolve it. */
		d->state = MIG_DOM_PAUSED;
		snprintf(d->note, sizeof(d->note), "migration to %.90s ambiguous", o->host);
		log_error("%s", r->msg);
		break;
	default:
		d->state = MIG_DOM_RUNNING;
		log_warn("%s (%s)", r->msg, oc);
		break;
	}
}

static void out_on_mig(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
		       int err, void *arg)
{
	struct mig_out *o = arg;
	static struct vmm_mig_result res;
	struct mig_client *c = o->c;
	char why[256] = "";

	if (err == 0 && (h->flags & CTL_F_MORE)) {
		if (c)
			ctl_server_more(c, MIG_CTL_MIGRATE, p, len);
		o->d->state = MIG_DOM_MIGRATING;
		return;
	}
	o->req = NULL;
	vmm_req_free(r);
	if (err || (h->flags & CTL_F_ERROR)) {
		char msg[512] = "";
		if (!err)
			ctl_parse_error(p, len, &err, msg, sizeof(msg));
		out_fail(o, err, "vmm: %s", msg[0] ? msg : strerror(-err));
		return;
	}
	if (vmm_msg_mig_result_dec(p, len, &res, why, sizeof(why)) < 0) {
		/* A vmm that answers nonsense: assume nothing, keep it paused. */
		memset(&res, 0, sizeof(res));
		res.rec.outcome = VMM_CTL_MIG_AMBIGUOUS;
		snprintf(res.msg, sizeof(res.msg), "unreadable result: %s", why);
	}
	out_result(o, &res);
	if (c && res.rec.outcome == VMM_CTL_MIG_OK && !o->d->gone_waiter &&
	    (o->d->gone_reply = malloc(len))) {
		/* `vm migrate` returns once the entry is gone here, so the
		 * next `vm list` no longer shows it. */
		memcpy(o->d->gone_reply, p, len);
		o->d->gone_len = len;
		o->d->gone_type = MIG_CTL_MIGRATE;
		o->d->gone_waiter = c;
		if (o->d->pid <= 0) { /* its vmm already went */
			struct mig_dom *d = o->d;
			reloc_client_free(o);
			dom_remove(d, "migrated away");
			return;
		}
	} else if (c) {
		c->busy_type = MIG_CTL_MIGRATE;
		ctl_server_reply(c, MIG_CTL_MIGRATE, 0, p, len);
	}
	reloc_client_free(o);
}

static void out_on_cancel(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			  int err, void *arg)
{
	struct mig_out *o = arg;

	(void)h;
	(void)p;
	(void)len;
	(void)err;
	o->cancel = NULL;
	vmm_req_free(r);
}

void reloc_client_cancel(struct mig_client *c, struct mig_dom *d)
{
	if (c) {
		/* The client left: the migration goes on, its end is logged. */
		for (d = c->m->doms; d; d = d->next)
			if (d->out && d->out->c == c)
				d->out->c = NULL;
		return;
	}
	if (!d || !d->out)
		return;
	if (d->out->st != OUT_VMM) {
		out_fail(d->out, -ECANCELED, "cancelled");
		return;
	}
	if (!d->out->cancel)
		d->out->cancel =
		    vmm_req_start(d->m, d, CTL_VMM_CANCEL, NULL, 0, NULL, 0, out_on_cancel, d->out);
}
