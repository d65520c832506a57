/*
 * migrated's control socket: accepts `vm` clients (root or our uid,
 * SO_PEERCRED), reads whole messages with ctl_conn_read (length capped
 * before any read), decodes each request with mig_ctl_req_dec and hands it
 * to cmd.c. A malformed request is answered with an error and the client
 * disconnected; the daemon goes on. A request that waits (a vmm's answer,
 * a migration) leaves its client busy: no further request is read from it
 * until ctl_server_reply. Replies are queued (ctl_out) and written when
 * the socket is writable, never with a blocking send.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

static void client_free(struct mig_client *c)
{
	struct mig *m = c->m;

	for (struct mig_client **pp = &m->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	for (struct mig_dom *d = m->doms; d; d = d->next) {
		if (d->waiter == c)
			d->waiter = NULL;
		if (d->gone_waiter == c)
			d->gone_waiter = NULL;
	}
	for (struct vmm_req *r = m->reqs; r; r = r->next)
		if (r->client == c)
			r->client = NULL;
	cmd_list_forget_client(m, c);
	reloc_client_cancel(c, NULL);
	ev_io_stop(&c->io);
	close(c->io.fd);
	ctl_out_fini(&c->out);
	free(c->conn);
	free(c);
	m->nclients--;
}

/* The interest a client's state calls for: write while replies are
 * queued; read only when idle, or for console input (no reply). */
static void client_arm(struct mig_client *c)
{
	unsigned ev = 0;

	if (ctl_out_pending(&c->out))
		ev |= EV_WRITE;
	else if (!c->busy || c->console)
		ev |= EV_READ;
	if (c->console)
		ev |= EV_READ;
	ev_io_set(&c->io, ev);
}

/* Never frees the client (callers hold it): a peer that left is found by
 * the next read, which sees its end. */
static void client_flush(struct mig_client *c)
{
	if (ctl_out_flush(&c->out, c->io.fd) < 0) {
		c->out.off = c->out.len = 0;
		ev_io_set(&c->io, EV_READ);
		return;
	}
	client_arm(c);
}

static void client_request(struct mig_client *c)
{
	struct mig_ctl_req req;
	char err[256];
	struct ctl_hdr h = c->conn->hdr;

	ctl_conn_consume(c->conn);
	if (mig_ctl_req_dec(h.type, c->conn->buf, h.len, &req, err, sizeof(err)) < 0) {
		log_warn("control: bad request: %s", err);
		ctl_out_error(&c->out, h.type, -EBADMSG, "%s", err);
		ctl_out_flush(&c->out, c->io.fd);
		client_free(c);
		return;
	}
	if (h.type == MIG_CTL_CONSOLE_IN) {
		cmd_dispatch(c, &req); /* no reply: the client's state stays */
		return;
	}
	if (c->busy)
		return; /* only console input while attached */
	c->busy = true;
	c->busy_type = h.type;
	cmd_dispatch(c, &req);
}

static void client_on_io(struct ev_io *io, unsigned events, void *arg)
{
	struct mig_client *c = arg;
	struct mig *m = c->m;

	(void)io;
	if (events & EV_WRITE) {
		if (ctl_out_flush(&c->out, c->io.fd) < 0) {
			client_free(c);
			return;
		}
	}
	if (events & (EV_READ | EV_ERROR)) {
		for (int i = 0; i < 16; i++) {
			struct mig_client *x;
			int rc = ctl_conn_read(c->conn);

			if (rc == 0)
				break;
			if (rc < 0) {
				client_free(c);
				return;
			}
			client_request(c);
			/* The request may have freed the client. */
			for (x = m->clients; x && x != c; x = x->next)
				;
			if (!x)
				return;
			if (c->busy && !c->console)
				break;
		}
	}
	client_arm(c);
}

static void ctl_on_accept(struct ev_io *io, unsigned events, void *arg)
{
	struct mig *m = arg;
	struct mig_client *c;
	int fd;

	(void)events;
	while ((fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (ctl_peer_check(fd) < 0 || m->nclients >= MIG_CLIENTS_MAX) {
			log_warn("control: client refused (%s)", m->nclients >= MIG_CLIENTS_MAX
								     ? "too many clients"
								     : "not root or our uid");
			close(fd);
			continue;
		}
		if (!(c = calloc(1, sizeof(*c))) || !(c->conn = malloc(sizeof(*c->conn)))) {
			free(c);
			close(fd);
			continue;
		}
		c->m = m;
		c->conn->fd = fd;
		c->conn->have = 0;
		ctl_out_init(&c->out, CTL_OUT_MAX_DEFAULT);
		ev_io_init(&c->io, fd, client_on_io, c);
		ev_io_start(m->loop, &c->io, EV_READ);
		c->next = m->clients;
		m->clients = c;
		m->nclients++;
	}
}

int ctl_server_start(struct mig *m)
{
	int fd = ctl_listen(m->conf.control_socket);

	if (fd < 0) {
		log_error("control socket %s: %s", m->conf.control_socket, strerror(-fd));
		return fd;
	}
	ev_io_init(&m->ctl_io, fd, ctl_on_accept, m);
	return ev_io_start(m->loop, &m->ctl_io, EV_READ);
}

void ctl_server_stop(struct mig *m)
{
	while (m->clients)
		client_free(m->clients);
	if (m->ctl_io.fd >= 0) {
		ev_io_stop(&m->ctl_io);
		close(m->ctl_io.fd);
		unlink(m->conf.control_socket);
		m->ctl_io.fd = -1;
	}
}

void ctl_server_reply(struct mig_client *c, uint16_t type, uint16_t flags, const void *p,
		      size_t len)
{
	c->busy = false;
	if (ctl_out_msg(&c->out, type, CTL_F_REPLY | flags, p, (uint32_t)len) < 0)
		log_warn("control: reply 0x%04x lost", type);
	client_flush(c);
}

void ctl_server_error(struct mig_client *c, uint16_t type, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->busy = false;
	if (ctl_out_error(&c->out, type, err, "%s", msg) < 0)
		log_warn("control: error reply 0x%04x lost", type);
	client_flush(c);
}

void ctl_server_more(struct mig_client *c, uint16_t type, const void *p, size_t len)
{
	if (ctl_out_room(&c->out, sizeof(struct ctl_hdr) + len) < 0)
		return; /* a client that does not read loses progress, never blocks us */
	ctl_out_msg(&c->out, type, CTL_F_REPLY | CTL_F_MORE, p, (uint32_t)len);
	client_flush(c);
}

void ctl_server_console(struct mig_dom *d, const uint8_t *p, size_t n)
{
	struct mig_client *c, *next;

	for (c = d->m->clients; c; c = next) {
		next = c->next;
		if (c->console == d)
			ctl_server_more(c, MIG_CTL_CONSOLE, p, n);
	}
}

void ctl_server_forget_dom(struct mig *m, struct mig_dom *d)
{
	struct mig_client *c, *next;

	for (c = m->clients; c; c = next) {
		next = c->next;
		if (c->console == d) {
			c->console = NULL;
			ctl_server_reply(c, MIG_CTL_CONSOLE, 0, NULL, 0);
		}
	}
}
