/*
 * nl_link: Linux bridges, TAP devices and their links over rtnetlink
 * (libnl-3, libnl-route-3), for vnetd's vnets and the vmm's vifs.
 *
 * A struct nl_link is one blocking NETLINK_ROUTE socket with extended acks
 * on. Every call is a short synchronous request/ack, meant for control
 * paths, never for the data path.
 *
 * Every operation returns 0 (or a documented non-negative value) or a
 * negative errno, and on failure leaves one message naming the object in
 * the handle, read with nl_link_errmsg(): "bridge vnet97: create: File
 * exists", with the kernel's extended-ack text appended in parentheses when
 * the kernel gave one ("link vnif97: set mtu 70000: Invalid argument (MTU
 * greater than device maximum)"). The caller prefixes its own object
 * ("vnet 97: ") and logs it.
 */
#ifndef TERN_NL_LINK_H
#define TERN_NL_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_link;

#define NL_LINK_ERRMSG_MAX 256
#define NL_LINK_KIND_MAX 16

/* What nl_link_info and nl_link_bridge_ports report about one link. */
struct nl_link_info {
	char name[IFNAMSIZ];
	char kind[NL_LINK_KIND_MAX]; /* "bridge", "tun", "veth"; "" if none */
	int ifindex;
	int master; /* ifindex of the master (bridge), 0 if none */
	unsigned mtu;
	uint8_t mac[6]; /* all zero if the link has no Ethernet address */
	bool up;	/* IFF_UP is set (administratively up) */
};

/* TAP options for nl_link_tap_open. */
#define NL_LINK_TAP_VNET_HDR 0x1u    /* IFF_VNET_HDR: virtio-net header per frame */
#define NL_LINK_TAP_MULTI_QUEUE 0x2u /* IFF_MULTI_QUEUE: each open adds a queue */
#define NL_LINK_TAP_PERSIST 0x4u     /* TUNSETPERSIST: survives closing the fd */

/* Opens the socket. Returns NULL with errno set. */
struct nl_link *nl_link_new(void);
/* Closes the socket. NULL is a no-op. */
void nl_link_free(struct nl_link *nl);
/* The message of the last failed call ("" if none has failed yet). */
const char *nl_link_errmsg(const struct nl_link *nl);

/* Creates bridge `name` with the given MTU (0: kernel default),
 * administratively down. Kernel defaults otherwise: STP off, so ports
 * forward as soon as they are up. Returns 0, -EEXIST if a link of
 * that name exists, -EINVAL for a bad name, or another -errno. */
int nl_link_bridge_add(struct nl_link *nl, const char *name, unsigned mtu);
/* Like nl_link_bridge_add, but an existing bridge of that name is fine
 * (its MTU is then set if mtu != 0): what a restarted vnetd needs. Returns
 * 0, -EEXIST if `name` exists and is not a bridge, or another -errno. */
int nl_link_bridge_ensure(struct nl_link *nl, const char *name, unsigned mtu);
/* Limits how many FDB entries bridge `name` learns (fdb_max_learned, Linux
 * 6.8 and later; 0 is no limit): past it the kernel learns no new source
 * MAC until entries age out, so a guest sending random source MACs cannot
 * grow the FDB without bound. Kernels without the attribute ignore it.
 * Returns 0 or -errno. */
int nl_link_bridge_set_fdb_max(struct nl_link *nl, const char *name, uint32_t max);
/* Lists the links whose master is bridge `name` into out[0..cap) in
 * ifindex order. Returns the number of ports (which may exceed cap: only
 * cap are stored), -ENODEV if no such link, -EINVAL if it is not a bridge. */
int nl_link_bridge_ports(struct nl_link *nl, const char *name, struct nl_link_info *out,
			 size_t cap);

/* Creates or attaches to TAP `name` (at most IFNAMSIZ-1 bytes; if name[0]
 * is 0 the kernel picks "tapN" and writes it back, so name must then have
 * IFNAMSIZ bytes) with IFF_TAP|IFF_NO_PI and the NL_LINK_TAP_* `flags`.
 * Without NL_LINK_TAP_PERSIST the TAP disappears when the last fd closes.
 * With NL_LINK_TAP_MULTI_QUEUE, each call adds one queue to the same TAP.
 * Returns the non-blocking, close-on-exec fd (the caller owns it), or
 * -EEXIST if a link of that name exists that is not a TAP, or another
 * -errno from /dev/net/tun. */
int nl_link_tap_open(struct nl_link *nl, char *name, unsigned flags);

/* Creates a veth pair `name` <-> `peer`, both down, in this namespace
 * (tests and tools join namespaces and bridges with it). Returns 0,
 * -EEXIST, -EINVAL for a bad name, or another -errno. */
int nl_link_veth_add(struct nl_link *nl, const char *name, const char *peer);

/* Deletes link `name` of any kind (also a persistent TAP). Returns 0,
 * -ENODEV if there is no such link, or another -errno. */
int nl_link_delete(struct nl_link *nl, const char *name);
/* Sets the MTU. Returns 0, -ENODEV, or -EINVAL (out of the device's range,
 * with the kernel's reason in the message). */
int nl_link_set_mtu(struct nl_link *nl, const char *name, unsigned mtu);
/* Sets or clears IFF_UP. Returns 0, -ENODEV or another -errno. */
int nl_link_set_up(struct nl_link *nl, const char *name, bool up);
/* Sets the Ethernet address. Returns 0, -ENODEV, -EADDRNOTAVAIL (multicast
 * or zero address) or another -errno. */
int nl_link_set_mac(struct nl_link *nl, const char *name, const uint8_t mac[6]);
/* Makes `name` a port of `master` (any link under a bridge). Attaching to
 * the master it already has is fine. Returns 0, -ENODEV if either link is
 * missing, or another -errno (e.g. -ELOOP for a bridge into itself). */
int nl_link_set_master(struct nl_link *nl, const char *name, const char *master);
/* Detaches `name` from its master; fine if it has none. Returns 0,
 * -ENODEV or another -errno. */
int nl_link_set_nomaster(struct nl_link *nl, const char *name);

/* Reads the link's state. Returns 0 or -ENODEV. */
int nl_link_info(struct nl_link *nl, const char *name, struct nl_link_info *out);
/* Same by ifindex. Returns 0 or -ENODEV. */
int nl_link_info_by_index(struct nl_link *nl, int ifindex, struct nl_link_info *out);
/* Returns the link's ifindex (> 0) or -ENODEV. */
int nl_link_ifindex(struct nl_link *nl, const char *name);

#endif
