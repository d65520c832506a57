#include "hv_clock.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <x86intrin.h>

#include "hv_vcpu.h"
#include "log.h"

#define HV_MSR_IA32_TSC 0x10u

/* One-entry KVM_GET/SET_MSRS buffer (kvm_msrs ends in a flexible array). */
union hv_tsc_msr {
	struct kvm_msrs hdr;
	uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

static int hv_clock_tsc_offset(struct hv_vcpu *vcpu, int64_t *off, int set)
{
	struct kvm_device_attr a = {
	    .group = KVM_VCPU_TSC_CTRL,
	    .attr = KVM_VCPU_TSC_OFFSET,
	    .addr = (uint64_t)(uintptr_t)off,
	};

	if (ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &a) < 0)
		return -errno;
	if (ioctl(vcpu->fd, set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &a) < 0)
		return -errno;
	return 0;
}

int hv_clock_guest_tsc(struct hv_vcpu *vcpu, uint64_t *tsc)
{
	union hv_tsc_msr m;
	int64_t off;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = HV_MSR_IA32_TSC;
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) == 1 && m.hdr.entries[0].data != 0) {
		*tsc = m.hdr.entries[0].data;
		log_debug("hv_clock: vcpu %u: guest TSC %llu from KVM_GET_MSRS", vcpu->index,
			  (unsigned long long)*tsc);
		return 0;
	}
	if (hv_clock_tsc_offset(vcpu, &off, 0) == 0) {
		*tsc = __rdtsc() + (uint64_t)off;
		log_debug("hv_clock: vcpu %u: guest TSC from the TSC offset %lld", vcpu->index,
			  (long long)off);
		return 0;
	}
	*tsc = __rdtsc();
	log_debug("hv_clock: vcpu %u: guest TSC taken as the host TSC", vcpu->index);
	return 0;
}

int hv_clock_set_guest_tsc(struct hv_vcpu *vcpu, uint64_t tsc)
{
	int64_t off = (int64_t)(tsc - __rdtsc());
	union hv_tsc_msr m;

	if (hv_clock_tsc_offset(vcpu, &off, 1) == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = HV_MSR_IA32_TSC;
	m.hdr.entries[0].data = tsc;
	if (ioctl(vcpu->fd, KVM_SET_MSRS, &m) != 1)
		log_debug("hv_clock: vcpu %u: cannot set the guest TSC", vcpu->index);
	return 0;
}

uint32_t hv_clock_tsc_khz(struct hv_vcpu *vcpu)
{
	int khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	return khz > 0 ? (uint32_t)khz : 0;
}

int64_t hv_clock_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t hv_clock_mul(uint32_t tsc_khz)
{
	/* ns per tick = 1e6 / kHz, in 32.32 fixed point. */
	return tsc_khz ? (1000000ull << 32) / tsc_khz : 0;
}

uint64_t hv_clock_mono(const struct tern_clock_page *cp, uint64_t tsc)
{
	unsigned __int128 d = (unsigned __int128)(tsc - cp->tsc_base) * cp->tsc_mul;

	if (tsc < cp->tsc_base)
		return cp->ns_base;
	return cp->ns_base + (uint64_t)(d >> 32);
}

/* Seqlock writer: odd version while the fields change. The guest is
 * stopped whenever we write, but a reader interrupted mid-read retries. */
static void hv_clock_write(struct tern_clock_page *cp, uint32_t tsc_khz, uint64_t tsc_base,
			   uint64_t ns_base, int64_t wall_ns, uint32_t resumes)
{
	uint32_t v = cp->version;

	__atomic_store_n(&cp->version, v | 1u, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	cp->tsc_khz = tsc_khz;
	cp->tsc_mul = hv_clock_mul(tsc_khz);
	cp->tsc_base = tsc_base;
	cp->ns_base = ns_base;
	cp->wall_offset_ns = wall_ns - (int64_t)ns_base;
	cp->resumes = resumes;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&cp->version, (v | 1u) + 1u, __ATOMIC_RELEASE);
}

void hv_clock_init(struct tern_clock_page *cp, uint32_t tsc_khz, uint64_t tsc_now, int64_t wall_ns)
{
	memset(cp, 0, sizeof(*cp));
	hv_clock_write(cp, tsc_khz, tsc_now, 0, wall_ns, 0);
}

void hv_clock_resume(struct tern_clock_page *cp, uint64_t mono_ns, uint64_t tsc_now,
		     uint32_t tsc_khz, int64_t wall_ns)
{
	hv_clock_write(cp, tsc_khz, tsc_now, mono_ns, wall_ns, cp->resumes + 1);
}

static int hv_clock_dev_save(void *ctx, void *buf)
{
	const struct hv_clock_dev *d = ctx;
	struct hv_clock_state s = {
	    .mono_ns = hv_clock_mono(d->page, d->tsc_stop),
	    .wall_ns = hv_clock_wall_ns(),
	    .tsc_khz = d->tsc_khz,
	    .resumes = d->page->resumes,
	};

	memcpy(buf, &s, sizeof(s));
	return 0;
}

static int hv_clock_dev_load(void *ctx, const void *buf, char *why, size_t whylen)
{
	struct hv_clock_dev *d = ctx;
	struct hv_clock_state s;

	memcpy(&s, buf, sizeof(s));
	if (s.tsc_khz == 0) {
		snprintf(why, whylen, "TSC frequency 0");
		return -EBADMSG;
	}
	d->loaded = s;
	d->have = 1;
	return 0;
}

const struct hv_dev_ops hv_clock_dev_ops = {
    .kind = HV_CLOCK_DEV_KIND,
    .name = "clock",
    .size = sizeof(struct hv_clock_state),
    .required = 1,
    .save = hv_clock_dev_save,
    .load = hv_clock_dev_load,
};
