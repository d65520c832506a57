#include "vn_out.h"

#include <inttypes.h>

void vn_out_init(struct vn_out *o, FILE *f, bool json)
{
	o->f = f;
	o->json = json;
	o->nobj = 0;
	o->nfield = 0;
	o->narr = 0;
}

void vn_out_begin(struct vn_out *o)
{
	if (o->json)
		fputc('[', o->f);
}

void vn_out_end(struct vn_out *o)
{
	if (o->json)
		fputs("]\n", o->f);
}

void vn_out_obj_begin(struct vn_out *o)
{
	if (o->json)
		fputs(o->nobj ? ",{" : "{", o->f);
	o->nobj++;
	o->nfield = 0;
}

void vn_out_obj_end(struct vn_out *o)
{
	fputs(o->json ? "}" : "\n", o->f);
}

/* JSON string with the escapes RFC 8259 requires; our strings are names,
 * addresses and hex, but a host name comes from a user. */
static void vn_out_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Starts a field: JSON `,"key":`, text ` label `. */
static void vn_out_key(struct vn_out *o, const char *key, const char *label)
{
	if (o->json) {
		if (o->nfield)
			fputc(',', o->f);
		vn_out_json_str(o->f, key);
		fputc(':', o->f);
	} else {
		if (o->nfield)
			fputc(' ', o->f);
		if (label)
			fprintf(o->f, "%s ", label);
	}
	o->nfield++;
}

void vn_out_str(struct vn_out *o, const char *key, const char *label, const char *val)
{
	vn_out_key(o, key, label);
	if (o->json)
		vn_out_json_str(o->f, val);
	else
		fputs(*val ? val : "-", o->f);
}

void vn_out_u64(struct vn_out *o, const char *key, const char *label, uint64_t val)
{
	vn_out_key(o, key, label);
	fprintf(o->f, "%" PRIu64, val);
}

void vn_out_bool(struct vn_out *o, const char *key, const char *label, bool val)
{
	vn_out_key(o, key, label);
	fputs(o->json ? (val ? "true" : "false") : (val ? "yes" : "no"), o->f);
}

void vn_out_arr_begin(struct vn_out *o, const char *key, const char *label)
{
	vn_out_key(o, key, label);
	if (o->json)
		fputc('[', o->f);
	o->narr = 0;
}

void vn_out_arr_str(struct vn_out *o, const char *val)
{
	if (o->narr++)
		fputc(',', o->f);
	if (o->json)
		vn_out_json_str(o->f, val);
	else
		fputs(val, o->f);
}

void vn_out_arr_end(struct vn_out *o)
{
	if (o->json)
		fputc(']', o->f);
	else if (o->narr == 0)
		fputc('-', o->f);
}
