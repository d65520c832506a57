/* res: forward and reverse lookups through /etc/hosts and through a tiny
 * DNS server on 127.0.0.1 run by the test on the same ev loop (so the
 * c-ares socket and timeout plumbing is exercised), numeric short cuts
 * that send no query, cancellation, and the exact errors of bad input.
 * Nothing ever leaves loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"
#include "res.h"

/* --- a DNS server that knows a few names --- */

enum { T_A = 1, T_PTR = 12, T_AAAA = 28 };

static const struct zone {
	const char *name;
	int type;	      /* 0: any type */
	int rcode;	      /* 3 NXDOMAIN, 5 REFUSED, -1 no reply at all */
	const char *rdata[2]; /* addresses or a PTR name; NULL: no answer */
} zone[] = {
    {"a.tern.test", T_A, 0, {"10.1.2.3", "10.1.2.4"}},
    {"a.tern.test", T_AAAA, 0, {NULL}},
    {"six.tern.test", T_AAAA, 0, {"2001:db8::6"}},
    {"six.tern.test", T_A, 0, {NULL}},
    {"refused.tern.test", 0, 5, {NULL}},
    {"slow.tern.test", 0, -1, {NULL}},
    {"3.2.1.10.in-addr.arpa", T_PTR, 0, {"host-a.tern.test"}},
};

struct dns {
	struct ev_io io;
	int fd;
	int port;
	int queries;
};

/* Reads the question name as dotted text; returns its end offset or 0. */
static size_t qname_read(const uint8_t *p, size_t len, size_t off, char *out, size_t cap)
{
	size_t o = 0;

	while (off < len && p[off]) {
		size_t l = p[off++];

		if (l > 63 || off + l > len || o + l + 2 > cap)
			return 0;
		if (o)
			out[o++] = '.';
		memcpy(out + o, p + off, l);
		o += l;
		off += l;
	}
	if (off >= len)
		return 0;
	out[o] = 0;
	return off + 1;
}

static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;

	while (*name) {
		size_t l = strcspn(name, ".");

		p[o++] = (uint8_t)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (name[l] == '.');
	}
	p[o++] = 0;
	return o;
}

static size_t put_answer(uint8_t *p, int type, const char *rdata)
{
	uint8_t fixed[10] = {0xc0, 0x0c, 0, (uint8_t)type, 0, 1, 0, 0, 0, 60};
	size_t o = sizeof(fixed), rlen;

	memcpy(p, fixed, sizeof(fixed));
	if (type == T_A) {
		rlen = 4;
		assert_int_equal(inet_pton(AF_INET, rdata, p + o + 2), 1);
	} else if (type == T_AAAA) {
		rlen = 16;
		assert_int_equal(inet_pton(AF_INET6, rdata, p + o + 2), 1);
	} else {
		rlen = put_name(p + o + 2, rdata);
	}
	p[o] = (uint8_t)(rlen >> 8);
	p[o + 1] = (uint8_t)rlen;
	return o + 2 + rlen;
}

static const struct zone *zone_find(const char *name, int type)
{
	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		if (!strcasecmp(zone[i].name, name) && (!zone[i].type || zone[i].type == type))
			return &zone[i];
	return NULL;
}

