#include "hv_domcfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define HV_DOMCFG_FILE_MAX (64u * 1024u)
#define HV_DOMCFG_LIST_MAX (TERN_NET_MAX + 1) /* one more, to report "too many" */

enum hv_tok { T_EOF, T_NL, T_WORD, T_STR, T_EQ, T_LB, T_RB, T_COMMA };
enum hv_val_kind { V_WORD, V_STR, V_LIST };

struct hv_lex {
	const char *p, *end;
	unsigned line;
	const char *src;
	char *err;
	size_t errlen;
	char tok[TERN_CMDLINE_MAX];
};

struct hv_val {
	enum hv_val_kind kind;
	char text[TERN_CMDLINE_MAX];
	unsigned n;
	char item[HV_DOMCFG_LIST_MAX][HV_DOMCFG_VIF_TEXT_MAX + 1];
};

/* Where an error is: "file:line: key: " or "command line: key: ". */
struct hv_where {
	const char *src;
	unsigned line; /* 0: no line (command line) */
	const char *key;
	char *err;
	size_t errlen;
};

static int hv_fail(const struct hv_where *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int hv_fail(const struct hv_where *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->line)
		n = snprintf(w->err, w->errlen, "%s:%u: ", w->src, w->line);
	else
		n = snprintf(w->err, w->errlen, "%s: ", w->src);
	if (w->key && n >= 0 && (size_t)n < w->errlen)
		n += snprintf(w->err + n, w->errlen - (size_t)n, "%s: ", w->key);
	if (n >= 0 && (size_t)n < w->errlen) {
		va_start(ap, fmt);
		vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int hv_lex_fail(struct hv_lex *lx, const char *what)
{
	struct hv_where w = {lx->src, lx->line, NULL, lx->err, lx->errlen};

	return hv_fail(&w, "%s", what);
}

static int hv_lex_string(struct hv_lex *lx)
{
	char q = *lx->p++;
	size_t n = 0;

	while (lx->p < lx->end && *lx->p != q) {
		char c = *lx->p++;
		if (c == '\n' || c == '\0')
			return hv_lex_fail(lx, "unterminated string");
		if (c == '\\') {
			if (lx->p >= lx->end || !strchr("\\\"'", *lx->p))
				return hv_lex_fail(
				    lx,
				    "bad escape in string (only \\\\, \\\" and \\' are allowed)");
			c = *lx->p++;
		}
		if (n + 1 >= sizeof(lx->tok))
			return hv_lex_fail(lx, "string too long");
		lx->tok[n++] = c;
	}
	if (lx->p >= lx->end)
		return hv_lex_fail(lx, "unterminated string");
	lx->p++;
	lx->tok[n] = '\0';
	return T_STR;
}

static int hv_lex_word(struct hv_lex *lx)
{
	size_t n = 0;

	while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || strchr("_.-:/+", *lx->p))) {
		if (n + 1 >= sizeof(lx->tok))
			return hv_lex_fail(lx, "word too long");
		lx->tok[n++] = *lx->p++;
	}
	lx->tok[n] = '\0';
	return T_WORD;
}

/* Next token; negative on a lexical error. */
static int hv_lex_next(struct hv_lex *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r') {
			lx->p++;
		} else if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else {
			break;
		}
	}
	if (lx->p >= lx->end)
		return T_EOF;
	char c = *lx->p;
	switch (c) {
	case '\n':
		lx->p++;
		return T_NL;
	case '=':
		lx->p++;
		return T_EQ;
	case '[':
		lx->p++;
		return T_LB;
	case ']':
		lx->p++;
		return T_RB;
	case ',':
		lx->p++;
		return T_COMMA;
	case ';': /* xl allows ';' between settings */
		lx->p++;
		return T_NL;
	case '"':
	case '\'':
		return hv_lex_string(lx);
	}
	if (isalnum((unsigned char)c) || strchr("_.-:/+", c))
		return hv_lex_word(lx);
	char what[64];
	snprintf(what, sizeof(what),
		 isprint((unsigned char)c) ? "unexpected character '%c'" : "unexpected byte 0x%02x",
		 isprint((unsigned char)c) ? c : (unsigned char)c);
	return hv_lex_fail(lx, what);
}

