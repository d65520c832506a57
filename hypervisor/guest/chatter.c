/*
 * chatter: console output as fast as the guest can make it, to prove that
 * a host console nobody reads never stops the vmm (the vCPU, destroy).
 *
 * cmdline `lines=<n>` (0: forever, the default): writes 64 lines of
 * `chatter: line=<i> ...` (72 bytes each) per console call, then prints
 * `chatter: done lines=<n>` and halts 0.
 */
#include "rt.h"

#define CHATTER_BATCH 64
#define CHATTER_LINE 80

int app_main(void)
{
	static char buf[CHATTER_BATCH * CHATTER_LINE + 1];
	uint64_t lines, i = 0;

	if (rt_cmdline_u64("lines", 0, &lines)) {
		rt_printf("chatter: bad lines (want a count, 0 = forever)\n");
		return 1;
	}
	rt_printf("chatter: start lines=%lu\n", lines);
	while (lines == 0 || i < lines) {
		size_t len = 0;

		for (int k = 0; k < CHATTER_BATCH && (lines == 0 || i < lines); k++, i++) {
			len += (size_t)rt_snprintf(
			    buf + len, sizeof(buf) - len,
			    "chatter: line=%-12lu the quick brown fox jumps over the lazy dog\n",
			    i);
		}
		rt_console_write(buf, len);
	}
	rt_printf("chatter: done lines=%lu\n", lines);
	return 0;
}
