/*
 * Live migration in the vmm (docs/migration.md): TLS 2 over the TCP
 * connection the migrateds made (vmm_mig_tls.c), the source's job
 * (vmm_mig_send.c) and the destination's (vmm_mig_recv.c), both on the
 * I/O thread. Every wait is bounded: the socket is non-blocking and each
 * read or write polls in slices up to a deadline, checking for a cancel.
 */
#ifndef VMM_MIG_H
#define VMM_MIG_H

#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

/* Handover records (docs/migration.md): same 8-byte header as the stream. */
#define VMM_MIG_REC_READY 16u
#define VMM_MIG_REC_COMMIT 17u
#define VMM_MIG_REC_RUNNING 18u
#define VMM_MIG_REC_FAIL 19u
#define VMM_MIG_FAIL_MSG_MAX 512u

#define VMM_MIG_PSK_IDENTITY "tern-migrate-v1"
/* Bounds of the waits: the handshake, a stalled write or read of the
 * stream, READY after END, RUNNING after COMMIT, COMMIT after READY. */
#define VMM_MIG_TIMEOUT_MS 10000

struct ssl_st;
struct vmm_mig_conn {
	int fd;
	struct ssl_st *ssl;
	/* polled every slice of a wait: non-zero stops it with -ECANCELED */
	int (*cancelled)(void *arg);
	void *arg;
	uint64_t bytes_in, bytes_out;	  /* TLS payload bytes */
	uint8_t key[VMM_CTL_MIG_KEY_LEN]; /* the PSK, wiped on close */
};

/* Both TLS contexts, before the seccomp filter (OpenSSL loads its
 * configuration and providers on first use). 0 or -errno. */
int vmm_mig_tls_init(void);
void vmm_mig_tls_fini(void);
/* A handshake between the two contexts in memory: every algorithm TLS 2
 * uses is fetched before the seccomp filter. 0 or -EIO. */
int vmm_mig_tls_warm(void);
/* TLS 2 on the connected socket fd (taken: closed by vmm_mig_conn_close
 * even on failure): client (source) or server (destination), PSK key.
 * 0, or -errno with err set. */
int vmm_mig_conn_open(struct vmm_mig_conn *c, int fd, const uint8_t key[32], int server, char *err,
		      size_t errlen);
/* Ends TLS (close_notify if clean) and closes the socket; safe twice. */
void vmm_mig_conn_close(struct vmm_mig_conn *c, int clean);
/* Writes all of p: 0, -ETIMEDOUT (no progress for timeout_ms),
 * -ECANCELED, -EPIPE (the peer went away) or -EIO. */
int vmm_mig_conn_write(struct vmm_mig_conn *c, const void *p, size_t n, int timeout_ms);
/* Waits up to timeout_ms until the peer's kernel acknowledged everything
 * written (SIOCOUTQ 0): before the source stops its guest, so that what
 * the destination still has to read at END is at most its socket buffer.
 * Returns the bytes still unacknowledged (0: drained). */
int vmm_mig_conn_drain(struct vmm_mig_conn *c, int timeout_ms);
/* Reads exactly n bytes: 1, 0 (clean end before any byte), -ENODATA (end
 * inside), -ETIMEDOUT, -ECANCELED or -EIO: hv_stream_in's read contract. */
int vmm_mig_conn_read(struct vmm_mig_conn *c, void *p, size_t n, int timeout_ms);
/* hv_stream_out / hv_stream_in callbacks with VMM_MIG_TIMEOUT_MS. */
int vmm_mig_conn_write_cb(void *conn, const void *p, size_t n);
int vmm_mig_conn_read_cb(void *conn, void *p, size_t n);
/* One handover record; FAIL carries err and msg. */
int vmm_mig_send_rec(struct vmm_mig_conn *c, uint32_t type, int32_t err, const char *msg);
/* Waits up to timeout_ms for one handover record: its type, and for FAIL
 * the peer's errno and message. 0 or -errno (-EBADMSG: not a handover
 * record, or a malformed one). */
int vmm_mig_recv_rec(struct vmm_mig_conn *c, uint32_t *type, int32_t *err, char *msg, size_t msgcap,
		     int timeout_ms);

/* vmm_mig_send.c: starts migrating the domain over fd (taken) with the
 * request's key and limits. 0 once the job runs, or -errno with err set
 * (fd closed). */
int vmm_mig_start(struct vmm *vmm, const struct vmm_ctl_migrate *req, const char *peer, int fd,
		  char *err, size_t errlen);
/* Main thread: stops a running migration before COMMIT: -ENOENT if none
 * runs, -EBUSY once COMMIT went out. */
int vmm_mig_cancel(struct vmm *vmm);

/* vmm_mig_recv.c: `vmm --incoming`. setup: key, TLS 2, HEADER, the VM
 * (RAM populated in the background), before the control socket and the
 * seccomp filter; start: hands the rest of the stream to the I/O thread.
 * On error the peer gets FAIL and the caller exits 2. */
int vmm_incoming_setup(struct vmm *vmm, int fd, int key_fd, char *err, size_t errlen);
int vmm_incoming_start(struct vmm *vmm, char *err, size_t errlen);
/* The failure of a setup that got as far as TLS: FAIL to the peer. */
void vmm_incoming_fail(struct vmm *vmm, int rc, const char *err);

#endif
