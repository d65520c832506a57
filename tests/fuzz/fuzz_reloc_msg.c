/*
 * Fuzz harness for the relocation messages' decoder (migrated/reloc_msg.c),
 * what a relocation server reads from any peer that completed TLS 1. The
 * input is the byte stream: a message is either decoded (then it
 * re-encodes to the same bytes, strings NUL-terminated within their
 * bounds), refused with a message, or more bytes are asked for; nothing
 * is read outside the input.
 */
#include <string.h>

#include "reloc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(c)                                                                                 \
	do {                                                                                       \
		if (c)                                                                             \
			__builtin_trap();                                                          \
	} while (0)

static int fuzz_reenc(const struct reloc_msg *m, uint8_t *out, size_t cap)
{
	switch (m->type) {
	case RELOC_MSG_OFFER:
		return reloc_msg_offer_enc(&m->u.offer, out, cap);
	case RELOC_MSG_ACCEPT:
		return reloc_msg_accept_enc(&m->u.accept, out, cap);
	default:
		return reloc_msg_refuse_enc(m->u.refuse.err, m->u.refuse.msg, out, cap);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reloc_msg m;
	static uint8_t again[RELOC_MSG_HDR_LEN + RELOC_MSG_MAX];
	char err[256] = "";
	int n = reloc_msg_dec(data, size, &m, err, sizeof(err));

	if (n < 0) {
		TRAP_IF(!err[0]);
		return 0;
	}
	if (n == 0)
		return 0;
	TRAP_IF((size_t)n > size);
	if (m.type == RELOC_MSG_OFFER)
		TRAP_IF(strlen(m.u.offer.name) > RELOC_MSG_NAME_MAX ||
			strlen(m.u.offer.cfg) > RELOC_MSG_CFG_MAX);
	int k = fuzz_reenc(&m, again, sizeof(again));
	TRAP_IF(k != n || memcmp(again, data, (size_t)n) != 0);
	return 0;
}
