/*
 * Device state in the stream: the plug-in point between a device and the
 * save/migration stream (docs/stream.md, DEVICE records).
 *
 * Each device that has state to move (clock, console, the network device)
 * describes itself with one `const struct hv_dev_ops` and the vmm lists
 * them, with their instances, in an explicit array of struct hv_stream_dev
 * (vmm_dev.c). The stream code never names a device: it writes a DEVICE
 * record {kind, size, state} per entry, and on load finds the entry by
 * kind, checks the size against ops->size and hands the state to
 * ops->load. A kind that is not in the array is refused; a required device
 * that never came is refused at END. Records may come in any order.
 */
#ifndef HV_DEV_H
#define HV_DEV_H

#include <stddef.h>
#include <stdint.h>

/* Largest state a device may carry (the reader's length limit). */
#define HV_DEV_STATE_MAX 256u
/* Most devices one stream may name (they are tracked in a bitmask). */
#define HV_DEV_MAX 32u

struct hv_dev_ops {
	uint32_t kind;	  /* the DEVICE record's kind; numbers in docs/stream.md */
	const char *name; /* "clock": names the device in messages */
	uint32_t size;	  /* exact state size, at most HV_DEV_STATE_MAX */
	int required;	  /* a stream without this device is refused */
	/* Writes the state (size bytes, little-endian) of the stopped device
	 * into buf. 0 or -errno. */
	int (*save)(void *ctx, void *buf);
	/* Checks a state record (size bytes, any alignment) and stages it in
	 * ctx; the caller applies it only once the whole stream verified.
	 * 0, or -EBADMSG with a reason in why (no prefix: the stream code
	 * names the record and its offset). */
	int (*load)(void *ctx, const void *buf, char *why, size_t whylen);
};

/* One device instance: its ops and the object they act on. */
struct hv_stream_dev {
	const struct hv_dev_ops *ops;
	void *ctx;
};

#endif
