/*
 * common_migpair: connects two vmms for a live migration the way the two
 * migrateds do (docs/migration.md steps 5-6), without TLS 1: a TCP
 * connection from network namespace SRC_NS to DST_NS, a random 32-byte
 * key, `vmm --incoming FD --key-fd KFD` spawned in DST_NS with the accepted
 * socket and a pipe holding the key, and CTL_VMM_MIGRATE with the other
 * end and the key to the source vmm's control socket. Then it prints each
 * progress record and the result as JSON lines on stdout. A test harness
 * of real processes: real vmms, real KVM, real TLS 2 between them.
 *
 *   migpair --src-ns A --dst-ns B --dst-addr 10.9.0.2 --port 8002 \
 *           --control SRC.sock --vmm PATH [--dst-control B.sock]
 *           [--dst-out F --dst-err F] [--domid N] [--live] [--downtime MS]
 *           [--bandwidth MIBS] [--max-rounds N]
 *           [--cancel-after MS] [--kill-dst-after MS] [--timeout S]
 *
 * Exit status: 0 when the result record came (whatever its outcome), 1
 * otherwise. Then comes {"result":...}, with "dst_pid" and, when the
 * destination ended, "dst_exit"; after a success, with --dst-control, the
 * destination's own answer to CTL_VMM_INCOMING as {"incoming":...}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "json.h"
#include "vmm_ctl.h"

struct opts {
	const char *src_ns, *dst_ns, *addr, *control, *vmm, *dst_control, *dst_out, *dst_err;
	int port, domid, live, downtime, bandwidth, rounds, timeout_s;
	int cancel_ms, kill_ms;
};

static int fail(const char *what)
{
	fprintf(stderr, "migpair: %s: %s\n", what, strerror(errno));
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Enters /var/run/netns/NAME. */
static int enter_ns(const char *name)
{
	char path[256];
	int fd, rc;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(path);
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc < 0 ? fail("setns") : 0;
}

/* The TCP connection: listen in dst, connect from src, accept. The
 * sockets keep the namespace they were made in. */
