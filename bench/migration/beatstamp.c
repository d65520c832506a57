/*
 * beatstamp: prefixes each line read from stdin with the host's
 * CLOCK_MONOTONIC time in ns at which its first byte arrived, and writes it to
 * stdout (flushed per read, so a log on disk is complete when the source
 * stops). bench/migration/run pipes each side's guest console through it;
 * the gap between the source's last heartbeat line and the destination's
 * first is the downtime as the guest sees it. The first byte, not the
 * newline: a vCPU stopped between the two bytes of a beat finishes the
 * line only when its process exits (QEMU) or on the destination.
 *
 *   guest console ──> beatstamp ──> "<ns> <line>" per line
 *
 * `beatstamp --now` prints the current CLOCK_MONOTONIC ns (the script's
 * marks on the same clock). Lines longer than the buffer are cut; the rest
 * of such a line is dropped.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
	unsigned long long t; /* arrival of the first byte */
	int open;	      /* some byte of this line has arrived */
};

/* Feeds n bytes read at time t; prints each line the bytes complete. */
static void feed(struct line *l, const char *p, size_t n, unsigned long long t)
{
	for (size_t i = 0; i < n; i++) {
		if (!l->open) {
			l->open = 1;
			l->t = t;
		}
		if (p[i] == '\n') {
			printf("%llu %.*s\n", l->t, (int)l->len, l->buf);
			l->len = 0;
			l->open = 0;
		} else if (p[i] != '\r' && l->len < sizeof(l->buf)) {
			l->buf[l->len++] = p[i];
		}
	}
}

int main(int argc, char **argv)
{
	static struct line l;
	char buf[4096];

	if (argc == 2 && strcmp(argv[1], "--now") == 0) {
		printf("%llu\n", now_ns());
		return fflush(stdout) ? 1 : 0;
	}
	if (argc > 1) {
		fprintf(strcmp(argv[1], "--help") == 0 ? stdout : stderr,
			"usage: %s < console > stamped\n"
			"       %s --now\n"
			"Prefixes each line with CLOCK_MONOTONIC ns at its first byte;\n"
			"--now prints that clock once.\n",
			argv[0], argv[0]);
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "beatstamp: read stdin: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		feed(&l, buf, (size_t)n, now_ns());
		if (fflush(stdout)) {
			fprintf(stderr, "beatstamp: write stdout: %s\n", strerror(errno));
			return 1;
		}
	}
	if (l.open)
		printf("%llu %.*s\n", l.t, (int)l.len, l.buf);
	return fflush(stdout) ? 1 : 0;
}
