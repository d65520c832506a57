/*
 * The vmm control protocol: typed messages over common/ctl.h framing on the
 * socket given with `vmm --control SOCKET`. Used by vmmctl, the tests and
 * migrated. Every request is answered with CTL_F_REPLY (and CTL_F_ERROR
 * with "<-errno> <message>" on failure); a malformed request is answered
 * with an error and the connection is closed. A long operation (save)
 * answers with progress records first: CTL_F_REPLY | CTL_F_MORE messages
 * carrying struct vmm_ctl_progress, then its final reply.
 *
 * Both ends are on one host: records are in host byte order. Each record
 * has ONE size-checking decoder in vmm_msg.c, shared by the vmm and
 * vmmctl; JSON exists only in the tools' output (`vmmctl status --json`,
 * and a vif's counters in `vm list --json` through vmm_msg_vif.c).
 */
#ifndef VMM_CTL_H
#define VMM_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_VMM_PAUSE 0x0101u	/* empty -> empty */
#define CTL_VMM_UNPAUSE 0x0102u /* empty -> empty */
#define CTL_VMM_STATUS 0x0103u	/* empty -> status record (below) */
/* struct vmm_ctl_save + path -> progress records (CTL_F_MORE), then empty
 * once written; an error reply if it failed or was cancelled */
#define CTL_VMM_SAVE 0x0104u
#define CTL_VMM_DESTROY 0x0105u /* empty -> empty, then the vmm exits 0 */
/* empty -> empty once the running operation stopped (a save's temporary
 * file removed, the domain as it was before); -ENOENT if none runs */
#define CTL_VMM_CANCEL 0x0106u

/* struct vmm_ctl_migrate + one fd (the connected TCP socket to the
 * destination, its TLS 1 ended) -> struct vmm_ctl_mig_progress records
 * (CTL_F_MORE), then one struct vmm_ctl_mig_result + message (CTL_F_REPLY).
 * docs/migration.md. CTL_VMM_CANCEL stops it before COMMIT. */
#define CTL_VMM_MIGRATE 0x0107u
/* On a `vmm --incoming` process: empty -> progress records, then one
 * struct vmm_ctl_mig_result once the domain runs here (DONE) or the
 * incoming failed (FAILED; the vmm then exits 2). */
#define CTL_VMM_INCOMING 0x0108u

/* Keep the domain paused after a save instead of destroying it (xl save -p). */
#define CTL_VMM_SAVE_F_PAUSE 0x1u
#define CTL_VMM_PATH_MAX 4096u

struct vmm_ctl_save {
	uint32_t flags;
	uint32_t path_len; /* bytes of path that follow, no NUL */
			   /* char path[path_len]: absolute path of the file to write */
};

/* A long operation: what runs and how far it is. */
/* In a status record, a migration shows as op MIGRATE (source) or INCOMING
 * (destination) with phase PAGES (rounds), STATE (stopped, state and END)
 * and SYNC (the handover); bytes_done/bytes_total are the current round's
 * pages in bytes. The migration's own record is vmm_ctl_mig_progress. */
enum vmm_ctl_op {
	VMM_CTL_OP_NONE = 0,
	VMM_CTL_OP_SAVE = 1,
	VMM_CTL_OP_MIGRATE = 2,
	VMM_CTL_OP_INCOMING = 3,
};
enum vmm_ctl_phase {
	VMM_CTL_PHASE_NONE = 0,
	VMM_CTL_PHASE_PAGES = 1, /* guest RAM: bytes_done of bytes_total */
	VMM_CTL_PHASE_STATE = 2, /* vCPU and device state, END */
	VMM_CTL_PHASE_SYNC = 3,	 /* fsync and rename */
	VMM_CTL_PHASE_DONE = 4,
};

