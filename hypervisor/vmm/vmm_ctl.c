/*
 * Control socket server: typed requests of vmm_ctl.h, one size-checking
 * decoder each. A malformed request is answered with an error and the
 * client is disconnected; the domain is never affected by a bad client.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "vmm.h"
#include "vmm_ctl.h"

#define VMM_CTL_CLIENTS 4

struct vmm_ctl {
	struct vmm *vmm;
	char *path;
	int listen_fd;
	struct ctl_conn *conn[VMM_CTL_CLIENTS];
	char reply[CTL_MSG_MAX];
};

struct vmm_ctl *vmm_ctl_new(struct vmm *vmm, const char *path)
{
	struct vmm_ctl *ctl = calloc(1, sizeof(*ctl));
	int fd;

	if (!ctl)
		return NULL;
	ctl->vmm = vmm;
	ctl->listen_fd = -1;
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
	if (!ctl->conn[i])
		return;
	close(ctl->conn[i]->fd);
	free(ctl->conn[i]);
	ctl->conn[i] = NULL;
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
	for (int i = 0; i < VMM_CTL_CLIENTS; i++)
		pfds[n++] = (struct pollfd){ctl->conn[i] ? ctl->conn[i]->fd : -1, POLLIN, 0};
	return n;
}

static void vmm_ctl_accept(struct vmm_ctl *ctl)
{
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int slot = -1;

	if (fd < 0)
		return;
	for (int i = 0; i < VMM_CTL_CLIENTS && slot < 0; i++)
		if (!ctl->conn[i])
			slot = i;
	if (ctl_peer_check(fd) < 0 || slot < 0) {
		log_warn("domain %s: control client refused (%s)", ctl->vmm->cfg.name,
			 slot < 0 ? "too many clients" : "permission denied");
		ctl_send_error(fd, 0, slot < 0 ? -EBUSY : -EPERM, "refused");
		close(fd);
		return;
	}
	ctl->conn[slot] = calloc(1, sizeof(struct ctl_conn));
	if (!ctl->conn[slot]) {
		close(fd);
		return;
	}
	ctl->conn[slot]->fd = fd;
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

static int vmm_ctl_save(struct vmm_ctl *ctl, int fd, const uint8_t *p, uint32_t len)
{
	struct vmm *vmm = ctl->vmm;
	char path[CTL_VMM_PATH_MAX], err[512];
	uint32_t flags;
	int rc;

	if (vmm_ctl_dec_save(p, len, &flags, path) < 0) {
		ctl_send_error(fd, CTL_VMM_SAVE, -EINVAL, "malformed save request");
		return -EINVAL;
	}
	enum vmm_state st = vmm_state_get(vmm);
	if (st != VMM_RUNNING && st != VMM_PAUSED) {
		ctl_send_error(fd, CTL_VMM_SAVE, -EINVAL, "domain %s is %s", vmm->cfg.name,
			       vmm_state_name(st));
		return 0;
	}
	int was_paused = st == VMM_PAUSED;
	if ((rc = vmm_vcpu_pause(vmm)) < 0) {
		ctl_send_error(fd, CTL_VMM_SAVE, rc, "domain %s: pause: %s", vmm->cfg.name,
			       strerror(-rc));
		return 0;
	}
	if ((rc = vmm_save(vmm, path, err, sizeof(err))) < 0) {
		log_error("domain %s: save: %s", vmm->cfg.name, err);
		ctl_send_error(fd, CTL_VMM_SAVE, rc, "domain %s: save: %s", vmm->cfg.name, err);
		if (!was_paused)
			vmm_vcpu_unpause(vmm);
		return 0;
	}
	fprintf(stderr, "domain %s: saved to %s\n", vmm->cfg.name, path);
	ctl_send(fd, CTL_VMM_SAVE, CTL_F_REPLY, NULL, 0);
	return (flags & CTL_VMM_SAVE_F_PAUSE) ? 0 : 1;
}

/* Pause and unpause are refused outside the states they make sense in. */
static int vmm_ctl_pause(struct vmm *vmm, int fd, uint16_t type)
{
	enum vmm_state st = vmm_state_get(vmm);
	int rc;

	if (type == CTL_VMM_PAUSE && st != VMM_RUNNING && st != VMM_PAUSED)
		return ctl_send_error(fd, type, -EINVAL, "domain %s is %s", vmm->cfg.name,
				      vmm_state_name(st));
	if (type == CTL_VMM_UNPAUSE && st != VMM_PAUSED)
		return ctl_send_error(fd, type, -EINVAL, "domain %s is %s", vmm->cfg.name,
				      vmm_state_name(st));
	if (type == CTL_VMM_UNPAUSE) {
		vmm_vcpu_unpause(vmm);
	} else if ((rc = vmm_vcpu_pause(vmm)) < 0) {
		return ctl_send_error(fd, type, rc, "domain %s: pause: %s", vmm->cfg.name,
				      strerror(-rc));
	}
	return ctl_send(fd, type, CTL_F_REPLY, NULL, 0);
}

