/*
 * The data path's receive side (tun_dp_rx_dgrams, what tun_dp_rx_udp runs
 * after its recvmmsg) on arbitrary UDP payloads, with one vnet at each
 * security level: none, auth (null-sha1, null-sha256), conf (aes128-gcm,
 * aes128-cbc-sha1). The TAPs are socketpairs and the underlay socket is
 * replaced by one (dup2 over its fd) once opened, so whatever the data
 * path sends (re-multicasts, VARP answers) fails inside the process.
 *
 * Byte 0 of the input:
 *   bits 0-1  raw mode: the UDP source, 127.0.0.2/.3/.4 or ourselves
 *   bit 2     the datagram came to the multicast group
 *   bit 3     seal mode (below) instead of raw
 *   bits 6-7  raw mode: a GRO train of 0 (none), 100, 600 or 1400-byte
 *             segments
 *   bit 4     seal mode: an SA exchange message instead (below)
 * Raw mode: the rest is the UDP payload.
 * Seal mode: byte 1 picks the vnet (low 3 bits, mod 5), the sender
 * 127.0.0.5/.6/.7 (bits 3-4), a VARP payload instead of a frame (bit 5), a
 * FLOOD envelope (bit 6) with hops 1 (bit 7); the rest is the payload,
 * which the harness encapsulates as that sender would (ESP with the
 * sender's SA, next sequence number, its ICV covering the FLOOD's origin
 * and seq; FLOOD with a fresh seq, tagged under the vnet's flood key
 * around ESP). The senders' SAs (fixed nonces) are installed in the data
 * path's receive table at setup, as the SA exchange would. A sealed
 * Ethernet frame that pkt_eth_check accepts must come out of the vnet's
 * TAP unchanged; nothing else may come out of any TAP in seal mode.
 * SA mode: from sender 127.0.0.8 (bit 2 of byte 0: to the group) on the
 * vnet of byte 1, op byte 2 % 3 + 1 (ANNOUNCE flooded and tagged if bit 6
 * of byte 1, else unicast; REQUEST; REPLY to an open question of ours, so
 * that it installs, with .8's SPI hash unless bit 7 of byte 2), SPI bytes
 * 3-6, seq 7-10, nonce 11-26, all tagged under the vnet's SA key. Nothing
 * may come out of any TAP.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "esp_key.h"
#include "mac_table.h"
#include "pkt.h"
#include "sa_msg.h"
#include "tun_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NVNETS 5
#define NSEAL 3
#define SA_SENDER 8
#define SEAL_MAX 1600
#define HEAD 128
#define TAIL 64

static const enum esp_suite_id suites[NVNETS] = {
    ESP_SUITE_NONE,	  ESP_SUITE_NULL_SHA1,	     ESP_SUITE_NULL_SHA256,
    ESP_SUITE_AES128_GCM, ESP_SUITE_AES128_CBC_SHA1,
};

static struct {
	bool ready;
	struct tun_dp *dp;
	struct mac_table *macs;
	struct tun_vnet *vn[NVNETS];
	int tap[NVNETS][2];
	int udp_pair[2];
	struct esp_key key;
	struct esp_sa *seal_sa[NVNETS][NSEAL]; /* outbound SAs of senders .5-.7 */
	uint64_t flood_seq;
	unsigned varps;
} fz;

static struct vnet_addr lo(int host)
{
	struct vnet_addr a;

	vnet_addr_from_v4(&a, htonl(0x7f000000u | (uint32_t)host));
	return a;
}

static void on_varp(void *arg, struct tun_vnet *vn, const struct tun_rx_info *info,
		    const struct varp_msg *msg)
{
	(void)arg;
	fz.varps++;
	/* Answering goes through the encapsulation too; the "socket" refuses
	 * every send, so nothing leaves. */
	if (msg->op == VARP_MSG_REQUEST)
		(void)tun_dp_varp_send(fz.dp, vn, &info->sender, msg);
}

