/*
 * vm: the CLI of migrated (DESIGN.md section 4). Each command is one
 * request on migrated's control socket (mig_ctl.h) and its reply; `cert`
 * makes the cluster's TLS files locally and needs no daemon; `vnet-*` go
 * to vnetd's socket instead (vm_vnet.c). See
 * `vm --help` and migrated/README.md for the exit codes.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_domcfg.h"
#include "mig_conf.h"
#include "mig_ctl.h"
#include "out.h"
#include "vm.h"
#include "vmm_ctl.h"
#include "vnetd_conf.h"

static void vm_usage(FILE *f)
{
	fprintf(f, "usage: vm [-s SOCKET] [-c CONFIG] [--vnetd-socket PATH | --vnetd-config FILE]\n"
		   "          COMMAND [args]\n"
		   "  -s SOCKET   migrated's control socket (default: (control-socket) of CONFIG)\n"
		   "  -c CONFIG   migrated's config (default " MIG_CONF_DEFAULT ")\n"
		   "  --vnetd-socket PATH  vnetd's control socket, for the vnet-* commands\n"
		   "              (default: (control-socket) of the vnetd config)\n"
		   "  --vnetd-config FILE  vnetd's config (default " VNETD_CONF_DEFAULT ")\n"
		   "commands:\n"
		   "  create FILE [key=value ...]   start a domain from an xl-style config\n"
		   "  list [-l|--long] [--json]     Name, ID, Mem(MB), VCPUs, State, Time(s);\n"
		   "                                -l: PID, uptime, note, a line per vif\n"
		   "                                (frames, bytes, drops; --json: vifs[])\n"
		   "  console DOM                   attach to the console (Ctrl-] detaches)\n"
		   "  pause DOM | unpause DOM\n"
		   "  shutdown DOM                  end the domain (its vmm stops it cleanly)\n"
		   "  destroy DOM                   end it now; also forgets a crashed one\n"
		   "  save DOM FILE                 write its state to FILE; the domain ends\n"
		   "  restore FILE                  start a domain from a saved FILE\n"
		   "  migrate [--live] DOM HOST [--port N] [--bandwidth MBPS] [--downtime-ms N]\n"
		   "          [--json]              move DOM to HOST's migrated (TLS, port 8002)\n"
		   "  migrate-cancel DOM            stop a migration before it commits\n"
		   "  cert ca --out DIR             make a cluster CA (DIR/ca.pem, DIR/ca.key)\n"
		   "  cert host --ca DIR --name NAME [--ip ADDR]... --out DIR\n"
		   "                                make a host certificate (DIR/host.pem, .key)\n"
		   "  vnet-create FILE              create the vnets FILE defines (vnetd)\n"
		   "  vnet-delete ID                delete vnet ID: its TAP and bridge (vnetd)\n"
		   "  vnet-list [-l] [--json]       list vnetd's vnets\n"
		   "DOM is a domain name or id. `vm COMMAND --help` says more.\n"
		   "Exit status: 0 done; 1 migrated or the domain's vmm refused or failed it;\n"
		   "2 bad usage, bad config file, or migrated unreachable; 3 a migration whose\n"
		   "outcome is unknown (the message says how to resolve it). vnet-* exit as\n"
		   "`vn` does: 0 done, 1 refused by vnetd, 2 bad usage or file, 3 vnetd\n"
		   "unreachable.\n");
}

int vm_connect(struct vm_ctx *v, int timeout_ms)
{
	v->fd = ctl_connect(v->sock, timeout_ms);
	if (v->fd < 0)
		fprintf(stderr, "vm: %s: %s (is migrated running?)\n", v->sock, strerror(-v->fd));
	return v->fd;
}

int vm_print_error(const void *p, size_t len)
{
	char msg[1024];
	int err;

	ctl_parse_error(p, len, &err, msg, sizeof(msg));
	fprintf(stderr, "vm: %s\n", msg);
	return VM_EXIT_FAILED;
}

int vm_call(struct vm_ctx *v, uint16_t type, const void *p, size_t len, struct ctl_hdr *h)
{
	int rc;

	if ((rc = ctl_send(v->fd, type, 0, p, (uint32_t)len)) < 0 ||
	    (rc = ctl_recv(v->fd, h, v->buf, sizeof(v->buf))) < 0) {
		fprintf(stderr, "vm: %s: %s\n", v->sock, strerror(-rc));
		return rc;
	}
	if (h->flags & CTL_F_ERROR) {
		vm_print_error(v->buf, (size_t)rc);
		return -EIO;
	}
	return rc;
}

static bool vm_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: vm %s\n", usage);
			return true;
		}
	return false;
}

static int vm_bad(const char *usage)
{
	fprintf(stderr, "usage: vm %s\n", usage);
	return VM_EXIT_USAGE;
}

/* create: the file and overrides become one canonical config here, so
 * migrated parses the same text the vmm will (kernel made absolute). */
