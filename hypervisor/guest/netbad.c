/*
 * netbad: a hostile guest for the vmm's net backend (44_net_hostile.sh).
 * Works on device 0's rings directly, without the driver:
 *
 *   mode=index   TX avail 1000 ahead of used
 *   mode=back    TX avail moved backwards after the vmm took frames
 *   mode=addr    a TX frame past the end of RAM
 *   mode=len     a TX frame of 65535 bytes
 *   mode=rxcap   RX buffers of 100 bytes
 *   mode=flip    rounds of 256 valid frames whose descriptors keep being
 *                rewritten (other valid buffers and lengths) while the vmm
 *                reads them, for `ms=` (1500) ms; then a length of 0
 *   mode=kick    kicks for devices 0..9 (only 0 exists)
 *   mode=spoof   100 frames from a foreign source MAC (02:00:00:00:00:99,
 *                as if it were a neighbour's), then 10 from its own
 *
 * Every other frame it sends is from its vif's own MAC: the vmm drops
 * (and counts) frames from any other source address.
 *
 * Prints `netbad: <mode> done used=<tx used> kick_ret=<ret of dev 7>`,
 * waits 300 ms (the vmm logs what it saw) and halts 0. The vmm must stay
 * up and report the guest halted, not crashed.
 */
#include "rt.h"
#include "rt_cpu.h"

static volatile struct tern_hc_net_kick kick_hc;

static int64_t kick(uint32_t dev)
{
	kick_hc.dev = dev;
	kick_hc.ret = 0;
	rt_hypercall(TERN_HC_NET_KICK, &kick_hc);
	return kick_hc.ret;
}

static const uint8_t *own_mac;

/* A 60-byte broadcast frame of the local experimental ethertype, from
 * `src` (the vif's MAC unless a test wants a spoofed one). */
static void frame_from(uint8_t *f, uint32_t i, const uint8_t *src)
{
	memset(f, 0, 1514);
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88, f[13] = 0xb5;
	memcpy(f + 14, &i, 4);
}

static void frame(uint8_t *f, uint32_t i)
{
	frame_from(f, i, own_mac);
}

static void flip(volatile struct tern_net_ring *tx, uint8_t *bufs, uint64_t ms)
{
	uint64_t end = rt_clock_ns() + ms * 1000000u;
	uint32_t avail = tx->avail, rounds = 0;

	for (uint32_t i = 0; i < 2 * TERN_NET_RING_ENTRIES; i++)
		frame(bufs + (uint64_t)i * 2048, i);
	while (rt_clock_ns() < end) {
		for (uint32_t i = 0; i < TERN_NET_RING_ENTRIES; i++) {
			tx->desc[i].addr = (uint64_t)(uintptr_t)(bufs + (uint64_t)i * 2048);
			tx->desc[i].len = 60;
		}
		avail += TERN_NET_RING_ENTRIES;
		__atomic_store_n(&tx->avail, avail, __ATOMIC_RELEASE);
		kick(0);
		for (uint32_t k = 0; tx->used != avail && k < 200000; k++) {
			uint32_t s = (k * 7) % TERN_NET_RING_ENTRIES;
			tx->desc[s].addr =
			    (uint64_t)(uintptr_t)(bufs + (uint64_t)((k + s) % 512) * 2048);
			tx->desc[s].len = 60 + (k % 1455);
		}
		/* The vmm may not have had a CPU yet: never run ahead of it. */
		uint64_t give_up = rt_clock_ns() + 2 * RT_NS_PER_SEC;
		while (tx->used != avail && rt_clock_ns() < give_up) {
			tx->guest_notify = 1;
			rt_sys_yield(rt_clock_ns() + 1000000u, TERN_READY_NET(0));
			tx->guest_notify = 0;
		}
		if (tx->used != avail)
			break;
		rounds++;
	}
	rt_printf("netbad: flip rounds=%u\n", rounds);
	tx->desc[avail % TERN_NET_RING_ENTRIES].addr = (uint64_t)(uintptr_t)bufs;
	tx->desc[avail % TERN_NET_RING_ENTRIES].len = 0;
	__atomic_store_n(&tx->avail, avail + 1, __ATOMIC_RELEASE);
	kick(0);
}