static struct tun_dp *open_dp(void)
{
	static const struct tun_dp_ops ops = {.varp = on_varp};
	struct tun_udp_conf uc = {.ifindex = 1};
	struct tun_dp *dp = NULL;

	uc.bind = uc.local = lo(1);
	vnet_addr_parse(TUN_GROUP_DEFAULT, &uc.group);
	for (int i = 0; i < 64 && !dp; i++) {
		uc.port = (uint16_t)(40000 + (getpid() + i * 7919) % 20000);
		/* A group makes FLOODs from peers re-multicast; where lo cannot
		 * join one, do without after half the tries. */
		if (i == 32)
			memset(&uc.group, 0, sizeof(uc.group));
		dp = tun_dp_new(&uc, 1, &ops, NULL);
	}
	return dp;
}

static int warm_up(void);

static int setup(void)
{
	struct tun_vnet_conf vc = {0};

	memset(fz.key.b, 0x5a, sizeof(fz.key.b));
	fz.macs = mac_table_new(4096);
	fz.dp = open_dp();
	if (!fz.macs || !fz.dp || socketpair(AF_UNIX, SOCK_DGRAM, 0, fz.udp_pair) < 0 ||
	    dup2(fz.udp_pair[0], tun_dp_fd(fz.dp)) < 0)
		return -1;
	for (int v = 0; v < NVNETS; v++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fz.tap[v]) < 0)
			return -1;
		vnet_id_from_short(&vc.id, (uint16_t)(97 + v));
		vc.tap_fd = fz.tap[v][0];
		vc.suite = suites[v];
		vc.key = fz.key;
		vc.macs = fz.macs;
		if (!(fz.vn[v] = tun_dp_vnet_add(fz.dp, &vc)))
			return -1;
		for (int s = 0; s < NSEAL && suites[v] != ESP_SUITE_NONE; s++) {
			struct vnet_addr sender = lo(5 + s);
			uint8_t nonce[ESP_NONCE_LEN];
			uint32_t spi = (uint32_t)esp_key_spi_hash(&vc.id, &sender) << 16 |
				       (uint32_t)(0x100 + s);
			struct esp_sa_keys k;
			struct tun_rxsa *e;

			/* The SA the sender would have told us in a REPLY. */
			memset(nonce, 0x10 * v + s, sizeof(nonce));
			if (esp_key_derive(&fz.key, &vc.id, suites[v], &sender, spi, nonce, &k) <
				0 ||
			    !(fz.seal_sa[v][s] = esp_sa_new(&k, ESP_SA_OUT)) ||
			    !(e = tun_rxsa_get(fz.dp, fz.vn[v], &sender)) ||
			    tun_rxsa_install(fz.dp, e, spi, nonce, 0, 1) != 0)
				return -1;
		}
	}
	/* Peers make accepted floods take the forwarding path too; their
	 * sends fail on the socketpair, inside the process. The sealing
	 * senders are peers (a FLOOD by unicast is taken only from a peer);
	 * the raw mode's sources and .8 are not. */
	struct vnet_addr peers[5] = {lo(5), lo(6), lo(7), lo(20), lo(21)};
	if (tun_dp_peers_set(fz.dp, peers, 5) < 0)
		return -1;
	fz.flood_seq = 1;
	fz.ready = true;
	return warm_up();
}

/* Reads everything the data path wrote to the TAPs; returns how many
 * frames, and copies the last one of vnet `want` to out. */
static size_t drain(int want, uint8_t *out, size_t *out_len)
{
	static uint8_t buf[70000];
	size_t n = 0;

	for (int v = 0; v < NVNETS; v++) {
		ssize_t r;

		while ((r = recv(fz.tap[v][1], buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			n++;
			if (v == want && out && (size_t)r <= SEAL_MAX) {
				memcpy(out, buf, (size_t)r);
				*out_len = (size_t)r;
			}
		}
	}
	return n;
}

static void deliver(uint8_t *pkt, size_t len, int sender, bool mcast, size_t seg)
{
	struct tun_udp_dgram d = {.data = pkt, .len = len, .seg = seg ? seg : len, .mcast = mcast};

	d.from.sin_family = AF_INET;
	d.from.sin_port = htons(1798);
	d.from.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)sender);
	tun_dp_rx_dgrams(fz.dp, &d, 1);
}

