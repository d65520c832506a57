/* vnet_addr: IPv4 mapping, socket address conversion both ways, text. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vnet_addr.h"

struct text_case {
	const char *in;
	int ret;
	bool v4, zero;
	const char *printed;
};

static const struct text_case texts[] = {
    {"10.0.0.2", 0, true, false, "10.0.0.2"},
    {"0.0.0.0", 0, true, true, "0.0.0.0"},
    {"::ffff:192.0.2.1", 0, true, false, "192.0.2.1"},
    {"fd00::1", 0, false, false, "fd00::1"},
    {"::", 0, false, true, "::"},
    {"FD00:0:0:0:0:0:0:A", 0, false, false, "fd00::a"},
    {"10.0.0", -EINVAL, false, false, NULL},
    {"10.0.0.256", -EINVAL, false, false, NULL},
    {"host.example", -EINVAL, false, false, NULL},
    {"10.0.0.1:1798", -EINVAL, false, false, NULL},
    {"", -EINVAL, false, false, NULL},
};

static void test_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct vnet_addr a;
		char buf[VNET_ADDR_STRLEN];
		assert_int_equal(vnet_addr_parse(texts[i].in, &a), texts[i].ret);
		if (texts[i].ret)
			continue;
		assert_int_equal(vnet_addr_is_v4(&a), texts[i].v4);
		assert_int_equal(vnet_addr_is_zero(&a), texts[i].zero);
		assert_string_equal(vnet_addr_str(&a, buf), texts[i].printed);
	}
}

static void test_mapped_bytes(void **state)
{
	static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
	struct vnet_addr a, b;
	(void)state;
	assert_int_equal(vnet_addr_parse("10.1.2.3", &a), 0);
	assert_memory_equal(a.b, want, 16);
	vnet_addr_from_v4(&b, htonl(0x0a010203));
	assert_true(vnet_addr_eq(&a, &b));
	b.b[15] = 4;
	assert_false(vnet_addr_eq(&a, &b));
}

static void test_sockaddr(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(99)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_storage ss;
	struct sockaddr_un_like {
		sa_family_t family;
	} other = {AF_UNIX};
	struct vnet_addr a;
	socklen_t len;
	(void)state;

	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_int_equal(vnet_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true(vnet_addr_is_v4(&a));
	len = vnet_addr_to_sockaddr(&a, 1798, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 1798);
	assert_memory_equal(&((struct sockaddr_in *)&ss)->sin_addr, &sin.sin_addr, 4);
	assert_int_equal(vnet_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin) - 1),
			 -EINVAL);

	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	assert_int_equal(vnet_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_false(vnet_addr_is_v4(&a));
	len = vnet_addr_to_sockaddr(&a, 7, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 7);
	assert_memory_equal(&((struct sockaddr_in6 *)&ss)->sin6_addr, &sin6.sin6_addr, 16);
	assert_int_equal(vnet_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof(sin6) - 1),
			 -EINVAL);
	assert_int_equal(vnet_addr_from_sockaddr(&a, (struct sockaddr *)&other, sizeof(other)),
			 -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_mapped_bytes),
	    cmocka_unit_test(test_sockaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
