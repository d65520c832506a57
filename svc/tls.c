/*
 * tls: OpenSSL on the ev loop. See tls.h for the contract.
 *
 * One ev_io per connection whose interest is recomputed by tls_conn_arm
 * from the state: during the handshake, what the last SSL_do_handshake
 * waited for; afterwards, for each of read and write the user asked for,
 * what the last SSL_read/SSL_write waited for (EV_READ and EV_WRITE unless
 * OpenSSL said otherwise). Records OpenSSL has already decrypted are not
 * visible on the fd, so a deferred call reports them. User callbacks are
 * always the last thing a handler does, so they may free the connection.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"

#define TLS_PEER_MAX 128

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	enum tls_role role;
};

enum tls_state { TLS_ST_HANDSHAKE, TLS_ST_UP, TLS_ST_FAILED };

struct tls_conn {
	SSL *ssl;
	enum tls_state state;
	int err; /* the failure, once FAILED */
	struct ev_loop *loop;
	struct ev_io io;
	struct ev_timer timer;
	struct ev_defer pending; /* reports records OpenSSL holds decrypted */
	unsigned hs_needs;	 /* fd events the handshake waits for */
	unsigned read_needs;	 /* fd events the last read waits for */
	unsigned write_needs;	 /* fd events the last write waits for */
	unsigned want;		 /* EV_READ|EV_WRITE the user asked for */
	unsigned timeout_ms;
	tls_conn_handshake_cb handshake_cb;
	tls_conn_io_cb io_cb;
	void *arg;
	char peer[TLS_PEER_MAX];
	char errmsg[TLS_ERRMSG_MAX];
};

/* OpenSSL's reason for the oldest queued error, "" if none; clears the
 * queue so the next call starts clean. */
static void tls_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	buf[0] = '\0';
	if (e)
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

static struct tls_ctx *tls_ctx_fail(struct tls_ctx *ctx, const char *file, const char *what,
				    char *errmsg, size_t errlen)
{
	unsigned long e = ERR_peek_error();
	char reason[256];

	tls_reason(reason, sizeof(reason));
	snprintf(errmsg, errlen, "%s: %s: %s", file, what, *reason ? reason : "failed");
	tls_ctx_free(ctx);
	/* A file that cannot be opened keeps its errno (ENOENT, EACCES). */
	errno = e && ERR_GET_LIB(e) == ERR_LIB_SYS ? ERR_GET_REASON(e) : EINVAL;
	return NULL;
}

