/* The CLIs' one output path (common/out.c): the same calls render the text
 * line and the JSON shapes of the vnetd/vn contract, with JSON escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "out.h"

/* One varp-list record and one peer-list record, as vn_cmd.c prints them. */
static char *render(bool json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out o;

	assert_non_null(f);
	out_init(&o, f, json);
	out_begin(&o);
	out_obj_begin(&o);
	out_str(&o, "vnet", "vnet", "97");
	out_str(&o, "mac", "mac", "00:16:3e:00:00:11");
	out_str(&o, "addr", "addr", "10.0.0.2");
	out_bool(&o, "local", "local", false);
	out_u64(&o, "ttl", "ttl", 118);
	out_obj_end(&o);
	out_obj_begin(&o);
	out_str(&o, "host", "peer", "h\"2\\\n");
	out_arr_begin(&o, "addresses", "addresses");
	out_arr_str(&o, "10.0.0.2");
	out_arr_str(&o, "10.0.0.3");
	out_arr_end(&o);
	out_obj_end(&o);
	out_end(&o);
	fclose(f);
	return text;
}

static void test_json(void **state)
{
	char *s = render(true);

	(void)state;
	assert_string_equal(
	    s, "[{\"vnet\":\"97\",\"mac\":\"00:16:3e:00:00:11\",\"addr\":\"10.0.0.2\","
	       "\"local\":false,\"ttl\":118},"
	       "{\"host\":\"h\\\"2\\\\\\n\",\"addresses\":[\"10.0.0.2\",\"10.0.0.3\"]}]\n");
	free(s);
}

static void test_text(void **state)
{
	char *s = render(false);

	(void)state;
	assert_string_equal(s, "vnet 97 mac 00:16:3e:00:00:11 addr 10.0.0.2 local no ttl 118\n"
			       "peer h\"2\\\n addresses 10.0.0.2,10.0.0.3\n");
	free(s);
}

static void test_empty(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct out o;

	(void)state;
	out_init(&o, f, true);
	out_begin(&o);
	out_obj_begin(&o);
	out_str(&o, "suite", "suite", "");
	out_arr_begin(&o, "addresses", "addresses");
	out_arr_end(&o);
	out_obj_end(&o);
	out_end(&o);
	fclose(f);
	assert_string_equal(text, "[{\"suite\":\"\",\"addresses\":[]}]\n");
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	out_init(&o, f, false);
	out_begin(&o);
	out_obj_begin(&o);
	out_str(&o, "suite", "suite", "");
	out_arr_begin(&o, "addresses", "addresses");
	out_arr_end(&o);
	out_obj_end(&o);
	out_end(&o);
	fclose(f);
	assert_string_equal(text, "suite - addresses -\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
