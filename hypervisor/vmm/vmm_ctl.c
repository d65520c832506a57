/*
 * Control socket server: typed requests of vmm_ctl.h, one size-checking
 * decoder each. A malformed request is answered with an error and the
 * client is disconnected; the domain is never affected by a bad client.
 *
 * The main thread serves it between signals and vCPU events, so it never
 * blocks on a client: sockets are non-blocking, replies are queued per
 * client (ctl_out) and written when poll says writable, and while a
 * client has replies queued its requests are not read (back-pressure). A
 * client that sends no request and takes no reply for VMM_CTL_IDLE_MS is
 * closed; when all VMM_CTL_CLIENTS slots are taken, a new connection
 * evicts the client idle the longest, so vmmctl always gets in.
 *
 * A save runs on the I/O thread (vmm_save.c). The client that asked waits
 * for it: its requests are not read meanwhile, it is neither idle-closed
 * nor evicted, and each time its queue is empty and the save made progress
 * it gets a progress record (CTL_F_MORE), so a slow reader sees fewer of
 * them and never more than one queued. The final reply, and the lifecycle
 * decision (destroy after a save without -p, unpause after a failed or
 * cancelled one), come when vmm_op_take reports the end. A CANCEL is
 * answered then too, so that after its reply the temporary file is gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "vmm.h"
#include "vmm_ctl.h"
#include "vmm_mig.h"

#define VMM_CTL_CLIENTS 4
#define VMM_CTL_IDLE_MS 30000

struct vmm_ctl_client {
	struct ctl_conn *conn; /* NULL: a free slot */
	struct ctl_out out;
	uint64_t active_ms; /* accepted, last whole request, or reply bytes taken */
	int closing;	    /* refused: the error reply goes out, then we close */
	uint16_t waiting;   /* a request whose reply comes when the operation ends */
	int fd_in;	    /* the fd that came with the request being handled, or -1 */
};

struct vmm_ctl {
	struct vmm *vmm;
	char *path;
	int listen_fd;
	struct vmm_ctl_client cl[VMM_CTL_CLIENTS];
	uint64_t dropped; /* clients closed for idling or evicted */
	/* the running operation (save, migration, incoming), as asked for */
	uint16_t op_type; /* CTL_VMM_SAVE, CTL_VMM_MIGRATE or CTL_VMM_INCOMING */
	int op_client;	  /* index of the client that asked, -1 if it left */
	uint32_t op_flags;
	int op_was_paused;
	int op_running;
	uint64_t op_seq_sent; /* last progress sent */
	char op_path[CTL_VMM_PATH_MAX];
	int incoming_done;	      /* the incoming migration finished: its result */
	struct vmm_mig_result op_res; /* the last migration result */
	struct vmm_status status;
	char reply[CTL_MSG_MAX];
};

static uint64_t vmm_ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct vmm_ctl *vmm_ctl_new(struct vmm *vmm, const char *path)
{
	struct vmm_ctl *ctl = calloc(1, sizeof(*ctl));
	int fd;

	if (!ctl)
		return NULL;
	ctl->vmm = vmm;
	ctl->listen_fd = -1;
	ctl->op_client = -1;
	if (!path) /* no socket: the operations' ends are still handled here */
		return ctl;
	ctl->path = strdup(path);
	fd = ctl->path ? ctl_listen(path) : -ENOMEM;
	if (fd < 0) {
		vmm_ctl_free(ctl);
		errno = -fd;
		return NULL;
	}
	ctl->listen_fd = fd;
	return ctl;
}

static void vmm_ctl_drop(struct vmm_ctl *ctl, int i)
{
	struct vmm_ctl_client *cl = &ctl->cl[i];

	if (!cl->conn)
		return;
	if (ctl->op_client == i)
		ctl->op_client = -1; /* the operation goes on, unreported */
	if (cl->fd_in >= 0)
		close(cl->fd_in);
	close(cl->conn->fd);
	free(cl->conn);
	ctl_out_fini(&cl->out);
	memset(cl, 0, sizeof(*cl));
}

