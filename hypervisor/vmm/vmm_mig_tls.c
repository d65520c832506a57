/*
 * TLS 2 (docs/migration.md): TLS 1.3 with an external PSK, identity
 * "tern-migrate-v1", the 32 bytes both migrateds exported from TLS 1,
 * cipher TLS_AES_128_GCM_SHA256 and (EC)DHE (OpenSSL's default psk_dhe_ke)
 * for forward secrecy. No certificates: the vmm never holds the host's
 * long-term key. The socket is non-blocking; every wait polls in slices
 * of VMM_MIG_SLICE_MS up to its deadline and checks for a cancel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hv_stream.h"
#include "log.h"
#include "vmm_mig.h"

#define VMM_MIG_SLICE_MS 50
/* Socket buffers (the kernel doubles them): the source's is large enough
 * to keep the link busy, the destination's small, since what it has
 * received but not read yet is what it must catch up on after END. */
#define VMM_MIG_SNDBUF (1024 * 1024)
#define VMM_MIG_RCVBUF (256 * 1024)
/* The destination's TLS read buffer (read-ahead): several records. */
#define VMM_MIG_READ_BUF (128 * 1024)

static SSL_CTX *vmm_mig_ctx[2]; /* client, server */
static int vmm_mig_ex_idx = -1; /* SSL ex_data: the key of this connection */

/* A PSK session for the key of ssl, as both callbacks need it. */
static SSL_SESSION *vmm_mig_session(SSL *ssl)
{
	static const unsigned char aes128gcm[2] = {0x13, 0x01};
	const uint8_t *key = SSL_get_ex_data(ssl, vmm_mig_ex_idx);
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm);
	SSL_SESSION *s = key && cipher ? SSL_SESSION_new() : NULL;

	if (s && (!SSL_SESSION_set1_master_key(s, key, VMM_CTL_MIG_KEY_LEN) ||
		  !SSL_SESSION_set_cipher(s, cipher) ||
		  !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION))) {
		SSL_SESSION_free(s);
		s = NULL;
	}
	return s;
}

static int vmm_mig_psk_use(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
			   SSL_SESSION **sess)
{
	SSL_SESSION *s = vmm_mig_session(ssl);

	if (!s)
		return 0;
	if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
		SSL_SESSION_free(s); /* a HelloRetryRequest chose another hash */
		*sess = NULL;
		return 1;
	}
	*id = (const unsigned char *)VMM_MIG_PSK_IDENTITY;
	*idlen = strlen(VMM_MIG_PSK_IDENTITY);
	*sess = s;
	return 1;
}

static int vmm_mig_psk_find(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
	*sess = NULL;
	if (idlen != strlen(VMM_MIG_PSK_IDENTITY) || memcmp(id, VMM_MIG_PSK_IDENTITY, idlen) != 0)
		return 1; /* unknown identity: no PSK, the handshake fails */
	*sess = vmm_mig_session(ssl);
	return *sess ? 1 : 0;
}

static SSL_CTX *vmm_mig_ctx_new(int server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256")) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* no tickets: a migration connection is never resumed */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* No SSL_MODE_RELEASE_BUFFERS: the record buffers stay for the whole
	 * stream instead of being freed and allocated around every record. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (server) {
		/* Read ahead into a large buffer: one read() takes several
		 * 16 KiB records, not a header and a body per record. */
		SSL_CTX_set_read_ahead(ctx, 1);
		SSL_CTX_set_default_read_buffer_len(ctx, VMM_MIG_READ_BUF);
		SSL_CTX_set_psk_find_session_callback(ctx, vmm_mig_psk_find);
	} else {
		SSL_CTX_set_psk_use_session_callback(ctx, vmm_mig_psk_use);
	}
	return ctx;
}

int vmm_mig_tls_init(void)
{
	if (vmm_mig_ctx[0])
		return 0;
	if (!OPENSSL_init_ssl(0, NULL))
		return -EIO;
	vmm_mig_ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	vmm_mig_ctx[0] = vmm_mig_ctx_new(0);
	vmm_mig_ctx[1] = vmm_mig_ctx_new(1);
	if (vmm_mig_ex_idx < 0 || !vmm_mig_ctx[0] || !vmm_mig_ctx[1]) {
		vmm_mig_tls_fini();
		return -EIO;
	}
	return 0;
}

void vmm_mig_tls_fini(void)
{
	SSL_CTX_free(vmm_mig_ctx[0]);
	SSL_CTX_free(vmm_mig_ctx[1]);
	vmm_mig_ctx[0] = vmm_mig_ctx[1] = NULL;
}

static uint64_t vmm_mig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* After an SSL call returned r: wait for the socket as it asks, up to the
 * deadline. 0 to retry, or -errno. */
