/*
 * The vmm's net ring checks (hypervisor/vmm/vmm_net_ring.c) over plain
 * memory standing in for guest RAM: pending counts across index wrap, TX
 * and RX descriptors accepted at the limits and refused just past them
 * (length, address, available index), each refusal breaking the ring with
 * its reason and counted once, a broken ring giving nothing more, the
 * published index and the notify flags as the guest sees them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm_net_ring.h"

#define RAM (1u << 20)
#define RING_GPA 0x10000u
#define BUF_GPA 0x20000u

struct fx {
	struct hv_mem mem;
	struct vmm_net_ring ring;
	struct tern_net_ring *r; /* the guest's view */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->mem.base = calloc(1, RAM);
	assert_non_null(f->mem.base);
	f->mem.size = RAM;
	f->r = (struct tern_net_ring *)(f->mem.base + RING_GPA);
	assert_int_equal(vmm_net_ring_init(&f->ring, &f->mem, RING_GPA, 0), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->mem.base);
	free(f);
	return 0;
}

static void post(struct fx *f, uint32_t idx, uint64_t addr, uint32_t len)
{
	f->r->desc[idx % TERN_NET_RING_ENTRIES].addr = addr;
	f->r->desc[idx % TERN_NET_RING_ENTRIES].len = len;
	f->r->avail = idx + 1;
}

static void test_init_bounds(void **state)
{
	struct fx *f = *state;
	struct vmm_net_ring r;

	assert_int_equal(vmm_net_ring_init(&r, &f->mem, RAM - TERN_NET_RING_SPAN, 7), 0);
	assert_int_equal(r.used, 7);
	assert_int_equal(vmm_net_ring_init(&r, &f->mem, RAM - TERN_NET_RING_SPAN + 1, 0), -EINVAL);
	assert_int_equal(vmm_net_ring_init(&r, &f->mem, UINT64_MAX - 10, 0), -EINVAL);
}

static void test_tx_good(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	assert_int_equal(vmm_net_ring_pending(&f->ring), 0);
	post(f, 0, BUF_GPA, TERN_NET_FRAME_MIN);
	post(f, 1, RAM - TERN_NET_FRAME_MAX, TERN_NET_FRAME_MAX);
	assert_int_equal(vmm_net_ring_pending(&f->ring), 2);
	assert_ptr_equal(vmm_net_ring_desc(&f->ring, 0, 0, &len), f->mem.base + BUF_GPA);
	assert_int_equal(len, TERN_NET_FRAME_MIN);
	assert_ptr_equal(vmm_net_ring_desc(&f->ring, 1, 0, &len),
			 f->mem.base + RAM - TERN_NET_FRAME_MAX);
	assert_int_equal(len, TERN_NET_FRAME_MAX);
	/* Only what pending() counted. */
	assert_null(vmm_net_ring_desc(&f->ring, 2, 0, &len));
	assert_int_equal(f->ring.err, VMM_NET_RING_OK);
	f->r->guest_notify = 0;
	assert_int_equal(vmm_net_ring_publish(&f->ring, 2), 0);
	assert_int_equal(f->r->used, 2);
	assert_int_equal(vmm_net_ring_pending(&f->ring), 0);
}

static void test_wrap(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	assert_int_equal(vmm_net_ring_init(&f->ring, &f->mem, RING_GPA, UINT32_MAX - 1), 0);
	post(f, UINT32_MAX - 1, BUF_GPA, 60);
	post(f, UINT32_MAX, BUF_GPA, 61);
	post(f, 0, BUF_GPA, 62);
	assert_int_equal(vmm_net_ring_pending(&f->ring), 3);
	assert_non_null(vmm_net_ring_desc(&f->ring, 2, 0, &len));
	assert_int_equal(len, 62);
	f->r->guest_notify = 1;
	assert_int_equal(vmm_net_ring_publish(&f->ring, 3), 1);
	assert_int_equal(f->r->used, 1);
}

