/*
 * The migrated control protocol (`vm` <-> migrated): typed messages over
 * common/ctl.h framing on migrated's control socket. Both ends are on one
 * host, so fixed fields are in host byte order. Each request has ONE
 * size-checking decoder here, used by migrated (and the fuzz harness);
 * `vm` decodes the replies with the same file.
 *
 *   CREATE      cfg text (canonical, hv_domcfg_format)  -> struct mig_ctl_id
 *   LIST        empty -> struct mig_ctl_list_hdr + n * struct mig_ctl_dom
 *               (with each live domain's vif counters, asked from its vmm
 *               with CTL_VMM_STATUS and waited for at most
 *               MIG_LIST_TIMEOUT_MS: cmd_list.c)
 *   PAUSE, UNPAUSE, SHUTDOWN, DESTROY, MIGRATE_CANCEL
 *               DOM (a name or a decimal id)             -> empty
 *   SAVE        struct mig_ctl_save + DOM + path          -> empty
 *   RESTORE     path                                      -> struct mig_ctl_id
 *   CONSOLE     DOM -> CTL_F_MORE replies with console bytes (recent output
 *               first) until the domain ends (a final empty reply)
 *   CONSOLE_IN  bytes for the guest's console input (no reply)
 *   MIGRATE     struct mig_ctl_migrate + DOM + HOST -> CTL_F_MORE replies:
 *               struct vmm_ctl_mig_progress as the vmm sent it; then one
 *               reply with the vmm_mig_result record (vmm_msg codec). A
 *               migration that could not start (refused, unreachable,
 *               TLS) is an error reply naming the cause.
 * Errors are ctl_send_error replies: "<-errno> <one line>".
 */
#ifndef TERN_MIG_CTL_H
#define TERN_MIG_CTL_H

#include <stddef.h>
#include <stdint.h>

#define MIG_CTL_CREATE 0x0301u
#define MIG_CTL_LIST 0x0302u
#define MIG_CTL_PAUSE 0x0303u
#define MIG_CTL_UNPAUSE 0x0304u
#define MIG_CTL_SHUTDOWN 0x0305u
#define MIG_CTL_DESTROY 0x0306u
#define MIG_CTL_MIGRATE_CANCEL 0x0307u
#define MIG_CTL_SAVE 0x0308u
#define MIG_CTL_RESTORE 0x0309u
#define MIG_CTL_CONSOLE 0x030au
#define MIG_CTL_CONSOLE_IN 0x030bu
#define MIG_CTL_MIGRATE 0x030cu

#define MIG_CTL_DOM_MAX 63u
#define MIG_CTL_PATH_MAX 4095u
#define MIG_CTL_HOST_MAX 253u
#define MIG_CTL_CFG_MAX 16384u
#define MIG_CTL_NOTE_MAX 127u

enum mig_dom_state {
	MIG_DOM_STARTING = 0, /* vmm spawned, control socket not up yet */
	MIG_DOM_RUNNING = 1,
	MIG_DOM_PAUSED = 2,
	MIG_DOM_CRASHED = 3,   /* vmm exited 3; kept until destroy */
	MIG_DOM_EXITED = 4,    /* vmm exited otherwise; kept until destroy */
	MIG_DOM_INCOMING = 5,  /* a `vmm --incoming` receiving it */
	MIG_DOM_MIGRATING = 6, /* its vmm sends it away */
	MIG_DOM_SAVING = 7,
	MIG_DOM_STATE_N
};

struct mig_ctl_id {
	uint32_t domid;
	uint32_t pad;
};

#define MIG_CTL_LIST_VERSION 2u /* 2: the vifs' counters */
struct mig_ctl_list_hdr {
	uint32_t version; /* MIG_CTL_LIST_VERSION */
	uint32_t count;	  /* struct mig_ctl_dom that follow */
	uint32_t total;	  /* domains in the registry: more than count when the
			   * reply is full (LIST_MAX, cmd_list.c) */
	uint32_t pad;	  /* 0: the entries that follow are 8-byte aligned */
};

/* One vif's counters, the vmm's struct vmm_ctl_vif (vmm_ctl.h) carried as
 * it answered CTL_VMM_STATUS: same fields, same layout (cmd_list.c checks). */