/* An idle or evicted client: counted, logged once a second at most. */
static void vmm_ctl_expel(struct vmm_ctl *ctl, int i, const char *why)
{
	static uint64_t last_ms;
	uint64_t now = vmm_ctl_now_ms();

	ctl->dropped++;
	if (now - last_ms >= 1000 || last_ms == 0) {
		last_ms = now;
		log_warn("domain %s: control client dropped: %s (%llu so far)", ctl->vmm->cfg.name,
			 why, (unsigned long long)ctl->dropped);
	}
	vmm_ctl_drop(ctl, i);
}

/* Writes what the socket takes now; a client that took bytes is active. */
static int vmm_ctl_flush(struct vmm_ctl_client *cl)
{
	uint64_t sent = cl->out.sent;
	ssize_t rc = ctl_out_flush(&cl->out, cl->conn->fd);

	if (cl->out.sent != sent)
		cl->active_ms = vmm_ctl_now_ms();
	return rc < 0 ? (int)rc : 0;
}

static int vmm_ctl_reading(const struct vmm_ctl_client *cl)
{
	return !cl->closing && !cl->waiting && ctl_out_pending(&cl->out) == 0;
}

void vmm_ctl_free(struct vmm_ctl *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < VMM_CTL_CLIENTS; i++)
		vmm_ctl_drop(ctl, i);
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		unlink(ctl->path);
	}
	free(ctl->path);
	free(ctl);
}

int vmm_ctl_fds(struct vmm_ctl *ctl, struct pollfd *pfds, int cap)
{
	int n = 0;

	if (!ctl || cap < 1 + VMM_CTL_CLIENTS)
		return 0;
	pfds[n++] = (struct pollfd){ctl->listen_fd, POLLIN, 0};
	for (int i = 0; i < VMM_CTL_CLIENTS; i++) {
		const struct vmm_ctl_client *cl = &ctl->cl[i];
		short ev = !cl->conn		       ? 0
			   : ctl_out_pending(&cl->out) ? POLLOUT
			   : vmm_ctl_reading(cl)       ? POLLIN
						       : 0;
		pfds[n++] = (struct pollfd){cl->conn ? cl->conn->fd : -1, ev, 0};
	}
	return n;
}

int vmm_ctl_timeout_ms(const struct vmm_ctl *ctl)
{
	uint64_t now = vmm_ctl_now_ms(), first = UINT64_MAX;

	if (!ctl)
		return -1;
	for (int i = 0; i < VMM_CTL_CLIENTS; i++)
		if (ctl->cl[i].conn && !ctl->cl[i].waiting && ctl->cl[i].active_ms < first)
			first = ctl->cl[i].active_ms;
	if (first == UINT64_MAX)
		return -1;
	if (now - first >= VMM_CTL_IDLE_MS)
		return 0;
	return (int)(first + VMM_CTL_IDLE_MS - now) + 1;
}

static void vmm_ctl_sweep(struct vmm_ctl *ctl)
{
	uint64_t now = vmm_ctl_now_ms();

	for (int i = 0; i < VMM_CTL_CLIENTS; i++)
		if (ctl->cl[i].conn && !ctl->cl[i].waiting &&
		    now - ctl->cl[i].active_ms >= VMM_CTL_IDLE_MS)
			vmm_ctl_expel(ctl, i, "idle");
}

/* A free slot, or the one of the client idle the longest, evicted; a
 * client waiting for an operation only if all are. */
static int vmm_ctl_slot(struct vmm_ctl *ctl)
{
	int idlest = 0;

	for (int i = 0; i < VMM_CTL_CLIENTS; i++) {
		const struct vmm_ctl_client *c = &ctl->cl[i], *best = &ctl->cl[idlest];
		if (!c->conn)
			return i;
		if ((best->waiting && !c->waiting) ||
		    (!best->waiting == !c->waiting && c->active_ms < best->active_ms))
			idlest = i;
	}
	vmm_ctl_expel(ctl, idlest, "evicted by a new client (all slots taken)");
	return idlest;
}