static int vmm_mig_wait(struct vmm_mig_conn *c, int r, uint64_t deadline)
{
	int e = SSL_get_error(c->ssl, r);
	short ev;

	if (e == SSL_ERROR_WANT_READ)
		ev = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		ev = POLLOUT;
	else if (e == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	else if (e == SSL_ERROR_SYSCALL)
		return errno == EPIPE || errno == ECONNRESET || errno == 0 ? -EPIPE : -errno;
	else if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return -EPIPE; /* the peer closed without close_notify: it gave up */
	else
		return -EPROTO;
	for (;;) {
		struct pollfd p = {c->fd, ev, 0};
		uint64_t now = vmm_mig_now_ms();
		if (c->cancelled && c->cancelled(c->arg))
			return -ECANCELED;
		if (now >= deadline)
			return -ETIMEDOUT;
		int wait = (int)(deadline - now) < VMM_MIG_SLICE_MS ? (int)(deadline - now)
								    : VMM_MIG_SLICE_MS;
		int n = poll(&p, 1, wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
}

static void vmm_mig_ssl_err(const char *what, int rc, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "TLS 2 %s: %s", what, buf);
	} else {
		snprintf(err, errlen, "TLS 2 %s: %s", what, strerror(-rc));
	}
	ERR_clear_error();
}

int vmm_mig_conn_open(struct vmm_mig_conn *c, int fd, const uint8_t key[32], int server, char *err,
		      size_t errlen)
{
	uint64_t deadline = vmm_mig_now_ms() + VMM_MIG_TIMEOUT_MS;
	int one = 1, fl, rc;

	c->fd = fd;
	c->ssl = NULL;
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "connection: %s", strerror(errno));
		return -errno;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("migration: TCP_NODELAY: %s", strerror(errno)); /* latency only */
	/* Little in flight: the source's throughput is then what the
	 * destination takes, and at END the destination is not seconds of
	 * buffered stream behind (that would all be downtime before READY). */
	if (setsockopt(fd, SOL_SOCKET, server ? SO_RCVBUF : SO_SNDBUF,
		       &(int){server ? VMM_MIG_RCVBUF : VMM_MIG_SNDBUF}, sizeof(int)) < 0)
		log_debug("migration: socket buffer: %s", strerror(errno));
	memcpy(c->key, key, VMM_CTL_MIG_KEY_LEN);
	c->ssl = SSL_new(vmm_mig_ctx[!!server]);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd) ||
	    !SSL_set_ex_data(c->ssl, vmm_mig_ex_idx, c->key)) {
		vmm_mig_ssl_err("set-up", -ENOMEM, err, errlen);
		return -ENOMEM;
	}
	for (;;) {
		int r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
		if (r == 1)
			return 0;
		if ((rc = vmm_mig_wait(c, r, deadline)) < 0) {
			vmm_mig_ssl_err("handshake", rc, err, errlen);
			return rc == -EPROTO || rc == -EPIPE ? -ECONNREFUSED : rc;
		}
	}
}

