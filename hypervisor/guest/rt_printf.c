/*
 * printf for the guest: one formatter writing into a sink, used by both
 * rt_vsnprintf (a bounded buffer) and rt_vprintf (a console buffer that is
 * flushed when full and at the end, so one call is usually one console
 * write -- one exit under the vmm).
 */
#include "rt.h"

struct sink {
	char *buf;
	size_t size;  /* capacity of buf */
	size_t used;  /* bytes in buf */
	size_t total; /* bytes produced so far */
	int flush;    /* console sink: write out when full */
};

struct spec {
	int left; /* '-' */
	int zero; /* '0' */
	unsigned width;
	int prec; /* -1 when absent */
	int lng;  /* number of 'l' (z counts as one) */
};

static void sink_flush(struct sink *s)
{
	if (s->flush && s->used > 0)
		rt_console_write(s->buf, s->used);
	s->used = 0;
}

static void sink_putc(struct sink *s, char c)
{
	if (s->flush && s->used == s->size)
		sink_flush(s);
	if (s->used < s->size)
		s->buf[s->used++] = c;
	s->total++;
}

static void sink_pad(struct sink *s, char c, unsigned n)
{
	while (n-- > 0)
		sink_putc(s, c);
}

static void put_str(struct sink *s, const struct spec *sp, const char *str)
{
	size_t len;

	if (!str)
		str = "(null)";
	len = sp->prec >= 0 ? strnlen(str, (size_t)sp->prec) : strlen(str);
	if (!sp->left && sp->width > len)
		sink_pad(s, ' ', sp->width - (unsigned)len);
	for (size_t i = 0; i < len; i++)
		sink_putc(s, str[i]);
	if (sp->left && sp->width > len)
		sink_pad(s, ' ', sp->width - (unsigned)len);
}

static void put_num(struct sink *s, const struct spec *sp, uint64_t v, unsigned base, int neg,
		    int upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned n = 0, len, plen = (unsigned)strlen(prefix) + (neg ? 1 : 0);

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + plen;
	if (!sp->left && !sp->zero && sp->width > len)
		sink_pad(s, ' ', sp->width - len);
	if (neg)
		sink_putc(s, '-');
	while (*prefix)
		sink_putc(s, *prefix++);
	if (!sp->left && sp->zero && sp->width > len)
		sink_pad(s, '0', sp->width - len);
	while (n > 0)
		sink_putc(s, tmp[--n]);
	if (sp->left && sp->width > len)
		sink_pad(s, ' ', sp->width - len);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.prec = -1};
	for (;; f++) {
		if (*f == '-')
			sp->left = 1;
		else if (*f == '0')
			sp->zero = 1;
		else
			break;
	}
	for (; *f >= '0' && *f <= '9'; f++)
		sp->width = sp->width * 10 + (unsigned)(*f - '0');
	if (*f == '.') {
		f++;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		} else {
			for (sp->prec = 0; *f >= '0' && *f <= '9'; f++)
				sp->prec = sp->prec * 10 + (*f - '0');
		}
	}
	for (; *f == 'l' || *f == 'z'; f++)
		sp->lng++;
	return f;
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
	return sp->lng ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
	return sp->lng ? va_arg(*ap, long) : va_arg(*ap, int);
}

static void format_one(struct sink *s, const struct spec *sp, char conv, va_list *ap)
{
	int64_t sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = arg_signed(sp, ap);
		put_num(s, sp, sv < 0 ? 0 - (uint64_t)sv : (uint64_t)sv, 10, sv < 0, 0, "");
		break;
	case 'u':
		put_num(s, sp, arg_unsigned(sp, ap), 10, 0, 0, "");
		break;
	case 'x':
	case 'X':
		put_num(s, sp, arg_unsigned(sp, ap), 16, 0, conv == 'X', "");
		break;
	case 'p':
		put_num(s, sp, (uint64_t)(uintptr_t)va_arg(*ap, void *), 16, 0, 0, "0x");
		break;
	case 's':
		put_str(s, sp, va_arg(*ap, const char *));
		break;
	case 'c':
		sink_putc(s, (char)va_arg(*ap, int));
		break;
	default: /* '%' and anything unknown are printed as is */
		sink_putc(s, conv);
		break;
	}
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	struct spec sp;
	va_list aq;

	/* va_copy so the helpers can take a pointer to a real va_list object
	 * whatever va_list is on this ABI. */
	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			sink_putc(s, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &aq);
		if (!*fmt)
			break;
		format_one(s, &sp, *fmt++, &aq);
	}
	va_end(aq);
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {.buf = buf, .size = size ? size - 1 : 0};

	format(&s, fmt, ap);
	if (size)
		buf[s.used] = '\0';
	return (int)s.total;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* One console line's worth; longer output is flushed in pieces. */
static char printf_buf[512];

int rt_vprintf(const char *fmt, va_list ap)
{
	struct sink s = {.buf = printf_buf, .size = sizeof(printf_buf), .flush = 1};

	format(&s, fmt, ap);
	sink_flush(&s);
	return (int)s.total;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}