/* The certificate, key and CA; then TLS 1.3 only, mutual verification. */
static struct tls_ctx *tls_ctx_load(struct tls_ctx *ctx, const struct tls_files *files,
				    char *errmsg, size_t errlen)
{
	SSL_CTX *s = ctx->ssl_ctx;

	if (SSL_CTX_load_verify_locations(s, files->ca, NULL) != 1)
		return tls_ctx_fail(ctx, files->ca, "CA", errmsg, errlen);
	if (SSL_CTX_use_certificate_chain_file(s, files->cert) != 1)
		return tls_ctx_fail(ctx, files->cert, "certificate", errmsg, errlen);
	if (SSL_CTX_use_PrivateKey_file(s, files->key, SSL_FILETYPE_PEM) != 1)
		return tls_ctx_fail(ctx, files->key, "key", errmsg, errlen);
	if (SSL_CTX_check_private_key(s) != 1)
		return tls_ctx_fail(ctx, files->key, "key does not match the certificate", errmsg,
				    errlen);
	if (ctx->role == TLS_SERVER) {
		/* The CA names a server sends tell a client which certificate
		 * to present. */
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(files->ca);
		if (!names)
			return tls_ctx_fail(ctx, files->ca, "CA names", errmsg, errlen);
		SSL_CTX_set_client_CA_list(s, names);
		SSL_CTX_set_num_tickets(s, 0);
	}
	SSL_CTX_set_verify(
	    s, SSL_VERIFY_PEER | (ctx->role == TLS_SERVER ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
	    NULL);
	return ctx;
}

struct tls_ctx *tls_ctx_new(enum tls_role role, const struct tls_files *files, char *errmsg,
			    size_t errlen)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));

	if (errlen)
		errmsg[0] = '\0';
	if (!ctx) {
		snprintf(errmsg, errlen, "TLS context: %s", strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	ctx->role = role;
	ERR_clear_error();
	ctx->ssl_ctx = SSL_CTX_new(role == TLS_SERVER ? TLS_server_method() : TLS_client_method());
	if (!ctx->ssl_ctx)
		return tls_ctx_fail(ctx, "TLS", "context", errmsg, errlen);
	if (SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx->ssl_ctx, TLS1_3_VERSION) != 1)
		return tls_ctx_fail(ctx, "TLS", "TLS 1.3 only", errmsg, errlen);
	SSL_CTX_set_mode(ctx->ssl_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, SSL_SESS_CACHE_OFF);
	return tls_ctx_load(ctx, files, errmsg, errlen);
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* The fd interest the state calls for; a watcher with nothing to wait for
 * is stopped, so a hung-up fd cannot spin the loop. */
static void tls_conn_arm(struct tls_conn *c)
{
	unsigned events = 0;

	if (c->state == TLS_ST_HANDSHAKE)
		events = c->hs_needs;
	else if (c->state == TLS_ST_UP)
		events = (c->want & EV_READ ? c->read_needs : 0) |
			 (c->want & EV_WRITE ? c->write_needs : 0);
	if (!events) {
		ev_io_stop(&c->io);
		return;
	}
	if (ev_io_active(&c->io))
		ev_io_set(&c->io, events);
	else
		ev_io_start(c->loop, &c->io, events);
	if (c->state == TLS_ST_UP && (c->want & EV_READ) && SSL_has_pending(c->ssl))
		ev_defer_schedule(c->loop, &c->pending);
}

/* The errno for an OpenSSL failure, and its reason text in buf. */
static int tls_conn_classify(struct tls_conn *c, int ssl_err, int sys_errno, char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	long verify = SSL_get_verify_result(c->ssl);
	int err = -EPROTO;

	if (ssl_err == SSL_ERROR_SYSCALL && !e) {
		snprintf(buf, len, "%s", sys_errno ? strerror(sys_errno) : "connection closed");
		ERR_clear_error();
		return sys_errno ? -sys_errno : -ECONNRESET;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		err = -ECONNRESET;
	else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		 (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED ||
		  ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE))
		err = -EKEYREJECTED;
	tls_reason(buf, len);
	if (!*buf)
		snprintf(buf, len, "SSL error %d", ssl_err);
	if (err == -EKEYREJECTED && verify != X509_V_OK) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, " (%s)", X509_verify_cert_error_string(verify));
	}
	return err;
}

/* Marks the connection dead with its message; returns the errno. */
static int tls_conn_fail(struct tls_conn *c, const char *step, int ssl_err, int sys_errno)
{
	char reason[384];

	c->err = tls_conn_classify(c, ssl_err, sys_errno, reason, sizeof(reason));
	snprintf(c->errmsg, sizeof(c->errmsg), "peer %s: TLS %s: %s", c->peer, step, reason);
	c->state = TLS_ST_FAILED;
	ev_timer_stop(&c->timer);
	ev_defer_cancel(&c->pending);
	tls_conn_arm(c);
	log_debug("tls: %s", c->errmsg);
	return c->err;
}

static void tls_conn_handshake(struct tls_conn *c)
{
	int rc, e;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->state = TLS_ST_UP;
		ev_timer_stop(&c->timer);
		tls_conn_arm(c);
		c->handshake_cb(c, 0, c->arg);
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->hs_needs = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		tls_conn_arm(c);
		return;
	}
	c->handshake_cb(c, tls_conn_fail(c, "handshake", e, errno), c->arg);
}

static void tls_conn_on_timeout(struct ev_timer *timer, void *arg)
{
	struct tls_conn *c = arg;

	(void)timer;
	snprintf(c->errmsg, sizeof(c->errmsg), "peer %s: TLS handshake: timed out after %u ms",
		 c->peer, c->timeout_ms);
	c->err = -ETIMEDOUT;
	c->state = TLS_ST_FAILED;
	tls_conn_arm(c);
	log_debug("tls: %s", c->errmsg);
	c->handshake_cb(c, -ETIMEDOUT, c->arg);
}

