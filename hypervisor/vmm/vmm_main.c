/*
 * vmm: runs one domain. See `vmm --help` and README.md.
 *
 * Start-up order: options, config (or saved stream), VM and guest image,
 * console, control socket, vCPU threads, the I/O thread, the seccomp
 * filter; then the main thread serves the control socket and signals until
 * the domain halts, crashes, is saved or destroyed.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hv_elf.h"
#include "hv_vcpu.h"
#include "log.h"
#include "vmm.h"
#include "vmm_mig.h"

struct vmm_opts {
	const char *config;
	const char *console_log;
	const char *control;
	const char *restore;
	int incoming_fd; /* --incoming FD, or -1 */
	int key_fd;	 /* --key-fd KFD, or -1 */
	int32_t domid;	 /* --domid N, or -1 */
	int check;	 /* -n: check config and image, run nothing */
	enum log_level level;
	char **overrides;
	int noverrides;
	struct vmm_net_opts net;
};

static void vmm_usage(FILE *f)
{
	fprintf(f, "usage: vmm --config FILE [options] [key=value ...]\n"
		   "       vmm --restore FILE [options] [key=value ...]\n"
		   "       vmm --incoming FD --key-fd KFD [options]\n"
		   "Runs one Tern domain under KVM.\n"
		   "\n"
		   "  --config FILE       domain config (xl format: name, kernel, memory, vcpus,\n"
		   "                      vif, extra, on_crash)\n"
		   "  --restore FILE      resume a domain saved with `vmmctl save`\n"
		   "  --incoming FD       receive a live migration on the connected TCP socket FD\n"
		   "                      (TLS 2, docs/migration.md); started by migrated\n"
		   "  --key-fd KFD        the 32-byte TLS 2 key, read from KFD (a pipe)\n"
		   "  --domid N           the domain id the status shows (default: the pid)\n"
		   "  --console-log FILE  append the guest console to FILE too\n"
		   "  --control SOCKET    control socket (vmmctl -s SOCKET ...)\n"
		   "  --tap NAME          connect the next vif to the existing TAP NAME\n"
		   "  --tap-fd N          connect the next vif to the open TAP fd N\n"
		   "  --log-level L       error|warn|info|debug (default info)\n"
		   "  -n, --check         check the config and the kernel image, run nothing\n"
		   "  key=value           override a config key (e.g. memory=512 'extra=ws=64')\n"
		   "  -h, --help          this text\n"
		   "\n"
		   "The guest console goes to stdout; console input comes from stdin unless\n"
		   "it is /dev/null.\n"
		   "Exit status: 0 halted with status 0, destroyed, saved or migrated away; 1\n"
		   "halted with a non-zero status; 2 bad usage, config, image or saved file, or\n"
		   "an incoming migration that failed; 3 crashed.\n");
}

/* --incoming FD, --key-fd KFD, --domid N: non-negative integers. */
static int vmm_parse_int(int c, const char *arg, struct vmm_opts *o)
{
	const char *name = c == 'i' ? "--incoming" : c == 'k' ? "--key-fd" : "--domid";
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < 0 || v > INT32_MAX) {
		fprintf(stderr, "vmm: %s: '%s' is not a non-negative integer\n", name, arg);
		return -EINVAL;
	}
	if (c == 'i')
		o->incoming_fd = (int)v;
	else if (c == 'k')
		o->key_fd = (int)v;
	else
		o->domid = (int32_t)v;
	return 0;
}

