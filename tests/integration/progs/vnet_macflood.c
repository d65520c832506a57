/*
 * vnet_macflood: a misbehaving guest for 28_vnet_mac_flood.sh. Sends COUNT
 * broadcast Ethernet frames on IFACE, each from a different random source
 * MAC (unicast, locally administered), so that the bridge behind IFACE
 * learns a new MAC per frame and vnetd sees each as a new local guest.
 *
 *   vnet_macflood [-n COUNT] [-s SEED] IFACE
 *
 * COUNT defaults to 70000. Frames go out in sendmmsg batches on an
 * AF_PACKET socket; a full queue (ENOBUFS) is waited out, not counted as
 * sent. Prints "sent N" and exits 0, 1 on error, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_BATCH 64
#define FLOOD_LEN 60 /* minimum Ethernet frame without FCS */

static uint64_t flood_rand(uint64_t *s)
{
	/* xorshift64*: distinct enough MACs, reproducible from the seed. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void flood_frame(uint8_t f[FLOOD_LEN], uint64_t *seed)
{
	uint64_t r = flood_rand(seed);

	memset(f, 0, FLOOD_LEN);
	memset(f, 0xff, 6); /* broadcast: flooded everywhere, as a guest's ARP */
	memcpy(f + 6, &r, 6);
	f[6] = (uint8_t)((f[6] & 0xfc) | 0x02); /* unicast, locally administered */
	f[12] = 0x88;				/* local experimental ethertype */
	f[13] = 0xb5;
}

static int flood_send(int fd, const struct sockaddr_ll *to, unsigned long count, uint64_t seed)
{
	static uint8_t frames[FLOOD_BATCH][FLOOD_LEN];
	struct mmsghdr msgs[FLOOD_BATCH];
	struct iovec iov[FLOOD_BATCH];
	unsigned long sent = 0;

	while (sent < count) {
		unsigned n = count - sent < FLOOD_BATCH ? (unsigned)(count - sent) : FLOOD_BATCH;
		int rc;

		memset(msgs, 0, sizeof(msgs));
		for (unsigned i = 0; i < n; i++) {
			flood_frame(frames[i], &seed);
			iov[i].iov_base = frames[i];
			iov[i].iov_len = FLOOD_LEN;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = (void *)to;
			msgs[i].msg_hdr.msg_namelen = sizeof(*to);
		}
		rc = sendmmsg(fd, msgs, n, 0);
		if (rc < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
			/* The unsent frames get new MACs: only the count matters. */
			nanosleep(&(struct timespec){0, 1000000}, NULL);
			continue;
		}
		if (rc < 0) {
			perror("vnet_macflood: sendmmsg");
			return -1;
		}
		sent += (unsigned long)rc;
	}
	printf("sent %lu\n", sent);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_halen = 6};
	unsigned long count = 70000;
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	int opt, fd;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		switch (opt) {
		case 'n':
			count = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	to.sll_ifindex = (int)if_nametoindex(argv[optind]);
	if (!to.sll_ifindex) {
		fprintf(stderr, "vnet_macflood: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	to.sll_protocol = htons(0x88b5);
	memset(to.sll_addr, 0xff, 6);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("vnet_macflood: socket");
		return 1;
	}
	if (flood_send(fd, &to, count, seed) < 0)
		return 1;
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: vnet_macflood [-n COUNT] [-s SEED] IFACE\n");
	return 2;
}
