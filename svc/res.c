/*
 * res: c-ares on the ev loop. See res.h for the contract.
 *
 * c-ares may answer synchronously (hosts file, numeric input) or later
 * from ares_process_fd; either way its callback only stores the answer in
 * the query and schedules the query's ev_defer, which calls the user. So
 * user code never runs inside c-ares and may start, cancel or free freely.
 */
#include "res.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct res_sock {
	struct ev_io io;
	struct res *res;
	struct res_sock *next;
};

struct res {
	struct ev_loop *loop;
	ares_channel channel;
	struct ev_timer timer;
	struct res_sock *socks;
	struct res_query *queries; /* every live query, for res_free */
	bool files_only;	   /* lookups without DNS ("f") */
	bool dying;
};

struct res_query {
	struct res *res;
	struct res_query *prev, *next;
	struct ev_defer defer;
	res_forward_cb fwd; /* exactly one of fwd and rev is set */
	res_reverse_cb rev;
	void *arg;
	bool in_ares;	/* c-ares still holds it: its callback will come */
	bool cancelled; /* free when c-ares lets go, never call back */
	int status;
	size_t n;
	struct res_addr addrs[RES_ADDR_MAX];
	char name[RES_NAME_MAX + 1];
};

static int status_from_ares(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ECONNREFUSED:
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
		return -ECONNREFUSED;
	case ARES_EBADNAME:
	case ARES_EBADFAMILY:
		return -EINVAL;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

const char *res_strerror(int status)
{
	switch (status) {
	case 0:
		return "success";
	case -ENOENT:
		return "host not found";
	case -ETIMEDOUT:
		return "timed out";
	case -ECONNREFUSED:
		return "name servers refused or failed";
	case -EINVAL:
		return "bad name";
	case -EIO:
		return "resolver failure";
	default:
		return strerror(-status);
	}
}

/* --- sockets and timeouts: what c-ares asks us to watch --- */

static void timer_rearm(struct res *res)
{
	struct timeval tv;

	if (!ares_timeout(res->channel, NULL, &tv)) {
		ev_timer_stop(&res->timer);
		return;
	}
	/* Round up: a timer that fires early only makes c-ares ask again. */
	if (ev_timer_start(res->loop, &res->timer,
			   (uint64_t)tv.tv_sec * 1000u + ((uint64_t)tv.tv_usec + 999u) / 1000u, 0))
		log_debug("res: cannot arm timeout timer");
}

static void on_timer(struct ev_timer *timer, void *arg)
{
	struct res *res = arg;

	(void)timer;
	ares_process_fd(res->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_rearm(res);
}

static void on_sock(struct ev_io *io, unsigned events, void *arg)
{
	struct res_sock *rs = arg;
	struct res *res = rs->res; /* rs may be freed inside ares_process_fd */
	int fd = io->fd;

	ares_process_fd(res->channel, events & (EV_READ | EV_ERROR) ? fd : ARES_SOCKET_BAD,
			events & EV_WRITE ? fd : ARES_SOCKET_BAD);
	timer_rearm(res);
}

static void sock_forget(struct res_sock **pp)
{
	struct res_sock *rs = *pp;

	*pp = rs->next;
	ev_io_stop(&rs->io);
	free(rs);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct res *res = data;
	unsigned want = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	struct res_sock **pp, *rs;

	for (pp = &res->socks; *pp && (*pp)->io.fd != fd; pp = &(*pp)->next)
		;
	if (!want) {
		if (*pp)
			sock_forget(pp);
		return;
	}
	if (*pp) {
		if (ev_io_set(&(*pp)->io, want))
			log_debug("res: fd %d: cannot change interest", fd);
		return;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		/* c-ares will time the query out: slower, never stuck. */
		log_debug("res: fd %d: out of memory", fd);
		return;
	}
	ev_io_init(&rs->io, fd, on_sock, rs);
	rs->res = res;
	if (ev_io_start(res->loop, &rs->io, want)) {
		log_debug("res: fd %d: cannot watch", fd);
		free(rs);
		return;
	}
	rs->next = res->socks;
	res->socks = rs;
}

/* --- resolver --- */

static int channel_init(struct res *res, const struct res_opts *o)
{
	struct ares_options opts = {0};
	int mask = ARES_OPT_SOCK_STATE_CB;

	opts.sock_state_cb = on_sock_state;
	opts.sock_state_cb_data = res;
	if (o && o->timeout_ms > 0) {
		opts.timeout = o->timeout_ms;
		mask |= ARES_OPT_TIMEOUTMS;
	}
	if (o && o->tries > 0) {
		opts.tries = o->tries;
		mask |= ARES_OPT_TRIES;
	}
	if (o && o->lookups) {
		opts.lookups = (char *)o->lookups; /* c-ares copies it */
		mask |= ARES_OPT_LOOKUPS;
	}
	if (ares_init_options(&res->channel, &opts, mask) != ARES_SUCCESS)
		return -EIO;
	if (o && o->servers && ares_set_servers_ports_csv(res->channel, o->servers) != ARES_SUCCESS)
		return -EINVAL;
	return 0;
}

static bool opts_valid(const struct res_opts *o)
{
	if (!o)
		return true;
	if (o->timeout_ms < 0 || o->tries < 0)
		return false;
	if (o->lookups && (!o->lookups[0] || strspn(o->lookups, "fb") != strlen(o->lookups)))
		return false;
	return true;
}

struct res *res_new(struct ev_loop *loop, const struct res_opts *opts)
{
	struct res *res;
	int err;

	if (!opts_valid(opts)) {
		errno = EINVAL;
		return NULL;
	}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		errno = EIO;
		return NULL;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		ares_library_cleanup();
		errno = ENOMEM;
		return NULL;
	}
	res->loop = loop;
	res->files_only = opts && opts->lookups && !strchr(opts->lookups, 'b');
	ev_timer_init(&res->timer, on_timer, res);
	err = channel_init(res, opts);
	if (err) {
		res_free(res);
		errno = -err;
		return NULL;
	}
	return res;
}

static void query_unlink(struct res_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		q->res->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

void res_free(struct res *res)
{
	if (!res)
		return;
	res->dying = true;
	/* Every query still in c-ares comes back once with EDESTRUCTION. */
	if (res->channel)
		ares_destroy(res->channel);
	while (res->queries) {
		struct res_query *q = res->queries;

		query_unlink(q);
		ev_defer_cancel(&q->defer);
		free(q);
	}
	while (res->socks)
		sock_forget(&res->socks);
	ev_timer_stop(&res->timer);
	free(res);
	ares_library_cleanup();
}

/* --- queries --- */

static void deliver(struct ev_defer *defer, void *arg)
{
	struct res_query *q = arg;

	(void)defer;
	query_unlink(q);
	if (q->fwd)
		q->fwd(q->status, q->status ? NULL : q->addrs, q->status ? 0 : q->n, q->arg);
	else
		q->rev(q->status, q->status ? NULL : q->name, q->arg);
	free(q);
}

static struct res_query *query_new(struct res *res, void *arg)
{
	struct res_query *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->res = res;
	q->arg = arg;
	ev_defer_init(&q->defer, deliver, q);
	q->next = res->queries;
	if (q->next)
		q->next->prev = q;
	res->queries = q;
	return q;
}

/* Called when c-ares lets go of q. Returns false if q was dropped. */
static bool query_back(struct res_query *q, int ares_status)
{
	q->in_ares = false;
	if (q->cancelled || q->res->dying) {
		query_unlink(q);
		free(q);
		return false;
	}
	/* c-ares 1.18 reports a name missing from the hosts file, with DNS
	 * off, as "could not contact DNS servers". */
	if (ares_status == ARES_ECONNREFUSED && q->res->files_only)
		ares_status = ARES_ENOTFOUND;
	q->status = status_from_ares(ares_status);
	return true;
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct res_query *q = arg;

	(void)timeouts;
	if (query_back(q, status)) {
		for (struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n && q->n < RES_ADDR_MAX;
		     n = n->ai_next) {
			struct res_addr *a = &q->addrs[q->n];

			if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in))
				a->u.in = ((struct sockaddr_in *)(void *)n->ai_addr)->sin_addr;
			else if (n->ai_family == AF_INET6 &&
				 n->ai_addrlen >= sizeof(struct sockaddr_in6))
				a->u.in6 = ((struct sockaddr_in6 *)(void *)n->ai_addr)->sin6_addr;
			else
				continue;
			a->family = (sa_family_t)n->ai_family;
			q->n++;
		}
		if (!q->status && !q->n)
			q->status = -ENOENT;
		ev_defer_schedule(q->res->loop, &q->defer);
	}
	if (ai)
		ares_freeaddrinfo(ai);
}

