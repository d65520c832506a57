#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int ctl_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int ctl_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc = ctl_addr(path, &sun);

	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Connects without blocking: a server that does not accept (stopped,
 * stuck) lets its backlog fill, and a blocking connect() would then wait
 * for ever. Tries until timeout_ms passed (0: once); -EAGAIN then. A
 * blocking socket (block) waits in connect instead (timeout_ms unused). */
static int ctl_connect_try(const struct sockaddr_un *sun, int timeout_ms, int block)
{
	struct timespec t0, now;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (block ? 0 : SOCK_NONBLOCK), 0);
	if (fd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0) {
		rc = -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (rc != -EAGAIN || ms >= timeout_ms) {
			close(fd);
			return rc;
		}
		usleep(10000);
	}
	return fd;
}

int ctl_connect_nb(const char *path)
{
	struct sockaddr_un sun;
	int rc = ctl_addr(path, &sun);

	return rc < 0 ? rc : ctl_connect_try(&sun, 0, 0);
}

int ctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sun;
	int fd, rc = ctl_addr(path, &sun);

	if (rc < 0)
		return rc;
	/* No timeout: as a blocking connect always did, wait for the accept. */
	if ((fd = ctl_connect_try(&sun, timeout_ms, timeout_ms <= 0)) < 0)
		return fd;
	if (timeout_ms > 0 && fcntl(fd, F_SETFL, 0) < 0) { /* callers block */
		rc = -errno;
		close(fd);
		return rc;
	}
	if (timeout_ms > 0) {
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

int ctl_peer_check(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.uid == 0 || cred.uid == getuid())
		return 0;
	return -EPERM;
}

static int ctl_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int ctl_send(int fd, uint16_t type, uint16_t flags, const void *payload, uint32_t len)
{
	struct ctl_hdr hdr = {type, flags, len};
	int rc;

	if (len > CTL_MSG_MAX)
		return -EMSGSIZE;
	rc = ctl_write_all(fd, &hdr, sizeof(hdr));
	if (rc == 0 && len)
		rc = ctl_write_all(fd, payload, len);
	return rc;
}

int ctl_send_error(int fd, uint16_t type, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "%d ", err);

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return ctl_send(fd, type, CTL_F_REPLY | CTL_F_ERROR, msg, (uint32_t)strlen(msg));
}

static int ctl_read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = recv(fd, b, n, 0);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int ctl_recv(int fd, struct ctl_hdr *hdr, void *buf, size_t cap)
{
	int rc = ctl_read_all(fd, hdr, sizeof(*hdr));

	if (rc < 0)
		return rc;
	if (hdr->len > cap || hdr->len > CTL_MSG_MAX)
		return -EMSGSIZE;
	rc = ctl_read_all(fd, buf, hdr->len);
	return rc < 0 ? rc : (int)hdr->len;
}

int ctl_send_fds(int fd, uint16_t type, uint16_t flags, const void *payload, uint32_t len,
		 const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(CTL_FDS_MAX * sizeof(int))];
	} cbuf;
	struct ctl_hdr hdr = {type, flags, len};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)payload, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	struct cmsghdr *cm;
	ssize_t w;

	if (len > CTL_MSG_MAX)
		return -EMSGSIZE;
	if (nfds == 0 || nfds > CTL_FDS_MAX)
		return -EINVAL;
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	do
		w = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	/* The fds went with the first byte; the rest goes plain. */
	if ((size_t)w < sizeof(hdr)) {
		int rc = ctl_write_all(fd, (uint8_t *)&hdr + w, sizeof(hdr) - (size_t)w);
		return rc < 0 || len == 0 ? rc : ctl_write_all(fd, payload, len);
	}
	w -= (ssize_t)sizeof(hdr);
	return (size_t)w < len ? ctl_write_all(fd, (const uint8_t *)payload + w, len - (size_t)w)
			       : 0;
}

void ctl_fds_close(struct ctl_fds *out)
{
	for (unsigned i = 0; i < out->n; i++)
		close(out->fd[i]);
	out->n = 0;
}

/* Takes the fds of every SCM_RIGHTS message in msg into out; anything
 * else (another type, a bad length, truncation, more than fits) closes what
 * it can and sets *bad. */
static void ctl_take_fds(struct msghdr *msg, struct ctl_fds *out, int *bad)
{
	if (msg->msg_flags & MSG_CTRUNC)
		*bad = 1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t bytes = cm->cmsg_len >= CMSG_LEN(0) ? cm->cmsg_len - CMSG_LEN(0) : 0;
		const uint8_t *data = CMSG_DATA(cm);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0) || bytes % sizeof(int) != 0) {
			*bad = 1;
			continue;
		}
		for (size_t i = 0; i < bytes / sizeof(int); i++) {
			int f;
			memcpy(&f, data + i * sizeof(int), sizeof(f));
			if (out->n < CTL_FDS_MAX) {
				out->fd[out->n++] = f;
			} else {
				close(f);
				*bad = 1;
			}
		}
	}
}

/* Reads exactly n bytes, collecting fds on the way. */
static int ctl_read_fds(int fd, void *p, size_t n, struct ctl_fds *out, int *bad)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(CTL_FDS_MAX * sizeof(int))];
	} cbuf;
	uint8_t *b = p;

	while (n > 0) {
		struct iovec iov = {b, n};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf)};
		ssize_t r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		ctl_take_fds(&msg, out, bad);
		if (r == 0)
			return -ECONNRESET;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int ctl_recv_fds(int fd, struct ctl_hdr *hdr, void *buf, size_t cap, struct ctl_fds *out,
		 unsigned min, unsigned max)
{
	int bad = 0, rc;

	out->n = 0;
	rc = ctl_read_fds(fd, hdr, sizeof(*hdr), out, &bad);
	if (rc == 0 && (hdr->len > cap || hdr->len > CTL_MSG_MAX))
		rc = -EMSGSIZE;
	if (rc == 0)
		rc = ctl_read_fds(fd, buf, hdr->len, out, &bad);
	if (rc == 0 && (bad || out->n < min || out->n > max))
		rc = -EBADMSG;
	if (rc < 0) {
		ctl_fds_close(out);
		return rc;
	}
	return (int)hdr->len;
}

void ctl_parse_error(const void *payload, size_t len, int *err, char *msg, size_t msgcap)
{
	char text[1024];
	char *end;

	if (len >= sizeof(text))
		len = sizeof(text) - 1;
	memcpy(text, payload, len);
	text[len] = '\0';
	long v = strtol(text, &end, 10);
	*err = (v < 0 && v > -4096) ? (int)v : -EIO;
	if (*end == ' ')
		end++;
	snprintf(msg, msgcap, "%s", end);
}

int ctl_conn_read(struct ctl_conn *conn)
{
	for (;;) {
		size_t want = sizeof(conn->hdr);
		uint8_t *dst = (uint8_t *)&conn->hdr + conn->have;

		if (conn->have >= sizeof(conn->hdr)) {
			if (conn->hdr.len > CTL_MSG_MAX)
				return -EMSGSIZE;
			want += conn->hdr.len;
			dst = conn->buf + (conn->have - sizeof(conn->hdr));
		}
		if (conn->have == want)
			return 1;
		ssize_t r = recv(conn->fd, dst, want - conn->have, MSG_DONTWAIT);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
		conn->have += (size_t)r;
		/* Loop: a completed header may be followed by payload. */
	}
}

void ctl_conn_consume(struct ctl_conn *conn)
{
	conn->have = 0;
}
