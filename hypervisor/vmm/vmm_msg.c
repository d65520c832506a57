/*
 * Codecs of the vmm control protocol's records (vmm_ctl.h), shared by the
 * vmm and vmmctl: one size-checking decoder per record. A decoder checks
 * the length before it reads a field, every count and enum against its
 * range and every string for length and NUL bytes, and refuses trailing
 * bytes; its message names the record and the field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm_ctl.h"
#include "vmm_msg_int.h"

static const char *const vmm_msg_states[] = {"running", "paused", "crashed", "halted", "incoming"};
static const char *const vmm_msg_ops[] = {"none", "save", "migrate", "incoming"};
static const char *const vmm_msg_phases[] = {"none", "pages", "state", "sync", "done"};

const char *vmm_msg_state_name(uint32_t state)
{
	return state < VMM_MSG_N(vmm_msg_states) ? vmm_msg_states[state] : "unknown";
}

const char *vmm_msg_op_name(uint32_t op)
{
	return op < VMM_MSG_N(vmm_msg_ops) ? vmm_msg_ops[op] : "unknown";
}

const char *vmm_msg_phase_name(uint32_t phase)
{
	return phase < VMM_MSG_N(vmm_msg_phases) ? vmm_msg_phases[phase] : "unknown";
}

const char *vmm_msg_ring_error_name(uint32_t ring, uint32_t err)
{
	static const char *const names[2][VMM_CTL_RING_NERR - 1] = {
	    {"tx_index", "tx_address", "tx_length"},
	    {"rx_index", "rx_address", "rx_length"},
	};

	if (ring < VMM_CTL_RING_TX || ring > VMM_CTL_RING_RX || err < VMM_CTL_RING_EINDEX ||
	    err >= VMM_CTL_RING_NERR)
		return NULL;
	return names[ring - 1][err - 1];
}

int vmm_msg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* The progress fields, in a status record or a progress record. */
static int vmm_msg_progress_check(const char *rec, const struct vmm_ctl_progress *pr, char *err,
				  size_t errlen)
{
	if (pr->op >= VMM_MSG_N(vmm_msg_ops))
		return vmm_msg_fail(err, errlen, "%s: unknown operation %u", rec, pr->op);
	if (pr->phase >= VMM_MSG_N(vmm_msg_phases))
		return vmm_msg_fail(err, errlen, "%s: unknown phase %u", rec, pr->phase);
	if (pr->bytes_done > pr->bytes_total)
		return vmm_msg_fail(err, errlen, "%s: %llu of %llu bytes done", rec,
				    (unsigned long long)pr->bytes_done,
				    (unsigned long long)pr->bytes_total);
	return 0;
}

int vmm_msg_progress_dec(const void *p, size_t len, struct vmm_ctl_progress *pr, char *err,
			 size_t errlen)
{
	if (len != sizeof(*pr))
		return vmm_msg_fail(err, errlen, "progress: bad length %zu, want %zu", len,
				    sizeof(*pr));
	memcpy(pr, p, sizeof(*pr));
	return vmm_msg_progress_check("progress", pr, err, errlen);
}

static int vmm_msg_put_str(uint8_t *buf, size_t cap, size_t *off, const char *s, size_t max)
{
	size_t n = strlen(s);
	uint16_t n16 = (uint16_t)n;

	if (n > max)
		return -EINVAL;
	if (cap - *off < sizeof(n16) + n)
		return -ENOSPC;
	memcpy(buf + *off, &n16, sizeof(n16));
	memcpy(buf + *off + sizeof(n16), s, n);
	*off += sizeof(n16) + n;
	return 0;
}

/* A broken ring is named with its reason, a sound one with neither. */
static int vmm_msg_vif_ok(const struct vmm_ctl_vif *v)
{
	return v->ring <= VMM_CTL_RING_RX && v->ring_err < VMM_CTL_RING_NERR &&
	       (v->ring == VMM_CTL_RING_NONE) == (v->ring_err == VMM_CTL_RING_OK);
}

int vmm_msg_status_enc(const struct vmm_status *st, void *buf, size_t cap)
{
	struct vmm_ctl_status rec = st->rec;
	size_t off = sizeof(rec);
	int rc = 0;

	if (rec.nvifs > VMM_CTL_VIF_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < rec.nvifs; i++)
		if (!vmm_msg_vif_ok(&st->vifc[i]))
			return -EINVAL;
	if (cap < sizeof(rec))
		return -ENOSPC;
	rec.version = VMM_CTL_STATUS_VERSION;
	rec.size = sizeof(rec);
	rec.vif_size = sizeof(struct vmm_ctl_vif);
	memcpy(buf, &rec, sizeof(rec));
	if ((rc = vmm_msg_put_str(buf, cap, &off, st->name, VMM_CTL_NAME_MAX)) < 0 ||
	    (rc = vmm_msg_put_str(buf, cap, &off, st->kernel, VMM_CTL_TEXT_MAX)) < 0 ||
	    (rc = vmm_msg_put_str(buf, cap, &off, st->extra, VMM_CTL_TEXT_MAX)) < 0 ||
	    (rc = vmm_msg_put_str(buf, cap, &off, st->crash, VMM_CTL_TEXT_MAX)) < 0)
		return rc;
	for (uint32_t i = 0; i < rec.nvifs; i++)
		if ((rc = vmm_msg_put_str(buf, cap, &off, st->vif[i], VMM_CTL_VIF_TEXT_MAX)) < 0)
			return rc;
	if (cap - off < rec.nvifs * sizeof(struct vmm_ctl_vif))
		return -ENOSPC;
	memcpy((uint8_t *)buf + off, st->vifc, rec.nvifs * sizeof(struct vmm_ctl_vif));
	return (int)(off + rec.nvifs * sizeof(struct vmm_ctl_vif));
}

