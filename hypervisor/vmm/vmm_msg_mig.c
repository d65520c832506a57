/*
 * Codecs of the migration records (vmm_ctl.h, docs/migration.md): the
 * request a migrated sends to its vmm, the progress records and the final
 * result. As in vmm_msg.c, a decoder checks the length before a field,
 * every enum, count and bound, strings for NUL bytes, and refuses trailing
 * bytes. The encoders fill in the lengths and counts themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm_ctl.h"
#include "vmm_msg_int.h"

static const char *const vmm_msg_mig_phases[] = {"connect", "precopy", "stopcopy", "handover",
						 "done"};
static const char *const vmm_msg_mig_outcomes[] = {"ok", "failed", "ambiguous", "cancelled"};

const char *vmm_msg_mig_phase_name(uint32_t phase)
{
	return phase < VMM_MSG_N(vmm_msg_mig_phases) ? vmm_msg_mig_phases[phase] : "unknown";
}

const char *vmm_msg_mig_outcome_name(uint32_t outcome)
{
	return outcome < VMM_MSG_N(vmm_msg_mig_outcomes) ? vmm_msg_mig_outcomes[outcome]
							 : "unknown";
}

static int vmm_msg_migrate_check(const struct vmm_ctl_migrate *m, char *err, size_t errlen)
{
	if (m->flags & ~VMM_CTL_MIG_F_LIVE)
		return vmm_msg_fail(err, errlen, "migrate: unknown flags 0x%x", m->flags);
	if (m->downtime_ms > VMM_CTL_MIG_DOWNTIME_MS_MAX)
		return vmm_msg_fail(err, errlen, "migrate: downtime %u ms, at most %u",
				    m->downtime_ms, VMM_CTL_MIG_DOWNTIME_MS_MAX);
	if (m->max_rounds > VMM_CTL_MIG_ROUNDS_MAX)
		return vmm_msg_fail(err, errlen, "migrate: %u rounds, at most %u", m->max_rounds,
				    VMM_CTL_MIG_ROUNDS_MAX);
	if (m->peer_len > VMM_CTL_MIG_PEER_MAX)
		return vmm_msg_fail(err, errlen, "migrate: peer: %u bytes, at most %u", m->peer_len,
				    VMM_CTL_MIG_PEER_MAX);
	if (m->pad)
		return vmm_msg_fail(err, errlen, "migrate: pad not zero");
	return 0;
}

int vmm_msg_migrate_enc(const struct vmm_ctl_migrate *m, const char *peer, void *buf, size_t cap)
{
	struct vmm_ctl_migrate rec = *m;
	size_t n = strlen(peer);
	char err[128];

	if (n > VMM_CTL_MIG_PEER_MAX)
		return -EINVAL;
	rec.peer_len = (uint32_t)n;
	rec.pad = 0;
	if (vmm_msg_migrate_check(&rec, err, sizeof(err)) < 0)
		return -EINVAL;
	if (cap < sizeof(rec) + n)
		return -ENOSPC;
	memcpy(buf, &rec, sizeof(rec));
	memcpy((uint8_t *)buf + sizeof(rec), peer, n);
	return (int)(sizeof(rec) + n);
}

int vmm_msg_migrate_dec(const void *p, size_t len, struct vmm_ctl_migrate *m, char *peer, char *err,
			size_t errlen)
{
	int rc;

	peer[0] = '\0';
	if (len < sizeof(*m))
		return vmm_msg_fail(err, errlen,
				    "migrate: too short (%zu bytes, want at least %zu)", len,
				    sizeof(*m));
	memcpy(m, p, sizeof(*m));
	if ((rc = vmm_msg_migrate_check(m, err, errlen)) < 0)
		return rc;
	if (len - sizeof(*m) != m->peer_len)
		return vmm_msg_fail(err, errlen, "migrate: peer: %u bytes, %zu follow", m->peer_len,
				    len - sizeof(*m));
	const char *s = (const char *)p + sizeof(*m);
	if (memchr(s, 0, m->peer_len))
		return vmm_msg_fail(err, errlen, "migrate: peer: NUL byte");
	memcpy(peer, s, m->peer_len);
	peer[m->peer_len] = '\0';
	return 0;
}

int vmm_msg_mig_progress_dec(const void *p, size_t len, struct vmm_ctl_mig_progress *pr, char *err,
			     size_t errlen)
{
	if (len != sizeof(*pr))
		return vmm_msg_fail(err, errlen, "mig progress: bad length %zu, want %zu", len,
				    sizeof(*pr));
	memcpy(pr, p, sizeof(*pr));
	if (pr->phase >= VMM_MSG_N(vmm_msg_mig_phases))
		return vmm_msg_fail(err, errlen, "mig progress: unknown phase %u", pr->phase);
	if (pr->round_done > pr->round_pages)
		return vmm_msg_fail(err, errlen, "mig progress: %llu of %llu pages done",
				    (unsigned long long)pr->round_done,
				    (unsigned long long)pr->round_pages);
	if (pr->throttle_pct > 99)
		return vmm_msg_fail(err, errlen, "mig progress: throttle %u%%, at most 99",
				    pr->throttle_pct);
	if (pr->pad)
		return vmm_msg_fail(err, errlen, "mig progress: pad not zero");
	return 0;
}

static int vmm_msg_result_check(const struct vmm_ctl_mig_result *r, char *err, size_t errlen)
{
	uint32_t want = r->rounds < VMM_CTL_MIG_ROUND_MAX ? r->rounds : VMM_CTL_MIG_ROUND_MAX;

	if (r->outcome >= VMM_MSG_N(vmm_msg_mig_outcomes))
		return vmm_msg_fail(err, errlen, "mig result: unknown outcome %u", r->outcome);
	if ((r->outcome == VMM_CTL_MIG_OK) != (r->err == 0) || r->err > 0)
		return vmm_msg_fail(err, errlen, "mig result: outcome %s with error %d",
				    vmm_msg_mig_outcome_name(r->outcome), r->err);
	if (r->nround != want)
		return vmm_msg_fail(err, errlen, "mig result: %u rounds listed of %u, want %u",
				    r->nround, r->rounds, want);
	if (r->msg_len > VMM_CTL_MIG_MSG_MAX)
		return vmm_msg_fail(err, errlen, "mig result: message: %u bytes, at most %u",
				    r->msg_len, VMM_CTL_MIG_MSG_MAX);
	if (r->pad)
		return vmm_msg_fail(err, errlen, "mig result: pad not zero");
	return 0;
}

int vmm_msg_mig_result_enc(const struct vmm_mig_result *r, void *buf, size_t cap)
{
	struct vmm_ctl_mig_result rec = r->rec;
	size_t n = strnlen(r->msg, sizeof(r->msg)), rsz;
	char err[128];

	rec.nround = rec.rounds < VMM_CTL_MIG_ROUND_MAX ? rec.rounds : VMM_CTL_MIG_ROUND_MAX;
	rec.msg_len = (uint32_t)n;
	rec.pad = 0;
	if (vmm_msg_result_check(&rec, err, sizeof(err)) < 0)
		return -EINVAL;
	rsz = rec.nround * sizeof(r->round[0]);
	if (cap < sizeof(rec) + rsz + n)
		return -ENOSPC;
	memcpy(buf, &rec, sizeof(rec));
	memcpy((uint8_t *)buf + sizeof(rec), r->round, rsz);
	memcpy((uint8_t *)buf + sizeof(rec) + rsz, r->msg, n);
	return (int)(sizeof(rec) + rsz + n);
}

int vmm_msg_mig_result_dec(const void *p, size_t len, struct vmm_mig_result *r, char *err,
			   size_t errlen)
{
	const uint8_t *b = p;
	size_t rsz;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(r->rec))
		return vmm_msg_fail(err, errlen,
				    "mig result: too short (%zu bytes, want at least %zu)", len,
				    sizeof(r->rec));
	memcpy(&r->rec, b, sizeof(r->rec));
	if ((rc = vmm_msg_result_check(&r->rec, err, errlen)) < 0)
		return rc;
	rsz = r->rec.nround * sizeof(r->round[0]);
	if (len - sizeof(r->rec) != rsz + r->rec.msg_len)
		return vmm_msg_fail(err, errlen, "mig result: %zu bytes follow, want %zu",
				    len - sizeof(r->rec), rsz + r->rec.msg_len);
	memcpy(r->round, b + sizeof(r->rec), rsz);
	if (memchr(b + sizeof(r->rec) + rsz, 0, r->rec.msg_len))
		return vmm_msg_fail(err, errlen, "mig result: message: NUL byte");
	memcpy(r->msg, b + sizeof(r->rec) + rsz, r->rec.msg_len);
	r->msg[r->rec.msg_len] = '\0';
	return 0;
}