/* A numeric name is its own answer; -ENOENT if of the wrong family. */
static void answer_numeric(struct res_query *q, const struct res_addr *a, int family)
{
	if (family != AF_UNSPEC && family != a->family) {
		q->status = -ENOENT;
	} else {
		q->addrs[0] = *a;
		q->n = 1;
	}
	ev_defer_schedule(q->res->loop, &q->defer);
}

struct res_query *res_forward(struct res *res, const char *name, int family, res_forward_cb cb,
			      void *arg)
{
	struct ares_addrinfo_hints hints = {.ai_family = family};
	struct res_query *q;
	struct res_addr num;
	size_t len = name ? strnlen(name, RES_NAME_MAX + 1) : 0;

	if (!len || len > RES_NAME_MAX || !cb ||
	    (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)) {
		errno = EINVAL;
		return NULL;
	}
	q = query_new(res, arg);
	if (!q)
		return NULL;
	q->fwd = cb;
	if (res_addr_parse(name, &num) == 0) {
		answer_numeric(q, &num, family);
		return q;
	}
	q->in_ares = true;
	ares_getaddrinfo(res->channel, name, NULL, &hints, on_addrinfo, q);
	timer_rearm(res);
	return q;
}

static void on_hostent(void *arg, int status, int timeouts, struct hostent *h)
{
	struct res_query *q = arg;

	(void)timeouts;
	if (!query_back(q, status))
		return;
	if (!q->status) {
		if (!h || !h->h_name || !h->h_name[0])
			q->status = -ENOENT;
		else if (strlen(h->h_name) > RES_NAME_MAX)
			q->status = -EIO;
		else
			strcpy(q->name, h->h_name);
	}
	ev_defer_schedule(q->res->loop, &q->defer);
}

