/*
 * SA exchange message codec (sa_msg.h, docs/wire.md "SA exchange").
 */
#include "sa_msg.h"

#include <string.h>

#include "pkt.h"

#define OFF_OP 24
#define OFF_SUITE 25
#define OFF_RSVD 26
#define OFF_SENDER 28
#define OFF_ASKER (OFF_SENDER + VNET_ADDR_LEN)
#define OFF_SPI (OFF_ASKER + VNET_ADDR_LEN)
#define OFF_SEQ (OFF_SPI + 4)
#define OFF_NONCE (OFF_SEQ + 4)
#define OFF_CHAL (OFF_NONCE + ESP_NONCE_LEN)
#define OFF_TAG (OFF_CHAL + SA_CHALLENGE_LEN)

_Static_assert(OFF_TAG + ESP_TAG_LEN == SA_PKT_LEN, "SA packet layout");

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static enum sa_msg_status check_header(const uint8_t *pkt, size_t len)
{
	if (len != SA_PKT_LEN)
		return SA_MSG_ERR_LENGTH;
	if (!all_zero(pkt, 4) || pkt[4] != PKT_VERSION || pkt[5] != PKT_TYPE_SA || pkt[6] || pkt[7])
		return SA_MSG_ERR_HEADER;
	return SA_MSG_OK;
}

/* Which fields each op must leave zero, and what it must set. */
static enum sa_msg_status check_fields(const struct sa_msg *m, const uint8_t *pkt)
{
	bool request = m->op == SA_MSG_REQUEST, reply = m->op == SA_MSG_REPLY;

	if (request ? m->suite != ESP_SUITE_NONE : !esp_sa_suite_info(m->suite))
		return SA_MSG_ERR_SUITE;
	if (vnet_addr_is_zero(&m->sender) ||
	    (m->op == SA_MSG_ANNOUNCE) != vnet_addr_is_zero(&m->asker))
		return SA_MSG_ERR_ADDR;
	if (request ? (m->spi != 0 && m->spi < ESP_SPI_MIN) : m->spi < ESP_SPI_MIN)
		return SA_MSG_ERR_SPI;
	if (!reply && (m->seq != 0 || !all_zero(pkt + OFF_NONCE, ESP_NONCE_LEN)))
		return SA_MSG_ERR_FIELD;
	return SA_MSG_OK;
}

enum sa_msg_status sa_msg_decode(const uint8_t *pkt, size_t len, struct sa_msg *m)
{
	enum sa_msg_status st = check_header(pkt, len);
	struct sa_msg t;

	if (st != SA_MSG_OK)
		return st;
	memset(&t, 0, sizeof(t));
	memcpy(t.vnet.b, pkt + 8, VNET_ID_LEN);
	if (vnet_id_check(&t.vnet) != VNET_ID_OK)
		return SA_MSG_ERR_VNET;
	if (pkt[OFF_OP] < SA_MSG_ANNOUNCE || pkt[OFF_OP] > SA_MSG_REPLY)
		return SA_MSG_ERR_OP;
	if (pkt[OFF_RSVD] || pkt[OFF_RSVD + 1])
		return SA_MSG_ERR_RESERVED;
	t.op = (enum sa_msg_op)pkt[OFF_OP];
	t.suite =
	    pkt[OFF_SUITE] < ESP_SUITE_COUNT ? (enum esp_suite_id)pkt[OFF_SUITE] : ESP_SUITE_COUNT;
	memcpy(t.sender.b, pkt + OFF_SENDER, VNET_ADDR_LEN);
	memcpy(t.asker.b, pkt + OFF_ASKER, VNET_ADDR_LEN);
	t.spi = get32(pkt + OFF_SPI);
	t.seq = get32(pkt + OFF_SEQ);
	memcpy(t.nonce, pkt + OFF_NONCE, ESP_NONCE_LEN);
	memcpy(t.challenge, pkt + OFF_CHAL, SA_CHALLENGE_LEN);
	st = check_fields(&t, pkt);
	if (st == SA_MSG_OK)
		*m = t;
	return st;
}

bool sa_msg_verify(struct esp_tag *t, const uint8_t *pkt)
{
	const struct esp_tag_part part = {pkt, OFF_TAG};

	return esp_tag_check(t, &part, 1, pkt + OFF_TAG);
}

int sa_msg_encode(const struct sa_msg *m, struct esp_tag *t, uint8_t out[SA_PKT_LEN])
{
	memset(out, 0, SA_PKT_LEN);
	out[4] = PKT_VERSION;
	out[5] = PKT_TYPE_SA;
	memcpy(out + 8, m->vnet.b, VNET_ID_LEN);
	out[OFF_OP] = (uint8_t)m->op;
	out[OFF_SUITE] = (uint8_t)m->suite;
	memcpy(out + OFF_SENDER, m->sender.b, VNET_ADDR_LEN);
	memcpy(out + OFF_ASKER, m->asker.b, VNET_ADDR_LEN);
	put32(out + OFF_SPI, m->spi);
	put32(out + OFF_SEQ, m->seq);
	memcpy(out + OFF_NONCE, m->nonce, ESP_NONCE_LEN);
	memcpy(out + OFF_CHAL, m->challenge, SA_CHALLENGE_LEN);
	const struct esp_tag_part part = {out, OFF_TAG};

	return esp_tag_make(t, &part, 1, out + OFF_TAG);
}

const char *sa_msg_status_str(enum sa_msg_status st)
{
	static const char *const names[] = {
	    [SA_MSG_OK] = "ok",
	    [SA_MSG_ERR_LENGTH] = "bad length",
	    [SA_MSG_ERR_HEADER] = "bad header",
	    [SA_MSG_ERR_VNET] = "invalid vnet id",
	    [SA_MSG_ERR_OP] = "unknown op",
	    [SA_MSG_ERR_RESERVED] = "non-zero reserved bytes",
	    [SA_MSG_ERR_SUITE] = "bad suite",
	    [SA_MSG_ERR_ADDR] = "bad address",
	    [SA_MSG_ERR_SPI] = "reserved SPI",
	    [SA_MSG_ERR_FIELD] = "field set that the op does not have",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

const char *sa_msg_op_name(enum sa_msg_op op)
{
	switch (op) {
	case SA_MSG_ANNOUNCE:
		return "announce";
	case SA_MSG_REQUEST:
		return "request";
	case SA_MSG_REPLY:
		return "reply";
	}
	return "?";
}
