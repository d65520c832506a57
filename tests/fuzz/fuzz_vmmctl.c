/*
 * The vmm's control server (hypervisor/vmm/vmm_ctl.c, compiled in) with
 * one client sending an arbitrary byte stream. The rest of the vmm is
 * replaced by the stubs below: the domain is a state variable, a save
 * only records its path. Per input the server listens on a socket in a
 * temp dir made once, the client connects, writes the stream and closes
 * its sending side; the server is run until it drops the client or the
 * domain must end, and freed.
 *
 * Byte 0: bits 0-1 the domain's state (running, paused, crashed,
 * halted), bit 2 makes saves fail; the rest is the stream.
 *
 * Checked against a model of the protocol (vmm_ctl.h): the replies the
 * client gets, in order (type, CTL_F_REPLY, CTL_F_ERROR or not), the
 * state changes, the path a save is asked to write (absolute, the
 * request's bytes, no NUL), where the client is dropped and whether the
 * domain ends.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "vmm.h"
#include "vmm_ctl.h"
#include "vmm_mig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define STREAM_MAX 8192 /* replies stay far below the socket buffer */
#define REPLIES_MAX (STREAM_MAX / sizeof(struct ctl_hdr) + 2)

struct reply {
	uint16_t type, flags;
};

static struct {
	struct vmm vmm;
	char dir[256], sock[300];
	int save_fails;
	char saved[CTL_VMM_PATH_MAX + 1];
	int nsaves;
} fz;

/* ---- the rest of the vmm ---- */

enum vmm_state vmm_state_get(struct vmm *vmm)
{
	return vmm->state;
}

const char *vmm_state_name(enum vmm_state st)
{
	static const char *const names[] = {"running", "paused", "crashed", "halted"};

	return (unsigned)st < 4 ? names[st] : "?";
}

int vmm_vcpu_pause(struct vmm *vmm)
{
	vmm->state = VMM_PAUSED;
	return 0;
}

void vmm_vcpu_unpause(struct vmm *vmm)
{
	TRAP_IF(vmm->state != VMM_PAUSED);
	vmm->state = VMM_RUNNING;
}

/* A save that starts fails at once (save_fails) or completes by the next
 * vmm_op_take, i.e. within the same vmm_ctl_handle call: the protocol is
 * then the synchronous one the model knows; a CANCEL finds nothing. */
static int fz_op_running;

int vmm_save_start(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	TRAP_IF(vmm != &fz.vmm || vmm->state != VMM_PAUSED || strlen(path) > CTL_VMM_PATH_MAX ||
		fz_op_running);
	snprintf(fz.saved, sizeof(fz.saved), "%s", path);
	fz.nsaves++;
	if (fz.save_fails) {
		snprintf(err, errlen, "%s: Read-only file system", path);
		return -EROFS;
	}
	fz_op_running = 1;
	return 0;
}

/* Migration is outside this model (its requests need an SCM_RIGHTS fd the
 * fuzzer cannot send): one that got this far is refused. */
int vmm_mig_start(struct vmm *vmm, const struct vmm_ctl_migrate *req, const char *peer, int fd,
		  char *err, size_t errlen)
{
	(void)vmm;
	(void)req;
	(void)peer;
	close(fd);
	snprintf(err, errlen, "not in the fuzz model");
	return -ENOTSUP;
}

int vmm_op_take(struct vmm *vmm, struct vmm_op_report *r)
{
	TRAP_IF(vmm != &fz.vmm);
	if (!fz_op_running)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	r->finished = 1;
	fz_op_running = 0;
	return 1;
}

int vmm_op_cancel(struct vmm *vmm)
{
	(void)vmm;
	return -ENOENT;
}

void vmm_status_get(struct vmm *vmm, struct vmm_status *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", vmm->cfg.name);
	st->rec.state = (uint32_t)vmm->state;
}

/* ---- the model ---- */

struct model {
	enum vmm_state state;
	struct reply replies[REPLIES_MAX];
	size_t nreplies;
	int dropped, end, nsaves;
	char saved[CTL_VMM_PATH_MAX + 1];
};

