/*
 * The vmm's system-call allowlist, applied to every thread once the VM,
 * guest RAM, vCPU threads, console, control socket and OpenSSL exist.
 * From then on the vmm only runs vCPUs, serves hypercalls and its control
 * socket, and writes save files; it cannot exec, open sockets, ptrace or
 * change credentials even if a guest found a bug in it. A call outside the
 * list fails with EPERM (rather than killing the domain over a libc detail);
 * a call from another ABI (x32, i386) kills the process.
 *
 * Sanitizer builds skip the filter: LeakSanitizer ptraces the process at
 * exit.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm.h"

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

static const struct sock_filter vmm_seccomp_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    /* vCPUs: KVM_RUN and the state ioctls; kicks */
    VMM_ALLOW(__NR_ioctl),
    VMM_ALLOW(__NR_tgkill),
    VMM_ALLOW(__NR_gettid),
    VMM_ALLOW(__NR_getpid),
    /* console, eventfds, signalfd, save files, control socket I/O */
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
    VMM_ALLOW(__NR_getsockopt),
    VMM_ALLOW(__NR_shutdown),
    /* save: <file>.part, fsync, rename into place, unlink on failure */
    VMM_ALLOW(__NR_openat),
    VMM_ALLOW(__NR_fsync),
    VMM_ALLOW(__NR_fdatasync),
    VMM_ALLOW(__NR_rename),
    VMM_ALLOW(__NR_renameat),
    VMM_ALLOW(__NR_renameat2),
    VMM_ALLOW(__NR_unlink),
    VMM_ALLOW(__NR_unlinkat),
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
    VMM_ALLOW(__NR_getrusage),
    VMM_ALLOW(__NR_getrandom),
    VMM_ALLOW(__NR_exit),
    VMM_ALLOW(__NR_exit_group),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		return -errno;
	return 0;
}
