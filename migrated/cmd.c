/*
 * The control requests (mig_ctl.h), one function each, dispatched through
 * one table (LIST is in cmd_list.c). A request that needs a vmm's answer
 * leaves its client busy and answers it from the vmm request's callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_domcfg.h"
#include "log.h"
#include "migrated.h"
#include "vmm_ctl.h"

typedef void (*cmd_fn)(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req);

static void cmd_reply_id(struct mig_client *c, struct mig_dom *d)
{
	struct mig_ctl_id id = {.domid = d->domid};

	ctl_server_reply(c, c->busy_type, 0, &id, sizeof(id));
}

/* A vmm's error reply, passed on with the domain's name in front. */
static void cmd_forward_error(struct mig_client *c, struct mig_dom *d, const char *what,
			      const void *p, size_t len, int err)
{
	char msg[512] = "";

	if (p)
		ctl_parse_error(p, len, &err, msg, sizeof(msg));
	ctl_server_error(c, c->busy_type, err, "domain %s: %s: %s", d->name, what,
			 msg[0] ? msg : strerror(-err));
}

static void cmd_on_status(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			  int err, void *arg)
{
	struct mig_dom *d = arg, *other;
	struct mig_client *c = d->waiter;
	static struct vmm_status st;
	char why[256] = "no reply";

	vmm_req_free(r);
	d->status_req = NULL;
	d->waiter = NULL;
	if (err == 0 && !(h->flags & CTL_F_ERROR) &&
	    vmm_msg_status_dec(p, len, &st, why, sizeof(why)) == 0) {
		other = dom_find_name(d->m, st.name);
		if (other && other != d) {
			d->destroying = true;
			kill(d->pid, SIGTERM);
			if (c)
				ctl_server_error(c, c->busy_type, -EEXIST,
						 "domain %s already exists (id %u)", st.name,
						 other->domid);
			return;
		}
		snprintf(d->name, sizeof(d->name), "%s", st.name);
		d->memory_mib = st.rec.memory_mib;
		d->vcpus = st.rec.vcpus;
		d->state = st.rec.state == 1 ? MIG_DOM_PAUSED : MIG_DOM_RUNNING;
		log_info("domain %s: id %u: %s", d->name, d->domid, mig_ctl_state_name(d->state));
		if (c)
			cmd_reply_id(c, d);
		return;
	}
	log_warn("domain %s: vmm status: %s", d->name, err ? strerror(-err) : why);
	/* A vmm that answers nonsense is ended; one that went away (a guest
	 * crashing at once) is left to the reaper, which keeps a crash. */
	if (!err || err == -EBADMSG) {
		d->destroying = true;
		kill(d->pid, SIGKILL);
	}
	if (c)
		ctl_server_error(c, c->busy_type, err ? err : -EBADMSG, "domain %s: status: %s",
				 d->name, err ? strerror(-err) : why);
}

static void cmd_on_up(struct mig_dom *d)
{
	d->status_req = vmm_req_start(d->m, d, CTL_VMM_STATUS, NULL, 0, NULL, 0, cmd_on_status, d);
	if (!d->status_req)
		cmd_on_status(NULL, NULL, NULL, 0, -errno, d);
}

