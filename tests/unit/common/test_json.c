/* The one JSON string escaper: the same escapes through a FILE and into a
 * bounded buffer, and a buffer that is too small refused without a change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static const struct {
	const char *in;
	const char *want;
} cases[] = {
    {"", "\"\""},
    {"web1", "\"web1\""},
    {"a\"b\\c", "\"a\\\"b\\\\c\""},
    {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
    {"\x01\x1f", "\"\\u0001\\u001f\""},
    {"x\x7fy", "\"x\x7fy\""},			     /* DEL needs no escape */
    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},		     /* UTF-8 as it is */
    {"</script>", "\"</script>\""},		     /* no HTML escaping */
    {"crashed\n  vcpu 0", "\"crashed\\n  vcpu 0\""}, /* the vmm's crash text */
};

static void test_write(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		assert_non_null(f);
		assert_int_equal(json_str_write(f, cases[i].in), 0);
		fclose(f);
		assert_string_equal(text, cases[i].want);
		free(text);
	}
}

static void test_append(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64] = "{\"k\":";
		size_t off = strlen(buf);

		assert_int_equal(json_str_append(buf, sizeof(buf), &off, cases[i].in), 0);
		assert_int_equal(off, 5 + strlen(cases[i].want));
		assert_string_equal(buf + 5, cases[i].want);
	}
}

/* Exactly the room needed (text and NUL) fits; one byte less is -ENOSPC and
 * leaves the offset where it was. */
static void test_append_bounds(void **state)
{
	char buf[16];
	size_t off = 0;

	(void)state;
	/* "a\n" -> "\"a\\n\"" is 5 bytes, 6 with the NUL. */
	assert_int_equal(json_str_append(buf, 6, &off, "a\n"), 0);
	assert_int_equal(off, 5);
	assert_string_equal(buf, "\"a\\n\"");
	off = 0;
	assert_int_equal(json_str_append(buf, 5, &off, "a\n"), -ENOSPC);
	assert_int_equal(off, 0);
	off = 2;
	assert_int_equal(json_str_append(buf, 5, &off, ""), 0);
	assert_int_equal(off, 4);
	assert_int_equal(json_str_append(buf, 5, &off, ""), -ENOSPC);
	assert_int_equal(off, 4);
	off = 6;
	assert_int_equal(json_str_append(buf, 5, &off, ""), -ENOSPC);
	assert_int_equal(off, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write),
	    cmocka_unit_test(test_append),
	    cmocka_unit_test(test_append_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
