/*
 * The net device's DEVICE record (hypervisor/vmm/vmm_net_state.c): a round
 * trip of 0..4 devices with the exact bytes on the wire, and every refusal
 * with its exact reason (too many devices, reserved word, multicast or zero
 * MAC, MAC padding, an unused entry not zero), the output untouched then.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm_net_state.h"

static struct vmm_net_saved sample(unsigned n)
{
	struct vmm_net_saved s;

	memset(&s, 0, sizeof(s));
	s.ndevs = n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x12, 0x34, (uint8_t)i};
		memcpy(s.dev[i].mac, mac, 6);
		s.dev[i].tx_used = 0xfffffff0u + i;
		s.dev[i].rx_used = 1000u * i;
	}
	return s;
}

static void test_round_trip(void **state)
{
	(void)state;
	for (unsigned n = 0; n <= TERN_NET_MAX; n++) {
		struct vmm_net_saved in = sample(n), out;
		uint8_t buf[VMM_NET_STATE_SIZE];
		char why[128] = "";

		memset(&out, 0xaa, sizeof(out));
		vmm_net_state_encode(&in, buf);
		assert_int_equal(buf[0], n);
		assert_int_equal(vmm_net_state_decode(buf, &out, why, sizeof(why)), 0);
		assert_int_equal(out.ndevs, n);
		for (unsigned i = 0; i < n; i++) {
			assert_memory_equal(out.dev[i].mac, in.dev[i].mac, 6);
			assert_int_equal(out.dev[i].tx_used, in.dev[i].tx_used);
			assert_int_equal(out.dev[i].rx_used, in.dev[i].rx_used);
		}
	}
}

static void test_wire(void **state)
{
	struct vmm_net_saved s = sample(1);
	uint8_t buf[VMM_NET_STATE_SIZE];
	const uint8_t want[24] = {1,	0,    0, 0, 0,	  0,	0,    0,    0x00, 0x16, 0x3e, 0x12,
				  0x34, 0x00, 0, 0, 0xf0, 0xff, 0xff, 0xff, 0,	  0,	0,    0};

	(void)state;
	assert_int_equal(VMM_NET_STATE_SIZE, 72);
	vmm_net_state_encode(&s, buf);
	assert_memory_equal(buf, want, sizeof(want));
	for (size_t i = 24; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

static void test_bad(void **state)
{
	static const struct {
		size_t off;
		uint8_t val;
		const char *why;
	} cases[] = {
	    {0, 5, "net: 5 devices (at most 4)"},
	    {0, 0xff, "net: 255 devices (at most 4)"},
	    {4, 1, "net: reserved word not zero"},
	    {8, 0x01, "net: device 0: MAC is not a unicast address"},
	    {24, 0xff, "net: device 1: MAC is not a unicast address"},
	    {14, 1, "net: device 0: MAC is not a unicast address"},
	    {40, 1, "net: unused entry 2 not zero"},
	    {71, 1, "net: unused entry 3 not zero"},
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vmm_net_saved s = sample(2), out;
		uint8_t buf[VMM_NET_STATE_SIZE];
		char why[128] = "";

		vmm_net_state_encode(&s, buf);
		buf[cases[c].off] = cases[c].val;
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(vmm_net_state_decode(buf, &out, why, sizeof(why)), -EBADMSG);
		assert_string_equal(why, cases[c].why);
		assert_int_equal(out.ndevs, 0x5a5a5a5au);
	}
}

static void test_zero_mac(void **state)
{
	struct vmm_net_saved s = sample(1);
	uint8_t buf[VMM_NET_STATE_SIZE];
	char why[128];
	struct vmm_net_saved out;

	(void)state;
	memset(s.dev[0].mac, 0, 6);
	vmm_net_state_encode(&s, buf);
	assert_int_equal(vmm_net_state_decode(buf, &out, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "net: device 0: MAC is not a unicast address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_wire),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_zero_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
