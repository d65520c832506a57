/* vnet_id: both text forms, canonical printing, and every rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vnet_id.h"

struct good_case {
	const char *in;
	uint8_t last[4]; /* bytes 12..15 */
	bool short_form;
	const char *printed;
};

static const struct good_case good[] = {
    {"97", {0, 0, 0, 0x97}, true, "97"},
    {"0:0:0:0:0:0:0:97", {0, 0, 0, 0x97}, true, "97"},
    {"2", {0, 0, 0, 2}, true, "2"},
    {"FFFF", {0, 0, 0xff, 0xff}, true, "ffff"},
    {"0000:0:0:0:0:0:0001:0002", {0, 1, 0, 2}, false, "0:0:0:0:0:0:1:2"},
    {"0:0:0:0:0:0:0:1aB", {0, 0, 0x01, 0xab}, true, "1ab"},
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vnet_id id;
		char buf[VNET_ID_STRLEN];
		assert_int_equal(vnet_id_parse(good[i].in, &id, NULL, 0), VNET_ID_OK);
		assert_memory_equal(id.b + 12, good[i].last, 4);
		for (int b = 0; b < 12; b++)
			assert_int_equal(id.b[b], 0);
		assert_int_equal(vnet_id_is_short(&id), good[i].short_form);
		assert_string_equal(vnet_id_str(&id, buf), good[i].printed);
	}
}

static void test_full_form(void **state)
{
	struct vnet_id id;
	char buf[VNET_ID_STRLEN];
	static const uint8_t want[16] = {0x12, 0x34, 0, 0x05, 0xab, 0xcd, 0, 0,
					 0,    0,    0, 0,    0,    0,	  0, 0x99};
	(void)state;
	assert_int_equal(vnet_id_parse("1234:5:abcd:0:0:0:0:99", &id, NULL, 0), VNET_ID_OK);
	assert_memory_equal(id.b, want, 16);
	assert_false(vnet_id_is_short(&id));
	assert_string_equal(vnet_id_str(&id, buf), "1234:5:abcd:0:0:0:0:99");
	assert_int_equal(vnet_id_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &id, NULL, 0),
			 VNET_ID_OK);
	assert_string_equal(vnet_id_str(&id, buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(strlen(buf) + 1, VNET_ID_STRLEN);
}

struct bad_case {
	const char *in;
	enum vnet_id_status st;
	const char *why;
};

static const struct bad_case bad[] = {
    {"", VNET_ID_MALFORMED, "empty id"},
    {"0", VNET_ID_INVALID, "id 0 is invalid"},
    {"0:0:0:0:0:0:0:0", VNET_ID_INVALID, "id 0 is invalid"},
    {"1", VNET_ID_RESERVED, "id 1 is reserved"},
    {"0:0:0:0:0:0:0:0001", VNET_ID_RESERVED, "id 1 is reserved"},
    {"12345", VNET_ID_MALFORMED, "group 1 has more than 4 hex digits"},
    {"0:0:0:0:0:0:0:12345", VNET_ID_MALFORMED, "group 8 has more than 4 hex digits"},
    {"9g", VNET_ID_MALFORMED, "group 1: 'g' is not a hex digit"},
    {" 97", VNET_ID_MALFORMED, "group 1: ' ' is not a hex digit"},
    {"0x97", VNET_ID_MALFORMED, "group 1: 'x' is not a hex digit"},
    {"0:0:0:0:0:0:97", VNET_ID_MALFORMED,
     "expected 8 colon-separated groups or one group, got 7 groups"},
    {"0:0:0:0:0:0:0:0:97", VNET_ID_MALFORMED,
     "expected 8 colon-separated groups or one group, got 9 groups"},
    {"0:0:0::0:0:0:97", VNET_ID_MALFORMED, "group 4 is empty"},
    {"0:0:0:0:0:0:0:", VNET_ID_MALFORMED, "group 8 is empty"},
    {"-1", VNET_ID_MALFORMED, "group 1: '-' is not a hex digit"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vnet_id id;
		char why[96] = "";
		memset(&id, 0xee, sizeof(id));
		assert_int_equal(vnet_id_parse(bad[i].in, &id, why, sizeof(why)), bad[i].st);
		assert_string_equal(why, bad[i].why);
		assert_int_equal(id.b[0], 0xee); /* untouched on failure */
	}
}

static void test_check_and_short(void **state)
{
	struct vnet_id id, id2;
	(void)state;
	vnet_id_from_short(&id, 0);
	assert_int_equal(vnet_id_check(&id), VNET_ID_INVALID);
	vnet_id_from_short(&id, 1);
	assert_int_equal(vnet_id_check(&id), VNET_ID_RESERVED);
	vnet_id_from_short(&id, 0x100);
	assert_int_equal(vnet_id_check(&id), VNET_ID_OK);
	memset(&id, 0, sizeof(id));
	id.b[0] = 1; /* 1:0:0:0:0:0:0:0 is a fine id */
	assert_int_equal(vnet_id_check(&id), VNET_ID_OK);
	vnet_id_from_short(&id, 0x97);
	assert_int_equal(vnet_id_parse("97", &id2, NULL, 0), VNET_ID_OK);
	assert_true(vnet_id_eq(&id, &id2));
	id2.b[3] = 1;
	assert_false(vnet_id_eq(&id, &id2));
	assert_string_equal(vnet_id_status_str(VNET_ID_MALFORMED), "malformed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_full_form),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_check_and_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
