/*
 * lwIP's port to the Tern guest runtime: types and diagnostics. There is
 * no libc: lwIP's few libc calls resolve to rt_string.c and rt_lwip.c, and
 * its standard headers to the shims in ../libc.
 */
#ifndef TERN_LWIP_ARCH_CC_H
#define TERN_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

#include "rt.h"

#define BYTE_ORDER LITTLE_ENDIAN
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define SSIZE_MAX INT64_MAX
typedef int64_t ssize_t;

#define LWIP_RAND() rt_lwip_rand()
uint32_t rt_lwip_rand(void);

/* Printing is only for asserts and debug builds. */
#define LWIP_PLATFORM_DIAG(x)                                                                      \
	do {                                                                                       \
		rt_printf x;                                                                       \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) rt_lwip_assert(x, __FILE__, __LINE__)
void rt_lwip_assert(const char *msg, const char *file, int line) __attribute__((noreturn));

#endif
