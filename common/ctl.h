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
/* Connects to `path`; returns a blocking fd or -errno. timeout_ms > 0
 * bounds the connect (a server whose backlog stays full: -EAGAIN) and each
 * recv; 0 waits for the accept and each recv as long as it takes. */
int ctl_connect(const char *path, int timeout_ms);
/* The same for an event loop: one try, never blocks; the fd is
 * non-blocking; -EAGAIN when the server's backlog is full. */
int ctl_connect_nb(const char *path);
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
/*
 * Passing file descriptors (SCM_RIGHTS) with a message: a vmm gets its
 * control socket and TAP this way, a migration its connection. The fds
 * ride on the message's first bytes. A receiver takes at most CTL_FDS_MAX
 * per message, each close-on-exec (MSG_CMSG_CLOEXEC). The plain receivers
 * (ctl_recv, ctl_conn_read) pass no control buffer, so the kernel drops
 * any fd a peer attaches there: nothing leaks into a daemon.
 */
#define CTL_FDS_MAX 8u

struct ctl_fds {
	int fd[CTL_FDS_MAX];
	unsigned n;
};

/* ctl_send with fds[0..nfds) attached (1..CTL_FDS_MAX, else -EINVAL). The
 * fds stay open here; the peer gets its own copies. 0 or -errno. */
int ctl_send_fds(int fd, uint16_t type, uint16_t flags, const void *payload, uint32_t len,
		 const int *fds, unsigned nfds);
/* ctl_recv that also takes the message's fds into out (close-on-exec). The
 * whole message is read even when its fds are wrong, so the stream stays
 * in step; then fewer than `min` or more than `max` fds, a truncated
 * control message (more than CTL_FDS_MAX sent), a control message of
 * another kind or a malformed length give -EBADMSG with every received fd
 * closed. On any error out->n is 0 and no fd is left open. Returns the
 * payload length, like ctl_recv. */
int ctl_recv_fds(int fd, struct ctl_hdr *hdr, void *buf, size_t cap, struct ctl_fds *out,
		 unsigned min, unsigned max);
/* Closes out's fds; safe twice. */
void ctl_fds_close(struct ctl_fds *out);

/* Parses an error reply payload into err (negative errno) and a message. */
void ctl_parse_error(const void *payload, size_t len, int *err, char *msg, size_t msgcap);

/* Non-blocking: returns 1 when a whole message is in conn (call
 * ctl_conn_consume after handling it), 0 if more bytes are needed,
 * -EMSGSIZE for an oversized message, -ECONNRESET on EOF, or -errno. */
int ctl_conn_read(struct ctl_conn *conn);
void ctl_conn_consume(struct ctl_conn *conn);

/*
 * Per-client output queue for daemons (ctl_out.c): replies are queued whole
 * and written with non-blocking sends when the socket is writable, so a
 * client that does not read never blocks the loop that serves the others.
 *
 * The bound: a reply is refused with -ENOBUFS when the client's unread
 * backlog plus the reply would pass `max`. A reply queued while nothing is
 * pending is always accepted, whatever its size, so one large listing is
 * never refused; a server that reads no request while ctl_out_pending is
 * non-zero (back-pressure) therefore holds at most one reply per client,
 * and the bound catches replies it queues without a request (streams,
 * late answers) to a client that stopped reading.
 */
#define CTL_OUT_MAX_DEFAULT (256u * 1024u)

struct ctl_out {
	uint8_t *buf;
	size_t off; /* first unsent byte */
	size_t len; /* bytes queued after off */
	size_t cap;
	size_t max;    /* the bound on len, see above */
	uint64_t sent; /* bytes written so far (progress, for idle checks) */
};

void ctl_out_init(struct ctl_out *o, size_t max);
/* Frees the queue; what was not sent is lost. Safe twice. */
void ctl_out_fini(struct ctl_out *o);
/* 0 if `need` more bytes may be queued under the bound, else -ENOBUFS. */
int ctl_out_room(const struct ctl_out *o, size_t need);
/* Queues one message without checking the bound (the caller checked the
 * whole reply with ctl_out_room). Returns 0, -EMSGSIZE over CTL_MSG_MAX,
 * or -ENOMEM. */
int ctl_out_msg(struct ctl_out *o, uint16_t type, uint16_t flags, const void *payload,
		uint32_t len);
/* One-message reply: checks the bound, then queues. 0 or -errno. */
int ctl_out_reply(struct ctl_out *o, uint16_t type, uint16_t flags, const void *payload,
		  uint32_t len);
/* ctl_send_error's message as a one-message reply. */
int ctl_out_error(struct ctl_out *o, uint16_t type, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes what the socket takes now (MSG_DONTWAIT, MSG_NOSIGNAL). Returns
 * the bytes still queued (0: all sent) or -errno (-EPIPE: the peer left). */
ssize_t ctl_out_flush(struct ctl_out *o, int fd);
static inline size_t ctl_out_pending(const struct ctl_out *o)
{
	return o->len;
}

#endif
