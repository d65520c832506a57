/*
 * The devices of a domain whose state travels in the save/migration
 * stream, in the order they are saved. Each brings its own
 * `const struct hv_dev_ops` (hv_dev.h); libhv's stream code knows them only
 * through this table. A restore accepts their records in any order and
 * refuses a kind that is not listed here.
 */
#include "vmm.h"

unsigned vmm_dev_table(struct vmm *vmm, struct hv_stream_dev devs[VMM_DEV_MAX])
{
	const struct hv_stream_dev table[] = {
	    {&hv_clock_dev_ops, &vmm->clock_dev},
	    {&vmm_console_dev_ops, vmm},
	    {&vmm_net_dev_ops, vmm},
	};
	unsigned n = sizeof(table) / sizeof(table[0]);

	_Static_assert(sizeof(table) / sizeof(table[0]) <= VMM_DEV_MAX, "VMM_DEV_MAX");
	for (unsigned i = 0; i < n; i++)
		devs[i] = table[i];
	return n;
}
