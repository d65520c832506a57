/* ev: timer order and bounds, periodic timers, fd readiness, watchers
 * stopped (and freed) from callbacks, signals via signalfd, deferred
 * calls, and the exact errors of bad starts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"

/* Generous upper slack: the machine is shared by parallel builds. */
#define LATE_MS 250

struct fired {
	int log[256];
	uint64_t at_ms[256];
	int n;
};

struct tmr {
	struct ev_timer t;
	struct fired *fired;
	int id;
	int stop_after; /* periodic: stop itself after this many fires */
	int count;
	struct ev_loop *loop;
	struct tmr *victim; /* stopped from this timer's callback */
};

static void on_tmr(struct ev_timer *t, void *arg)
{
	struct tmr *x = arg;

	(void)t;
	x->fired->log[x->fired->n] = x->id;
	x->fired->at_ms[x->fired->n++] = ev_now_ms();
	x->count++;
	if (x->stop_after && x->count == x->stop_after)
		ev_timer_stop(&x->t);
	if (x->victim)
		ev_timer_stop(&x->victim->t);
}

/* Runs the loop until `done` or the bound passes. */
static void run_until(struct ev_loop *loop, const int *done, int want, uint64_t bound_ms)
{
	uint64_t end = ev_now_ms() + bound_ms;

	while (*done < want && ev_now_ms() < end)
		assert_true(ev_run_once(loop, 20) >= 0);
}

static void test_timers_in_order_within_bounds(void **state)
{
	static const struct {
		int id;
		uint64_t after_ms;
	} table[] = {{3, 60}, {1, 20}, {2, 20}, {0, 0}, {4, 90}};
	struct ev_loop *loop = ev_loop_new();
	struct tmr t[5];
	struct fired f = {0};
	uint64_t start = ev_now_ms();

	(void)state;
	assert_non_null(loop);
	for (size_t i = 0; i < 5; i++) {
		t[i] = (struct tmr){.fired = &f, .id = table[i].id};
		ev_timer_init(&t[i].t, on_tmr, &t[i]);
		assert_int_equal(ev_timer_start(loop, &t[i].t, table[i].after_ms, 0), 0);
	}
	run_until(loop, &f.n, 5, 2000);
	assert_int_equal(f.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(f.log[i], i); /* ids name the expected order */
	for (size_t i = 0; i < 5; i++) {
		uint64_t late = f.at_ms[table[i].id] - start;

		assert_true(late >= table[i].after_ms);
		assert_true(late <= table[i].after_ms + LATE_MS);
		assert_false(ev_timer_active(&t[i].t));
	}
	ev_loop_free(loop);
}

static void test_many_timers_heap_order(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct tmr *t = calloc(200, sizeof(*t));
	uint64_t deadline[200];
	struct fired f = {0};
	uint64_t start = ev_now_ms();
	int prev = -1;

	(void)state;
	srand(7);
	for (int i = 0; i < 200; i++) {
		uint64_t after = (uint64_t)(rand() % 40);

		t[i] = (struct tmr){.fired = &f, .id = i};
		ev_timer_init(&t[i].t, on_tmr, &t[i]);
		deadline[i] = after;
		assert_int_equal(ev_timer_start(loop, &t[i].t, after, 0), 0);
	}
	/* Stop every third one: the heap must drop them from the middle. */
	for (int i = 0; i < 200; i += 3)
		ev_timer_stop(&t[i].t);
	run_until(loop, &f.n, 133, 2000);
	assert_int_equal(f.n, 133);
	for (int i = 0; i < f.n; i++) {
		int id = f.log[i];

		assert_int_not_equal(id % 3, 0);
		if (prev >= 0) {
			assert_true(deadline[id] >= deadline[prev]);
			if (deadline[id] == deadline[prev])
				assert_true(id > prev); /* ties fire in start order */
		}
		assert_true(f.at_ms[i] - start >= deadline[id]);
		prev = id;
	}
	free(t);
	ev_loop_free(loop);
}

static void test_periodic_stops_itself(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct fired f = {0};
	struct tmr p = {.fired = &f, .id = 9, .stop_after = 5};
	uint64_t start = ev_now_ms();
	int idle = 0;

	(void)state;
	ev_timer_init(&p.t, on_tmr, &p);
	assert_int_equal(ev_timer_start(loop, &p.t, 10, 10), 0);
	run_until(loop, &f.n, 5, 2000);
	assert_int_equal(f.n, 5);
	assert_true(f.at_ms[4] - start >= 50);
	assert_true(f.at_ms[4] - start <= 50 + LATE_MS);
	assert_false(ev_timer_active(&p.t));
	run_until(loop, &idle, 1, 60); /* nothing more may fire */
	assert_int_equal(f.n, 5);
	ev_loop_free(loop);
}

static void test_timer_stops_another_due_one(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct fired f = {0};
	struct tmr a = {.fired = &f, .id = 1}, b = {.fired = &f, .id = 2};
	int idle = 0;

	(void)state;
	a.victim = &b;
	ev_timer_init(&a.t, on_tmr, &a);
	ev_timer_init(&b.t, on_tmr, &b);
	assert_int_equal(ev_timer_start(loop, &a.t, 5, 0), 0);
	assert_int_equal(ev_timer_start(loop, &b.t, 5, 0), 0);
	run_until(loop, &idle, 1, 80);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.log[0], 1);
	ev_loop_free(loop);
}