static int connect_pair(const struct opts *o, int *a, int *b)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	int one = 1, l;

	if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
		return fail("--dst-addr");
	if (enter_ns(o->dst_ns) < 0)
		return -1;
	if ((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
		return fail("listen");
	if (enter_ns(o->src_ns) < 0)
		return -1;
	if ((*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(*a, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail("connect");
	if ((*b = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return fail("accept");
	close(l);
	return 0;
}

/* vmm --incoming in the destination namespace; returns its pid. */
static pid_t spawn_dst(const struct opts *o, int conn, int key_rd)
{
	char fdarg[16], keyarg[16], domarg[16];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (enter_ns(o->dst_ns) < 0)
		_exit(127);
	fcntl(conn, F_SETFD, 0);
	fcntl(key_rd, F_SETFD, 0);
	int out = open(o->dst_out ? o->dst_out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int err = open(o->dst_err ? o->dst_err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int in = open("/dev/null", O_RDONLY);
	if (out < 0 || err < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	snprintf(fdarg, sizeof(fdarg), "%d", conn);
	snprintf(keyarg, sizeof(keyarg), "%d", key_rd);
	snprintf(domarg, sizeof(domarg), "%d", o->domid);
	if (o->dst_control)
		execl(o->vmm, o->vmm, "--incoming", fdarg, "--key-fd", keyarg, "--domid", domarg,
		      "--control", o->dst_control, (char *)NULL);
	else
		execl(o->vmm, o->vmm, "--incoming", fdarg, "--key-fd", keyarg, "--domid", domarg,
		      (char *)NULL);
	_exit(127);
}

static void print_progress(const struct vmm_ctl_mig_progress *p)
{
	printf("{\"progress\":{\"phase\":\"%s\",\"round\":%u,\"bytes_sent\":%llu,"
	       "\"round_done\":%llu,\"round_pages\":%llu,\"dirty_rate_bps\":%llu,"
	       "\"throughput_bps\":%llu,\"elapsed_ms\":%llu,\"throttle_pct\":%u}}\n",
	       vmm_msg_mig_phase_name(p->phase), p->round, (unsigned long long)p->bytes_sent,
	       (unsigned long long)p->round_done, (unsigned long long)p->round_pages,
	       (unsigned long long)p->dirty_rate_bps, (unsigned long long)p->throughput_bps,
	       (unsigned long long)p->elapsed_ms, p->throttle_pct);
	fflush(stdout);
}

static void print_result(const struct vmm_mig_result *r, pid_t dst, int dst_status)
{
	const struct vmm_ctl_mig_result *x = &r->rec;

	printf("{\"result\":{\"outcome\":\"%s\",\"err\":%d,\"total_ms\":%llu,\"downtime_us\":%llu,"
	       "\"bytes\":%llu,\"rounds\":%u,\"round\":[",
	       vmm_msg_mig_outcome_name(x->outcome), x->err, (unsigned long long)x->total_ms,
	       (unsigned long long)x->downtime_us, (unsigned long long)x->bytes, x->rounds);
	for (uint32_t i = 0; i < x->nround; i++)
		printf("%s{\"pages\":%llu,\"bytes\":%llu,\"ms\":%llu}", i ? "," : "",
		       (unsigned long long)r->round[i].pages, (unsigned long long)r->round[i].bytes,
		       (unsigned long long)r->round[i].ms);
	printf("],\"msg\":");
	json_str_write(stdout, r->msg);
	printf(",\"dst_pid\":%d", (int)dst);
	if (dst_status >= 0)
		printf(",\"dst_exit\":%d", dst_status);
	printf("}}\n");
	fflush(stdout);
}

/* The destination's exit status if it ends within ms, else -1. */
static int reap(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	return -1;
}

/* CTL_VMM_INCOMING on the destination: its own result, once it runs. */
static void query_incoming(const char *control)
{
	static uint8_t buf[CTL_MSG_MAX];
	static struct vmm_mig_result r;
	char err[256];
	struct ctl_hdr h;
	int fd = -1, n = -1;

	for (int i = 0; i < 50 && (fd = ctl_connect(control, 5000)) < 0; i++)
		usleep(20000);
	if (fd < 0 || ctl_send(fd, CTL_VMM_INCOMING, 0, NULL, 0) < 0) {
		printf("{\"incoming\":{\"error\":\"no control socket\"}}\n");
		goto out;
	}
	while ((n = ctl_recv(fd, &h, buf, sizeof(buf))) >= 0 && (h.flags & CTL_F_MORE))
		;
	if (n < 0 || (h.flags & CTL_F_ERROR) ||
	    vmm_msg_mig_result_dec(buf, (size_t)n, &r, err, sizeof(err)) < 0) {
		printf("{\"incoming\":{\"error\":\"no result\"}}\n");
		goto out;
	}
	printf("{\"incoming\":{\"outcome\":\"%s\",\"bytes\":%llu,\"msg\":",
	       vmm_msg_mig_outcome_name(r.rec.outcome), (unsigned long long)r.rec.bytes);
	json_str_write(stdout, r.msg);
	printf("}}\n");
out:
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

static int send_cancel(const char *control)
{
	uint8_t buf[512];
	struct ctl_hdr h;
	int fd = ctl_connect(control, 5000);

	if (fd < 0)
		return -1;
	int rc = ctl_send(fd, CTL_VMM_CANCEL, 0, NULL, 0);
	if (rc == 0)
		rc = ctl_recv(fd, &h, buf, sizeof(buf));
	fprintf(stderr, "migpair: cancel sent: %s\n",
		rc >= 0 && !(h.flags & CTL_F_ERROR) ? "ok" : "refused");
	close(fd);
	return 0;
}

/* Reads progress records until the result; the timed actions on the way. */
static int follow(const struct opts *o, int fd, pid_t dst)
{
	static uint8_t buf[CTL_MSG_MAX];
	static struct vmm_mig_result res;
	uint64_t t0 = now_ms(), deadline = t0 + (uint64_t)o->timeout_s * 1000;
	int cancelled = 0, killed = 0;
	char err[256];

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		uint64_t t = now_ms();
		if (t >= deadline)
			return fprintf(stderr, "migpair: no result within %d s\n", o->timeout_s),
			       -1;
		if (o->cancel_ms >= 0 && !cancelled && t - t0 >= (uint64_t)o->cancel_ms)
			cancelled = 1, send_cancel(o->control);
		if (o->kill_ms >= 0 && !killed && t - t0 >= (uint64_t)o->kill_ms) {
			killed = 1;
			kill(dst, SIGKILL);
			fprintf(stderr, "migpair: destination killed\n");
		}
		if (poll(&p, 1, 5) <= 0)
			continue;
		struct ctl_hdr h;
		int n = ctl_recv(fd, &h, buf, sizeof(buf));
		if (n < 0)
			return fprintf(stderr, "migpair: control: %s\n", strerror(-n)), -1;
		if (h.flags & CTL_F_ERROR) {
			buf[n < (int)sizeof(buf) ? n : n - 1] = '\0';
			return fprintf(stderr, "migpair: refused: %s\n", (char *)buf), -1;
		}
		if (h.flags & CTL_F_MORE) {
			struct vmm_ctl_mig_progress pr;
			if (vmm_msg_mig_progress_dec(buf, (size_t)n, &pr, err, sizeof(err)) < 0)
				return fprintf(stderr, "migpair: %s\n", err), -1;
			print_progress(&pr);
			continue;
		}
		if (vmm_msg_mig_result_dec(buf, (size_t)n, &res, err, sizeof(err)) < 0)
			return fprintf(stderr, "migpair: %s\n", err), -1;
		print_result(&res, dst, res.rec.outcome == VMM_CTL_MIG_OK ? -1 : reap(dst, 5000));
		if (res.rec.outcome == VMM_CTL_MIG_OK && o->dst_control)
			query_incoming(o->dst_control);
		return 0;
	}
}

static int migrate(const struct opts *o)
{
	struct vmm_ctl_migrate m = {0};
	uint8_t req[sizeof(m) + VMM_CTL_MIG_PEER_MAX];
	int a = -1, b = -1, kp[2], fd, n;
	pid_t dst;

	if (connect_pair(o, &a, &b) < 0 || getrandom(m.key, sizeof(m.key), 0) != sizeof(m.key) ||
	    pipe2(kp, O_CLOEXEC) < 0 || write(kp[1], m.key, sizeof(m.key)) != sizeof(m.key))
		return fail("connection and key");
	close(kp[1]);
	if ((dst = spawn_dst(o, b, kp[0])) < 0)
		return fail("fork");
	close(b);
	close(kp[0]);
	m.flags = o->live ? VMM_CTL_MIG_F_LIVE : 0;
	m.downtime_ms = (uint32_t)o->downtime;
	m.bandwidth_mbps = (uint32_t)o->bandwidth;
	m.max_rounds = (uint32_t)o->rounds;
	char peer[64];
	snprintf(peer, sizeof(peer), "%s:%d", o->addr, o->port);
	if ((n = vmm_msg_migrate_enc(&m, peer, req, sizeof(req))) < 0 ||
	    (fd = ctl_connect(o->control, 5000)) < 0)
		return fail("control socket");
	if (ctl_send_fds(fd, CTL_VMM_MIGRATE, 0, req, (uint32_t)n, &a, 1) < 0)
		return fail("send");
	close(a);
	memset(&m, 0, sizeof(m));
	n = follow(o, fd, dst);
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"src-ns", 1, 0, 'a'},
					   {"dst-ns", 1, 0, 'b'},
					   {"dst-addr", 1, 0, 'A'},
					   {"port", 1, 0, 'p'},
					   {"control", 1, 0, 'c'},
					   {"vmm", 1, 0, 'v'},
					   {"dst-control", 1, 0, 'C'},
					   {"dst-out", 1, 0, 'o'},
					   {"dst-err", 1, 0, 'e'},
					   {"domid", 1, 0, 'd'},
					   {"live", 0, 0, 'l'},
					   {"downtime", 1, 0, 'D'},
					   {"bandwidth", 1, 0, 'B'},
					   {"max-rounds", 1, 0, 'r'},
					   {"cancel-after", 1, 0, 'x'},
					   {"kill-dst-after", 1, 0, 'k'},
					   {"timeout", 1, 0, 't'},
					   {"help", 0, 0, 'h'},
					   {0, 0, 0, 0}};
	struct opts o = {.port = 8002, .domid = 1, .timeout_s = 60, .cancel_ms = -1, .kill_ms = -1};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.src_ns = optarg;
			break;
		case 'b':
			o.dst_ns = optarg;
			break;
		case 'A':
			o.addr = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'c':
			o.control = optarg;
			break;
		case 'v':
			o.vmm = optarg;
			break;
		case 'C':
			o.dst_control = optarg;
			break;
		case 'o':
			o.dst_out = optarg;
			break;
		case 'e':
			o.dst_err = optarg;
			break;
		case 'd':
			o.domid = atoi(optarg);
			break;
		case 'l':
			o.live = 1;
			break;
		case 'D':
			o.downtime = atoi(optarg);
			break;
		case 'B':
			o.bandwidth = atoi(optarg);
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'x':
			o.cancel_ms = atoi(optarg);
			break;
		case 'k':
			o.kill_ms = atoi(optarg);
			break;
		case 't':
			o.timeout_s = atoi(optarg);
			break;
		case 'h':
			puts(
			    "usage: common_migpair --src-ns A --dst-ns B --dst-addr IP --control "
			    "SRC.sock --vmm PATH [--port P] [--dst-control S] [--dst-out F] "
			    "[--dst-err F] [--domid N] [--live] [--downtime MS] [--bandwidth MIBS] "
			    "[--max-rounds N] [--cancel-after MS] [--kill-dst-after MS] "
			    "[--timeout S]\nPrints progress and the result as JSON lines.");
			return 0;
		default:
			return 1;
		}
	}
	if (!o.src_ns || !o.dst_ns || !o.addr || !o.control || !o.vmm) {
		fprintf(stderr, "migpair: --src-ns, --dst-ns, --dst-addr, --control and --vmm are "
				"required (see --help)\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return migrate(&o) == 0 ? 0 : 1;
}
