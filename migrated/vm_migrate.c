/*
 * vm migrate: one MIGRATE request; migrated answers with the source vmm's
 * progress records, then its result record (hypervisor/vmm/vmm_ctl.h,
 * decoded with vmm_msg), or with an error when the migration could not
 * start (refused, unreachable, TLS). On a terminal a progress line is
 * redrawn on stderr; the end is one summary line on stdout, or with
 * --json an object with total_ms, downtime_ms, bytes, rounds and
 * round_stats (pages, ms per round).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "mig_ctl.h"
#include "vm.h"
#include "vmm_ctl.h"

#define MIB (1024.0 * 1024.0)

static const char *vm_mig_usage =
    "migrate [--live] DOM HOST [--port N] [--bandwidth MBPS] [--downtime-ms N] [--json]\n"
    "  --live           pre-copy while the guest runs (else stop and copy)\n"
    "  --port N         the destination's relocation port (default 8002)\n"
    "  --bandwidth M    cap the stream at M MiB/s (default: none)\n"
    "  --downtime-ms N  target downtime (default 300)\n"
    "  --json           print the result as JSON\n"
    "HOST is a name (resolved with c-ares) or an address; its certificate must\n"
    "name it. Exit: 0 moved; 1 refused, failed or cancelled (the domain runs on\n"
    "here); 3 outcome unknown (the domain stays paused here; see the message).";

static void vm_mig_bar(const struct vmm_ctl_mig_progress *p)
{
	double total = (double)p->round_pages, done = (double)p->round_done;
	double pct = total > 0 ? 100.0 * done / total : 0;
	double left = (total - done) * 4096.0, tp = (double)p->throughput_bps;
	char bar[21];
	int fill = (int)(pct / 5);

	for (int i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	fprintf(stderr,
		"\r%-9s round %2u [%s] %3.0f%%  %7.1f MiB sent of %.0f MiB  dirty %6.1f MiB/s"
		"  %6.1f MiB/s  ETA %4.1f s  ",
		vmm_msg_mig_phase_name(p->phase), p->round, bar, pct, (double)p->bytes_sent / MIB,
		(double)p->mem_bytes / MIB, (double)p->dirty_rate_bps / MIB, tp / MIB,
		tp > 0 ? left / tp : 0.0);
}

static void vm_mig_json(const struct vmm_mig_result *r)
{
	printf("{\"outcome\":\"%s\",\"total_ms\":%llu,\"downtime_ms\":%.3f,\"bytes\":%llu,"
	       "\"rounds\":%u,\"round_stats\":[",
	       vmm_msg_mig_outcome_name(r->rec.outcome), (unsigned long long)r->rec.total_ms,
	       (double)r->rec.downtime_us / 1000.0, (unsigned long long)r->rec.bytes,
	       r->rec.rounds);
	for (uint32_t i = 0; i < r->rec.nround; i++)
		printf("%s{\"pages\":%llu,\"bytes\":%llu,\"ms\":%llu}", i ? "," : "",
		       (unsigned long long)r->round[i].pages, (unsigned long long)r->round[i].bytes,
		       (unsigned long long)r->round[i].ms);
	printf("],\"message\":");
	json_str_write(stdout, r->msg);
	printf("}\n");
}

static int vm_mig_end(const char *dom, const char *host, const void *p, size_t len, bool json)
{
	static struct vmm_mig_result r;
	char err[256];

	if (vmm_msg_mig_result_dec(p, len, &r, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"vm: migrate %s: unreadable result (%s); check `vm list` here and "
			"on %s\n",
			dom, err, host);
		return VM_EXIT_AMBIGUOUS;
	}
	if (json)
		vm_mig_json(&r);
	switch (r.rec.outcome) {
	case VMM_CTL_MIG_OK:
		if (!json)
			printf("domain %s migrated to %s: total %.3f s, downtime %.1f ms, %.1f MiB "
			       "sent, %u rounds\n",
			       dom, host, (double)r.rec.total_ms / 1000.0,
			       (double)r.rec.downtime_us / 1000.0, (double)r.rec.bytes / MIB,
			       r.rec.rounds);
		return VM_EXIT_OK;
	case VMM_CTL_MIG_AMBIGUOUS:
		/* The vmm's message names the commands that resolve it. */
		fprintf(stderr, "vm: %s\n", r.msg);
		return VM_EXIT_AMBIGUOUS;
	default:
		fprintf(stderr, "vm: %s\n", r.msg);
		return VM_EXIT_FAILED;
	}
}