static int vm_cmd_create(struct vm_ctx *v, int argc, char **argv)
{
	static const char *u = "create FILE [key=value ...]";
	static struct hv_domcfg cfg;
	static char text[MIG_CTL_CFG_MAX];
	char err[512], abs[PATH_MAX];
	struct ctl_hdr h;
	int n;

	if (vm_help(argc, argv, u))
		return 0;
	if (argc < 2)
		return vm_bad(u);
	hv_domcfg_init(&cfg);
	if (hv_domcfg_parse_file(&cfg, argv[1], err, sizeof(err)) < 0)
		goto bad;
	for (int i = 2; i < argc; i++)
		if (hv_domcfg_override(&cfg, argv[i], err, sizeof(err)) < 0)
			goto bad;
	if (hv_domcfg_check(&cfg, argv[1], err, sizeof(err)) < 0 || hv_domcfg_fill_macs(&cfg) < 0)
		goto bad;
	if (cfg.kernel[0] != '/' && realpath(cfg.kernel, abs))
		snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", abs);
	if ((n = hv_domcfg_format(&cfg, text, sizeof(text))) < 0) {
		fprintf(stderr, "vm: %s: config too long\n", argv[1]);
		return VM_EXIT_USAGE;
	}
	if (vm_connect(v, 30000) < 0)
		return VM_EXIT_USAGE;
	if ((n = vm_call(v, MIG_CTL_CREATE, text, (size_t)n, &h)) < 0)
		return n == -EIO ? VM_EXIT_FAILED : VM_EXIT_USAGE;
	if ((size_t)n == sizeof(struct mig_ctl_id))
		printf("domain %s created, id %u\n", cfg.name,
		       ((const struct mig_ctl_id *)(const void *)v->buf)->domid);
	return 0;
bad:
	fprintf(stderr, "vm: %s\n", err);
	return VM_EXIT_USAGE;
}

/* The vmm's record as migrated passed it on (cmd_list.c checks the layout). */
static struct vmm_ctl_vif vm_vif(const struct mig_ctl_vif *v)
{
	struct vmm_ctl_vif c;

	_Static_assert(sizeof(c) == sizeof(*v), "vif record");
	memcpy(&c, v, sizeof(c));
	return c;
}

static const char *vm_vifs_name(uint32_t vifs)
{
	return vifs == MIG_CTL_VIFS_OK	       ? "ok"
	       : vifs == MIG_CTL_VIFS_NOANSWER ? "no_answer"
					       : "none";
}

/* "vif_counters": ok|none|no_answer, "vifs": [{the keys of vmmctl status --json}] */
static void vm_list_json_vifs(struct out *o, const struct mig_ctl_dom *d)
{
	out_str(o, "vif_counters", "vif_counters", vm_vifs_name(d->vifs));
	out_arr_begin(o, "vifs", "vifs");
	for (uint32_t k = 0; k < d->nvifs; k++) {
		struct vmm_ctl_vif v = vm_vif(&d->vif[k]);

		if (k)
			fputc(',', o->f);
		vmm_msg_vif_json(o->f, &v);
	}
	out_arr_end(o);
}

/* -l: one line per vif under the domain's line. */
static void vm_list_text_vifs(const struct mig_ctl_dom *d)
{
	if (d->vifs == MIG_CTL_VIFS_NOANSWER)
		printf("    vifs: no answer from the vmm\n");
	for (uint32_t k = 0; k < d->nvifs; k++) {
		struct vmm_ctl_vif v = vm_vif(&d->vif[k]);

		vmm_msg_vif_text(stdout, "    ", k, &v);
	}
}

