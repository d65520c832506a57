/*
 * The relocation messages: what two migrateds say to each other over TLS 1
 * before a domain moves (docs/migration.md, "Relocation messages").
 *
 * Every message is a header of two little-endian u32, type and payload
 * length, then the payload. The length is checked against RELOC_MSG_MAX
 * before anything else is read, every field against the payload's end
 * and its own bound, and no byte may follow the last field.
 *
 *   OFFER  (1) A -> B  u32 version, u32 flags, u32 memory_mib, u32 vcpus,
 *                      u32 name_len, u32 cfg_len, name[name_len],
 *                      cfg[cfg_len] (the domain's canonical config text)
 *   ACCEPT (2) B -> A  u32 version, u32 domid (the id B gives the domain)
 *   REFUSE (3) B -> A  i32 err (negative errno), u32 msg_len, msg[msg_len]
 *
 * Strings carry no NUL and no control bytes; decoded ones get a NUL.
 */
#ifndef TERN_RELOC_MSG_H
#define TERN_RELOC_MSG_H

#include <stddef.h>
#include <stdint.h>

#define RELOC_MSG_VERSION 1u
#define RELOC_MSG_HDR_LEN 8u
#define RELOC_MSG_NAME_MAX 63u
#define RELOC_MSG_CFG_MAX 16384u
#define RELOC_MSG_TEXT_MAX 512u
#define RELOC_MSG_MAX (24u + RELOC_MSG_NAME_MAX + RELOC_MSG_CFG_MAX) /* largest payload */

#define RELOC_MSG_F_LIVE 0x1u

enum reloc_msg_type { RELOC_MSG_OFFER = 1, RELOC_MSG_ACCEPT = 2, RELOC_MSG_REFUSE = 3 };

struct reloc_offer {
	uint32_t version, flags, memory_mib, vcpus;
	char name[RELOC_MSG_NAME_MAX + 1];
	char cfg[RELOC_MSG_CFG_MAX + 1];
};

struct reloc_accept {
	uint32_t version, domid;
};

struct reloc_refuse {
	int32_t err;
	char msg[RELOC_MSG_TEXT_MAX + 1];
};

struct reloc_msg {
	uint32_t type;
	union {
		struct reloc_offer offer;
		struct reloc_accept accept;
		struct reloc_refuse refuse;
	} u;
};

/* Encoders write header + payload; they return the bytes written, -ENOSPC
 * if cap is too small, or -EINVAL for a string too long or a field out of
 * range (an unknown flag, err >= 0). */
int reloc_msg_offer_enc(const struct reloc_offer *o, void *buf, size_t cap);
int reloc_msg_accept_enc(const struct reloc_accept *a, void *buf, size_t cap);
int reloc_msg_refuse_enc(int32_t err, const char *msg, void *buf, size_t cap);

/* The one decoder. Looks at len bytes received so far: returns the length
 * of the whole message (> 0) once it is all there and valid, 0 while more
 * bytes are needed, or -EBADMSG with a one-line reason in err naming the
 * message and the field ("OFFER: name_len 70 > 63"). */
int reloc_msg_dec(const void *buf, size_t len, struct reloc_msg *m, char *err, size_t errlen);

/* "OFFER", "ACCEPT", "REFUSE" or "unknown". */
const char *reloc_msg_type_name(uint32_t type);

#endif
