/*
 * tls: both ends of each connection in one ev loop, with a CA, a server and
 * a client certificate made here with the OpenSSL API (and a second CA with
 * its own client). Proves: a mutual TLS 1.3 handshake with data both ways
 * (over loopback TCP, large enough to make writes wait); refusal of a
 * client without a certificate, of one from another CA and of a TLS 1.2
 * client, each with the errno and the message; the handshake timeout on a
 * silent peer (either side); a peer that closes or sends garbage failing
 * cleanly. Under ASan the run also proves nothing leaks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ev.h"
#include "tls.h"

/* ---- certificates ---------------------------------------------------- */

static char dir[64];

static char *path(const char *name)
{
	static char buf[8][128];
	static unsigned next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key, signed by issuer (NULL: self-signed CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *san, long serial)
{
	X509 *x = X509_new();
	X509V3_CTX v3;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_ASC,
				   (const unsigned char *)"Tern test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (!issuer) {
		add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, &v3, NID_key_usage, "critical,digitalSignature");
		add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth");
		add_ext(x, &v3, NID_subject_alt_name, san);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *key)
{
	FILE *f = fopen(path(name), "w");

	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
}

/* name.pem and name.key for a leaf of (ca, ca_key). */
static void make_leaf(const char *name, const char *cn, X509 *ca, EVP_PKEY *ca_key, const char *san,
		      long serial)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char file[64];
	X509 *x;

	assert_non_null(key);
	x = make_cert(key, cn, ca, ca_key, san, serial);
	snprintf(file, sizeof(file), "%s.pem", name);
	write_pem(file, x, NULL);
	snprintf(file, sizeof(file), "%s.key", name);
	write_pem(file, NULL, key);
	X509_free(x);
	EVP_PKEY_free(key);
}

static int group_setup(void **state)
{
	EVP_PKEY *ca_key, *ca2_key;
	X509 *ca, *ca2;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/tern-tls-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca2_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca = make_cert(ca_key, "Tern cluster CA", NULL, NULL, NULL, 1);
	ca2 = make_cert(ca2_key, "Another CA", NULL, NULL, NULL, 1);
	write_pem("ca.pem", ca, NULL);
	write_pem("ca2.pem", ca2, NULL);
	make_leaf("server", "server.test", ca, ca_key, "DNS:server.test,IP:127.0.0.1", 2);
	make_leaf("client", "client.test", ca, ca_key, "DNS:client.test,DNS:client", 3);
	make_leaf("client2", "client.test", ca2, ca2_key, "DNS:client.test", 2);
	X509_free(ca);
	X509_free(ca2);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ca2_key);
	return 0;
}

static int group_teardown(void **state)
{
	static const char *const files[] = {"ca.pem",	   "ca2.pem",	 "server.pem",
					    "server.key",  "client.pem", "client.key",
					    "client2.pem", "client2.key"};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(path(files[i]));
	rmdir(dir);
	return 0;
}

static struct tls_ctx *ctx_new(enum tls_role role, const char *ca, const char *name)
{
	char cert[128], key[128], err[TLS_ERRMSG_MAX];
	struct tls_files files = {.ca = path(ca), .cert = cert, .key = key};
	struct tls_ctx *ctx;

	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	ctx = tls_ctx_new(role, &files, err, sizeof(err));
	if (!ctx)
		fail_msg("tls_ctx_new: %s", err);
	return ctx;
}

/* ---- one end of a connection ----------------------------------------- */

struct end {
	struct tls_conn *c;
	bool done; /* handshake callback ran */
	int hs_err;
	char errmsg[TLS_ERRMSG_MAX];
	const uint8_t *out; /* to send */
	size_t out_len, sent;
	uint8_t *in; /* received */
	size_t in_cap, got;
	int read_err; /* first failure or 0 from tls_conn_read */
	bool eof;
};

static void end_on_handshake(struct tls_conn *c, int err, void *arg)
{
	struct end *e = arg;

	e->done = true;
	e->hs_err = err;
	snprintf(e->errmsg, sizeof(e->errmsg), "%s", tls_conn_errmsg(c));
	if (!err)
		assert_int_equal(tls_conn_want(c, EV_READ | (e->out_len ? EV_WRITE : 0)), 0);
}

