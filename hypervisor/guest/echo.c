/*
 * echo: answers ARP and ICMP echo (lwIP itself), echoes UDP datagrams and
 * TCP streams on port 7 and discards them on port 9 (RFC 863: a sink for
 * one-way throughput, bench/guest-net). Prints its counters once a second
 * of guest time when they changed:
 *   echo: icmp=<n> udp=<n> tcp_conns=<n> tcp_bytes=<n> rx=<n> tx=<n>
 *         kicks=<n> discard_udp=<n> discard_bytes=<n>
 *   echo: drops link=<n> eth=<n> ip=<n> iplen=<n> ipchk=<n> tcp=<n> tcpchk=<n>
 *         udp=<n> udpchk=<n> bad=<n>
 * (lwIP's counters: eth = frames too short or of an unknown type, iplen =
 * truncated IP headers, *chk = bad checksums; bad = lengths the vmm
 * reported that cannot be.)
 * A TCP connection whose send buffer is full keeps the unsent rest and
 * stops acknowledging (tcp_recved) until it drains: the client is slowed,
 * nothing is lost.
 *
 * Optional `ping=A.B.C.D` (`ping_ms=<n>`, 100): the guest also pings that
 * address every n ms of guest time (echo_ping.c), so two echo guests reach
 * each other with no host sending for them, and prints, in the same
 * once-a-second report when they changed,
 *   echo: ping <A.B.C.D> sent=<n> replies=<n> last_rtt_us=<n>
 * (sent = requests lwIP took; replies = echo replies from that address
 * with this guest's identifier and a sequence number it sent; rtt of the
 * last one counted; those replies do not show in icmp=). A bad ping= or
 * ping_ms= prints `echo: bad ping=...` and halts 1. Without ping= nothing
 * is sent and the output is as above.
 */
#include "echo_ping.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "rt.h"
#include "rt_net.h"

#define ECHO_PORT 7
#define DISCARD_PORT 9

struct echo_conn {
	struct pbuf *pending; /* received, not yet written */
};

static uint64_t echo_udp, echo_conns, echo_bytes;
static uint64_t discard_udp, discard_bytes; /* datagrams; UDP + TCP bytes */

/* Connection records are never freed (bump allocator): a free list. */
#define ECHO_FREE_MAX 512
static struct echo_conn *echo_free_list[ECHO_FREE_MAX];
static unsigned echo_nfree;

static void echo_conn_put(struct echo_conn *c)
{
	if (c->pending)
		pbuf_free(c->pending);
	c->pending = NULL;
	if (echo_nfree < ECHO_FREE_MAX)
		echo_free_list[echo_nfree++] = c;
}

static void echo_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
			  u16_t port)
{
	(void)arg;
	echo_udp++;
	udp_sendto(pcb, p, addr, port);
	pbuf_free(p);
}

static void discard_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
			     u16_t port)
{
	(void)arg, (void)pcb, (void)addr, (void)port;
	discard_udp++;
	discard_bytes += p->tot_len;
	pbuf_free(p);
}

/* Acknowledges at once: the window stays open and the sender sets the pace. */
static err_t discard_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	if (!p || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		tcp_recv(pcb, NULL);
		if (tcp_close(pcb) != ERR_OK)
			tcp_abort(pcb);
		return ERR_OK;
	}
	discard_bytes += p->tot_len;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t discard_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	echo_conns++;
	tcp_recv(pcb, discard_recv);
	return ERR_OK;
}

static void echo_close(struct tcp_pcb *pcb, struct echo_conn *c)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	if (c)
		echo_conn_put(c);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

/* Writes as much of the pending data as the send buffer takes, and only
 * then acknowledges it to the peer's window. */