static void vmm_ctl_accept(struct vmm_ctl *ctl)
{
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct vmm_ctl_client *cl;

	if (fd < 0)
		return;
	if (ctl_peer_check(fd) < 0) {
		log_warn("domain %s: control client refused (permission denied)",
			 ctl->vmm->cfg.name);
		ctl_send_error(fd, 0, -EPERM, "refused"); /* a fresh socket has room */
		close(fd);
		return;
	}
	cl = &ctl->cl[vmm_ctl_slot(ctl)];
	cl->conn = calloc(1, sizeof(struct ctl_conn));
	if (!cl->conn) {
		close(fd);
		return;
	}
	cl->conn->fd = fd;
	cl->fd_in = -1;
	ctl_out_init(&cl->out, CTL_OUT_MAX_DEFAULT);
	cl->active_ms = vmm_ctl_now_ms();
}

static const char *vmm_ctl_op_name(const struct vmm_ctl *ctl)
{
	return ctl->op_type == CTL_VMM_SAVE	 ? "save"
	       : ctl->op_type == CTL_VMM_MIGRATE ? "migration"
						 : "incoming migration";
}

/* Decodes CTL_VMM_SAVE: flags, then exactly path_len bytes of an absolute
 * path without NUL bytes. */
static int vmm_ctl_dec_save(const uint8_t *p, uint32_t len, uint32_t *flags, char *path)
{
	struct vmm_ctl_save s;

	if (len < sizeof(s))
		return -EINVAL;
	memcpy(&s, p, sizeof(s));
	if (s.flags & ~CTL_VMM_SAVE_F_PAUSE || s.path_len == 0 || s.path_len >= CTL_VMM_PATH_MAX ||
	    s.path_len != len - sizeof(s))
		return -EINVAL;
	memcpy(path, p + sizeof(s), s.path_len);
	path[s.path_len] = '\0';
	if (strlen(path) != s.path_len || path[0] != '/')
		return -EINVAL;
	*flags = s.flags;
	return 0;
}

/* Starts a save on the I/O thread; the client waits for its end. */
static int vmm_ctl_save(struct vmm_ctl *ctl, int ci, const uint8_t *p, uint32_t len)
{
	struct vmm *vmm = ctl->vmm;
	struct vmm_ctl_client *cl = &ctl->cl[ci];
	struct ctl_out *o = &cl->out;
	char err[512];
	uint32_t flags;
	int rc;

	if (vmm_ctl_dec_save(p, len, &flags, ctl->op_path) < 0) {
		ctl_out_error(o, CTL_VMM_SAVE, -EINVAL, "malformed save request");
		return -EINVAL;
	}
	enum vmm_state st = vmm_state_get(vmm);
	if (st != VMM_RUNNING && st != VMM_PAUSED) {
		ctl_out_error(o, CTL_VMM_SAVE, -EINVAL, "domain %s is %s", vmm->cfg.name,
			      vmm_state_name(st));
		return 0;
	}
	if (ctl->op_running) {
		ctl_out_error(o, CTL_VMM_SAVE, -EBUSY, "domain %s: a %s is running", vmm->cfg.name,
			      vmm_ctl_op_name(ctl));
		return 0;
	}
	int was_paused = st == VMM_PAUSED;
	if ((rc = vmm_vcpu_pause(vmm)) < 0) {
		ctl_out_error(o, CTL_VMM_SAVE, rc, "domain %s: pause: %s", vmm->cfg.name,
			      strerror(-rc));
		return 0;
	}
	if ((rc = vmm_save_start(vmm, ctl->op_path, err, sizeof(err))) < 0) {
		log_error("domain %s: save: %s", vmm->cfg.name, err);
		ctl_out_error(o, CTL_VMM_SAVE, rc, "domain %s: save: %s", vmm->cfg.name, err);
		if (!was_paused)
			vmm_vcpu_unpause(vmm);
		return 0;
	}
	ctl->op_running = 1;
	ctl->op_type = CTL_VMM_SAVE;
	ctl->op_client = ci;
	ctl->op_flags = flags;
	ctl->op_was_paused = was_paused;
	ctl->op_seq_sent = 0;
	cl->waiting = CTL_VMM_SAVE;
	return 0;
}