/* One string of the status record into out (max bytes + NUL). */
static int vmm_msg_get_str(const uint8_t *p, size_t len, size_t *off, const char *what, char *out,
			   size_t max, char *err, size_t errlen)
{
	uint16_t n;

	if (len - *off < sizeof(n))
		return vmm_msg_fail(err, errlen, "status: %s: length truncated", what);
	memcpy(&n, p + *off, sizeof(n));
	*off += sizeof(n);
	if (n > max)
		return vmm_msg_fail(err, errlen, "status: %s: %u bytes, at most %zu", what, n, max);
	if (len - *off < n)
		return vmm_msg_fail(err, errlen, "status: %s: %u bytes, %zu left", what, n,
				    len - *off);
	if (memchr(p + *off, 0, n))
		return vmm_msg_fail(err, errlen, "status: %s: NUL byte", what);
	memcpy(out, p + *off, n);
	out[n] = '\0';
	*off += n;
	return 0;
}

/* The vifs' counters after the strings: the count was checked, each
 * broken-ring pair must name a ring and a reason, or neither. */
static int vmm_msg_get_vifs(const uint8_t *p, size_t len, size_t *off, struct vmm_status *st,
			    char *err, size_t errlen)
{
	size_t want = st->rec.nvifs * sizeof(struct vmm_ctl_vif);

	if (len - *off < want)
		return vmm_msg_fail(err, errlen, "status: vif counters: %zu bytes, %zu left", want,
				    len - *off);
	memcpy(st->vifc, p + *off, want);
	*off += want;
	for (uint32_t i = 0; i < st->rec.nvifs; i++) {
		const struct vmm_ctl_vif *v = &st->vifc[i];

		if (!vmm_msg_vif_ok(v))
			return vmm_msg_fail(err, errlen, "status: vif %u: ring %u, error %u", i,
					    v->ring, v->ring_err);
	}
	return 0;
}

int vmm_msg_status_dec(const void *p, size_t len, struct vmm_status *st, char *err, size_t errlen)
{
	struct vmm_ctl_status *r = &st->rec;
	size_t off = sizeof(*r);
	int rc;

	memset(st, 0, sizeof(*st));
	if (len < 8)
		return vmm_msg_fail(err, errlen, "status: too short (%zu bytes)", len);
	memcpy(r, p, 8);
	if (r->version != VMM_CTL_STATUS_VERSION)
		return vmm_msg_fail(err, errlen, "status: version %u, want %u", r->version,
				    VMM_CTL_STATUS_VERSION);
	if (r->size != sizeof(*r))
		return vmm_msg_fail(err, errlen, "status: fixed part %u bytes, want %zu", r->size,
				    sizeof(*r));
	if (len < sizeof(*r))
		return vmm_msg_fail(err, errlen, "status: too short (%zu bytes, want at least %zu)",
				    len, sizeof(*r));
	memcpy(r, p, sizeof(*r));
	if (r->vif_size != sizeof(struct vmm_ctl_vif))
		return vmm_msg_fail(err, errlen, "status: vif record %u bytes, want %zu",
				    r->vif_size, sizeof(struct vmm_ctl_vif));
	if (r->pad != 0)
		return vmm_msg_fail(err, errlen, "status: pad %u, want 0", r->pad);
	if (r->state >= VMM_MSG_N(vmm_msg_states))
		return vmm_msg_fail(err, errlen, "status: unknown state %u", r->state);
	if (r->nvifs > VMM_CTL_VIF_MAX)
		return vmm_msg_fail(err, errlen, "status: %u vifs, at most %u", r->nvifs,
				    VMM_CTL_VIF_MAX);
	if ((rc = vmm_msg_progress_check("status", &r->op, err, errlen)) < 0)
		return rc;
	if ((rc = vmm_msg_get_str(p, len, &off, "name", st->name, VMM_CTL_NAME_MAX, err, errlen)) <
		0 ||
	    (rc = vmm_msg_get_str(p, len, &off, "kernel", st->kernel, VMM_CTL_TEXT_MAX, err,
				  errlen)) < 0 ||
	    (rc = vmm_msg_get_str(p, len, &off, "extra", st->extra, VMM_CTL_TEXT_MAX, err,
				  errlen)) < 0 ||
	    (rc = vmm_msg_get_str(p, len, &off, "crash", st->crash, VMM_CTL_TEXT_MAX, err,
				  errlen)) < 0)
		return rc;
	for (uint32_t i = 0; i < r->nvifs; i++) {
		char what[16];
		snprintf(what, sizeof(what), "vif %u", i);
		if ((rc = vmm_msg_get_str(p, len, &off, what, st->vif[i], VMM_CTL_VIF_TEXT_MAX, err,
					  errlen)) < 0)
			return rc;
	}
	if ((rc = vmm_msg_get_vifs(p, len, &off, st, err, errlen)) < 0)
		return rc;
	if (off != len)
		return vmm_msg_fail(err, errlen, "status: %zu trailing bytes", len - off);
	return 0;
}
