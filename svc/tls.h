/*
 * tls: TLS 1.3 with mutual certificate authentication on non-blocking
 * sockets driven by the ev loop (OpenSSL 3). For migrated's relocation
 * server and its client (DESIGN.md section 5), and any other daemon link
 * that crosses hosts.
 *
 * A struct tls_ctx is one side's identity and trust: our certificate and
 * key, and the cluster CA that the peer's certificate must chain to. Only
 * TLS 1.3 is offered or accepted. Both sides present a certificate: a
 * server refuses a client without one, and each side refuses a peer whose
 * certificate does not verify against the CA. No session tickets, no
 * resumption: every connection is a full handshake.
 *
 * A struct tls_conn is one connection on a non-blocking stream socket it
 * owns (tls_conn_free closes it). The handshake is a state machine run by
 * the loop: each SSL_ERROR_WANT_READ/WANT_WRITE re-arms the fd for that
 * event, a timer bounds the whole handshake, and the handshake callback
 * reports the outcome once. Then tls_conn_read/tls_conn_write never block:
 * they return -EAGAIN and re-arm the fd for what OpenSSL waits for (a read
 * may need the socket writable and a write readable), and the io callback
 * says when to call them again for the events asked with tls_conn_want.
 *
 * Errors are negative errno values: -ETIMEDOUT (handshake timer),
 * -EKEYREJECTED (the peer's certificate is missing or does not verify),
 * -ECONNRESET (the peer closed or reset mid-stream), -EPROTO (anything else
 * TLS refused: version, alert, garbage), or the socket's errno. Each failure
 * leaves one message in the connection, read with tls_conn_errmsg(), that
 * names the peer, the step and OpenSSL's reason (ERR_error_string_n), with
 * the certificate verification result when there is one:
 *   "peer 10.0.0.2:8002: TLS handshake: error:0A000086:SSL routines::
 *    certificate verify failed (unable to get local issuer certificate)"
 * Like every library here it logs nothing above debug; the daemon logs the
 * message. A failed connection stays allocated until tls_conn_free.
 *
 * Writing to a peer that has gone raises SIGPIPE: daemons ignore it.
 * Not thread-safe: one loop, one thread.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "ev.h"

struct tls_ctx;
struct tls_conn;

#define TLS_ERRMSG_MAX 512
#define TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT 10000

enum tls_role { TLS_SERVER, TLS_CLIENT };

/* PEM files, as the (tls-ca), (tls-cert) and (tls-key) config keys. */
struct tls_files {
	const char *ca;	  /* the cluster CA: the peer's certificate must chain to it */
	const char *cert; /* our certificate, optionally followed by its chain */
	const char *key;  /* its private key */
};

/* Loads the files and sets TLS 1.3 only with mutual verification. Returns
 * NULL with errno set and one line in errmsg (errlen bytes) naming the file
 * and OpenSSL's reason: "/etc/tern/tls/host.pem: certificate: error:...". */
struct tls_ctx *tls_ctx_new(enum tls_role role, const struct tls_files *files, char *errmsg,
			    size_t errlen);
/* Connections made from ctx keep what they need; NULL is a no-op. */
void tls_ctx_free(struct tls_ctx *ctx);

/* The handshake's outcome, once: err 0 when it completed (the peer's
 * certificate verified), else a negative errno with tls_conn_errmsg set.
 * The callback may free the connection. */
typedef void (*tls_conn_handshake_cb)(struct tls_conn *c, int err, void *arg);
/* After the handshake: events (EV_READ, EV_WRITE) are those asked with
 * tls_conn_want for which tls_conn_read or tls_conn_write may now make
 * progress; call them until -EAGAIN. May free the connection. */
typedef void (*tls_conn_io_cb)(struct tls_conn *c, unsigned events, void *arg);

struct tls_conn_opts {
	const char *peer;	       /* the peer's name in messages, e.g. "10.0.0.2:8002" */
	unsigned handshake_timeout_ms; /* 0: TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT */
	tls_conn_handshake_cb handshake_cb;
	tls_conn_io_cb io_cb;
	void *arg;
};

/* Starts a handshake on fd, a connected (or connecting: the handshake waits
 * for it) stream socket, which is made non-blocking and owned by the
 * connection from now on, even when this fails. The role is the ctx's. No
 * callback runs before the loop does. Returns NULL with errno set. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, struct ev_loop *loop, int fd,
			      const struct tls_conn_opts *opts);
/* Stops every watcher, frees the TLS state and closes the fd, without a
 * close_notify (see tls_conn_shutdown). NULL is a no-op. Safe in callbacks. */
void tls_conn_free(struct tls_conn *c);

/* Asks for the io callback when a read (EV_READ) or a write (EV_WRITE) may
 * progress; 0 asks for nothing. Returns 0, -EINVAL for other bits, or
 * -ENOTCONN before the handshake completed or after a failure. */
int tls_conn_want(struct tls_conn *c, unsigned events);
/* Returns the bytes read (> 0), 0 when the peer closed with close_notify,
 * -EAGAIN, or a negative errno (message set; the connection is then dead).
 * -ENOTCONN before the handshake completed. */
int tls_conn_read(struct tls_conn *c, void *buf, size_t len);
/* Returns the bytes taken (> 0, maybe fewer than len), -EAGAIN (retry with
 * the same or other data), or a negative errno as tls_conn_read. */
int tls_conn_write(struct tls_conn *c, const void *buf, size_t len);
/* Sends our close_notify. Returns 0 or -EAGAIN (call again when writable),
 * or a negative errno. */
int tls_conn_shutdown(struct tls_conn *c);

/* Client only, before the loop runs the handshake: the server's
 * certificate must name `name`, by IP SAN when name is an IP address,
 * else by DNS SAN (the subject's CN is never used). A mismatch fails the
 * handshake with -EKEYREJECTED ("... (hostname mismatch)"). 0 or -errno. */
int tls_conn_expect_name(struct tls_conn *c, const char *name);
/* After the handshake: len bytes of keying material (RFC 8446 7.5) for
 * `label`, no context. 0, -ENOTCONN before the handshake, or -EPROTO. */
int tls_conn_export_key(struct tls_conn *c, const char *label, void *out, size_t len);
/* Ends the connection but keeps its socket: stops the watchers, frees the
 * TLS state and returns the fd (blocking mode restored), now the caller's.
 * For handing a connection on once both close_notify were exchanged: with
 * read-ahead off OpenSSL has consumed no byte past the last record it
 * returned. -EBADF if the fd was already given away. */
int tls_conn_release_fd(struct tls_conn *c);

/* The last failure's one line, "" if none. */
const char *tls_conn_errmsg(const struct tls_conn *c);
/* The peer name given in the options. */
const char *tls_conn_peer(const struct tls_conn *c);
/* "TLSv1.3" once the handshake completed, else "". */
const char *tls_conn_version(const struct tls_conn *c);
/* The verified peer certificate's subject in RFC 2253 form ("CN=host1,O=
 * Tern") and its subjectAltNames ("DNS:host1.example, IP:10.97.0.1", "" if
 * none), for logs and for hosts-allow. Return 0, -ENOENT without a peer
 * certificate (before the handshake), or -ENOSPC if len is too small. */
int tls_conn_peer_subject(const struct tls_conn *c, char *buf, size_t len);
int tls_conn_peer_sans(const struct tls_conn *c, char *buf, size_t len);

#endif