static void on_dns(struct ev_io *io, unsigned events, void *arg)
{
	struct dns *d = arg;
	uint8_t q[512], r[1024];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(io->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
	char name[256];
	size_t end, o;
	const struct zone *z;
	int type, an = 0;

	(void)events;
	if (n < 12)
		return;
	d->queries++;
	end = qname_read(q, (size_t)n, 12, name, sizeof(name));
	assert_true(end && end + 4 <= (size_t)n);
	type = q[end] << 8 | q[end + 1];
	z = zone_find(name, type);
	if (z && z->rcode < 0)
		return;
	memcpy(r, q, end + 4);
	r[2] = 0x81;				     /* QR, RD */
	r[3] = (uint8_t)(0x80 | (z ? z->rcode : 3)); /* RA, rcode (3: NXDOMAIN) */
	memset(r + 6, 0, 6);
	o = end + 4;
	for (int i = 0; z && i < 2 && z->rdata[i]; i++, an++)
		o += put_answer(r + o, type, z->rdata[i]);
	r[7] = (uint8_t)an;
	assert_int_equal(sendto(io->fd, r, o, 0, (struct sockaddr *)&from, fl), (ssize_t)o);
}

static void dns_start(struct ev_loop *loop, struct dns *d)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	memset(d, 0, sizeof(*d));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(d->fd >= 0);
	assert_int_equal(bind(d->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(d->fd, (struct sockaddr *)&sin, &len), 0);
	d->port = ntohs(sin.sin_port);
	ev_io_init(&d->io, d->fd, on_dns, d);
	assert_int_equal(ev_io_start(loop, &d->io, EV_READ), 0);
}

static void dns_stop(struct dns *d)
{
	ev_io_stop(&d->io);
	close(d->fd);
}

/* --- fixture: a loop, the server, and a resolver pointed at it --- */

struct fx {
	struct ev_loop *loop;
	struct dns dns;
	struct res *res;
	int done;
	int status;
	size_t n;
	struct res_addr addrs[RES_ADDR_MAX];
	char name[RES_NAME_MAX + 1];
	struct res *free_me; /* freed from the callback */
};

static struct res *res_for(struct fx *fx, const char *lookups, int timeout_ms)
{
	char servers[64];
	struct res_opts o = {
	    .servers = servers, .lookups = lookups, .timeout_ms = timeout_ms, .tries = 1};

	snprintf(servers, sizeof(servers), "127.0.0.1:%d", fx->dns.port);
	return res_new(fx->loop, &o);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->loop = ev_loop_new();
	dns_start(fx->loop, &fx->dns);
	fx->res = res_for(fx, "b", 200);
	assert_non_null(fx->res);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	res_free(fx->res);
	dns_stop(&fx->dns);
	ev_loop_free(fx->loop);
	free(fx);
	return 0;
}

static void on_fwd(int status, const struct res_addr *addrs, size_t n, void *arg)
{
	struct fx *fx = arg;

	fx->done++;
	fx->status = status;
	fx->n = n;
	assert_true(n <= RES_ADDR_MAX);
	if (n)
		memcpy(fx->addrs, addrs, n * sizeof(*addrs));
	if (fx->free_me) {
		res_free(fx->free_me);
		fx->free_me = NULL;
	}
}

static void on_rev(int status, const char *name, void *arg)
{
	struct fx *fx = arg;

	fx->done++;
	fx->status = status;
	snprintf(fx->name, sizeof(fx->name), "%s", name ? name : "(null)");
}

static void run_until_done(struct fx *fx, int want, uint64_t bound_ms)
{
	uint64_t end = ev_now_ms() + bound_ms;

	while (fx->done < want && ev_now_ms() < end)
		assert_true(ev_run_once(fx->loop, 20) >= 0);
}

static const char *addr_text(const struct res_addr *a, char *buf)
{
	return res_addr_str(a, buf, INET6_ADDRSTRLEN);
}

/* --- DNS answers --- */

static void test_forward_dns_table(void **state)
{
	static const struct {
		const char *name;
		int family;
		int status;
		const char *addrs[2];
	} table[] = {
	    {"a.tern.test", AF_INET, 0, {"10.1.2.3", "10.1.2.4"}},
	    {"a.tern.test", AF_UNSPEC, 0, {"10.1.2.3", "10.1.2.4"}},
	    {"six.tern.test", AF_INET6, 0, {"2001:db8::6"}},
	    {"a.tern.test", AF_INET6, -ENOENT, {NULL}},
	    {"nx.tern.test", AF_INET, -ENOENT, {NULL}},
	    {"refused.tern.test", AF_INET, -ECONNREFUSED, {NULL}},
	};
	struct fx *fx = *state;
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t want = table[i].addrs[1] ? 2 : table[i].addrs[0] ? 1 : 0;

		fx->done = 0;
		assert_non_null(res_forward(fx->res, table[i].name, table[i].family, on_fwd, fx));
		assert_int_equal(fx->done, 0); /* never from inside res_forward */
		run_until_done(fx, 1, 3000);
		assert_int_equal(fx->done, 1);
		assert_int_equal(fx->status, table[i].status);
		assert_int_equal(fx->n, want);
		/* Any order: c-ares sorts by RFC 6724. */
		for (size_t k = 0; k < want; k++) {
			bool found = false;

			for (size_t j = 0; j < want; j++)
				found |= !strcmp(addr_text(&fx->addrs[j], buf), table[i].addrs[k]);
			assert_true(found);
		}
	}
	assert_true(fx->dns.queries >= 6);
}