/* The save ended: the final reply, and what becomes of the domain. */
static int vmm_ctl_save_end(struct vmm_ctl *ctl, struct vmm_ctl_client *cl,
			    const struct vmm_op_report *r)
{
	struct vmm *vmm = ctl->vmm;

	if (r->rc == 0) {
		fprintf(stderr, "domain %s: saved to %s\n", vmm->cfg.name, ctl->op_path);
		if (cl)
			ctl_out_reply(&cl->out, CTL_VMM_SAVE, CTL_F_REPLY, NULL, 0);
		return !(ctl->op_flags & CTL_VMM_SAVE_F_PAUSE);
	}
	if (r->rc == -ECANCELED)
		log_info("domain %s: save to %s %s", vmm->cfg.name, ctl->op_path, r->err);
	else
		log_error("domain %s: save: %s", vmm->cfg.name, r->err);
	if (cl)
		ctl_out_error(&cl->out, CTL_VMM_SAVE, r->rc, "domain %s: save: %s", vmm->cfg.name,
			      r->err);
	if (!ctl->op_was_paused)
		vmm_vcpu_unpause(vmm);
	return 0;
}

/* A migration ended (its job already resumed the domain or left it
 * paused, as the outcome says): the result record, and the vmm ends if the
 * domain left (source OK) or never arrived (incoming failed). */
static int vmm_ctl_mig_end(struct vmm_ctl *ctl, struct vmm_ctl_client *cl,
			   const struct vmm_op_report *r)
{
	int n, ok = r->res.rec.outcome == VMM_CTL_MIG_OK;

	ctl->op_res = r->res;
	if (ok)
		fprintf(stderr, "%s\n", r->res.msg);
	else if (r->res.rec.outcome == VMM_CTL_MIG_CANCELLED)
		log_info("%s", r->res.msg);
	else
		log_error("%s", r->res.msg);
	if (cl) {
		n = vmm_msg_mig_result_enc(&r->res, ctl->reply, sizeof(ctl->reply));
		if (n < 0)
			ctl_out_error(&cl->out, ctl->op_type, n, "result too large");
		else
			ctl_out_reply(&cl->out, ctl->op_type, CTL_F_REPLY, ctl->reply, (uint32_t)n);
	}
	if (ctl->op_type == CTL_VMM_INCOMING) {
		ctl->incoming_done = ok;
		return !ok;
	}
	return ok;
}

/* The operation ended: its client's final reply, the cancellers' replies,
 * and what becomes of the domain. Returns 1 when the domain must end. */
static int vmm_ctl_op_end(struct vmm_ctl *ctl, const struct vmm_op_report *r)
{
	struct vmm_ctl_client *cl = ctl->op_client >= 0 ? &ctl->cl[ctl->op_client] : NULL;
	int end;

	ctl->op_running = 0;
	end = ctl->op_type == CTL_VMM_SAVE ? vmm_ctl_save_end(ctl, cl, r)
					   : vmm_ctl_mig_end(ctl, cl, r);
	if (cl)
		cl->waiting = 0;
	ctl->op_client = -1;
	for (int i = 0; i < VMM_CTL_CLIENTS; i++) {
		struct vmm_ctl_client *c = &ctl->cl[i];
		if (c->conn && c->waiting == CTL_VMM_CANCEL) {
			ctl_out_reply(&c->out, CTL_VMM_CANCEL, CTL_F_REPLY, NULL, 0);
			c->waiting = 0;
		}
	}
	return end;
}

/* Progress and end of the running save, sent as they come. */
static int vmm_ctl_op_poll(struct vmm_ctl *ctl)
{
	static struct vmm_op_report r; /* main thread only */
	int rc, end = 0;

	if (!ctl->op_running || (rc = vmm_op_take(ctl->vmm, &r)) < 0)
		return 0;
	struct vmm_ctl_client *cl = ctl->op_client >= 0 ? &ctl->cl[ctl->op_client] : NULL;
	if (rc == 1) {
		end = vmm_ctl_op_end(ctl, &r);
	} else if (cl && r.seq != ctl->op_seq_sent && ctl_out_pending(&cl->out) == 0) {
		ctl->op_seq_sent = r.seq;
		if (ctl->op_type == CTL_VMM_SAVE)
			ctl_out_reply(&cl->out, CTL_VMM_SAVE, CTL_F_REPLY | CTL_F_MORE, &r.prog,
				      sizeof(r.prog));
		else
			ctl_out_reply(&cl->out, ctl->op_type, CTL_F_REPLY | CTL_F_MORE, &r.mig,
				      sizeof(r.mig));
	}
	for (int i = 0; i < VMM_CTL_CLIENTS; i++)
		if (ctl->cl[i].conn && ctl_out_pending(&ctl->cl[i].out) &&
		    vmm_ctl_flush(&ctl->cl[i]) < 0)
			vmm_ctl_drop(ctl, i);
	return end;
}

