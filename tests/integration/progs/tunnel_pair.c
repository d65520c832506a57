/*
 * tunnel_pair: the smallest complete user of libtunnel, for namespace smoke
 * tests and throughput runs without vnetd. In the current network
 * namespace it opens TAP `tap` (IFF_VNET_HDR, so TSO offload is used),
 * brings it up, and joins it to a one-vnet data path whose only peer is
 * `peer`: unknown destinations flood to the peer, learned ones go unicast.
 * Runs until SIGINT/SIGTERM or `seconds`, then prints its counters.
 * Environment TUNNEL_PAIR_SPIN_US=N: busy-poll N microseconds after each
 * packet before sleeping (latency experiments).
 *
 *   tunnel_pair LOCAL_ADDR PEER_ADDR TAP SUITE [SECONDS]
 *   SUITE: none | aes128-gcm | aes128-cbc-sha1 | null-sha1 | null-sha256
 *
 * Needs root (CAP_NET_ADMIN). Exit 0 on a clean stop, 1 on a setup error.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mac_table.h"
#include "nl_link.h"
#include "tun.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_tap(char *name)
{
	struct nl_link *nl = nl_link_new();
	int fd, err;

	if (!nl)
		return -errno;
	fd = nl_link_tap_open(nl, name, NL_LINK_TAP_VNET_HDR);
	if (fd >= 0 && (err = nl_link_set_up(nl, name, true)) < 0) {
		close(fd);
		fd = err;
	}
	if (fd < 0)
		fprintf(stderr, "tunnel_pair: %s\n", nl_link_errmsg(nl));
	nl_link_free(nl);
	return fd;
}

static void print_stats(const struct tun_vnet *vn)
{
	struct tun_stats s;

	tun_vnet_stats(vn, &s);
	printf("tx %llu frames %llu bytes (%llu floods), rx %llu frames %llu bytes; "
	       "drops: auth %llu replay %llu malformed %llu noroute %llu dup %llu\n",
	       (unsigned long long)s.tx_frames, (unsigned long long)s.tx_bytes,
	       (unsigned long long)s.tx_floods, (unsigned long long)s.rx_frames,
	       (unsigned long long)s.rx_bytes, (unsigned long long)s.drop_auth,
	       (unsigned long long)s.drop_replay, (unsigned long long)s.drop_malformed,
	       (unsigned long long)s.drop_noroute, (unsigned long long)s.drop_dup_flood);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* spin_us > 0: keep polling without sleeping for that long after the last
 * packet, trading a core for wake-up latency (what a latency-bound
 * deployment of vnetd could do). */
static void loop(struct tun_dp *dp, struct tun_vnet *vn, int tap, time_t until, uint64_t spin_us)
{
	struct pollfd p[2] = {{.fd = tun_dp_fd(dp), .events = POLLIN},
			      {.fd = tap, .events = POLLIN}};
	uint64_t last = 0;

	while (!stop && (!until || time(NULL) < until)) {
		int spin = spin_us && now_us() - last < spin_us;

		if (poll(p, 2, spin ? 0 : 200) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			tun_dp_rx_udp(dp);
		if (p[1].revents & POLLIN)
			tun_dp_rx_tap(dp, vn);
		if (spin_us && ((p[0].revents | p[1].revents) & POLLIN))
			last = now_us();
	}
}

int main(int argc, char **argv)
{
	struct tun_udp_conf uc = {0};
	struct tun_vnet_conf vc = {0};
	struct vnet_addr peer;
	struct tun_dp *dp = NULL;
	struct tun_vnet *vn;
	char tap[IFNAMSIZ] = "";
	int fd = -1, rc = 1;

	if (argc < 5 || vnet_addr_parse(argv[1], &uc.local) < 0 ||
	    vnet_addr_parse(argv[2], &peer) < 0 || strlen(argv[3]) >= IFNAMSIZ ||
	    (strcmp(argv[4], "none") && esp_sa_suite_parse(argv[4], &vc.suite) < 0)) {
		fprintf(stderr, "usage: tunnel_pair LOCAL PEER TAP SUITE [SECONDS]\n");
		return 2;
	}
	strcpy(tap, argv[3]);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((fd = open_tap(tap)) < 0 ||
	    !(dp = tun_dp_new(&uc, (uint64_t)time(NULL) * 1000000u, NULL, NULL))) {
		fprintf(stderr, "tunnel_pair: setup: %s\n", strerror(fd < 0 ? -fd : errno));
		goto out;
	}
	vnet_id_from_short(&vc.id, 97);
	memset(vc.key.b, 0x42, sizeof(vc.key.b));
	vc.tap_fd = fd;
	vc.macs = mac_table_new(4096);
	if (!vc.macs || tun_dp_peers_set(dp, &peer, 1) < 0 || !(vn = tun_dp_vnet_add(dp, &vc))) {
		fprintf(stderr, "tunnel_pair: vnet: %s\n", strerror(errno));
		goto out;
	}
	printf("tunnel_pair: %s up, offload %s\n", tap, tun_vnet_offload(vn) ? "yes" : "no");
	fflush(stdout);
	loop(dp, vn, fd, argc > 5 ? time(NULL) + atoi(argv[5]) : 0,
	     getenv("TUNNEL_PAIR_SPIN_US") ? strtoull(getenv("TUNNEL_PAIR_SPIN_US"), NULL, 10) : 0);
	print_stats(vn);
	rc = 0;
out:
	tun_dp_free(dp);
	mac_table_free(vc.macs);
	if (fd >= 0)
		close(fd);
	return rc;
}
