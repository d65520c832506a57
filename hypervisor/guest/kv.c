/*
 * kv: an in-memory key-value store on TCP port 7070 (`port=`), one request
 * per line (LF or CRLF), one reply line per request:
 *
 *   SET <key> <value>   -> OK                (value: the rest of the line)
 *   GET <key>           -> VALUE <value> | NOTFOUND
 *   COUNT               -> COUNT <n>         (keys stored)
 *   anything else       -> ERR <reason>
 *
 * Keys are 1..KV_KEY_MAX bytes without spaces, values 0..KV_VAL_MAX bytes;
 * a line longer than KV_LINE_MAX gets `ERR line too long` and the
 * connection is closed. Requests are answered in order; when the send
 * buffer cannot take a reply, the rest of the input waits unacknowledged
 * (the client's window closes) until it drains. Memory comes from the
 * bump allocator and is never returned: a value that outgrows its slot
 * gets a new one. Prints `kv: keys=<n> sets=<n> gets=<n> conns=<n>` once
 * a second when something changed.
 */
#include "lwip/tcp.h"
#include "rt.h"
#include "rt_net.h"

#define KV_KEY_MAX 250
#define KV_VAL_MAX 1000
#define KV_LINE_MAX 1300
#define KV_REPLY_MAX (KV_VAL_MAX + 16)

struct kv_ent {
	uint32_t hash;
	uint16_t klen, vlen, vcap;
	char data[]; /* key, then vcap bytes of value */
};

static struct kv_ent **kv_tab;
static uint64_t kv_cap, kv_count, kv_sets, kv_gets, kv_conns;

static uint32_t kv_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	return h;
}

static struct kv_ent **kv_slot(struct kv_ent **tab, uint64_t cap, const char *k, size_t n,
			       uint32_t h)
{
	for (uint64_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct kv_ent *e = tab[i];
		if (!e || (e->hash == h && e->klen == n && memcmp(e->data, k, n) == 0))
			return &tab[i];
	}
}

static int kv_grow(void)
{
	uint64_t cap = kv_cap ? kv_cap * 2 : 1u << 15;
	struct kv_ent **tab = rt_alloc(cap * sizeof(*tab), 8);

	if (!tab)
		return -1;
	memset(tab, 0, cap * sizeof(*tab));
	for (uint64_t i = 0; i < kv_cap; i++)
		if (kv_tab[i])
			*kv_slot(tab, cap, kv_tab[i]->data, kv_tab[i]->klen, kv_tab[i]->hash) =
			    kv_tab[i];
	kv_tab = tab;
	kv_cap = cap;
	return 0;
}

static const char *kv_set(const char *k, size_t kn, const char *v, size_t vn)
{
	uint32_t h = kv_hash(k, kn);
	struct kv_ent **s, *e;

	if ((kv_count + 1) * 2 > kv_cap && kv_grow() < 0)
		return "ERR out of memory";
	s = kv_slot(kv_tab, kv_cap, k, kn, h);
	e = *s;
	if (!e || e->vcap < vn) {
		uint16_t vcap = (uint16_t)(vn < 16 ? 16 : vn);
		struct kv_ent *n = rt_alloc(sizeof(*n) + kn + vcap, 8);
		if (!n)
			return "ERR out of memory";
		n->hash = h;
		n->klen = (uint16_t)kn;
		n->vcap = vcap;
		memcpy(n->data, k, kn);
		if (!e)
			kv_count++;
		*s = e = n;
	}
	memcpy(e->data + e->klen, v, vn);
	e->vlen = (uint16_t)vn;
	kv_sets++;
	return "OK";
}

/* One request line (no LF) -> the reply (no LF) in out. */
static void kv_request(char *line, size_t n, char *out, size_t cap)
{
	char *sp;

	if (n && line[n - 1] == '\r')
		line[--n] = 0;
	if (n == 5 && memcmp(line, "COUNT", 5) == 0) {
		rt_snprintf(out, cap, "COUNT %lu", (unsigned long)kv_count);
	} else if (n > 4 && memcmp(line, "GET ", 4) == 0) {
		size_t kn = n - 4;
		kv_gets++;
		if (kn > KV_KEY_MAX || memchr(line + 4, ' ', kn)) {
			rt_snprintf(out, cap, "ERR bad key");
			return;
		}
		struct kv_ent *e =
		    kv_cap ? *kv_slot(kv_tab, kv_cap, line + 4, kn, kv_hash(line + 4, kn)) : NULL;
		if (e)
			rt_snprintf(out, cap, "VALUE %.*s", (int)e->vlen, e->data + e->klen);
		else
			rt_snprintf(out, cap, "NOTFOUND");
	} else if (n > 4 && memcmp(line, "SET ", 4) == 0 && (sp = memchr(line + 4, ' ', n - 4))) {
		size_t kn = (size_t)(sp - (line + 4)), vn = n - 4 - kn - 1;
		if (kn == 0 || kn > KV_KEY_MAX)
			rt_snprintf(out, cap, "ERR bad key");
		else if (vn > KV_VAL_MAX)
			rt_snprintf(out, cap, "ERR value too long");
		else
			rt_snprintf(out, cap, "%s", kv_set(line + 4, kn, sp + 1, vn));
	} else {
		rt_snprintf(out, cap, "ERR unknown request");
	}
}

