#include "hv_lines.h"

const char *hv_lines_next(struct hv_lines *l, const char *p, size_t n, size_t *pos)
{
	while (*pos < n) {
		char c = p[(*pos)++];

		if (c == '\n') {
			l->line[l->len] = '\0';
			l->len = 0;
			return l->line;
		}
		if (l->len + 1 < sizeof(l->line))
			l->line[l->len++] = c;
	}
	return NULL;
}
