/*
 * The netif driver over device 0's rings (abi.h: "Net device").
 *
 * TX: lwIP's linkoutput copies a frame into the slot's own 2 KiB buffer and
 * advances `avail`; the kick (an exit) is made once per rt_net_run() round
 * and only when the vmm said it sleeps (vmm_notify), so a busy guest sends
 * whole batches without exits. RX: all slots hold a posted 2 KiB buffer;
 * each round takes up to RX_BATCH frames from [cons, used) into pbufs for
 * ethernet_input and re-posts the buffers. With nothing to do the guest
 * sets guest_notify, re-reads `used`, and blocks in yield.
 */
#include "rt_net.h"

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "rt.h"
#include "rt_cpu.h"
#include "rt_lwip.h"

#define NET_BUF 2048u
#define RX_BATCH 64u
#define TX_FULL_TRIES 100 /* 100 x 1 ms waiting for the vmm to drain TX */

struct rt_net {
	struct netif netif;
	volatile struct tern_net_ring *tx, *rx;
	uint8_t *tx_buf, *rx_buf; /* TERN_NET_RING_ENTRIES x NET_BUF each */
	uint32_t tx_avail;	  /* our copy of tx->avail */
	uint32_t rx_cons;	  /* next RX slot to read */
	int kick_pending;	  /* TX avail moved since the last kick check */
	uint32_t resumes;	  /* the clock page's resume count we announced at */
	uint64_t mtu; /* the vif's (boot info: its TAP's, a vnet's is 1400), or `mtu=` */
	struct rt_net_stats st;
};

static struct rt_net net;
static volatile struct tern_hc_net_kick net_kick_hc;

static void net_kick(void)
{
	net_kick_hc.dev = 0;
	net_kick_hc.ret = 0;
	rt_hypercall(TERN_HC_NET_KICK, &net_kick_hc);
	net.st.kicks++;
}

/* After advancing an `avail`: kick only a sleeping backend. The fence
 * orders our index store before the flag load (the backend's mirror
 * image stores its flag, fences, re-reads avail). */
static void net_kick_if_asleep(volatile struct tern_net_ring *r)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (r->vmm_notify)
		net_kick();
}

static uint32_t net_used(volatile struct tern_net_ring *r)
{
	return __atomic_load_n(&r->used, __ATOMIC_ACQUIRE);
}

static int net_tx_wait_slot(void)
{
	for (int i = 0; i < TX_FULL_TRIES; i++) {
		if (net.tx_avail - net_used(net.tx) < TERN_NET_RING_ENTRIES)
			return 0;
		net.tx->guest_notify = 1;
		net_kick_if_asleep(net.tx);
		if (net.tx_avail - net_used(net.tx) >= TERN_NET_RING_ENTRIES) {
			net.st.yields++;
			rt_sys_yield(rt_clock_ns() + 1000000u, TERN_READY_NET(0));
		}
		net.tx->guest_notify = 0;
	}
	return -1;
}

static err_t net_linkoutput(struct netif *nif, struct pbuf *p)
{
	(void)nif;
	if (p->tot_len > TERN_NET_FRAME_MAX) {
		net.st.tx_big++;
		return ERR_IF;
	}
	if (net_tx_wait_slot() < 0) {
		net.st.tx_full++;
		return ERR_IF;
	}
	uint32_t slot = net.tx_avail % TERN_NET_RING_ENTRIES;
	uint8_t *buf = net.tx_buf + (uint64_t)slot * NET_BUF;
	pbuf_copy_partial(p, buf, p->tot_len, 0);
	net.tx->desc[slot].addr = (uint64_t)(uintptr_t)buf;
	net.tx->desc[slot].len = p->tot_len;
	net.tx_avail++;
	__atomic_store_n(&net.tx->avail, net.tx_avail, __ATOMIC_RELEASE);
	net.kick_pending = 1;
	net.st.tx_frames++;
	return ERR_OK;
}

