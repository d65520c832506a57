/*
 * The vmm's system-call allowlist, applied to every thread once the VM,
 * guest RAM, vCPU threads, console, control socket and OpenSSL exist.
 * From then on the vmm only runs vCPUs, serves hypercalls and its control
 * socket, and writes save files; it cannot exec, open sockets, ptrace or
 * change credentials even if a guest found a bug in it. Arguments are
 * checked where the call itself is too broad: ioctl only with the KVM
 * requests a running domain makes, openat only with the flags of a save's
 * temporary file (a new file, never through a symlink). A call outside the
 * list fails with EPERM (rather than killing the domain over a libc detail);
 * a call from another ABI (x32, i386) kills the process.
 *
 * Sanitizer builds skip the filter: LeakSanitizer ptraces the process at
 * exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm.h"
#include "vmm_mig.h"

#if defined(__SANITIZE_ADDRESS__)
#define VMM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMM_SANITIZED 1
#endif
#endif
#ifndef VMM_SANITIZED
#define VMM_SANITIZED 0
#endif

#define VMM_ALLOW(nr)                                                                              \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                           \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define VMM_DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
/* The low 32 bits of argument n (x86-64 is little-endian). ioctl's request
 * and openat's flags are ints to the kernel: the high half is ignored. */
#define VMM_LD_ARG(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define VMM_LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

/*
 * Checked against strace of integration tests 10-18 (every call a vmm made
 * after the filter landed): boot, console, save/restore, crash, idle,
 * hostile hypercalls and control clients, a console nobody reads; and of
 * 19_save_progress (a save on the I/O thread, status during it, cancel).
 */