static void echo_flush(struct tcp_pcb *pcb, struct echo_conn *c)
{
	while (c->pending) {
		struct pbuf *q = c->pending;
		u16_t n = q->len < tcp_sndbuf(pcb) ? q->len : tcp_sndbuf(pcb);
		if (n == 0 || tcp_write(pcb, q->payload, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		echo_bytes += n;
		tcp_recved(pcb, n);
		if (n < q->len) {
			pbuf_remove_header(q, n);
			break;
		}
		c->pending = q->next;
		if (c->pending)
			pbuf_ref(c->pending);
		pbuf_free(q);
	}
	tcp_output(pcb);
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)len;
	if (arg)
		echo_flush(pcb, arg);
	return ERR_OK;
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct echo_conn *c = arg;

	if (!p || err != ERR_OK) {
		if (p)
			pbuf_free(p);
		echo_close(pcb, c);
		return ERR_OK;
	}
	if (c->pending)
		pbuf_cat(c->pending, p);
	else
		c->pending = p;
	echo_flush(pcb, c);
	return ERR_OK;
}

static void echo_err(void *arg, err_t err)
{
	struct echo_conn *c = arg;

	(void)err; /* lwIP already freed the pcb */
	if (c)
		echo_conn_put(c);
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct echo_conn *c;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	c = echo_nfree ? echo_free_list[--echo_nfree] : rt_alloc(sizeof(*c), 8);
	if (!c)
		return ERR_MEM;
	c->pending = NULL;
	echo_conns++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, echo_recv);
	tcp_sent(pcb, echo_sent);
	tcp_err(pcb, echo_err);
	return ERR_OK;
}

/* UDP and TCP on `port`, with the given callbacks. */
static int echo_serve(u16_t port, udp_recv_fn on_udp, tcp_accept_fn on_accept)
{
	struct udp_pcb *u = udp_new();
	struct tcp_pcb *t = tcp_new(), *l;

	if (!u || !t || udp_bind(u, IP_ADDR_ANY, port) != ERR_OK ||
	    tcp_bind(t, IP_ADDR_ANY, port) != ERR_OK || !(l = tcp_listen(t)))
		return -1;
	udp_recv(u, on_udp, NULL);
	tcp_accept(l, on_accept);
	return 0;
}

static int echo_listen(void)
{
	return echo_serve(ECHO_PORT, echo_udp_recv, echo_accept) < 0 ||
		       echo_serve(DISCARD_PORT, discard_udp_recv, discard_accept) < 0
		   ? -1
		   : 0;
}

static uint64_t echo_report(uint64_t last)
{
	const struct rt_net_stats *ns = rt_net_stats();
	uint64_t sum = lwip_stats.icmp.recv + echo_udp + echo_conns + echo_bytes + ns->rx_frames +
		       lwip_stats.link.drop + lwip_stats.ip.drop + lwip_stats.tcp.drop +
		       discard_bytes;

	if (sum == last)
		return sum;
	rt_printf(
	    "echo: icmp=%u udp=%lu tcp_conns=%lu tcp_bytes=%lu rx=%lu tx=%lu kicks=%lu "
	    "discard_udp=%lu discard_bytes=%lu\n",
	    (unsigned)lwip_stats.icmp.recv, (unsigned long)echo_udp, (unsigned long)echo_conns,
	    (unsigned long)echo_bytes, (unsigned long)ns->rx_frames, (unsigned long)ns->tx_frames,
	    (unsigned long)ns->kicks, (unsigned long)discard_udp, (unsigned long)discard_bytes);
	rt_printf("echo: drops link=%u eth=%u ip=%u iplen=%u ipchk=%u tcp=%u tcpchk=%u udp=%u "
		  "udpchk=%u bad=%lu\n",
		  (unsigned)lwip_stats.link.drop, (unsigned)lwip_stats.etharp.proterr,
		  (unsigned)lwip_stats.ip.drop, (unsigned)lwip_stats.ip.lenerr,
		  (unsigned)lwip_stats.ip.chkerr, (unsigned)lwip_stats.tcp.drop,
		  (unsigned)lwip_stats.tcp.chkerr, (unsigned)lwip_stats.udp.drop,
		  (unsigned)lwip_stats.udp.chkerr, (unsigned long)ns->rx_bad);
	return sum;
}

int app_main(void)
{
	uint64_t next = 0, last = 0;

	if (echo_ping_args() < 0 || rt_net_start() < 0 || echo_ping_start() < 0)
		return 1;
	if (echo_listen() < 0) {
		rt_printf("echo: cannot listen on ports %d and %d\n", ECHO_PORT, DISCARD_PORT);
		return 1;
	}
	rt_printf("echo: ready udp/%d tcp/%d\n", ECHO_PORT, ECHO_PORT);
	for (;;) {
		uint64_t now = rt_clock_ns(), wake;
		if (now >= next) {
			last = echo_report(last);
			echo_ping_report();
			next = now + RT_NS_PER_SEC;
		}
		wake = echo_ping_tick(now);
		rt_net_run((wake < next ? wake : next) - now);
	}
}
