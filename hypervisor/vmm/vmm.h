/*
 * The vmm process: one domain. Main thread = control socket, signals and
 * lifecycle; one thread per vCPU runs KVM_RUN and the hypercalls; the I/O
 * thread (vmm_io.c) runs long operations (a save now, migration next) in
 * bounded steps. Shared state is under `lock`; vCPU threads park on `cond`
 * while paused; the I/O thread reports through `op` and `event_fd`.
 */
#ifndef VMM_H
#define VMM_H

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "hv_clock.h"
#include "hv_dev.h"
#include "hv_domcfg.h"
#include "hv_vm.h"
#include "vmm_ctl.h"

/* INCOMING: a `vmm --incoming` receiving its domain; RUNNING after COMMIT. */
enum vmm_state { VMM_RUNNING, VMM_PAUSED, VMM_CRASHED, VMM_HALTED, VMM_INCOMING };

/* Process exit codes (documented in --help). */
#define VMM_EXIT_OK 0
#define VMM_EXIT_GUEST_FAIL 1
#define VMM_EXIT_ERROR 2
#define VMM_EXIT_CRASH 3

struct vmm {
	struct hv_domcfg cfg;
	struct hv_vm *vm;
	struct tern_clock_page *clock; /* inside guest RAM */
	struct hv_clock_dev clock_dev; /* the clock as a stream device */
	int64_t tsc_offset;	       /* guest TSC - host TSC */
	uint32_t tsc_khz;

	int console_log_fd;
	int console_in_fd;		       /* -1: no console input */
	struct vmm_sink *con_stdout, *con_log; /* vmm_console.c: output rings */
	uint64_t bytes_out, bytes_in;

	int event_fd;	   /* vCPU and I/O threads -> main loop: state changed */
	struct vmm_io *io; /* the I/O thread, NULL until started */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vmm_state state;
	int pause_req;
	int stop_req;
	unsigned parked;
	unsigned threads_live;
	int64_t halt_status;
	char crash[4096];  /* reason + registers, as printed */
	struct vmm_op *op; /* the long operation running, or NULL (vmm_op.c) */
	struct timespec started;
	pthread_t threads[HV_VCPU_MAX];
	int nthreads;

	int32_t domid;		 /* --domid, or -1: the status shows the pid */
	int exit_code;		 /* set by an operation that ends the vmm (-1: none) */
	int stopping;		 /* atomic: the vmm is ending; migration waits give up */
	struct vmm_incoming *in; /* `vmm --incoming` until it runs (vmm_mig_recv.c) */
};

/* vmm_vcpu.c */
int vmm_vcpu_start(struct vmm *vmm);
/* Kicks every vCPU and waits until all are parked. 0 or -ETIMEDOUT. */
int vmm_vcpu_pause(struct vmm *vmm);
void vmm_vcpu_unpause(struct vmm *vmm);
/* Stops and joins all vCPU threads. Safe to call twice. */
void vmm_vcpu_stop(struct vmm *vmm);
/* Guest monotonic time now, from the clock page. */
uint64_t vmm_guest_mono(struct vmm *vmm);
enum vmm_state vmm_state_get(struct vmm *vmm);
/* Marks the domain halted/crashed and wakes the main loop. */
void vmm_set_state(struct vmm *vmm, enum vmm_state st);

/* vmm_hcall.c: returns 0 to continue, 1 if the vCPU must stop. */
int vmm_hcall(struct vmm *vmm, struct hv_vcpu *vcpu, uint16_t port, uint32_t arg);

/* vmm_console.c: output is queued, never written by the caller (see there) */
void vmm_console_out(struct vmm *vmm, const void *p, size_t n);
/* Bytes dropped so far because stdout / the log did not keep up. */
void vmm_console_dropped(struct vmm *vmm, uint64_t *out, uint64_t *logged);
/* Reads up to n pending bytes without blocking; 0 if none. */
size_t vmm_console_in(struct vmm *vmm, void *p, size_t n);
int vmm_console_init(struct vmm *vmm, const char *log_path);
/* The console as a stream device (ctx: the vmm): its byte counters. */
#define VMM_CONSOLE_DEV_KIND 2u
struct vmm_console_state {
	uint64_t bytes_out;
	uint64_t bytes_in;
};
extern const struct hv_dev_ops vmm_console_dev_ops;
void vmm_console_fini(struct vmm *vmm);