/* Takes up to RX_BATCH frames; returns how many. */
static unsigned net_rx(void)
{
	uint32_t used = net_used(net.rx);
	unsigned n = 0;

	while (net.rx_cons != used && n < RX_BATCH) {
		uint32_t slot = net.rx_cons % TERN_NET_RING_ENTRIES;
		uint32_t len = net.rx->desc[slot].used_len;
		const uint8_t *buf = net.rx_buf + (uint64_t)slot * NET_BUF;
		struct pbuf *p = NULL;

		if (len < TERN_NET_FRAME_MIN || len > TERN_NET_FRAME_MAX)
			net.st.rx_bad++;
		else if (!(p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL)))
			net.st.rx_nomem++;
		if (p) {
			pbuf_take(p, buf, (u16_t)len);
			net.st.rx_frames++;
			if (net.netif.input(p, &net.netif) != ERR_OK)
				pbuf_free(p);
		}
		net.rx_cons++;
		n++;
		/* The buffer goes back: the slot's descriptor never changes. */
		__atomic_store_n(&net.rx->avail, net.rx_cons + TERN_NET_RING_ENTRIES,
				 __ATOMIC_RELEASE);
	}
	if (n)
		net_kick_if_asleep(net.rx);
	return n;
}

static void net_flush(void)
{
	if (net.kick_pending) {
		net.kick_pending = 0;
		net_kick_if_asleep(net.tx);
	}
}

static void net_block(uint64_t max_wait_ns)
{
	uint32_t next = sys_timeouts_sleeptime();
	uint64_t wait =
	    next == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? max_wait_ns : (uint64_t)next * 1000000u;

	if (wait > max_wait_ns)
		wait = max_wait_ns;
	net.rx->guest_notify = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (net_used(net.rx) == net.rx_cons && wait) {
		net.st.yields++;
		rt_sys_yield(rt_clock_ns() + wait, TERN_READY_NET(0));
	}
	net.rx->guest_notify = 0;
}

static void net_garp(void *arg)
{
	(void)arg;
	etharp_gratuitous(&net.netif);
}

void rt_net_run(uint64_t max_wait_ns)
{
	unsigned n;

	/* Restored or migrated: tell the LAN our IP is at our MAC now (the vmm
	 * has announced the MAC with RARP; neighbours' ARP caches need this). */
	if (rt_clock_resumes() != net.resumes) {
		net.resumes = rt_clock_resumes();
		net_garp(NULL);
		/* Again later: the bridge port may take a moment to forward. */
		sys_timeout(250, net_garp, NULL);
		sys_timeout(1000, net_garp, NULL);
	}
	n = net_rx();

	sys_check_timeouts();
	net_flush();
	if (n == 0)
		net_block(max_wait_ns);
}

static err_t net_if_init(struct netif *nif)
{
	const struct tern_net_info *ni = &rt_boot_info()->net[0];

	nif->name[0] = 'v';
	nif->name[1] = 'f';
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, ni->mac, ETH_HWADDR_LEN);
	nif->mtu = (u16_t)net.mtu;
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	nif->output = etharp_output;
	nif->linkoutput = net_linkoutput;
	return ERR_OK;
}

/* Rings from the boot info, zeroed by the vmm; posts every RX buffer. */
static int net_rings(const struct tern_net_info *ni)
{
	net.tx = (volatile struct tern_net_ring *)(uintptr_t)ni->tx_ring;
	net.rx = (volatile struct tern_net_ring *)(uintptr_t)ni->rx_ring;
	net.tx_buf = rt_alloc((uint64_t)TERN_NET_RING_ENTRIES * NET_BUF, RT_PAGE_SIZE);
	net.rx_buf = rt_alloc((uint64_t)TERN_NET_RING_ENTRIES * NET_BUF, RT_PAGE_SIZE);
	if (!net.tx_buf || !net.rx_buf || ni->ring_entries != TERN_NET_RING_ENTRIES)
		return -1;
	net.tx_avail = net.tx->avail;
	net.rx_cons = net.rx->used;
	for (uint32_t i = 0; i < TERN_NET_RING_ENTRIES; i++) {
		net.rx->desc[i].addr = (uint64_t)(uintptr_t)(net.rx_buf + (uint64_t)i * NET_BUF);
		net.rx->desc[i].len = NET_BUF;
	}
	__atomic_store_n(&net.rx->avail, net.rx_cons + TERN_NET_RING_ENTRIES, __ATOMIC_RELEASE);
	net_kick_if_asleep(net.rx);
	return 0;
}

