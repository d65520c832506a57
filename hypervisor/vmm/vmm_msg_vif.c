/*
 * A vif's counters (struct vmm_ctl_vif) as text and JSON: the one rendering
 * shared by `vmmctl status` and `vm list`, so both print the same keys.
 */
#include <stdio.h>

#include "vmm_ctl.h"

void vmm_msg_vif_json(FILE *f, const struct vmm_ctl_vif *v)
{
	const char *ring = vmm_msg_ring_error_name(v->ring, v->ring_err);

	fprintf(f,
		"{\"rx_frames\":%llu,\"rx_bytes\":%llu,\"tx_frames\":%llu,\"tx_bytes\":%llu,"
		"\"rx_dropped_runt\":%llu,\"rx_dropped_oversize\":%llu,\"rx_errors\":%llu,"
		"\"tx_errors\":%llu,\"tx_dropped_spoofed\":%llu,\"kicks\":%llu,\"wakes\":%llu,"
		"\"first_frame_ms\":",
		(unsigned long long)v->rx_frames, (unsigned long long)v->rx_bytes,
		(unsigned long long)v->tx_frames, (unsigned long long)v->tx_bytes,
		(unsigned long long)v->rx_runt, (unsigned long long)v->rx_oversize,
		(unsigned long long)v->rx_err, (unsigned long long)v->tx_err,
		(unsigned long long)v->tx_spoofed, (unsigned long long)v->kicks,
		(unsigned long long)v->wakes);
	if (v->first_frame_us == VMM_CTL_FIRST_FRAME_NONE)
		fprintf(f, "null");
	else
		fprintf(f, "%.3f", (double)v->first_frame_us / 1e3);
	/* the names are fixed words: no escaping needed */
	fprintf(f, ring ? ",\"ring_error\":\"%s\"}" : ",\"ring_error\":null}", ring);
}

void vmm_msg_vif_text(FILE *f, const char *indent, unsigned i, const struct vmm_ctl_vif *v)
{
	const char *ring = vmm_msg_ring_error_name(v->ring, v->ring_err);

	fprintf(f,
		"%svif %u: rx %llu frames %llu bytes, tx %llu frames %llu bytes; dropped: runt "
		"%llu oversize %llu spoofed %llu; errors: rx %llu tx %llu; kicks %llu wakes %llu",
		indent, i, (unsigned long long)v->rx_frames, (unsigned long long)v->rx_bytes,
		(unsigned long long)v->tx_frames, (unsigned long long)v->tx_bytes,
		(unsigned long long)v->rx_runt, (unsigned long long)v->rx_oversize,
		(unsigned long long)v->tx_spoofed, (unsigned long long)v->rx_err,
		(unsigned long long)v->tx_err, (unsigned long long)v->kicks,
		(unsigned long long)v->wakes);
	if (v->first_frame_us != VMM_CTL_FIRST_FRAME_NONE)
		fprintf(f, "; first frame %.3f ms", (double)v->first_frame_us / 1e3);
	if (ring)
		fprintf(f, "; ring broken: %s (device stopped)", ring);
	fprintf(f, "\n");
}
