/*
 * The I/O thread: device and migration I/O off the main thread, which stays
 * free for the control socket and signals. A minimal epoll loop (the
 * project's `ev` loop is moving into common/; this one needs only a wake
 * eventfd and one job): while a job runs, the loop polls without waiting
 * and calls one bounded step of the job per turn, so the fds it will watch
 * (a migration connection) are served between steps and a stop or a
 * cancel waits at most one step.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

struct vmm_io {
	int epfd;
	int wake_fd; /* eventfd: a job was submitted, or stop */
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	struct vmm_io_job *job; /* under lock */
	int stop;		/* under lock */
};

static void vmm_io_wake(struct vmm_io *io)
{
	uint64_t one = 1;

	if (write(io->wake_fd, &one, sizeof(one)) < 0)
		log_debug("vmm_io: wake: %s", strerror(errno));
}

static void *vmm_io_main(void *arg)
{
	struct vmm_io *io = arg;
	struct epoll_event evs[8];

	for (;;) {
		pthread_mutex_lock(&io->lock);
		struct vmm_io_job *job = io->job;
		int stop = io->stop;
		pthread_mutex_unlock(&io->lock);
		if (stop) {
			if (job)
				job->abort(job);
			return NULL;
		}
		int n = epoll_wait(io->epfd, evs, 8, job ? 0 : -1);
		for (int i = 0; i < n; i++) {
			uint64_t v;
			if (evs[i].data.fd == io->wake_fd && read(io->wake_fd, &v, sizeof(v)) < 0)
				log_debug("vmm_io: wake: %s", strerror(errno));
		}
		if (job && job->step(job)) {
			pthread_mutex_lock(&io->lock);
			io->job = NULL;
			pthread_mutex_unlock(&io->lock);
			/* Only now: whoever hears of the end may submit again. */
			job->done(job);
		}
	}
}

struct vmm_io *vmm_io_new(void)
{
	struct vmm_io *io = calloc(1, sizeof(*io));
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	if (!io)
		return NULL;
	pthread_mutex_init(&io->lock, NULL);
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	io->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.fd = io->wake_fd;
	if (io->epfd < 0 || io->wake_fd < 0 || epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->wake_fd, &ev))
		goto fail;
	if ((rc = pthread_create(&io->thread, NULL, vmm_io_main, io)) != 0) {
		errno = rc;
		goto fail;
	}
	io->started = 1;
	return io;
fail:
	rc = errno;
	vmm_io_free(io);
	errno = rc;
	return NULL;
}

int vmm_io_submit(struct vmm_io *io, struct vmm_io_job *job)
{
	int rc = 0;

	pthread_mutex_lock(&io->lock);
	if (io->job || io->stop)
		rc = -EBUSY;
	else
		io->job = job;
	pthread_mutex_unlock(&io->lock);
	if (rc == 0)
		vmm_io_wake(io);
	return rc;
}

void vmm_io_free(struct vmm_io *io)
{
	if (!io)
		return;
	if (io->started) {
		pthread_mutex_lock(&io->lock);
		io->stop = 1;
		pthread_mutex_unlock(&io->lock);
		vmm_io_wake(io);
		pthread_join(io->thread, NULL);
	}
	if (io->epfd >= 0)
		close(io->epfd);
	if (io->wake_fd >= 0)
		close(io->wake_fd);
	pthread_mutex_destroy(&io->lock);
	free(io);
}