static int vmm_ctl_cancel(struct vmm_ctl *ctl, struct vmm_ctl_client *cl)
{
	int rc = ctl->op_running ? vmm_op_cancel(ctl->vmm) : -ENOENT;

	if (rc == -EBUSY)
		return ctl_out_error(&cl->out, CTL_VMM_CANCEL, rc,
				     "domain %s: the migration is past COMMIT", ctl->vmm->cfg.name);
	if (rc < 0)
		return ctl_out_error(&cl->out, CTL_VMM_CANCEL, -ENOENT,
				     "domain %s: no operation running", ctl->vmm->cfg.name);
	cl->waiting = CTL_VMM_CANCEL;
	return 0;
}

/* Pause and unpause are refused outside the states they make sense in. */
static int vmm_ctl_pause(struct vmm_ctl *ctl, struct ctl_out *o, uint16_t type)
{
	struct vmm *vmm = ctl->vmm;
	enum vmm_state st = vmm_state_get(vmm);
	int rc;

	if (ctl->op_running) /* the operation owns the vCPUs until it ends */
		return ctl_out_error(o, type, -EBUSY, "domain %s: a %s is running", vmm->cfg.name,
				     vmm_ctl_op_name(ctl));
	if (type == CTL_VMM_PAUSE && st != VMM_RUNNING && st != VMM_PAUSED)
		return ctl_out_error(o, type, -EINVAL, "domain %s is %s", vmm->cfg.name,
				     vmm_state_name(st));
	if (type == CTL_VMM_UNPAUSE && st != VMM_PAUSED)
		return ctl_out_error(o, type, -EINVAL, "domain %s is %s", vmm->cfg.name,
				     vmm_state_name(st));
	if (type == CTL_VMM_UNPAUSE) {
		vmm_vcpu_unpause(vmm);
	} else if ((rc = vmm_vcpu_pause(vmm)) < 0) {
		return ctl_out_error(o, type, rc, "domain %s: pause: %s", vmm->cfg.name,
				     strerror(-rc));
	}
	return ctl_out_reply(o, type, CTL_F_REPLY, NULL, 0);
}

/* CTL_VMM_MIGRATE: the request and the socket it brought (taken here). */
static int vmm_ctl_migrate(struct vmm_ctl *ctl, int ci, const uint8_t *p, uint32_t len)
{
	struct vmm *vmm = ctl->vmm;
	struct vmm_ctl_client *cl = &ctl->cl[ci];
	struct vmm_ctl_migrate req;
	char peer[VMM_CTL_MIG_PEER_MAX + 1], err[VMM_OP_ERR_MAX];
	int fd = cl->fd_in, rc;

	cl->fd_in = -1;
	if (vmm_msg_migrate_dec(p, len, &req, peer, err, sizeof(err)) < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		ctl_out_error(&cl->out, CTL_VMM_MIGRATE, -EINVAL, "malformed migrate request: %s",
			      fd < 0 ? "no connection fd" : err);
		return -EINVAL;
	}
	enum vmm_state st = vmm_state_get(vmm);
	if ((st != VMM_RUNNING && st != VMM_PAUSED) || ctl->op_running) {
		close(fd);
		if (ctl->op_running)
			return ctl_out_error(&cl->out, CTL_VMM_MIGRATE, -EBUSY,
					     "domain %s: a %s is running", vmm->cfg.name,
					     vmm_ctl_op_name(ctl));
		return ctl_out_error(&cl->out, CTL_VMM_MIGRATE, -EINVAL, "domain %s is %s",
				     vmm->cfg.name, vmm_state_name(st));
	}
	rc = vmm_mig_start(vmm, &req, peer, fd, err, sizeof(err));
	memset(&req, 0, sizeof(req)); /* the key */
	if (rc < 0)
		return ctl_out_error(&cl->out, CTL_VMM_MIGRATE, rc, "domain %s: migrate: %s",
				     vmm->cfg.name, err);
	log_info("domain %s: migrating to %s", vmm->cfg.name, peer);
	ctl->op_running = 1;
	ctl->op_type = CTL_VMM_MIGRATE;
	ctl->op_client = ci;
	ctl->op_was_paused = st == VMM_PAUSED;
	ctl->op_seq_sent = 0;
	cl->waiting = CTL_VMM_MIGRATE;
	return 0;
}