static void vm_list_json(const struct mig_ctl_dom *d, int n, bool lng)
{
	struct out o;

	out_init(&o, stdout, true);
	out_begin(&o);
	for (int i = 0; i < n; i++) {
		out_obj_begin(&o);
		out_str(&o, "name", "name", d[i].name);
		out_u64(&o, "id", "id", d[i].domid);
		out_u64(&o, "memory_mib", "mem", d[i].memory_mib);
		out_u64(&o, "vcpus", "vcpus", d[i].vcpus);
		out_str(&o, "state", "state", mig_ctl_state_name(d[i].state));
		out_u64(&o, "cpu_ms", "cpu_ms", d[i].cpu_ms);
		if (lng || d[i].note[0]) {
			out_u64(&o, "pid", "pid", (uint64_t)(d[i].pid > 0 ? d[i].pid : 0));
			out_u64(&o, "uptime_ms", "uptime_ms", d[i].uptime_ms);
			out_str(&o, "note", "note", d[i].note);
		}
		vm_list_json_vifs(&o, &d[i]);
		out_obj_end(&o);
	}
	out_end(&o);
}

static int vm_cmd_list(struct vm_ctx *v, int argc, char **argv)
{
	static const char *u = "list [-l|--long] [--json]";
	const struct mig_ctl_dom *d;
	bool json = false, lng = false;
	char err[256];
	struct ctl_hdr h;
	uint32_t total = 0;
	int n;

	if (vm_help(argc, argv, u))
		return 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--long"))
			lng = true;
		else
			return vm_bad(u);
	}
	if (vm_connect(v, 10000) < 0)
		return VM_EXIT_USAGE;
	if ((n = vm_call(v, MIG_CTL_LIST, NULL, 0, &h)) < 0)
		return n == -EIO ? VM_EXIT_FAILED : VM_EXIT_USAGE;
	if ((n = mig_ctl_list_dec(v->buf, (size_t)n, &d, &total, err, sizeof(err))) < 0) {
		fprintf(stderr, "vm: %s\n", err);
		return VM_EXIT_FAILED;
	}
	if (total > (uint32_t)n)
		fprintf(stderr, "vm: list: only the first %d of %u domains fit one reply\n", n,
			total);
	if (json) {
		vm_list_json(d, n, lng);
		return 0;
	}
	printf("%-24s %5s %8s %5s %-9s %9s%s\n", "Name", "ID", "Mem(MB)", "VCPUs", "State",
	       "Time(s)", lng ? "   PID  Up(s) Note" : "");
	for (int i = 0; i < n; i++) {
		printf("%-24s %5u %8u %5u %-9s %9.1f", d[i].name, d[i].domid, d[i].memory_mib,
		       d[i].vcpus, mig_ctl_state_name(d[i].state), (double)d[i].cpu_ms / 1000.0);
		if (lng)
			printf(" %6d %6llu %s", d[i].pid, (unsigned long long)d[i].uptime_ms / 1000,
			       d[i].note);
		printf("\n");
		if (lng)
			vm_list_text_vifs(&d[i]);
	}
	return 0;
}

/* pause, unpause, shutdown, destroy, migrate-cancel: DOM -> empty. */
static int vm_cmd_dom(struct vm_ctx *v, uint16_t type, int argc, char **argv)
{
	char u[64], buf[MIG_CTL_DOM_MAX];
	struct ctl_hdr h;
	int n;

	snprintf(u, sizeof(u), "%s DOM", argv[0]);
	if (vm_help(argc, argv, u))
		return 0;
	if (argc != 2 || (n = mig_ctl_dom_enc(argv[1], buf, sizeof(buf))) < 0)
		return vm_bad(u);
	if (vm_connect(v, 30000) < 0)
		return VM_EXIT_USAGE;
	if ((n = vm_call(v, type, buf, (size_t)n, &h)) < 0)
		return n == -EIO ? VM_EXIT_FAILED : VM_EXIT_USAGE;
	return 0;
}

static int vm_abs(const char *path, char *out, size_t cap)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(out, cap, "%s/%s", cwd, path) < (int)cap ? 0 : -ENAMETOOLONG;
}

static int vm_cmd_save(struct vm_ctx *v, int argc, char **argv)
{
	static const char *u = "save DOM FILE";
	static uint8_t buf[sizeof(struct mig_ctl_save) + MIG_CTL_DOM_MAX + MIG_CTL_PATH_MAX];
	char path[MIG_CTL_PATH_MAX + 1];
	struct ctl_hdr h;
	int n;

	if (vm_help(argc, argv, u))
		return 0;
	if (argc != 3 || vm_abs(argv[2], path, sizeof(path)) < 0 ||
	    (n = mig_ctl_save_enc(argv[1], path, buf, sizeof(buf))) < 0)
		return vm_bad(u);
	if (vm_connect(v, 0) < 0)
		return VM_EXIT_USAGE;
	if ((n = vm_call(v, MIG_CTL_SAVE, buf, (size_t)n, &h)) < 0)
		return n == -EIO ? VM_EXIT_FAILED : VM_EXIT_USAGE;
	printf("domain %s saved to %s\n", argv[1], path);
	return 0;
}

