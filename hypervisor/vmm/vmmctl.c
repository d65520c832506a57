/*
 * vmmctl: client of one vmm's control socket.
 *   vmmctl -s SOCKET pause|unpause|status [--json]|save [-p] [-v] FILE|cancel|destroy
 * Exit status: 0 done, 1 the vmm refused or failed the request (its
 * message is printed), 2 bad usage or no vmm at SOCKET.
 *
 * Replies are typed records decoded by vmm_msg.c; this is the one place
 * they become text or JSON, for people and scripts.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "json.h"
#include "vmm_ctl.h"

/* Bounds each wait for a message; a save sends progress records while it
 * runs, so this is a silence limit, not a limit on the save. */
#define VMMCTL_TIMEOUT_MS 60000

static void vmmctl_usage(FILE *f)
{
	fprintf(f, "usage: vmmctl -s SOCKET COMMAND\n"
		   "commands:\n"
		   "  pause            stop the vCPUs\n"
		   "  unpause          resume them\n"
		   "  status [--json]  state, memory, vCPUs, uptime, CPU time, and per vif\n"
		   "                   frames/bytes moved, drops by reason, a broken ring\n"
		   "  save [-p] [-v] FILE\n"
		   "                   save to FILE; the domain is destroyed afterwards\n"
		   "                   unless -p leaves it paused; -v prints progress\n"
		   "  cancel           stop a running save (its file is removed, the\n"
		   "                   domain runs on, or stays paused if it was)\n"
		   "  destroy          end the domain now\n");
}

/* Prints an error reply's message; returns -1. */
static int vmmctl_refused(const char *reply, int n)
{
	int err;
	char msg[1024];

	ctl_parse_error(reply, (size_t)n, &err, msg, sizeof(msg));
	fprintf(stderr, "vmmctl: %s\n", msg);
	return -1;
}

/* Sends one request; returns the connected fd, or -2 (no vmm) / -1. */
static int vmmctl_request(const char *sock, uint16_t type, const void *req, uint32_t len)
{
	int fd = ctl_connect(sock, VMMCTL_TIMEOUT_MS), rc;

	if (fd < 0) {
		fprintf(stderr, "vmmctl: %s: %s\n", sock, strerror(-fd));
		return -2;
	}
	if ((rc = ctl_send(fd, type, 0, req, len)) < 0) {
		fprintf(stderr, "vmmctl: %s: %s\n", sock, strerror(-rc));
		close(fd);
		return -1;
	}
	return fd;
}

/* One request, one reply (NUL-terminated in reply). Returns its length,
 * -1 refused or failed (printed), -2 no vmm at sock. */
static int vmmctl_call(const char *sock, uint16_t type, const void *req, uint32_t len, char *reply,
		       size_t cap)
{
	struct ctl_hdr h;
	int fd = vmmctl_request(sock, type, req, len), n;

	if (fd < 0)
		return fd;
	n = ctl_recv(fd, &h, reply, cap - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "vmmctl: %s: %s\n", sock, strerror(-n));
		return -1;
	}
	reply[n] = '\0';
	return (h.flags & CTL_F_ERROR) ? vmmctl_refused(reply, n) : n;
}

/* JSON string through the project's one escaper (common/json.c). */
static void vmmctl_json_str(const char *s)
{
	json_str_write(stdout, s);
}