/* CTL_VMM_INCOMING: follow the incoming migration, or its result. */
static int vmm_ctl_incoming(struct vmm_ctl *ctl, int ci)
{
	struct vmm_ctl_client *cl = &ctl->cl[ci];
	int n;

	if (ctl->op_running && ctl->op_type == CTL_VMM_INCOMING) {
		if (ctl->op_client >= 0)
			return ctl_out_error(&cl->out, CTL_VMM_INCOMING, -EBUSY,
					     "domain %s: another client follows the incoming "
					     "migration",
					     ctl->vmm->cfg.name);
		ctl->op_client = ci;
		ctl->op_seq_sent = 0;
		cl->waiting = CTL_VMM_INCOMING;
		return 0;
	}
	if (!ctl->incoming_done)
		return ctl_out_error(&cl->out, CTL_VMM_INCOMING, -ENOENT,
				     "domain %s: no incoming migration", ctl->vmm->cfg.name);
	n = vmm_msg_mig_result_enc(&ctl->op_res, ctl->reply, sizeof(ctl->reply));
	if (n < 0)
		return ctl_out_error(&cl->out, CTL_VMM_INCOMING, n, "result too large");
	return ctl_out_reply(&cl->out, CTL_VMM_INCOMING, CTL_F_REPLY, ctl->reply, (uint32_t)n);
}

void vmm_ctl_adopt(struct vmm_ctl *ctl, uint16_t type)
{
	ctl->op_running = 1;
	ctl->op_type = type;
	ctl->op_client = -1;
}

/* Takes the fds of msg: the first becomes the request's, others close. */
static void vmm_ctl_take_fds(struct vmm_ctl_client *cl, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int f;
			memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(f));
			if (cl->fd_in < 0)
				cl->fd_in = f;
			else
				close(f);
		}
	}
}

/* A CTL_VMM_MIGRATE request brings its socket as an SCM_RIGHTS fd on the
 * message's first byte (ctl_send_fds), which ctl_conn_read would drop: the
 * first bytes of every request are read with recvmsg and its fds kept
 * (any request but MIGRATE has its fd closed once handled). The rest goes
 * through ctl_conn_read. Returns like ctl_conn_read. */
static int vmm_ctl_read(struct vmm_ctl_client *cl)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(CTL_FDS_MAX * sizeof(int))];
	} cbuf;
	struct iovec iov = {&cl->conn->hdr, sizeof(cl->conn->hdr)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf)};

	if (cl->conn->have == 0) {
		ssize_t r = recvmsg(cl->conn->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		vmm_ctl_take_fds(cl, &msg);
		cl->conn->have = (size_t)r;
	}
	return ctl_conn_read(cl->conn);
}

static int vmm_ctl_status(struct vmm_ctl *ctl, struct ctl_out *o)
{
	int n;

	vmm_status_get(ctl->vmm, &ctl->status);
	n = vmm_msg_status_enc(&ctl->status, ctl->reply, sizeof(ctl->reply));
	if (n < 0)
		return ctl_out_error(o, CTL_VMM_STATUS, n, "status too large");
	return ctl_out_reply(o, CTL_VMM_STATUS, CTL_F_REPLY, ctl->reply, (uint32_t)n);
}

/* Returns 1 when the domain must end, 0 when handled, -EINVAL for a
 * malformed request (the client is then dropped). */
