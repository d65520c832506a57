/*
 * One output path for a CLI's text and --json (the iproute2 json_print
 * idea; `vn` today, `vm` next): a command prints each record through these
 * calls once, and the writer renders it either as a JSON array of objects
 * or as one text line per record ("vnet 97 bridge vnet97 ..."). Text uses
 * `label`, JSON uses `key`; JSON strings are escaped by json.h.
 */
#ifndef TERN_OUT_H
#define TERN_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out {
	FILE *f;
	bool json;
	unsigned nobj;	 /* objects written so far */
	unsigned nfield; /* fields written in the current object */
	unsigned narr;	 /* items written in the current array field */
};

void out_init(struct out *o, FILE *f, bool json);
void out_begin(struct out *o); /* "[" */
void out_end(struct out *o);   /* "]\n" */
void out_obj_begin(struct out *o);
void out_obj_end(struct out *o);
/* label NULL prints only the value in text mode (first column). */
void out_str(struct out *o, const char *key, const char *label, const char *val);
void out_u64(struct out *o, const char *key, const char *label, uint64_t val);
void out_bool(struct out *o, const char *key, const char *label, bool val);
/* An array of strings: text prints "label a,b,c". */
void out_arr_begin(struct out *o, const char *key, const char *label);
void out_arr_str(struct out *o, const char *val);
void out_arr_end(struct out *o);

#endif
