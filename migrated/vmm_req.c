/*
 * Requests to a vmm's control socket (hypervisor/vmm/vmm_ctl.h), answered
 * on the loop: the request (and its fds) is sent at once on a fresh
 * connection (a local Unix socket: connecting and a small send do not
 * wait), then every reply arrives through ctl_conn_read and the callback,
 * CTL_F_MORE records first, until the final one or the connection's end
 * (err -ECONNRESET). The owner frees the request, also from a callback:
 * then the payload stays valid until the callback returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

static void vmm_req_on_io(struct ev_io *io, unsigned events, void *arg)
{
	struct vmm_req *r = arg;

	(void)io;
	(void)events;
	for (int i = 0; i < 64 && !r->done; i++) {
		int rc = ctl_conn_read(r->conn);
		struct ctl_hdr h;

		if (rc == 0 || rc == -EAGAIN)
			return;
		if (rc < 0) {
			r->done = true;
			ev_io_stop(&r->io);
			r->in_cb = true;
			r->cb(r, NULL, NULL, 0, rc, r->arg);
			r->in_cb = false;
			if (r->freed)
				vmm_req_free(r);
			return;
		}
		h = r->conn->hdr;
		if (!(h.flags & CTL_F_MORE)) {
			r->done = true;
			ev_io_stop(&r->io);
		}
		ctl_conn_consume(r->conn);
		/* The payload stays in conn->buf until the next read; a
		 * vmm_req_free inside the callback waits until it returns. */
		r->in_cb = true;
		r->cb(r, &h, r->conn->buf, h.len, 0, r->arg);
		r->in_cb = false;
		if (r->freed) {
			vmm_req_free(r);
			return;
		}
	}
}

struct vmm_req *vmm_req_start(struct mig *m, struct mig_dom *d, uint16_t type, const void *p,
			      size_t len, const int *fds, unsigned nfds, vmm_req_cb cb, void *arg)
{
	struct vmm_req *r = calloc(1, sizeof(*r));
	int fd, rc;

	if (!r || !(r->conn = malloc(sizeof(*r->conn)))) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	/* Never blocks the loop: a stopped vmm's full backlog is -EAGAIN,
	 * and a request fits a fresh socket's send buffer. */
	if ((fd = ctl_connect_nb(d->sock)) < 0) {
		rc = fd;
		goto fail;
	}
	rc = nfds ? ctl_send_fds(fd, type, 0, p, (uint32_t)len, fds, nfds)
		  : ctl_send(fd, type, 0, p, (uint32_t)len);
	if (rc < 0) {
		close(fd);
		goto fail;
	}
	r->conn->fd = fd;
	r->conn->have = 0;
	r->m = m;
	r->cb = cb;
	r->arg = arg;
	ev_io_init(&r->io, fd, vmm_req_on_io, r);
	if ((rc = ev_io_start(m->loop, &r->io, EV_READ)) < 0) {
		close(fd);
		goto fail;
	}
	r->next = m->reqs;
	m->reqs = r;
	return r;
fail:
	log_debug("domain %s: vmm request 0x%04x: %d", d->name, type, rc);
	free(r->conn);
	free(r);
	errno = -rc;
	return NULL;
}

void vmm_req_free(struct vmm_req *r)
{
	if (!r)
		return;
	if (r->in_cb) {
		r->freed = true; /* vmm_req_on_io frees it after the callback */
		ev_io_stop(&r->io);
		return;
	}
	for (struct vmm_req **pp = &r->m->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	ev_io_stop(&r->io);
	close(r->conn->fd);
	free(r->conn);
	free(r);
}
