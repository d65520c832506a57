/*
 * Control-socket framing shared by vmm, migrated and vnetd and their CLIs.
 *
 * Unix stream sockets, mode 0660, peer checked with SO_PEERCRED. Every
 * message is a struct ctl_hdr followed by `len` payload bytes; `len` is
 * checked against CTL_MSG_MAX before anything is allocated or read, and a
 * peer that sends more is refused and disconnected. Replies carry
 * CTL_F_REPLY; a failed request is answered with CTL_F_ERROR and a payload
 * of "<negative errno as decimal> <message>" text (see ctl_send_error).
 */
#ifndef TERN_CTL_H
#define TERN_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_MSG_MAX (64u * 1024u)

#define CTL_F_REPLY 0x1u
#define CTL_F_ERROR 0x2u
#define CTL_F_MORE 0x4u /* a streamed reply continues (e.g. console) */

struct ctl_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
};

/* Incremental reader for non-blocking daemon sockets. */
struct ctl_conn {
	int fd;
	size_t have;		  /* bytes of hdr + payload read so far */
	struct ctl_hdr hdr;	  /* valid once have >= sizeof(hdr) */
	uint8_t buf[CTL_MSG_MAX]; /* payload */
};

/* Binds and listens on `path` (a stale socket file is replaced), mode 0660.
 * Returns the listening fd (non-blocking, close-on-exec) or -errno. */
int ctl_listen(const char *path);
/* Connects to `path`; returns fd or -errno. timeout_ms bounds each recv. */
int ctl_connect(const char *path, int timeout_ms);
/* Returns 0 if the peer is root or has our uid, else -EPERM. */
int ctl_peer_check(int fd);

int ctl_send(int fd, uint16_t type, uint16_t flags, const void *payload, uint32_t len);
/* Sends CTL_F_REPLY|CTL_F_ERROR with "err message". */
int ctl_send_error(int fd, uint16_t type, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Blocking receive of one message into buf (cap bytes). Returns payload
 * length, -EMSGSIZE if the peer announced more than cap, -ECONNRESET on EOF,
 * or another -errno. */
int ctl_recv(int fd, struct ctl_hdr *hdr, void *buf, size_t cap);
/* Parses an error reply payload into err (negative errno) and a message. */
void ctl_parse_error(const void *payload, size_t len, int *err, char *msg, size_t msgcap);

/* Non-blocking: returns 1 when a whole message is in conn (call
 * ctl_conn_consume after handling it), 0 if more bytes are needed,
 * -EMSGSIZE for an oversized message, -ECONNRESET on EOF, or -errno. */
int ctl_conn_read(struct ctl_conn *conn);
void ctl_conn_consume(struct ctl_conn *conn);

#endif