static void reply(struct model *m, uint16_t type, int error)
{
	if (m->nreplies < REPLIES_MAX)
		m->replies[m->nreplies] =
		    (struct reply){type, (uint16_t)(CTL_F_REPLY | (error ? CTL_F_ERROR : 0))};
	m->nreplies++;
}

/* A save request's payload, as vmm_ctl.h describes it; 0 if well formed. */
static int model_save_dec(const uint8_t *p, uint32_t len, uint32_t *flags, char *path)
{
	struct vmm_ctl_save s;

	if (len < sizeof(s))
		return -1;
	memcpy(&s, p, sizeof(s));
	if ((s.flags & ~CTL_VMM_SAVE_F_PAUSE) || s.path_len == 0 ||
	    s.path_len >= CTL_VMM_PATH_MAX || s.path_len != len - sizeof(s) ||
	    p[sizeof(s)] != '/' || memchr(p + sizeof(s), '\0', s.path_len))
		return -1;
	memcpy(path, p + sizeof(s), s.path_len);
	path[s.path_len] = '\0';
	*flags = s.flags;
	return 0;
}

static void model_save(struct model *m, const uint8_t *p, uint32_t len)
{
	uint32_t flags;
	int was_paused;

	if (model_save_dec(p, len, &flags, m->saved) < 0) {
		reply(m, CTL_VMM_SAVE, 1);
		m->dropped = 1;
		return;
	}
	if (m->state != VMM_RUNNING && m->state != VMM_PAUSED) {
		reply(m, CTL_VMM_SAVE, 1);
		return;
	}
	was_paused = m->state == VMM_PAUSED;
	m->state = VMM_PAUSED;
	m->nsaves++;
	if (fz.save_fails) {
		reply(m, CTL_VMM_SAVE, 1);
		if (!was_paused)
			m->state = VMM_RUNNING;
		return;
	}
	reply(m, CTL_VMM_SAVE, 0);
	m->end = !(flags & CTL_VMM_SAVE_F_PAUSE);
}

static void model_one(struct model *m, const struct ctl_hdr *h, const uint8_t *p)
{
	if (h->type != CTL_VMM_SAVE && h->len != 0) {
		reply(m, h->type, 1);
		m->dropped = 1;
		return;
	}
	switch (h->type) {
	case CTL_VMM_PAUSE:
		if (m->state != VMM_RUNNING && m->state != VMM_PAUSED)
			return reply(m, h->type, 1);
		m->state = VMM_PAUSED;
		return reply(m, h->type, 0);
	case CTL_VMM_UNPAUSE:
		if (m->state != VMM_PAUSED)
			return reply(m, h->type, 1);
		m->state = VMM_RUNNING;
		return reply(m, h->type, 0);
	case CTL_VMM_STATUS:
		return reply(m, h->type, 0);
	case CTL_VMM_SAVE:
		return model_save(m, p, h->len);
	case CTL_VMM_DESTROY:
		reply(m, h->type, 0);
		m->end = 1;
		return;
	case CTL_VMM_CANCEL:
		return reply(m, h->type, 1); /* no operation running */
	case CTL_VMM_INCOMING:
		return reply(m, h->type, 1); /* not an incoming vmm */
	}
	/* CTL_VMM_MIGRATE (never with its fd here) is refused like an unknown
	 * request: malformed, the client is dropped. */
	reply(m, h->type, 1);
	m->dropped = 1;
}

/* Runs the whole stream through the model: requests in order until the
 * client is dropped, the domain ends or the stream does. */
static void model_run(struct model *m, const uint8_t *s, size_t n)
{
	size_t off = 0;

	while (!m->dropped && !m->end && n - off >= sizeof(struct ctl_hdr)) {
		struct ctl_hdr h;

		memcpy(&h, s + off, sizeof(h));
		if (h.len > CTL_MSG_MAX) {
			reply(m, h.type, 1); /* message too large */
			m->dropped = 1;
			return;
		}
		if (n - off - sizeof(h) < h.len)
			return; /* torn at EOF: dropped without a word */
		model_one(m, &h, s + off + sizeof(h));
		off += sizeof(h) + h.len;
	}
}

