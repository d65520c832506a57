/*
 * blast: one-way load for bench/guest-net, UDP (the default) or TCP.
 *
 * `proto=udp`: sends `count` datagrams of `size` bytes of payload (64) to
 * `dst`:`port` (10.97.0.1:9000) as fast as the TX ring takes them, `batch`
 * (128) per rt_net_run() round, after waiting `wait=` ms (1000) for the
 * host to get ready and for dst's (or the gateway's) ARP reply (5 s at
 * most, or `blast: no ARP reply from <ip> in 5 s`, halt 1). Prints
 *   blast: sent=<n> dropped=<n> ns=<elapsed> pps=<n> kicks=<n> yields=<n>
 * where kicks + yields are the exits the net path cost (during the
 * sends), lets the TX ring drain for 200 ms and halts 0.
 *
 * `proto=tcp`: after the same wait, connects to `dst`:`port` (lwIP's raw
 * API) and streams `bytes=` bytes (64 MiB) as fast as the send buffer
 * takes them (copied from a static buffer; refilled from the sent
 * callback), then closes and prints
 *   blast: tcp bytes=<acked> ns=<connect to last byte acked> MBps=<MB/s>
 *          kicks=<n> yields=<n>
 * (one line; MB = 10^6 bytes) and halts 0. A refused or reset connection,
 * or `idle=` ms (10000) without an acknowledgement, prints
 * `blast: tcp failed err=<lwIP err> bytes=<acked>` and halts 1. The
 * segment size follows the interface MTU (the vif's link MTU from the boot
 * info, or `mtu=`: rt_net.h).
 */
#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "rt.h"
#include "rt_net.h"

enum { A_PORT, A_COUNT, A_SIZE, A_BATCH, A_WAIT, A_BYTES, A_IDLE, A_N };

static int blast_args(ip_addr_t *dst, int *tcp, uint64_t v[A_N])
{
	char s[20], p[8];

	if (rt_cmdline_str("dst", "10.97.0.1", s, sizeof(s)) < 0 || !ipaddr_aton(s, dst) ||
	    rt_cmdline_str("proto", "udp", p, sizeof(p)) < 0 ||
	    (strcmp(p, "udp") != 0 && strcmp(p, "tcp") != 0) ||
	    rt_cmdline_u64("port", 9000, &v[A_PORT]) < 0 ||
	    rt_cmdline_u64("count", 1000000, &v[A_COUNT]) < 0 ||
	    rt_cmdline_u64("size", 64, &v[A_SIZE]) < 0 ||
	    rt_cmdline_u64("batch", 128, &v[A_BATCH]) < 0 ||
	    rt_cmdline_u64("wait", 1000, &v[A_WAIT]) < 0 ||
	    rt_cmdline_u64("bytes", 64 * RT_MIB, &v[A_BYTES]) < 0 ||
	    rt_cmdline_u64("idle", 10000, &v[A_IDLE]) < 0 || v[A_PORT] == 0 || v[A_PORT] > 65535 ||
	    v[A_SIZE] > 1472 || v[A_BATCH] == 0 || v[A_BYTES] == 0 ||
	    v[A_BYTES] > ((uint64_t)1 << 40) || v[A_IDLE] == 0) {
		rt_printf("blast: bad dst=, proto= (udp|tcp), port=, count=, size= (<= 1472), "
			  "batch=, wait=, bytes= (1..2^40) or idle=\n");
		return -1;
	}
	*tcp = p[0] == 't';
	return 0;
}

static int blast_udp(struct udp_pcb *u, const ip_addr_t *dst, const uint64_t v[A_N])
{
	static uint8_t payload[1472];
	uint64_t sent = 0, dropped = 0, t0, t1, until;

	const struct rt_net_stats st0 = *rt_net_stats();
	t0 = rt_clock_ns();
	while (sent + dropped < v[A_COUNT]) {
		for (uint64_t i = 0; i < v[A_BATCH] && sent + dropped < v[A_COUNT]; i++) {
			struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)v[A_SIZE], PBUF_RAM);
			if (!p || pbuf_take(p, payload, (u16_t)v[A_SIZE]) != ERR_OK ||
			    udp_sendto(u, p, dst, (u16_t)v[A_PORT]) != ERR_OK)
				dropped++;
			else
				sent++;
			if (p)
				pbuf_free(p);
		}
		rt_net_run(0);
	}
	t1 = rt_clock_ns();
	const struct rt_net_stats *st = rt_net_stats();
	/* Let the vmm drain the TX ring before the halt stops it. */
	until = rt_clock_ns() + 200000000u;
	while (rt_clock_ns() < until)
		rt_net_run(until - rt_clock_ns());
	rt_printf("blast: sent=%lu dropped=%lu ns=%lu pps=%lu kicks=%lu yields=%lu\n",
		  (unsigned long)sent, (unsigned long)dropped, (unsigned long)(t1 - t0),
		  (unsigned long)(sent * RT_NS_PER_SEC / (t1 - t0 ? t1 - t0 : 1)),
		  (unsigned long)(st->kicks - st0.kicks), (unsigned long)(st->yields - st0.yields));
	return 0;
}

/* The TCP stream's state, shared with lwIP's callbacks. */
static struct {
	struct tcp_pcb *pcb;
	uint64_t total, queued, acked, last_ack_ns;
	err_t err; /* from the error callback (the pcb is gone then) */
	int connected;
} bt;

