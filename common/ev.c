/*
 * ev: epoll loop with timerfd timers, signalfd signals and deferred calls.
 * See ev.h for the contract.
 */
#include "ev.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define EV_BATCH 64
#define EV_NSIG 65 /* signal numbers 1..64 */

struct ev_loop {
	int epfd;
	int tfd;
	int sfd;
	bool stop;
	int ran; /* callbacks run in this iteration */
	/* The batch being dispatched: ev_io_stop clears its slots so that a
	 * watcher stopped (and freed) by an earlier callback is not touched. */
	struct epoll_event batch[EV_BATCH];
	int batch_len;
	int batch_pos;
	struct ev_io timer_io;
	struct ev_io signal_io;
	/* Min-heap of started timers by (deadline, order). */
	struct ev_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t timer_order;
	uint64_t armed_ns; /* deadline the timerfd is set to, 0 = disarmed */
	struct ev_signal *signals[EV_NSIG];
	sigset_t sigmask; /* signals routed to the signalfd */
	struct ev_defer *defer_head;
	struct ev_defer *defer_tail;
	struct ev_defer *run_head; /* the calls run_defers is working through */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ev_now_ms(void)
{
	return now_ns() / 1000000u;
}

static void on_timerfd(struct ev_io *io, unsigned events, void *arg);
static void on_signalfd(struct ev_io *io, unsigned events, void *arg);

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	int err;

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sigemptyset(&loop->sigmask);
	loop->sfd = signalfd(-1, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->epfd < 0 || loop->tfd < 0 || loop->sfd < 0) {
		err = errno;
		goto fail;
	}
	ev_io_init(&loop->timer_io, loop->tfd, on_timerfd, loop);
	ev_io_init(&loop->signal_io, loop->sfd, on_signalfd, loop);
	err = -ev_io_start(loop, &loop->timer_io, EV_READ);
	if (!err)
		err = -ev_io_start(loop, &loop->signal_io, EV_READ);
	if (err)
		goto fail;
	return loop;
fail:
	ev_loop_free(loop);
	errno = err;
	return NULL;
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	for (int s = 1; s < EV_NSIG; s++)
		ev_signal_stop(loop->signals[s]);
	for (size_t i = 0; i < loop->heap_len; i++)
		loop->heap[i]->loop = NULL;
	for (struct ev_defer *d = loop->defer_head; d; d = d->next)
		d->loop = NULL;
	for (struct ev_defer *d = loop->run_head; d; d = d->next)
		d->loop = NULL;
	free(loop->heap);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->tfd >= 0)
		close(loop->tfd);
	if (loop->sfd >= 0)
		close(loop->sfd);
	free(loop);
}

/* --- fd watchers --- */

static uint32_t to_epoll(unsigned events)
{
	return (events & EV_READ ? EPOLLIN : 0) | (events & EV_WRITE ? EPOLLOUT : 0);
}

void ev_io_init(struct ev_io *io, int fd, ev_io_cb cb, void *arg)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
}

int ev_io_start(struct ev_loop *loop, struct ev_io *io, unsigned events)
{
	struct epoll_event ee = {.events = to_epoll(events), .data.ptr = io};

	if (io->loop)
		return -EALREADY;
	if (events & ~(EV_READ | EV_WRITE))
		return -EINVAL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ee) < 0)
		return -errno;
	io->loop = loop;
	io->events = events;
	return 0;
}

int ev_io_set(struct ev_io *io, unsigned events)
{
	struct epoll_event ee = {.events = to_epoll(events), .data.ptr = io};

	if (!io->loop || (events & ~(EV_READ | EV_WRITE)))
		return -EINVAL;
	if (events == io->events)
		return 0;
	if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ee) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void ev_io_stop(struct ev_io *io)
{
	struct ev_loop *loop = io->loop;

	if (!loop)
		return;
	/* EBADF/ENOENT only mean the fd was closed first; nothing to undo. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	for (int i = loop->batch_pos; i < loop->batch_len; i++)
		if (loop->batch[i].data.ptr == io)
			loop->batch[i].data.ptr = NULL;
	io->loop = NULL;
}

static void dispatch_batch(struct ev_loop *loop)
{
	while (loop->batch_pos < loop->batch_len) {
		struct epoll_event *ee = &loop->batch[loop->batch_pos++];
		struct ev_io *io = ee->data.ptr;
		unsigned got = 0;

		if (!io)
			continue;
		if (io != &loop->timer_io && io != &loop->signal_io)
			loop->ran++;
		got |= ee->events & EPOLLIN ? EV_READ : 0;
		got |= ee->events & EPOLLOUT ? EV_WRITE : 0;
		got |= ee->events & (EPOLLERR | EPOLLHUP) ? EV_ERROR : 0;
		io->cb(io, got, io->arg);
	}
	loop->batch_len = 0;
	loop->batch_pos = 0;
}

/* --- timers: a binary min-heap keyed by (deadline, order) --- */

static bool timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->order < b->order;
}

