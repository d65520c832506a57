/*
 * sxp parser: a recursive-descent reader bounded in depth, input, atom
 * length and node count, so that no input can make it recurse, allocate or
 * loop without limit.
 */
#include "sxp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct parser {
	const char *name;
	const char *p, *end;
	unsigned line, col;
	size_t nodes;
	int err; /* errno of the first failure */
	struct sxp_error *out;
	char buf[SXP_MAX_ATOM + 1];
};

static void perr(struct parser *ps, unsigned line, unsigned col, int err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void perr(struct parser *ps, unsigned line, unsigned col, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	ps->err = err;
	if (!ps->out)
		return;
	ps->out->line = line;
	ps->out->col = col;
	n = snprintf(ps->out->msg, sizeof(ps->out->msg), "%s:%u:%u: ", ps->name, line, col);
	if (n < 0 || (size_t)n >= sizeof(ps->out->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(ps->out->msg + n, sizeof(ps->out->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool at_end(const struct parser *ps)
{
	return ps->p >= ps->end;
}

static void advance(struct parser *ps)
{
	if (*ps->p == '\n') {
		ps->line++;
		ps->col = 1;
	} else {
		ps->col++;
	}
	ps->p++;
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_control(unsigned char c)
{
	return (c < 0x20 && !is_blank(c)) || c == 0x7f;
}

static bool is_delim(unsigned char c)
{
	return is_blank(c) || c == '(' || c == ')' || c == '\'' || c == '"';
}

/* Skips blanks and comments; fails on a control character. */
static int skip_space(struct parser *ps)
{
	while (!at_end(ps)) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '#') {
			while (!at_end(ps) && *ps->p != '\n')
				advance(ps);
		} else if (is_blank(c)) {
			advance(ps);
		} else if (is_control(c)) {
			perr(ps, ps->line, ps->col, EINVAL, "control character 0x%02x", c);
			return -1;
		} else {
			break;
		}
	}
	return 0;
}

static struct sxp_node *node_new(struct parser *ps, enum sxp_type type, unsigned line, unsigned col)
{
	struct sxp_node *n;

	if (++ps->nodes > SXP_MAX_NODES) {
		perr(ps, line, col, E2BIG, "more than %u elements", SXP_MAX_NODES);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		perr(ps, line, col, ENOMEM, "out of memory");
		return NULL;
	}
	n->type = type;
	n->line = line;
	n->col = col;
	n->file = ps->name;
	return n;
}

static struct sxp_node *atom_new(struct parser *ps, size_t len, bool quoted, unsigned line,
				 unsigned col)
{
	struct sxp_node *n = node_new(ps, SXP_ATOM, line, col);

	if (!n)
		return NULL;
	n->atom = malloc(len + 1);
	if (!n->atom) {
		free(n);
		perr(ps, line, col, ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(n->atom, ps->buf, len);
	n->atom[len] = '\0';
	n->atom_len = len;
	n->quoted = quoted;
	return n;
}

static int buf_put(struct parser *ps, size_t *len, char c, unsigned line, unsigned col)
{
	if (*len == SXP_MAX_ATOM) {
		perr(ps, line, col, E2BIG, "atom longer than %u bytes", SXP_MAX_ATOM);
		return -1;
	}
	ps->buf[(*len)++] = c;
	return 0;
}

static struct sxp_node *parse_bare(struct parser *ps)
{
	unsigned line = ps->line, col = ps->col;
	size_t len = 0;

	while (!at_end(ps) && !is_delim((unsigned char)*ps->p)) {
		unsigned char c = (unsigned char)*ps->p;
		if (is_control(c)) {
			perr(ps, ps->line, ps->col, EINVAL, "control character 0x%02x", c);
			return NULL;
		}
		if (buf_put(ps, &len, (char)c, line, col) < 0)
			return NULL;
		advance(ps);
	}
	if (!at_end(ps) && (*ps->p == '\'' || *ps->p == '"')) {
		perr(ps, ps->line, ps->col, EINVAL, "quote inside the word '%.*s'", (int)len,
		     ps->buf);
		return NULL;
	}
	return atom_new(ps, len, false, line, col);
}

/* The character an escape stands for; -1 keeps the backslash (so '10\.97'
 * reaches a regex compiler unchanged). */
static int unescape(char c)
{
	switch (c) {
	case '\\':
	case '\'':
	case '"':
		return c;
	case 'n':
		return '\n';
	case 't':
		return '\t';
	}
	return -1;
}

static struct sxp_node *parse_quoted(struct parser *ps)
{
	unsigned line = ps->line, col = ps->col;
	char quote = *ps->p;
	size_t len = 0;

	advance(ps);
	while (!at_end(ps) && *ps->p != quote) {
		char c = *ps->p;
		if (is_control((unsigned char)c)) {
			perr(ps, ps->line, ps->col, EINVAL, "control character 0x%02x",
			     (unsigned char)c);
			return NULL;
		}
		if (c == '\\' && ps->p + 1 < ps->end && unescape(ps->p[1]) >= 0) {
			advance(ps);
			c = (char)unescape(*ps->p);
		}
		if (buf_put(ps, &len, c, line, col) < 0)
			return NULL;
		advance(ps);
	}
	if (at_end(ps)) {
		perr(ps, line, col, EINVAL, "unterminated string");
		return NULL;
	}
	advance(ps);
	return atom_new(ps, len, true, line, col);
}

static int parse_items(struct parser *ps, struct sxp_node *list, unsigned depth, bool top);

static struct sxp_node *parse_expr(struct parser *ps, unsigned depth)
{
	unsigned line = ps->line, col = ps->col;
	struct sxp_node *n;

	if (*ps->p == '\'' || *ps->p == '"')
		return parse_quoted(ps);
	if (*ps->p != '(')
		return parse_bare(ps);
	if (depth >= SXP_MAX_DEPTH) {
		perr(ps, line, col, E2BIG, "lists nested deeper than %u", SXP_MAX_DEPTH);
		return NULL;
	}
	n = node_new(ps, SXP_LIST, line, col);
	if (!n)
		return NULL;
	advance(ps);
	if (parse_items(ps, n, depth + 1, false) < 0) {
		sxp_free(n);
		return NULL;
	}
	return n;
}

/* Reads elements into list until its ')' (or, at top level, the end). */
static int parse_items(struct parser *ps, struct sxp_node *list, unsigned depth, bool top)
{
	struct sxp_node **tail = &list->kids;

	for (;;) {
		if (skip_space(ps) < 0)
			return -1;
		if (at_end(ps)) {
			if (top)
				return 0;
			perr(ps, list->line, list->col, EINVAL, "'(' is never closed");
			return -1;
		}
		if (*ps->p == ')') {
			if (!top) {
				advance(ps);
				return 0;
			}
			perr(ps, ps->line, ps->col, EINVAL, "unexpected ')'");
			return -1;
		}
		struct sxp_node *n = parse_expr(ps, depth);
		if (!n)
			return -1;
		*tail = n;
		tail = &n->next;
		list->nkids++;
	}
}

struct sxp_node *sxp_parse(const char *name, const char *text, size_t len, struct sxp_error *err)
{
	struct parser *ps;
	struct sxp_node *doc;
	size_t nlen = strlen(name);
	char *copy;

	ps = calloc(1, sizeof(*ps));
	doc = calloc(1, sizeof(*doc) + nlen + 1);
	if (!ps || !doc) {
		free(ps);
		free(doc);
		errno = ENOMEM;
		return NULL;
	}
	copy = (char *)(doc + 1);
	memcpy(copy, name, nlen + 1);
	*ps = (struct parser){
	    .name = copy, .p = text, .end = text + len, .line = 1, .col = 1, .out = err};
	*doc = (struct sxp_node){.type = SXP_LIST, .line = 1, .col = 1, .file = copy};
	if (len > SXP_MAX_INPUT)
		perr(ps, 1, 1, E2BIG, "input larger than %u bytes", SXP_MAX_INPUT);
	else
		parse_items(ps, doc, 0, true);
	if (ps->err) {
		errno = ps->err;
		sxp_free(doc);
		doc = NULL;
	}
	free(ps);
	return doc;
}

static int read_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int err = 0;

	*text = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((uint64_t)st.st_size > SXP_MAX_INPUT)
		err = -E2BIG;
	else if (!(*text = malloc((size_t)st.st_size + 1)))
		err = -ENOMEM;
	/* One byte more than the size, to notice a file that grew. */
	if (err == 0 && (n = read(fd, *text, (size_t)st.st_size + 1)) < 0)
		err = -errno;
	else if (err == 0)
		*len = (size_t)n;
	if (err == 0 && *len > (size_t)st.st_size)
		err = -E2BIG;
	close(fd);
	if (err) {
		free(*text);
		*text = NULL;
	}
	return err;
}

struct sxp_node *sxp_parse_file(const char *path, struct sxp_error *err)
{
	struct sxp_node *doc;
	char *text;
	size_t len = 0;
	int r = read_file(path, &text, &len);

	if (r < 0) {
		if (err) {
			err->line = err->col = 0;
			snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
				 r == -EINVAL ? "not a regular file" : strerror(-r));
		}
		errno = -r;
		return NULL;
	}
	doc = sxp_parse(path, text, len, err);
	r = errno;
	free(text);
	errno = r;
	return doc;
}

void sxp_free(struct sxp_node *doc)
{
	/* Depth is bounded by SXP_MAX_DEPTH, so recursion is bounded too. */
	while (doc) {
		struct sxp_node *next = doc->next;
		if (doc->type == SXP_LIST)
			sxp_free(doc->kids);
		else
			free(doc->atom);
		free(doc);
		doc = next;
	}
}

int sxp_errorf(struct sxp_error *err, const struct sxp_node *at, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!err)
		return -EINVAL;
	err->line = at ? at->line : 0;
	err->col = at ? at->col : 0;
	err->msg[0] = '\0';
	if (at)
		n = snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: ", at->file, at->line, at->col);
	if (n >= 0 && (size_t)n < sizeof(err->msg)) {
		va_start(ap, fmt);
		vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *sxp_key(const struct sxp_node *n)
{
	if (!n || n->type != SXP_LIST || !n->kids || n->kids->type != SXP_ATOM || n->kids->quoted)
		return NULL;
	return n->kids->atom;
}

const struct sxp_node *sxp_find(const struct sxp_node *list, const char *key)
{
	for (const struct sxp_node *n = list->kids; n; n = n->next) {
		const char *k = sxp_key(n);
		if (k && strcmp(k, key) == 0)
			return n;
	}
	return NULL;
}

/* Whether `key` is allowed, and whether it may repeat ("name*"). */
static bool key_allowed(const char *const allowed[], const char *key, bool *repeat)
{
	for (size_t i = 0; allowed[i]; i++) {
		size_t n = strlen(allowed[i]);
		*repeat = n > 0 && allowed[i][n - 1] == '*';
		if (*repeat)
			n--;
		if (strncmp(allowed[i], key, n) == 0 && key[n] == '\0')
			return true;
	}
	return false;
}

int sxp_check_keys(const struct sxp_node *list, size_t skip, const char *const allowed[],
		   struct sxp_error *err)
{
	const struct sxp_node *n = list->kids;

	for (size_t i = 0; n && i < skip; i++)
		n = n->next;
	for (; n; n = n->next) {
		const char *key = sxp_key(n);
		bool repeat;
		if (!key && n->type == SXP_ATOM)
			return sxp_errorf(err, n, "expected (key value), found '%s'", n->atom);
		if (!key)
			return sxp_errorf(err, n,
					  "expected (key value), found a list without a key");
		if (!key_allowed(allowed, key, &repeat))
			return sxp_errorf(err, n, "unknown key '%s'", key);
		const struct sxp_node *first = sxp_find(list, key);
		if (!repeat && first != n)
			return sxp_errorf(err, n, "duplicate key '%s' (first at line %u col %u)",
					  key, first->line, first->col);
	}
	return 0;
}

/* The single atom of (key atom) in list, or an error naming key. */
static int get_atom(const struct sxp_node *list, const char *key, const struct sxp_node **atom,
		    struct sxp_error *err)
{
	const struct sxp_node *n = sxp_find(list, key);

	if (!n) {
		sxp_errorf(err, list, "missing key '%s'", key);
		return -ENOENT;
	}
	if (n->nkids != 2)
		return sxp_errorf(err, n, "'%s' takes exactly one value, found %zu", key,
				  n->nkids - 1);
	if (n->kids->next->type != SXP_ATOM)
		return sxp_errorf(err, n->kids->next, "'%s': expected a value, found a list", key);
	*atom = n->kids->next;
	return 0;
}

int sxp_get_str(const struct sxp_node *list, const char *key, const char **out,
		struct sxp_error *err)
{
	const struct sxp_node *a = NULL;
	int r = get_atom(list, key, &a, err);

	if (r == 0)
		*out = a->atom;
	return r;
}

int sxp_get_log_level(const struct sxp_node *list, const char *key, enum log_level *out,
		      struct sxp_error *err)
{
	const char *s = NULL;
	int rc = sxp_get_str(list, key, &s, err);

	if (rc < 0)
		return rc;
	if (log_level_parse(s, out) < 0)
		return sxp_errorf(err, sxp_find(list, key),
				  "%s: '%s' is not error, warn, info or debug", key, s);
	return 0;
}

int sxp_get_path_opt(const struct sxp_node *list, const char *key, char *out, size_t cap,
		     struct sxp_error *err)
{
	const char *s = NULL;
	int rc = sxp_get_str(list, key, &s, err);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (s[0] != '/')
		return sxp_errorf(err, sxp_find(list, key), "%s: '%s' is not an absolute path", key,
				  s);
	if (strlen(s) >= cap)
		return sxp_errorf(err, sxp_find(list, key), "%s: longer than %zu bytes", key,
				  cap - 1);
	strcpy(out, s);
	return 0;
}

/* "-"? decimal without leading zeros, or 0x and hex digits. */
static bool int_syntax(const char *s)
{
	if (strncmp(s, "0x", 2) == 0) {
		s += 2;
		if (!*s)
			return false;
		for (; *s; s++)
			if (!strchr("0123456789abcdefABCDEF", *s))
				return false;
		return true;
	}
	if (*s == '-')
		s++;
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int sxp_get_int(const struct sxp_node *list, const char *key, long long min, long long max,
		long long *out, struct sxp_error *err)
{
	const struct sxp_node *a = NULL;
	long long v;
	char *end;
	int r = get_atom(list, key, &a, err);

	if (r < 0)
		return r;
	if (!int_syntax(a->atom))
		return sxp_errorf(err, a, "'%s': '%s' is not an integer", key, a->atom);
	errno = 0;
	v = strtoll(a->atom, &end, strncmp(a->atom, "0x", 2) == 0 ? 16 : 10);
	if (errno == ERANGE || *end)
		return sxp_errorf(err, a, "'%s': '%s' is out of range %lld..%lld", key, a->atom,
				  min, max);
	if (v < min || v > max)
		return sxp_errorf(err, a, "'%s': %lld is out of range %lld..%lld", key, v, min,
				  max);
	*out = v;
	return 0;
}

int sxp_get_bool(const struct sxp_node *list, const char *key, bool *out, struct sxp_error *err)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	const struct sxp_node *a = NULL;
	int r = get_atom(list, key, &a, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(a->atom, yes[i]) == 0 || strcmp(a->atom, no[i]) == 0) {
			*out = strcmp(a->atom, yes[i]) == 0;
			return 0;
		}
	}
	return sxp_errorf(err, a, "'%s': '%s' is not yes or no", key, a->atom);
}

static bool needs_quotes(const char *atom)
{
	if (!*atom || *atom == '#')
		return true;
	for (const char *p = atom; *p; p++)
		if (is_delim((unsigned char)*p) || is_control((unsigned char)*p))
			return true;
	return false;
}

size_t sxp_atom_format(char *buf, size_t cap, const char *atom)
{
	size_t n = 0;

	if (!needs_quotes(atom))
		return (size_t)snprintf(buf, cap, "%s", atom);
#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (n + 1 < cap)                                                                   \
			buf[n] = (c);                                                              \
		n++;                                                                               \
	} while (0)
	PUT('"');
	for (const char *p = atom; *p; p++) {
		char c = *p;
		if (c == '\\' || c == '"' || c == '\n' || c == '\t') {
			PUT('\\');
			c = c == '\n' ? 'n' : c == '\t' ? 't' : c;
		}
		PUT(c);
	}
	PUT('"');
#undef PUT
	if (cap)
		buf[n < cap ? n : cap - 1] = '\0';
	return n;
}