static void post_tx(volatile struct tern_net_ring *tx, uint64_t addr, uint32_t len);

/* Sends n frames from src, one by one, each taken before the next. */
static void send_from(volatile struct tern_net_ring *tx, uint8_t *buf, const uint8_t *src,
		      uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		frame_from(buf, i, src);
		post_tx(tx, (uint64_t)(uintptr_t)buf, 60);
		for (uint32_t k = 0; tx->used != tx->avail && k < 1000; k++)
			rt_sys_yield(rt_clock_ns() + 1000000u, 0);
	}
}

static void post_tx(volatile struct tern_net_ring *tx, uint64_t addr, uint32_t len)
{
	uint32_t a = tx->avail;

	tx->desc[a % TERN_NET_RING_ENTRIES].addr = addr;
	tx->desc[a % TERN_NET_RING_ENTRIES].len = len;
	__atomic_store_n(&tx->avail, a + 1, __ATOMIC_RELEASE);
	kick(0);
}

int app_main(void)
{
	const struct tern_boot_info *bi = rt_boot_info();
	char mode[16];
	uint64_t ms;
	int64_t kr = 0;

	if (rt_cmdline_str("mode", "flip", mode, sizeof(mode)) < 0 ||
	    rt_cmdline_u64("ms", 1500, &ms) < 0 || bi->ndevs < 1) {
		rt_printf("netbad: bad mode= or ms=, or no vif\n");
		return 1;
	}
	volatile struct tern_net_ring *tx = (void *)(uintptr_t)bi->net[0].tx_ring;
	volatile struct tern_net_ring *rx = (void *)(uintptr_t)bi->net[0].rx_ring;
	uint8_t *bufs = rt_alloc(512 * 2048, RT_PAGE_SIZE);
	static const uint8_t foreign[6] = {0x02, 0, 0, 0, 0, 0x99};
	own_mac = bi->net[0].mac;
	frame(bufs, 0);
	if (strcmp(mode, "index") == 0) {
		tx->avail = tx->used + 1000;
		kick(0);
	} else if (strcmp(mode, "back") == 0) {
		post_tx(tx, (uint64_t)(uintptr_t)bufs, 60);
		post_tx(tx, (uint64_t)(uintptr_t)bufs, 60);
		rt_sys_yield(rt_clock_ns() + 100000000u, 0);
		tx->avail = tx->used - 1;
		kick(0);
	} else if (strcmp(mode, "addr") == 0) {
		post_tx(tx, bi->mem_size - 30, 60);
	} else if (strcmp(mode, "len") == 0) {
		post_tx(tx, (uint64_t)(uintptr_t)bufs, 65535);
	} else if (strcmp(mode, "rxcap") == 0) {
		for (uint32_t i = 0; i < 4; i++) {
			rx->desc[i].addr = (uint64_t)(uintptr_t)(bufs + i * 2048);
			rx->desc[i].len = 100;
		}
		rx->avail = rx->used + 4;
		kick(0);
	} else if (strcmp(mode, "flip") == 0) {
		flip(tx, bufs, ms);
	} else if (strcmp(mode, "spoof") == 0) {
		send_from(tx, bufs, foreign, 100);
		send_from(tx, bufs, own_mac, 10);
	} else if (strcmp(mode, "kick") == 0) {
		for (uint32_t d = 0; d < 10; d++)
			kr = d == 7 ? kick(d) : (kick(d), kr);
	} else {
		rt_printf("netbad: unknown mode %s\n", mode);
		return 1;
	}
	rt_sys_yield(rt_clock_ns() + 300000000u, 0);
	rt_printf("netbad: %s done used=%u kick_ret=%ld\n", mode, tx->used, (long)kr);
	return 0;
}
