/*
 * Console: guest output to stdout and the console log; input from stdin
 * unless it is /dev/null.
 *
 * Output never waits on a file descriptor in a vCPU or the main thread: a
 * console write copies the bytes into a bounded ring per sink (stdout, log)
 * and one writer thread per sink empties its ring with ordinary blocking
 * writes. A full ring holds the vCPU back while its writer makes progress
 * (a fast guest does not outrun a reader that reads), at most
 * VMM_CONSOLE_CALL_WAIT_MS per call; a writer without progress for
 * VMM_CONSOLE_STALL_MS is "stalled" and from then on bytes that do not fit
 * are dropped at once and counted (status: console_dropped_stdout, _log)
 * until it writes again. At exit the rings are flushed while the writers
 * make progress, so a live reader sees every line, and a stdout nobody
 * reads costs VMM_CONSOLE_EXIT_STALL_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

#define VMM_CONSOLE_RING (256u * 1024u) /* bytes buffered per sink */
#define VMM_CONSOLE_STALL_MS 10		/* a writer without progress this long is stalled */
#define VMM_CONSOLE_CALL_WAIT_MS 50	/* at most this much flow control per console call */
#define VMM_CONSOLE_EXIT_STALL_MS 100	/* exit flush: give up after this without progress */

struct vmm_sink {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* bytes queued, bytes written, stop */
	uint8_t *ring;
	size_t head, len; /* queued bytes: ring[head .. head+len) mod size */
	uint64_t written, dropped;
	int stop;
	int dead;    /* the fd failed: everything after is dropped */
	int stalled; /* no progress for VMM_CONSOLE_STALL_MS: drop, do not wait */
	pthread_t thread;
};

/* The writer: blocking writes from the ring, outside the lock. The producer
 * only fills free space, so the bytes being written never change. */
static void *vmm_sink_main(void *p)
{
	struct vmm_sink *s = p;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->len == 0 && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->len == 0)
			break;
		size_t n =
		    s->len < VMM_CONSOLE_RING - s->head ? s->len : VMM_CONSOLE_RING - s->head;
		const uint8_t *at = s->ring + s->head;
		pthread_mutex_unlock(&s->lock);
		ssize_t w;
		do
			w = write(s->fd, at, n);
		while (w < 0 && errno == EINTR);
		pthread_mutex_lock(&s->lock);
		if (w <= 0) { /* a closed stdout must not stop the guest */
			s->dead = 1;
			s->dropped += s->len;
			s->len = 0;
		} else {
			s->head = (s->head + (size_t)w) % VMM_CONSOLE_RING;
			s->len -= (size_t)w;
			s->written += (uint64_t)w;
			s->stalled = 0;
		}
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static struct vmm_sink *vmm_sink_new(int fd)
{
	struct vmm_sink *s = calloc(1, sizeof(*s));
	sigset_t all, old;

	if (!s || !(s->ring = malloc(VMM_CONSOLE_RING))) {
		free(s);
		return NULL;
	}
	s->fd = fd;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	/* The writer takes no signals: they belong to the main thread's
	 * signalfd and the vCPUs' kicks. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, vmm_sink_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(s->ring);
		free(s);
		errno = rc;
		return NULL;
	}
	return s;
}

static void vmm_deadline(struct timespec *dl, long ms)
{
	clock_gettime(CLOCK_REALTIME, dl);
	dl->tv_nsec += ms * 1000000L;
	dl->tv_sec += dl->tv_nsec / 1000000000L;
	dl->tv_nsec %= 1000000000L;
}

/* Waits until the writer wrote something; 0, or -ETIMEDOUT after ms. */
static int vmm_sink_progress(struct vmm_sink *s, long ms)
{
	uint64_t before = s->written;
	struct timespec dl;
	int rc = 0;

	vmm_deadline(&dl, ms);
	while (s->len > 0 && !s->dead && s->written == before && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	return s->written != before || s->len == 0 ? 0 : -ETIMEDOUT;
}

/* Queues n bytes. A full ring waits for a writer that makes progress (flow
 * control: a guest does not outrun a reader that reads), but never more
 * than VMM_CONSOLE_CALL_WAIT_MS per call, and not at all once the writer
 * was seen stalled: then what does not fit is dropped and counted. */
static void vmm_sink_put(struct vmm_sink *s, const uint8_t *p, size_t n)
{
	struct timespec t0, now;

	if (!s)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		size_t room = s->dead ? 0 : VMM_CONSOLE_RING - s->len;
		size_t take = n < room ? n : room;
		size_t tail = (s->head + s->len) % VMM_CONSOLE_RING;
		size_t first = take < VMM_CONSOLE_RING - tail ? take : VMM_CONSOLE_RING - tail;
		memcpy(s->ring + tail, p, first);
		memcpy(s->ring, p + first, take - first);
		s->len += take;
		p += take;
		n -= take;
		if (take)
			pthread_cond_broadcast(&s->cond);
		if (n == 0 || s->dead || s->stalled)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent =
		    (now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L;
		if (spent >= VMM_CONSOLE_CALL_WAIT_MS)
			break;
		if (vmm_sink_progress(s, VMM_CONSOLE_STALL_MS) < 0)
			s->stalled = 1; /* until the writer gets a byte out again */
	}
	s->dropped += n;
	pthread_mutex_unlock(&s->lock);
}

static uint64_t vmm_sink_dropped(struct vmm_sink *s)
{
	uint64_t d = 0;

	if (s) {
		pthread_mutex_lock(&s->lock);
		d = s->dropped;
		pthread_mutex_unlock(&s->lock);
	}
	return d;
}

/* Flushes while the writer makes progress, then stops it. A writer stuck
 * in write() is left to the process exit (its ring and fd stay valid);
 * returns 1 then, 0 when the writer ended and s was freed. */
static int vmm_sink_free(struct vmm_sink *s)
{
	int stuck;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	while (s->len > 0 && !s->dead && vmm_sink_progress(s, VMM_CONSOLE_EXIT_STALL_MS) == 0)
		;
	stuck = s->len > 0;
	pthread_mutex_unlock(&s->lock);
	if (stuck) {
		pthread_detach(s->thread);
		return 1;
	}
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->ring);
	free(s);
	return 0;
}

void vmm_console_out(struct vmm *vmm, const void *p, size_t n)
{
	vmm_sink_put(vmm->con_stdout, p, n);
	vmm_sink_put(vmm->con_log, p, n);
	__atomic_add_fetch(&vmm->bytes_out, n, __ATOMIC_RELAXED);
}

void vmm_console_dropped(struct vmm *vmm, uint64_t *out, uint64_t *logged)
{
	*out = vmm_sink_dropped(vmm->con_stdout);
	*logged = vmm_sink_dropped(vmm->con_log);
}

size_t vmm_console_in(struct vmm *vmm, void *p, size_t n)
{
	struct pollfd pfd = {vmm->console_in_fd, POLLIN, 0};

	if (vmm->console_in_fd < 0 || n == 0 || poll(&pfd, 1, 0) <= 0)
		return 0;
	ssize_t r = read(vmm->console_in_fd, p, n);
	if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
		vmm->console_in_fd = -1; /* EOF: stop polling it */
		return 0;
	}
	if (r < 0)
		return 0;
	__atomic_add_fetch(&vmm->bytes_in, (uint64_t)r, __ATOMIC_RELAXED);
	return (size_t)r;
}