static int vm_mig_args(int argc, char **argv, struct mig_ctl_migrate *m, bool *json)
{
	static const struct option lo[] = {
	    {"live", no_argument, NULL, 'L'},
	    {"port", required_argument, NULL, 'p'},
	    {"bandwidth", required_argument, NULL, 'b'},
	    {"downtime-ms", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long v;
	char *end;
	int ch;

	optind = 0; /* re-initialise: main's getopt stopped at the command */
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (ch == 'L' || ch == 'j' || ch == 'h') {
			if (ch == 'h')
				return 1;
			if (ch == 'L')
				m->flags |= MIG_CTL_MIG_F_LIVE;
			else
				*json = true;
			continue;
		}
		if (ch == '?')
			return -EINVAL;
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (errno || *end || !*optarg || v > (ch == 'p' ? 65535ul : 1000000ul) ||
		    (ch == 'p' && v == 0))
			return -EINVAL;
		if (ch == 'p')
			m->port = (uint32_t)v;
		else if (ch == 'b')
			m->bandwidth_mbps = (uint32_t)v;
		else
			m->downtime_ms = (uint32_t)v;
	}
	return argc - optind == 2 ? 0 : -EINVAL;
}

int vm_cmd_migrate(struct vm_ctx *v, int argc, char **argv)
{
	static uint8_t buf[sizeof(struct mig_ctl_migrate) + MIG_CTL_DOM_MAX + MIG_CTL_HOST_MAX];
	struct mig_ctl_migrate m = {0};
	struct vmm_ctl_mig_progress pr;
	bool json = false, bar = false, drew = false;
	const char *dom, *host;
	char err[256], peer[MIG_CTL_HOST_MAX + 8];
	struct ctl_hdr h;
	int n, rc = vm_mig_args(argc, argv, &m, &json);

	if (rc > 0) {
		printf("usage: vm %s\n", vm_mig_usage);
		return 0;
	}
	if (rc < 0 || (dom = argv[optind], host = argv[optind + 1],
		       (n = mig_ctl_migrate_enc(&m, dom, host, buf, sizeof(buf))) < 0)) {
		fprintf(stderr, "usage: vm %s\n", vm_mig_usage);
		return VM_EXIT_USAGE;
	}
	bar = !json && isatty(2);
	if (vm_connect(v, 0) < 0)
		return VM_EXIT_USAGE;
	if ((rc = ctl_send(v->fd, MIG_CTL_MIGRATE, 0, buf, (uint32_t)n)) < 0)
		goto lost;
	for (;;) {
		if ((n = ctl_recv(v->fd, &h, v->buf, sizeof(v->buf))) < 0) {
			rc = n;
			goto lost;
		}
		if (!(h.flags & CTL_F_MORE))
			break;
		if (bar &&
		    vmm_msg_mig_progress_dec(v->buf, (size_t)n, &pr, err, sizeof(err)) == 0) {
			vm_mig_bar(&pr);
			drew = true;
		}
	}
	if (drew)
		fprintf(stderr, "\n");
	if (h.flags & CTL_F_ERROR)
		return vm_print_error(v->buf, (size_t)n);
	snprintf(peer, sizeof(peer), "%s:%u", host, m.port ? m.port : 8002u);
	return vm_mig_end(dom, peer, v->buf, (size_t)n, json);
lost:
	fprintf(stderr, "vm: migrate %s: lost migrated (%s); check `vm list` here and on %s\n", dom,
		strerror(-rc), host);
	return VM_EXIT_AMBIGUOUS;
}
