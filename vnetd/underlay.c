/* The underlay: our care-of address and the interface floods leave by. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include "log.h"
#include "vnetd.h"

/* First IPv4 address of `ifname`, IPv4-mapped. */
static int underlay_first_v4(const char *ifname, struct vnet_addr *out)
{
	struct ifaddrs *ifs, *i;
	int rc = -EADDRNOTAVAIL;

	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		vnet_addr_from_v4(out, ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	return rc;
}

int underlay_resolve(struct vnetd *d)
{
	const char *ifname = d->conf.underlay_if;
	char buf[VNET_ADDR_STRLEN];
	int rc;

	d->underlay_ifindex = (int)if_nametoindex(ifname);
	if (d->conf.has_underlay_addr) {
		d->local = d->conf.underlay_addr;
	} else {
		if (d->underlay_ifindex == 0) {
			log_error("underlay-interface %s: %s", ifname, strerror(ENODEV));
			return -ENODEV;
		}
		rc = underlay_first_v4(ifname, &d->local);
		if (rc < 0) {
			log_error("underlay-interface %s: no IPv4 address (set underlay-address)",
				  ifname);
			return rc;
		}
	}
	log_info("underlay: care-of address %s, interface %s%s", vnet_addr_str(&d->local, buf),
		 ifname, d->underlay_ifindex ? "" : " (absent: multicast on the default route)");
	return 0;
}