static void test_reverse_dns(void **state)
{
	struct fx *fx = *state;
	struct res_addr a;

	assert_int_equal(res_addr_parse("10.1.2.3", &a), 0);
	assert_non_null(res_reverse(fx->res, &a, on_rev, fx));
	run_until_done(fx, 1, 3000);
	assert_int_equal(fx->status, 0);
	assert_string_equal(fx->name, "host-a.tern.test");

	fx->done = 0;
	assert_int_equal(res_addr_parse("10.9.9.9", &a), 0);
	assert_non_null(res_reverse(fx->res, &a, on_rev, fx));
	run_until_done(fx, 1, 3000);
	assert_int_equal(fx->status, -ENOENT);
	assert_string_equal(fx->name, "(null)");
}

static void test_timeout(void **state)
{
	struct fx *fx = *state;
	uint64_t start = ev_now_ms();

	assert_non_null(res_forward(fx->res, "slow.tern.test", AF_INET, on_fwd, fx));
	run_until_done(fx, 1, 5000);
	assert_int_equal(fx->done, 1);
	assert_int_equal(fx->status, -ETIMEDOUT);
	assert_int_equal(fx->n, 0);
	assert_true(ev_now_ms() - start >= 190); /* the 200 ms timeout, one try */
	assert_true(ev_now_ms() - start < 3000);
	assert_string_equal(res_strerror(fx->status), "timed out");
}

static void test_cancel_and_free_pending(void **state)
{
	struct fx *fx = *state;
	struct res_query *q;

	q = res_forward(fx->res, "slow.tern.test", AF_INET, on_fwd, fx);
	assert_non_null(q);
	res_cancel(q);
	/* Cancelled before its answer was even scheduled, and after. */
	q = res_forward(fx->res, "192.0.2.1", AF_INET, on_fwd, fx);
	assert_non_null(q);
	res_cancel(q);
	run_until_done(fx, 1, 500);
	assert_int_equal(fx->done, 0);
	/* Pending at free: no callback, nothing leaked (ASan). */
	assert_non_null(res_forward(fx->res, "slow.tern.test", AF_INET, on_fwd, fx));
	assert_non_null(res_forward(fx->res, "192.0.2.1", AF_INET, on_fwd, fx));
	res_free(fx->res);
	fx->res = NULL;
	run_until_done(fx, 1, 300);
	assert_int_equal(fx->done, 0);
}

static void test_free_from_callback(void **state)
{
	struct fx *fx = *state;

	assert_non_null(res_forward(fx->res, "a.tern.test", AF_INET, on_fwd, fx));
	assert_non_null(res_forward(fx->res, "slow.tern.test", AF_INET, on_fwd, fx));
	fx->free_me = fx->res;
	fx->res = NULL;
	run_until_done(fx, 2, 600);
	assert_int_equal(fx->done, 1); /* the slow one was cancelled by the free */
	assert_int_equal(fx->status, 0);
}

/* --- numeric input and /etc/hosts: no query at all --- */

static void test_numeric_short_circuit(void **state)
{
	static const struct {
		const char *name;
		int family;
		int status;
		int out_family;
	} table[] = {
	    {"192.0.2.7", AF_UNSPEC, 0, AF_INET},    {"192.0.2.7", AF_INET, 0, AF_INET},
	    {"2001:db8::1", AF_UNSPEC, 0, AF_INET6}, {"2001:db8::1", AF_INET6, 0, AF_INET6},
	    {"192.0.2.7", AF_INET6, -ENOENT, 0},     {"2001:db8::1", AF_INET, -ENOENT, 0},
	};
	struct fx *fx = *state;
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		fx->done = 0;
		assert_non_null(res_forward(fx->res, table[i].name, table[i].family, on_fwd, fx));
		assert_int_equal(fx->done, 0);
		assert_true(ev_run_once(fx->loop, 0) >= 1);
		assert_int_equal(fx->done, 1);
		assert_int_equal(fx->status, table[i].status);
		assert_int_equal(fx->n, table[i].status ? 0 : 1);
		if (!table[i].status) {
			assert_int_equal(fx->addrs[0].family, table[i].out_family);
			assert_string_equal(addr_text(&fx->addrs[0], buf), table[i].name);
		}
	}
	assert_int_equal(fx->dns.queries, 0);
}

