/*
 * vnet_inject: send one UDP datagram with a given payload, for the vnet
 * tamper, replay and forgery tests. Run it inside a host's namespace so
 * that the datagram's source address is that host's (the receiver finds
 * ESP SAs by SPI and source address).
 *
 *   vnet_inject [-f OFFSET] [-n COUNT] [-b SRCADDR] DSTADDR PORT HEX
 *
 * HEX is the UDP payload in hexadecimal ("@FILE" reads it from FILE,
 * whitespace ignored). -f flips every bit of the byte at OFFSET before
 * sending; -n sends the same datagram COUNT times; -b binds the source
 * address (port stays ephemeral: the host's vnetd owns the vnet port).
 * Exit 0 when every datagram was handed to the kernel, 1 on error, 2 on
 * usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define INJECT_MAX 65507 /* largest UDP payload over IPv4 */

static int hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex text, skipping whitespace; returns the length or -EINVAL. */
static long hex_decode(const char *s, unsigned char *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
			continue;
		v = hex_nibble((unsigned char)*s);
		if (v < 0)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			return -EMSGSIZE;
		out[n++] = (unsigned char)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (long)n : -EINVAL;
}

/* The payload argument, or the contents of FILE for "@FILE". */
static char *payload_text(const char *arg)
{
	FILE *f;
	char *buf;
	size_t len;

	if (arg[0] != '@')
		return strdup(arg);
	f = fopen(arg + 1, "r");
	if (!f)
		return NULL;
	buf = calloc(1, 2 * INJECT_MAX + 4096);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	len = fread(buf, 1, 2 * INJECT_MAX + 4095, f);
	if (ferror(f)) {
		free(buf);
		buf = NULL;
		errno = EIO;
	} else {
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

static int send_payload(const char *bind_addr, const char *dst, const char *port,
			const unsigned char *p, size_t len, long count)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct sockaddr_in from = {.sin_family = AF_INET};
	char *end;
	long pnum = strtol(port, &end, 10);
	int fd = -1, rc = -EINVAL;

	if (*end || pnum <= 0 || pnum > 65535 || inet_pton(AF_INET, dst, &to.sin_addr) != 1)
		goto out;
	if (bind_addr && inet_pton(AF_INET, bind_addr, &from.sin_addr) != 1)
		goto out;
	to.sin_port = htons((uint16_t)pnum);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (bind_addr && bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0)) {
		rc = -errno;
		goto out;
	}
	for (long i = 0; i < count; i++) {
		if (sendto(fd, p, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len) {
			rc = -errno;
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

struct inject_args {
	const char *bind_addr, *dst, *port, *payload;
	long flip, count;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vnet_inject [-f OFFSET] [-n COUNT] [-b SRCADDR] DSTADDR PORT HEX|@FILE\n");
}

/* Returns -1 to go on, else the exit code (usage printed). */
static int parse_args(int argc, char **argv, struct inject_args *a)
{
	char *end;
	int c;

	while ((c = getopt(argc, argv, "f:n:b:h")) != -1) {
		switch (c) {
		case 'f':
			a->flip = strtol(optarg, &end, 0);
			if (*end || a->flip < 0)
				return usage(stderr), 2;
			break;
		case 'n':
			a->count = strtol(optarg, &end, 0);
			if (*end || a->count < 1 || a->count > 1000000)
				return usage(stderr), 2;
			break;
		case 'b':
			a->bind_addr = optarg;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), 2;
		}
	}
	if (argc - optind != 3)
		return usage(stderr), 2;
	a->dst = argv[optind];
	a->port = argv[optind + 1];
	a->payload = argv[optind + 2];
	return -1;
}

int main(int argc, char **argv)
{
	static unsigned char buf[INJECT_MAX];
	struct inject_args a = {.flip = -1, .count = 1};
	long len;
	char *text;
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	text = payload_text(a.payload);
	if (!text) {
		fprintf(stderr, "vnet_inject: payload %s: %s\n", a.payload, strerror(errno));
		return 1;
	}
	len = hex_decode(text, buf, sizeof(buf));
	free(text);
	if (len <= 0) {
		fprintf(stderr, "vnet_inject: payload: %s\n",
			len == 0 ? "empty" : strerror((int)-len));
		return 2;
	}
	if (a.flip >= len) {
		fprintf(stderr, "vnet_inject: flip offset %ld: beyond the %ld-byte payload\n",
			a.flip, len);
		return 2;
	}
	if (a.flip >= 0)
		buf[a.flip] ^= 0xff;
	rc = send_payload(a.bind_addr, a.dst, a.port, buf, (size_t)len, a.count);
	if (rc < 0) {
		fprintf(stderr, "vnet_inject: %s:%s: %s\n", a.dst, a.port, strerror(-rc));
		return 1;
	}
	return 0;
}