/* vmm_crash.c: reports a crash of `vcpu` with `reason`; returns 1. */
int vmm_crash(struct vmm *vmm, struct hv_vcpu *vcpu, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* vmm_status.c: the status record of CTL_VMM_STATUS, with the progress of
 * the running operation. */
void vmm_status_get(struct vmm *vmm, struct vmm_status *st);
const char *vmm_state_name(enum vmm_state st);

/*
 * vmm_io.c: the I/O thread, a small epoll loop woken by an eventfd. It
 * runs at most one job (a long operation) in steps, polling its fds
 * between steps, so a step bounds how long a cancel or a new fd waits.
 */
struct vmm_io_job {
	/* One bounded step; 1 when the job is finished, else 0. */
	int (*step)(struct vmm_io_job *job);
	/* After the finishing step, once the thread has let go of the job (a
	 * new one may be submitted): report the end. May free the job. */
	void (*done)(struct vmm_io_job *job);
	/* The loop stops with the job unfinished: undo it (temporary files). */
	void (*abort)(struct vmm_io_job *job);
};
struct vmm_io;
/* Starts the thread (before the seccomp filter). NULL with errno set. */
struct vmm_io *vmm_io_new(void);
/* Hands a job to the thread; -EBUSY while another runs. The job belongs to
 * the thread until its done or its abort ran; by the time done reports
 * the end, the next job can be submitted. */
int vmm_io_submit(struct vmm_io *io, struct vmm_io_job *job);
/* Stops the thread (an unfinished job is aborted) and frees; NULL is ok. */
void vmm_io_free(struct vmm_io *io);

/*
 * vmm_op.c: the running long operation as the control server sees it.
 * The I/O thread updates progress and finishes it; the main thread reads
 * it (vmm_op_take), cancels it, and frees it once finished.
 */
#define VMM_OP_ERR_MAX (CTL_VMM_PATH_MAX + 512)
struct vmm_op {
	struct vmm_ctl_progress prog;
	struct vmm_ctl_mig_progress mig; /* a migration's own progress */
	struct vmm_mig_result res;	 /* a migration's result, once finished */
	int committed;			 /* COMMIT went out: no cancel any more */
	uint64_t seq;			 /* bumped on every progress update */
	int cancel;			 /* main -> I/O thread */
	int finished;			 /* I/O thread -> main: rc and err are set */
	int rc;				 /* 0, -ECANCELED or -errno */
	char err[VMM_OP_ERR_MAX];	 /* why it failed */
	struct timespec t0;		 /* started */
};
struct vmm_op_report {
	struct vmm_ctl_progress prog;
	struct vmm_ctl_mig_progress mig;
	struct vmm_mig_result res;
	uint64_t seq;
	int finished, rc;
	char err[VMM_OP_ERR_MAX];
};
/* Installs a new operation of `kind`; -EBUSY while one runs. */
int vmm_op_begin(struct vmm *vmm, uint32_t kind, uint64_t bytes_total);
/* I/O thread: progress so far; wakes the main loop. Returns 1 if a cancel
 * was asked for (the job then stops and finishes with -ECANCELED). */
int vmm_op_progress(struct vmm *vmm, uint32_t phase, uint64_t done, uint64_t written);
/* I/O thread: the end; wakes the main loop. */
void vmm_op_finish(struct vmm *vmm, int rc, const char *err);
/* Main thread: copies the operation's state into r. Returns 1 when it
 * finished (it is then freed: a new one may begin), 0 while it runs, -ENOENT
 * when none runs. */
int vmm_op_take(struct vmm *vmm, struct vmm_op_report *r);
/* I/O thread, migration: progress (also mirrored into the status's
 * op); returns 1 if a cancel was asked for and COMMIT has not gone out. */
int vmm_op_mig_progress(struct vmm *vmm, const struct vmm_ctl_mig_progress *mp);
/* I/O thread: COMMIT is about to go out; from now on a cancel is refused.
 * Returns 1 if a cancel came first (then nothing is committed). */
int vmm_op_commit(struct vmm *vmm);
/* I/O thread: a migration's end with its result (rc = res->rec.err). */
void vmm_op_mig_finish(struct vmm *vmm, const struct vmm_mig_result *res);
/* Main thread: asks the running operation to stop; -ENOENT if none,
 * -EBUSY after a migration's COMMIT. */
int vmm_op_cancel(struct vmm *vmm);
/* Progress of the running operation for status (zeros if none). */
void vmm_op_get(struct vmm *vmm, struct vmm_ctl_progress *prog);

/* vmm_save.c: starts writing the stream of the paused domain to path on
 * the I/O thread, through a temporary file created here with
 * VMM_SAVE_OPEN_FLAGS (the only open the seccomp filter lets through); the
 * operation (vmm_op) reports progress and the result. 0 once started, or
 * -errno with err set (nothing started, no file left). */
#define VMM_SAVE_OPEN_FLAGS (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)
int vmm_save_start(struct vmm *vmm, const char *path, char *err, size_t errlen);
/* vmm_restore.c: builds vmm->vm from a saved stream; nothing runs yet. */
int vmm_restore(struct vmm *vmm, const char *path, char **overrides, int noverrides, char *err,
		size_t errlen);
/* vmm_boot.c: builds vmm->vm from vmm->cfg and its kernel image. */
int vmm_boot(struct vmm *vmm, char *err, size_t errlen);
/* VM, RAM and vCPUs for a restore (no image). */
int vmm_boot_restored(struct vmm *vmm, char *err, size_t errlen);
/* Rebases the clock page on this VM's TSC: guest monotonic time continues
 * from mono_ns, wall time is now, `resumes` is incremented. */
void vmm_boot_resume_clock(struct vmm *vmm, uint64_t mono_ns);

/* vmm_dev.c: the devices whose state travels in the stream, in save order,
 * with their instances in this vmm. Returns the count (<= VMM_DEV_MAX). */
#define VMM_DEV_MAX 8
unsigned vmm_dev_table(struct vmm *vmm, struct hv_stream_dev devs[VMM_DEV_MAX]);

/* vmm_seccomp.c: the system-call allowlist, on all threads. 0 or -errno. */
int vmm_seccomp_apply(void);

/* vmm_ctl.c */
struct vmm_ctl;
struct pollfd;
/* path NULL: no socket, only the ends of operations are handled. */
struct vmm_ctl *vmm_ctl_new(struct vmm *vmm, const char *path);
void vmm_ctl_free(struct vmm_ctl *ctl);
/* Adds the listener and clients to pfds (at most cap); returns count. */
int vmm_ctl_fds(struct vmm_ctl *ctl, struct pollfd *pfds, int cap);
/* Handles poll results for the fds vmm_ctl_fds() returned (all zero after
 * a poll timeout: then only idle clients are closed), and the running
 * operation's progress and end (vmm_op_take: progress records and the
 * final reply to the client that asked). Returns 1 if the domain must end
 * (destroy, or a save without -p that completed). */
int vmm_ctl_handle(struct vmm_ctl *ctl, struct pollfd *pfds, int n);
/* The operation of type (CTL_VMM_INCOMING) runs already: report its end. */
void vmm_ctl_adopt(struct vmm_ctl *ctl, uint16_t type);
/* The poll timeout until the next idle client is due to be closed, -1 for
 * none. */
int vmm_ctl_timeout_ms(const struct vmm_ctl *ctl);

#endif