#define MIG_CTL_VIF_MAX 4u
#define MIG_CTL_RING_RX 2u	/* ring: 0 none, 1 TX, 2 RX */
#define MIG_CTL_RING_ERR_MAX 3u /* ring_err: 0 ok, 1..3 the reasons */
struct mig_ctl_vif {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_runt, rx_oversize, rx_err, tx_err, tx_spoofed;
	uint64_t kicks, wakes;
	uint64_t first_frame_us; /* UINT64_MAX: unknown */
	uint32_t ring, ring_err; /* both 0, or the ring the guest broke and why */
};

/* Whether vif[] holds the vmm's answer. */
enum mig_ctl_vifs {
	MIG_CTL_VIFS_NONE = 0,	   /* not asked: the domain has no live vmm */
	MIG_CTL_VIFS_OK = 1,	   /* the vmm's counters, nvifs of them */
	MIG_CTL_VIFS_NOANSWER = 2, /* the vmm did not answer STATUS in time */
	MIG_CTL_VIFS_N
};

struct mig_ctl_dom {
	uint32_t domid;
	int32_t pid;	/* 0 once the vmm is gone */
	uint32_t state; /* enum mig_dom_state */
	uint32_t memory_mib;
	uint32_t vcpus;
	int32_t exit_status; /* CRASHED / EXITED: the vmm's status */
	uint64_t cpu_ms;     /* the vmm's CPU time */
	uint64_t uptime_ms;
	char name[MIG_CTL_DOM_MAX + 1];	 /* NUL-terminated */
	char note[MIG_CTL_NOTE_MAX + 1]; /* crash reason, last migration; "" */
	uint32_t vifs;			 /* enum mig_ctl_vifs */
	uint32_t nvifs;			 /* <= MIG_CTL_VIF_MAX; 0 unless VIFS_OK */
	struct mig_ctl_vif vif[MIG_CTL_VIF_MAX];
};

struct mig_ctl_save {
	uint32_t dom_len, path_len; /* then DOM, then the absolute path */
};

#define MIG_CTL_MIG_F_LIVE 0x1u
struct mig_ctl_migrate {
	uint32_t flags;
	uint32_t port;		 /* 0: 8002 */
	uint32_t bandwidth_mbps; /* 0: unlimited */
	uint32_t downtime_ms;	 /* 0: the vmm's default */
	uint32_t dom_len, host_len;
};

/* A decoded request. Strings NUL-terminated. */
struct mig_ctl_req {
	uint16_t type;
	char dom[MIG_CTL_DOM_MAX + 1];
	char path[MIG_CTL_PATH_MAX + 1];
	char host[MIG_CTL_HOST_MAX + 1];
	struct mig_ctl_migrate mig;
	const char *cfg; /* CREATE: points into the payload */
	size_t cfg_len;
	const uint8_t *bytes; /* CONSOLE_IN */
	size_t nbytes;
};

/* The one request decoder: 0 or -EBADMSG with err naming the request and
 * the field. The payload must outlive req (cfg, bytes point into it). */
int mig_ctl_req_dec(uint16_t type, const void *p, size_t len, struct mig_ctl_req *req, char *err,
		    size_t errlen);
/* Encoders for `vm`: the bytes written or -ENOSPC/-EINVAL. */
int mig_ctl_dom_enc(const char *dom, void *buf, size_t cap);
int mig_ctl_save_enc(const char *dom, const char *path, void *buf, size_t cap);
int mig_ctl_migrate_enc(const struct mig_ctl_migrate *m, const char *dom, const char *host,
			void *buf, size_t cap);
/* LIST reply: checks the header, the count against len and the total,
 * every entry's strings, state and vifs (count, broken-ring fields).
 * Returns the count (the registry's total in *total unless NULL) or
 * -EBADMSG. */
int mig_ctl_list_dec(const void *p, size_t len, const struct mig_ctl_dom **doms, uint32_t *total,
		     char *err, size_t errlen);
/* "running", "paused", ...; "unknown" out of range. */
const char *mig_ctl_state_name(uint32_t state);

#endif
