/*
 * lwIP configuration of the Tern guest runtime: NO_SYS (one thread, no
 * OS), raw API, IPv4 with ARP, ICMP, UDP, TCP and raw IP pcbs; no DHCP,
 * DNS, IGMP or IPv6 (addresses come from the command line). lwIP's heap
 * lives in one block from rt_alloc (rt_lwip.c); pools are static. Sizes
 * suit a guest serving a few hundred connections at the vif's MTU (1500,
 * or 1400 on a vnet).
 */
#ifndef TERN_LWIPOPTS_H
#define TERN_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_TIMERS 1

/* Memory: lwIP's own heap over a block the runtime allocates. */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (4 * 1024 * 1024)
#define LWIP_RAM_HEAP_POINTER rt_lwip_heap
extern unsigned char *rt_lwip_heap; /* MEM_SIZE bytes from rt_alloc (rt_lwip.c) */
#define MEMP_NUM_PBUF 256
#define MEMP_NUM_UDP_PCB 8
#define MEMP_NUM_TCP_PCB 256
#define MEMP_NUM_TCP_PCB_LISTEN 8
#define MEMP_NUM_TCP_SEG 1024
#define MEMP_NUM_SYS_TIMEOUT 16
#define PBUF_POOL_SIZE 1024
#define PBUF_POOL_BUFSIZE 1536

#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define ARP_TABLE_SIZE 32
#define ARP_QUEUEING 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ETHERNET 1
#define IP_FORWARD 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0
#define LWIP_ICMP 1
/* Raw pcbs: echo's pinger (echo_ping.c). With none registered ip4_input
 * takes the same path as without LWIP_RAW. */
#define LWIP_RAW 1
#define MEMP_NUM_RAW_PCB 2
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_HAVE_LOOPIF 0

#define TCP_MSS 1460
/* 140 KB each way: at 32 segments the window, not the guest, limited a
 * host's one-way stream to the guest (180 -> 253 MB/s, bench/guest-net/
 * one_host) and the send buffer a guest's own stream over a vnet; both
 * are limits, memory is taken only as data actually queues. lwIP wants
 * the low-water mark in 16 bits. */
#define TCP_WND (96 * TCP_MSS)
#define TCP_SND_BUF (96 * TCP_MSS)
#define TCP_SNDLOWAT (16 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_QUEUE_OOSEQ 1
#define LWIP_TCP_KEEPALIVE 0
#define TCP_LISTEN_BACKLOG 0
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2

/* Checksums: lwIP checks every incoming one (bad frames are dropped and
 * counted in lwip_stats) and computes outgoing ones. */
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_ICMP 1
#define LWIP_CHECKSUM_ON_COPY 0

/* Counters the apps print (drops by reason). */
#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS 1
#define ETHARP_STATS 1
#define IP_STATS 1
#define ICMP_STATS 1
#define UDP_STATS 1
#define TCP_STATS 1
#define MEM_STATS 0
#define MEMP_STATS 0
#define SYS_STATS 0

#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_SINGLE_NETIF 0
#define LWIP_DEBUG 0

#endif
