/*
 * The vmm's side of one net ring (abi.h, "Net device"): everything the
 * backend reads from a ring goes through here, and all of it is guest
 * input. `avail` is read once per batch and checked against our own
 * `used` (the guest cannot move it: we never read it back); a descriptor
 * is copied once, then checked, and its buffer reached only through
 * hv_mem_ptr(). A guest that breaks a rule gets the ring marked broken
 * with the reason; the backend then moves no more frames on the device.
 * No KVM and no threads here: the unit tests and the fuzzer drive it over
 * plain memory.
 */
#ifndef VMM_NET_RING_H
#define VMM_NET_RING_H

#include <stdint.h>

#include <tern/abi.h>

#include "hv_mem.h"

/* Why a ring was stopped (the order of vmm_net_ring_err_name()). */
enum vmm_net_ring_err {
	VMM_NET_RING_OK = 0,
	VMM_NET_RING_EINDEX, /* avail - used > TERN_NET_RING_ENTRIES */
	VMM_NET_RING_EADDR,  /* buffer not inside guest RAM */
	VMM_NET_RING_ELEN,   /* TX length or RX capacity out of range */
	VMM_NET_RING_NERR,
};

struct vmm_net_ring {
	const struct hv_mem *mem;
	volatile struct tern_net_ring *r; /* inside guest RAM */
	uint64_t gpa;
	uint32_t used;	/* ours; published to r->used */
	uint32_t avail; /* the last checked snapshot of r->avail */
	enum vmm_net_ring_err err;
	uint32_t bad_avail; /* EINDEX: the index the guest wrote */
	uint64_t errors[VMM_NET_RING_NERR];
};

/* Binds the ring at gpa (TERN_NET_RING_SPAN bytes inside RAM) with our
 * used index starting at `used`. 0 or -EINVAL. */
int vmm_net_ring_init(struct vmm_net_ring *ring, const struct hv_mem *mem, uint64_t gpa,
		      uint32_t used);
/* Descriptors the guest has made available: reads avail once and checks
 * it. Returns the count (0..TERN_NET_RING_ENTRIES), or -EPROTO once the
 * ring is broken. */
int vmm_net_ring_pending(struct vmm_net_ring *ring);
/* The i-th pending descriptor (i < the last vmm_net_ring_pending()): copied
 * once and checked. TX (rx = 0): the frame, *len its length in
 * [TERN_NET_FRAME_MIN, TERN_NET_FRAME_MAX]; RX (rx = 1): the buffer, *len
 * = TERN_NET_FRAME_MAX (its capacity must be at least that). Host pointer,
 * or NULL with the ring broken. */
void *vmm_net_ring_desc(struct vmm_net_ring *ring, uint32_t i, int rx, uint32_t *len);
/* RX: records the frame length the vmm wrote into descriptor i. */
void vmm_net_ring_set_len(struct vmm_net_ring *ring, uint32_t i, uint32_t len);
/* Hands n consumed descriptors back: used += n, published with a release
 * store. Returns 1 if the guest asked to be woken (guest_notify), read
 * after a full barrier. */
int vmm_net_ring_publish(struct vmm_net_ring *ring, uint32_t n);
/* Going to sleep (on = 1) or awake (0): vmm_notify. When going to sleep,
 * returns the pending count re-read after a full barrier (sleep only if
 * it is 0; -EPROTO when broken). */
int vmm_net_ring_notify(struct vmm_net_ring *ring, int on);
const char *vmm_net_ring_err_name(enum vmm_net_ring_err e);

#endif
