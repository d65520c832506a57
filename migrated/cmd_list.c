/*
 * `vm list`: the registry's entries, each live domain with its vifs'
 * counters asked from its vmm (CTL_VMM_STATUS, one vmm_req each, all at
 * once). The reply is built when every vmm answered, or when
 * MIG_LIST_TIMEOUT_MS passed: a vmm that does not answer (stalled, busy)
 * delays the list that long and is shown as "no answer"; the loop itself
 * never waits. The client stays busy meanwhile (one request at a time).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "migrated.h"
#include "vmm_ctl.h"

/* The vmm's record is carried as is: the two structs must not drift. */
#define VIF_SAME(f)                                                                                \
	_Static_assert(offsetof(struct mig_ctl_vif, f) == offsetof(struct vmm_ctl_vif, f) &&       \
			   sizeof(((struct mig_ctl_vif *)0)->f) ==                                 \
			       sizeof(((struct vmm_ctl_vif *)0)->f),                               \
		       "vif record: " #f)
_Static_assert(sizeof(struct mig_ctl_vif) == sizeof(struct vmm_ctl_vif), "vif record");
VIF_SAME(rx_frames);
VIF_SAME(rx_bytes);
VIF_SAME(tx_frames);
VIF_SAME(tx_bytes);
VIF_SAME(rx_runt);
VIF_SAME(rx_oversize);
VIF_SAME(rx_err);
VIF_SAME(tx_err);
VIF_SAME(tx_spoofed);
VIF_SAME(kicks);
VIF_SAME(wakes);
VIF_SAME(first_frame_us);
VIF_SAME(ring);
VIF_SAME(ring_err);
_Static_assert(MIG_CTL_VIF_MAX == VMM_CTL_VIF_MAX && MIG_CTL_RING_RX == VMM_CTL_RING_RX &&
		   MIG_CTL_RING_ERR_MAX + 1 == VMM_CTL_RING_NERR,
	       "vif limits");

#define LIST_MAX ((CTL_MSG_MAX - sizeof(struct mig_ctl_list_hdr)) / sizeof(struct mig_ctl_dom))

struct list_ask {
	struct mig_list *l;
	struct vmm_req *r; /* NULL once answered */
	struct mig_ctl_dom *e;
};

struct mig_list {
	struct mig_list *next;
	struct mig *m;
	struct mig_client *c; /* NULL once it left */
	struct ev_timer timer;
	unsigned pending;
	size_t len;
	struct list_ask ask[LIST_MAX];
	union {
		uint8_t buf[CTL_MSG_MAX];
		struct mig_ctl_list_hdr h; /* aligns buf for the entries */
	} u;
};

/* A domain whose vmm can answer STATUS now. */
static bool list_live(const struct mig_dom *d)
{
	return d->pid > 0 && (d->state == MIG_DOM_RUNNING || d->state == MIG_DOM_PAUSED ||
			      d->state == MIG_DOM_MIGRATING || d->state == MIG_DOM_SAVING);
}

static void list_finish(struct mig_list *l)
{
	ev_timer_stop(&l->timer);
	for (unsigned i = 0; i < LIST_MAX && l->pending; i++) {
		if (!l->ask[i].r)
			continue;
		log_warn("domain %s: no status from its vmm within %u ms (vm list)",
			 l->ask[i].e->name, MIG_LIST_TIMEOUT_MS);
		vmm_req_free(l->ask[i].r);
		l->ask[i].r = NULL;
		l->pending--;
	}
	if (l->c)
		ctl_server_reply(l->c, MIG_CTL_LIST, 0, l->u.buf, l->len);
	for (struct mig_list **pp = &l->m->lists; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	free(l);
}

static void list_on_timer(struct ev_timer *t, void *arg)
{
	(void)t;
	list_finish(arg);
}

static void list_on_status(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			   int err, void *arg)
{
	static struct vmm_status st;
	struct list_ask *a = arg;
	struct mig_list *l = a->l;
	char why[256] = "error reply";

	if (!err && (h->flags & CTL_F_MORE))
		return; /* STATUS has no progress records; wait for the reply */
	vmm_req_free(r);
	a->r = NULL;
	if (!err && !(h->flags & CTL_F_ERROR) &&
	    vmm_msg_status_dec(p, len, &st, why, sizeof(why)) == 0) {
		a->e->vifs = MIG_CTL_VIFS_OK;
		a->e->nvifs = st.rec.nvifs;
		memcpy(a->e->vif, st.vifc, st.rec.nvifs * sizeof(st.vifc[0]));
	} else {
		log_debug("domain %s: vmm status: %s", a->e->name, err ? strerror(-err) : why);
	}
	if (--l->pending == 0)
		list_finish(l);
}

/* One entry from the registry; its vifs stay NONE until the vmm answers. */
static void list_entry(struct mig_ctl_dom *e, const struct mig_dom *d, uint64_t now)
{
	memset(e, 0, sizeof(*e));
	e->domid = d->domid;
	e->pid = d->pid;
	e->state = d->state;
	e->memory_mib = d->memory_mib;
	e->vcpus = d->vcpus;
	e->exit_status = d->exit_status;
	e->cpu_ms = dom_cpu_ms(d->pid);
	e->uptime_ms = now - d->start_ms;
	snprintf(e->name, sizeof(e->name), "%s", d->name);
	snprintf(e->note, sizeof(e->note), "%s", d->note);
}

void cmd_list(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req)
{
	struct mig_list *l = calloc(1, sizeof(*l));
	struct mig_ctl_dom *e;
	uint64_t now = ev_now_ms();
	unsigned n = 0;

	(void)req;
	if (!l) {
		ctl_server_error(c, MIG_CTL_LIST, -ENOMEM, "list: out of memory");
		return;
	}
	l->m = c->m;
	l->c = c;
	l->u.h.version = MIG_CTL_LIST_VERSION;
	e = (struct mig_ctl_dom *)(&l->u.h + 1);
	for (d = c->m->doms; d && n < LIST_MAX; d = d->next, n++) {
		list_entry(&e[n], d, now);
		if (!list_live(d))
			continue;
		e[n].vifs = MIG_CTL_VIFS_NOANSWER; /* until it answers */
		l->ask[n] = (struct list_ask){l, NULL, &e[n]};
		l->ask[n].r = vmm_req_start(c->m, d, CTL_VMM_STATUS, NULL, 0, NULL, 0,
					    list_on_status, &l->ask[n]);
		l->pending += l->ask[n].r != NULL;
	}
	l->u.h.count = n;
	for (l->u.h.total = n; d; d = d->next)
		l->u.h.total++;
	l->len = sizeof(l->u.h) + n * sizeof(*e);
	l->next = c->m->lists;
	c->m->lists = l;
	ev_timer_init(&l->timer, list_on_timer, l);
	if (!l->pending || ev_timer_start(c->m->loop, &l->timer, MIG_LIST_TIMEOUT_MS, 0) < 0)
		list_finish(l);
}

void cmd_list_forget_client(struct mig *m, struct mig_client *c)
{
	for (struct mig_list *l = m->lists; l; l = l->next)
		if (l->c == c)
			l->c = NULL;
}

void cmd_list_stop(struct mig *m)
{
	while (m->lists) {
		m->lists->c = NULL;
		list_finish(m->lists);
	}
}
