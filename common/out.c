#include "out.h"

#include <inttypes.h>

#include "json.h"

void out_init(struct out *o, FILE *f, bool json)
{
	o->f = f;
	o->json = json;
	o->nobj = 0;
	o->nfield = 0;
	o->narr = 0;
}

void out_begin(struct out *o)
{
	if (o->json)
		fputc('[', o->f);
}

void out_end(struct out *o)
{
	if (o->json)
		fputs("]\n", o->f);
}

void out_obj_begin(struct out *o)
{
	if (o->json)
		fputs(o->nobj ? ",{" : "{", o->f);
	o->nobj++;
	o->nfield = 0;
}

void out_obj_end(struct out *o)
{
	fputs(o->json ? "}" : "\n", o->f);
}

/* Starts a field: JSON `,"key":`, text ` label `. */
static void out_key(struct out *o, const char *key, const char *label)
{
	if (o->json) {
		if (o->nfield)
			fputc(',', o->f);
		json_str_write(o->f, key);
		fputc(':', o->f);
	} else {
		if (o->nfield)
			fputc(' ', o->f);
		if (label)
			fprintf(o->f, "%s ", label);
	}
	o->nfield++;
}

void out_str(struct out *o, const char *key, const char *label, const char *val)
{
	out_key(o, key, label);
	if (o->json)
		json_str_write(o->f, val);
	else
		fputs(*val ? val : "-", o->f);
}

void out_u64(struct out *o, const char *key, const char *label, uint64_t val)
{
	out_key(o, key, label);
	fprintf(o->f, "%" PRIu64, val);
}

void out_bool(struct out *o, const char *key, const char *label, bool val)
{
	out_key(o, key, label);
	fputs(o->json ? (val ? "true" : "false") : (val ? "yes" : "no"), o->f);
}

void out_arr_begin(struct out *o, const char *key, const char *label)
{
	out_key(o, key, label);
	if (o->json)
		fputc('[', o->f);
	o->narr = 0;
}

void out_arr_str(struct out *o, const char *val)
{
	if (o->narr++)
		fputc(',', o->f);
	if (o->json)
		json_str_write(o->f, val);
	else
		fputs(val, o->f);
}

void out_arr_end(struct out *o)
{
	if (o->json)
		fputc(']', o->f);
	else if (o->narr == 0)
		fputc('-', o->f);
}
