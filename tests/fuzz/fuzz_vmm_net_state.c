/*
 * The net device's DEVICE record decoder (hypervisor/vmm/vmm_net_state.c,
 * compiled in): any 72 bytes (shorter inputs are zero-padded). Checked: an
 * accepted record has at most 4 devices, unicast non-zero MACs, and
 * encodes back to exactly the input bytes; a refused one leaves the
 * output untouched and says why.
 */
#include <stdint.h>
#include <string.h>

#include "vmm_net_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(c)                                                                                 \
	do {                                                                                       \
		if (c)                                                                             \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t in[VMM_NET_STATE_SIZE] = {0}, back[VMM_NET_STATE_SIZE];
	struct vmm_net_saved st, canary;
	char why[128] = "";

	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memset(&st, 0x77, sizeof(st));
	canary = st;
	if (vmm_net_state_decode(in, &st, why, sizeof(why)) < 0) {
		TRAP_IF(memcmp(&st, &canary, sizeof(st)) != 0);
		TRAP_IF(strncmp(why, "net: ", 5) != 0);
		return 0;
	}
	TRAP_IF(st.ndevs > TERN_NET_MAX);
	for (unsigned i = 0; i < st.ndevs; i++)
		TRAP_IF(st.dev[i].mac[0] & 1);
	vmm_net_state_encode(&st, back);
	TRAP_IF(memcmp(in, back, sizeof(in)) != 0);
	return 0;
}
