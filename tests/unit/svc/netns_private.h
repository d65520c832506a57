/* Moves the test process into a network namespace of its own, so that
 * netlink tests create bridges and TAPs where nothing else can see them.
 * As root a plain new netns; otherwise a user namespace gives us
 * CAP_NET_ADMIN over a new netns. Returns 0 or -errno (the caller skips). */
#ifndef TERN_TEST_NETNS_PRIVATE_H
#define TERN_TEST_NETNS_PRIVATE_H

#include <errno.h>
#include <sched.h>

static inline int netns_private(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	return -errno;
}

#endif