/* --- fd watchers --- */

struct pipe_w {
	struct ev_io io;
	int fds[2];
	int reads;
	unsigned seen;
	struct pipe_w *victim; /* stopped and freed from this callback */
	bool stop_self;
	int *order;
	int *norder;
	int id;
};

static void on_pipe(struct ev_io *io, unsigned events, void *arg)
{
	struct pipe_w *p = arg;
	char c;

	p->seen |= events;
	if (p->order)
		p->order[(*p->norder)++] = p->id;
	if ((events & EV_READ) && read(io->fd, &c, 1) == 1)
		p->reads++;
	if (p->victim) {
		ev_io_stop(&p->victim->io);
		close(p->victim->fds[0]);
		close(p->victim->fds[1]);
		free(p->victim);
		p->victim = NULL;
	}
	if (p->stop_self)
		ev_io_stop(io);
}

static struct pipe_w *pipe_new(struct ev_loop *loop, int id)
{
	struct pipe_w *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(pipe(p->fds), 0);
	p->id = id;
	ev_io_init(&p->io, p->fds[0], on_pipe, p);
	assert_int_equal(ev_io_start(loop, &p->io, EV_READ), 0);
	return p;
}

static void pipe_free(struct pipe_w *p)
{
	ev_io_stop(&p->io);
	close(p->fds[0]);
	close(p->fds[1]);
	free(p);
}

