/*
 * S-expression ("sxp") configuration files, the format of the Xen manual:
 *
 *     # a comment, to the end of the line
 *     (vnet (id 97) (bridge vnet97) (security conf)
 *           (key-file /etc/tern/vnet97.key))
 *     (port 1798)
 *     (relocation-hosts-allow '^localhost$ ^10\.97\..*$')
 *
 * A document is a sequence of expressions; an expression is an atom or a
 * parenthesised list. Atoms are bare words (any printable characters other
 * than blanks, parentheses and quotes; a '#' starts a comment only where a
 * token could start) or strings quoted with '...' or "...". Inside quotes
 * \\, \', \", \n and \t are escapes; any other backslash is kept as it is,
 * so regular expressions such as '10\.97' need no doubling. Control
 * characters other than blanks are refused everywhere.
 *
 * The parser builds a tree in which every node records its line and column
 * (both from 1), so errors read "file:line:col: reason". Depth, input size,
 * atom length and node count are bounded (SXP_MAX_*).
 *
 * Typical use: parse a file, then read `(key value)` pairs of a list (the
 * document itself for a daemon config, a `(vnet ...)` list for a vnet) with
 * sxp_check_keys and the sxp_get_* helpers, whose errors name the key.
 */
#ifndef TERN_SXP_H
#define TERN_SXP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define SXP_MAX_DEPTH 32
#define SXP_MAX_INPUT (1024u * 1024u)
#define SXP_MAX_ATOM 4096
#define SXP_MAX_NODES 65536

enum sxp_type { SXP_ATOM, SXP_LIST };

struct sxp_node {
	enum sxp_type type;
	unsigned line, col;    /* of the first character of the atom or '(' */
	const char *file;      /* name given to the parser; owned by the tree */
	char *atom;	       /* SXP_ATOM: NUL-terminated text, escapes applied */
	size_t atom_len;       /* SXP_ATOM: bytes before the NUL */
	bool quoted;	       /* SXP_ATOM: was written in quotes */
	struct sxp_node *kids; /* SXP_LIST: first element, or NULL if empty */
	size_t nkids;	       /* SXP_LIST: number of elements */
	struct sxp_node *next; /* next sibling in the enclosing list */
};

/* Where and why something went wrong; msg is "file:line:col: reason". */
struct sxp_error {
	unsigned line, col;
	char msg[256];
};

/* Parses `len` bytes of `text` (need not be NUL-terminated). `name` is used
 * in node positions and error messages (e.g. the file path). Returns the
 * document: an SXP_LIST at line 1 col 1 holding the top-level expressions.
 * On failure returns NULL with errno set (EINVAL syntax, E2BIG a limit,
 * ENOMEM) and *err filled (err may be NULL). */
struct sxp_node *sxp_parse(const char *name, const char *text, size_t len, struct sxp_error *err);

/* Reads and parses the file at `path` (at most SXP_MAX_INPUT bytes). Errors
 * as sxp_parse; a read failure gives "path: strerror" in err and errno. */
struct sxp_node *sxp_parse_file(const char *path, struct sxp_error *err);

/* Frees a tree returned by sxp_parse/sxp_parse_file. NULL is safe. */
void sxp_free(struct sxp_node *doc);

/* Fills *err with "file:line:col: " + the formatted reason, positioned at
 * `at` (which may be NULL: then no position). Always returns -EINVAL, so
 * that `return sxp_errorf(...)` reads naturally. err may be NULL. */
int sxp_errorf(struct sxp_error *err, const struct sxp_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The key of a list whose first element is a bare atom, e.g. "id" for
 * (id 97); NULL for anything else. */
const char *sxp_key(const struct sxp_node *n);

/* First element of `list` that is a list keyed `key`, or NULL. */
const struct sxp_node *sxp_find(const struct sxp_node *list, const char *key);

/* Checks that every element of `list` after the first `skip` elements is a
 * keyed list, that its key is in `allowed` (NULL-terminated) and that no
 * key appears twice. Returns 0 or -EINVAL with err naming the offending
 * key and its position ("...: unknown key 'colour'", "...: duplicate key
 * 'id' (first at line 1 col 7)"). */
int sxp_check_keys(const struct sxp_node *list, size_t skip, const char *const allowed[],
		   struct sxp_error *err);

/* Value readers for (key value) elements of `list`. Each returns 0 and
 * writes *out, -ENOENT if the key is absent (err then says "missing key
 * 'key'", out untouched), or -EINVAL if the element is not exactly
 * (key atom) or the atom is not a valid value; err names the key. */
int sxp_get_str(const struct sxp_node *list, const char *key, const char **out,
		struct sxp_error *err);
/* (key LEVEL): error, warn, info or debug, into *out. 0, -ENOENT if absent
 * (*out untouched), or -EINVAL with err naming the key and the value. */
int sxp_get_log_level(const struct sxp_node *list, const char *key, enum log_level *out,
		      struct sxp_error *err);
/* Optional (key /absolute/path) into out (cap bytes with the NUL): 0 with
 * out untouched if absent, 0 with out set, or -EINVAL with err naming the
 * key when it is not absolute or does not fit. */
int sxp_get_path_opt(const struct sxp_node *list, const char *key, char *out, size_t cap,
		     struct sxp_error *err);
/* Decimal integer (optionally 0x hex) within [min, max]. */
int sxp_get_int(const struct sxp_node *list, const char *key, long long min, long long max,
		long long *out, struct sxp_error *err);
/* yes/no, true/false, on/off, 1/0. */
int sxp_get_bool(const struct sxp_node *list, const char *key, bool *out, struct sxp_error *err);

/* Writes `atom` as it must appear in an sxp file: bare if it can be read
 * back bare, otherwise in double quotes with escapes. Returns the length
 * it needs (excluding NUL) like snprintf; output is truncated to cap. */
size_t sxp_atom_format(char *buf, size_t cap, const char *atom);

#endif