static void end_on_io(struct tls_conn *c, unsigned events, void *arg)
{
	struct end *e = arg;
	uint8_t junk[4096];
	int n;

	while ((events & EV_WRITE) && e->sent < e->out_len) {
		n = tls_conn_write(c, e->out + e->sent, e->out_len - e->sent);
		if (n == -EAGAIN)
			break;
		assert_true(n > 0);
		e->sent += (size_t)n;
		if (e->sent == e->out_len)
			assert_int_equal(tls_conn_want(c, EV_READ), 0);
	}
	while ((events & EV_READ) && !e->eof && !e->read_err) {
		size_t room = e->in_cap - e->got;
		n = tls_conn_read(c, room ? e->in + e->got : junk, room ? room : sizeof(junk));
		if (n == -EAGAIN)
			break;
		if (n == 0)
			e->eof = true;
		else if (n < 0)
			e->read_err = n;
		else if (room)
			e->got += (size_t)n;
	}
	if (e->read_err) {
		snprintf(e->errmsg, sizeof(e->errmsg), "%s", tls_conn_errmsg(c));
		tls_conn_want(c, 0);
	}
}

static struct tls_conn *end_start(struct end *e, struct tls_ctx *ctx, struct ev_loop *loop, int fd,
				  const char *peer, unsigned timeout_ms)
{
	struct tls_conn_opts opts = {
	    .peer = peer,
	    .handshake_timeout_ms = timeout_ms,
	    .handshake_cb = end_on_handshake,
	    .io_cb = end_on_io,
	    .arg = e,
	};

	e->c = tls_conn_new(ctx, loop, fd, &opts);
	assert_non_null(e->c);
	return e->c;
}

/* Runs the loop until done(arg) or 5 s pass. */
static void run_until(struct ev_loop *loop, bool (*done)(void *), void *arg)
{
	uint64_t end = ev_now_ms() + 5000;

	while (!done(arg) && ev_now_ms() < end)
		assert_true(ev_run_once(loop, 50) >= 0);
	assert_true(done(arg));
}

static bool handshake_done(void *arg)
{
	return ((struct end *)arg)->done;
}

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- the good case over loopback TCP ---------------------------------- */

struct both {
	struct end *srv, *cli;
};

static bool data_done(void *arg)
{
	struct both *b = arg;

	return b->srv->got == b->srv->in_cap && b->cli->got == b->cli->in_cap;
}

static void tcp_pair(int *srv_fd, int *cli_fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	/* A non-blocking connect still in progress: the handshake waits. */
	*cli_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(*cli_fd >= 0);
	rc = connect(*cli_fd, (struct sockaddr *)&sin, sizeof(sin));
	assert_true(rc == 0 || errno == EINPROGRESS);
	*srv_fd = accept(lfd, NULL, NULL);
	assert_true(*srv_fd >= 0);
	close(lfd);
}