static int vmm_ctl_dispatch(struct vmm_ctl *ctl, int ci)
{
	struct vmm *vmm = ctl->vmm;
	struct vmm_ctl_client *cl = &ctl->cl[ci];
	struct ctl_conn *c = cl->conn;
	struct ctl_out *o = &cl->out;
	uint16_t type = c->hdr.type;

	if (type != CTL_VMM_SAVE && type != CTL_VMM_MIGRATE && c->hdr.len != 0) {
		ctl_out_error(o, type, -EINVAL, "unexpected payload");
		return -EINVAL;
	}
	switch (type) {
	case CTL_VMM_PAUSE:
	case CTL_VMM_UNPAUSE:
		vmm_ctl_pause(ctl, o, type);
		return 0;
	case CTL_VMM_STATUS:
		vmm_ctl_status(ctl, o);
		return 0;
	case CTL_VMM_SAVE:
		return vmm_ctl_save(ctl, ci, c->buf, c->hdr.len);
	case CTL_VMM_CANCEL:
		vmm_ctl_cancel(ctl, cl);
		return 0;
	case CTL_VMM_MIGRATE:
		return vmm_ctl_migrate(ctl, ci, c->buf, c->hdr.len);
	case CTL_VMM_INCOMING:
		vmm_ctl_incoming(ctl, ci);
		return 0;
	case CTL_VMM_DESTROY:
		fprintf(stderr, "domain %s: destroyed\n", vmm->cfg.name);
		ctl_out_reply(o, type, CTL_F_REPLY, NULL, 0);
		return 1;
	}
	ctl_out_error(o, type, -EINVAL, "unknown request type 0x%x", type);
	return -EINVAL;
}

/* One poll result of client i: write, then read one request if nothing
 * is queued. Returns 1 when the domain must end. */
static int vmm_ctl_serve(struct vmm_ctl *ctl, int i, short revents)
{
	struct vmm_ctl_client *cl = &ctl->cl[i];
	int rc, end = 0;

	if (vmm_ctl_flush(cl) < 0 || ((revents & (POLLERR | POLLHUP)) && !vmm_ctl_reading(cl))) {
		vmm_ctl_drop(ctl, i);
		return 0;
	}
	if (vmm_ctl_reading(cl) && (revents & (POLLIN | POLLERR | POLLHUP))) {
		rc = vmm_ctl_read(cl);
		if (rc < 0 && rc != -EMSGSIZE) { /* EOF, a socket error, a bad fd message */
			vmm_ctl_drop(ctl, i);
			return 0;
		}
		if (rc < 0) {
			ctl_out_error(&cl->out, cl->conn->hdr.type, rc, "message too large");
			cl->closing = 1;
		} else if (rc == 1) {
			cl->active_ms = vmm_ctl_now_ms();
			rc = vmm_ctl_dispatch(ctl, i);
			ctl_conn_consume(cl->conn);
			if (cl->fd_in >= 0) { /* an fd no request took */
				close(cl->fd_in);
				cl->fd_in = -1;
			}
			cl->closing = rc < 0;
			end = rc == 1;
		}
		if (vmm_ctl_flush(cl) < 0) {
			vmm_ctl_drop(ctl, i);
			return end;
		}
	}
	if (cl->closing && ctl_out_pending(&cl->out) == 0)
		vmm_ctl_drop(ctl, i);
	return end;
}

int vmm_ctl_handle(struct vmm_ctl *ctl, struct pollfd *pfds, int n)
{
	int end = 0;

	if (!ctl || n < 1 + VMM_CTL_CLIENTS)
		return 0;
	end |= vmm_ctl_op_poll(ctl);
	for (int i = 0; i < VMM_CTL_CLIENTS; i++) {
		struct vmm_ctl_client *cl = &ctl->cl[i];
		if (cl->conn && pfds[1 + i].fd == cl->conn->fd && pfds[1 + i].revents)
			end |= vmm_ctl_serve(ctl, i, pfds[1 + i].revents);
	}
	end |= vmm_ctl_op_poll(ctl); /* a save started or cancelled just now */
	vmm_ctl_sweep(ctl);
	if (pfds[0].revents & POLLIN)
		vmm_ctl_accept(ctl);
	return end;
}
