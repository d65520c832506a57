/*
 * The domain registry and the vmms under it: one struct mig_dom per vmm
 * process migrated spawned. A vmm gets a pipe as stdin (console input
 * from attached clients), a pipe as stdout (the console: kept in a ring of
 * recent output and streamed to attached clients) and a pipe as stderr
 * (its domain events, logged line by line under the domain's name).
 * SIGCHLD arrives through the loop's signalfd; dom_reap collects every
 * exited child. Nothing is restarted: a crashed domain stays listed as
 * crashed, with the reason, until `vm destroy`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

struct mig_dom *dom_find_name(struct mig *m, const char *name)
{
	for (struct mig_dom *d = m->doms; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

struct mig_dom *dom_find(struct mig *m, const char *key)
{
	struct mig_dom *d = dom_find_name(m, key);
	char *end;
	unsigned long id;

	if (d || !*key)
		return d;
	id = strtoul(key, &end, 10);
	if (*end)
		return NULL;
	for (d = m->doms; d; d = d->next)
		if (d->domid == id)
			return d;
	return NULL;
}

static void dom_on_up_timer(struct ev_timer *t, void *arg);

struct mig_dom *dom_new(struct mig *m, const char *name, uint32_t mem, uint32_t vcpus)
{
	struct mig_dom *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->m = m;
	d->domid = m->next_domid++;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->memory_mib = mem;
	d->vcpus = vcpus;
	d->state = MIG_DOM_STARTING;
	d->in_fd = -1;
	ev_io_init(&d->out_io, -1, NULL, d);
	ev_io_init(&d->err_io, -1, NULL, d);
	ev_timer_init(&d->up_timer, dom_on_up_timer, d);
	snprintf(d->sock, sizeof(d->sock), "%s/dom%u.sock", m->conf.runtime_dir, d->domid);
	d->start_ms = ev_now_ms();
	d->next = m->doms;
	m->doms = d;
	return d;
}

static void dom_ring_put(struct mig_dom *d, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		d->ring[d->ring_head] = p[i];
		d->ring_head = (d->ring_head + 1) % MIG_RING_SIZE;
	}
	d->ring_len = d->ring_len + n > MIG_RING_SIZE ? MIG_RING_SIZE : d->ring_len + n;
}

static void dom_close_io(struct ev_io *io)
{
	ev_io_stop(io);
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

static void dom_on_out(struct ev_io *io, unsigned events, void *arg)
{
	struct mig_dom *d = arg;
	uint8_t buf[4096];
	ssize_t n = read(io->fd, buf, sizeof(buf));

	(void)events;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		dom_close_io(io);
		return;
	}
	dom_ring_put(d, buf, (size_t)n);
	ctl_server_console(d, buf, (size_t)n);
}

/* One stderr line of the vmm: logged under the domain, the last kept. */
static void dom_err_line(struct mig_dom *d, const char *line)
{
	if (!*line)
		return;
	log_info("domain %s (vmm %d): %s", d->name, (int)d->pid, line);
	snprintf(d->errline, sizeof(d->errline), "%s", line);
	if (strstr(line, "crashed:") && !d->note[0])
		snprintf(d->note, sizeof(d->note), "%.127s", line);
}

static void dom_on_err(struct ev_io *io, unsigned events, void *arg)
{
	struct mig_dom *d = arg;
	char buf[1024];
	ssize_t n = read(io->fd, buf, sizeof(buf));

	(void)events;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		d->errpart[d->errpart_len] = '\0';
		dom_err_line(d, d->errpart);
		d->errpart_len = 0;
		dom_close_io(io);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || d->errpart_len == sizeof(d->errpart) - 1) {
			d->errpart[d->errpart_len] = '\0';
			dom_err_line(d, d->errpart);
			d->errpart_len = 0;
			if (buf[i] == '\n')
				continue;
		}
		d->errpart[d->errpart_len++] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?';
	}
}