static void test_handshake_and_data(void **state)
{
	enum { BIG = 1 << 20 }; /* more than the socket buffers: writes wait */
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct tls_ctx *cctx = ctx_new(TLS_CLIENT, "ca.pem", "client");
	struct end srv = {0}, cli = {0};
	struct both b = {&srv, &cli};
	uint8_t *big = malloc(BIG), *big_in = malloc(BIG);
	uint8_t pong_in[5];
	char buf[256];
	int sfd, cfd;

	(void)state;
	assert_non_null(loop);
	for (size_t i = 0; i < BIG; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 11));
	cli.out = big;
	cli.out_len = BIG;
	srv.in = big_in;
	srv.in_cap = BIG;
	srv.out = (const uint8_t *)"pong!";
	srv.out_len = 5;
	cli.in = pong_in;
	cli.in_cap = sizeof(pong_in);
	tcp_pair(&sfd, &cfd);
	end_start(&srv, sctx, loop, sfd, "127.0.0.1:client", 0);
	end_start(&cli, cctx, loop, cfd, "127.0.0.1:server", 0);
	/* Nothing before the loop runs. */
	assert_false(srv.done);
	assert_int_equal(tls_conn_read(srv.c, buf, sizeof(buf)), -ENOTCONN);
	assert_int_equal(tls_conn_want(srv.c, EV_READ), -ENOTCONN);
	assert_int_equal(tls_conn_peer_subject(srv.c, buf, sizeof(buf)), -ENOENT);

	run_until(loop, data_done, &b);
	assert_int_equal(srv.hs_err, 0);
	assert_int_equal(cli.hs_err, 0);
	assert_string_equal(tls_conn_version(srv.c), "TLSv1.3");
	assert_string_equal(tls_conn_version(cli.c), "TLSv1.3");
	assert_memory_equal(big_in, big, BIG);
	assert_memory_equal(pong_in, "pong!", 5);
	assert_int_equal(tls_conn_want(srv.c, 0x8), -EINVAL);

	/* Who is on the other end, for logs and hosts-allow. */
	assert_int_equal(tls_conn_peer_subject(srv.c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "CN=client.test,O=Tern test");
	assert_int_equal(tls_conn_peer_sans(srv.c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "DNS:client.test, DNS:client");
	assert_int_equal(tls_conn_peer_sans(cli.c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "DNS:server.test, IP:127.0.0.1");
	assert_int_equal(tls_conn_peer_subject(cli.c, buf, 8), -ENOSPC);
	assert_int_equal(tls_conn_peer_sans(cli.c, buf, 20), -ENOSPC);
	assert_string_equal(buf, "DNS:server.test");
	assert_string_equal(tls_conn_peer(cli.c), "127.0.0.1:server");

	/* close_notify: the server reads end of stream. */
	srv.got = srv.in_cap = 0;
	assert_int_equal(tls_conn_shutdown(cli.c), 0);
	for (int i = 0; i < 20 && !srv.eof; i++)
		ev_run_once(loop, 50);
	assert_true(srv.eof);
	assert_int_equal(srv.read_err, 0);

	tls_conn_free(srv.c);
	tls_conn_free(cli.c);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	ev_loop_free(loop);
	free(big);
	free(big_in);
}

/* ---- refusals --------------------------------------------------------- */

/* A client made with plain OpenSSL, for what tls_ctx never builds: no
 * certificate, or TLS 1.2 only. Driven by its own watcher in the loop. */
struct raw {
	SSL_CTX *ctx;
	SSL *ssl;
	struct ev_io io;
	bool done;
};

static void raw_on_io(struct ev_io *io, unsigned events, void *arg)
{
	struct raw *r = arg;
	int rc = SSL_do_handshake(r->ssl), e;

	(void)events;
	if (rc != 1 &&
	    ((e = SSL_get_error(r->ssl, rc)) == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)) {
		ev_io_set(io, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
		return;
	}
	/* Done either way; with TLS 1.3 a client finishes before the server
	 * has judged its certificate, so keep reading the server's verdict. */
	r->done = true;
	if (rc == 1) {
		char b[64];
		if (SSL_read(r->ssl, b, sizeof(b)) > 0 ||
		    SSL_get_error(r->ssl, 0) == SSL_ERROR_WANT_READ) {
			ev_io_set(io, EV_READ);
			return;
		}
	}
	ERR_clear_error();
	ev_io_stop(io);
}

static void raw_start(struct raw *r, struct ev_loop *loop, int fd, bool tls12)
{
	r->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(r->ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(r->ctx, path("ca.pem"), NULL), 1);
	if (tls12)
		assert_int_equal(SSL_CTX_set_max_proto_version(r->ctx, TLS1_2_VERSION), 1);
	r->ssl = SSL_new(r->ctx);
	assert_non_null(r->ssl);
	SSL_set_fd(r->ssl, fd);
	SSL_set_connect_state(r->ssl);
	ev_io_init(&r->io, fd, raw_on_io, r);
	assert_int_equal(ev_io_start(loop, &r->io, EV_WRITE), 0);
}

static void raw_free(struct raw *r)
{
	ev_io_stop(&r->io);
	SSL_free(r->ssl);
	SSL_CTX_free(r->ctx);
	close(r->io.fd);
}

/* A server on one end of a socketpair facing a raw client on the other;
 * returns the server's handshake error and message. */
static void refused_by_server(bool tls12, int want_err, const char *want_reason)
{
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct end srv = {0};
	struct raw raw = {0};
	char want[TLS_ERRMSG_MAX];
	int sv[2];

	make_pair(sv);
	end_start(&srv, sctx, loop, sv[0], "raw", 0);
	raw_start(&raw, loop, sv[1], tls12);
	run_until(loop, handshake_done, &srv);
	assert_int_equal(srv.hs_err, want_err);
	snprintf(want, sizeof(want), "peer raw: TLS handshake: error:");
	assert_memory_equal(srv.errmsg, want, strlen(want));
	if (!strstr(srv.errmsg, want_reason))
		fail_msg("message '%s' lacks '%s'", srv.errmsg, want_reason);
	/* Dead for good: reads say why, no more callbacks. */
	assert_int_equal(tls_conn_read(srv.c, want, sizeof(want)), want_err);
	assert_string_equal(tls_conn_version(srv.c), "");
	raw_free(&raw);
	tls_conn_free(srv.c);
	tls_ctx_free(sctx);
	ev_loop_free(loop);
}

static void test_client_without_cert(void **state)
{
	(void)state;
	refused_by_server(false, -EKEYREJECTED, "peer did not return a certificate");
}

static void test_tls12_client(void **state)
{
	(void)state;
	refused_by_server(true, -EPROTO, "unsupported protocol");
}

static bool client_told(void *arg)
{
	struct both *b = arg;

	return b->srv->done && (b->cli->read_err || b->cli->eof);
}

/* A client whose certificate chains to another CA: the server refuses it
 * with the verification reason, and the client learns it from the alert. */
static void test_client_other_ca(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct tls_ctx *cctx = ctx_new(TLS_CLIENT, "ca.pem", "client2");
	struct end srv = {0}, cli = {0};
	struct both b = {&srv, &cli};
	int sv[2];

	(void)state;
	make_pair(sv);
	end_start(&srv, sctx, loop, sv[0], "10.0.0.2:41000", 0);
	end_start(&cli, cctx, loop, sv[1], "10.0.0.1:8002", 0);
	run_until(loop, client_told, &b);
	assert_int_equal(srv.hs_err, -EKEYREJECTED);
	assert_string_equal(srv.errmsg, "peer 10.0.0.2:41000: TLS handshake: error:0A000086:SSL "
					"routines::certificate verify failed (unable to get local "
					"issuer certificate)");
	/* TLS 1.3: the client finished first, then reads the server's alert. */
	assert_int_equal(cli.hs_err, 0);
	assert_int_equal(cli.read_err, -EPROTO);
	if (!strstr(cli.errmsg, "peer 10.0.0.1:8002: TLS read: error:") ||
	    !strstr(cli.errmsg, "alert unknown ca"))
		fail_msg("client message '%s'", cli.errmsg);
	tls_conn_free(srv.c);
	tls_conn_free(cli.c);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	ev_loop_free(loop);
}

/* ---- silent, closing and garbage peers --------------------------------- */

static void test_timeout(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct tls_ctx *cctx = ctx_new(TLS_CLIENT, "ca.pem", "client");
	struct end srv = {0}, cli = {0};
	int sv[2], cv[2];
	uint64_t t0 = ev_now_ms();

	(void)state;
	make_pair(sv);
	make_pair(cv);
	/* sv[1] and cv[1] never say anything. */
	end_start(&srv, sctx, loop, sv[0], "silent", 100);
	end_start(&cli, cctx, loop, cv[0], "mute", 150);
	run_until(loop, handshake_done, &srv);
	run_until(loop, handshake_done, &cli);
	assert_true(ev_now_ms() - t0 >= 100);
	assert_int_equal(srv.hs_err, -ETIMEDOUT);
	assert_string_equal(srv.errmsg, "peer silent: TLS handshake: timed out after 100 ms");
	assert_int_equal(cli.hs_err, -ETIMEDOUT);
	assert_string_equal(cli.errmsg, "peer mute: TLS handshake: timed out after 150 ms");
	tls_conn_free(srv.c);
	tls_conn_free(cli.c);
	close(sv[1]);
	close(cv[1]);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	ev_loop_free(loop);
}

static void test_peer_closes(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct end srv = {0};
	int sv[2];

	(void)state;
	make_pair(sv);
	end_start(&srv, sctx, loop, sv[0], "quitter", 0);
	close(sv[1]);
	run_until(loop, handshake_done, &srv);
	assert_int_equal(srv.hs_err, -ECONNRESET);
	if (strncmp(srv.errmsg, "peer quitter: TLS handshake: ", 29) != 0)
		fail_msg("message '%s'", srv.errmsg);
	tls_conn_free(srv.c);
	tls_ctx_free(sctx);
	ev_loop_free(loop);
}

static void test_garbage(void **state)
{
	static const struct {
		const char *data;
		size_t data_len; /* then noise up to send_len */
		size_t send_len;
	} junk[] = {
	    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 27},
	    {"\x16\x03\x01\xff\xff\x01\x00\xff\xfb\x03\x03", 11, 4096}, /* a lying ClientHello */
	    {"\x15\x03\x03\x00\x02\x02\x28", 7, 7}, /* a fatal alert before any hello */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct ev_loop *loop = ev_loop_new();
		struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
		struct end srv = {0};
		uint8_t noise[4096];
		int sv[2];

		make_pair(sv);
		end_start(&srv, sctx, loop, sv[0], "garbage", 1000);
		/* The bytes, then up to 4 KiB of more that are not TLS either. */
		memcpy(noise, junk[i].data, junk[i].data_len);
		for (size_t j = junk[i].data_len; j < sizeof(noise); j++)
			noise[j] = (uint8_t)(j * 131);
		assert_int_equal(write(sv[1], noise, junk[i].send_len), (ssize_t)junk[i].send_len);
		run_until(loop, handshake_done, &srv);
		if (srv.hs_err != -EPROTO)
			fail_msg("case %zu: %d %s", i, srv.hs_err, srv.errmsg);
		if (strncmp(srv.errmsg, "peer garbage: TLS handshake: error:", 35) != 0)
			fail_msg("case %zu: message '%s'", i, srv.errmsg);
		tls_conn_free(srv.c);
		close(sv[1]);
		tls_ctx_free(sctx);
		ev_loop_free(loop);
	}
}

/* ---- contexts ------------------------------------------------------------ */

/* ---- the peer's name, the exported key, the released socket ------------ */

static bool both_done(void *arg)
{
	struct both *b = arg;

	return b->srv->done && b->cli->done;
}

/* A handshake where the client expects the server to be `name`. */
static int handshake_named(const char *name, char *msg, size_t cap)
{
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct tls_ctx *cctx = ctx_new(TLS_CLIENT, "ca.pem", "client");
	struct end srv = {0}, cli = {0};
	struct both b = {&srv, &cli};
	int sv[2];

	make_pair(sv);
	end_start(&srv, sctx, loop, sv[0], "server-side", 0);
	end_start(&cli, cctx, loop, sv[1], name, 0);
	assert_int_equal(tls_conn_expect_name(cli.c, name), 0);
	run_until(loop, both_done, &b);
	snprintf(msg, cap, "%s", cli.errmsg);
	tls_conn_free(srv.c);
	tls_conn_free(cli.c);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	ev_loop_free(loop);
	return cli.hs_err;
}

static void test_expect_name(void **state)
{
	char msg[TLS_ERRMSG_MAX];

	(void)state;
	assert_int_equal(handshake_named("server.test", msg, sizeof(msg)), 0);
	assert_int_equal(handshake_named("127.0.0.1", msg, sizeof(msg)), 0);
	assert_int_equal(handshake_named("other.test", msg, sizeof(msg)), -EKEYREJECTED);
	assert_non_null(strstr(msg, "peer other.test: TLS handshake: "));
	assert_non_null(strstr(msg, "certificate verify failed (hostname mismatch)"));
	assert_int_equal(handshake_named("127.0.0.2", msg, sizeof(msg)), -EKEYREJECTED);
	assert_non_null(strstr(msg, "(IP address mismatch)"));
	/* The CN is never a name: the client certificate's CN is client.test,
	 * the server's SANs do not hold it. */
	assert_int_equal(handshake_named("client.test", msg, sizeof(msg)), -EKEYREJECTED);
}

static void test_export_release(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct tls_ctx *sctx = ctx_new(TLS_SERVER, "ca.pem", "server");
	struct tls_ctx *cctx = ctx_new(TLS_CLIENT, "ca.pem", "client");
	struct end srv = {0}, cli = {0};
	struct both b = {&srv, &cli};
	uint8_t k1[32], k2[32], k3[32], zero[32] = {0};
	char buf[8];
	int sv[2], sfd, cfd;

	(void)state;
	make_pair(sv);
	end_start(&srv, sctx, loop, sv[0], "s", 0);
	end_start(&cli, cctx, loop, sv[1], "c", 0);
	assert_int_equal(tls_conn_export_key(cli.c, "EXPORTER-x", k1, sizeof(k1)), -ENOTCONN);
	run_until(loop, both_done, &b);
	assert_int_equal(srv.hs_err, 0);
	assert_int_equal(tls_conn_export_key(srv.c, "EXPORTER-tern-migrate-v1", k1, 32), 0);
	assert_int_equal(tls_conn_export_key(cli.c, "EXPORTER-tern-migrate-v1", k2, 32), 0);
	assert_int_equal(tls_conn_export_key(cli.c, "EXPORTER-other", k3, 32), 0);
	assert_memory_equal(k1, k2, 32);
	assert_memory_not_equal(k1, k3, 32);
	assert_memory_not_equal(k1, zero, 32);
	/* The sockets go on without TLS, blocking again, still open. */
	sfd = tls_conn_release_fd(srv.c);
	cfd = tls_conn_release_fd(cli.c);
	assert_int_equal(sfd, sv[0]);
	assert_int_equal(cfd, sv[1]);
	assert_int_equal(tls_conn_release_fd(cli.c), -EBADF);
	tls_conn_free(srv.c);
	tls_conn_free(cli.c);
	assert_int_equal(write(cfd, "plain", 5), 5);
	assert_int_equal(read(sfd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "plain", 5);
	close(sfd);
	close(cfd);
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	ev_loop_free(loop);
}

static void test_ctx_errors(void **state)
{
	struct tls_files files = {
	    .ca = path("ca.pem"), .cert = "/nonexistent/host.pem", .key = path("client.key")};
	char err[TLS_ERRMSG_MAX];

	(void)state;
	assert_null(tls_ctx_new(TLS_SERVER, &files, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	if (strncmp(err, "/nonexistent/host.pem: certificate: error:", 42) != 0)
		fail_msg("message '%s'", err);
	/* A key that is not the certificate's. */
	files.cert = path("server.pem");
	assert_null(tls_ctx_new(TLS_SERVER, &files, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "%s: key: error:", path("client.key"));
	if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, "key values mismatch"))
		fail_msg("message '%s'", err);
	/* A CA file that is not PEM. */
	files.ca = path("client.key");
	files.key = path("server.key");
	assert_null(tls_ctx_new(TLS_CLIENT, &files, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: CA: ", path("client.key"));
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message '%s'", err);
	tls_ctx_free(NULL);
	tls_conn_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_and_data),
	    cmocka_unit_test(test_client_without_cert),
	    cmocka_unit_test(test_client_other_ca),
	    cmocka_unit_test(test_tls12_client),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_peer_closes),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_ctx_errors),
	    cmocka_unit_test(test_expect_name),
	    cmocka_unit_test(test_export_release),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
