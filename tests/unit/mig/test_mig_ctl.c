/* The vm <-> migrated requests: encoders and the one decoder agree, and
 * malformed requests are refused with their exact reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mig_ctl.h"

static _Alignas(8) uint8_t buf[8192];
static struct mig_ctl_req r;

static void test_round_trips(void **state)
{
	struct mig_ctl_migrate m = {.flags = MIG_CTL_MIG_F_LIVE, .port = 9002, .downtime_ms = 50};
	char err[128] = "";
	int n;

	(void)state;
	n = mig_ctl_dom_enc("web1", buf, sizeof(buf));
	assert_int_equal(mig_ctl_req_dec(MIG_CTL_PAUSE, buf, (size_t)n, &r, err, sizeof(err)), 0);
	assert_string_equal(r.dom, "web1");
	n = mig_ctl_save_enc("web1", "/tmp/x.save", buf, sizeof(buf));
	assert_int_equal(mig_ctl_req_dec(MIG_CTL_SAVE, buf, (size_t)n, &r, err, sizeof(err)), 0);
	assert_string_equal(r.path, "/tmp/x.save");
	n = mig_ctl_migrate_enc(&m, "web1", "host2.example", buf, sizeof(buf));
	assert_int_equal(mig_ctl_req_dec(MIG_CTL_MIGRATE, buf, (size_t)n, &r, err, sizeof(err)), 0);
	assert_string_equal(r.host, "host2.example");
	assert_int_equal(r.mig.port, 9002);
	assert_int_equal(r.mig.downtime_ms, 50);
	assert_int_equal(mig_ctl_req_dec(MIG_CTL_LIST, buf, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(
	    mig_ctl_req_dec(MIG_CTL_CREATE, "name = \"a\"\n", 11, &r, err, sizeof(err)), 0);
	assert_int_equal(r.cfg_len, 11);
}

static void bad(uint16_t type, const void *p, size_t len, const char *want)
{
	char err[128] = "";

	assert_int_equal(mig_ctl_req_dec(type, p, len, &r, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, want);
}

static void test_malformed(void **state)
{
	struct mig_ctl_save s = {4, 100};
	struct mig_ctl_migrate m = {.flags = 8};

	(void)state;
	bad(0x0399, "", 0, "unknown request type 0x0399");
	bad(MIG_CTL_LIST, "x", 1, "list: 1 bytes, want 0");
	bad(MIG_CTL_PAUSE, "", 0, "domain: length 0 not in 1..63");
	bad(MIG_CTL_PAUSE, "a\001", 2, "domain: byte 1 is not printable");
	bad(MIG_CTL_CREATE, "a\0b", 3, "create: config of 3 bytes");
	memcpy(buf, &s, sizeof(s));
	memcpy(buf + sizeof(s), "web1/tmp", 8);
	bad(MIG_CTL_SAVE, buf, sizeof(s) + 8, "save: lengths 4 + 100 do not match 8 bytes");
	s.path_len = 4;
	memcpy(buf, &s, sizeof(s));
	memcpy(buf + sizeof(s), "web1tmp/", 8);
	bad(MIG_CTL_SAVE, buf, sizeof(s) + 8, "save: path is not absolute");
	bad(MIG_CTL_RESTORE, "x.save", 6, "restore: path is not absolute");
	memcpy(buf, &m, sizeof(m));
	bad(MIG_CTL_MIGRATE, buf, sizeof(m), "migrate: unknown flags 0x8");
	bad(MIG_CTL_MIGRATE, buf, 3, "migrate: 3 bytes, header is 24");
}

static void test_list(void **state)
{
	struct mig_ctl_list_hdr h = {MIG_CTL_LIST_VERSION, 1, 1, 0};
	struct mig_ctl_dom d = {.domid = 3, .state = MIG_DOM_PAUSED};
	const struct mig_ctl_dom *out;
	char err[128] = "", want[128];

	(void)state;
	snprintf(d.name, sizeof(d.name), "web1");
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &d, sizeof(d));
	assert_int_equal(mig_ctl_list_dec(buf, sizeof(h) + sizeof(d), &out, NULL, err, sizeof(err)),
			 1);
	assert_string_equal(out[0].name, "web1");
	assert_string_equal(mig_ctl_state_name(out[0].state), "paused");
	assert_int_equal(
	    mig_ctl_list_dec(buf, sizeof(h) + sizeof(d) - 1, &out, NULL, err, sizeof(err)),
	    -EBADMSG);
	snprintf(want, sizeof(want), "list: 1 entries do not fill %zu bytes", sizeof(d) - 1);
	assert_string_equal(err, want);
	memset(d.name, 'x', sizeof(d.name));
	memcpy(buf + sizeof(h), &d, sizeof(d));
	assert_int_equal(mig_ctl_list_dec(buf, sizeof(h) + sizeof(d), &out, NULL, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "list: entry 0: unterminated string");
	/* A full reply says how many there were in all; never fewer. */
	snprintf(d.name, sizeof(d.name), "web1");
	memcpy(buf + sizeof(h), &d, sizeof(d));
	h.total = 120;
	memcpy(buf, &h, sizeof(h));
	uint32_t total = 0;
	assert_int_equal(
	    mig_ctl_list_dec(buf, sizeof(h) + sizeof(d), &out, &total, err, sizeof(err)), 1);
	assert_int_equal(total, 120);
	h.total = 0;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(
	    mig_ctl_list_dec(buf, sizeof(h) + sizeof(d), &out, &total, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "list: 1 entries of 0 in all");
}