static void test_full_and_index(void **state)
{
	struct fx *f = *state;

	f->r->avail = TERN_NET_RING_ENTRIES;
	assert_int_equal(vmm_net_ring_pending(&f->ring), TERN_NET_RING_ENTRIES);
	f->r->avail = TERN_NET_RING_ENTRIES + 1;
	assert_int_equal(vmm_net_ring_pending(&f->ring), -EPROTO);
	assert_int_equal(f->ring.err, VMM_NET_RING_EINDEX);
	/* Broken stays broken, even once the index looks right again. */
	f->r->avail = 1;
	assert_int_equal(vmm_net_ring_pending(&f->ring), -EPROTO);
	assert_int_equal(f->ring.errors[VMM_NET_RING_EINDEX], 1);
	assert_string_equal(vmm_net_ring_err_name(f->ring.err), "available index out of range");
	/* A guest moving avail backwards is the same error. */
	assert_int_equal(vmm_net_ring_init(&f->ring, &f->mem, RING_GPA, 10), 0);
	f->r->avail = 9;
	assert_int_equal(vmm_net_ring_pending(&f->ring), -EPROTO);
}

static void test_tx_bad(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		enum vmm_net_ring_err err;
	} cases[] = {
	    {BUF_GPA, TERN_NET_FRAME_MIN - 1, VMM_NET_RING_ELEN},
	    {BUF_GPA, TERN_NET_FRAME_MAX + 1, VMM_NET_RING_ELEN},
	    {BUF_GPA, 0, VMM_NET_RING_ELEN},
	    {BUF_GPA, UINT32_MAX, VMM_NET_RING_ELEN},
	    {RAM - 59, 60, VMM_NET_RING_EADDR},
	    {RAM, 60, VMM_NET_RING_EADDR},
	    {UINT64_MAX - 20, 60, VMM_NET_RING_EADDR},
	};
	struct fx *f = *state;
	uint32_t len = 12345;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(vmm_net_ring_init(&f->ring, &f->mem, RING_GPA, 0), 0);
		post(f, 0, cases[i].addr, cases[i].len);
		assert_int_equal(vmm_net_ring_pending(&f->ring), 1);
		assert_null(vmm_net_ring_desc(&f->ring, 0, 0, &len));
		assert_int_equal(f->ring.err, cases[i].err);
		assert_int_equal(f->ring.errors[cases[i].err], 1);
		assert_int_equal(vmm_net_ring_pending(&f->ring), -EPROTO);
	}
	assert_int_equal(len, 12345);
}

static void test_rx(void **state)
{
	struct fx *f = *state;
	uint32_t cap;

	post(f, 0, BUF_GPA, 2048);
	post(f, 1, BUF_GPA + 2048, TERN_NET_FRAME_MAX);
	assert_int_equal(vmm_net_ring_pending(&f->ring), 2);
	assert_ptr_equal(vmm_net_ring_desc(&f->ring, 0, 1, &cap), f->mem.base + BUF_GPA);
	assert_int_equal(cap, TERN_NET_FRAME_MAX);
	vmm_net_ring_set_len(&f->ring, 0, 60);
	assert_int_equal(f->r->desc[0].used_len, 60);
	assert_non_null(vmm_net_ring_desc(&f->ring, 1, 1, &cap));
	assert_int_equal(vmm_net_ring_publish(&f->ring, 1), 0);
	/* A buffer below the largest frame is refused. */
	post(f, 2, BUF_GPA, TERN_NET_FRAME_MAX - 1);
	assert_int_equal(vmm_net_ring_pending(&f->ring), 2);
	assert_null(vmm_net_ring_desc(&f->ring, 1, 1, &cap));
	assert_int_equal(f->ring.err, VMM_NET_RING_ELEN);
}

/* The descriptor is read once: a guest that changes it after the check
 * cannot change what the caller got. */
static void test_copy_once(void **state)
{
	struct fx *f = *state;
	uint32_t len;
	void *p;

	post(f, 0, BUF_GPA, 100);
	assert_int_equal(vmm_net_ring_pending(&f->ring), 1);
	p = vmm_net_ring_desc(&f->ring, 0, 0, &len);
	f->r->desc[0].addr = UINT64_MAX;
	f->r->desc[0].len = UINT32_MAX;
	assert_ptr_equal(p, f->mem.base + BUF_GPA);
	assert_int_equal(len, 100);
}

static void test_notify(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vmm_net_ring_notify(&f->ring, 1), 0);
	assert_int_equal(f->r->vmm_notify, 1);
	f->r->avail = 3;
	assert_int_equal(vmm_net_ring_notify(&f->ring, 1), 3);
	assert_int_equal(vmm_net_ring_notify(&f->ring, 0), 0);
	assert_int_equal(f->r->vmm_notify, 0);
	f->r->avail = 1000;
	assert_int_equal(vmm_net_ring_notify(&f->ring, 1), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_and_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
