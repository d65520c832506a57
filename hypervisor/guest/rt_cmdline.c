/*
 * The command line: `key=value` words separated by spaces, from the boot
 * info (the domain's `extra` under the vmm, -append under QEMU). Unknown
 * keys are the app's business; a word without '=' is ignored.
 */
#include "rt.h"

static const char *cmdline = "";

void rt_cmdline_init(const char *line)
{
	cmdline = line ? line : "";
}

const char *rt_cmdline_get(void)
{
	return cmdline;
}

int rt_cmdline_find(const char *key, const char **val, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		const char *w = p;

		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			*val = w + klen + 1;
			*len = (size_t)(p - *val);
			return 0;
		}
		while (*p == ' ')
			p++;
	}
	return -RT_ENOENT;
}

static int digit_value(char c, unsigned base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return (unsigned)d < base ? d : -1;
}

int rt_cmdline_u64(const char *key, uint64_t def, uint64_t *out)
{
	const char *v;
	size_t len, i = 0;
	unsigned base = 10;
	uint64_t n = 0;

	if (rt_cmdline_find(key, &v, &len)) {
		*out = def;
		return 0;
	}
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -RT_EINVAL;
	for (; i < len; i++) {
		int d = digit_value(v[i], base);

		if (d < 0)
			return -RT_EINVAL;
		if (n > (UINT64_MAX - (uint64_t)d) / base)
			return -RT_ERANGE;
		n = n * base + (uint64_t)d;
	}
	*out = n;
	return 0;
}

int rt_cmdline_str(const char *key, const char *def, char *buf, size_t size)
{
	const char *v;
	size_t len;

	if (rt_cmdline_find(key, &v, &len)) {
		v = def;
		len = strlen(def);
	}
	if (len >= size)
		return -RT_E2BIG;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return 0;
}
