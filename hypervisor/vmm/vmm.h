/*
 * The vmm process: one domain. Main thread = control socket, signals and
 * lifecycle; one thread per vCPU runs KVM_RUN and the hypercalls.
 * Shared state is under `lock`; vCPU threads park on `cond` while paused.
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

enum vmm_state { VMM_RUNNING, VMM_PAUSED, VMM_CRASHED, VMM_HALTED };

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

	int event_fd; /* vCPU threads -> main loop: state changed */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vmm_state state;
	int pause_req;
	int stop_req;
	unsigned parked;
	unsigned threads_live;
	int64_t halt_status;
	char crash[4096]; /* reason + registers, as printed */
	struct timespec started;
	pthread_t threads[HV_VCPU_MAX];
	int nthreads;
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

/* vmm_status.c: the JSON status document. Returns length or -ENOSPC. */
int vmm_status_json(struct vmm *vmm, char *buf, size_t cap);
const char *vmm_state_name(enum vmm_state st);

/* vmm_save.c: writes the stream of the paused domain to path, through a
 * temporary file created with VMM_SAVE_OPEN_FLAGS (the only open the
 * seccomp filter lets through). err gets the reason. */
#define VMM_SAVE_OPEN_FLAGS (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)
int vmm_save(struct vmm *vmm, const char *path, char *err, size_t errlen);
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
struct vmm_ctl *vmm_ctl_new(struct vmm *vmm, const char *path);
void vmm_ctl_free(struct vmm_ctl *ctl);
/* Adds the listener and clients to pfds (at most cap); returns count. */
int vmm_ctl_fds(struct vmm_ctl *ctl, struct pollfd *pfds, int cap);
/* Handles poll results for the fds vmm_ctl_fds() returned (all zero after
 * a poll timeout: then only idle clients are closed). Returns 1 if the
 * domain must end (destroy, or a save without -p). */
int vmm_ctl_handle(struct vmm_ctl *ctl, struct pollfd *pfds, int n);
/* The poll timeout until the next idle client is due to be closed, -1 for
 * none. */
int vmm_ctl_timeout_ms(const struct vmm_ctl *ctl);

#endif
