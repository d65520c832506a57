/*
 * Fuzz harness for the domain config parser (hv_domcfg.c). Any input must
 * be accepted or refused with a message; an accepted config must survive
 * hv_domcfg_format() and parse back to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_domcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_same(const struct hv_domcfg *a, const struct hv_domcfg *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->kernel, b->kernel) ||
	    strcmp(a->extra, b->extra) || a->memory_mib != b->memory_mib || a->vcpus != b->vcpus ||
	    a->nvifs != b->nvifs || a->on_crash != b->on_crash)
		abort();
	for (unsigned i = 0; i < a->nvifs; i++)
		if (memcmp(a->vif[i].mac, b->vif[i].mac, 6) ||
		    strcmp(a->vif[i].bridge, b->vif[i].bridge))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_domcfg a, b;
	static char text[32768];
	char err[512];

	hv_domcfg_init(&a);
	if (hv_domcfg_parse(&a, (const char *)data, size, "fuzz.cfg", err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	/* The first line doubles as a command-line override. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	if (n < sizeof(text) && !memchr(data, 0, n)) {
		memcpy(text, data, n);
		text[n] = '\0';
		hv_domcfg_override(&a, text, err, sizeof(err));
	}
	int len = hv_domcfg_format(&a, text, sizeof(text));
	if (len < 0)
		abort();
	hv_domcfg_init(&b);
	if (hv_domcfg_parse(&b, text, (size_t)len, "formatted", err, sizeof(err)) < 0)
		abort();
	fuzz_same(&a, &b);
	return 0;
}
