/* Log level parsing and thresholds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"

static void test_level_parse(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int rc;
		enum log_level level;
	} cases[] = {
	    {"error", 0, LOG_LVL_ERROR}, {"warn", 0, LOG_LVL_WARN}, {"info", 0, LOG_LVL_INFO},
	    {"debug", 0, LOG_LVL_DEBUG}, {"", -EINVAL, 0},	    {"INFO", -EINVAL, 0},
	    {"verbose", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level l = LOG_LVL_ERROR;
		assert_int_equal(log_level_parse(cases[i].name, &l), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(l, cases[i].level);
	}
}

static void test_threshold(void **state)
{
	(void)state;
	log_init("test", LOG_LVL_WARN, 0);
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
	log_set_level(LOG_LVL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	log_debug("debug line %d", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_parse),
	    cmocka_unit_test(test_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
