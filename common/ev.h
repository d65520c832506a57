/*
 * ev: the single-threaded epoll loop every Tern daemon runs.
 *
 * Four kinds of watcher, all embedded in the caller's own structs so that
 * the loop never allocates per event: fd readiness (epoll), timers (one
 * timerfd per loop, a min-heap of deadlines on CLOCK_MONOTONIC), signals
 * (one signalfd per loop) and deferred calls (run at the end of the current
 * iteration). A watcher is initialised once with its callback, then
 * started and stopped any number of times.
 *
 * Any watcher may be stopped from any callback, including its own, and its
 * memory freed at once: the loop forgets pending events for a stopped fd
 * watcher. Fields marked private are the loop's; callers only read the
 * public ones. Not thread-safe: one loop per thread, used by that thread.
 */
#ifndef TERN_EV_H
#define TERN_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ev_io;
struct ev_timer;
struct ev_signal;
struct ev_defer;

/* Interest and readiness bits for fd watchers. */
#define EV_READ 0x1u
#define EV_WRITE 0x2u
#define EV_ERROR 0x4u /* reported only: EPOLLERR or EPOLLHUP on the fd */

/* `events` is the readiness seen (EV_READ|EV_WRITE|EV_ERROR). */
typedef void (*ev_io_cb)(struct ev_io *io, unsigned events, void *arg);
typedef void (*ev_timer_cb)(struct ev_timer *timer, void *arg);
typedef void (*ev_signal_cb)(struct ev_signal *sig, void *arg);
typedef void (*ev_defer_cb)(struct ev_defer *defer, void *arg);

struct ev_io {
	int fd;		 /* public: the watched fd */
	unsigned events; /* public: current interest */
	ev_io_cb cb;
	void *arg;
	struct ev_loop *loop; /* private: non-NULL while started */
};

struct ev_timer {
	ev_timer_cb cb;
	void *arg;
	struct ev_loop *loop; /* private: non-NULL while started */
	uint64_t deadline_ns; /* private: absolute CLOCK_MONOTONIC */
	uint64_t period_ns;   /* private: 0 for one-shot */
	uint64_t order;	      /* private: breaks ties between equal deadlines */
	size_t heap_idx;      /* private */
};

struct ev_signal {
	int signo; /* public */
	ev_signal_cb cb;
	void *arg;
	struct ev_loop *loop; /* private: non-NULL while started */
	bool was_blocked;     /* private: signal mask to restore on stop */
};

struct ev_defer {
	ev_defer_cb cb;
	void *arg;
	struct ev_loop *loop;  /* private: non-NULL while scheduled */
	struct ev_defer *next; /* private */
};

/* Current CLOCK_MONOTONIC time in milliseconds. */
uint64_t ev_now_ms(void);

/* Creates a loop (epoll, timerfd and signalfd, all close-on-exec).
 * Returns NULL with errno set. */
struct ev_loop *ev_loop_new(void);
/* Closes the loop's fds and restores the signal mask of any signal watcher
 * still started. Watchers still started are abandoned (their memory is the
 * caller's), so stop them first. NULL is a no-op. */
void ev_loop_free(struct ev_loop *loop);

/* Runs iterations until ev_stop is called, then clears the stop request and
 * returns 0; returns a negative errno if epoll_wait fails. A stop requested
 * before ev_run makes it return without waiting. */
int ev_run(struct ev_loop *loop);
/* One iteration: waits at most timeout_ms (-1 forever, 0 poll, shortened
 * to 0 when deferred calls are pending), runs the callbacks of every ready
 * fd, expired timer and caught signal, then the deferred calls. Returns the
 * number of callbacks run, or a negative errno (EINTR counts as 0). */
int ev_run_once(struct ev_loop *loop, int timeout_ms);
/* Asks ev_run to return after the current iteration. Safe in callbacks. */
void ev_stop(struct ev_loop *loop);

/* Sets fd, callback and argument; the watcher starts stopped. */
void ev_io_init(struct ev_io *io, int fd, ev_io_cb cb, void *arg);
/* Registers io->fd with interest `events` (EV_READ|EV_WRITE, 0 allowed:
 * only errors are reported). Returns 0, -EALREADY if started, -EINVAL for
 * unknown bits, or -errno from epoll_ctl (e.g. -EBADF, -EEXIST if another
 * watcher holds the fd). */
int ev_io_start(struct ev_loop *loop, struct ev_io *io, unsigned events);
/* Changes the interest of a started watcher. Returns 0, -EINVAL if not
 * started or for unknown bits, or -errno from epoll_ctl. */
int ev_io_set(struct ev_io *io, unsigned events);
/* Unregisters the fd; no callback for it runs afterwards, even one already
 * reported in this iteration. Stop before closing the fd. Safe to call when
 * stopped. */
void ev_io_stop(struct ev_io *io);
static inline bool ev_io_active(const struct ev_io *io)
{
	return io->loop != NULL;
}

void ev_timer_init(struct ev_timer *timer, ev_timer_cb cb, void *arg);
/* (Re)starts the timer to fire after_ms from now, then every period_ms if
 * period_ms is non-zero (periods are counted from the previous deadline, so
 * they do not drift; a late loop skips missed periods instead of firing a
 * burst). Timers with the same deadline fire in start order. Returns 0 or
 * -ENOMEM (the heap grows only when more timers run at once than ever
 * before). */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *timer, uint64_t after_ms,
		   uint64_t period_ms);
/* Stops the timer; safe when stopped and inside its own callback (a
 * periodic timer stopped in its callback does not fire again). */
void ev_timer_stop(struct ev_timer *timer);
static inline bool ev_timer_active(const struct ev_timer *timer)
{
	return timer->loop != NULL;
}

void ev_signal_init(struct ev_signal *sig, int signo, ev_signal_cb cb, void *arg);
/* Blocks sig->signo in the calling thread and delivers it through the
 * loop's signalfd. Signals arriving together are delivered once each
 * (the kernel coalesces repeats of a standard signal). Returns 0,
 * -EALREADY if started, -EBUSY if another watcher has this signal, -EINVAL
 * for SIGKILL/SIGSTOP or out-of-range numbers, or -errno. */
int ev_signal_start(struct ev_loop *loop, struct ev_signal *sig);
/* Stops delivery and unblocks the signal if ev_signal_start blocked it.
 * Safe when stopped. */
void ev_signal_stop(struct ev_signal *sig);

void ev_defer_init(struct ev_defer *defer, ev_defer_cb cb, void *arg);
/* Queues one call of the callback at the end of the current iteration (or
 * of the next one when called outside ev_run or from a deferred call).
 * Scheduling an already scheduled call does nothing. Calls run in the
 * order they were scheduled. */
void ev_defer_schedule(struct ev_loop *loop, struct ev_defer *defer);
/* Unschedules; safe when not scheduled. */
void ev_defer_cancel(struct ev_defer *defer);
static inline bool ev_defer_pending(const struct ev_defer *defer)
{
	return defer->loop != NULL;
}

#endif