static void vmmctl_status_json(const struct vmm_status *st)
{
	const struct vmm_ctl_status *r = &st->rec;

	printf("{\"name\":");
	vmmctl_json_str(st->name);
	printf(",\"id\":%d,\"pid\":%d,\"state\":\"%s\",\"memory_mib\":%u,\"vcpus\":%u,"
	       "\"uptime_s\":%.3f,\"cpu_time_s\":%.3f,\"console_bytes_out\":%llu,"
	       "\"console_dropped_stdout\":%llu,\"console_dropped_log\":%llu,\"kernel\":",
	       r->id, r->pid, vmm_msg_state_name(r->state), r->memory_mib, r->vcpus,
	       (double)r->uptime_ns / 1e9, (double)r->cpu_time_us / 1e6,
	       (unsigned long long)r->console_bytes_out,
	       (unsigned long long)r->console_dropped_stdout,
	       (unsigned long long)r->console_dropped_log);
	vmmctl_json_str(st->kernel);
	printf(",\"extra\":");
	vmmctl_json_str(st->extra);
	printf(",\"vif\":[");
	for (uint32_t i = 0; i < r->nvifs; i++) {
		printf(i ? "," : "");
		vmmctl_json_str(st->vif[i]);
	}
	printf("],\"vifs\":[");
	for (uint32_t i = 0; i < r->nvifs; i++) {
		printf(i ? "," : "");
		vmm_msg_vif_json(stdout, &st->vifc[i]);
	}
	printf("]");
	if (r->state == 3) /* halted */
		printf(",\"halt_status\":%lld", (long long)r->halt_status);
	if (r->state == 2) { /* crashed */
		printf(",\"crash\":");
		vmmctl_json_str(st->crash);
	}
	if (r->op.op != VMM_CTL_OP_NONE)
		printf(",\"op\":\"%s\",\"op_phase\":\"%s\",\"op_bytes_done\":%llu,"
		       "\"op_bytes_total\":%llu,\"op_bytes_written\":%llu,\"op_elapsed_s\":%.3f",
		       vmm_msg_op_name(r->op.op), vmm_msg_phase_name(r->op.phase),
		       (unsigned long long)r->op.bytes_done, (unsigned long long)r->op.bytes_total,
		       (unsigned long long)r->op.bytes_written, (double)r->op.elapsed_ms / 1e3);
	printf("}\n");
}

/* "save: pages 512/1024 MiB (50%), 498 MiB written, 1.204 s" */
static void vmmctl_progress_line(FILE *f, const char *prefix, const struct vmm_ctl_progress *p)
{
	fprintf(f, "%s%s: %s %llu/%llu MiB (%llu%%), %llu MiB written, %.3f s\n", prefix,
		vmm_msg_op_name(p->op), vmm_msg_phase_name(p->phase),
		(unsigned long long)(p->bytes_done >> 20),
		(unsigned long long)(p->bytes_total >> 20),
		(unsigned long long)(p->bytes_total ? p->bytes_done * 100 / p->bytes_total : 0),
		(unsigned long long)(p->bytes_written >> 20), (double)p->elapsed_ms / 1e3);
}

