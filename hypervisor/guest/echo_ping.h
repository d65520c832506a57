/*
 * echo_ping.c: the echo guest's optional pinger (`ping=A.B.C.D`,
 * `ping_ms=<n>`), so that two echo guests can prove they reach each other
 * without anything on a host sending for them (tests/integration/48).
 */
#ifndef ECHO_PING_H
#define ECHO_PING_H

#include <stdint.h>

/* Reads ping= and ping_ms= from the command line: 0 (off when ping= is
 * absent), or -RT_EINVAL after printing why. Call before echo_ping_start. */
int echo_ping_args(void);
/* Registers the raw ICMP pcb (after rt_net_start): 0, or -1 after printing
 * why. Does nothing when ping= was absent. */
int echo_ping_start(void);
/* Sends the requests that are due at `now` and returns when the next one
 * is due (UINT64_MAX when off). */
uint64_t echo_ping_tick(uint64_t now);
/* Prints `echo: ping <ip> sent=<n> replies=<n> last_rtt_us=<n>` when
 * the counters changed since the last call. */
void echo_ping_report(void);

#endif