/* ---- the server ---- */

static void cleanup(void)
{
	unlink(fz.sock);
	rmdir(fz.dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (snprintf(fz.dir, sizeof(fz.dir), "%s/fuzz_vmmctl.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
		(int)sizeof(fz.dir) ||
	    !mkdtemp(fz.dir))
		abort(); /* the environment, not the input */
	snprintf(fz.sock, sizeof(fz.sock), "%s/ctl", fz.dir);
	snprintf(fz.vmm.cfg.name, sizeof(fz.vmm.cfg.name), "fuzz");
	atexit(cleanup);
}

/* Reads every whole reply waiting on the client's socket. */
static void drain(int fd, uint8_t *buf, size_t *have, struct reply *got, size_t *ngot)
{
	ssize_t r;

	while ((r = recv(fd, buf + *have, STREAM_MAX - *have, MSG_DONTWAIT)) > 0)
		*have += (size_t)r;
	for (;;) {
		struct ctl_hdr h;

		if (*have < sizeof(h))
			return;
		memcpy(&h, buf, sizeof(h));
		TRAP_IF(h.len > 2048); /* errors and the status are short */
		if (*have < sizeof(h) + h.len)
			return;
		if (*ngot < REPLIES_MAX)
			got[*ngot] = (struct reply){h.type, h.flags};
		(*ngot)++;
		memmove(buf, buf + sizeof(h) + h.len, *have - sizeof(h) - h.len);
		*have -= sizeof(h) + h.len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rbuf[STREAM_MAX];
	static struct reply got[REPLIES_MAX];
	static struct model m;
	static int ready;
	struct pollfd pfds[8];
	struct vmm_ctl *ctl;
	size_t have = 0, ngot = 0, steps = 0;
	int cfd, n, end = 0, connected = 0;

	if (size < 1 || size - 1 > STREAM_MAX)
		return 0;
	if (!ready)
		setup();
	ready = 1;
	memset(&m, 0, sizeof(m));
	m.state = fz.vmm.state = (enum vmm_state)(data[0] & 3);
	fz.save_fails = (data[0] >> 2) & 1;
	fz.nsaves = 0;
	model_run(&m, data + 1, size - 1);

	ctl = vmm_ctl_new(&fz.vmm, fz.sock);
	cfd = ctl ? ctl_connect(fz.sock, 0) : -1;
	if (cfd < 0)
		abort();
	TRAP_IF(size > 1 && send(cfd, data + 1, size - 1, MSG_DONTWAIT) != (ssize_t)(size - 1));
	shutdown(cfd, SHUT_WR);
	/* One message per round; a round without the client means it was
	 * dropped (or never accepted: then a second round accepts it). */
	while (!end && steps++ < REPLIES_MAX + 4) {
		n = vmm_ctl_fds(ctl, pfds, 8);
		TRAP_IF(n < 2);
		if (connected && pfds[1].fd < 0)
			break;
		connected |= pfds[1].fd >= 0;
		poll(pfds, (nfds_t)n, 0);
		end = vmm_ctl_handle(ctl, pfds, n);
		drain(cfd, rbuf, &have, got, &ngot);
	}
	drain(cfd, rbuf, &have, got, &ngot);
	TRAP_IF(!connected || have != 0);
	TRAP_IF(end != m.end || (!end && !m.dropped && steps > REPLIES_MAX + 3));
	TRAP_IF(ngot != m.nreplies || fz.vmm.state != m.state || fz.nsaves != m.nsaves);
	for (size_t i = 0; i < ngot && i < REPLIES_MAX; i++)
		TRAP_IF(got[i].type != m.replies[i].type || got[i].flags != m.replies[i].flags);
	TRAP_IF(m.nsaves && strcmp(fz.saved, m.saved) != 0);
	vmm_ctl_free(ctl);
	close(cfd);
	return 0;
}