/* Skips newlines inside a list, where xl lets it span lines. */
static int hv_lex_next_in_list(struct hv_lex *lx)
{
	int t;

	while ((t = hv_lex_next(lx)) == T_NL)
		lx->line++;
	return t;
}

static int hv_parse_list(struct hv_lex *lx, struct hv_val *v)
{
	int t = hv_lex_next_in_list(lx);

	v->kind = V_LIST;
	v->n = 0;
	while (t != T_RB) {
		if (t < 0)
			return t;
		if (t != T_STR)
			return hv_lex_fail(lx, "list entries must be quoted strings");
		if (v->n == HV_DOMCFG_LIST_MAX)
			return hv_lex_fail(lx, "too many list entries");
		if (strlen(lx->tok) > HV_DOMCFG_VIF_TEXT_MAX)
			return hv_lex_fail(lx, "list entry too long");
		strcpy(v->item[v->n++], lx->tok);
		t = hv_lex_next_in_list(lx);
		if (t == T_COMMA)
			t = hv_lex_next_in_list(lx);
		else if (t != T_RB && t >= 0)
			return hv_lex_fail(lx, "expected ',' or ']' in list");
	}
	return 0;
}

static int hv_parse_value(struct hv_lex *lx, struct hv_val *v)
{
	int t = hv_lex_next(lx);

	if (t < 0)
		return t;
	if (t == T_LB)
		return hv_parse_list(lx, v);
	if (t != T_STR && t != T_WORD)
		return hv_lex_fail(lx, "expected a value after '='");
	v->kind = t == T_STR ? V_STR : V_WORD;
	snprintf(v->text, sizeof(v->text), "%s", lx->tok);
	return 0;
}

/* --- Applying one key. --- */

static int hv_get_string(const struct hv_where *w, const struct hv_val *v, char *dst, size_t cap,
			 int bare_ok)
{
	if (v->kind == V_LIST)
		return hv_fail(w, "expected a string, got a list");
	if (v->kind == V_WORD && !bare_ok)
		return hv_fail(w, "expected a quoted string, got '%s'", v->text);
	if (strlen(v->text) >= cap)
		return hv_fail(w, "too long (at most %zu characters)", cap - 1);
	strcpy(dst, v->text);
	return 0;
}

static int hv_get_number(const struct hv_where *w, const struct hv_val *v, uint32_t lo, uint32_t hi,
			 uint32_t *out)
{
	unsigned long long n = 0;

	if (v->kind == V_LIST)
		return hv_fail(w, "expected a number, got a list");
	if (v->text[0] == '\0' || strlen(v->text) > 10)
		return hv_fail(w, "not a number: '%s'", v->text);
	for (const char *p = v->text; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return hv_fail(w, "not a number: '%s'", v->text);
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (n < lo || n > hi)
		return hv_fail(w, "%llu out of range (%u..%u)", n, lo, hi);
	*out = (uint32_t)n;
	return 0;
}

static int hv_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[3 * i]) || !isxdigit((unsigned char)s[3 * i + 1]))
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	/* A guest NIC needs a unicast address. */
	return (mac[0] & 1) ? -EINVAL : 0;
}

static int hv_vif_item(const struct hv_where *w, unsigned idx, char *s, struct hv_vif *vif)
{
	char *save = NULL;

	for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		while (*kv == ' ' || *kv == '\t')
			kv++;
		char *e = kv + strlen(kv);
		while (e > kv && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		char *eq = strchr(kv, '=');
		if (!eq)
			return hv_fail(w, "entry %u: expected key=value, got '%s'", idx, kv);
		*eq = '\0';
		const char *val = eq + 1;
		if (strcmp(kv, "mac") == 0) {
			if (vif->has_mac || hv_parse_mac(val, vif->mac) < 0)
				return hv_fail(
				    w, "entry %u: mac: %s '%s'", idx,
				    vif->has_mac ? "given twice:" : "bad unicast MAC address", val);
			vif->has_mac = 1;
		} else if (strcmp(kv, "bridge") == 0) {
			size_t n = strlen(val);
			if (vif->bridge[0] || n == 0 || n > HV_DOMCFG_BRIDGE_MAX ||
			    strpbrk(val, " /:"))
				return hv_fail(
				    w, "entry %u: bridge: %s '%s'", idx,
				    vif->bridge[0] ? "given twice:" : "bad interface name", val);
			strcpy(vif->bridge, val);
		} else {
			return hv_fail(w, "entry %u: unknown key '%s'", idx, kv);
		}
	}
	return 0;
}