static int vmm_ctl_status(struct vmm_ctl *ctl, int fd)
{
	int n = vmm_status_json(ctl->vmm, ctl->reply, sizeof(ctl->reply));

	if (n < 0)
		return ctl_send_error(fd, CTL_VMM_STATUS, n, "status too large");
	return ctl_send(fd, CTL_VMM_STATUS, CTL_F_REPLY, ctl->reply, (uint32_t)n);
}

/* Returns 1 when the domain must end, 0 when handled, -EINVAL for a
 * malformed request (the client is then dropped). */
static int vmm_ctl_dispatch(struct vmm_ctl *ctl, struct ctl_conn *c)
{
	struct vmm *vmm = ctl->vmm;
	uint16_t type = c->hdr.type;

	if (type != CTL_VMM_SAVE && c->hdr.len != 0) {
		ctl_send_error(c->fd, type, -EINVAL, "unexpected payload");
		return -EINVAL;
	}
	switch (type) {
	case CTL_VMM_PAUSE:
	case CTL_VMM_UNPAUSE:
		vmm_ctl_pause(vmm, c->fd, type);
		return 0;
	case CTL_VMM_STATUS:
		vmm_ctl_status(ctl, c->fd);
		return 0;
	case CTL_VMM_SAVE:
		return vmm_ctl_save(ctl, c->fd, c->buf, c->hdr.len);
	case CTL_VMM_DESTROY:
		fprintf(stderr, "domain %s: destroyed\n", vmm->cfg.name);
		ctl_send(c->fd, type, CTL_F_REPLY, NULL, 0);
		return 1;
	}
	ctl_send_error(c->fd, type, -EINVAL, "unknown request type 0x%x", type);
	return -EINVAL;
}

int vmm_ctl_handle(struct vmm_ctl *ctl, struct pollfd *pfds, int n)
{
	int end = 0;

	if (!ctl || n < 1 + VMM_CTL_CLIENTS)
		return 0;
	for (int i = 0; i < VMM_CTL_CLIENTS; i++) {
		struct ctl_conn *c = ctl->conn[i];
		if (!c || pfds[1 + i].fd != c->fd || !pfds[1 + i].revents)
			continue;
		int rc = ctl_conn_read(c);
		if (rc == 0)
			continue;
		if (rc < 0) {
			if (rc == -EMSGSIZE)
				ctl_send_error(c->fd, c->hdr.type, rc, "message too large");
			vmm_ctl_drop(ctl, i);
			continue;
		}
		rc = vmm_ctl_dispatch(ctl, c);
		if (rc < 0)
			vmm_ctl_drop(ctl, i);
		else
			ctl_conn_consume(c);
		if (rc == 1)
			end = 1;
	}
	if (pfds[0].revents & POLLIN)
		vmm_ctl_accept(ctl);
	return end;
}
