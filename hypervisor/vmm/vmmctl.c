/*
 * vmmctl: client of one vmm's control socket.
 *   vmmctl -s SOCKET pause|unpause|status [--json]|save [-p] FILE|destroy
 * Exit status: 0 done, 1 the vmm refused or failed the request (its
 * message is printed), 2 bad usage or no vmm at SOCKET.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "vmm_ctl.h"

#define VMMCTL_TIMEOUT_MS 60000 /* a save of a large domain takes a while */

static void vmmctl_usage(FILE *f)
{
	fprintf(f, "usage: vmmctl -s SOCKET COMMAND\n"
		   "commands:\n"
		   "  pause            stop the vCPUs\n"
		   "  unpause          resume them\n"
		   "  status [--json]  state, memory, vCPUs, uptime, CPU time\n"
		   "  save [-p] FILE   save to FILE; the domain is destroyed afterwards\n"
		   "                   unless -p leaves it paused\n"
		   "  destroy          end the domain now\n");
}

static int vmmctl_call(const char *sock, uint16_t type, const void *req, uint32_t len, char *reply,
		       size_t cap)
{
	struct ctl_hdr h;
	int fd = ctl_connect(sock, VMMCTL_TIMEOUT_MS), n;

	if (fd < 0) {
		fprintf(stderr, "vmmctl: %s: %s\n", sock, strerror(-fd));
		return -2;
	}
	n = ctl_send(fd, type, 0, req, len);
	if (n == 0)
		n = ctl_recv(fd, &h, reply, cap - 1);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "vmmctl: %s: %s\n", sock, strerror(-n));
		return -1;
	}
	reply[n] = '\0';
	if (h.flags & CTL_F_ERROR) {
		int err;
		char msg[1024];
		ctl_parse_error(reply, (size_t)n, &err, msg, sizeof(msg));
		fprintf(stderr, "vmmctl: %s\n", msg);
		return -1;
	}
	return n;
}

/* Value of "key": in the vmm's flat status JSON, copied raw (quotes removed). */
static void vmmctl_field(const char *doc, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	out[0] = '\0';
	if (!(p = strstr(doc, pat)))
		return;
	p += strlen(pat);
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != '}' && n + 1 < cap)
		out[n++] = *p++;
	out[n] = '\0';
}

static int vmmctl_status(const char *sock, int json)
{
	static char reply[CTL_MSG_MAX + 1];
	char name[128], state[32], mem[32], vcpus[32], up[32], cpu[32], id[32];
	int n = vmmctl_call(sock, CTL_VMM_STATUS, NULL, 0, reply, sizeof(reply));

	if (n < 0)
		return n == -2 ? 2 : 1;
	if (json) {
		printf("%s\n", reply);
		return 0;
	}
	vmmctl_field(reply, "name", name, sizeof(name));
	vmmctl_field(reply, "id", id, sizeof(id));
	vmmctl_field(reply, "state", state, sizeof(state));
	vmmctl_field(reply, "memory_mib", mem, sizeof(mem));
	vmmctl_field(reply, "vcpus", vcpus, sizeof(vcpus));
	vmmctl_field(reply, "uptime_s", up, sizeof(up));
	vmmctl_field(reply, "cpu_time_s", cpu, sizeof(cpu));
	printf("%-20s %8s %8s %5s %-8s %10s %10s\n", "Name", "Id", "Mem(MB)", "VCPUs", "State",
	       "Uptime(s)", "Time(s)");
	printf("%-20s %8s %8s %5s %-8s %10s %10s\n", name, id, mem, vcpus, state, up, cpu);
	return 0;
}

static int vmmctl_save(const char *sock, int argc, char **argv)
{
	char abs[PATH_MAX + 8], reply[1024];
	uint8_t req[sizeof(struct vmm_ctl_save) + CTL_VMM_PATH_MAX];
	struct vmm_ctl_save s = {0, 0};
	int i = 0;

	if (i < argc && strcmp(argv[i], "-p") == 0) {
		s.flags |= CTL_VMM_SAVE_F_PAUSE;
		i++;
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
	int n = vmmctl_call(sock, CTL_VMM_SAVE, req, (uint32_t)(sizeof(s) + s.path_len), reply,
			    sizeof(reply));
	return n >= 0 ? 0 : (n == -2 ? 2 : 1);
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