/* Decodes one entry d; "" for accepted, else the message. */
static const char *list_one(const struct mig_ctl_dom *d)
{
	static char err[128];
	struct mig_ctl_list_hdr h = {MIG_CTL_LIST_VERSION, 1, 1, 0};
	const struct mig_ctl_dom *out;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), d, sizeof(*d));
	if (mig_ctl_list_dec(buf, sizeof(h) + sizeof(*d), &out, NULL, err, sizeof(err)) == 1)
		return "";
	return err;
}

static void test_list_vifs(void **state)
{
	static struct mig_ctl_dom d;
	struct mig_ctl_list_hdr old = {1, 0, 0, 0};
	const struct mig_ctl_dom *out;
	char err[128];

	(void)state;
	snprintf(d.name, sizeof(d.name), "web1");
	d.vifs = MIG_CTL_VIFS_OK;
	d.nvifs = 2;
	d.vif[0] = (struct mig_ctl_vif){.rx_frames = 3, .rx_runt = 1, .first_frame_us = 900};
	d.vif[1] = (struct mig_ctl_vif){.first_frame_us = UINT64_MAX, .ring = 1, .ring_err = 3};
	assert_string_equal(list_one(&d), "");
	memcpy(buf, &old, sizeof(old));
	assert_int_equal(mig_ctl_list_dec(buf, sizeof(old), &out, NULL, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "list: version 1, want 2");
	d.nvifs = MIG_CTL_VIF_MAX + 1;
	assert_string_equal(list_one(&d), "list: entry 0: 5 vifs");
	d.nvifs = 1;
	d.vifs = MIG_CTL_VIFS_NOANSWER; /* no counters without an answer */
	assert_string_equal(list_one(&d), "list: entry 0: 1 vifs");
	d.vifs = MIG_CTL_VIFS_N;
	assert_string_equal(list_one(&d), "list: entry 0: vifs 3");
	d.vifs = MIG_CTL_VIFS_OK;
	d.nvifs = 2;
	d.vif[1].ring = 0; /* a reason without a ring */
	assert_string_equal(list_one(&d), "list: entry 0: vif 1: ring 0, error 3");
	d.vif[1].ring = 3;
	assert_string_equal(list_one(&d), "list: entry 0: vif 1: ring 3, error 3");
	d.vif[1].ring = 2;
	d.vif[1].ring_err = 4;
	assert_string_equal(list_one(&d), "list: entry 0: vif 1: ring 2, error 4");
	d.vif[1].ring_err = 0;
	assert_string_equal(list_one(&d), "list: entry 0: vif 1: ring 2, error 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_list_vifs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