struct res_query *res_reverse(struct res *res, const struct res_addr *addr, res_reverse_cb cb,
			      void *arg)
{
	struct res_query *q;
	size_t alen;

	if (!addr || !cb || (addr->family != AF_INET && addr->family != AF_INET6)) {
		errno = EINVAL;
		return NULL;
	}
	q = query_new(res, arg);
	if (!q)
		return NULL;
	q->rev = cb;
	q->in_ares = true;
	alen = addr->family == AF_INET ? sizeof(addr->u.in) : sizeof(addr->u.in6);
	ares_gethostbyaddr(res->channel, &addr->u, (int)alen, addr->family, on_hostent, q);
	timer_rearm(res);
	return q;
}

void res_cancel(struct res_query *q)
{
	if (!q)
		return;
	if (q->in_ares) {
		q->cancelled = true; /* freed when c-ares calls back */
		return;
	}
	ev_defer_cancel(&q->defer);
	query_unlink(q);
	free(q);
}

/* --- addresses --- */

int res_addr_parse(const char *text, struct res_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &out->u.in) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &out->u.in6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *res_addr_str(const struct res_addr *addr, char *buf, size_t len)
{
	if ((addr->family != AF_INET && addr->family != AF_INET6) ||
	    !inet_ntop(addr->family, &addr->u, buf, (socklen_t)len))
		return "?";
	return buf;
}