static int hv_set_vif(struct hv_domcfg *cfg, const struct hv_where *w, const struct hv_val *v)
{
	struct hv_vif vifs[TERN_NET_MAX];
	char tmp[HV_DOMCFG_VIF_TEXT_MAX + 1];
	int rc;

	if (v->kind != V_LIST)
		return hv_fail(w, "expected a list [ '...', ... ]");
	if (v->n > TERN_NET_MAX)
		return hv_fail(w, "at most %u interfaces", TERN_NET_MAX);
	memset(vifs, 0, sizeof(vifs));
	for (unsigned i = 0; i < v->n; i++) {
		strcpy(tmp, v->item[i]);
		if ((rc = hv_vif_item(w, i, tmp, &vifs[i])) < 0)
			return rc;
		if (!vifs[i].bridge[0])
			return hv_fail(w, "entry %u: bridge missing", i);
		strcpy(vifs[i].text, v->item[i]);
	}
	memcpy(cfg->vif, vifs, sizeof(vifs));
	cfg->nvifs = v->n;
	return 0;
}

static int hv_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

/* Sets one key; on error cfg is left exactly as it was. */
static int hv_apply(struct hv_domcfg *cfg, const struct hv_where *w, const struct hv_val *v,
		    int bare_ok, unsigned *bit)
{
	const char *key = w->key;
	char tmp[HV_DOMCFG_PATH_MAX + 1];
	uint32_t n;
	int rc;

	*bit = 0;
	if (strcmp(key, "name") == 0) {
		*bit = HV_DOMCFG_HAS_NAME;
		if ((rc = hv_get_string(w, v, tmp, sizeof(cfg->name), bare_ok)) < 0)
			return rc;
		if (!hv_name_ok(tmp))
			return hv_fail(w, "bad name '%s' (use letters, digits, '_', '.', '-')",
				       tmp);
		strcpy(cfg->name, tmp);
		return 0;
	}
	if (strcmp(key, "kernel") == 0) {
		*bit = HV_DOMCFG_HAS_KERNEL;
		if ((rc = hv_get_string(w, v, tmp, sizeof(cfg->kernel), bare_ok)) < 0)
			return rc;
		if (!tmp[0])
			return hv_fail(w, "empty path");
		strcpy(cfg->kernel, tmp);
		return 0;
	}
	if (strcmp(key, "memory") == 0) {
		*bit = HV_DOMCFG_HAS_MEMORY;
		if ((rc = hv_get_number(w, v, HV_DOMCFG_MEM_MIN, HV_DOMCFG_MEM_MAX, &n)) < 0)
			return rc;
		if (n % 2)
			return hv_fail(w, "%u is not a multiple of 2 MiB", n);
		cfg->memory_mib = n;
		return 0;
	}
	if (strcmp(key, "vcpus") == 0) {
		*bit = HV_DOMCFG_HAS_VCPUS;
		return hv_get_number(w, v, 1, HV_DOMCFG_VCPU_MAX, &cfg->vcpus);
	}
	if (strcmp(key, "vif") == 0) {
		*bit = HV_DOMCFG_HAS_VIF;
		return hv_set_vif(cfg, w, v);
	}
	if (strcmp(key, "extra") == 0) {
		*bit = HV_DOMCFG_HAS_EXTRA;
		return hv_get_string(w, v, cfg->extra, sizeof(cfg->extra), bare_ok);
	}
	if (strcmp(key, "on_crash") == 0) {
		*bit = HV_DOMCFG_HAS_ON_CRASH;
		if (v->kind == V_LIST || (v->kind == V_WORD && !bare_ok))
			return hv_fail(w, "must be \"destroy\" or \"preserve\"");
		if (strcmp(v->text, "destroy") == 0)
			cfg->on_crash = HV_ON_CRASH_DESTROY;
		else if (strcmp(v->text, "preserve") == 0)
			cfg->on_crash = HV_ON_CRASH_PRESERVE;
		else
			return hv_fail(w, "must be \"destroy\" or \"preserve\"");
		return 0;
	}
	return hv_fail(w, "unknown key");
}

