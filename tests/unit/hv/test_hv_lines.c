/* Console line splitting: pieces, empty lines, overlong lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hv_lines.h"

static void test_pieces(void **state)
{
	(void)state;
	struct hv_lines l = {0};
	size_t pos = 0;

	assert_null(hv_lines_next(&l, "dirtier: t=", 11, &pos));
	assert_int_equal(pos, 11);
	pos = 0;
	assert_string_equal(hv_lines_next(&l, "1 a\n\nb", 6, &pos), "dirtier: t=1 a");
	assert_string_equal(hv_lines_next(&l, "1 a\n\nb", 6, &pos), "");
	assert_null(hv_lines_next(&l, "1 a\n\nb", 6, &pos));
	pos = 0;
	assert_string_equal(hv_lines_next(&l, "c\n", 2, &pos), "bc");
	assert_null(hv_lines_next(&l, "c\n", 2, &pos));
}

static void test_overlong_cut(void **state)
{
	(void)state;
	static char buf[HV_LINES_MAX * 2 + 1];
	struct hv_lines l = {0};
	size_t pos = 0;
	const char *line;

	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\n';
	line = hv_lines_next(&l, buf, sizeof(buf), &pos);
	assert_non_null(line);
	assert_int_equal(strlen(line), HV_LINES_MAX - 1);
	assert_int_equal(pos, sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pieces),
	    cmocka_unit_test(test_overlong_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