struct vmm_ctl_progress {
	uint32_t op;		/* enum vmm_ctl_op */
	uint32_t phase;		/* enum vmm_ctl_phase */
	uint64_t bytes_done;	/* guest RAM processed, <= bytes_total */
	uint64_t bytes_total;	/* guest RAM to process */
	uint64_t bytes_written; /* stream bytes written so far */
	uint64_t elapsed_ms;	/* since the operation started */
};

/* --- Migration (docs/migration.md) --- */
#define VMM_CTL_MIG_F_LIVE 0x1u /* pre-copy rounds; else stop-and-copy */
#define VMM_CTL_MIG_KEY_LEN 32u /* TLS 2 PSK, exported from TLS 1 */
#define VMM_CTL_MIG_DOWNTIME_MS_DEFAULT 300u
#define VMM_CTL_MIG_ROUNDS_MAX 30u
#define VMM_CTL_MIG_PEER_MAX 255u
#define VMM_CTL_MIG_DOWNTIME_MS_MAX 60000u

struct vmm_ctl_migrate {
	uint32_t flags;		 /* VMM_CTL_MIG_F_* */
	uint32_t downtime_ms;	 /* target; 0: VMM_CTL_MIG_DOWNTIME_MS_DEFAULT */
	uint32_t bandwidth_mbps; /* cap in MiB/s; 0: unlimited */
	uint32_t max_rounds;	 /* 0: VMM_CTL_MIG_ROUNDS_MAX; at most that */
	uint8_t key[VMM_CTL_MIG_KEY_LEN];
	uint32_t peer_len; /* bytes of peer name that follow (for messages), no NUL */
	uint32_t pad;	   /* 0 */
			   /* char peer[peer_len] ("host2:8002") */
};

enum vmm_ctl_mig_phase {
	VMM_CTL_MIG_CONNECT = 0,  /* TLS 2 handshake */
	VMM_CTL_MIG_PRECOPY = 1,  /* live rounds, guest running */
	VMM_CTL_MIG_STOPCOPY = 2, /* guest stopped: last pages, vCPUs, devices, END */
	VMM_CTL_MIG_HANDOVER = 3, /* READY / COMMIT / RUNNING */
	VMM_CTL_MIG_DONE = 4,
};

struct vmm_ctl_mig_progress {
	uint32_t phase;		 /* enum vmm_ctl_mig_phase */
	uint32_t round;		 /* 1-based; 0 before the first */
	uint64_t mem_bytes;	 /* guest RAM */
	uint64_t bytes_sent;	 /* stream bytes (incoming: received) so far */
	uint64_t round_done;	 /* pages of this round sent so far */
	uint64_t round_pages;	 /* pages this round sends */
	uint64_t dirty_rate_bps; /* measured over the last round, bytes/s */
	uint64_t throughput_bps; /* measured over the last round, bytes/s */
	uint64_t elapsed_ms;	 /* since the migration started */
	uint32_t throttle_pct;	 /* share of time the vCPUs are held, 0..99 */
	uint32_t pad;		 /* 0 */
};

/* err is 0 for OK and negative for every other outcome (CANCELLED:
 * -ECANCELED). On an incoming vmm OK means the domain runs here. */
enum vmm_ctl_mig_outcome {
	VMM_CTL_MIG_OK = 0,	   /* the destination runs it; the source vmm exits */
	VMM_CTL_MIG_FAILED = 1,	   /* before commit: the source runs on, untouched */
	VMM_CTL_MIG_AMBIGUOUS = 2, /* lost after COMMIT: the source stays paused */
	VMM_CTL_MIG_CANCELLED = 3, /* CTL_VMM_CANCEL before commit: the source runs on */
};

#define VMM_CTL_MIG_ROUND_MAX 64u /* rounds listed in a result */
#define VMM_CTL_MIG_MSG_MAX 1024u

struct vmm_ctl_mig_round {
	uint64_t pages; /* PAGES entries sent in the round (zero pages included) */
	uint64_t bytes; /* stream bytes of the round */
	uint64_t ms;	/* duration */
};