void hv_domcfg_init(struct hv_domcfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_mib = 128;
	cfg->vcpus = 1;
	cfg->on_crash = HV_ON_CRASH_DESTROY;
}

/* One "key = value" statement; the key token has been read. */
static int hv_parse_stmt(struct hv_domcfg *cfg, struct hv_lex *lx, struct hv_val *v)
{
	char key[32];
	struct hv_where w = {lx->src, lx->line, NULL, lx->err, lx->errlen};
	unsigned bit;
	int t, rc;

	if (strlen(lx->tok) >= sizeof(key))
		return hv_fail(&w, "unknown key '%.31s...'", lx->tok);
	strcpy(key, lx->tok);
	w.key = key;
	if ((t = hv_lex_next(lx)) != T_EQ)
		return t < 0 ? t : hv_fail(&w, "expected '=' after the key");
	if ((rc = hv_parse_value(lx, v)) < 0)
		return rc;
	w.line = lx->line;
	if ((rc = hv_apply(cfg, &w, v, 0, &bit)) < 0)
		return rc;
	if (cfg->has & bit)
		return hv_fail(&w, "duplicate key");
	cfg->has |= bit;
	t = hv_lex_next(lx);
	if (t != T_NL && t != T_EOF)
		return t < 0 ? t : hv_fail(&w, "unexpected text after the value");
	if (t == T_NL)
		lx->line++;
	return 0;
}

int hv_domcfg_parse(struct hv_domcfg *cfg, const char *text, size_t len, const char *source,
		    char *err, size_t errlen)
{
	struct hv_lex *lx = calloc(1, sizeof(*lx));
	struct hv_val *v = calloc(1, sizeof(*v));
	int t, rc = 0;

	if (!lx || !v) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", source);
		goto out;
	}
	*lx = (struct hv_lex){
	    .p = text, .end = text + len, .line = 1, .src = source, .err = err, .errlen = errlen};
	while ((t = hv_lex_next(lx)) != T_EOF) {
		if (t < 0) {
			rc = t;
			break;
		}
		if (t == T_NL) {
			lx->line++;
			continue;
		}
		if (t != T_WORD) {
			rc = hv_lex_fail(lx, "expected a key");
			break;
		}
		if ((rc = hv_parse_stmt(cfg, lx, v)) < 0)
			break;
	}
out:
	free(lx);
	free(v);
	return rc;
}