static int vmm_parse_opts(int argc, char **argv, struct vmm_opts *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"console-log", required_argument, NULL, 'l'},
	    {"control", required_argument, NULL, 's'},
	    {"restore", required_argument, NULL, 'r'},
	    {"incoming", required_argument, NULL, 'i'},
	    {"key-fd", required_argument, NULL, 'k'},
	    {"domid", required_argument, NULL, 'd'},
	    {"log-level", required_argument, NULL, 'L'},
	    {"check", no_argument, NULL, 'n'},
	    {"tap", required_argument, NULL, 'T'},
	    {"tap-fd", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->level = LOG_LVL_INFO;
	o->incoming_fd = o->key_fd = o->domid = -1;
	while ((c = getopt_long(argc, argv, "hn", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'l':
			o->console_log = optarg;
			break;
		case 's':
			o->control = optarg;
			break;
		case 'r':
			o->restore = optarg;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'i':
		case 'k':
		case 'd':
			if (vmm_parse_int(c, optarg, o) < 0)
				return -EINVAL;
			break;
		case 'T':
		case 'F':
			if (vmm_net_opt(&o->net, c == 'T' ? "--tap" : "--tap-fd", optarg) < 0)
				return -EINVAL;
			break;
		case 'L':
			if (log_level_parse(optarg, &o->level) < 0) {
				fprintf(stderr, "vmm: --log-level: unknown level '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			vmm_usage(stdout);
			exit(0);
		default:
			vmm_usage(stderr);
			return -EINVAL;
		}
	}
	if (!!o->config + !!o->restore + (o->incoming_fd >= 0) != 1) {
		fprintf(stderr, "vmm: give exactly one of --config, --restore and --incoming (see "
				"--help)\n");
		return -EINVAL;
	}
	if ((o->incoming_fd >= 0) != (o->key_fd >= 0)) {
		fprintf(stderr, "vmm: --incoming and --key-fd go together\n");
		return -EINVAL;
	}
	o->overrides = argv + optind;
	o->noverrides = argc - optind;
	return 0;
}

static int vmm_load_config(struct vmm *vmm, const struct vmm_opts *o, char *err, size_t errlen)
{
	int rc;

	hv_domcfg_init(&vmm->cfg);
	if ((rc = hv_domcfg_parse_file(&vmm->cfg, o->config, err, errlen)) < 0)
		return rc;
	for (int i = 0; i < o->noverrides; i++)
		if ((rc = hv_domcfg_override(&vmm->cfg, o->overrides[i], err, errlen)) < 0)
			return rc;
	if ((rc = hv_domcfg_check(&vmm->cfg, o->config, err, errlen)) < 0)
		return rc;
	if ((rc = hv_domcfg_fill_macs(&vmm->cfg)) < 0)
		snprintf(err, errlen, "random MAC: %s", strerror(-rc));
	return rc;
}

/* -n: the config parses and the image would load into its RAM. */
static int vmm_check(struct vmm *vmm, const struct vmm_opts *o)
{
	struct hv_elf_image img;
	char err[1024], why[512];

	if (!o->config) {
		fprintf(stderr, "vmm: --check needs --config\n");
		return VMM_EXIT_ERROR;
	}
	if (vmm_load_config(vmm, o, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmm: %s\n", err);
		return VMM_EXIT_ERROR;
	}
	if (hv_elf_check_file(vmm->cfg.kernel, (uint64_t)vmm->cfg.memory_mib << 20, &img, why,
			      sizeof(why)) < 0) {
		fprintf(stderr, "vmm: kernel %s: %s\n", vmm->cfg.kernel, why);
		return VMM_EXIT_ERROR;
	}
	printf("%s: configuration OK (domain %s, %u MiB, entry 0x%llx)\n", o->config, vmm->cfg.name,
	       vmm->cfg.memory_mib, (unsigned long long)img.entry);
	return VMM_EXIT_OK;
}

static int vmm_signalfd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Exit status for a domain that left the running states. */
static int vmm_end_code(struct vmm *vmm)
{
	enum vmm_state st = vmm_state_get(vmm);

	if (st == VMM_CRASHED)
		return VMM_EXIT_CRASH;
	if (st == VMM_HALTED)
		return vmm->halt_status == 0 ? VMM_EXIT_OK : VMM_EXIT_GUEST_FAIL;
	return VMM_EXIT_OK;
}

static int vmm_loop(struct vmm *vmm, struct vmm_ctl *ctl, int sfd)
{
	struct pollfd pfds[16];

	for (;;) {
		pfds[0] = (struct pollfd){sfd, POLLIN, 0};
		pfds[1] = (struct pollfd){vmm->event_fd, POLLIN, 0};
		int n = 2 + vmm_ctl_fds(ctl, pfds + 2, 14);
		if (poll(pfds, (nfds_t)n, vmm_ctl_timeout_ms(ctl)) < 0) {
			if (errno == EINTR)
				continue;
			return VMM_EXIT_ERROR;
		}
		if (pfds[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				fprintf(stderr, "domain %s: destroyed (signal %u)\n", vmm->cfg.name,
					si.ssi_signo);
				return VMM_EXIT_OK;
			}
		}
		if (pfds[1].revents) {
			uint64_t v;
			if (read(vmm->event_fd, &v, sizeof(v)) < 0)
				log_debug("event_fd: %s", strerror(errno));
			enum vmm_state st = vmm_state_get(vmm);
			if (st == VMM_HALTED ||
			    (st == VMM_CRASHED && vmm->cfg.on_crash == HV_ON_CRASH_DESTROY))
				return vmm_end_code(vmm);
		}
		if (vmm_ctl_handle(ctl, pfds + 2, n - 2)) {
			if (vmm->exit_code >= 0)
				return vmm->exit_code;
			return vmm_state_get(vmm) == VMM_CRASHED ? VMM_EXIT_CRASH : VMM_EXIT_OK;
		}
	}
}

static int vmm_setup(struct vmm *vmm, const struct vmm_opts *o, char *err, size_t errlen)
{
	int rc;

	if (o->incoming_fd >= 0)
		rc = vmm_incoming_setup(vmm, o->incoming_fd, o->key_fd, err, errlen);
	else if (o->restore)
		rc = vmm_restore(vmm, o->restore, o->overrides, o->noverrides, err, errlen);
	else if ((rc = vmm_load_config(vmm, o, err, errlen)) == 0)
		rc = vmm_boot(vmm, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = vmm_console_init(vmm, o->console_log)) < 0) {
		snprintf(err, errlen, "console log %s: %s", o->console_log, strerror(-rc));
		return rc;
	}
	return vmm_net_setup(
	    vmm, &o->net, o->incoming_fd >= 0 ? VMM_NET_INCOMING : o->restore != NULL, err, errlen);
}

int main(int argc, char **argv)
{
	static struct vmm vmm;
	struct vmm_ctl *ctl = NULL;
	struct vmm_opts o;
	char err[1024] = "";
	int sfd, rc, code = VMM_EXIT_ERROR;

	if (vmm_parse_opts(argc, argv, &o) < 0)
		return VMM_EXIT_ERROR;
	log_init("vmm", o.level, 0);
	if (o.check)
		return vmm_check(&vmm, &o);
	pthread_mutex_init(&vmm.lock, NULL);
	pthread_cond_init(&vmm.cond, NULL);
	vmm.console_log_fd = -1;
	vmm.console_in_fd = -1;
	vmm.domid = o.domid;
	vmm.exit_code = -1;
	vmm.net.stop_fd = -1;
	vmm.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sfd = vmm_signalfd();
	if (vmm.event_fd < 0 || sfd < 0 || hv_vcpu_signal_init() < 0 ||
	    (rc = vmm_mig_tls_init()) < 0) {
		fprintf(stderr, "vmm: %s\n",
			vmm.event_fd < 0 || sfd < 0 ? strerror(errno) : "TLS set-up failed");
		goto out;
	}
	if ((rc = vmm_setup(&vmm, &o, err, sizeof(err))) < 0) {
		fprintf(stderr, "vmm: %s\n", err);
		vmm_incoming_fail(&vmm, rc, err);
		goto out;
	}
	if (!(ctl = vmm_ctl_new(&vmm, o.control))) {
		snprintf(err, sizeof(err), "control socket %s: %s", o.control, strerror(errno));
		fprintf(stderr, "domain %s: %s\n", vmm.cfg.name, err);
		vmm_incoming_fail(&vmm, -errno, err);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &vmm.started);
	log_info("domain %s: %s, %u MiB, %u vCPU, pid %d", vmm.cfg.name,
		 o.incoming_fd >= 0 ? "incoming"
		 : o.restore	    ? "restored"
				    : "started",
		 vmm.cfg.memory_mib, vmm.cfg.vcpus, (int)getpid());
	if ((rc = vmm_net_start(&vmm)) < 0) {
		fprintf(stderr, "domain %s: net threads: %s\n", vmm.cfg.name, strerror(-rc));
		goto out;
	}
	if (vmm_vcpu_start(&vmm) < 0) {
		fprintf(stderr, "domain %s: cannot start vCPU threads\n", vmm.cfg.name);
		goto out;
	}
	hv_mem_populate_start(&vmm.vm->mem);
	if (!(vmm.io = vmm_io_new())) {
		fprintf(stderr, "domain %s: I/O thread: %s\n", vmm.cfg.name, strerror(errno));
		goto out;
	}
	if ((rc = vmm_seccomp_apply()) < 0) {
		fprintf(stderr, "domain %s: seccomp: %s\n", vmm.cfg.name, strerror(-rc));
		goto out;
	}
	if (vmm.in) {
		if ((rc = vmm_incoming_start(&vmm, err, sizeof(err))) < 0) {
			fprintf(stderr, "domain %s: %s\n", vmm.cfg.name, err);
			goto out;
		}
		vmm_ctl_adopt(ctl, CTL_VMM_INCOMING);
	}
	code = vmm_loop(&vmm, ctl, sfd);
out:
	__atomic_store_n(&vmm.stopping, 1, __ATOMIC_RELEASE); /* a migration's waits end */
	vmm_io_free(vmm.io); /* first: a save reads the parked vCPUs */
	vmm.io = NULL;
	if (vmm.in) { /* never started, or stopped before its end */
		vmm_incoming_fail(&vmm, -ECANCELED, "the destination vmm stopped");
		code = VMM_EXIT_ERROR;
	}
	if (vmm.op) {
		struct vmm_op_report r;
		vmm_op_take(&vmm, &r);
	}
	vmm_vcpu_stop(&vmm);
	vmm_net_fini(&vmm);
	vmm_ctl_free(ctl);
	vmm_console_fini(&vmm);
	hv_vm_free(vmm.vm);
	vmm_mig_tls_fini();
	if (sfd >= 0)
		close(sfd);
	if (vmm.event_fd >= 0)
		close(vmm.event_fd);
	return code;
}
