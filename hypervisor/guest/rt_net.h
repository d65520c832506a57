/*
 * The guest's network: the netif driver over the rings of abi.h (rt_net.c)
 * with lwIP on top (NO_SYS, raw API; rt_lwip.c is its port). An app calls
 * rt_net_start() once, sets up its raw-API pcbs, then loops on
 * rt_net_run(): frames in, lwIP timers, frames out, and blocking in the
 * yield hypercall when there is nothing to do.
 */
#ifndef RT_NET_H
#define RT_NET_H

#include <stdint.h>

#include "lwip/netif.h"

/* The driver's counters (lwIP's own are in lwip_stats). */
struct rt_net_stats {
	uint64_t rx_frames, tx_frames;
	uint64_t rx_nomem; /* no pbuf for a received frame: dropped */
	uint64_t rx_bad;   /* the vmm reported a length that cannot be */
	uint64_t tx_full;  /* TX ring full for too long: frame dropped */
	uint64_t tx_big;   /* frame longer than TERN_NET_FRAME_MAX: dropped */
	uint64_t kicks;	   /* TERN_HC_NET_KICK hypercalls */
	uint64_t yields;   /* blocks in the yield hypercall */
};

/* Brings up device 0 from the boot info with the address from the command
 * line (`ip=A.B.C.D/N`, optional `gw=A.B.C.D`, optional `mtu=` 576..1500,
 * default the vif's MTU in the boot info, which the vmm reads off its TAP:
 * TCP segments follow it, and a bridge drops frames longer than its
 * ports' MTU) and prints one line `net: vif0 mac=.. ip=.. gw=..`
 * (then ` mtu=N` when not 1500). 0, or -RT_ENODEV (no device) /
 * -RT_EINVAL (bad or missing ip=) after printing why. */
#define RT_ENODEV 19
int rt_net_start(void);
/* The interface rt_net_start() brought up. */
struct netif *rt_net_netif(void);
/* One round: received frames into lwIP, due timers, pending kicks; then,
 * if nothing arrived, blocks until a frame comes or at most max_wait_ns
 * (capped at the next lwIP timer). */
void rt_net_run(uint64_t max_wait_ns);
const struct rt_net_stats *rt_net_stats(void);

#endif
