/*
 * The net device's stream state, DEVICE kind 3 (docs/stream.md): the vmm's
 * side of each vif, MAC and the used index of each ring. Its own file so
 * the decoder of this stream input is unit-tested and fuzzed alone.
 *
 * Wire layout (VMM_NET_STATE_SIZE bytes, little-endian): u32 ndevs, u32 0,
 * then TERN_NET_MAX entries of {mac[6], u16 0, u32 tx_used, u32 rx_used};
 * entries past ndevs are zero.
 */
#ifndef VMM_NET_STATE_H
#define VMM_NET_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <tern/abi.h>

#define VMM_NET_DEV_KIND 3u
#define VMM_NET_STATE_SIZE (8u + TERN_NET_MAX * 16u)

struct vmm_net_saved {
	uint32_t ndevs;
	struct {
		uint8_t mac[6];
		uint32_t tx_used, rx_used;
	} dev[TERN_NET_MAX];
};

/* Writes st (ndevs <= TERN_NET_MAX) into buf, VMM_NET_STATE_SIZE bytes. */
void vmm_net_state_encode(const struct vmm_net_saved *st, void *buf);
/* Reads VMM_NET_STATE_SIZE bytes (any alignment) into st: 0, or -EBADMSG
 * with the reason in why ("net: ..."): more than TERN_NET_MAX devices, a
 * MAC that is zero or multicast, padding or unused entries not zero. st is
 * written only on success. */
int vmm_net_state_decode(const void *buf, struct vmm_net_saved *st, char *why, size_t whylen);

#endif