static int vmmctl_status(const char *sock, int json)
{
	static char reply[CTL_MSG_MAX + 1];
	static struct vmm_status st;
	char err[256];
	const struct vmm_ctl_status *r = &st.rec;
	int n = vmmctl_call(sock, CTL_VMM_STATUS, NULL, 0, reply, sizeof(reply));

	if (n < 0)
		return n == -2 ? 2 : 1;
	if (vmm_msg_status_dec(reply, (size_t)n, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmmctl: %s: %s\n", sock, err);
		return 1;
	}
	if (json) {
		vmmctl_status_json(&st);
		return 0;
	}
	printf("%-20s %8s %8s %5s %-8s %10s %10s\n", "Name", "Id", "Mem(MB)", "VCPUs", "State",
	       "Uptime(s)", "Time(s)");
	printf("%-20s %8d %8u %5u %-8s %10.3f %10.3f\n", st.name, r->id, r->memory_mib, r->vcpus,
	       vmm_msg_state_name(r->state), (double)r->uptime_ns / 1e9,
	       (double)r->cpu_time_us / 1e6);
	if (r->op.op != VMM_CTL_OP_NONE)
		vmmctl_progress_line(stdout, "", &r->op);
	for (uint32_t i = 0; i < r->nvifs; i++)
		vmm_msg_vif_text(stdout, "", i, &st.vifc[i]);
	return 0;
}

/* Waits for the save's final reply, printing progress records with -v. */
static int vmmctl_save_wait(const char *sock, int fd, int verbose)
{
	char reply[1024], err[256];
	struct vmm_ctl_progress p;
	struct ctl_hdr h;
	int n;

	for (;;) {
		n = ctl_recv(fd, &h, reply, sizeof(reply) - 1);
		if (n < 0) {
			fprintf(stderr, "vmmctl: %s: %s\n", sock, strerror(-n));
			return 1;
		}
		if (h.flags & CTL_F_ERROR)
			return vmmctl_refused(reply, n), 1;
		if (!(h.flags & CTL_F_MORE))
			return 0;
		if (vmm_msg_progress_dec(reply, (size_t)n, &p, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmmctl: %s: %s\n", sock, err);
			return 1;
		}
		if (verbose)
			vmmctl_progress_line(stderr, "vmmctl: ", &p);
	}
}

static int vmmctl_save(const char *sock, int argc, char **argv)
{
	char abs[PATH_MAX + 8];
	uint8_t req[sizeof(struct vmm_ctl_save) + CTL_VMM_PATH_MAX];
	struct vmm_ctl_save s = {0, 0};
	int i = 0, verbose = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-p") == 0) {
			s.flags |= CTL_VMM_SAVE_F_PAUSE;
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
		} else {
			vmmctl_usage(stderr);
			return 2;
		}
	}
	if (argc - i != 1) {
		vmmctl_usage(stderr);
		return 2;
	}
	const char *file = argv[i];
	if (file[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", file);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, file) >= sizeof(abs)) {
			fprintf(stderr, "vmmctl: %s: path too long\n", file);
			return 2;
		}
	}
	s.path_len = (uint32_t)strlen(abs);
	if (s.path_len >= CTL_VMM_PATH_MAX) {
		fprintf(stderr, "vmmctl: %s: path too long\n", file);
		return 2;
	}
	memcpy(req, &s, sizeof(s));
	memcpy(req + sizeof(s), abs, s.path_len);
	int fd = vmmctl_request(sock, CTL_VMM_SAVE, req, (uint32_t)(sizeof(s) + s.path_len));
	if (fd < 0)
		return fd == -2 ? 2 : 1;
	int rc = vmmctl_save_wait(sock, fd, verbose);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	char reply[1024];
	int c;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			vmmctl_usage(stdout);
			return 0;
		}
	while ((c = getopt(argc, argv, "+s:h")) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			vmmctl_usage(stdout);
			return 0;
		default:
			vmmctl_usage(stderr);
			return 2;
		}
	}
	if (!sock || optind >= argc) {
		vmmctl_usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind++];
	uint16_t type;
	if (strcmp(cmd, "status") == 0) {
		int json = optind < argc && strcmp(argv[optind], "--json") == 0;
		if (argc - optind != json) {
			vmmctl_usage(stderr);
			return 2;
		}
		return vmmctl_status(sock, json);
	}
	if (strcmp(cmd, "save") == 0)
		return vmmctl_save(sock, argc - optind, argv + optind);
	if (strcmp(cmd, "pause") == 0)
		type = CTL_VMM_PAUSE;
	else if (strcmp(cmd, "unpause") == 0)
		type = CTL_VMM_UNPAUSE;
	else if (strcmp(cmd, "destroy") == 0)
		type = CTL_VMM_DESTROY;
	else if (strcmp(cmd, "cancel") == 0)
		type = CTL_VMM_CANCEL;
	else {
		fprintf(stderr, "vmmctl: unknown command '%s'\n", cmd);
		vmmctl_usage(stderr);
		return 2;
	}
	if (optind != argc) {
		vmmctl_usage(stderr);
		return 2;
	}
	int n = vmmctl_call(sock, type, NULL, 0, reply, sizeof(reply));
	return n >= 0 ? 0 : (n == -2 ? 2 : 1);
}
