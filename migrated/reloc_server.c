/*
 * The relocation server (destination side, docs/migration.md): TCP on
 * (relocation-address):(relocation-port), only when (relocation-server
 * yes). Per connection: TLS 1 with the client's certificate checked
 * against the cluster CA (svc/tls), the peer's address and reverse name
 * looked up at accept, then one OFFER read and judged: hosts-allow, the
 * protocol version, concurrent incoming migrations, the name, memory.
 * REFUSE names the first check that failed; ACCEPT registers the domain
 * as incoming, exports the key, exchanges close_notify and spawns
 * `vmm --incoming FD --key-fd KFD` on the bare socket. The vmm's answer to
 * CTL_VMM_INCOMING settles it: running (kept) or failed (forgotten).
 *
 * Bounds: at most MIG_IN_PENDING_MAX connections before their OFFER is
 * judged (more are closed at accept), each with a timer over handshake,
 * OFFER and close (MIG_RELOC_TIMEOUT_MS); an OFFER larger than
 * RELOC_MSG_MAX or malformed ends the connection.
 */
#include <arpa/inet.h>
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

enum in_state { IN_HANDSHAKE, IN_OFFER, IN_REFUSING, IN_CLOSING, IN_SPAWNED };

struct mig_in {
	struct mig_in *next;
	struct mig *m;
	enum in_state st;
	struct tls_conn *tls;
	struct res_query *rq;
	struct ev_timer timer;
	char peer[INET6_ADDRSTRLEN + 8];
	char addr[INET6_ADDRSTRLEN];
	char rname[RES_NAME_MAX + 1];
	bool rdone, offered, counted;
	struct reloc_msg msg;
	uint8_t rx[RELOC_MSG_HDR_LEN + RELOC_MSG_MAX];
	size_t rx_len;
	uint8_t tx[RELOC_MSG_HDR_LEN + RELOC_MSG_TEXT_MAX + 8];
	size_t tx_len, tx_off;
	uint8_t key[MIG_KEY_LEN];
	struct mig_dom *dom;
	struct vmm_req *req;
};

/* Warnings about what peers send, at most RELOC_WARN_BURST a second with
 * the number held back said in the next one: an outsider who opens
 * connections as fast as it can costs a few log lines, not a full disk. */
#define RELOC_WARN_BURST 10u

