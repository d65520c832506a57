/* Inside the source's migration job (vmm_mig_send.c, vmm_mig_stop.c). */
#ifndef VMM_MIG_INT_H
#define VMM_MIG_INT_H

#include <stdarg.h>

#include "hv_pgdig.h"
#include "hv_stream.h"
#include "vmm_mig.h"

enum vmm_mig_step { VMM_MIG_STEP_CONNECT, VMM_MIG_STEP_ROUND, VMM_MIG_STEP_STOP };

/* Where the downtime goes, in microseconds (logged, and in the README). */
struct vmm_mig_split {
	uint64_t pause, sync, pages, state, ready, running;
	uint64_t last_pages; /* entries sent while stopped */
};

struct vmm_mig_job {
	struct vmm_io_job job;
	struct vmm *vmm;
	struct vmm_ctl_migrate req;
	char peer[VMM_CTL_MIG_PEER_MAX + 1];
	int fd; /* until vmm_mig_conn_open takes it */
	struct vmm_mig_conn conn;
	struct hv_stream_out out;
	struct hv_stream_live_stage stage;
	struct hv_pgdig_tab dig; /* of the bytes sent */
	uint64_t *bitmap;	 /* the round's pages */
	uint64_t *fresh;	 /* the last dirty-log read, merged into bitmap */
	size_t words;
	enum vmm_mig_step step;
	int was_paused, logging, stopped, committed, cancel, held;
	uint64_t cursor; /* next pfn of the round */
	uint32_t round;
	uint64_t round_pages, round_done, round_bytes0, round_t0;
	uint64_t pages; /* PAGES entries, all rounds */
	uint64_t t0;
	uint64_t cpu0;			 /* the I/O thread's CPU time at the first step, ns */
	uint64_t dirty_rate, throughput; /* bytes/s, of the last round */
	uint32_t throttle;
	struct vmm_mig_split split;
	struct vmm_mig_result res;
	char err[512]; /* the first failure */
};

uint64_t vmm_mig_now_ns(void);
/* CPU time of the calling thread, ns: the cost of the stream per byte,
 * whatever else the machine runs. */
uint64_t vmm_mig_thread_cpu_ns(void);
/* Records the first failure's message; returns rc. */
int vmm_mig_fail(struct vmm_mig_job *m, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vmm_mig_report(struct vmm_mig_job *m, uint32_t phase);
int vmm_mig_send_marked(struct vmm_mig_job *m, int skip_zero, uint64_t deadline_ns);
/* vmm_mig_stop.c: stop-and-copy and the handover. 0 once RUNNING came. */
int vmm_mig_stop_copy(struct vmm_mig_job *m);
/* The result's message for rc (and the outcome set in res). */
void vmm_mig_result_msg(struct vmm_mig_job *m, int rc);

#endif