static void tls_conn_on_io(struct ev_io *io, unsigned events, void *arg)
{
	struct tls_conn *c = arg;
	unsigned ready = 0;

	(void)io;
	if (c->state == TLS_ST_HANDSHAKE) {
		tls_conn_handshake(c);
		return;
	}
	if (c->state != TLS_ST_UP)
		return;
	/* An error or hang-up is reported as readiness: the call that the
	 * user then makes returns what went wrong. */
	if ((c->want & EV_READ) && (events & (c->read_needs | EV_ERROR)))
		ready |= EV_READ;
	if ((c->want & EV_WRITE) && (events & (c->write_needs | EV_ERROR)))
		ready |= EV_WRITE;
	if (ready)
		c->io_cb(c, ready, c->arg);
}

static void tls_conn_on_pending(struct ev_defer *defer, void *arg)
{
	struct tls_conn *c = arg;

	(void)defer;
	if (c->state == TLS_ST_UP && (c->want & EV_READ) && SSL_has_pending(c->ssl))
		c->io_cb(c, EV_READ, c->arg);
}

static int tls_conn_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, struct ev_loop *loop, int fd,
			      const struct tls_conn_opts *opts)
{
	struct tls_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	ev_io_init(&c->io, fd, tls_conn_on_io, c);
	ev_timer_init(&c->timer, tls_conn_on_timeout, c);
	ev_defer_init(&c->pending, tls_conn_on_pending, c);
	c->loop = loop;
	c->handshake_cb = opts->handshake_cb;
	c->io_cb = opts->io_cb;
	c->arg = opts->arg;
	c->timeout_ms = opts->handshake_timeout_ms ? opts->handshake_timeout_ms
						   : TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT;
	c->read_needs = EV_READ;
	c->write_needs = EV_WRITE;
	snprintf(c->peer, sizeof(c->peer), "%s", opts->peer ? opts->peer : "?");
	/* A client speaks first (once connected); a server listens. */
	c->hs_needs = ctx->role == TLS_CLIENT ? EV_WRITE : EV_READ;
	if ((err = tls_conn_nonblock(fd)) < 0)
		goto fail;
	err = -ENOMEM;
	if (!(c->ssl = SSL_new(ctx->ssl_ctx)) || SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	if (ctx->role == TLS_CLIENT)
		SSL_set_connect_state(c->ssl);
	else
		SSL_set_accept_state(c->ssl);
	if ((err = ev_timer_start(loop, &c->timer, c->timeout_ms, 0)) < 0)
		goto fail;
	if ((err = ev_io_start(loop, &c->io, c->hs_needs)) < 0)
		goto fail;
	return c;
fail:
	ERR_clear_error();
	tls_conn_free(c);
	errno = -err;
	return NULL;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	ev_io_stop(&c->io);
	ev_timer_stop(&c->timer);
	ev_defer_cancel(&c->pending);
	SSL_free(c->ssl);
	if (c->io.fd >= 0)
		close(c->io.fd);
	free(c);
}

int tls_conn_want(struct tls_conn *c, unsigned events)
{
	if (events & ~(EV_READ | EV_WRITE))
		return -EINVAL;
	if (c->state != TLS_ST_UP)
		return -ENOTCONN;
	c->want = events;
	if (!(events & EV_READ))
		ev_defer_cancel(&c->pending);
	tls_conn_arm(c);
	return 0;
}

/* After SSL_read_ex/SSL_write_ex returned 0: -EAGAIN with the fd re-armed
 * for what OpenSSL waits for, 0 for close_notify, else the failure. */
static int tls_conn_again(struct tls_conn *c, int rc, unsigned *needs, const char *step)
{
	int e = SSL_get_error(c->ssl, rc);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*needs = e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE;
		tls_conn_arm(c);
		return -EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	return tls_conn_fail(c, step, e, errno);
}

int tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
	size_t n = 0;

	if (c->state != TLS_ST_UP)
		return c->state == TLS_ST_FAILED ? c->err : -ENOTCONN;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(c->ssl, buf, len < INT_MAX ? len : INT_MAX, &n) != 1)
		return tls_conn_again(c, 0, &c->read_needs, "read");
	c->read_needs = EV_READ;
	tls_conn_arm(c);
	return (int)n;
}

int tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
	size_t n = 0;
	int rc;

	if (c->state != TLS_ST_UP)
		return c->state == TLS_ST_FAILED ? c->err : -ENOTCONN;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(c->ssl, buf, len < INT_MAX ? len : INT_MAX, &n) != 1) {
		rc = tls_conn_again(c, 0, &c->write_needs, "write");
		/* A write never sees close_notify as success. */
		return rc == 0 ? -EPIPE : rc;
	}
	c->write_needs = EV_WRITE;
	tls_conn_arm(c);
	return (int)n;
}