int hv_domcfg_parse_file(struct hv_domcfg *cfg, const char *path, char *err, size_t errlen)
{
	char *buf = malloc(HV_DOMCFG_FILE_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0 || !buf) {
		rc = fd < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	while (len <= HV_DOMCFG_FILE_MAX &&
	       (n = read(fd, buf + len, HV_DOMCFG_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len > HV_DOMCFG_FILE_MAX) {
		rc = n < 0 ? -errno : -EFBIG;
		snprintf(err, errlen, "%s: %s", path,
			 n < 0 ? strerror(errno) : "larger than 64 KiB");
		goto out;
	}
	rc = hv_domcfg_parse(cfg, buf, len, path, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int hv_domcfg_override(struct hv_domcfg *cfg, const char *kv, char *err, size_t errlen)
{
	struct hv_where w = {"command line", 0, NULL, err, errlen};
	const char *eq = strchr(kv, '=');
	char key[32];
	unsigned bit;
	int rc;

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return hv_fail(&w, "expected key=value, got '%s'", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	w.key = key;
	struct hv_val *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	const char *val = eq + 1;
	if (val[0] == '"' || val[0] == '\'' || val[0] == '[') {
		struct hv_lex *lx = calloc(1, sizeof(*lx));
		rc = lx ? 0 : -ENOMEM;
		if (lx) {
			*lx = (struct hv_lex){.p = val,
					      .end = val + strlen(val),
					      .line = 0,
					      .src = "command line",
					      .err = err,
					      .errlen = errlen};
			rc = hv_parse_value(lx, v);
			if (rc == 0 && hv_lex_next(lx) != T_EOF)
				rc = hv_fail(&w, "unexpected text after the value");
			free(lx);
		}
	} else {
		v->kind = V_WORD;
		rc = strlen(val) < sizeof(v->text) ? 0 : hv_fail(&w, "value too long");
		if (rc == 0)
			strcpy(v->text, val);
	}
	if (rc == 0)
		rc = hv_apply(cfg, &w, v, 1, &bit);
	if (rc == 0 && (cfg->overridden & bit))
		rc = hv_fail(&w, "given twice on the command line");
	if (rc == 0)
		cfg->overridden |= bit;
	free(v);
	return rc;
}

int hv_domcfg_check(const struct hv_domcfg *cfg, const char *source, char *err, size_t errlen)
{
	unsigned has = cfg->has | cfg->overridden;

	if (!(has & HV_DOMCFG_HAS_NAME)) {
		snprintf(err, errlen, "%s: missing required key 'name'", source);
		return -EINVAL;
	}
	if (!(has & HV_DOMCFG_HAS_KERNEL)) {
		snprintf(err, errlen, "%s: missing required key 'kernel'", source);
		return -EINVAL;
	}
	return 0;
}

int hv_domcfg_fill_macs(struct hv_domcfg *cfg)
{
	for (unsigned i = 0; i < cfg->nvifs; i++) {
		struct hv_vif *v = &cfg->vif[i];
		if (v->has_mac)
			continue;
		uint8_t r[3];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		v->mac[0] = 0x00, v->mac[1] = 0x16, v->mac[2] = 0x3e;
		v->mac[3] = r[0] & 0x7f, v->mac[4] = r[1], v->mac[5] = r[2];
		v->has_mac = 1;
		snprintf(v->text, sizeof(v->text), "mac=00:16:3e:%02x:%02x:%02x, bridge=%s",
			 v->mac[3], v->mac[4], v->mac[5], v->bridge);
	}
	return 0;
}

/* Quotes a string for the file format: only \\ and \" need escapes. Every
 * write is checked against room for what must still follow it: the closing
 * quote and the NUL. */
static int hv_fmt_str(char *buf, size_t cap, size_t *off, const char *s)
{
	if (*off + 3 > cap) /* '"' '"' NUL */
		return -ENOSPC;
	buf[(*off)++] = '"';
	for (; *s; s++) {
		int esc = *s == '\\' || *s == '"';

		if (*off + (size_t)esc + 3 > cap) /* [\\] c '"' NUL */
			return -ENOSPC;
		if (esc)
			buf[(*off)++] = '\\';
		buf[(*off)++] = *s;
	}
	buf[(*off)++] = '"';
	buf[*off] = '\0';
	return 0;
}

static int hv_fmt(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int hv_fmt(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *off)
		return -ENOSPC;
	*off += (size_t)n;
	return 0;
}

int hv_domcfg_format(const struct hv_domcfg *cfg, char *buf, size_t cap)
{
	size_t off = 0;
	int rc = 0;

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	/* name and kernel are absent rather than empty when never given. */
	if (cfg->name[0]) {
		rc |= hv_fmt(buf, cap, &off, "name = ");
		rc |= hv_fmt_str(buf, cap, &off, cfg->name);
		rc |= hv_fmt(buf, cap, &off, "\n");
	}
	if (cfg->kernel[0]) {
		rc |= hv_fmt(buf, cap, &off, "kernel = ");
		rc |= hv_fmt_str(buf, cap, &off, cfg->kernel);
		rc |= hv_fmt(buf, cap, &off, "\n");
	}
	rc |=
	    hv_fmt(buf, cap, &off, "memory = %u\nvcpus = %u\nvif = [", cfg->memory_mib, cfg->vcpus);
	for (unsigned i = 0; i < cfg->nvifs && rc == 0; i++) {
		rc |= hv_fmt(buf, cap, &off, "%s", i ? ", " : " ");
		rc |= hv_fmt_str(buf, cap, &off, cfg->vif[i].text);
	}
	rc |= hv_fmt(buf, cap, &off, "%s]\nextra = ", cfg->nvifs ? " " : "");
	rc |= hv_fmt_str(buf, cap, &off, cfg->extra);
	rc |= hv_fmt(buf, cap, &off, "\non_crash = \"%s\"\n",
		     cfg->on_crash == HV_ON_CRASH_PRESERVE ? "preserve" : "destroy");
	return rc ? -ENOSPC : (int)off;
}
