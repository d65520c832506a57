/*
 * common_ctl_flood: hostile clients of a control socket (vnetd, vmm).
 *
 *   common_ctl_flood [-n COUNT] [-i IDLE] [-t TYPE] [-d SECONDS] SOCKET
 *
 * First IDLE connections that never send anything, then one connection
 * that pipelines COUNT empty requests of TYPE (default 0x0309, vnetd's
 * stats; 0x0103 is the vmm's status) and never reads a reply. It writes
 * until all are written or the daemon has taken nothing for a second (it
 * stopped reading: back-pressure), prints
 *
 *   flood: wrote W of COUNT requests
 *   idle: C of IDLE connected
 *   ready
 *
 * then holds every connection for SECONDS (default 10) without reading and
 * prints what the daemon closed meanwhile (EOF or reset seen):
 *
 *   closed: flood yes|no, idle K of C
 *
 * Exit 0 unless a connection or the arguments fail.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define FLOOD_IDLE_MAX 1024

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes COUNT request headers; returns how many whole ones went out. */
static long flood_write(int fd, uint16_t type, long count)
{
	size_t total = (size_t)count * sizeof(struct ctl_hdr), off = 0;
	struct ctl_hdr *reqs = calloc((size_t)count, sizeof(*reqs));
	uint64_t last = now_ms();

	if (!reqs)
		return 0;
	for (long i = 0; i < count; i++)
		reqs[i] = (struct ctl_hdr){type, 0, 0};
	while (off < total && now_ms() - last < 1000) {
		struct pollfd p = {fd, POLLOUT, 0};
		ssize_t w =
		    send(fd, (uint8_t *)reqs + off, total - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			last = now_ms();
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			break; /* the daemon hung up on us */
		} else {
			poll(&p, 1, 100);
		}
	}
	free(reqs);
	return (long)(off / sizeof(struct ctl_hdr));
}

/* Whether the daemon closed fd: EOF or an error, never reading a reply
 * (MSG_PEEK leaves them queued, as a client that never reads would). */
static int flood_closed(int fd)
{
	char b;
	struct pollfd p = {fd, POLLIN | POLLRDHUP, 0};

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLRDHUP | POLLERR))
		return 1;
	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

int main(int argc, char **argv)
{
	static int idle[FLOOD_IDLE_MAX];
	long count = 20000, nidle = 0, secs = 10, wrote;
	unsigned long type = 0x0309;
	int c, fd, connected = 0, closed = 0, flood_gone = 0;
	uint64_t end;

	while ((c = getopt(argc, argv, "n:i:t:d:")) != -1) {
		switch (c) {
		case 'n':
			count = strtol(optarg, NULL, 0);
			break;
		case 'i':
			nidle = strtol(optarg, NULL, 0);
			break;
		case 't':
			type = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			secs = strtol(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || count < 1 || nidle < 0 || nidle > FLOOD_IDLE_MAX || secs < 0 ||
	    type > 0xffff)
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	for (long i = 0; i < nidle; i++) {
		idle[i] = ctl_connect(argv[optind], 0);
		if (idle[i] < 0) {
			fprintf(stderr, "common_ctl_flood: idle %ld: connect: %s\n", i,
				strerror(-idle[i]));
			return 1;
		}
		connected++;
	}
	fd = ctl_connect(argv[optind], 0);
	if (fd < 0) {
		fprintf(stderr, "common_ctl_flood: connect %s: %s\n", argv[optind], strerror(-fd));
		return 1;
	}
	wrote = flood_write(fd, (uint16_t)type, count);
	printf("flood: wrote %ld of %ld requests\nidle: %d of %ld connected\nready\n", wrote, count,
	       connected, nidle);
	fflush(stdout);
	for (end = now_ms() + (uint64_t)secs * 1000; now_ms() < end;)
		usleep(50000);
	flood_gone = flood_closed(fd);
	for (int i = 0; i < connected; i++)
		closed += flood_closed(idle[i]);
	printf("closed: flood %s, idle %d of %d\n", flood_gone ? "yes" : "no", closed, connected);
	return 0;
usage:
	fprintf(stderr,
		"usage: common_ctl_flood [-n COUNT] [-i IDLE] [-t TYPE] [-d SECONDS] SOCKET\n");
	return 2;
}