static const struct sock_filter vmm_seccomp_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    VMM_LD_NR,
    /* kicks: pause/stop signal each vCPU thread (hv_vcpu_kick) */
    VMM_ALLOW(__NR_tgkill),
    VMM_ALLOW(__NR_gettid),
    VMM_ALLOW(__NR_getpid),
    /* I/O on fds opened before the filter: console (stdout, log, stdin),
     * eventfds, signalfd, the stream of a save, control socket clients */
    VMM_ALLOW(__NR_read),
    VMM_ALLOW(__NR_write),
    VMM_ALLOW(__NR_writev),
    VMM_ALLOW(__NR_close),
    VMM_ALLOW(__NR_lseek),
    VMM_ALLOW(__NR_fstat),
    VMM_ALLOW(__NR_newfstatat),
    VMM_ALLOW(__NR_ppoll),
    VMM_ALLOW(__NR_poll),
    VMM_ALLOW(__NR_accept4),
    VMM_ALLOW(__NR_recvfrom),
    VMM_ALLOW(__NR_sendto),
    VMM_ALLOW(__NR_getsockopt), /* SO_PEERCRED of a control client */
    /* migration: the request's socket comes as SCM_RIGHTS (ctl_recv_fds) */
    VMM_ALLOW(__NR_recvmsg),
    VMM_ALLOW(__NR_shutdown),
    /* the I/O thread's loop (vmm_io.c): waits on its epoll set (the wake
     * eventfd; fds are added before the filter, so no epoll_ctl). glibc's
     * epoll_wait may enter the kernel as either call. */
    VMM_ALLOW(__NR_epoll_wait),
    VMM_ALLOW(__NR_epoll_pwait),
    /* save on the I/O thread: start write-back of each step's output so
     * the final fsync is short (a cancel waits at most one step) */
    VMM_ALLOW(__NR_sync_file_range),
    /* save (vmm_save.c): fsync the temporary file, rename it into place */
    VMM_ALLOW(__NR_fsync),
    VMM_ALLOW(__NR_fdatasync),
    VMM_ALLOW(__NR_rename),
    /* unlink: a failed save's temporary file; the control socket at exit */
    VMM_ALLOW(__NR_unlink),
    /* memory: malloc, RAM population, thread exit; teardown */
    VMM_ALLOW(__NR_mmap),
    VMM_ALLOW(__NR_munmap),
    VMM_ALLOW(__NR_mremap),
    VMM_ALLOW(__NR_mprotect),
    VMM_ALLOW(__NR_brk),
    VMM_ALLOW(__NR_madvise),
    /* threads, signals, time; a thread made just before the filter may
     * still be registering itself (rseq, robust list) when it lands */
    VMM_ALLOW(__NR_rseq),
    VMM_ALLOW(__NR_set_robust_list),
    VMM_ALLOW(__NR_futex),
    VMM_ALLOW(__NR_rt_sigprocmask),
    VMM_ALLOW(__NR_rt_sigreturn),
    VMM_ALLOW(__NR_restart_syscall),
    VMM_ALLOW(__NR_sched_yield),
    VMM_ALLOW(__NR_clock_gettime),
    VMM_ALLOW(__NR_clock_nanosleep),
    VMM_ALLOW(__NR_nanosleep),
    VMM_ALLOW(__NR_getrusage), /* status: cpu_time_s */
    VMM_ALLOW(__NR_getrandom), /* save: the temporary file's name */
    VMM_ALLOW(__NR_exit),
    VMM_ALLOW(__NR_exit_group),
    /* migration: the TCP socket made non-blocking (fcntl F_GETFL /
     * F_SETFL); TCP_NODELAY for the handover's small records and a bounded
     * SO_SNDBUF (vmm_mig_tls.c), nothing else */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, 0, 5),
    VMM_LD_ARG(1),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_GETFL, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFL, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    VMM_DENY,
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 0, 9),
    VMM_LD_ARG(1),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 2),
    VMM_LD_ARG(2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TCP_NODELAY, 3, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_SOCKET, 0, 3),
    VMM_LD_ARG(2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SO_SNDBUF, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    VMM_DENY,
    /* openat: only the save's temporary file, a new file that is never a
     * symlink (VMM_SAVE_OPEN_FLAGS); nothing can be opened for reading or
     * opened existing, truncated or appended to. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 4),
    VMM_LD_ARG(2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, VMM_SAVE_OPEN_FLAGS, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    VMM_DENY,
    /* Anything but ioctl is refused from here on. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 1, 0),
    VMM_DENY,
    /* ioctl: the KVM requests a running domain makes, no other (no tty or
     * socket ioctls were seen; boot and restore make their KVM_SET_* calls
     * before the filter; migration's are listed below). */
    VMM_LD_ARG(1),
    /* migration: how much the destination has not acknowledged yet, so
     * the source stops its guest only once the peer caught up */
    VMM_ALLOW(SIOCOUTQ),
    VMM_ALLOW(KVM_RUN), /* vCPU loop; also settle with immediate_exit */
    /* save (hv_vcpu_state_get) of parked vCPUs */
    VMM_ALLOW(KVM_CHECK_EXTENSION), /* KVM_CAP_XSAVE */
    VMM_ALLOW(KVM_GET_MSR_INDEX_LIST),
    VMM_ALLOW(KVM_GET_MSRS),
    VMM_ALLOW(KVM_GET_REGS),  /* also the crash report */
    VMM_ALLOW(KVM_GET_SREGS), /* also the crash report */
    VMM_ALLOW(KVM_GET_XSAVE),
    VMM_ALLOW(KVM_GET_XCRS),
    VMM_ALLOW(KVM_GET_FPU), /* instead of XSAVE where KVM lacks it */
    VMM_ALLOW(KVM_GET_VCPU_EVENTS),
    VMM_ALLOW(KVM_GET_DEBUGREGS),
    VMM_ALLOW(KVM_GET_MP_STATE),
    /* live migration's source: the dirty log on and off (the RAM slot
     * re-registered with KVM_MEM_LOG_DIRTY_PAGES), read and cleared */
    VMM_ALLOW(KVM_SET_USER_MEMORY_REGION),
    VMM_ALLOW(KVM_GET_DIRTY_LOG),
    VMM_ALLOW(KVM_CLEAR_DIRTY_LOG),
    /* the guest TSC as the clock record and its rebase read it */
    VMM_ALLOW(KVM_HAS_DEVICE_ATTR),
    VMM_ALLOW(KVM_GET_DEVICE_ATTR),
    /* live migration's destination (`vmm --incoming`, filtered once the
     * VM exists, before any byte of guest state is parsed) sets its parked
     * vCPUs from the VCPU records at END: the state of its own vCPUs,
     * which a running domain's guest code can change anyway */
    VMM_ALLOW(KVM_SET_DEVICE_ATTR),
    VMM_ALLOW(KVM_SET_MSRS),
    VMM_ALLOW(KVM_SET_REGS),
    VMM_ALLOW(KVM_SET_SREGS),
    VMM_ALLOW(KVM_SET_XSAVE),
    VMM_ALLOW(KVM_SET_XCRS),
    VMM_ALLOW(KVM_SET_FPU),
    VMM_ALLOW(KVM_SET_VCPU_EVENTS),
    VMM_ALLOW(KVM_SET_DEBUGREGS),
    VMM_ALLOW(KVM_SET_MP_STATE),
    VMM_DENY,
};

int vmm_seccomp_apply(void)
{
	struct sock_fprog prog = {
	    .len = sizeof(vmm_seccomp_filter) / sizeof(vmm_seccomp_filter[0]),
	    .filter = (struct sock_filter *)vmm_seccomp_filter,
	};
	unsigned char md[EVP_MAX_MD_SIZE];

	if (VMM_SANITIZED)
		return 0;
	/* OpenSSL reads its configuration and loads providers on first use:
	 * do that now, while files may still be opened freely. */
	if (!EVP_Digest("", 0, md, NULL, EVP_sha256(), NULL))
		return -EIO;
	/* TLS 2's algorithms likewise (vmm_mig_tls_init made the contexts):
	 * fetch them now by one throw-away use of each */
	if (vmm_mig_tls_warm() < 0)
		return -EIO;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		return -errno;
	return 0;
}
