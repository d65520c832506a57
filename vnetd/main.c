/*
 * vnetd: the per-host vnet daemon. Start-up order, top to bottom in
 * vnetd_start: event loop and signals, state dir, underlay
 * address, netlink, MAC table, data path, resolver, control socket, then
 * the saved vnets and peers, then the timers.
 *
 * Clean shutdown (SIGTERM/SIGINT) removes nothing persistent: bridges stay
 * so guests stay attached, saved state stays; the TAPs go with their fds
 * (they are not persistent), and the next start re-creates them and puts
 * them back on their bridges. SIGHUP re-reads the log level, reopens the
 * log and re-resolves the peers; nothing else is reloaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nl_link.h"
#include "res.h"
#include "tun.h"
#include "vnetd.h"

struct main_opts {
	const char *conf_path;
	bool conf_given, foreground, check_only;
	const char *log_level;
	unsigned poll_us;
};

/* Set by the stop signals: main_run polls without going through ev_run. */
static volatile bool main_stopping;

/* Adaptive polling after traffic (main_run); 0 turns it off. */
#define MAIN_POLL_US_DEFAULT 50
#define MAIN_POLL_US_MAX 1000

static int main_poll_arg(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > MAIN_POLL_US_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static void main_usage(FILE *f)
{
	fprintf(f,
		"usage: vnetd [-c FILE] [-f] [-n] [--log-level error|warn|info|debug]\n"
		"             [--poll-us N] [--help]\n"
		"  -c FILE      configuration (default " VNETD_CONF_DEFAULT
		"; if absent, built-in defaults)\n"
		"  -f           stay in the foreground, log to stderr\n"
		"  -n           check the configuration and exit (0 ok, 1 not)\n"
		"  --log-level  override (log-level ...) of the configuration\n"
		"  --poll-us N  while traffic flows, poll N us after each packet before\n"
		"               sleeping (default %d, at most %d; 0 off)\n",
		MAIN_POLL_US_DEFAULT, MAIN_POLL_US_MAX);
}

static int main_args(int argc, char **argv, struct main_opts *o)
{
	static const struct option lopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"poll-us", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	o->conf_path = VNETD_CONF_DEFAULT;
	o->poll_us = MAIN_POLL_US_DEFAULT;
	while ((ch = getopt_long(argc, argv, "c:fnh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf_path = optarg;
			o->conf_given = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'l':
			o->log_level = optarg;
			break;
		case 'p':
			if (main_poll_arg(optarg, &o->poll_us) < 0) {
				fprintf(stderr, "vnetd: --poll-us: '%s' is not 0-%u\n", optarg,
					MAIN_POLL_US_MAX);
				return -EINVAL;
			}
			break;
		case 'h':
			main_usage(stdout);
			exit(0);
		default:
			main_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int main_conf(struct vnetd *d, const struct main_opts *o)
{
	struct sxp_error err = {0};
	int rc = vnetd_conf_load(&d->conf, o->conf_path, !o->conf_given, &err);

	if (rc < 0) {
		fprintf(stderr, "vnetd: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return rc;
	}
	if (o->log_level && log_level_parse(o->log_level, &d->conf.log_level) < 0) {
		fprintf(stderr, "vnetd: --log-level: '%s' is not error, warn, info or debug\n",
			o->log_level);
		return -EINVAL;
	}
	d->conf_path = o->conf_path;
	return 0;
}

/* Double fork; the first parent exits only when the daemon says it is
 * ready (or failed), so `vnetd && vn ...` works. Returns the write end of
 * the readiness pipe in the daemon. */
static int main_daemonize(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		char c = 0;
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == '1' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	umask(022);
	if (chdir("/") < 0)
		return -errno;
	return p[1];
}

/* Start-up errors went to stderr; from now on the daemon logs to syslog
 * and detaches from the terminal. */
static void main_detach(struct vnetd *d, int ready_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	d->use_syslog = true;
	log_init("vnetd", d->conf.log_level, 1);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	if (write(ready_fd, "1", 1) != 1)
		log_warn("start-up: readiness pipe: %s", strerror(errno));
	close(ready_fd);
}

static void main_pidfile(struct vnetd *d, bool remove)
{
	char path[VNETD_PATH_MAX + 16], buf[24];
	int n;

	snprintf(path, sizeof(path), "%s/vnetd.pid", d->conf.runtime_dir);
	if (remove) {
		unlink(path);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (persist_write_file(path, buf, (size_t)n, 0644) < 0)
		log_warn("%s: cannot write pid file", path);
}

static void main_signal(struct ev_signal *sig, void *arg)
{
	struct vnetd *d = arg;

	log_info("signal %d: shutting down", sig->signo);
	main_stopping = true;
	ev_stop(d->loop);
}

static void main_sighup(struct ev_signal *sig, void *arg)
{
	struct vnetd *d = arg;
	struct vnetd_conf fresh;
	struct sxp_error err = {0};

	(void)sig;
	if (vnetd_conf_load(&fresh, d->conf_path, true, &err) == 0)
		d->conf.log_level = fresh.log_level;
	else
		log_warn("reload: %s (keeping the running configuration)", err.msg);
	log_init("vnetd", d->conf.log_level, d->use_syslog);
	peers_refresh_all(d);
	log_info("reload: log level re-read, log reopened, peers being re-resolved");
}

static int main_signals(struct vnetd *d)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&d->sig_term, SIGTERM, main_signal, d);
	ev_signal_init(&d->sig_int, SIGINT, main_signal, d);
	ev_signal_init(&d->sig_hup, SIGHUP, main_sighup, d);
	rc = ev_signal_start(d->loop, &d->sig_term);
	if (rc == 0)
		rc = ev_signal_start(d->loop, &d->sig_int);
	if (rc == 0)
		rc = ev_signal_start(d->loop, &d->sig_hup);
	if (rc < 0)
		log_error("signals: %s", strerror(-rc));
	return rc;
}

static void main_udp_cb(struct ev_io *io, unsigned events, void *arg)
{
	struct vnetd *d = arg;
	int rc;

	(void)io;
	(void)events;
	rc = tun_dp_rx_udp(d->dp);
	if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
		log_debug("underlay: receive: %s", strerror(-rc));
}

static int main_datapath(struct vnetd *d)
{
	static const struct tun_dp_ops ops = {
	    .varp = varp_proto_rx,
	    .rekey = sa_keys_rekey,
	    .miss = varp_proto_miss,
	};
	struct tun_udp_conf uc = {0};
	struct timespec ts;
	int rc;

	uc.local = d->local;
	uc.group = d->conf.group;
	uc.port = d->conf.port;
	uc.ifindex = d->underlay_ifindex;
	clock_gettime(CLOCK_REALTIME, &ts);
	d->dp =
	    tun_dp_new(&uc, (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, &ops, d);
	if (!d->dp) {
		log_error("underlay: udp port %u: %s", d->conf.port, strerror(errno));
		return -errno;
	}
	ev_io_init(&d->udp_io, tun_dp_fd(d->dp), main_udp_cb, d);
	rc = ev_io_start(d->loop, &d->udp_io, EV_READ);
	if (rc < 0)
		log_error("underlay: watch: %s", strerror(-rc));
	return rc;
}

static uint64_t main_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Polls (epoll with no timeout) until poll_us have passed without an event.
 * sched_yield lets a task woken on our CPU (the ping, the other end's
 * daemon) run at once instead of waiting for us to be preempted. */
static int main_poll(struct ev_loop *loop, unsigned poll_us)
{
	uint64_t now = main_now_us(), until = now + poll_us;

	while (!main_stopping && now < until) {
		int n;

		sched_yield();
		n = ev_run_once(loop, 0);
		if (n < 0)
			return n;
		now = main_now_us();
		if (n > 0)
			until = now + poll_us;
	}
	return 0;
}

/* Like ev_run, but while traffic flows (two busy wake-ups less than 1 ms
 * apart) polls for up to poll_us after the last event instead of sleeping:
 * on this nested VM waking a halted vCPU and a sleeping process costs tens
 * of microseconds per hop, four hops per round trip. An idle daemon, or
 * one seeing a packet now and then, never polls. */
static int main_run(struct ev_loop *loop, unsigned poll_us)
{
	uint64_t last = 0;

	if (!poll_us)
		return ev_run(loop);
	while (!main_stopping) {
		int n = ev_run_once(loop, -1);
		uint64_t now = main_now_us();
		bool flowing = now - last < 1000;

		if (n < 0)
			return n;
		if (n == 0)
			continue;
		last = now;
		if (flowing) {
			n = main_poll(loop, poll_us);
			if (n < 0)
				return n;
		}
	}
	return 0;
}

static int main_dirs(struct vnetd *d)
{
	char sockdir[VNETD_PATH_MAX];
	int rc = persist_mkdirs(d->conf.runtime_dir, 0755);

	if (rc < 0) {
		log_error("runtime-dir %s: %s", d->conf.runtime_dir, strerror(-rc));
		return rc;
	}
	snprintf(sockdir, sizeof(sockdir), "%s", d->conf.control_socket);
	rc = persist_mkdirs(dirname(sockdir), 0755);
	if (rc < 0) {
		log_error("control-socket %s: %s", d->conf.control_socket, strerror(-rc));
		return rc;
	}
	return persist_init(d);
}

static int main_handles(struct vnetd *d)
{
	d->nl = nl_link_new();
	if (!d->nl) {
		log_error("netlink: %s", strerror(errno));
		return -errno;
	}
	d->res = res_new(d->loop, NULL);
	if (!d->res) {
		log_error("resolver: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The saved vnets and peers, as the state dir has them: what fails is
 * logged and the rest goes on (a restored peer that does not resolve is
 * kept and retried). */
static void main_restore(struct vnetd *d)
{
	struct persist_state st;
	char msg[512];

	if (persist_read(d, &st) < 0)
		return;
	for (size_t i = 0; i < st.nvnets; i++)
		if (vnet_mgr_create(d, &st.vnets[i], true, msg, sizeof(msg)) < 0)
			log_error("%s", msg);
	for (size_t i = 0; i < st.npeers; i++)
		if (peers_add(d, st.peers[i], NULL, NULL, msg, sizeof(msg)) < 0)
			log_error("%s", msg);
	persist_state_free(&st);
}

static int vnetd_start(struct vnetd *d)
{
	int rc;

	d->loop = ev_loop_new();
	if (!d->loop) {
		log_error("event loop: %s", strerror(errno));
		return -errno;
	}
	rc = main_signals(d);
	if (rc == 0)
		rc = main_dirs(d);
	if (rc == 0)
		rc = underlay_resolve(d);
	if (rc == 0)
		rc = main_handles(d);
	if (rc == 0)
		rc = main_datapath(d);
	if (rc == 0)
		rc = ctl_server_start(d);
	if (rc < 0)
		return rc;
	main_restore(d);
	rc = varp_proto_timers_start(d);
	if (rc == 0)
		rc = peers_timer_start(d);
	if (rc == 0)
		log_info("started: control socket %s", d->conf.control_socket);
	return rc;
}

/* Safe on a half-started daemon, and twice. */
static void vnetd_stop(struct vnetd *d)
{
	ctl_server_stop(d);
	varp_proto_timers_stop(d);
	peers_free_all(d);
	vnet_mgr_close_all(d);
	ev_io_stop(&d->udp_io);
	tun_dp_free(d->dp);
	d->dp = NULL;
	res_free(d->res);
	d->res = NULL;
	nl_link_free(d->nl);
	d->nl = NULL;
	ev_signal_stop(&d->sig_term);
	ev_signal_stop(&d->sig_int);
	ev_signal_stop(&d->sig_hup);
	ev_loop_free(d->loop);
	d->loop = NULL;
}

int main(int argc, char **argv)
{
	static struct vnetd d = {.ctl_fd = -1};
	struct main_opts o = {0};
	int ready_fd = -1, rc;

	if (main_args(argc, argv, &o) < 0 || main_conf(&d, &o) < 0)
		return 1;
	if (o.check_only) {
		printf("vnetd: %s: configuration ok\n", o.conf_path);
		return 0;
	}
	log_init("vnetd", d.conf.log_level, 0);
	if (!o.foreground) {
		ready_fd = main_daemonize();
		if (ready_fd < 0) {
			log_error("daemonize: %s", strerror(-ready_fd));
			return 1;
		}
	}
	rc = vnetd_start(&d);
	if (rc == 0) {
		main_pidfile(&d, false);
		if (ready_fd >= 0)
			main_detach(&d, ready_fd);
		rc = main_run(d.loop, o.poll_us);
		if (rc < 0)
			log_error("event loop: %s", strerror(-rc));
		main_pidfile(&d, true);
	}
	vnetd_stop(&d);
	log_info("stopped");
	return rc < 0 ? 1 : 0;
}
