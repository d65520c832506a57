/*
 * blast: guest-to-host UDP load for bench/guest-net. Sends `count`
 * datagrams of `size` bytes of payload (64) to `dst`:`port` (10.97.0.1:9000)
 * as fast as the TX ring takes them, `batch` (128) per rt_net_run() round,
 * after waiting `wait=` ms (1000) for the host to get ready. Prints
 *   blast: sent=<n> dropped=<n> ns=<elapsed> pps=<n> kicks=<n> yields=<n>
 * where kicks + yields are the exits the net path cost (during the
 * sends), lets the TX ring drain for 200 ms and halts 0.
 */
#include "lwip/ip4_addr.h"
#include "lwip/udp.h"
#include "rt.h"
#include "rt_net.h"

static int blast_args(ip_addr_t *dst, uint64_t v[5])
{
	char s[20];

	if (rt_cmdline_str("dst", "10.97.0.1", s, sizeof(s)) < 0 || !ipaddr_aton(s, dst) ||
	    rt_cmdline_u64("port", 9000, &v[0]) < 0 ||
	    rt_cmdline_u64("count", 1000000, &v[1]) < 0 || rt_cmdline_u64("size", 64, &v[2]) < 0 ||
	    rt_cmdline_u64("batch", 128, &v[3]) < 0 || rt_cmdline_u64("wait", 1000, &v[4]) < 0 ||
	    v[0] == 0 || v[0] > 65535 || v[2] > 1472 || v[3] == 0) {
		rt_printf("blast: bad dst=, port=, count=, size= (<= 1472), batch= or wait=\n");
		return -1;
	}
	return 0;
}

int app_main(void)
{
	static uint8_t payload[1472];
	uint64_t v[5], sent = 0, dropped = 0, t0, t1;
	ip_addr_t dst;
	struct udp_pcb *u;

	if (blast_args(&dst, v) < 0 || rt_net_start() < 0 || !(u = udp_new()))
		return 1;
	uint64_t until = rt_clock_ns() + v[4] * 1000000u;
	while (rt_clock_ns() < until) /* ARP for dst, host setup */
		rt_net_run(until - rt_clock_ns());
	udp_sendto(u, pbuf_alloc(PBUF_TRANSPORT, 0, PBUF_RAM), &dst, (u16_t)v[0]); /* ARP */
	rt_net_run(10000000u);
	const struct rt_net_stats st0 = *rt_net_stats();
	t0 = rt_clock_ns();
	while (sent + dropped < v[1]) {
		for (uint64_t i = 0; i < v[3] && sent + dropped < v[1]; i++) {
			struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)v[2], PBUF_RAM);
			if (!p || pbuf_take(p, payload, (u16_t)v[2]) != ERR_OK ||
			    udp_sendto(u, p, &dst, (u16_t)v[0]) != ERR_OK)
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
