/*
 * One output path for `vn` text and --json (the iproute2 json_print idea):
 * a command prints each record through these calls once, and the writer
 * renders it either as a JSON array of objects or as one text line per
 * record ("vnet 97 bridge vnet97 ..."). Text uses `label`, JSON uses `key`.
 */
#ifndef TERN_VN_OUT_H
#define TERN_VN_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct vn_out {
	FILE *f;
	bool json;
	unsigned nobj;	 /* objects written so far */
	unsigned nfield; /* fields written in the current object */
	unsigned narr;	 /* items written in the current array field */
};

void vn_out_init(struct vn_out *o, FILE *f, bool json);
void vn_out_begin(struct vn_out *o); /* "[" */
void vn_out_end(struct vn_out *o);   /* "]\n" */
void vn_out_obj_begin(struct vn_out *o);
void vn_out_obj_end(struct vn_out *o);
/* label NULL prints only the value in text mode (first column). */
void vn_out_str(struct vn_out *o, const char *key, const char *label, const char *val);
void vn_out_u64(struct vn_out *o, const char *key, const char *label, uint64_t val);
void vn_out_bool(struct vn_out *o, const char *key, const char *label, bool val);
/* An array of strings: text prints "label a,b,c". */
void vn_out_arr_begin(struct vn_out *o, const char *key, const char *label);
void vn_out_arr_str(struct vn_out *o, const char *val);
void vn_out_arr_end(struct vn_out *o);

#endif