struct vmm_ctl_mig_result {
	uint32_t outcome; /* enum vmm_ctl_mig_outcome */
	int32_t err;	  /* 0 or the negative errno of the failure */
	uint64_t total_ms;
	uint64_t downtime_us; /* vCPU stop to RUNNING received (0 unless OK) */
	uint64_t bytes;	      /* stream bytes */
	uint32_t rounds;      /* rounds run, the stop-and-copy round included */
	uint32_t nround;      /* entries that follow, min(rounds, VMM_CTL_MIG_ROUND_MAX) */
	uint32_t msg_len;     /* bytes of message after the rounds, no NUL */
	uint32_t pad;	      /* 0 */
			      /* struct vmm_ctl_mig_round round[nround]; char msg[msg_len] */
};

/* A decoded result. */
struct vmm_mig_result {
	struct vmm_ctl_mig_result rec;
	struct vmm_ctl_mig_round round[VMM_CTL_MIG_ROUND_MAX];
	char msg[VMM_CTL_MIG_MSG_MAX + 1];
};

/*
 * CTL_VMM_STATUS reply: struct vmm_ctl_status, then 4 + nvifs strings,
 * each a u16 length and that many bytes without NUL: name, kernel, extra,
 * crash (empty unless crashed), then the vifs as written in the config;
 * then nvifs struct vmm_ctl_vif (vif_size bytes each), the vifs' counters
 * in the same order. Nothing may follow. A reader refuses another
 * version, fixed size or vif record size.
 */
#define VMM_CTL_STATUS_VERSION 2u
#define VMM_CTL_NAME_MAX 63u
#define VMM_CTL_TEXT_MAX 4095u /* kernel path, extra, crash report */
#define VMM_CTL_VIF_MAX 4u
#define VMM_CTL_VIF_TEXT_MAX 255u

struct vmm_ctl_status {
	uint32_t version; /* VMM_CTL_STATUS_VERSION */
	uint32_t size;	  /* sizeof(struct vmm_ctl_status) */
	uint32_t state;	  /* 0 running, 1 paused, 2 crashed, 3 halted, 4 incoming */
	uint32_t nvifs;	  /* <= VMM_CTL_VIF_MAX */
	int32_t id;
	int32_t pid;
	uint32_t memory_mib;
	uint32_t vcpus;
	uint64_t uptime_ns;
	uint64_t cpu_time_us;
	uint64_t console_bytes_out;
	uint64_t console_dropped_stdout;
	uint64_t console_dropped_log;
	int64_t halt_status; /* valid when halted */
	struct vmm_ctl_progress op;
	uint32_t vif_size; /* sizeof(struct vmm_ctl_vif) */
	uint32_t pad;	   /* 0 */
};

/* The ring a guest broke (its net device stopped) and why: the reasons
 * are vmm_net_ring.h's, in its order. */
enum vmm_ctl_ring {
	VMM_CTL_RING_NONE = 0,
	VMM_CTL_RING_TX = 1,
	VMM_CTL_RING_RX = 2,
};
enum vmm_ctl_ring_err {
	VMM_CTL_RING_OK = 0,
	VMM_CTL_RING_EINDEX = 1, /* available index out of range */
	VMM_CTL_RING_EADDR = 2,	 /* buffer outside guest RAM */
	VMM_CTL_RING_ELEN = 3,	 /* length out of range */
	VMM_CTL_RING_NERR
};

/* One vif's backend counters (vmm_net.h struct vmm_net_counters): what
 * moved, what was dropped and why, and the state of its rings. */
