/* The vmm's side of one net ring: every guest-written word checked (see
 * vmm_net_ring.h). */
#include "vmm_net_ring.h"

#include <errno.h>
#include <string.h>

int vmm_net_ring_init(struct vmm_net_ring *ring, const struct hv_mem *mem, uint64_t gpa,
		      uint32_t used)
{
	void *p = hv_mem_ptr(mem, gpa, TERN_NET_RING_SPAN);

	memset(ring, 0, sizeof(*ring));
	if (!p)
		return -EINVAL;
	ring->mem = mem;
	ring->r = p;
	ring->gpa = gpa;
	ring->used = used;
	ring->avail = used;
	return 0;
}

static void ring_break(struct vmm_net_ring *ring, enum vmm_net_ring_err e)
{
	if (ring->err == VMM_NET_RING_OK)
		ring->err = e;
	ring->errors[e]++;
}

int vmm_net_ring_pending(struct vmm_net_ring *ring)
{
	uint32_t avail, n;

	if (ring->err)
		return -EPROTO;
	avail = __atomic_load_n(&ring->r->avail, __ATOMIC_ACQUIRE);
	n = avail - ring->used;
	if (n > TERN_NET_RING_ENTRIES) {
		ring->bad_avail = avail;
		ring_break(ring, VMM_NET_RING_EINDEX);
		return -EPROTO;
	}
	ring->avail = avail;
	return (int)n;
}

void *vmm_net_ring_desc(struct vmm_net_ring *ring, uint32_t i, int rx, uint32_t *len)
{
	volatile struct tern_net_desc *vd;
	struct tern_net_desc d;
	void *p;

	if (ring->err || i >= ring->avail - ring->used)
		return NULL;
	vd = &ring->r->desc[(ring->used + i) % TERN_NET_RING_ENTRIES];
	d.addr = vd->addr; /* one copy: the checks below hold for what we use */
	d.len = vd->len;
	if (rx ? d.len < TERN_NET_FRAME_MAX
	       : d.len < TERN_NET_FRAME_MIN || d.len > TERN_NET_FRAME_MAX) {
		ring_break(ring, VMM_NET_RING_ELEN);
		return NULL;
	}
	uint32_t n = rx ? TERN_NET_FRAME_MAX : d.len;
	if (!(p = hv_mem_ptr(ring->mem, d.addr, n))) {
		ring_break(ring, VMM_NET_RING_EADDR);
		return NULL;
	}
	*len = n;
	return p;
}

void vmm_net_ring_set_len(struct vmm_net_ring *ring, uint32_t i, uint32_t len)
{
	ring->r->desc[(ring->used + i) % TERN_NET_RING_ENTRIES].used_len = len;
}

int vmm_net_ring_publish(struct vmm_net_ring *ring, uint32_t n)
{
	ring->used += n;
	__atomic_store_n(&ring->r->used, ring->used, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring->r->guest_notify != 0;
}

int vmm_net_ring_notify(struct vmm_net_ring *ring, int on)
{
	ring->r->vmm_notify = on ? 1u : 0u;
	if (!on)
		return 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vmm_net_ring_pending(ring);
}

const char *vmm_net_ring_err_name(enum vmm_net_ring_err e)
{
	static const char *const names[VMM_NET_RING_NERR] = {
	    "ok",
	    "available index out of range",
	    "buffer outside guest RAM",
	    "length out of range",
	};

	return (unsigned)e < VMM_NET_RING_NERR ? names[e] : "?";
}
