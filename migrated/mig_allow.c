/* relocation-hosts-allow (mig_allow.h). */
#include "mig_allow.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool mig_allow_quant(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/*
 * What glibc's regcomp makes of some patterns costs memory without bound
 * (fuzz_mig_conf found "t++++..." taking gigabytes): a quantifier right
 * after a quantifier (undefined in POSIX EREs anyway), an interval applied
 * to a group (nested expansion), an interval over 255 or more than 4 of
 * them are refused, and a pattern is at most MIG_ALLOW_PAT_MAX bytes.
 * Address and host-name patterns need none of these.
 */
static const char *mig_allow_risky(const char *p)
{
	bool after_quant = false;
	unsigned nint = 0;

	if (strlen(p) > MIG_ALLOW_PAT_MAX)
		return "longer than " MIG_ALLOW_PAT_MAX_STR " bytes";
	for (size_t i = 0; p[i]; i++) {
		if (p[i] == '\\' && p[i + 1]) {
			i++;
			after_quant = false;
			continue;
		}
		if (p[i] == '[') { /* a bracket expression: no operators inside */
			size_t j = i + 1 + (p[i + 1] == '^');
			j += p[j] == ']';
			while (p[j] && p[j] != ']')
				j++;
			i = p[j] ? j : i;
			after_quant = false;
			continue;
		}
		if (mig_allow_quant(p[i])) {
			if (after_quant)
				return "a quantifier follows a quantifier";
			if (p[i] == '{') {
				char *end;
				unsigned long lo = strtoul(p + i + 1, &end, 10), hi = lo;
				if (*end == ',')
					hi = end[1] == '}' ? 256 : strtoul(end + 1, &end, 10);
				if (i > 0 && p[i - 1] == ')')
					return "an interval on a group";
				if (hi > 255 || ++nint > 4)
					return "intervals over 255 or more than 4 of them";
				while (p[i] && p[i] != '}')
					i++;
				if (!p[i])
					break;
			}
			after_quant = true;
			continue;
		}
		after_quant = false;
	}
	return NULL;
}

int mig_allow_init(struct mig_allow *a, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	a->n = 0;
	while (*p) {
		size_t len = strcspn(p, " \t");
		char pat[512], why[128];
		const char *why_risky;
		int rc;

		if (len == 0) {
			p++;
			continue;
		}
		if (a->n == MIG_ALLOW_MAX) {
			snprintf(err, errlen, "more than %u patterns", MIG_ALLOW_MAX);
			mig_allow_fini(a);
			return -E2BIG;
		}
		snprintf(pat, sizeof(pat), "%.*s", (int)len, p);
		if ((why_risky = mig_allow_risky(pat)) || len >= sizeof(pat)) {
			snprintf(err, errlen, "'%.*s': %s", (int)(len < 64 ? len : 64), p,
				 why_risky ? why_risky : "too long");
			mig_allow_fini(a);
			return -EINVAL;
		}
		rc = regcomp(&a->re[a->n], pat, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &a->re[a->n], why, sizeof(why));
			regfree(&a->re[a->n]);
			snprintf(err, errlen, "'%s': %s", pat, why);
			mig_allow_fini(a);
			return -EINVAL;
		}
		a->n++;
		p += len;
	}
	return 0;
}

void mig_allow_fini(struct mig_allow *a)
{
	for (unsigned i = 0; i < a->n; i++)
		regfree(&a->re[i]);
	a->n = 0;
}

bool mig_allow_match(const struct mig_allow *a, const char *text)
{
	if (!text || !*text)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (regexec(&a->re[i], text, 0, NULL, 0) == 0)
			return true;
	return false;
}
