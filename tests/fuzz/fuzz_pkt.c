/* Outer demux and clear header decoder: never crashes, every offset it
 * returns lies inside the input, and the inner VARP decoder and the FLOOD
 * hop rewrite are exercised on what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "varp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, size_t frame_max)
{
	struct pkt_info info;
	struct varp_msg m;

	if (pkt_decode(data, size, frame_max, &info) != PKT_OK)
		return;
	if (info.off > size || info.len > size - info.off)
		__builtin_trap();
	if (info.kind == PKT_VARP)
		(void)varp_decode(data + info.off, info.len, &m);
	if (info.kind == PKT_FRAME && !pkt_eth_check(data + info.off, info.len, frame_max))
		__builtin_trap();
	if (info.flood) {
		uint8_t *copy = malloc(size);
		if (!copy)
			return;
		memcpy(copy, data, size);
		if (pkt_flood_set_hops(copy, size, 1) != 0 ||
		    pkt_decode(copy, size, frame_max, &info) != PKT_OK || info.hops != 1)
			__builtin_trap();
		free(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, 0);
	check(data, size, 9018);
	return 0;
}
