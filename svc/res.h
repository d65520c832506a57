/*
 * res: asynchronous forward and reverse name resolution (c-ares) on an ev
 * loop.
 *
 * c-ares tells us which sockets to watch through its socket-state callback
 * (ARES_OPT_SOCK_STATE_CB); res keeps one ev_io per socket and one timer
 * armed with ares_timeout(). Lookups follow the system configuration
 * (/etc/hosts, then DNS as /etc/resolv.conf says) unless res_opts says
 * otherwise. Numeric addresses are answered without any lookup.
 *
 * Every started query ends in exactly one callback, always from the loop
 * (never from inside res_forward/res_reverse), unless res_cancel was called
 * first. res_free cancels everything still pending without calling back.
 */
#ifndef TERN_RES_H
#define TERN_RES_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ev.h"

struct res;
struct res_query;

/* Most addresses one forward answer delivers; the rest are dropped. */
#define RES_ADDR_MAX 16
/* Longest name accepted or delivered, without the NUL. */
#define RES_NAME_MAX 253

struct res_addr {
	sa_family_t family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr in;
		struct in6_addr in6;
	} u;
};

/* Optional overrides for res_new; zero fields keep the system defaults. */
struct res_opts {
	const char *servers; /* "ip[:port],..." as ares_set_servers_ports_csv */
	const char *lookups; /* "f" hosts file only, "b" DNS only, "fb" both */
	int timeout_ms;	     /* first try's timeout (c-ares backs off after) */
	int tries;	     /* attempts per server */
};

/* status: 0, -ENOENT (no such name or no address of the family asked),
 * -ETIMEDOUT, -ECONNREFUSED (servers refused or failed), -EINVAL (bad
 * name), -ENOMEM, or -EIO (any other resolver failure). On success n >= 1
 * and addrs[0..n) are in the resolver's order; they live until the
 * callback returns. */
typedef void (*res_forward_cb)(int status, const struct res_addr *addrs, size_t n, void *arg);
/* status as above; on success `name` is the host's name (NUL-terminated,
 * valid until the callback returns), otherwise NULL. */
typedef void (*res_reverse_cb)(int status, const char *name, void *arg);

/* Creates a resolver on `loop` (free it before the loop); opts may be
 * NULL. Returns NULL with errno set (EINVAL for bad opts, ENOMEM, or EIO if
 * c-ares cannot start). */
struct res *res_new(struct ev_loop *loop, const struct res_opts *opts);
/* Cancels every pending query (no callbacks) and frees the resolver.
 * Safe from a res callback. NULL is a no-op. */
void res_free(struct res *res);

/* Looks up `name` for `family` (AF_INET, AF_INET6 or AF_UNSPEC for both).
 * A numeric address of an allowed family is answered without a lookup.
 * Returns the query handle (valid until its callback has run or it is
 * cancelled), or NULL with errno set: EINVAL for an empty or too long name
 * or another family, ENOMEM. */
struct res_query *res_forward(struct res *res, const char *name, int family, res_forward_cb cb,
			      void *arg);
/* Looks up the name of `addr`. Returns the handle, or NULL with errno set
 * (EINVAL for a family other than AF_INET/AF_INET6, ENOMEM). */
struct res_query *res_reverse(struct res *res, const struct res_addr *addr, res_reverse_cb cb,
			      void *arg);
/* Drops the query: its callback will not run. The handle is invalid
 * afterwards. Safe from any callback but the query's own (where the
 * handle is already finished); NULL is a no-op. */
void res_cancel(struct res_query *q);

/* Parses a numeric IPv4 or IPv6 address. Returns 0 or -EINVAL. */
int res_addr_parse(const char *text, struct res_addr *out);
/* Formats addr into buf (INET6_ADDRSTRLEN bytes is enough). Returns buf,
 * or "?" for an unknown family. */
const char *res_addr_str(const struct res_addr *addr, char *buf, size_t len);
/* Text for a callback status ("host not found", "timed out", ...). */
const char *res_strerror(int status);

#endif