int vmm_mig_conn_drain(struct vmm_mig_conn *c, int timeout_ms)
{
	uint64_t deadline = vmm_mig_now_ms() + (uint64_t)timeout_ms;
	int n = 0;

	while (ioctl(c->fd, SIOCOUTQ, &n) == 0 && n > 0) {
		if (vmm_mig_now_ms() >= deadline || (c->cancelled && c->cancelled(c->arg)))
			return n;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	return n < 0 ? 0 : n;
}

void vmm_mig_conn_close(struct vmm_mig_conn *c, int clean)
{
	if (c->ssl) {
		if (clean)
			SSL_shutdown(c->ssl); /* non-blocking: one try */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	OPENSSL_cleanse(c->key, sizeof(c->key));
	ERR_clear_error();
}

int vmm_mig_conn_write(struct vmm_mig_conn *c, const void *p, size_t n, int timeout_ms)
{
	const uint8_t *b = p;
	uint64_t deadline = vmm_mig_now_ms() + (uint64_t)timeout_ms;
	int rc;

	while (n > 0) {
		size_t w = 0;
		int r = SSL_write_ex(c->ssl, b, n, &w);
		if (r == 1) {
			b += w;
			n -= w;
			c->bytes_out += w;
			deadline = vmm_mig_now_ms() + (uint64_t)timeout_ms;
			continue;
		}
		if ((rc = vmm_mig_wait(c, r, deadline)) < 0)
			return rc == -ECONNRESET ? -EPIPE : rc;
	}
	return 0;
}

int vmm_mig_conn_read(struct vmm_mig_conn *c, void *p, size_t n, int timeout_ms)
{
	uint8_t *b = p;
	size_t got = 0;
	uint64_t deadline = vmm_mig_now_ms() + (uint64_t)timeout_ms;
	int rc;

	while (got < n) {
		size_t r = 0;
		int ok = SSL_read_ex(c->ssl, b + got, n - got, &r);
		if (ok == 1) {
			got += r;
			c->bytes_in += r;
			deadline = vmm_mig_now_ms() + (uint64_t)timeout_ms;
			continue;
		}
		if ((rc = vmm_mig_wait(c, 0, deadline)) < 0) {
			if (rc == -ECONNRESET || rc == -EPIPE)
				return got == 0 ? 0 : -ENODATA;
			return rc;
		}
	}
	return 1;
}

int vmm_mig_conn_write_cb(void *conn, const void *p, size_t n)
{
	return vmm_mig_conn_write(conn, p, n, VMM_MIG_TIMEOUT_MS);
}

int vmm_mig_conn_read_cb(void *conn, void *p, size_t n)
{
	return vmm_mig_conn_read(conn, p, n, VMM_MIG_TIMEOUT_MS);
}

int vmm_mig_send_rec(struct vmm_mig_conn *c, uint32_t type, int32_t err, const char *msg)
{
	uint8_t buf[sizeof(struct hv_rec_hdr) + 8 + VMM_MIG_FAIL_MSG_MAX];
	struct hv_rec_hdr h = {type, 0};
	size_t n = 0;

	if (type == VMM_MIG_REC_FAIL) {
		uint32_t len = (uint32_t)strnlen(msg ? msg : "", VMM_MIG_FAIL_MSG_MAX);
		memcpy(buf + sizeof(h), &err, 4);
		memcpy(buf + sizeof(h) + 4, &len, 4);
		memcpy(buf + sizeof(h) + 8, msg ? msg : "", len);
		n = 8 + len;
	}
	h.len = (uint32_t)n;
	memcpy(buf, &h, sizeof(h));
	return vmm_mig_conn_write(c, buf, sizeof(h) + n, VMM_MIG_TIMEOUT_MS);
}

int vmm_mig_recv_rec(struct vmm_mig_conn *c, uint32_t *type, int32_t *err, char *msg, size_t msgcap,
		     int timeout_ms)
{
	uint8_t buf[8 + VMM_MIG_FAIL_MSG_MAX];
	struct hv_rec_hdr h;
	uint32_t len;
	int rc;

	*err = 0;
	msg[0] = '\0';
	if ((rc = vmm_mig_conn_read(c, &h, sizeof(h), timeout_ms)) != 1)
		return rc == 0 || rc == -ENODATA ? -ECONNRESET : rc;
	*type = h.type;
	if (h.type < VMM_MIG_REC_READY || h.type > VMM_MIG_REC_FAIL ||
	    (h.type != VMM_MIG_REC_FAIL && h.len != 0) ||
	    (h.type == VMM_MIG_REC_FAIL && (h.len < 8 || h.len > sizeof(buf))))
		return -EBADMSG;
	if (h.len && (rc = vmm_mig_conn_read(c, buf, h.len, timeout_ms)) != 1)
		return rc == 0 || rc == -ENODATA ? -ECONNRESET : rc;
	if (h.type == VMM_MIG_REC_FAIL) {
		memcpy(err, buf, 4);
		memcpy(&len, buf + 4, 4);
		if (len != h.len - 8 || *err >= 0 || memchr(buf + 8, 0, len))
			return -EBADMSG;
		snprintf(msg, msgcap, "%.*s", (int)len, (const char *)buf + 8);
	}
	return 0;
}

/* One TLS 2 handshake and record between the two contexts in memory, with
 * a throw-away key: OpenSSL fetches every algorithm it needs lazily, and
 * a fetch must not happen after the seccomp filter (it may open files). */
int vmm_mig_tls_warm(void)
{
	SSL *cl = SSL_new(vmm_mig_ctx[0]), *sv = SSL_new(vmm_mig_ctx[1]);
	uint8_t key[VMM_CTL_MIG_KEY_LEN] = {1}, buf[16] = "warm";
	BIO *b1 = NULL, *b2 = NULL;
	int rc = -EIO, done = 0;

	if (!cl || !sv || !BIO_new_bio_pair(&b1, 0, &b2, 0))
		goto out;
	SSL_set_bio(cl, b1, b1);
	SSL_set_bio(sv, b2, b2);
	b1 = b2 = NULL;
	if (!SSL_set_ex_data(cl, vmm_mig_ex_idx, key) || !SSL_set_ex_data(sv, vmm_mig_ex_idx, key))
		goto out;
	SSL_set_connect_state(cl);
	SSL_set_accept_state(sv);
	for (int i = 0; i < 16 && done != 3; i++) {
		if (!(done & 1) && SSL_do_handshake(cl) == 1)
			done |= 1;
		if (!(done & 2) && SSL_do_handshake(sv) == 1)
			done |= 2;
	}
	size_t n = 0;
	if (done == 3 && SSL_write_ex(cl, buf, sizeof(buf), &n) == 1 &&
	    SSL_read_ex(sv, buf, sizeof(buf), &n) == 1 && n == sizeof(buf))
		rc = 0;
out:
	BIO_free(b1);
	BIO_free(b2);
	SSL_free(cl);
	SSL_free(sv);
	ERR_clear_error();
	return rc;
}