static void reloc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reloc_warn(const char *fmt, ...)
{
	static uint64_t window_ms;
	static unsigned n, held;
	uint64_t now = ev_now_ms();
	char line[1024];
	va_list ap;

	if (now - window_ms >= 1000) {
		if (held)
			log_warn("relocation: %u more warnings held back", held);
		window_ms = now;
		n = held = 0;
	}
	if (++n > RELOC_WARN_BURST) {
		held++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warn("%s", line);
}

void reloc_in_free(struct mig_in *in)
{
	struct mig *m = in->m;

	for (struct mig_in **pp = &m->ins; *pp; pp = &(*pp)->next)
		if (*pp == in) {
			*pp = in->next;
			break;
		}
	if (in->counted)
		m->nin_active--;
	else
		m->nin_pending--;
	if (in->dom)
		in->dom->in = NULL;
	res_cancel(in->rq);
	tls_conn_free(in->tls);
	vmm_req_free(in->req);
	ev_timer_stop(&in->timer);
	explicit_bzero(in->key, sizeof(in->key));
	free(in);
}

/* Ends a connection that came to nothing; the domain entry, if any, too. */
static void in_drop(struct mig_in *in, const char *why)
{
	struct mig_dom *d = in->dom;

	if (why && !strncmp(why, "peer ", 5))
		reloc_warn("relocation: %s", why); /* svc/tls named the peer */
	else if (why)
		reloc_warn("relocation: peer %s: %s", in->peer, why);
	if (d) {
		in->dom = NULL;
		d->in = NULL;
		dom_remove(d, "incoming migration failed");
	}
	reloc_in_free(in);
}

static void in_on_timer(struct ev_timer *t, void *arg)
{
	(void)t;
	in_drop(arg, "timed out before the domain arrived");
}

static int in_flush(struct mig_in *in)
{
	while (in->tx_off < in->tx_len) {
		int n = tls_conn_write(in->tls, in->tx + in->tx_off, in->tx_len - in->tx_off);
		if (n < 0)
			return n;
		in->tx_off += (size_t)n;
	}
	return 0;
}

static void in_refuse(struct mig_in *in, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void in_refuse(struct mig_in *in, int err, const char *fmt, ...)
{
	char msg[RELOC_MSG_TEXT_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reloc_warn("relocation: peer %s: refused: %s", in->peer, msg);
	n = reloc_msg_refuse_enc(err, msg, in->tx, sizeof(in->tx));
	if (n < 0) {
		in_drop(in, NULL);
		return;
	}
	in->tx_len = (size_t)n;
	in->tx_off = 0;
	in->st = IN_REFUSING;
	tls_conn_want(in->tls, EV_WRITE);
}

/* The OFFER against this host's rules; first failure refuses. */
static bool in_judge(struct mig_in *in)
{
	const struct reloc_offer *o = &in->msg.u.offer;
	struct mig *m = in->m;
	struct mig_dom *d;
	uint32_t avail;

	if (!mig_allow_all(&m->conf.allow) && !mig_allow_match(&m->conf.allow, in->addr) &&
	    !mig_allow_match(&m->conf.allow, in->rname)) {
		in_refuse(in, -EACCES, "host %s (%s) is not allowed by relocation-hosts-allow",
			  in->addr, in->rname[0] ? in->rname : "no reverse name");
		return false;
	}
	if (o->version != RELOC_MSG_VERSION) {
		in_refuse(in, -EPROTONOSUPPORT,
			  "relocation protocol version %u, this host speaks %u", o->version,
			  RELOC_MSG_VERSION);
		return false;
	}
	if (m->nin_active >= m->conf.max_migrations) {
		in_refuse(in, -EBUSY,
			  "%u incoming migration(s) already running (max-migrations %u)",
			  m->nin_active, m->conf.max_migrations);
		return false;
	}
	if ((d = dom_find_name(m, o->name))) {
		in_refuse(in, -EEXIST, "a domain named %s already exists here (id %u)", o->name,
			  d->domid);
		return false;
	}
	if (o->memory_mib > (avail = dom_mem_available(m))) {
		in_refuse(in, -ENOMEM, "domain %s needs %u MiB, this host can give %u MiB", o->name,
			  o->memory_mib, avail);
		return false;
	}
	return true;
}

static void in_accept(struct mig_in *in)
{
	const struct reloc_offer *o = &in->msg.u.offer;
	struct reloc_accept a = {RELOC_MSG_VERSION, 0};
	struct mig_dom *d;
	char err[512];
	int n;

	if (!in_judge(in))
		return;
	if (!(d = dom_new(in->m, o->name, o->memory_mib, o->vcpus))) {
		in_refuse(in, -ENOMEM, "out of memory");
		return;
	}
	/* Its TAPs are on the bridges before its vmm exists. */
	if ((n = mig_vif_open_text(d, o->cfg, err, sizeof(err))) < 0) {
		dom_remove(d, NULL);
		in_refuse(in, n, "%s", err);
		return;
	}
	d->state = MIG_DOM_INCOMING;
	d->in = in;
	in->dom = d;
	in->counted = true;
	in->m->nin_pending--;
	in->m->nin_active++;
	a.domid = d->domid;
	n = reloc_msg_accept_enc(&a, in->tx, sizeof(in->tx));
	if (n < 0 || tls_conn_export_key(in->tls, MIG_KEY_LABEL, in->key, sizeof(in->key)) < 0) {
		in_drop(in, "TLS key export failed");
		return;
	}
	in->tx_len = (size_t)n;
	in->tx_off = 0;
	in->st = IN_CLOSING;
	log_info("relocation: peer %s: accepted domain %s (%u MiB, %s), id %u", in->peer, o->name,
		 o->memory_mib, o->flags & RELOC_MSG_F_LIVE ? "live" : "not live", d->domid);
	tls_conn_want(in->tls, EV_WRITE | EV_READ);
}

static void in_on_incoming(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			   int err, void *arg);

/* Both close_notify exchanged: the socket and key go to a new vmm. */
static void in_spawn(struct mig_in *in)
{
	struct mig_dom *d = in->dom;
	char fdarg[] = "3", keyarg[] = "4";
	const char *args[] = {"--incoming", fdarg, "--key-fd", keyarg, NULL};
	int fds[2], kp[2] = {-1, -1}, sock = tls_conn_release_fd(in->tls), rc = -EIO;

	tls_conn_free(in->tls);
	in->tls = NULL;
	if (sock >= 0 && pipe2(kp, O_CLOEXEC) == 0 &&
	    write(kp[1], in->key, sizeof(in->key)) == (ssize_t)sizeof(in->key)) {
		close(kp[1]);
		kp[1] = -1;
		fds[0] = sock;
		fds[1] = kp[0];
		d->on_up = reloc_in_vmm_up;
		rc = mig_vif_spawn(d, args, fds, 2);
	}
	explicit_bzero(in->key, sizeof(in->key));
	if (sock >= 0)
		close(sock);
	for (int i = 0; i < 2; i++)
		if (kp[i] >= 0)
			close(kp[i]);
	if (rc < 0) {
		in_drop(in, "could not start the incoming vmm");
		return;
	}
	in->st = IN_SPAWNED;
	ev_timer_stop(&in->timer);
}

static void in_closing(struct mig_in *in, unsigned events)
{
	uint8_t junk[64];
	int rc;

	(void)events;
	if ((rc = in_flush(in)) == -EAGAIN)
		return;
	if (rc < 0) {
		in_drop(in, tls_conn_errmsg(in->tls));
		return;
	}
	/* A's close_notify first (it sends it after reading ACCEPT), then ours. */
	rc = tls_conn_read(in->tls, junk, sizeof(junk));
	if (rc == -EAGAIN) {
		tls_conn_want(in->tls, EV_READ);
		return;
	}
	if (rc != 0) {
		in_drop(in, rc > 0 ? "data after ACCEPT instead of close_notify"
				   : tls_conn_errmsg(in->tls));
		return;
	}
	rc = tls_conn_shutdown(in->tls);
	if (rc == -EAGAIN) {
		tls_conn_want(in->tls, EV_WRITE);
		return;
	}
	if (rc < 0) {
		in_drop(in, tls_conn_errmsg(in->tls));
		return;
	}
	in_spawn(in);
}

static void in_read_offer(struct mig_in *in)
{
	char err[256];
	int rc;

	while (!in->offered) {
		rc = tls_conn_read(in->tls, in->rx + in->rx_len, sizeof(in->rx) - in->rx_len);
		if (rc == -EAGAIN)
			return;
		if (rc <= 0) {
			in_drop(in, rc == 0 ? "closed before its OFFER" : tls_conn_errmsg(in->tls));
			return;
		}
		in->rx_len += (size_t)rc;
		rc = reloc_msg_dec(in->rx, in->rx_len, &in->msg, err, sizeof(err));
		if (rc < 0 ||
		    (rc > 0 && (in->msg.type != RELOC_MSG_OFFER || (size_t)rc != in->rx_len))) {
			in_refuse(in, -EBADMSG, "malformed relocation request: %s",
				  rc < 0 ? err : "not one OFFER");
			return;
		}
		if (rc == 0 && in->rx_len == sizeof(in->rx)) {
			in_refuse(in, -EBADMSG, "malformed relocation request");
			return;
		}
		if (rc > 0)
			in->offered = true;
	}
	tls_conn_want(in->tls, 0);
	if (in->rdone)
		in_accept(in);
}

static void in_on_io(struct tls_conn *c, unsigned events, void *arg)
{
	struct mig_in *in = arg;
	int rc;

	(void)c;
	switch (in->st) {
	case IN_OFFER:
		in_read_offer(in);
		return;
	case IN_REFUSING:
		if ((rc = in_flush(in)) == -EAGAIN)
			return;
		if (rc == 0)
			tls_conn_shutdown(in->tls);
		in_drop(in, NULL);
		return;
	case IN_CLOSING:
		in_closing(in, events);
		return;
	default:
		return;
	}
}

static void in_on_handshake(struct tls_conn *c, int err, void *arg)
{
	struct mig_in *in = arg;
	char subj[256] = "";

	if (err) {
		in_drop(in, tls_conn_errmsg(c));
		return;
	}
	tls_conn_peer_subject(c, subj, sizeof(subj));
	log_debug("relocation: peer %s: TLS 1 up (%s, %s)", in->peer, tls_conn_version(c), subj);
	in->st = IN_OFFER;
	tls_conn_want(c, EV_READ);
}

static void in_on_reverse(int status, const char *name, void *arg)
{
	struct mig_in *in = arg;

	in->rq = NULL;
	in->rdone = true;
	if (status == 0)
		snprintf(in->rname, sizeof(in->rname), "%s", name);
	if (in->offered && in->st == IN_OFFER)
		in_accept(in);
}

/* The peer's address as hosts-allow sees it: an IPv4 peer on our IPv6
 * socket (::ffff:a.b.c.d) is the IPv4 address it is. */
static void in_peer_addr(struct mig_in *in, const struct sockaddr_storage *ss, struct res_addr *ra)
{
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_in *s4 = (const void *)ss;
	unsigned port;

	if (ss->ss_family == AF_INET) {
		ra->family = AF_INET;
		ra->u.in = s4->sin_addr;
		port = ntohs(s4->sin_port);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		ra->family = AF_INET;
		memcpy(&ra->u.in, &s6->sin6_addr.s6_addr[12], 4);
		port = ntohs(s6->sin6_port);
	} else {
		ra->family = AF_INET6;
		ra->u.in6 = s6->sin6_addr;
		port = ntohs(s6->sin6_port);
	}
	res_addr_str(ra, in->addr, sizeof(in->addr));
	snprintf(in->peer, sizeof(in->peer), ra->family == AF_INET ? "%s:%u" : "[%s]:%u", in->addr,
		 port);
}

static void in_start(struct mig *m, int fd, const struct sockaddr_storage *ss)
{
	struct tls_conn_opts opts = {0};
	struct mig_in *in = calloc(1, sizeof(*in));
	struct res_addr ra = {0};

	if (!in) {
		close(fd);
		return;
	}
	in->m = m;
	m->nin_pending++;
	in->next = m->ins;
	m->ins = in;
	ev_timer_init(&in->timer, in_on_timer, in);
	ev_timer_start(m->loop, &in->timer, MIG_RELOC_TIMEOUT_MS, 0);
	in_peer_addr(in, ss, &ra);
	opts.peer = in->peer;
	opts.handshake_timeout_ms = MIG_RELOC_TIMEOUT_MS;
	opts.handshake_cb = in_on_handshake;
	opts.io_cb = in_on_io;
	opts.arg = in;
	if (!(in->tls = tls_conn_new(m->tls_srv, m->loop, fd, &opts))) {
		in_drop(in, "TLS: out of memory");
		return;
	}
	/* Only needed when the address alone does not match. */
	if (mig_allow_all(&m->conf.allow) || mig_allow_match(&m->conf.allow, in->addr) ||
	    !(in->rq = res_reverse(m->res, &ra, in_on_reverse, in)))
		in->rdone = true;
}

static void reloc_on_accept(struct ev_io *io, unsigned events, void *arg)
{
	struct mig *m = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	(void)events;
	while ((fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK)) >=
	       0) {
		if (m->nin_pending >= MIG_IN_PENDING_MAX) {
			reloc_warn("relocation: %u connections before OFFER already, one closed",
				   m->nin_pending);
			close(fd);
		} else {
			in_start(m, fd, &ss);
		}
		sl = sizeof(ss);
	}
}

static void in_on_incoming(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			   int err, void *arg)
{
	struct mig_in *in = arg;
	struct mig_dom *d = in->dom;
	static struct vmm_mig_result res;
	char why[256] = "";

	if (err == 0 && (h->flags & CTL_F_MORE))
		return; /* progress while the stream arrives */
	in->req = NULL;
	vmm_req_free(r);
	if (err == 0 && !(h->flags & CTL_F_ERROR) &&
	    vmm_msg_mig_result_dec(p, len, &res, why, sizeof(why)) == 0 &&
	    res.rec.outcome == VMM_CTL_MIG_OK) {
		d->state = MIG_DOM_RUNNING;
		log_info("domain %s: id %u: arrived from %s, running", d->name, d->domid, in->peer);
		in->dom = NULL;
		d->in = NULL;
		reloc_in_free(in);
		return;
	}
	if (err == 0 && !(h->flags & CTL_F_ERROR) && !why[0])
		snprintf(why, sizeof(why), "%.255s", res.msg);
	log_warn("domain %s: incoming from %s failed: %s", d->name, in->peer,
		 why[0] ? why
		 : err	? strerror(-err)
			: "error reply");
	/* The vmm exits 2 on its own; its exit removes the entry. */
	d->destroying = true;
	in->dom = NULL;
	d->in = NULL;
	reloc_in_free(in);
}

/* The incoming vmm's control socket is up: ask it how it ends. */
void reloc_in_vmm_up(struct mig_dom *d)
{
	struct mig_in *in = d->in;

	if (!in)
		return;
	if (!(in->req =
		  vmm_req_start(d->m, d, CTL_VMM_INCOMING, NULL, 0, NULL, 0, in_on_incoming, in)))
		in_drop(in, "incoming vmm does not answer");
}

int reloc_server_start(struct mig *m)
{
	const char *a = m->conf.relocation_address;
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons(m->conf.relocation_port)};
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(m->conf.relocation_port)};
	bool v4 = *a && strchr(a, ':') == NULL;
	int fd, one = 1, rc;

	if (v4)
		inet_pton(AF_INET, a, &s4.sin_addr);
	else if (*a)
		inet_pton(AF_INET6, a, &s6.sin6_addr);
	else
		s6.sin6_addr = in6addr_any;
	fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && !*a && errno == EAFNOSUPPORT) {
		v4 = true;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((v4 ? bind(fd, (struct sockaddr *)&s4, sizeof(s4))
		: bind(fd, (struct sockaddr *)&s6, sizeof(s6))) < 0 ||
	    listen(fd, 16) < 0)
		goto fail;
	ev_io_init(&m->reloc_io, fd, reloc_on_accept, m);
	if ((rc = ev_io_start(m->loop, &m->reloc_io, EV_READ)) < 0) {
		close(fd);
		return rc;
	}
	log_info("relocation server on [%s]:%u", *a ? a : "any", m->conf.relocation_port);
	return 0;
fail:
	rc = -errno;
	log_error("relocation server [%s]:%u: %s", *a ? a : "any", m->conf.relocation_port,
		  strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

void reloc_server_stop(struct mig *m)
{
	while (m->ins)
		in_drop(m->ins, NULL);
	if (m->reloc_io.fd >= 0) {
		ev_io_stop(&m->reloc_io);
		close(m->reloc_io.fd);
		m->reloc_io.fd = -1;
	}
}
