/*
 * The echo guest's pinger: with `ping=A.B.C.D` it sends an ICMP echo
 * request there every `ping_ms` (100) of guest time, identifier = the low
 * 16 bits of its own address (distinct per guest on a vnet, unchanged by a
 * migration), sequence numbers counting up from 0, 32 bytes of a fixed
 * pattern. A reply counts when it comes from the pinged address, has our
 * identifier, a good checksum, our length and pattern, and a sequence
 * number among the last PING_WINDOW sent and not yet answered (so a
 * duplicate counts once).
 *
 * It is a raw pcb for IP_PROTO_ICMP, which lwIP shows every ICMP packet
 * before its own icmp_input: the callback eats only the replies it counts
 * and returns 0 for everything else, so lwIP still answers the pings that
 * reach this guest. `sent` counts the requests lwIP took (raw_sendto ==
 * ERR_OK; the first one waits in the ARP queue until the peer answers).
 */
#include "echo_ping.h"

#include "lwip/icmp.h"
#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/raw.h"
#include "rt.h"
#include "rt_net.h"

#define PING_DATA 32
#define PING_LEN (sizeof(struct icmp_echo_hdr) + PING_DATA)
#define PING_WINDOW 64 /* requests a reply may still answer */
#define PING_MS_MAX 60000

static struct {
	struct raw_pcb *pcb; /* NULL: ping= absent */
	ip4_addr_t dst;
	char dst_s[16];
	u16_t id, seq; /* seq: the next one to send */
	uint64_t interval_ns, next_ns;
	uint64_t sent, replies, last_rtt_ns, reported;
	uint64_t sent_at[PING_WINDOW]; /* by seq % PING_WINDOW */
	u16_t slot_seq[PING_WINDOW];
	uint8_t pending[PING_WINDOW]; /* sent, not yet answered */
} pg;

static uint8_t ping_byte(unsigned i)
{
	return (uint8_t)('a' + i % 26);
}

/* Only the dotted quad itself: ip4addr_aton alone also takes "10.1". */
int echo_ping_args(void)
{
	char s[20], back[16];
	uint64_t ms;

	if (rt_cmdline_str("ping", "", s, sizeof(s)) < 0 ||
	    rt_cmdline_u64("ping_ms", 100, &ms) < 0 || ms == 0 || ms > PING_MS_MAX) {
		rt_printf("echo: bad ping= (A.B.C.D) or ping_ms= (1..%d)\n", PING_MS_MAX);
		return -RT_EINVAL;
	}
	if (!s[0])
		return 0;
	if (!ip4addr_aton(s, &pg.dst) || !ip4addr_ntoa_r(&pg.dst, back, sizeof(back)) ||
	    strcmp(s, back) != 0 || ip4_addr_isany_val(pg.dst) || ip4_addr_ismulticast(&pg.dst) ||
	    ip4_addr_get_u32(&pg.dst) == IPADDR_BROADCAST) {
		rt_printf("echo: bad ping=%s: not a unicast A.B.C.D\n", s);
		return -RT_EINVAL;
	}
	memcpy(pg.dst_s, back, sizeof(pg.dst_s));
	pg.interval_ns = ms * 1000000u;
	return 0;
}

/* A reply we count: copies the ICMP part out (the pbuf may be a chain)
 * and checks it against what we sent. */
static int ping_match(struct pbuf *p, const ip_addr_t *src, u16_t *seq)
{
	uint8_t b[PING_LEN];
	struct icmp_echo_hdr *h = (struct icmp_echo_hdr *)b;
	u16_t hl = ip_current_header_tot_len();

	if (!ip4_addr_cmp(src, &pg.dst) || p->tot_len != hl + PING_LEN ||
	    pbuf_copy_partial(p, b, PING_LEN, hl) != PING_LEN)
		return 0;
	if (ICMPH_TYPE(h) != ICMP_ER || ICMPH_CODE(h) != 0 || lwip_ntohs(h->id) != pg.id ||
	    inet_chksum(b, PING_LEN) != 0)
		return 0;
	for (unsigned i = 0; i < PING_DATA; i++)
		if (b[sizeof(*h) + i] != ping_byte(i))
			return 0;
	*seq = lwip_ntohs(h->seqno);
	return pg.pending[*seq % PING_WINDOW] && pg.slot_seq[*seq % PING_WINDOW] == *seq;
}

static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *src)
{
	u16_t seq;

	(void)arg, (void)pcb;
	if (!ping_match(p, src, &seq))
		return 0; /* lwIP's icmp_input goes on with it */
	pg.pending[seq % PING_WINDOW] = 0;
	pg.replies++;
	pg.last_rtt_ns = rt_clock_ns() - pg.sent_at[seq % PING_WINDOW];
	pbuf_free(p);
	return 1;
}

int echo_ping_start(void)
{
	struct netif *nif = rt_net_netif();

	if (!pg.interval_ns)
		return 0;
	if (ip4_addr_cmp(&pg.dst, netif_ip4_addr(nif)) || ip4_addr_isbroadcast(&pg.dst, nif)) {
		rt_printf("echo: bad ping=%s: this guest's own or broadcast address\n", pg.dst_s);
		return -1;
	}
	pg.pcb = raw_new(IP_PROTO_ICMP);
	if (!pg.pcb) {
		rt_printf("echo: ping %s: no raw pcb\n", pg.dst_s);
		return -1;
	}
	pg.id = (u16_t)(lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(nif))) & 0xffffu);
	raw_recv(pg.pcb, ping_recv, NULL);
	return 0;
}

static void ping_send(uint64_t now)
{
	struct pbuf *p = pbuf_alloc(PBUF_IP, PING_LEN, PBUF_RAM);
	struct icmp_echo_hdr *h;
	unsigned slot = pg.seq % PING_WINDOW;

	if (!p)
		return;
	h = p->payload;
	ICMPH_TYPE_SET(h, ICMP_ECHO);
	ICMPH_CODE_SET(h, 0);
	h->id = lwip_htons(pg.id);
	h->seqno = lwip_htons(pg.seq);
	h->chksum = 0;
	for (unsigned i = 0; i < PING_DATA; i++)
		((uint8_t *)p->payload)[sizeof(*h) + i] = ping_byte(i);
	h->chksum = inet_chksum(h, PING_LEN);
	pg.pending[slot] = 0; /* the oldest request leaves the window */
	if (raw_sendto(pg.pcb, p, &pg.dst) == ERR_OK) {
		pg.slot_seq[slot] = pg.seq;
		pg.sent_at[slot] = now;
		pg.pending[slot] = 1;
		pg.sent++;
	}
	pbuf_free(p);
	pg.seq++;
}

uint64_t echo_ping_tick(uint64_t now)
{
	if (!pg.pcb)
		return UINT64_MAX;
	if (now >= pg.next_ns) {
		ping_send(now);
		pg.next_ns = now + pg.interval_ns;
	}
	return pg.next_ns;
}

void echo_ping_report(void)
{
	if (!pg.pcb || pg.sent + pg.replies == pg.reported)
		return;
	pg.reported = pg.sent + pg.replies;
	rt_printf("echo: ping %s sent=%lu replies=%lu last_rtt_us=%lu\n", pg.dst_s,
		  (unsigned long)pg.sent, (unsigned long)pg.replies,
		  (unsigned long)(pg.last_rtt_ns / 1000u));
}
