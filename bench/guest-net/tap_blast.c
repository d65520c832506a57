/*
 * tap_blast TAP COUNT DST_MAC: writes COUNT Ethernet frames (UDP, 64-byte
 * payload, 10.97.0.11:9000 -> 10.97.0.1:9000, to DST_MAC: the bridge's, as
 * the blast guest's frames are after its ARP; IP and UDP checksums filled
 * in, as lwIP does) into the existing TAP, one write() each, as the vmm's
 * net thread does, and prints "tap_blast: frames=<n> ns=<elapsed> pps=<n>".
 * The ceiling of the TAP and the host stack behind it for one writer,
 * without a guest.
 * Exit 0, or 1 with "tap_blast: <what>: <why>" on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN (14 + 20 + 8 + 64)

static uint16_t ip_csum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	s = (s >> 16) + (s & 0xffff);
	s += s >> 16;
	return (uint16_t)~s;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static void frame(uint8_t *f, const uint8_t dst[6])
{
	static const uint8_t ip[20] = {0x45, 0, 0,  20 + 8 + 64, 0, 1,	0,  0,	64, 17,
				       0,    0, 10, 97,		 0, 11, 10, 97, 0,  1};
	uint8_t ph[12 + 8 + 64]; /* UDP pseudo-header, header, payload */

	memset(f, 0, FRAME_LEN);
	memcpy(f, dst, 6);
	f[6] = 0x02;
	f[12] = 0x08;
	memcpy(f + 14, ip, sizeof(ip));
	uint16_t c = ip_csum(f + 14, 20);
	f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
	f[34] = 0x23, f[35] = 0x28, f[36] = 0x23, f[37] = 0x28; /* ports 9000 */
	f[39] = 8 + 64;
	memcpy(ph, f + 26, 8); /* source and destination addresses */
	ph[8] = 0, ph[9] = 17, ph[10] = 0, ph[11] = 8 + 64;
	memcpy(ph + 12, f + 34, 8 + 64);
	c = ip_csum(ph, sizeof(ph));
	f[40] = (uint8_t)(c >> 8), f[41] = (uint8_t)c;
}

int main(int argc, char **argv)
{
	uint8_t f[FRAME_LEN], mac[6];
	struct ifreq ifr;
	struct timespec a, b;
	long n;
	int fd;

	if (argc != 4 || (n = strtol(argv[2], NULL, 10)) <= 0 || strlen(argv[1]) >= IFNAMSIZ ||
	    parse_mac(argv[3], mac) < 0) {
		fprintf(stderr, "usage: tap_blast TAP COUNT DST_MAC\n");
		return 1;
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "tap_blast: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (if_nametoindex(argv[1]) == 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap_blast: TAP %s: %s\n", argv[1], strerror(errno));
		close(fd);
		return 1;
	}
	frame(f, mac);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (write(fd, f, sizeof(f)) != (ssize_t)sizeof(f)) {
			fprintf(stderr, "tap_blast: write: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	printf("tap_blast: frames=%ld ns=%lld pps=%lld\n", n, ns, ns ? n * 1000000000LL / ns : 0);
	close(fd);
	return 0;
}