/* The name /etc/hosts gives 127.0.0.1 first (a hosts file may say
 * "localhost" or "localhost.localdomain"); "" if it has none. */
static void hosts_name_of_loopback(char *out, size_t cap)
{
	FILE *fp = fopen("/etc/hosts", "r");
	char line[512], addr[64], name[256];

	out[0] = 0;
	while (fp && fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%63s %255s", addr, name) == 2 && !strcmp(addr, "127.0.0.1")) {
			snprintf(out, cap, "%s", name);
			break;
		}
	}
	if (fp)
		fclose(fp);
}

static void test_hosts_file(void **state)
{
	struct fx *fx = *state;
	struct res *files = res_for(fx, "f", 200);
	char want[256];
	struct res_addr a;
	char buf[INET6_ADDRSTRLEN];

	assert_non_null(files);
	assert_non_null(res_forward(files, "localhost", AF_INET, on_fwd, fx));
	run_until_done(fx, 1, 2000);
	assert_int_equal(fx->status, 0);
	assert_true(fx->n >= 1);
	for (size_t i = 0; i < fx->n; i++)
		assert_string_equal(addr_text(&fx->addrs[i], buf), "127.0.0.1");

	hosts_name_of_loopback(want, sizeof(want));
	if (want[0]) {
		fx->done = 0;
		assert_int_equal(res_addr_parse("127.0.0.1", &a), 0);
		assert_non_null(res_reverse(files, &a, on_rev, fx));
		run_until_done(fx, 1, 2000);
		assert_int_equal(fx->status, 0);
		assert_string_equal(fx->name, want);
	}

	fx->done = 0;
	assert_non_null(res_forward(files, "no-such-host.tern.test", AF_INET, on_fwd, fx));
	run_until_done(fx, 1, 2000);
	assert_int_equal(fx->status, -ENOENT);
	assert_string_equal(res_strerror(fx->status), "host not found");
	assert_int_equal(fx->dns.queries, 0);
	res_free(files);
}

/* --- bad input --- */

static void test_bad_input(void **state)
{
	static const struct res_opts bad_opts[] = {
	    {.lookups = "x"},
	    {.lookups = ""},
	    {.timeout_ms = -1},
	    {.tries = -2},
	    {.servers = "not an address"},
	};
	static const char *bad_addrs[] = {"", "1.2.3", "256.1.1.1", "::g", "localhost"};
	struct fx *fx = *state;
	char long_name[RES_NAME_MAX + 2];
	struct res_addr a = {.family = AF_UNIX};

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	errno = 0;
	assert_null(res_forward(fx->res, "", AF_INET, on_fwd, fx));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(res_forward(fx->res, NULL, AF_INET, on_fwd, fx));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(res_forward(fx->res, long_name, AF_INET, on_fwd, fx));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(res_forward(fx->res, "a.tern.test", AF_PACKET, on_fwd, fx));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(res_reverse(fx->res, &a, on_rev, fx));
	assert_int_equal(errno, EINVAL);
	for (size_t i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
		errno = 0;
		assert_null(res_new(fx->loop, &bad_opts[i]));
		assert_int_equal(errno, EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		assert_int_equal(res_addr_parse(bad_addrs[i], &a), -EINVAL);
	assert_string_equal(res_addr_str(&a, long_name, sizeof(long_name)), "?");
	assert_string_equal(res_strerror(-ECONNREFUSED), "name servers refused or failed");
	assert_string_equal(res_strerror(-EINVAL), "bad name");
	assert_int_equal(fx->done, 0);
	res_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_forward_dns_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reverse_dns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_and_free_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_numeric_short_circuit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hosts_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