/* In the child: stdio from the pipes, the passed fds as 3, 4, ..., a clean
 * signal state, its own process group (a terminal's ^C is not its). */
static void dom_child(struct mig_dom *d, const char *const *argv, int pin, int pout, int perr,
		      const int *fds, unsigned nfds)
{
	int hi[CTL_FDS_MAX];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	for (unsigned i = 0; i < nfds; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
			_exit(127);
	if (dup2(pin, 0) < 0 || dup2(pout, 1) < 0 || dup2(perr, 2) < 0)
		_exit(127);
	for (unsigned i = 0; i < nfds; i++)
		if (dup2(hi[i], 3 + (int)i) < 0)
			_exit(127);
	execv(d->m->conf.vmm_binary, (char *const *)argv);
	dprintf(2, "exec %s: %s\n", d->m->conf.vmm_binary, strerror(errno));
	_exit(127);
}

static int dom_pipe(int p[2], bool child_reads)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Our end is non-blocking: the loop never waits on a vmm. */
	if (fcntl(p[child_reads ? 1 : 0], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int dom_argv(struct mig_dom *d, const char *const *args, const char **argv, size_t cap)
{
	size_t n = 0;

	argv[n++] = d->m->conf.vmm_binary;
	snprintf(d->domid_str, sizeof(d->domid_str), "%u", d->domid);
	for (; *args && n + 6 < cap; args++)
		argv[n++] = *args;
	if (*args)
		return -E2BIG;
	argv[n++] = "--control";
	argv[n++] = d->sock;
	argv[n++] = "--domid";
	argv[n++] = d->domid_str;
	argv[n] = NULL;
	return 0;
}

int dom_spawn(struct mig_dom *d, const char *const *args, const int *fds, unsigned nfds)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, rc;
	const char *argv[32];
	pid_t pid;

	if ((rc = dom_argv(d, args, argv, 32)) < 0)
		return rc;
	unlink(d->sock);
	if ((rc = dom_pipe(pin, true)) < 0 || (rc = dom_pipe(pout, false)) < 0 ||
	    (rc = dom_pipe(perr, false)) < 0)
		goto out;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0)
		dom_child(d, argv, pin[0], pout[1], perr[1], fds, nfds);
	d->pid = pid;
	d->in_fd = pin[1];
	pin[1] = -1;
	ev_io_init(&d->out_io, pout[0], dom_on_out, d);
	ev_io_init(&d->err_io, perr[0], dom_on_err, d);
	pout[0] = perr[0] = -1;
	ev_io_start(d->m->loop, &d->out_io, EV_READ);
	ev_io_start(d->m->loop, &d->err_io, EV_READ);
	ev_timer_start(d->m->loop, &d->up_timer, 20, 50);
	log_info("domain %s: id %u: vmm %d started", d->name, d->domid, (int)pid);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return rc;
}

/* The vmm's control socket accepts connections: it is up. */
static bool dom_sock_up(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

static void dom_on_up_timer(struct ev_timer *t, void *arg)
{
	struct mig_dom *d = arg;

	if (!dom_sock_up(d->sock)) {
		if (ev_now_ms() - d->start_ms < MIG_START_TIMEOUT_MS || !d->pid)
			return;
		ev_timer_stop(t);
		log_warn("domain %s: vmm %d: no control socket after %u ms, killed", d->name,
			 (int)d->pid, MIG_START_TIMEOUT_MS);
		snprintf(d->errline, sizeof(d->errline), "no control socket after %u ms",
			 MIG_START_TIMEOUT_MS);
		d->destroying = true;
		kill(d->pid, SIGKILL);
		return;
	}
	ev_timer_stop(t);
	if (d->on_up)
		d->on_up(d);
}

void dom_remove(struct mig_dom *d, const char *why)
{
	struct mig *m = d->m;

	for (struct mig_dom **pp = &m->doms; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	if (why)
		log_info("domain %s: id %u: %s", d->name, d->domid, why);
	mig_vif_remove(d);
	if (d->pid > 0)
		kill(d->pid, SIGKILL); /* reaped by dom_reap, not found: ignored */
	ctl_server_forget_dom(m, d);
	if (d->gone_waiter)
		ctl_server_reply(d->gone_waiter, d->gone_type, 0, d->gone_reply, d->gone_len);
	free(d->gone_reply);
	vmm_req_free(d->status_req); /* its callback holds d */
	if (d->out)
		reloc_client_free(d->out);
	if (d->in)
		reloc_in_free(d->in);
	ev_timer_stop(&d->up_timer);
	/* What the console still holds goes to the ring's last readers. */
	while (d->out_io.fd >= 0 && ev_io_active(&d->out_io))
		dom_on_out(&d->out_io, EV_READ, d);
	dom_close_io(&d->out_io);
	dom_close_io(&d->err_io);
	if (d->in_fd >= 0)
		close(d->in_fd);
	unlink(d->sock);
	if (d->cfg_path[0])
		unlink(d->cfg_path);
	free(d);
}

/* What an exit means for the registry; see the file comment. */
static void dom_exited(struct mig_dom *d, int status)
{
	char why[256];

	d->pid = 0;
	if (WIFSIGNALED(status)) {
		d->exit_status = 128 + WTERMSIG(status);
		snprintf(why, sizeof(why), "vmm killed by signal %d", WTERMSIG(status));
	} else {
		d->exit_status = WEXITSTATUS(status);
		snprintf(why, sizeof(why), "vmm exited with status %d", d->exit_status);
	}
	while (d->err_io.fd >= 0 && ev_io_active(&d->err_io))
		dom_on_err(&d->err_io, EV_READ, d);
	if (d->waiter) {
		ctl_server_error(d->waiter, d->waiter->busy_type, -ECHILD, "domain %s: %s: %s",
				 d->name, why, d->errline[0] ? d->errline : "no message");
		d->waiter = NULL;
	}
	/* A vmm that never came up for a reason other than a guest crash
	 * (bad config, image, saved file) leaves nothing to look at. */
	if (d->destroying || d->state == MIG_DOM_INCOMING ||
	    (d->state == MIG_DOM_STARTING && d->exit_status != 3) ||
	    (d->exit_status == 0 && !WIFSIGNALED(status))) {
		dom_remove(d, why);
		return;
	}
	d->state = d->exit_status == 3 || WIFSIGNALED(status) ? MIG_DOM_CRASHED : MIG_DOM_EXITED;
	if (!d->note[0])
		snprintf(d->note, sizeof(d->note), "%.127s", d->errline[0] ? d->errline : why);
	log_warn("domain %s: id %u: %s (%s); kept until `vm destroy %s`", d->name, d->domid, why,
		 mig_ctl_state_name(d->state), d->name);
	ctl_server_forget_dom(d->m, d);
}

void dom_reap(struct mig *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct mig_dom *d = m->doms;

		while (d && d->pid != pid)
			d = d->next;
		if (d)
			dom_exited(d, status);
	}
}

uint64_t dom_cpu_ms(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	if (pid <= 0 || hz <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Fields after the command's closing parenthesis; utime is the 12th. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (ut + st) * 1000ull / (unsigned long long)hz;
}

/* The memory a new domain may take, in MiB: the configured total minus
 * what the registry holds, or what the kernel says is available. */
uint32_t dom_mem_available(struct mig *m)
{
	unsigned long long kb = 0, used = 0;
	char line[256];
	FILE *f;

	for (struct mig_dom *d = m->doms; d; d = d->next)
		used += d->memory_mib;
	if (m->conf.domain_memory_mib)
		return used >= m->conf.domain_memory_mib
			   ? 0
			   : (uint32_t)(m->conf.domain_memory_mib - used);
	if (!(f = fopen("/proc/meminfo", "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint32_t)(kb / 1024);
}
