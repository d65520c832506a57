/*
 * 128-bit vnet identifiers (docs/wire.md, DESIGN.md section 6).
 *
 * Text forms: eight groups of 1-4 hex digits separated by colons
 * ("0:0:0:0:0:0:0:97"), or one hex group alone as the short form ("97"),
 * meaning the first seven groups are zero. Id 0 is invalid and id 1 is
 * reserved; both parse syntactically but are refused with their own status
 * so that callers can say which. On the wire an id is 16 bytes, big-endian.
 */
#ifndef TERN_VNET_ID_H
#define TERN_VNET_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_ID_LEN 16
/* Longest printed form: 8 groups of 4 digits, 7 colons, NUL. */
#define VNET_ID_STRLEN 40

struct vnet_id {
	uint8_t b[VNET_ID_LEN]; /* network byte order, group 0 first */
};

enum vnet_id_status {
	VNET_ID_OK = 0,
	VNET_ID_MALFORMED, /* not one of the two text forms */
	VNET_ID_INVALID,   /* id 0 */
	VNET_ID_RESERVED,  /* id 1 */
};

/* Parses `s` (whole string, no surrounding blanks) into *id. On anything but
 * VNET_ID_OK, `why` (if not NULL) receives a one-line reason without the
 * input's name, e.g. "group 3 has more than 4 hex digits"; *id is written
 * only on VNET_ID_OK. */
enum vnet_id_status vnet_id_parse(const char *s, struct vnet_id *id, char *why, size_t whylen);

/* Classifies an id taken from the wire: VNET_ID_OK, VNET_ID_INVALID (0) or
 * VNET_ID_RESERVED (1). */
enum vnet_id_status vnet_id_check(const struct vnet_id *id);

/* Short text for a status ("ok", "malformed", "id 0 is invalid",
 * "id 1 is reserved"). */
const char *vnet_id_status_str(enum vnet_id_status st);

/* Prints the canonical form into buf (VNET_ID_STRLEN bytes): the short form
 * when the first seven groups are zero, else eight groups; lower-case hex,
 * no leading zeros. Returns buf. */
char *vnet_id_str(const struct vnet_id *id, char buf[VNET_ID_STRLEN]);

/* True if the first seven groups are zero, i.e. the id has a short form. */
bool vnet_id_is_short(const struct vnet_id *id);

/* Builds the id whose short form is `group` (0:0:0:0:0:0:0:group). */
void vnet_id_from_short(struct vnet_id *id, uint16_t group);

/* True if a and b are the same id. */
bool vnet_id_eq(const struct vnet_id *a, const struct vnet_id *b);

#endif
