#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
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

int ctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sun;
	int fd, rc = ctl_addr(path, &sun);

	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
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