#define VMM_CTL_FIRST_FRAME_NONE UINT64_MAX
struct vmm_ctl_vif {
	uint64_t rx_frames, rx_bytes; /* TAP -> guest */
	uint64_t tx_frames, tx_bytes; /* guest -> TAP */
	uint64_t rx_runt;	      /* from the TAP, dropped: shorter than a header */
	uint64_t rx_oversize;	      /* from the TAP, dropped: larger than a guest buffer */
	uint64_t rx_err;	      /* TAP read failed */
	uint64_t tx_err;	      /* TAP write failed: frame dropped */
	uint64_t tx_spoofed;	      /* from the guest, another source MAC: dropped */
	uint64_t kicks, wakes;
	/* After a restore or an incoming migration: µs from the vCPUs' resume
	 * to the first frame for the vif's MAC in the guest's ring;
	 * VMM_CTL_FIRST_FRAME_NONE until then or when the domain never moved. */
	uint64_t first_frame_us;
	uint32_t ring;	   /* enum vmm_ctl_ring: NONE, or the one the guest broke */
	uint32_t ring_err; /* enum vmm_ctl_ring_err: OK iff ring is NONE */
};

/* A status record decoded: the fixed part and NUL-terminated strings. */
struct vmm_status {
	struct vmm_ctl_status rec;
	char name[VMM_CTL_NAME_MAX + 1];
	char kernel[VMM_CTL_TEXT_MAX + 1];
	char extra[VMM_CTL_TEXT_MAX + 1];
	char crash[VMM_CTL_TEXT_MAX + 1];
	char vif[VMM_CTL_VIF_MAX][VMM_CTL_VIF_TEXT_MAX + 1];
	struct vmm_ctl_vif vifc[VMM_CTL_VIF_MAX];
};

/* vmm_msg.c: the codecs. Encoders return the length written or -ENOSPC
 * (-EINVAL for a value out of range). Decoders return 0 or -EBADMSG with
 * a one-line reason in err naming the record and the field. */
int vmm_msg_status_enc(const struct vmm_status *st, void *buf, size_t cap);
int vmm_msg_status_dec(const void *p, size_t len, struct vmm_status *st, char *err, size_t errlen);
int vmm_msg_progress_dec(const void *p, size_t len, struct vmm_ctl_progress *pr, char *err,
			 size_t errlen);
int vmm_msg_migrate_enc(const struct vmm_ctl_migrate *m, const char *peer, void *buf, size_t cap);
/* peer gets peer_len bytes + NUL (cap VMM_CTL_MIG_PEER_MAX + 1). */
int vmm_msg_migrate_dec(const void *p, size_t len, struct vmm_ctl_migrate *m, char *peer, char *err,
			size_t errlen);
int vmm_msg_mig_progress_dec(const void *p, size_t len, struct vmm_ctl_mig_progress *pr, char *err,
			     size_t errlen);
int vmm_msg_mig_result_enc(const struct vmm_mig_result *r, void *buf, size_t cap);
int vmm_msg_mig_result_dec(const void *p, size_t len, struct vmm_mig_result *r, char *err,
			   size_t errlen);
/* "connect", "precopy", ...; "ok", "failed", "ambiguous", "cancelled". */
const char *vmm_msg_mig_phase_name(uint32_t phase);
const char *vmm_msg_mig_outcome_name(uint32_t outcome);

/* "running", "paused", "crashed", "halted", "incoming" or "unknown". */
const char *vmm_msg_state_name(uint32_t state);
/* "save" / "pages", ...: for people. */
const char *vmm_msg_op_name(uint32_t op);
const char *vmm_msg_phase_name(uint32_t phase);
/* A broken ring as one word for scripts: "tx_index", "rx_address",
 * "tx_length", ...; NULL when no ring is broken (or out of range). */
const char *vmm_msg_ring_error_name(uint32_t ring, uint32_t err);
/* vmm_msg_vif.c: one vif's counters for `vmmctl status` and `vm list`.
 * JSON: one object, the keys of both tools' --json; text: one line,
 * "<indent>vif I: rx N frames N bytes, ..." with the first frame and a
 * broken ring when there are. */
void vmm_msg_vif_json(FILE *f, const struct vmm_ctl_vif *v);
void vmm_msg_vif_text(FILE *f, const char *indent, unsigned i, const struct vmm_ctl_vif *v);

#endif
