/*
 * Fuzz harness for migrated's control-request decoder (mig_ctl.c) and the
 * LIST reply decoder `vm` uses (entries with vif counters): bytes 0-1
 * pick the request type (low byte added to 0x0300), the rest is the
 * payload. A request is decoded with every string NUL-terminated within
 * its bound and pointers inside the payload, or refused with a message.
 */
#include <string.h>

#include "mig_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(c)                                                                                 \
	do {                                                                                       \
		if (c)                                                                             \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mig_ctl_req r;
	static _Alignas(8) uint8_t copy[65536];
	const struct mig_ctl_dom *d;
	char err[256] = "";

	if (size < 1 || size - 1 > sizeof(copy))
		return 0;
	memcpy(copy, data + 1, size - 1);
	uint16_t type = (uint16_t)(0x0300u + (data[0] & 0x1f));
	if (mig_ctl_req_dec(type, copy, size - 1, &r, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
	} else {
		TRAP_IF(strlen(r.dom) > MIG_CTL_DOM_MAX || strlen(r.path) > MIG_CTL_PATH_MAX ||
			strlen(r.host) > MIG_CTL_HOST_MAX);
		TRAP_IF(r.cfg && (r.cfg != (const char *)copy || r.cfg_len != size - 1));
		TRAP_IF(r.bytes && r.nbytes != size - 1);
	}
	err[0] = '\0';
	int n = mig_ctl_list_dec(copy, size - 1, &d, NULL, err, sizeof(err));
	if (n < 0) {
		TRAP_IF(!err[0]);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		TRAP_IF(strlen(d[i].name) > MIG_CTL_DOM_MAX || d[i].state >= MIG_DOM_STATE_N);
		TRAP_IF(d[i].nvifs > MIG_CTL_VIF_MAX ||
			(d[i].nvifs && d[i].vifs != MIG_CTL_VIFS_OK));
		for (uint32_t k = 0; k < d[i].nvifs; k++)
			TRAP_IF(d[i].vif[k].ring > MIG_CTL_RING_RX ||
				(d[i].vif[k].ring == 0) != (d[i].vif[k].ring_err == 0));
	}
	return 0;
}
