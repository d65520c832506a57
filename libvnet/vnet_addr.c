#include "vnet_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void vnet_addr_from_v4(struct vnet_addr *a, uint32_t v4_be)
{
	memcpy(a->b, v4_prefix, sizeof(v4_prefix));
	memcpy(a->b + 12, &v4_be, 4);
}

bool vnet_addr_is_v4(const struct vnet_addr *a)
{
	return memcmp(a->b, v4_prefix, sizeof(v4_prefix)) == 0;
}

bool vnet_addr_is_zero(const struct vnet_addr *a)
{
	static const uint8_t zero[VNET_ADDR_LEN];

	if (vnet_addr_is_v4(a))
		return memcmp(a->b + 12, zero, 4) == 0;
	return memcmp(a->b, zero, VNET_ADDR_LEN) == 0;
}

bool vnet_addr_eq(const struct vnet_addr *a, const struct vnet_addr *b)
{
	return memcmp(a->b, b->b, VNET_ADDR_LEN) == 0;
}

int vnet_addr_from_sockaddr(struct vnet_addr *a, const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET) {
		if (len < (socklen_t)sizeof(struct sockaddr_in))
			return -EINVAL;
		vnet_addr_from_v4(a, ((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		if (len < (socklen_t)sizeof(struct sockaddr_in6))
			return -EINVAL;
		memcpy(a->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, VNET_ADDR_LEN);
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t vnet_addr_to_sockaddr(const struct vnet_addr *a, uint16_t port,
				struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (vnet_addr_is_v4(a)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->b + 12, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, a->b, VNET_ADDR_LEN);
	return sizeof(*sin6);
}

int vnet_addr_parse(const char *s, struct vnet_addr *a)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		vnet_addr_from_v4(a, v4.s_addr);
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1)
		return 0;
	return -EINVAL;
}

char *vnet_addr_str(const struct vnet_addr *a, char buf[VNET_ADDR_STRLEN])
{
	if (vnet_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, VNET_ADDR_STRLEN);
	else
		inet_ntop(AF_INET6, a->b, buf, VNET_ADDR_STRLEN);
	return buf;
}
