/*
 * Fuzz harness for the vmm control records' decoders (vmm_msg.c): byte 0
 * picks the record (even: status, odd: progress), the rest is its payload.
 * A record is either decoded, with every string NUL-terminated within its
 * bound and every count and enum in range, and then re-encodes to the same
 * bytes, or refused with a message; nothing is read outside the input.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(c)                                                                                 \
	do {                                                                                       \
		if (c)                                                                             \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_status st;
	static uint8_t again[65536];
	struct vmm_ctl_progress p;
	char err[256] = "";

	if (size < 1)
		return 0;
	const uint8_t *rec = data + 1;
	size_t len = size - 1;
	if (data[0] & 1) {
		if (vmm_msg_progress_dec(rec, len, &p, err, sizeof(err)) < 0) {
			TRAP_IF(!err[0]);
			return 0;
		}
		TRAP_IF(len != sizeof(p) || p.bytes_done > p.bytes_total);
		return 0;
	}
	if (vmm_msg_status_dec(rec, len, &st, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
		return 0;
	}
	TRAP_IF(st.rec.nvifs > VMM_CTL_VIF_MAX || st.rec.state > 3);
	TRAP_IF(strlen(st.name) > VMM_CTL_NAME_MAX || strlen(st.crash) > VMM_CTL_TEXT_MAX);
	int n = vmm_msg_status_enc(&st, again, sizeof(again));
	TRAP_IF(n < 0 || (size_t)n != len || memcmp(again, rec, len) != 0);
	return 0;
}