static void test_fd_read_write(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct pipe_w *p = pipe_new(loop, 1);
	struct ev_io wr;
	struct pipe_w wctx = {0};

	(void)state;
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(write(p->fds[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(p->reads, 1);
	assert_int_equal(p->seen, EV_READ);
	/* Write interest on the write end: ready at once; then turned off. */
	ev_io_init(&wr, p->fds[1], on_pipe, &wctx);
	assert_int_equal(ev_io_start(loop, &wr, EV_WRITE), 0);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_int_equal(wctx.seen, EV_WRITE);
	assert_int_equal(ev_io_set(&wr, 0), 0);
	wctx.seen = 0;
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(wctx.seen, 0);
	/* Closing the write end: the reader sees EOF as readable + hangup. */
	ev_io_stop(&wr);
	close(p->fds[1]);
	p->fds[1] = open("/dev/null", O_WRONLY);
	p->seen = 0;
	p->stop_self = true;
	ev_io_set(&p->io, EV_READ);
	assert_int_equal(ev_run_once(loop, 1000), 1);
	assert_true(p->seen & EV_ERROR);
	pipe_free(p);
	ev_loop_free(loop);
}

static void test_stop_and_free_inside_callbacks(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct pipe_w *a = pipe_new(loop, 1), *b = pipe_new(loop, 2), *c = pipe_new(loop, 3);
	int order[8], n = 0;

	(void)state;
	/* All three readable in one batch; whichever runs first frees the
	 * other two (ASan would catch a later touch), c also stops itself. */
	a->order = b->order = c->order = order;
	a->norder = b->norder = c->norder = &n;
	assert_int_equal(write(a->fds[1], "x", 1), 1);
	assert_int_equal(write(b->fds[1], "x", 1), 1);
	assert_int_equal(write(c->fds[1], "x", 1), 1);
	a->victim = b;
	b->victim = a;
	c->stop_self = true;
	assert_int_equal(ev_run_once(loop, 1000) >= 2, 1);
	/* Exactly one of a, b ran, plus c. */
	assert_int_equal(n, 2);
	assert_true((order[0] == 3) != (order[1] == 3));
	assert_false(ev_io_active(&c->io));
	assert_int_equal(write(c->fds[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 0), 0); /* c stopped: no callback */
	pipe_free(c);
	pipe_free(order[0] == 1 || order[1] == 1 ? a : b);
	ev_loop_free(loop);
}

static void test_io_bad_starts(void **state)
{
	static const struct {
		int fd;
		unsigned events;
		int want;
	} table[] = {
	    {-1, EV_READ, -EBADF},
	    {0, 0x8, -EINVAL},
	};
	struct ev_loop *loop = ev_loop_new();
	struct ev_io io, io2;
	int fds[2];

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ev_io_init(&io, table[i].fd, on_pipe, NULL);
		assert_int_equal(ev_io_start(loop, &io, table[i].events), table[i].want);
		assert_false(ev_io_active(&io));
	}
	assert_int_equal(pipe(fds), 0);
	ev_io_init(&io, fds[0], on_pipe, NULL);
	assert_int_equal(ev_io_set(&io, EV_READ), -EINVAL); /* not started */
	assert_int_equal(ev_io_start(loop, &io, EV_READ), 0);
	assert_int_equal(ev_io_start(loop, &io, EV_READ), -EALREADY);
	assert_int_equal(ev_io_set(&io, 0x10), -EINVAL);
	ev_io_init(&io2, fds[0], on_pipe, NULL);
	assert_int_equal(ev_io_start(loop, &io2, EV_READ), -EEXIST);
	ev_io_stop(&io);
	ev_io_stop(&io); /* twice is fine */
	close(fds[0]);
	close(fds[1]);
	ev_loop_free(loop);
}

/* --- signals --- */

static void on_sig(struct ev_signal *sig, void *arg)
{
	(void)sig;
	(*(int *)arg)++;
}

static void test_signal_delivered(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_signal s, dup, bad;
	int got = 0;
	sigset_t mask;

	(void)state;
	ev_signal_init(&s, SIGUSR1, on_sig, &got);
	assert_int_equal(ev_signal_start(loop, &s), 0);
	assert_int_equal(ev_signal_start(loop, &s), -EALREADY);
	ev_signal_init(&dup, SIGUSR1, on_sig, &got);
	assert_int_equal(ev_signal_start(loop, &dup), -EBUSY);
	ev_signal_init(&bad, SIGKILL, on_sig, &got);
	assert_int_equal(ev_signal_start(loop, &bad), -EINVAL);
	ev_signal_init(&bad, 0, on_sig, &got);
	assert_int_equal(ev_signal_start(loop, &bad), -EINVAL);
	ev_signal_init(&bad, 65, on_sig, &got);
	assert_int_equal(ev_signal_start(loop, &bad), -EINVAL);

	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	run_until(loop, &got, 1, 2000);
	assert_int_equal(got, 1);
	assert_int_equal(ev_run_once(loop, 0), 0);
	ev_signal_stop(&s);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	assert_false(sigismember(&mask, SIGUSR1)); /* unblocked again */
	ev_loop_free(loop);
}

/* --- deferred calls and ev_run/ev_stop --- */

struct dctx {
	struct ev_defer d;
	struct ev_loop *loop;
	int *log;
	int *n;
	int id;
	int again; /* re-schedule itself this many times */
	struct ev_defer *cancel;
};

static void on_defer(struct ev_defer *d, void *arg)
{
	struct dctx *x = arg;

	x->log[(*x->n)++] = x->id;
	if (x->cancel)
		ev_defer_cancel(x->cancel);
	if (x->again-- > 0)
		ev_defer_schedule(x->loop, d);
}

static void test_defer_order_and_cancel(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	int log[16], n = 0;
	struct dctx a = {.loop = loop, .log = log, .n = &n, .id = 1, .again = 2};
	struct dctx b = {.loop = loop, .log = log, .n = &n, .id = 2};
	struct dctx c = {.loop = loop, .log = log, .n = &n, .id = 3};
	struct dctx d = {.loop = loop, .log = log, .n = &n, .id = 4};

	(void)state;
	ev_defer_init(&a.d, on_defer, &a);
	ev_defer_init(&b.d, on_defer, &b);
	ev_defer_init(&c.d, on_defer, &c);
	ev_defer_init(&d.d, on_defer, &d);
	b.cancel = &c.d; /* cancels a call queued in the same drain */
	ev_defer_schedule(loop, &a.d);
	ev_defer_schedule(loop, &b.d);
	ev_defer_schedule(loop, &b.d); /* no double call */
	ev_defer_schedule(loop, &c.d);
	ev_defer_schedule(loop, &d.d);
	ev_defer_cancel(&d.d);
	assert_false(ev_defer_pending(&d.d));
	/* A pending call makes the wait non-blocking. */
	assert_int_equal(ev_run_once(loop, -1), 2);
	assert_int_equal(n, 2);
	assert_int_equal(log[0], 1);
	assert_int_equal(log[1], 2);
	/* a re-scheduled itself: once per iteration, twice more. */
	assert_int_equal(ev_run_once(loop, -1), 1);
	assert_int_equal(ev_run_once(loop, -1), 1);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(n, 4);
	ev_loop_free(loop);
}

static void on_stop_timer(struct ev_timer *t, void *arg)
{
	(void)t;
	ev_stop(arg);
}

static void test_run_until_stop(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t;
	uint64_t start = ev_now_ms();

	(void)state;
	ev_timer_init(&t, on_stop_timer, loop);
	assert_int_equal(ev_timer_start(loop, &t, 30, 0), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_true(ev_now_ms() - start >= 30);
	/* A stop before ev_run returns at once. */
	ev_stop(loop);
	assert_int_equal(ev_run(loop), 0);
	ev_loop_free(loop);
	ev_loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_in_order_within_bounds),
	    cmocka_unit_test(test_many_timers_heap_order),
	    cmocka_unit_test(test_periodic_stops_itself),
	    cmocka_unit_test(test_timer_stops_another_due_one),
	    cmocka_unit_test(test_fd_read_write),
	    cmocka_unit_test(test_stop_and_free_inside_callbacks),
	    cmocka_unit_test(test_io_bad_starts),
	    cmocka_unit_test(test_signal_delivered),
	    cmocka_unit_test(test_defer_order_and_cancel),
	    cmocka_unit_test(test_run_until_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