static void raw(const uint8_t *data, size_t size)
{
	static const size_t segs[4] = {0, 100, 600, 1400};
	static const int senders[4] = {2, 3, 4, 1};
	uint8_t *pkt = malloc(size ? size : 1);

	if (!pkt)
		return;
	memcpy(pkt, data + 1, size - 1);
	deliver(pkt, size - 1, senders[data[0] & 3], data[0] & 4, segs[data[0] >> 6]);
	free(pkt);
	drain(-1, NULL, NULL);
}

/* Encapsulates payload as sender 127.0.0.(5 + s) would on vnet v and
 * delivers it; returns how many frames came out of the TAPs, the last of
 * vnet v in out. *fresh tells whether a FLOOD's (origin, seq) was new. */
static size_t seal_one(int v, int s, const uint8_t *data, size_t len, uint8_t ctl, bool mcast,
		       uint8_t *out, size_t *out_len, bool *fresh)
{
	static uint8_t buf[HEAD + SEAL_MAX + TAIL];
	uint8_t *payload = buf + HEAD, *pkt;
	bool varp = ctl & 0x20;
	struct vnet_addr sender = lo(5 + s);
	size_t plen;

	memcpy(payload, data, len);
	*fresh = true;
	if (fz.seal_sa[v][s]) {
		uint8_t extb[PKT_FLOOD_EXT_LEN];
		struct esp_ext ext = {extb, sizeof(extb)};

		/* A flooded packet's ICV covers the envelope's origin | seq. */
		memcpy(extb, sender.b, VNET_ADDR_LEN);
		for (int i = 0; i < 8; i++)
			extb[VNET_ADDR_LEN + i] = (uint8_t)(fz.flood_seq >> (56 - 8 * i));
		if (esp_sa_encap_ext(fz.seal_sa[v][s], payload, len, HEAD, SEAL_MAX + TAIL - len,
				     varp ? ESP_NH_VARP : ESP_NH_ETHERNET,
				     (ctl & 0x40) ? &ext : NULL, &pkt, &plen) < 0)
			return 0;
	} else {
		pkt = pkt_push_vnet(payload, HEAD, varp ? PKT_VARP : PKT_FRAME,
				    tun_vnet_id(fz.vn[v]));
		plen = len + PKT_VNET_HDR_LEN;
	}
	if (ctl & 0x40) {
		bool tagged = fz.seal_sa[v][s] != NULL;
		uint64_t seq = fz.flood_seq++;
		uint8_t *f = pkt_push_flood(pkt, (size_t)(pkt - buf), &sender, seq,
					    (ctl & 0x80) ? 1 : 0, tagged);

		/* Raw inputs may have moved this origin's window past seq. */
		*fresh = replay_flood_check(fz.vn[v]->floods, &sender, seq, tun_dp_clock_ms()) ==
			 REPLAY_NEW;
		plen += (size_t)(pkt - f);
		pkt = f;
		if (tagged && tun_flood_tag(fz.vn[v], pkt, plen) < 0)
			return 0;
	}
	deliver(pkt, plen, 5 + s, mcast, 0);
	return drain(v, out, out_len);
}

