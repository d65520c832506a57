/*
 * The vmm's net ring checks (hypervisor/vmm/vmm_net_ring.c, compiled in)
 * against a hostile guest. Guest RAM is 24 KiB of heap (ASan sees any
 * access outside it) with the ring at gpa 0.
 *
 * Input: byte 0 = the used index to start from (x 0x01010101, so wraps
 * are reached), byte 1 bit 0 = RX ring; then RAM contents from gpa 0
 * (the ring header and descriptors, as far as the input goes); the tail
 * past RAM is a script of guest writes made between the backend's steps
 * (4 bytes each: a descriptor slot and a byte to write into it), so a
 * descriptor changes while the backend walks the ring.
 *
 * Checked: pending never exceeds the ring size, a descriptor the checks
 * pass lies wholly inside RAM with a length in range, a broken ring
 * gives nothing more, our used index only moves by what we published.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_net_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (24u * 1024u)
#define TRAP_IF(c)                                                                                 \
	do {                                                                                       \
		if (c)                                                                             \
			__builtin_trap();                                                          \
	} while (0)

static void guest_write(uint8_t *ram, const uint8_t *op)
{
	uint32_t slot = op[0] % TERN_NET_RING_ENTRIES;
	size_t off = offsetof(struct tern_net_ring, desc) + slot * sizeof(struct tern_net_desc) +
		     op[1] % sizeof(struct tern_net_desc);

	ram[off] = op[2];
	if (op[3] & 1) /* and sometimes the available index */
		((struct tern_net_ring *)ram)->avail += op[3] >> 1;
}

static void check_desc(const struct hv_mem *mem, const uint8_t *p, uint32_t len, int rx)
{
	TRAP_IF(p < mem->base || p + len > mem->base + mem->size);
	TRAP_IF(rx ? len != TERN_NET_FRAME_MAX
		   : len < TERN_NET_FRAME_MIN || len > TERN_NET_FRAME_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_mem mem = {0};
	struct vmm_net_ring ring;
	size_t n = 0;

	if (size < 2)
		return 0;
	mem.base = calloc(1, RAM_SIZE);
	mem.size = RAM_SIZE;
	if (!mem.base)
		return 0;
	uint32_t used0 = data[0] * 0x01010101u;
	int rx = data[1] & 1;
	data += 2, size -= 2;
	n = size < RAM_SIZE ? size : RAM_SIZE;
	memcpy(mem.base, data, n);
	const uint8_t *script = data + n, *end = data + size;
	TRAP_IF(vmm_net_ring_init(&ring, &mem, 0, used0) != 0);
	for (int round = 0; round < 8; round++) {
		int pend = vmm_net_ring_pending(&ring);
		if (pend < 0)
			break;
		TRAP_IF(pend > (int)TERN_NET_RING_ENTRIES);
		uint32_t i, len;
		for (i = 0; i < (uint32_t)pend; i++) {
			const uint8_t *p = vmm_net_ring_desc(&ring, i, rx, &len);
			if (!p)
				break;
			check_desc(&mem, p, len, rx);
			if (rx)
				vmm_net_ring_set_len(&ring, i, len);
			if (script + 4 <= end) {
				guest_write(mem.base, script);
				script += 4;
			}
		}
		if (ring.err) {
			TRAP_IF(vmm_net_ring_desc(&ring, 0, rx, &len) != NULL);
			TRAP_IF(vmm_net_ring_pending(&ring) != -EPROTO);
			break;
		}
		uint32_t before = ring.used;
		vmm_net_ring_publish(&ring, i);
		TRAP_IF(ring.used != before + i);
		vmm_net_ring_notify(&ring, round & 1);
	}
	free(mem.base);
	return 0;
}
