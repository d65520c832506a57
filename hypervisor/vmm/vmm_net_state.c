/* DEVICE kind 3 codec (vmm_net_state.h). */
#include "vmm_net_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void vmm_net_state_encode(const struct vmm_net_saved *st, void *buf)
{
	uint8_t *b = buf;

	memset(b, 0, VMM_NET_STATE_SIZE);
	put32(b, st->ndevs);
	for (unsigned i = 0; i < st->ndevs && i < TERN_NET_MAX; i++) {
		uint8_t *e = b + 8 + i * 16;
		memcpy(e, st->dev[i].mac, 6);
		put32(e + 8, st->dev[i].tx_used);
		put32(e + 12, st->dev[i].rx_used);
	}
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int vmm_net_state_decode(const void *buf, struct vmm_net_saved *st, char *why, size_t whylen)
{
	static const uint8_t zero[6];
	const uint8_t *b = buf;
	struct vmm_net_saved s;

	memset(&s, 0, sizeof(s));
	s.ndevs = get32(b);
	if (s.ndevs > TERN_NET_MAX) {
		snprintf(why, whylen, "net: %u devices (at most %u)", s.ndevs, TERN_NET_MAX);
		return -EBADMSG;
	}
	if (get32(b + 4) != 0) {
		snprintf(why, whylen, "net: reserved word not zero");
		return -EBADMSG;
	}
	for (unsigned i = 0; i < TERN_NET_MAX; i++) {
		const uint8_t *e = b + 8 + i * 16;
		if (i >= s.ndevs) {
			if (!all_zero(e, 16)) {
				snprintf(why, whylen, "net: unused entry %u not zero", i);
				return -EBADMSG;
			}
			continue;
		}
		if ((e[0] & 1) || memcmp(e, zero, 6) == 0 || e[6] || e[7]) {
			snprintf(why, whylen, "net: device %u: MAC is not a unicast address", i);
			return -EBADMSG;
		}
		memcpy(s.dev[i].mac, e, 6);
		s.dev[i].tx_used = get32(e + 8);
		s.dev[i].rx_used = get32(e + 12);
	}
	*st = s;
	return 0;
}