int tls_conn_shutdown(struct tls_conn *c)
{
	int rc;

	if (c->state != TLS_ST_UP)
		return c->state == TLS_ST_FAILED ? c->err : -ENOTCONN;
	ERR_clear_error();
	errno = 0;
	rc = SSL_shutdown(c->ssl);
	if (rc >= 0 && (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN) &&
	    SSL_want(c->ssl) != SSL_WRITING)
		return 0;
	return tls_conn_again(c, rc, &c->write_needs, "shutdown");
}

const char *tls_conn_errmsg(const struct tls_conn *c)
{
	return c->errmsg;
}

const char *tls_conn_peer(const struct tls_conn *c)
{
	return c->peer;
}

const char *tls_conn_version(const struct tls_conn *c)
{
	return c->state == TLS_ST_UP ? SSL_get_version(c->ssl) : "";
}

int tls_conn_peer_subject(const struct tls_conn *c, char *buf, size_t len)
{
	X509 *x = c->ssl ? SSL_get0_peer_certificate(c->ssl) : NULL;
	char *text;
	long n;
	BIO *b;
	int rc = 0;

	if (!x)
		return -ENOENT;
	if (!(b = BIO_new(BIO_s_mem())))
		return -ENOMEM;
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(b, &text);
	if (n < 0 || (size_t)n >= len)
		rc = -ENOSPC;
	else
		snprintf(buf, len, "%.*s", (int)n, text);
	BIO_free(b);
	return rc;
}

/* One subjectAltName as "DNS:name" or "IP:addr", "" for other kinds. */
static void tls_san_str(const GENERAL_NAME *gn, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "";
	const unsigned char *d;
	int n;

	buf[0] = '\0';
	if (gn->type == GEN_DNS) {
		d = ASN1_STRING_get0_data(gn->d.dNSName);
		n = ASN1_STRING_length(gn->d.dNSName);
		snprintf(buf, len, "DNS:%.*s", n, (const char *)d);
	} else if (gn->type == GEN_IPADD) {
		d = ASN1_STRING_get0_data(gn->d.iPAddress);
		n = ASN1_STRING_length(gn->d.iPAddress);
		if (n == 4 || n == 16)
			inet_ntop(n == 4 ? AF_INET : AF_INET6, d, addr, sizeof(addr));
		snprintf(buf, len, "IP:%s", addr);
	}
}

int tls_conn_peer_sans(const struct tls_conn *c, char *buf, size_t len)
{
	X509 *x = c->ssl ? SSL_get0_peer_certificate(c->ssl) : NULL;
	GENERAL_NAMES *names;
	size_t off = 0;
	int rc = 0;

	if (!x)
		return -ENOENT;
	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		char one[300];
		int n;

		tls_san_str(sk_GENERAL_NAME_value(names, i), one, sizeof(one));
		if (!*one)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", one);
		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0';
			rc = -ENOSPC;
			break;
		}
		off += (size_t)n;
	}
	GENERAL_NAMES_free(names);
	return rc;
}

int tls_conn_expect_name(struct tls_conn *c, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	struct in6_addr a6;
	struct in_addr a4;
	int ok;

	ERR_clear_error();
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(vp, name);
	else
		ok = X509_VERIFY_PARAM_set1_host(vp, name, 0);
	ERR_clear_error();
	return ok == 1 ? 0 : -EINVAL;
}

int tls_conn_export_key(struct tls_conn *c, const char *label, void *out, size_t len)
{
	if (c->state != TLS_ST_UP)
		return -ENOTCONN;
	ERR_clear_error();
	if (SSL_export_keying_material(c->ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
		ERR_clear_error();
		return -EPROTO;
	}
	return 0;
}

int tls_conn_release_fd(struct tls_conn *c)
{
	int fd = c->io.fd, fl;

	if (fd < 0)
		return -EBADF;
	ev_io_stop(&c->io);
	ev_timer_stop(&c->timer);
	ev_defer_cancel(&c->pending);
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->io.fd = -1;
	c->state = TLS_ST_FAILED;
	c->err = -ENOTCONN;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}