static int vm_cmd_restore(struct vm_ctx *v, int argc, char **argv)
{
	static const char *u = "restore FILE";
	char path[MIG_CTL_PATH_MAX + 1];
	struct ctl_hdr h;
	int n;

	if (vm_help(argc, argv, u))
		return 0;
	if (argc != 2 || vm_abs(argv[1], path, sizeof(path)) < 0)
		return vm_bad(u);
	if (vm_connect(v, 60000) < 0)
		return VM_EXIT_USAGE;
	if ((n = vm_call(v, MIG_CTL_RESTORE, path, strlen(path), &h)) < 0)
		return n == -EIO ? VM_EXIT_FAILED : VM_EXIT_USAGE;
	if ((size_t)n == sizeof(struct mig_ctl_id))
		printf("domain restored from %s, id %u\n", path,
		       ((const struct mig_ctl_id *)(const void *)v->buf)->domid);
	return 0;
}

static const struct {
	const char *name;
	uint16_t type; /* for the DOM-only commands */
	int (*fn)(struct vm_ctx *v, int argc, char **argv);
} vm_cmds[] = {
    {"create", 0, vm_cmd_create},	{"list", 0, vm_cmd_list},
    {"console", 0, vm_cmd_console},	{"pause", MIG_CTL_PAUSE, NULL},
    {"unpause", MIG_CTL_UNPAUSE, NULL}, {"shutdown", MIG_CTL_SHUTDOWN, NULL},
    {"destroy", MIG_CTL_DESTROY, NULL}, {"migrate-cancel", MIG_CTL_MIGRATE_CANCEL, NULL},
    {"save", 0, vm_cmd_save},		{"restore", 0, vm_cmd_restore},
    {"migrate", 0, vm_cmd_migrate},
};

static const char *vm_default_sock(const char *conf, bool given, struct mig_conf *c)
{
	struct sxp_error err = {0};

	if (mig_conf_load(c, conf, !given, &err) < 0) {
		fprintf(stderr, "vm: %s\n", err.msg);
		return NULL;
	}
	return c->control_socket;
}

int main(int argc, char **argv)
{
	static struct vm_ctx v = {.fd = -1};
	static struct mig_conf conf;
	const char *conf_path = MIG_CONF_DEFAULT, *vnetd_sock = NULL, *vnetd_conf = NULL;
	bool conf_given = false;
	static const struct option lopts[] = {{"help", no_argument, NULL, 'h'},
					      {"vnetd-socket", required_argument, NULL, 'S'},
					      {"vnetd-config", required_argument, NULL, 'C'},
					      {NULL, 0, NULL, 0}};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+s:c:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			v.sock = optarg;
			break;
		case 'c':
			conf_path = optarg;
			conf_given = true;
			break;
		case 'S':
			vnetd_sock = optarg;
			break;
		case 'C':
			vnetd_conf = optarg;
			break;
		case 'h':
			vm_usage(stdout);
			return 0;
		default:
			vm_usage(stderr);
			return VM_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		vm_usage(stderr);
		return VM_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "cert"))
		return vm_cmd_cert(argc, argv);
	if (vm_is_vnet_cmd(argv[0]))
		return vm_cmd_vnet(vnetd_sock, vnetd_conf, argc, argv);
	if (!v.sock && !(v.sock = vm_default_sock(conf_path, conf_given, &conf)))
		return VM_EXIT_USAGE;
	for (size_t i = 0; i < sizeof(vm_cmds) / sizeof(vm_cmds[0]); i++) {
		if (strcmp(argv[0], vm_cmds[i].name))
			continue;
		rc = vm_cmds[i].fn ? vm_cmds[i].fn(&v, argc, argv)
				   : vm_cmd_dom(&v, vm_cmds[i].type, argc, argv);
		if (v.fd >= 0)
			close(v.fd);
		mig_conf_fini(&conf);
		return rc;
	}
	fprintf(stderr, "vm: unknown command '%s' (see vm --help)\n", argv[0]);
	mig_conf_fini(&conf);
	return VM_EXIT_USAGE;
}
