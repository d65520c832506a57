/*
 * Guest time: the clock page of abi.h and the guest TSC behind it.
 *
 * Guests compute monotonic time from rdtsc and the clock page without any
 * exit. The vmm writes the page at boot (hv_clock_init) and again every time
 * the guest resumes on a different VM (restore, migration: hv_clock_resume),
 * rebasing it on the destination's TSC so that monotonic time continues from
 * the value it had when the source stopped (the stopped interval does not
 * count, as for a suspended machine), wall time is right, and `resumes`
 * tells the guest it moved. This works whatever the destination's TSC reads,
 * so setting the guest TSC (hv_clock_set_guest_tsc) is best effort only.
 */
#ifndef HV_CLOCK_H
#define HV_CLOCK_H

#include <stdint.h>

#include <tern/abi.h>

#include "hv_dev.h"

struct hv_vcpu;

/* Current guest TSC. Tries KVM_GET_MSRS(IA32_TSC), then the
 * KVM_VCPU_TSC_OFFSET attribute plus the host TSC, then the host TSC (the
 * guest TSC equals the host's when KVM applies no offset). Returns 0. */
int hv_clock_guest_tsc(struct hv_vcpu *vcpu, uint64_t *tsc);
/* Tries to make the guest TSC read `tsc` now (TSC offset attribute, else
 * the TSC MSR). Returns 0 also where KVM ignores it (see above). */
int hv_clock_set_guest_tsc(struct hv_vcpu *vcpu, uint64_t tsc);
/* TSC frequency KVM gives the guest, in kHz; 0 if unknown. */
uint32_t hv_clock_tsc_khz(struct hv_vcpu *vcpu);
/* Host CLOCK_REALTIME in ns. */
int64_t hv_clock_wall_ns(void);

/* Fills a fresh clock page: monotonic 0 at guest TSC `tsc_now`. */
void hv_clock_init(struct tern_clock_page *cp, uint32_t tsc_khz, uint64_t tsc_now, int64_t wall_ns);
/* Guest monotonic ns the page gives for guest TSC `tsc`. */
uint64_t hv_clock_mono(const struct tern_clock_page *cp, uint64_t tsc);
/* Rebases the page after a move: monotonic `mono_ns` at guest TSC `tsc_now`
 * on a TSC of `tsc_khz`, wall time `wall_ns` now; increments `resumes`.
 * The guest must be stopped. */
void hv_clock_resume(struct tern_clock_page *cp, uint64_t mono_ns, uint64_t tsc_now,
		     uint32_t tsc_khz, int64_t wall_ns);

/*
 * The clock as a device of the stream (hv_dev.h), kind HV_CLOCK_DEV_KIND,
 * required: guest time when the source stopped.
 */
#define HV_CLOCK_DEV_KIND 1u

struct hv_clock_state {
	uint64_t mono_ns; /* guest monotonic time at stop */
	int64_t wall_ns;  /* host wall time at stop */
	uint32_t tsc_khz; /* source guest TSC frequency, not 0 */
	uint32_t resumes; /* clock page resume count at stop */
};

/* The ctx of hv_clock_dev_ops. Save reads page, tsc_khz and tsc_stop (the
 * guest TSC when the vCPUs stopped, set by the saver); load stages the
 * record in `loaded` and sets `have`; the caller applies it with
 * hv_clock_resume once the stream verified. */
struct hv_clock_dev {
	const struct tern_clock_page *page;
	uint32_t tsc_khz;
	uint64_t tsc_stop;
	struct hv_clock_state loaded;
	int have;
};

extern const struct hv_dev_ops hv_clock_dev_ops;

#endif