/* `ip=A.B.C.D/N` and `gw=A.B.C.D` from the command line. */
static int net_addr(ip4_addr_t *ip, ip4_addr_t *mask, ip4_addr_t *gw, uint32_t *prefix)
{
	char s[40], g[20];
	char *slash;
	uint32_t bits = 24;

	if (rt_cmdline_str("ip", "", s, sizeof(s)) < 0 || !s[0]) {
		rt_printf("net: missing or bad ip=A.B.C.D/N on the command line\n");
		return -RT_EINVAL;
	}
	if ((slash = strchr(s, '/'))) {
		*slash = 0;
		bits = 0;
		for (const char *p = slash + 1; *p; p++)
			bits = (*p >= '0' && *p <= '9' && bits < 100)
				   ? bits * 10 + (uint32_t)(*p - '0')
				   : 99;
	}
	if (!ip4addr_aton(s, ip) || bits < 1 || bits > 32 ||
	    rt_cmdline_str("gw", "", g, sizeof(g)) < 0 || (g[0] && !ip4addr_aton(g, gw))) {
		rt_printf("net: bad ip= or gw= on the command line\n");
		return -RT_EINVAL;
	}
	uint16_t link_mtu = rt_boot_info()->net[0].mtu;

	/* A TCP segment larger than the link's MTU would be dropped by the
	 * bridge: the MSS lwIP announces follows the netif's MTU. */
	if (link_mtu < 576 || link_mtu > 1500)
		link_mtu = 1500;
	if (rt_cmdline_u64("mtu", link_mtu, &net.mtu) < 0 || net.mtu < 576 || net.mtu > 1500) {
		rt_printf("net: bad mtu= on the command line (576..1500)\n");
		return -RT_EINVAL;
	}
	if (!g[0])
		ip4_addr_set_zero(gw);
	ip4_addr_set_u32(mask, lwip_htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits)));
	*prefix = bits;
	return 0;
}

int rt_net_start(void)
{
	const struct tern_boot_info *bi = rt_boot_info();
	ip4_addr_t ip, mask, gw;
	uint32_t prefix;
	int rc;

	if (bi->ndevs < 1) {
		rt_printf("net: no network device (the domain has no vif)\n");
		return -RT_ENODEV;
	}
	if ((rc = net_addr(&ip, &mask, &gw, &prefix)) < 0)
		return rc;
	if (rt_lwip_init() < 0 || net_rings(&bi->net[0]) < 0) {
		rt_printf("net: vif0: no memory for lwIP or the ring buffers\n");
		return -RT_E2BIG;
	}
	if (!netif_add(&net.netif, &ip, &mask, &gw, NULL, net_if_init, ethernet_input)) {
		rt_printf("net: vif0: netif_add failed\n");
		return -RT_EINVAL;
	}
	net.resumes = rt_clock_resumes();
	netif_set_default(&net.netif);
	netif_set_up(&net.netif);
	netif_set_link_up(&net.netif);
	const uint8_t *m = bi->net[0].mac;
	rt_printf("net: vif0 mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s/%u", m[0], m[1], m[2], m[3],
		  m[4], m[5], ip4addr_ntoa(&ip), (unsigned)prefix);
	rt_printf(" gw=%s", ip4addr_ntoa(&gw));
	if (net.mtu != 1500)
		rt_printf(" mtu=%lu", (unsigned long)net.mtu);
	rt_printf("\n");
	return 0;
}

struct netif *rt_net_netif(void)
{
	return &net.netif;
}

const struct rt_net_stats *rt_net_stats(void)
{
	return &net.st;
}
