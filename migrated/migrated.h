/*
 * migrated: the daemon's shared model. One struct mig per process; the
 * domain registry (struct mig_dom, one per supervised vmm), the control
 * clients, the requests in flight to vmms, and the relocation sessions in
 * both directions. Everything runs on one ev loop in one thread.
 */
#ifndef TERN_MIGRATED_H
#define TERN_MIGRATED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"
#include "ev.h"
#include "mig_conf.h"
#include "mig_ctl.h"
#include "mig_vif.h"
#include "res.h"
#include "tls.h"

#define MIG_RING_SIZE (64u * 1024u) /* recent console output kept per domain */
#define MIG_CLIENTS_MAX 32u
#define MIG_IN_PENDING_MAX 8u	    /* relocation connections before OFFER */
#define MIG_START_TIMEOUT_MS 10000u /* a vmm's control socket must appear */
#define MIG_RELOC_TIMEOUT_MS 10000u /* connect + TLS 1 + OFFER/ACCEPT + close */
#define MIG_LIST_TIMEOUT_MS 1000u   /* `vm list` waits this long for the vmms' STATUS */
#define MIG_KEY_LABEL "EXPORTER-tern-migrate-v1"
#define MIG_KEY_LEN 32u

struct mig;
struct mig_client;
struct vmm_req;
struct mig_out;
struct mig_in;
struct mig_list;

struct mig_dom {
	struct mig_dom *next;
	struct mig *m;
	uint32_t domid;
	char domid_str[12];
	char name[MIG_CTL_DOM_MAX + 1];
	uint32_t memory_mib, vcpus;
	enum mig_dom_state state;
	pid_t pid; /* 0 once reaped */
	int exit_status;
	uint64_t start_ms;
	bool destroying; /* asked to go: its exit removes it whatever the status */
	bool keep_exit;	 /* its exit status is worth keeping (crash, error) */
	char sock[MIG_PATH_MAX];
	char cfg_path[MIG_PATH_MAX];
	int in_fd; /* the vmm's stdin (console input) */
	struct ev_io out_io, err_io;
	char errline[256]; /* the vmm's last stderr line */
	char errpart[256]; /* an unfinished stderr line */
	size_t errpart_len;
	char note[MIG_CTL_NOTE_MAX + 1];
	uint8_t ring[MIG_RING_SIZE];
	size_t ring_len, ring_head; /* bytes held; next write position */
	struct ev_timer up_timer;   /* waits for the control socket */
	struct mig_client *waiter;  /* a create/restore's client */
	/* A client answered once the entry is gone (destroy; a migration that
	 * succeeded): the reply's type and payload wait here. */
	struct mig_client *gone_waiter;
	uint16_t gone_type;
	void *gone_reply;
	size_t gone_len;
	void (*on_up)(struct mig_dom *d);
	struct vmm_req *status_req; /* the first STATUS, in flight */
	struct mig_out *out;	    /* migrating away */
	struct mig_in *in;	    /* arriving */
	struct mig_vifs vifs;	    /* its TAPs (mig_vif.c) */
};

struct mig_client {
	struct mig_client *next;
	struct mig *m;
	struct ev_io io;
	struct ctl_conn *conn;
	struct ctl_out out;
	bool busy;		 /* a request waits for an answer: read no other */
	struct mig_dom *console; /* attached to this domain's console */
	uint16_t busy_type;
};

/* One request to a vmm's control socket, answered asynchronously. */
typedef void (*vmm_req_cb)(struct vmm_req *r, const struct ctl_hdr *h, const void *p, size_t len,
			   int err, void *arg);
struct vmm_req {
	struct vmm_req *next;
	struct mig *m;
	struct ev_io io;
	struct ctl_conn *conn;
	struct mig_client *client; /* cleared if the client leaves first */
	vmm_req_cb cb;
	void *arg;
	bool done;
	bool in_cb, freed; /* a free asked inside the callback waits for its end */
};

struct mig {
	struct mig_conf conf;
	struct ev_loop *loop;
	struct ev_signal sig_term, sig_int, sig_chld;
	struct res *res;
	struct tls_ctx *tls_srv, *tls_cli;
	struct ev_io ctl_io;
	struct ev_io reloc_io;
	struct mig_client *clients;
	struct mig_dom *doms;
	struct vmm_req *reqs;
	struct mig_in *ins;
	struct mig_list *lists; /* `vm list`s waiting for vmms (cmd_list.c) */
	unsigned nclients, nin_pending, nin_active;
	uint32_t next_domid;
	bool stopping;
};

/* dom.c: the registry and vmm supervision. */
struct mig_dom *dom_find(struct mig *m, const char *name_or_id);
struct mig_dom *dom_find_name(struct mig *m, const char *name);
/* A new entry (state STARTING, next id); NULL with errno. */
struct mig_dom *dom_new(struct mig *m, const char *name, uint32_t mem, uint32_t vcpus);
/* Spawns the vmm with `args` after the common ones and fds[] as 3, 4..;
 * calls on_up when its control socket answers (or -errno via waiter). */
int dom_spawn(struct mig_dom *d, const char *const *args, const int *fds, unsigned nfds);
/* Removes the entry: closes pipes, unlinks its files; the process, if
 * any, is killed. Clients attached or waiting are told. */
void dom_remove(struct mig_dom *d, const char *why);
void dom_reap(struct mig *m);
uint64_t dom_cpu_ms(pid_t pid);
uint32_t dom_mem_available(struct mig *m);

/* vmm_req.c */
struct vmm_req *vmm_req_start(struct mig *m, struct mig_dom *d, uint16_t type, const void *p,
			      size_t len, const int *fds, unsigned nfds, vmm_req_cb cb, void *arg);
void vmm_req_free(struct vmm_req *r);

/* ctl_server.c */
int ctl_server_start(struct mig *m);
void ctl_server_stop(struct mig *m);
/* Answers a busy client and lets it send its next request. */
void ctl_server_reply(struct mig_client *c, uint16_t type, uint16_t flags, const void *p,
		      size_t len);
void ctl_server_error(struct mig_client *c, uint16_t type, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A CTL_F_MORE message that does not end the request (console, progress). */
void ctl_server_more(struct mig_client *c, uint16_t type, const void *p, size_t len);
void ctl_server_console(struct mig_dom *d, const uint8_t *p, size_t n);
void ctl_server_forget_dom(struct mig *m, struct mig_dom *d);

/* reloc_server.c: the destination side. */
int reloc_server_start(struct mig *m);
void reloc_server_stop(struct mig *m);
/* on_up of an incoming vmm: asks CTL_VMM_INCOMING for the outcome. */
void reloc_in_vmm_up(struct mig_dom *d);

/* reloc_client.c: the source side of `vm migrate`. */
void reloc_client_start(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req);
void reloc_client_cancel(struct mig_client *c, struct mig_dom *d);
void reloc_client_free(struct mig_out *o);
void reloc_in_free(struct mig_in *in);

/* cmd.c: the control requests. */
void cmd_dispatch(struct mig_client *c, const struct mig_ctl_req *req);
/* cmd_list.c: LIST, answered once the live domains' vmms told their vif
 * counters (or MIG_LIST_TIMEOUT_MS passed). A client that leaves is
 * forgotten; stop ends the waiting lists without replies. */
void cmd_list(struct mig_client *c, struct mig_dom *d, const struct mig_ctl_req *req);
void cmd_list_forget_client(struct mig *m, struct mig_client *c);
void cmd_list_stop(struct mig *m);

#endif