static void seal(const uint8_t *data, size_t size)
{
	static uint8_t out[SEAL_MAX];
	size_t len, out_len = 0, got;
	uint8_t ctl;
	int v;
	bool want_frame, fresh;

	if (size < 2 || size - 2 > SEAL_MAX)
		return;
	ctl = data[1];
	v = (ctl & 7) % NVNETS;
	len = size - 2;
	got = seal_one(v, ((ctl >> 3) & 3) % NSEAL, data + 2, len, ctl, data[0] & 4, out, &out_len,
		       &fresh);
	want_frame = !(ctl & 0x20) && fresh && pkt_eth_check(data + 2, len, 0);
	if (got != (want_frame ? 1u : 0u))
		__builtin_trap();
	if (want_frame && (out_len != len || memcmp(out, data + 2, len) != 0))
		__builtin_trap();
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An SA exchange message from 127.0.0.8 (see the top). */
static void sa_mode(const uint8_t *data, size_t size)
{
	static uint8_t buf[PKT_FLOOD_TAGGED_LEN + SA_PKT_LEN];
	uint8_t in[27] = {0}, *pkt = buf + PKT_FLOOD_TAGGED_LEN;
	struct vnet_addr sender = lo(SA_SENDER);
	struct tun_vnet *vn;
	struct tun_rxsa *e;
	struct sa_msg m;
	size_t len = SA_PKT_LEN;
	bool flood;

	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	vn = fz.vn[(in[1] & 7) % NVNETS];
	flood = in[1] & 0x40;
	memset(&m, 0, sizeof(m));
	m.op = (enum sa_msg_op)(in[2] % 3 + 1);
	m.vnet = *tun_vnet_id(vn);
	m.suite = vn->suite;
	m.spi = get32(in + 3);
	memcpy(m.challenge, in + 11, SA_CHALLENGE_LEN); /* a guess */
	if (m.op == SA_MSG_ANNOUNCE) {
		m.sender = sender;
	} else if (m.op == SA_MSG_REQUEST) {
		m.suite = ESP_SUITE_NONE;
		m.sender = fz.dp->local;
		m.asker = sender;
		flood = false;
	} else {
		m.sender = sender;
		m.asker = fz.dp->local;
		m.seq = get32(in + 7);
		/* Mostly an SPI of .8's on this vnet (its hash), else anything. */
		if (!(in[2] & 0x80))
			m.spi =
			    (uint32_t)esp_key_spi_hash(&m.vnet, &sender) << 16 | (m.spi & 0xffff);
		memcpy(m.nonce, in + 11, ESP_NONCE_LEN);
		flood = false;
		/* Answer a question we have open (asked now, as a packet in
		 * .8's name would make us). */
		if (vn->tx_sa && (e = tun_rxsa_get(fz.dp, vn, &sender)))
			tun_saex_challenge(fz.dp, vn, &sender, tun_dp_clock_ms() / TUN_SA_SLOT_MS,
					   m.challenge);
	}
	/* The codec refuses what it could not send (a bad SPI): raw mode
	 * covers that. A `none` vnet has no SA key: sign with another's. */
	if (sa_msg_encode(&m, vn->sa_tag ? vn->sa_tag : fz.vn[3]->sa_tag, pkt) < 0)
		return;
	if (flood) {
		pkt = pkt_push_flood(pkt, PKT_FLOOD_TAGGED_LEN, &sender, fz.flood_seq++, 0, true);
		len += PKT_FLOOD_TAGGED_LEN;
		if (tun_flood_tag(vn->flood_tag ? vn : fz.vn[3], pkt, len) < 0)
			return;
	}
	/* .8 is no peer: a flooded ANNOUNCE counts only by multicast. */
	deliver(pkt, len, SA_SENDER, in[0] & 4, 0);
	if (drain(-1, NULL, NULL) != 0)
		__builtin_trap();
}

/* One frame from every sealing sender on every vnet: their receive SAs
 * work before any input runs. */
static int warm_up(void)
{
	uint8_t f[60] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 5, 0x88, 0xb5}, out[SEAL_MAX];
	size_t out_len;
	bool fresh;

	for (int v = 0; v < NVNETS; v++) {
		for (int s = 0; s < NSEAL; s++) {
			f[11] = (uint8_t)(5 + s);
			if (seal_one(v, s, f, sizeof(f), 0, false, out, &out_len, &fresh) != 1)
				return -1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz.ready && setup() < 0)
		abort(); /* the environment, not the input: say so loudly */
	if (size < 1)
		return 0;
	if ((data[0] & 0x18) == 0x18)
		sa_mode(data, size);
	else if (data[0] & 8)
		seal(data, size);
	else
		raw(data, size);
	return 0;
}
