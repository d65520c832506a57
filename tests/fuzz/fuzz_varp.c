/* VARP decoder: never crashes; whatever it accepts re-encodes to the same
 * bytes (so no field is silently ignored). */
#include <stdint.h>
#include <string.h>

#include "varp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct varp_msg m;
	uint8_t out[VARP_MSG_LEN];

	if (varp_decode(data, size, &m) != VARP_OK)
		return 0;
	varp_encode(&m, out);
	if (size != VARP_MSG_LEN || memcmp(out, data, VARP_MSG_LEN) != 0)
		__builtin_trap();
	return 0;
}
