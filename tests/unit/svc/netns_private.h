/* Moves the test process into a network namespace of its own, so that
 * netlink tests create bridges and TAPs where nothing else can see them.
 * As root a plain new netns; otherwise a user namespace gives us
 * CAP_NET_ADMIN over a new netns. Returns 0 or -errno (see netns_missing).
 * Include after cmocka.h. */
#ifndef TERN_TEST_NETNS_PRIVATE_H
#define TERN_TEST_NETNS_PRIVATE_H

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

static inline int netns_private(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return 0;
	return -errno;
}

/* A test that needs what it could not get (err: -errno from netns_private
 * or from opening /dev/net/tun). Only a missing root may skip -- a user
 * without user namespaces; as root (where CTest runs them for real) it is a
 * failure naming what is missing. */
static inline void netns_missing(const char *what, int err)
{
	if (geteuid() != 0)
		skip();
	fail_msg("%s: %s (running as root)", what, strerror(-err));
}

#endif