static int cmd_write_cfg(struct mig_dom *d, const struct hv_domcfg *cfg)
{
	static char text[MIG_CTL_CFG_MAX + 1];
	int n = hv_domcfg_format(cfg, text, sizeof(text)), fd;

	if (n < 0)
		return n;
	snprintf(d->cfg_path, sizeof(d->cfg_path), "%s/dom%u.cfg", d->m->conf.runtime_dir,
		 d->domid);
	fd = open(d->cfg_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

static void cmd_create(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	static struct hv_domcfg cfg;
	const char *args[] = {"--config", NULL, NULL};
	char err[512];
	int rc;

	(void)d;
	hv_domcfg_init(&cfg);
	if (hv_domcfg_parse(&cfg, req->cfg, req->cfg_len, "create", err, sizeof(err)) < 0 ||
	    hv_domcfg_check(&cfg, "create", err, sizeof(err)) < 0) {
		ctl_server_error(c, MIG_CTL_CREATE, -EINVAL, "%s", err);
		return;
	}
	if ((d = dom_find_name(c->m, cfg.name))) {
		ctl_server_error(c, MIG_CTL_CREATE, -EEXIST, "domain %s already exists (id %u)",
				 cfg.name, d->domid);
		return;
	}
	if (cfg.memory_mib > dom_mem_available(c->m)) {
		ctl_server_error(c, MIG_CTL_CREATE, -ENOMEM,
				 "domain %s: %u MiB asked, this host can give %u MiB", cfg.name,
				 cfg.memory_mib, dom_mem_available(c->m));
		return;
	}
	if (!(d = dom_new(c->m, cfg.name, cfg.memory_mib, cfg.vcpus))) {
		ctl_server_error(c, MIG_CTL_CREATE, -ENOMEM, "domain %s: out of memory", cfg.name);
		return;
	}
	if ((rc = mig_vif_open(d, &cfg, err, sizeof(err))) < 0) {
		ctl_server_error(c, MIG_CTL_CREATE, rc, "%s", err);
		dom_remove(d, NULL);
		return;
	}
	if ((rc = cmd_write_cfg(d, &cfg)) < 0 || (args[1] = d->cfg_path, d->on_up = cmd_on_up,
						  (rc = mig_vif_spawn(d, args, NULL, 0)) < 0)) {
		ctl_server_error(c, MIG_CTL_CREATE, rc, "domain %s: start: %s", cfg.name,
				 strerror(-rc));
		dom_remove(d, NULL);
		return;
	}
	d->waiter = c;
}

static void cmd_restore(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	const char *args[] = {"--restore", req->path, NULL};
	char err[512];
	int rc;

	(void)d;
	if (!(d = dom_new(c->m, "(restoring)", 0, 0))) {
		ctl_server_error(c, MIG_CTL_RESTORE, -ENOMEM, "restore: out of memory");
		return;
	}
	d->on_up = cmd_on_up;
	if ((rc = mig_vif_open_save(d, req->path, err, sizeof(err))) < 0) {
		ctl_server_error(c, MIG_CTL_RESTORE, rc, "restore: %s", err);
		dom_remove(d, NULL);
		return;
	}
	if ((rc = mig_vif_spawn(d, args, NULL, 0)) < 0) {
		ctl_server_error(c, MIG_CTL_RESTORE, rc, "restore %s: %s", req->path,
				 strerror(-rc));
		dom_remove(d, NULL);
		return;
	}
	d->waiter = c;
}

/* Pause, unpause, destroy: the vmm's empty answer or its error. */
static void cmd_on_simple(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			  int err, void *arg)
{
	struct mig_client *c = r->client;
	struct mig_dom *d = dom_find(r->m, arg);
	uint16_t type = c ? c->busy_type : 0;

	vmm_req_free(r);
	free(arg);
	if (type == MIG_CTL_DESTROY || (!c && d && d->destroying)) {
		/* The client hears when the entry is gone (dom_remove); a vmm
		 * that could not be asked is killed. */
		if (d && d->pid > 0 && (err || (h->flags & CTL_F_ERROR)))
			kill(d->pid, SIGKILL);
		return;
	}
	if (d && err == 0 && !(h->flags & CTL_F_ERROR)) {
		if (type == MIG_CTL_PAUSE)
			d->state = MIG_DOM_PAUSED;
		else if (type == MIG_CTL_UNPAUSE)
			d->state = MIG_DOM_RUNNING;
	}
	if (!c)
		return;
	if (!d && type == MIG_CTL_DESTROY) {
		ctl_server_reply(c, type, 0, NULL, 0);
		return;
	}
	if (err || (h->flags & CTL_F_ERROR)) {
		if (d)
			cmd_forward_error(c, d,
					  type == MIG_CTL_PAUSE	    ? "pause"
					  : type == MIG_CTL_UNPAUSE ? "unpause"
								    : "destroy",
					  err ? NULL : p, len, err);
		else
			ctl_server_error(c, type, -ENOENT, "domain gone");
		return;
	}
	ctl_server_reply(c, type, 0, NULL, 0);
}

static int cmd_vmm(struct mig_client *c, struct mig_dom *d, uint16_t vtype)
{
	char *key = strdup(d->name);
	struct vmm_req *r;

	if (!key)
		return -ENOMEM;
	if (!(r = vmm_req_start(c->m, d, vtype, NULL, 0, NULL, 0, cmd_on_simple, key))) {
		free(key);
		return -errno;
	}
	r->client = c;
	return 0;
}

static bool cmd_live(struct mig_client *c, struct mig_dom *d, const char *what)
{
	if (d->pid > 0 && (d->state == MIG_DOM_RUNNING || d->state == MIG_DOM_PAUSED))
		return true;
	ctl_server_error(c, c->busy_type, -EBUSY, "domain %s: %s: domain is %s", d->name, what,
			 mig_ctl_state_name(d->state));
	return false;
}

static void cmd_pause(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	bool pause = req->type == MIG_CTL_PAUSE;
	int rc;

	if (!cmd_live(c, d, pause ? "pause" : "unpause"))
		return;
	if (d->state == (pause ? MIG_DOM_PAUSED : MIG_DOM_RUNNING)) {
		ctl_server_error(c, req->type, -EALREADY, "domain %s is %s", d->name,
				 mig_ctl_state_name(d->state));
		return;
	}
	if ((rc = cmd_vmm(c, d, pause ? CTL_VMM_PAUSE : CTL_VMM_UNPAUSE)) < 0)
		ctl_server_error(c, req->type, rc, "domain %s: vmm: %s", d->name, strerror(-rc));
}

static void cmd_destroy(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	(void)req;
	if (d->out || d->in) {
		ctl_server_error(c, MIG_CTL_DESTROY, -EBUSY,
				 "domain %s: a migration runs; `vm migrate-cancel %s` first",
				 d->name, d->name);
		return;
	}
	if (d->pid <= 0) {
		dom_remove(d, "destroyed");
		ctl_server_reply(c, MIG_CTL_DESTROY, 0, NULL, 0);
		return;
	}
	d->destroying = true;
	d->gone_waiter = c; /* answered by dom_remove once the vmm is gone */
	d->gone_type = MIG_CTL_DESTROY;
	if (d->state == MIG_DOM_STARTING || cmd_vmm(c, d, CTL_VMM_DESTROY) < 0)
		kill(d->pid, SIGKILL);
}

static void cmd_shutdown(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	(void)req;
	if (!cmd_live(c, d, "shutdown"))
		return;
	/* The vmm ends the domain on SIGTERM and exits 0 (its README). */
	d->destroying = true;
	kill(d->pid, SIGTERM);
	ctl_server_reply(c, MIG_CTL_SHUTDOWN, 0, NULL, 0);
}

static void cmd_on_save(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			int err, void *arg)
{
	struct mig_client *c = r->client;
	struct mig_dom *d = dom_find(r->m, arg);

	if (err == 0 && (h->flags & CTL_F_MORE))
		return; /* progress: the save's end is what the client waits for */
	vmm_req_free(r);
	free(arg);
	if (err || (h->flags & CTL_F_ERROR)) {
		if (d)
			d->state = MIG_DOM_RUNNING;
		if (c && d)
			cmd_forward_error(c, d, "save", err ? NULL : p, len, err);
		return;
	}
	if (d)
		snprintf(d->note, sizeof(d->note), "saved");
	if (c)
		ctl_server_reply(c, MIG_CTL_SAVE, 0, NULL, 0);
}

static void cmd_save(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	uint8_t buf[sizeof(struct vmm_ctl_save) + CTL_VMM_PATH_MAX];
	struct vmm_ctl_save s = {0, (uint32_t)strlen(req->path)};
	struct vmm_req *r;
	char *key;

	if (!cmd_live(c, d, "save"))
		return;
	memcpy(buf, &s, sizeof(s));
	memcpy(buf + sizeof(s), req->path, s.path_len);
	if (!(key = strdup(d->name)) ||
	    !(r = vmm_req_start(c->m, d, CTL_VMM_SAVE, buf, sizeof(s) + s.path_len, NULL, 0,
				cmd_on_save, key))) {
		free(key);
		ctl_server_error(c, MIG_CTL_SAVE, -errno, "domain %s: save: %s", d->name,
				 strerror(errno));
		return;
	}
	r->client = c;
	d->state = MIG_DOM_SAVING;
}

static void cmd_console(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	size_t start = (d->ring_head + MIG_RING_SIZE - d->ring_len) % MIG_RING_SIZE;

	(void)req;
	if (d->pid <= 0) {
		ctl_server_error(c, MIG_CTL_CONSOLE, -ESRCH, "domain %s: no console: domain is %s",
				 d->name, mig_ctl_state_name(d->state));
		return;
	}
	/* The recent output first, then what comes, in order. */
	for (size_t done = 0; done < d->ring_len;) {
		size_t n = d->ring_len - done, at = (start + done) % MIG_RING_SIZE;

		if (n > MIG_RING_SIZE - at)
			n = MIG_RING_SIZE - at;
		if (n > 16384)
			n = 16384;
		ctl_server_more(c, MIG_CTL_CONSOLE, d->ring + at, n);
		done += n;
	}
	c->console = d;
}

static void cmd_console_in(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	(void)d;
	if (!c->console || c->console->in_fd < 0)
		return;
	/* A guest that reads no input loses it; the loop never waits. */
	if (write(c->console->in_fd, req->bytes, req->nbytes) < 0 && errno != EAGAIN)
		log_debug("domain %s: console input: %s", c->console->name, strerror(errno));
}

static void cmd_migrate(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	if (d->out) {
		ctl_server_error(c, MIG_CTL_MIGRATE, -EBUSY, "domain %s: already migrating",
				 d->name);
		return;
	}
	if (!cmd_live(c, d, "migrate"))
		return;
	reloc_client_start(c, d, req);
}

static void cmd_cancel(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	(void)req;
	if (!d->out) {
		ctl_server_error(c, MIG_CTL_MIGRATE_CANCEL, -ENOENT, "domain %s: not migrating",
				 d->name);
		return;
	}
	reloc_client_cancel(NULL, d);
	ctl_server_reply(c, MIG_CTL_MIGRATE_CANCEL, 0, NULL, 0);
}

static const struct {
	uint16_t type;
	bool needs_dom;
	cmd_fn fn;
} cmd_table[] = {
    {MIG_CTL_CREATE, false, cmd_create},    {MIG_CTL_LIST, false, cmd_list},
    {MIG_CTL_PAUSE, true, cmd_pause},	    {MIG_CTL_UNPAUSE, true, cmd_pause},
    {MIG_CTL_SHUTDOWN, true, cmd_shutdown}, {MIG_CTL_DESTROY, true, cmd_destroy},
    {MIG_CTL_SAVE, true, cmd_save},	    {MIG_CTL_RESTORE, false, cmd_restore},
    {MIG_CTL_CONSOLE, true, cmd_console},   {MIG_CTL_CONSOLE_IN, false, cmd_console_in},
    {MIG_CTL_MIGRATE, true, cmd_migrate},   {MIG_CTL_MIGRATE_CANCEL, true, cmd_cancel},
};

void cmd_dispatch(struct mig_client *c, const struct mig_ctl_req *req)
{
	struct mig_dom *d = NULL;

	for (size_t i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		if (cmd_table[i].type != req->type)
			continue;
		if (cmd_table[i].needs_dom && !(d = dom_find(c->m, req->dom))) {
			ctl_server_error(c, req->type, -ENOENT, "domain %s: no such domain",
					 req->dom);
			return;
		}
		cmd_table[i].fn(c, d, req);
		return;
	}
	ctl_server_error(c, req->type, -EOPNOTSUPP, "request 0x%04x: not supported", req->type);
}
