/*
 * migrated: the per-host domain daemon. Start-up order, top to bottom in
 * mig_start: config, directories, event loop and signals, resolver, TLS
 * (only with the relocation server on), control socket, relocation
 * server. Stop (SIGTERM/SIGINT, also twice): the relocation server and
 * control socket close, every vmm gets SIGTERM (domains do not outlive
 * the daemon that supervises them: nothing re-adopts them yet), and the
 * daemon waits up to 5 s for them.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

struct main_opts {
	const char *conf_path;
	bool conf_given, foreground, check_only;
	const char *log_level;
};

static void main_usage(FILE *f)
{
	fprintf(f,
		"usage: migrated [-c FILE] [-f] [-n] [--log-level error|warn|info|debug] [--help]\n"
		"  -c FILE      configuration (default " MIG_CONF_DEFAULT
		"; if absent, built-in defaults)\n"
		"  -f           stay in the foreground, log to stderr\n"
		"  -n           check the configuration (and the TLS files if the relocation\n"
		"               server is on) and exit: 0 ok, 1 not\n"
		"  --log-level  override (log-level ...) of the configuration\n"
		"Exit status: 0 stopped by a signal, 1 bad configuration or start-up failure,\n"
		"2 bad usage.\n");
}

static int main_args(int argc, char **argv, struct main_opts *o)
{
	static const struct option lopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"log-level", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	o->conf_path = MIG_CONF_DEFAULT;
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
		case 'h':
			main_usage(stdout);
			exit(0);
		default:
			main_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "migrated: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int main_mkdir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_error("%s: mkdir: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int main_tls(struct mig *m)
{
	struct tls_files f = {m->conf.tls_ca, m->conf.tls_cert, m->conf.tls_key};
	char err[512];

	if (!(m->tls_srv = tls_ctx_new(TLS_SERVER, &f, err, sizeof(err))) ||
	    !(m->tls_cli = tls_ctx_new(TLS_CLIENT, &f, err, sizeof(err)))) {
		log_error("TLS: %s", err);
		return -EINVAL;
	}
	return 0;
}

static void main_on_stop(struct ev_signal *s, void *arg)
{
	struct mig *m = arg;

	log_info("signal %d: stopping", s->signo);
	ev_stop(m->loop);
}

static void main_on_chld(struct ev_signal *s, void *arg)
{
	(void)s;
	dom_reap(arg);
}

static int mig_start(struct mig *m)
{
	int rc;

	if ((rc = main_mkdir(m->conf.runtime_dir)) < 0 || (rc = main_mkdir(m->conf.state_dir)) < 0)
		return rc;
	if (!(m->loop = ev_loop_new()))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	ev_signal_init(&m->sig_term, SIGTERM, main_on_stop, m);
	ev_signal_init(&m->sig_int, SIGINT, main_on_stop, m);
	ev_signal_init(&m->sig_chld, SIGCHLD, main_on_chld, m);
	if ((rc = ev_signal_start(m->loop, &m->sig_term)) < 0 ||
	    (rc = ev_signal_start(m->loop, &m->sig_int)) < 0 ||
	    (rc = ev_signal_start(m->loop, &m->sig_chld)) < 0)
		return rc;
	/* Bounded lookups: a reverse name for hosts-allow must come (or not)
	 * well within the relocation timeout. */
	struct res_opts ro = {.timeout_ms = 1500, .tries = 2};
	if (!(m->res = res_new(m->loop, &ro))) {
		log_error("resolver: %s", strerror(errno));
		return -errno;
	}
	if (m->conf.relocation_server && (rc = main_tls(m)) < 0)
		return rc;
	if ((rc = ctl_server_start(m)) < 0)
		return rc;
	if (m->conf.relocation_server && (rc = reloc_server_start(m)) < 0)
		return rc;
	log_info("started: control %s, relocation server %s", m->conf.control_socket,
		 m->conf.relocation_server ? "on" : "off");
	return 0;
}

/* Every vmm gets SIGTERM; up to 5 s for them to go. Safe twice. */
static void mig_stop(struct mig *m)
{
	uint64_t until = ev_now_ms() + 5000;

	if (!m->loop)
		return;
	reloc_server_stop(m);
	ctl_server_stop(m);
	for (struct mig_dom *d = m->doms; d; d = d->next) {
		d->destroying = true;
		if (d->pid > 0)
			kill(d->pid, SIGTERM);
	}
	while (m->doms && ev_now_ms() < until)
		ev_run_once(m->loop, 100);
	while (m->doms)
		dom_remove(m->doms, "migrated stopped");
	cmd_list_stop(m);
	while (m->reqs)
		vmm_req_free(m->reqs);
	res_free(m->res);
	m->res = NULL;
	tls_ctx_free(m->tls_srv);
	tls_ctx_free(m->tls_cli);
	m->tls_srv = m->tls_cli = NULL;
	ev_signal_stop(&m->sig_term);
	ev_signal_stop(&m->sig_int);
	ev_signal_stop(&m->sig_chld);
	ev_loop_free(m->loop);
	m->loop = NULL;
}

static int main_check(struct mig *m)
{
	int rc = 0;

	if (m->conf.relocation_server)
		rc = main_tls(m);
	tls_ctx_free(m->tls_srv);
	tls_ctx_free(m->tls_cli);
	if (rc == 0)
		printf("migrated: configuration ok\n");
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct mig m;
	struct main_opts o = {0};
	struct sxp_error err = {0};
	int rc;

	if (main_args(argc, argv, &o) < 0)
		return 2;
	log_init("migrated", LOG_LVL_INFO, 0);
	if ((rc = mig_conf_load(&m.conf, o.conf_path, !o.conf_given, &err)) < 0) {
		log_error("%s", err.msg[0] ? err.msg : strerror(-rc));
		return 1;
	}
	if (o.log_level && log_level_parse(o.log_level, &m.conf.log_level) < 0) {
		fprintf(stderr, "migrated: --log-level: unknown level '%s'\n", o.log_level);
		mig_conf_fini(&m.conf);
		return 2;
	}
	log_init("migrated", m.conf.log_level, !o.foreground && !o.check_only);
	if (o.check_only) {
		rc = main_check(&m);
		mig_conf_fini(&m.conf);
		return rc;
	}
	if (!o.foreground && daemon(0, 0) < 0) {
		log_error("daemon: %s", strerror(errno));
		return 1;
	}
	m.next_domid = 1;
	m.ctl_io.fd = m.reloc_io.fd = -1;
	rc = mig_start(&m);
	if (rc == 0)
		rc = ev_run(m.loop);
	mig_stop(&m);
	mig_conf_fini(&m.conf);
	return rc < 0 ? 1 : 0;
}