struct kv_conn {
	struct pbuf *in; /* received, not yet answered */
};

/* Connection records are never freed (bump allocator): a free list. */
#define KV_FREE_MAX 512
static struct kv_conn *kv_free[KV_FREE_MAX];
static unsigned kv_nfree;

static void kv_conn_put(struct kv_conn *c)
{
	if (c->in)
		pbuf_free(c->in);
	c->in = NULL;
	if (kv_nfree < KV_FREE_MAX)
		kv_free[kv_nfree++] = c;
}

static void kv_close(struct tcp_pcb *pcb, struct kv_conn *c)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	kv_conn_put(c);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

/* Answers every complete line the send buffer has room for. */
static void kv_serve(struct tcp_pcb *pcb, struct kv_conn *c)
{
	static char line[KV_LINE_MAX + 1], reply[KV_REPLY_MAX + 2];

	while (c->in && tcp_sndbuf(pcb) >= KV_REPLY_MAX + 2) {
		u16_t nl = pbuf_memfind(c->in, "\n", 1, 0);
		if (nl == 0xffff) {
			if (c->in->tot_len > KV_LINE_MAX) {
				tcp_write(pcb, "ERR line too long\n", 18, TCP_WRITE_FLAG_COPY);
				kv_close(pcb, c);
				return;
			}
			break;
		}
		if (nl > KV_LINE_MAX) {
			tcp_write(pcb, "ERR line too long\n", 18, TCP_WRITE_FLAG_COPY);
			kv_close(pcb, c);
			return;
		}
		pbuf_copy_partial(c->in, line, nl, 0);
		line[nl] = 0;
		kv_request(line, nl, reply, KV_REPLY_MAX);
		size_t rn = strlen(reply);
		reply[rn++] = '\n';
		tcp_write(pcb, reply, (u16_t)rn, TCP_WRITE_FLAG_COPY);
		tcp_recved(pcb, (u16_t)(nl + 1));
		c->in = nl + 1u == c->in->tot_len ? (pbuf_free(c->in), NULL)
						  : pbuf_free_header(c->in, (u16_t)(nl + 1));
	}
	tcp_output(pcb);
}

static err_t kv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct kv_conn *c = arg;

	if (!p || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		kv_close(pcb, c);
		return ERR_OK;
	}
	if (c->in)
		pbuf_cat(c->in, p);
	else
		c->in = p;
	kv_serve(pcb, c);
	return ERR_OK;
}

static err_t kv_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)len;
	if (arg)
		kv_serve(pcb, arg);
	return ERR_OK;
}

static void kv_err(void *arg, err_t err)
{
	struct kv_conn *c = arg;

	(void)err; /* lwIP already freed the pcb */
	if (c)
		kv_conn_put(c);
}

static err_t kv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct kv_conn *c;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	c = kv_nfree ? kv_free[--kv_nfree] : rt_alloc(sizeof(*c), 8);
	if (!c)
		return ERR_MEM;
	c->in = NULL;
	kv_conns++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, kv_recv);
	tcp_sent(pcb, kv_sent);
	tcp_err(pcb, kv_err);
	return ERR_OK;
}

static uint64_t kv_report(uint64_t last)
{
	uint64_t sum = kv_count + kv_sets + kv_gets + kv_conns;

	if (sum != last)
		rt_printf("kv: keys=%lu sets=%lu gets=%lu conns=%lu\n", (unsigned long)kv_count,
			  (unsigned long)kv_sets, (unsigned long)kv_gets, (unsigned long)kv_conns);
	return sum;
}

int app_main(void)
{
	uint64_t port, next = 0, last = 0;
	struct tcp_pcb *t, *l;

	if (rt_cmdline_u64("port", 7070, &port) < 0 || port == 0 || port > 65535) {
		rt_printf("kv: bad port= (1..65535)\n");
		return 1;
	}
	if (rt_net_start() < 0)
		return 1;
	if (kv_grow() < 0 || !(t = tcp_new()) || tcp_bind(t, IP_ADDR_ANY, (u16_t)port) != ERR_OK ||
	    !(l = tcp_listen(t))) {
		rt_printf("kv: cannot listen on port %lu\n", (unsigned long)port);
		return 1;
	}
	tcp_accept(l, kv_accept);
	rt_printf("kv: ready tcp/%lu\n", (unsigned long)port);
	for (;;) {
		uint64_t now = rt_clock_ns();
		if (now >= next) {
			last = kv_report(last);
			next = now + RT_NS_PER_SEC;
		}
		rt_net_run(next - now);
	}
}
