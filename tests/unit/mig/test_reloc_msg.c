/* The relocation messages' codec: round trips, every byte-at-a-time
 * prefix asks for more, and each malformed message refused with its exact
 * reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reloc_msg.h"

static uint8_t buf[RELOC_MSG_HDR_LEN + RELOC_MSG_MAX];
static struct reloc_msg m;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int offer(uint32_t flags, const char *name, const char *cfg)
{
	static struct reloc_offer o;

	memset(&o, 0, sizeof(o));
	o.version = RELOC_MSG_VERSION;
	o.flags = flags;
	o.memory_mib = 1024;
	o.vcpus = 2;
	snprintf(o.name, sizeof(o.name), "%s", name);
	snprintf(o.cfg, sizeof(o.cfg), "%s", cfg);
	return reloc_msg_offer_enc(&o, buf, sizeof(buf));
}

static void test_offer_round_trip(void **state)
{
	char err[128] = "";
	int n = offer(RELOC_MSG_F_LIVE, "web1", "name = \"web1\"\nmemory = 1024\n");

	(void)state;
	assert_int_equal(n, 8 + 24 + 4 + 28);
	/* Little-endian on the wire whatever the host. */
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[4], 24 + 4 + 28);
	for (int i = 0; i < n; i++)
		assert_int_equal(reloc_msg_dec(buf, (size_t)i, &m, err, sizeof(err)), 0);
	assert_int_equal(reloc_msg_dec(buf, (size_t)n, &m, err, sizeof(err)), n);
	assert_int_equal(m.type, RELOC_MSG_OFFER);
	assert_int_equal(m.u.offer.flags, RELOC_MSG_F_LIVE);
	assert_int_equal(m.u.offer.memory_mib, 1024);
	assert_int_equal(m.u.offer.vcpus, 2);
	assert_string_equal(m.u.offer.name, "web1");
	assert_string_equal(m.u.offer.cfg, "name = \"web1\"\nmemory = 1024\n");
	/* A longer buffer: only the first message is taken. */
	assert_int_equal(reloc_msg_dec(buf, (size_t)n + 5, &m, err, sizeof(err)), n);
}

static void test_accept_refuse(void **state)
{
	struct reloc_accept a = {RELOC_MSG_VERSION, 77};
	char err[128] = "";
	int n;

	(void)state;
	n = reloc_msg_accept_enc(&a, buf, sizeof(buf));
	assert_int_equal(n, 16);
	assert_int_equal(reloc_msg_dec(buf, 16, &m, err, sizeof(err)), 16);
	assert_int_equal(m.type, RELOC_MSG_ACCEPT);
	assert_int_equal(m.u.accept.domid, 77);
	n = reloc_msg_refuse_enc(-ENOMEM, "no room", buf, sizeof(buf));
	assert_int_equal(n, 8 + 8 + 7);
	assert_int_equal(reloc_msg_dec(buf, (size_t)n, &m, err, sizeof(err)), n);
	assert_int_equal(m.u.refuse.err, -ENOMEM);
	assert_string_equal(m.u.refuse.msg, "no room");
	assert_int_equal(reloc_msg_refuse_enc(0, "x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(reloc_msg_accept_enc(&a, buf, 15), -ENOSPC);
}

static void test_encoder_bounds(void **state)
{
	static struct reloc_offer o;

	(void)state;
	memset(o.name, 'a', sizeof(o.name)); /* no NUL within the bound */
	assert_int_equal(reloc_msg_offer_enc(&o, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(offer(0, "", ""), -EINVAL);
	assert_int_equal(offer(0x2, "a", ""), -EINVAL);
}

/* A message built by hand: type, length, then the words given. */
static size_t raw(uint32_t type, uint32_t len, const uint32_t *w, size_t nw)
{
	put32(buf, type);
	put32(buf + 4, len);
	for (size_t i = 0; i < nw; i++)
		put32(buf + 8 + 4 * i, w[i]);
	return 8 + 4 * nw;
}

static void bad(size_t n, const char *want)
{
	char err[128] = "";

	assert_int_equal(reloc_msg_dec(buf, n, &m, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, want);
}

static void test_malformed(void **state)
{
	uint32_t w[8] = {1, 0, 128, 1, 3, 0};
	size_t n;

	(void)state;
	n = raw(9, 0, NULL, 0);
	bad(n, "unknown message type 9");
	n = raw(RELOC_MSG_OFFER, RELOC_MSG_MAX + 1, NULL, 0);
	bad(n, "OFFER: length 16472 > 16471");
	n = raw(RELOC_MSG_ACCEPT, 4, w, 1);
	bad(n, "ACCEPT: 0 bytes, want 8");
	n = raw(RELOC_MSG_ACCEPT, 12, w, 3);
	bad(n, "ACCEPT: 4 bytes after the last field");
	n = raw(RELOC_MSG_OFFER, 20, w, 5);
	bad(n, "OFFER: 0 bytes, fixed part is 24");
	w[1] = 4;
	n = raw(RELOC_MSG_OFFER, 24, w, 6);
	bad(n, "OFFER: unknown flags 0x4");
	w[1] = 0;
	w[4] = 64;
	n = raw(RELOC_MSG_OFFER, 24, w, 6);
	bad(n, "OFFER: name_len 64 not in 1..63");
	w[4] = 3;
	w[5] = RELOC_MSG_CFG_MAX + 1;
	n = raw(RELOC_MSG_OFFER, 24, w, 6);
	bad(n, "OFFER: cfg_len 16385 > 16384");
	w[5] = 0;
	n = raw(RELOC_MSG_OFFER, 26, w, 6);
	memcpy(buf + n, "ab", 2);
	bad(n + 2, "OFFER: name: 3 bytes announced, 2 left");
	n = raw(RELOC_MSG_OFFER, 27, w, 6);
	memcpy(buf + n, "a\nb", 3);
	bad(n + 3, "OFFER: name: control or non-ASCII byte");
	w[0] = (uint32_t)-EIO;
	w[1] = 600;
	n = raw(RELOC_MSG_REFUSE, 8, w, 2);
	bad(n, "REFUSE: msg_len 600 > 512");
	w[0] = 5;
	n = raw(RELOC_MSG_REFUSE, 8, w, 2);
	bad(n, "REFUSE: err 5 is not a negative errno");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offer_round_trip),
	    cmocka_unit_test(test_accept_refuse),
	    cmocka_unit_test(test_encoder_bounds),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