/* Queues as much of the rest as the send buffer and queue take. */
static void bt_fill(void)
{
	static uint8_t chunk[16384];

	while (bt.queued < bt.total) {
		uint64_t n = bt.total - bt.queued, room = tcp_sndbuf(bt.pcb);
		if (n > room)
			n = room;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		if (n == 0)
			break;
		u8_t more = bt.queued + n < bt.total ? TCP_WRITE_FLAG_MORE : 0;
		if (tcp_write(bt.pcb, chunk, (u16_t)n, TCP_WRITE_FLAG_COPY | more) != ERR_OK)
			break; /* queue full: the sent callback comes back */
		bt.queued += n;
	}
	tcp_output(bt.pcb);
}

static err_t bt_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)arg, (void)pcb;
	bt.acked += len;
	bt.last_ack_ns = rt_clock_ns();
	bt_fill();
	return ERR_OK;
}

static err_t bt_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg, (void)pcb;
	bt.connected = 1;
	bt.last_ack_ns = rt_clock_ns();
	if (err == ERR_OK)
		bt_fill();
	return ERR_OK;
}

/* The sink sends nothing; a FIN before we are done is a failure. */
static err_t bt_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg, (void)err;
	if (!p) {
		if (bt.acked < bt.total)
			bt.err = ERR_CLSD;
		return ERR_OK;
	}
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static void bt_error(void *arg, err_t err)
{
	(void)arg;
	bt.pcb = NULL;
	bt.err = err != ERR_OK ? err : ERR_ABRT;
}

static void bt_close(void)
{
	uint64_t until = rt_clock_ns() + 200000000u;

	if (!bt.pcb)
		return;
	tcp_arg(bt.pcb, NULL);
	tcp_sent(bt.pcb, NULL);
	tcp_recv(bt.pcb, NULL);
	tcp_err(bt.pcb, NULL);
	if (tcp_close(bt.pcb) != ERR_OK)
		tcp_abort(bt.pcb);
	bt.pcb = NULL;
	while (rt_clock_ns() < until) /* the FIN and its ack */
		rt_net_run(until - rt_clock_ns());
}

static int blast_tcp(const ip_addr_t *dst, const uint64_t v[A_N])
{
	uint64_t t0, t1, idle = v[A_IDLE] * 1000000u;
	err_t e;

	bt.total = v[A_BYTES];
	if (!(bt.pcb = tcp_new()))
		return 1;
	tcp_sent(bt.pcb, bt_sent);
	tcp_recv(bt.pcb, bt_recv);
	tcp_err(bt.pcb, bt_error);
	const struct rt_net_stats st0 = *rt_net_stats();
	t0 = bt.last_ack_ns = rt_clock_ns();
	if ((e = tcp_connect(bt.pcb, dst, (u16_t)v[A_PORT], bt_connected)) != ERR_OK)
		bt.err = e;
	while (bt.acked < bt.total && bt.err == ERR_OK && rt_clock_ns() - bt.last_ack_ns < idle)
		rt_net_run(1000000u);
	t1 = rt_clock_ns();
	const struct rt_net_stats *st = rt_net_stats();
	uint64_t kicks = st->kicks - st0.kicks, yields = st->yields - st0.yields;
	bt_close();
	if (bt.acked < bt.total) {
		rt_printf("blast: tcp failed err=%d bytes=%lu\n",
			  bt.err != ERR_OK ? (int)bt.err : (int)ERR_TIMEOUT,
			  (unsigned long)bt.acked);
		return 1;
	}
	uint64_t ns = t1 - t0 ? t1 - t0 : 1, tenths = bt.acked * 10000u / ns;
	rt_printf("blast: tcp bytes=%lu ns=%lu MBps=%lu.%lu kicks=%lu yields=%lu\n",
		  (unsigned long)bt.acked, (unsigned long)ns, (unsigned long)(tenths / 10),
		  (unsigned long)(tenths % 10), (unsigned long)kicks, (unsigned long)yields);
	return 0;
}

/* The next hop's MAC before the clock starts: while ARP is pending lwIP
 * queues only the last few datagrams and drops the rest unseen (sendto
 * still says ERR_OK), so an unresolved start would count phantom sends.
 * Asks every 100 ms, for at most 5 s. */
static int blast_resolve(const ip_addr_t *dst)
{
	struct netif *nif = rt_net_netif();
	const ip4_addr_t *hop = ip4_addr_netcmp(dst, netif_ip4_addr(nif), netif_ip4_netmask(nif))
				    ? dst
				    : netif_ip4_gw(nif);
	struct eth_addr *mac;
	const ip4_addr_t *ip;

	for (int i = 0; i < 50; i++) {
		uint64_t until = rt_clock_ns() + 100000000u;
		etharp_request(nif, hop);
		while (rt_clock_ns() < until) {
			if (etharp_find_addr(nif, hop, &mac, &ip) >= 0)
				return 0;
			rt_net_run(until - rt_clock_ns());
		}
	}
	rt_printf("blast: no ARP reply from %s in 5 s\n", ip4addr_ntoa(hop));
	return -1;
}

int app_main(void)
{
	uint64_t v[A_N];
	ip_addr_t dst;
	struct udp_pcb *u = NULL;
	int tcp;

	if (blast_args(&dst, &tcp, v) < 0 || rt_net_start() < 0 || (!tcp && !(u = udp_new())))
		return 1;
	uint64_t until = rt_clock_ns() + v[A_WAIT] * 1000000u;
	while (rt_clock_ns() < until) /* host setup */
		rt_net_run(until - rt_clock_ns());
	if (blast_resolve(&dst) < 0)
		return 1;
	return tcp ? blast_tcp(&dst, v) : blast_udp(u, &dst, v);
}