/* The console as a stream device: its byte counters travel with the
 * domain (status keeps counting across a save or move). */
static int vmm_console_dev_save(void *ctx, void *buf)
{
	struct vmm *vmm = ctx;
	struct vmm_console_state s = {
	    __atomic_load_n(&vmm->bytes_out, __ATOMIC_RELAXED),
	    __atomic_load_n(&vmm->bytes_in, __ATOMIC_RELAXED),
	};

	memcpy(buf, &s, sizeof(s));
	return 0;
}

static int vmm_console_dev_load(void *ctx, const void *buf, char *why, size_t whylen)
{
	struct vmm *vmm = ctx;
	struct vmm_console_state s;

	(void)why;
	(void)whylen;
	memcpy(&s, buf, sizeof(s));
	vmm->bytes_out = s.bytes_out; /* no vCPU runs yet: nothing else counts */
	vmm->bytes_in = s.bytes_in;
	return 0;
}

const struct hv_dev_ops vmm_console_dev_ops = {
    .kind = VMM_CONSOLE_DEV_KIND,
    .name = "console",
    .size = sizeof(struct vmm_console_state),
    .required = 0,
    .save = vmm_console_dev_save,
    .load = vmm_console_dev_load,
};

static int vmm_stdin_usable(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return 0;
	/* /dev/null is char device 1:3 */
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
		return 0;
	return 1;
}

int vmm_console_init(struct vmm *vmm, const char *log_path)
{
	vmm->console_in_fd = vmm_stdin_usable() ? STDIN_FILENO : -1;
	vmm->console_log_fd = -1;
	if (!(vmm->con_stdout = vmm_sink_new(STDOUT_FILENO)))
		return -errno;
	if (!log_path)
		return 0;
	/* Never through a symlink planted at the log's name. */
	vmm->console_log_fd =
	    open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (vmm->console_log_fd < 0)
		return -errno;
	if (!(vmm->con_log = vmm_sink_new(vmm->console_log_fd)))
		return -errno;
	return 0;
}

void vmm_console_fini(struct vmm *vmm)
{
	uint64_t out, logged;

	vmm_console_dropped(vmm, &out, &logged);
	if (out || logged)
		log_warn("domain %s: console: %llu bytes not written to stdout, %llu to the log "
			 "(not read fast enough)",
			 vmm->cfg.name, (unsigned long long)out, (unsigned long long)logged);
	vmm_sink_free(vmm->con_stdout);
	vmm->con_stdout = NULL;
	/* A log writer still stuck in write() keeps its fd until exit. */
	if (!vmm_sink_free(vmm->con_log) && vmm->console_log_fd >= 0)
		close(vmm->console_log_fd);
	vmm->con_log = NULL;
	vmm->console_log_fd = -1;
}