static void heap_place(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], t))
			break;
		heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	heap_place(loop, i, t);
}

static void heap_remove(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_idx;
	struct ev_timer *last = loop->heap[--loop->heap_len];

	if (last == t)
		return;
	heap_place(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_idx);
}

static int heap_insert(struct ev_loop *loop, struct ev_timer *t)
{
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? 2 * loop->heap_cap : 16;
		struct ev_timer **heap = realloc(loop->heap, cap * sizeof(*heap));

		if (!heap)
			return -ENOMEM;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	loop->heap[loop->heap_len] = t;
	t->heap_idx = loop->heap_len++;
	heap_up(loop, t->heap_idx);
	return 0;
}

void ev_timer_init(struct ev_timer *timer, ev_timer_cb cb, void *arg)
{
	memset(timer, 0, sizeof(*timer));
	timer->cb = cb;
	timer->arg = arg;
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *timer, uint64_t after_ms,
		   uint64_t period_ms)
{
	int err;

	ev_timer_stop(timer);
	timer->deadline_ns = now_ns() + after_ms * 1000000u;
	timer->period_ns = period_ms * 1000000u;
	timer->order = loop->timer_order++;
	err = heap_insert(loop, timer);
	if (err)
		return err;
	timer->loop = loop;
	return 0;
}

void ev_timer_stop(struct ev_timer *timer)
{
	if (!timer->loop)
		return;
	heap_remove(timer->loop, timer);
	timer->loop = NULL;
}

