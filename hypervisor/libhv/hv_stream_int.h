/* Inside libhv's stream code: the record loaders the file loader
 * (hv_stream_load.c) and the live loader (hv_stream_live_in.c) share. */
#ifndef HV_STREAM_INT_H
#define HV_STREAM_INT_H

#include "hv_stream.h"

/* VCPU: checked, each index once, staged in st->vcpu. */
int hv_stream_load_vcpu(const void *p, uint32_t len, uint64_t off, struct hv_stream_state *st,
			char *err, size_t errlen);
/* DEVICE: checked and staged by the device's ops. */
int hv_stream_load_device(const void *p, uint32_t len, uint64_t off, struct hv_stream_state *st,
			  const struct hv_stream_dev *devs, unsigned ndevs, char *err,
			  size_t errlen);
/* The first required device of devs that did not come, or NULL. */
const char *hv_stream_load_missing(const struct hv_stream_state *st,
				   const struct hv_stream_dev *devs, unsigned ndevs);
/* The first 8 bytes of md as 16 hex digits + NUL. */
void hv_stream_hex8(const uint8_t *md, char *out);

#endif
