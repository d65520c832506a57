/*
 * relocation-hosts-allow: space-separated POSIX extended regular
 * expressions; a peer is allowed when its address text or its
 * reverse-resolved name matches one of them (regexec: a pattern matches
 * anywhere unless it anchors itself with ^ and $, as in xend). An empty
 * list allows every peer. Patterns whose compilation could take memory
 * without bound are refused (mig_allow.c says which).
 */
#ifndef TERN_MIG_ALLOW_H
#define TERN_MIG_ALLOW_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define MIG_ALLOW_MAX 32u
#define MIG_ALLOW_PAT_MAX 128u /* bytes of one pattern */
#define MIG_ALLOW_PAT_MAX_STR "128"

struct mig_allow {
	unsigned n;
	regex_t re[MIG_ALLOW_MAX];
};

/* Compiles the patterns of `text`. Returns 0, or -EINVAL with err naming
 * the pattern and regcomp's reason ("'[a': brackets ([ ]) not balanced"),
 * or -E2BIG for more than MIG_ALLOW_MAX patterns. */
int mig_allow_init(struct mig_allow *a, const char *text, char *err, size_t errlen);
/* Safe twice. */
void mig_allow_fini(struct mig_allow *a);
static inline bool mig_allow_all(const struct mig_allow *a)
{
	return a->n == 0;
}
/* True if `text` (an address or a name; NULL never matches) matches. */
bool mig_allow_match(const struct mig_allow *a, const char *text);

#endif