/* Sets the timerfd to the earliest deadline, only when that changed. */
static void timers_arm(struct ev_loop *loop)
{
	uint64_t want = loop->heap_len ? loop->heap[0]->deadline_ns : 0;
	struct itimerspec its = {0};

	if (want == loop->armed_ns)
		return;
	its.it_value.tv_sec = (time_t)(want / 1000000000u);
	its.it_value.tv_nsec = (long)(want % 1000000000u);
	if (timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_debug("ev: timerfd_settime: %s", strerror(errno));
	else
		loop->armed_ns = want;
}

static void on_timerfd(struct ev_io *io, unsigned events, void *arg)
{
	struct ev_loop *loop = arg;
	uint64_t expirations, now = now_ns();

	(void)io;
	(void)events;
	/* Drain it; the heap, not the count, says what is due. */
	if (read(loop->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_debug("ev: timerfd read: %s", strerror(errno));
	loop->armed_ns = 0;
	/* Only timers due now: one that a callback re-arms for "now" waits for
	 * the next iteration instead of spinning here. */
	while (loop->heap_len && loop->heap[0]->deadline_ns <= now) {
		struct ev_timer *t = loop->heap[0];

		heap_remove(loop, t);
		if (t->period_ns) {
			t->deadline_ns += t->period_ns;
			if (t->deadline_ns <= now)
				t->deadline_ns = now + t->period_ns;
			t->order = loop->timer_order++;
			heap_insert(loop, t); /* cannot fail: it just left the heap */
		} else {
			t->loop = NULL;
		}
		loop->ran++;
		t->cb(t, t->arg);
	}
}

/* --- signals --- */

void ev_signal_init(struct ev_signal *sig, int signo, ev_signal_cb cb, void *arg)
{
	memset(sig, 0, sizeof(*sig));
	sig->signo = signo;
	sig->cb = cb;
	sig->arg = arg;
}

int ev_signal_start(struct ev_loop *loop, struct ev_signal *sig)
{
	int s = sig->signo;
	sigset_t one, old;

	if (sig->loop)
		return -EALREADY;
	if (s <= 0 || s >= EV_NSIG || s == SIGKILL || s == SIGSTOP)
		return -EINVAL;
	if (loop->signals[s])
		return -EBUSY;
	sigemptyset(&one);
	sigaddset(&one, s);
	/* Block first so that no instance slips past between the two calls. */
	if (pthread_sigmask(SIG_BLOCK, &one, &old) != 0)
		return -EINVAL;
	sigaddset(&loop->sigmask, s);
	if (signalfd(loop->sfd, &loop->sigmask, 0) < 0) {
		int err = -errno;

		sigdelset(&loop->sigmask, s);
		if (!sigismember(&old, s))
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		return err;
	}
	sig->was_blocked = sigismember(&old, s);
	sig->loop = loop;
	loop->signals[s] = sig;
	return 0;
}

void ev_signal_stop(struct ev_signal *sig)
{
	struct ev_loop *loop;
	sigset_t one;

	if (!sig || !sig->loop)
		return;
	loop = sig->loop;
	sigdelset(&loop->sigmask, sig->signo);
	signalfd(loop->sfd, &loop->sigmask, 0);
	loop->signals[sig->signo] = NULL;
	if (!sig->was_blocked) {
		sigemptyset(&one);
		sigaddset(&one, sig->signo);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	sig->loop = NULL;
}

static void on_signalfd(struct ev_io *io, unsigned events, void *arg)
{
	struct ev_loop *loop = arg;
	struct signalfd_siginfo si[8];
	ssize_t n;

	(void)io;
	(void)events;
	n = read(loop->sfd, si, sizeof(si));
	if (n < 0) {
		if (errno != EAGAIN)
			log_debug("ev: signalfd read: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
		uint32_t s = si[i].ssi_signo;

		if (s < EV_NSIG && loop->signals[s]) {
			loop->ran++;
			loop->signals[s]->cb(loop->signals[s], loop->signals[s]->arg);
		}
	}
}

/* --- deferred calls: a FIFO list --- */

void ev_defer_init(struct ev_defer *defer, ev_defer_cb cb, void *arg)
{
	memset(defer, 0, sizeof(*defer));
	defer->cb = cb;
	defer->arg = arg;
}

void ev_defer_schedule(struct ev_loop *loop, struct ev_defer *defer)
{
	if (defer->loop)
		return;
	defer->loop = loop;
	defer->next = NULL;
	if (loop->defer_tail)
		loop->defer_tail->next = defer;
	else
		loop->defer_head = defer;
	loop->defer_tail = defer;
}

/* Removes d from the list at *head; returns whether it was there. */
static bool defer_unlink(struct ev_defer **head, struct ev_defer **tail, struct ev_defer *d)
{
	struct ev_defer *prev = NULL;

	for (struct ev_defer **pp = head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != d)
			continue;
		*pp = d->next;
		if (tail && *tail == d)
			*tail = prev;
		return true;
	}
	return false;
}

void ev_defer_cancel(struct ev_defer *defer)
{
	struct ev_loop *loop = defer->loop;

	if (!loop)
		return;
	if (!defer_unlink(&loop->defer_head, &loop->defer_tail, defer))
		defer_unlink(&loop->run_head, NULL, defer);
	defer->loop = NULL;
	defer->next = NULL;
}

/* Runs the calls queued so far; ones they queue wait for the next
 * iteration, so a call that re-schedules itself cannot starve fds. */
static void run_defers(struct ev_loop *loop)
{
	loop->run_head = loop->defer_head;
	loop->defer_head = NULL;
	loop->defer_tail = NULL;
	while (loop->run_head) {
		struct ev_defer *d = loop->run_head;

		loop->run_head = d->next;
		d->loop = NULL;
		d->next = NULL;
		loop->ran++;
		d->cb(d, d->arg);
	}
}

/* --- the loop --- */

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	int n;

	timers_arm(loop);
	if (loop->defer_head)
		timeout_ms = 0;
	n = epoll_wait(loop->epfd, loop->batch, EV_BATCH, timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	loop->ran = 0;
	loop->batch_len = n;
	loop->batch_pos = 0;
	dispatch_batch(loop);
	run_defers(loop);
	return loop->ran;
}

int ev_run(struct ev_loop *loop)
{
	int err = 0;

	while (!loop->stop) {
		int n = ev_run_once(loop, -1);

		if (n < 0) {
			err = n;
			break;
		}
	}
	loop->stop = false;
	return err;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
