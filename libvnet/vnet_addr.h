/*
 * 16-byte host addresses as they travel in VARP, FLOOD and key derivation
 * (docs/wire.md): an IPv6 address, or an IPv4 address stored IPv4-mapped
 * (::ffff:a.b.c.d). Conversions to and from socket addresses live here so
 * every layer maps IPv4 the same way.
 */
#ifndef TERN_VNET_ADDR_H
#define TERN_VNET_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define VNET_ADDR_LEN 16
/* Longest printed form (INET6_ADDRSTRLEN). */
#define VNET_ADDR_STRLEN 46

struct vnet_addr {
	uint8_t b[VNET_ADDR_LEN];
};

/* Fills *a from an AF_INET (mapped) or AF_INET6 socket address of `len`
 * bytes. Returns 0, or -EAFNOSUPPORT / -EINVAL for another family or a
 * short length. The port is ignored. */
int vnet_addr_from_sockaddr(struct vnet_addr *a, const struct sockaddr *sa, socklen_t len);

/* Writes a socket address for *a and `port` (host order) into *ss: AF_INET
 * for a mapped address, AF_INET6 otherwise. Returns its length. */
socklen_t vnet_addr_to_sockaddr(const struct vnet_addr *a, uint16_t port,
				struct sockaddr_storage *ss);

/* Parses a numeric IPv4 or IPv6 address (no names, no port). Returns 0 or
 * -EINVAL. */
int vnet_addr_parse(const char *s, struct vnet_addr *a);

/* Prints dotted quad for a mapped address, RFC 5952 text otherwise. Returns
 * buf (VNET_ADDR_STRLEN bytes). */
char *vnet_addr_str(const struct vnet_addr *a, char buf[VNET_ADDR_STRLEN]);

/* Sets *a to the IPv4-mapped form of `v4` (network byte order). */
void vnet_addr_from_v4(struct vnet_addr *a, uint32_t v4_be);

/* True for an IPv4-mapped address (::ffff:a.b.c.d). */
bool vnet_addr_is_v4(const struct vnet_addr *a);
/* True for the unspecified address, :: or ::ffff:0.0.0.0 (never a valid
 * care-of address or origin). */
bool vnet_addr_is_zero(const struct vnet_addr *a);
/* True if a and b are the same 16 bytes. */
bool vnet_addr_eq(const struct vnet_addr *a, const struct vnet_addr *b);

#endif
