/* relocation-hosts-allow (mig_allow.h). */
#include "mig_allow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mig_allow_init(struct mig_allow *a, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	a->n = 0;
	while (*p) {
		size_t len = strcspn(p, " \t");
		char pat[512], why[128];
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
