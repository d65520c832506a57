/*
 * Fuzz harness for the vmm control records' decoders (vmm_msg.c,
 * vmm_msg_mig.c): byte 0 modulo 5 picks the record (0 status, 1 progress,
 * 2 migrate request, 3 migration progress, 4 migration result), the rest
 * is its payload (status: version 2, with the vifs' counters). A record
 * is either decoded, with every string NUL-terminated within its bound and
 * every count and enum in range, and then (where an encoder exists)
 * re-encodes to the same bytes, or refused with a message; nothing is
 * read outside the input.
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

static uint8_t again[65536];

static void fuzz_status(const uint8_t *rec, size_t len)
{
	static struct vmm_status st;
	char err[256] = "";

	if (vmm_msg_status_dec(rec, len, &st, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
		return;
	}
	TRAP_IF(st.rec.nvifs > VMM_CTL_VIF_MAX || st.rec.state > 4);
	TRAP_IF(strlen(st.name) > VMM_CTL_NAME_MAX || strlen(st.crash) > VMM_CTL_TEXT_MAX);
	for (uint32_t i = 0; i < st.rec.nvifs; i++) /* a broken ring always has a name */
		TRAP_IF((st.vifc[i].ring != VMM_CTL_RING_NONE) !=
			(vmm_msg_ring_error_name(st.vifc[i].ring, st.vifc[i].ring_err) != NULL));
	int n = vmm_msg_status_enc(&st, again, sizeof(again));
	TRAP_IF(n < 0 || (size_t)n != len || memcmp(again, rec, len) != 0);
}

static void fuzz_progress(const uint8_t *rec, size_t len)
{
	struct vmm_ctl_progress p;
	char err[256] = "";

	if (vmm_msg_progress_dec(rec, len, &p, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
		return;
	}
	TRAP_IF(len != sizeof(p) || p.bytes_done > p.bytes_total);
}

static void fuzz_migrate(const uint8_t *rec, size_t len)
{
	struct vmm_ctl_migrate m;
	char peer[VMM_CTL_MIG_PEER_MAX + 1], err[256] = "";

	if (vmm_msg_migrate_dec(rec, len, &m, peer, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
		return;
	}
	TRAP_IF(strlen(peer) != m.peer_len || m.max_rounds > VMM_CTL_MIG_ROUNDS_MAX);
	int n = vmm_msg_migrate_enc(&m, peer, again, sizeof(again));
	TRAP_IF(n < 0 || (size_t)n != len || memcmp(again, rec, len) != 0);
}

static void fuzz_mig_progress(const uint8_t *rec, size_t len)
{
	struct vmm_ctl_mig_progress p;
	char err[256] = "";

	if (vmm_msg_mig_progress_dec(rec, len, &p, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
		return;
	}
	TRAP_IF(p.round_done > p.round_pages || p.phase > VMM_CTL_MIG_DONE);
}

static void fuzz_mig_result(const uint8_t *rec, size_t len)
{
	static struct vmm_mig_result r;
	char err[256] = "";

	if (vmm_msg_mig_result_dec(rec, len, &r, err, sizeof(err)) < 0) {
		TRAP_IF(!err[0]);
		return;
	}
	TRAP_IF(r.rec.nround > VMM_CTL_MIG_ROUND_MAX || strlen(r.msg) != r.rec.msg_len);
	int n = vmm_msg_mig_result_enc(&r, again, sizeof(again));
	TRAP_IF(n < 0 || (size_t)n != len || memcmp(again, rec, len) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const fn[])(const uint8_t *, size_t) = {
	    fuzz_status, fuzz_progress, fuzz_migrate, fuzz_mig_progress, fuzz_mig_result,
	};

	if (size < 1)
		return 0;
	fn[data[0] % 5](data + 1, size - 1);
	return 0;
}
