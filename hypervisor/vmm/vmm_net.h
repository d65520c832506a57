/*
 * The net backend: one TAP per vif, one thread per vif moving frames
 * between the TAP and the guest's rings (abi.h "Net device",
 * vmm_net_ring.h). The vmm's other files call only what is declared here:
 * main (options, setup, start, stop), the hypercalls (kick, the yield's
 * wake fds), pause (quiesce) and the device table (stream state).
 */
#ifndef VMM_NET_H
#define VMM_NET_H

#include <poll.h>
#include <pthread.h>
#include <stdint.h>

#include <tern/abi.h>

#include "hv_dev.h"
#include "vmm_net_ring.h"

struct vmm;

/* The TAPs from the command line, in vif order. */
struct vmm_net_opts {
	unsigned ntaps;
	const char *tap_name[TERN_NET_MAX]; /* --tap NAME, or NULL */
	int tap_fd[TERN_NET_MAX];	    /* --tap-fd N, or -1 */
};

/* Frames the backend dropped, by reason, and what it moved. */
struct vmm_net_counters {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_runt, rx_oversize, rx_err; /* from the TAP: dropped */
	uint64_t tx_err;		       /* TAP write failed: dropped */
	uint64_t tx_spoofed;		       /* from the guest with another source MAC: dropped */
	uint64_t kicks, wakes;
	/* After a restore or an incoming migration: how long after the vCPUs
	 * resumed the first frame addressed to the vif's MAC reached the
	 * guest's ring, in µs (the network found the new host); UINT64_MAX
	 * until then, or when the domain never moved. */
	uint64_t first_frame_us;
	uint64_t first_tx_us; /* the same for the guest's first unicast frame out */
};

struct vmm_net_dev {
	struct vmm *vmm;
	unsigned idx;
	uint8_t mac[6];
	int tap_fd;  /* -1: no TAP (frames from the guest are dropped) */
	int kick_fd; /* eventfd: guest kick -> backend */
	int wake_fd; /* eventfd: backend -> the guest's yield */
	struct vmm_net_ring tx, rx;
	struct vmm_net_counters c;
	int broken_logged;
	int spoof_logged;
	int tap_lost;		/* vmm_net.c net_tap_lost(): no more TAP I/O */
	unsigned announce_left; /* RARP repeats still to send */
	uint64_t announce_next; /* CLOCK_MONOTONIC ms of the next one */
	uint64_t resumed_ns;	/* CLOCK_MONOTONIC ns of the resume; 0 = no frame awaited */
	uint64_t resumed_tx_ns; /* the same, for the guest's first unicast frame */
	int resume_kick;	/* vmm_net_resumed() wrote kick_fd: not the guest's kick */
	pthread_t thread;
	int started;
};

#include "vmm_net_state.h"

struct vmm_net {
	unsigned ndevs;
	struct vmm_net_dev dev[TERN_NET_MAX];
	int stop_fd;	      /* eventfd: stop every thread */
	pthread_mutex_t busy; /* held by a thread while it touches guest RAM */
	int have_saved;	      /* `saved` was loaded from a stream */
	struct vmm_net_saved saved;
	int restored;	 /* announce the MACs (RARP) before moving frames */
	int incoming;	 /* VMM_NET_INCOMING: rings bound at the stream's END */
	uint64_t *dirty; /* guest pages the net threads wrote, bit per 4 KiB */
	uint64_t dirty_words;
};

/* Parses --tap NAME and --tap-fd N (getopt's optarg); 0 or -EINVAL with a
 * message printed. */
int vmm_net_opt(struct vmm_net_opts *o, const char *opt, const char *arg);
/* Opens the TAPs, binds the rings of every vif of vmm->cfg and, for a
 * fresh boot, writes the devices into the boot info. Before seccomp. */
int vmm_net_setup(struct vmm *vmm, const struct vmm_net_opts *o, int restored, char *err,
		  size_t errlen);
/* vmm_net_setup's `restored` for a migration's destination: TAPs, eventfds
 * and threads now (before seccomp), the device state when the stream's END
 * arrived (vmm_net_incoming_bind), the announcements after COMMIT. */
#define VMM_NET_INCOMING 2
/* END verified: MACs and ring indices from the DEVICE kind 3 record (or the
 * boot info). 0 or -errno with err set. The threads still wait: the domain
 * is not running. */
int vmm_net_incoming_bind(struct vmm *vmm, char *err, size_t errlen);
/* After COMMIT, before the vCPUs run: RARP from each MAC now and 3 more
 * times from the vif's thread (vmm_net_start's schedule). */
void vmm_net_incoming_announce(struct vmm *vmm);
/* Starts the backend threads (before seccomp). 0 or -errno. */
int vmm_net_start(struct vmm *vmm);
/* Stops the threads, logs the counters, closes the fds; safe twice and
 * when nothing was set up. */
void vmm_net_fini(struct vmm *vmm);
/* TERN_HC_NET_KICK: 0, or -TERN_ENODEV for a device that is not there. */
int vmm_net_kick(struct vmm *vmm, uint32_t dev);
/* Yield: adds the wake fds of the devices in wait_set to pfd (at most cap);
 * returns how many. */
int vmm_net_yield_fds(struct vmm *vmm, uint64_t wait_set, struct pollfd *pfd, int cap);
/* After the poll: drains the ready ones, returns their TERN_READY_NET bits. */
uint64_t vmm_net_yield_ready(struct vmm *vmm, struct pollfd *pfd, int n);
/* The domain runs again (unpause, an incoming migration's COMMIT, a failed
 * migration's resume): wakes the threads at once (while paused they poll
 * only every NET_PAUSED_POLL_MS), so queued frames reach the guest now. */
void vmm_net_resumed(struct vmm *vmm);
/* After the vCPUs parked: waits until no backend thread touches guest RAM
 * (they check the pause themselves before their next batch). */
void vmm_net_quiesce(struct vmm *vmm);
/* ORs the guest pages the net threads wrote since the last call into
 * bitmap (one bit per 4 KiB page, KVM's dirty-log layout, nwords u64
 * words) and forgets them. KVM's dirty log does not see these host writes:
 * a live migration adds them to every round, the last one after
 * vmm_net_quiesce(). */
void vmm_net_dirty_take(struct vmm *vmm, uint64_t *bitmap, uint64_t nwords);
/* A consistent copy of vif i's counters (taken under the threads' lock);
 * -ENODEV for a vif that is not there. */
int vmm_net_counters_get(struct vmm *vmm, unsigned i, struct vmm_net_counters *out);
/* Whether the guest broke vif i's rings (the device stopped): *why is
 * VMM_NET_RING_OK if not, else the reason and *rx the ring (TX first when
 * both). -ENODEV for a vif that is not there. */
int vmm_net_ring_broken(struct vmm *vmm, unsigned i, int *rx, enum vmm_net_ring_err *why);
extern const struct hv_dev_ops vmm_net_dev_ops; /* ctx: the vmm */

#endif
