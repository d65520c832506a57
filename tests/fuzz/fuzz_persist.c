/*
 * vnetd's persisted state (persist.c) read back from a state dir made once
 * under $TMPDIR (or /tmp): persist_read over vnets/<id>.sxp and peers,
 * with an epoch file an older vnetd left. persist_read only reads and
 * hands back what it found: nothing is created, nothing resolved.
 *
 * Input: byte 0, then up to four parts separated by the bytes 00 ff: the
 * text of vnets/97.sxp, of a second vnets file, of peers, of epoch (a
 * missing part is a missing file). Byte 0 bits 0-1 name the second vnets
 * file: b.sxp, b.sxp.tmp (what a crash mid-save leaves), .sxp, b.created.
 *
 * Checked: a vnets file is restored iff its name ends in ".sxp" after a
 * non-empty stem and its text is exactly one (vnet ...) that parses, with
 * the conf the text spells; every restored peer is a whole line of the
 * file, up to a CR, shorter than VN_CTL_HOST, in file order; the
 * epoch file is neither read nor changed (SAs need no saved state).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnetd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_VNETS 4
#define MAX_PEERS 64

static struct {
	struct vnetd d;
	char top[128], vnets[512], peers[512], epoch[512];
	struct vnet_conf confs[MAX_VNETS];
	size_t nconfs;
	char hosts[MAX_PEERS][VN_CTL_HOST + 8];
	size_t nhosts;
} fz;

/* ---- what persist_read hands back ---- */

static void read_state(void)
{
	struct persist_state st;

	fz.nconfs = fz.nhosts = 0;
	if (persist_read(&fz.d, &st) < 0)
		abort(); /* only on ENOMEM: the environment, not the input */
	TRAP_IF(st.nvnets > MAX_VNETS);
	for (size_t i = 0; i < st.nvnets; i++)
		fz.confs[fz.nconfs++] = st.vnets[i];
	for (size_t i = 0; i < st.npeers; i++) {
		TRAP_IF(strlen(st.peers[i]) >= VN_CTL_HOST);
		if (fz.nhosts < MAX_PEERS)
			snprintf(fz.hosts[fz.nhosts], sizeof(fz.hosts[0]), "%s", st.peers[i]);
		fz.nhosts++;
	}
	persist_state_free(&st);
}

/* ---- the state dir ---- */

static void clear_vnets(void)
{
	DIR *dp = opendir(fz.vnets);
	struct dirent *e;
	char path[1024];

	while (dp && (e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		snprintf(path, sizeof(path), "%s/%s", fz.vnets, e->d_name);
		unlink(path);
	}
	if (dp)
		closedir(dp);
}

static void cleanup(void)
{
	char path[600];

	clear_vnets();
	unlink(fz.peers);
	unlink(fz.epoch);
	rmdir(fz.vnets);
	snprintf(path, sizeof(path), "%s/state/vnetd", fz.top);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/state", fz.top);
	rmdir(path);
	rmdir(fz.top);
}

static int setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (snprintf(fz.top, sizeof(fz.top), "%s/fuzz_persist.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(fz.top) ||
	    !mkdtemp(fz.top))
		return -1;
	atexit(cleanup);
	snprintf(fz.d.conf.state_dir, sizeof(fz.d.conf.state_dir), "%s/state", fz.top);
	snprintf(fz.vnets, sizeof(fz.vnets), "%s/state/vnetd/vnets", fz.top);
	snprintf(fz.peers, sizeof(fz.peers), "%s/state/vnetd/peers", fz.top);
	snprintf(fz.epoch, sizeof(fz.epoch), "%s/state/vnetd/epoch", fz.top);
	fz.d.ctl_fd = -1;
	return persist_init(&fz.d);
}

static void put_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort(); /* the environment, not the input */
	close(fd);
}

/* ---- references ---- */

/* The conf a restore of this text must hand on, or -1 for none. */
static int ref_vnet(const char *path, const uint8_t *p, size_t n, struct vnet_conf *conf)
{
	struct sxp_error err;
	struct sxp_node *doc = sxp_parse(path, (const char *)p, n, &err);
	int rc = -1;

	if (doc && doc->nkids == 1 && vnet_conf_from_sxp(doc->kids, conf, &err) == 0)
		rc = 0;
	sxp_free(doc);
	return rc;
}

static void same_conf(const struct vnet_conf *a, const struct vnet_conf *b)
{
	char ta[1024], tb[1024];
	size_t na = vnet_conf_format(a, ta, sizeof(ta)), nb = vnet_conf_format(b, tb, sizeof(tb));

	TRAP_IF(na != nb || na >= sizeof(ta) || memcmp(ta, tb, na) != 0);
}

static void check_vnets(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			const char *bname)
{
	struct vnet_conf want[2];
	char path[1024];
	size_t nb = strlen(bname), n = 0, got = 0;
	int has_a = a != NULL, has_b = b != NULL && nb > 4 && !strcmp(bname + nb - 4, ".sxp");

	snprintf(path, sizeof(path), "%s/97.sxp", fz.vnets);
	if (has_a && ref_vnet(path, a, alen, &want[n]) == 0)
		n++;
	snprintf(path, sizeof(path), "%s/%s", fz.vnets, bname);
	if (has_b && ref_vnet(path, b, blen, &want[n]) == 0)
		n++;
	TRAP_IF(fz.nconfs != n);
	/* Files come in name order; match either way round all the same. */
	for (size_t i = 0; i < n; i++) {
		char ta[1024], tb[1024];
		size_t la = vnet_conf_format(&fz.confs[i], ta, sizeof(ta));

		for (size_t j = 0; j < n; j++) {
			size_t lb = vnet_conf_format(&want[j], tb, sizeof(tb));
			if (la == lb && !memcmp(ta, tb, la) && !(got & (1u << j))) {
				got |= 1u << j;
				same_conf(&fz.confs[i], &want[j]);
				break;
			}
		}
	}
	TRAP_IF(got != (1u << n) - 1);
}

/* Hosts are the file's non-empty lines, each up to its first CR or NUL;
 * a line longer than VN_CTL_HOST bytes is skipped whole. */
static void check_peers(const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t at = 0; p && at < n;) {
		const uint8_t *nl = memchr(p + at, '\n', n - at);
		size_t end = nl ? (size_t)(nl - p) : n, len = 0;

		while (at + len < end && p[at + len] != '\r' && p[at + len] != '\0')
			len++;
		if (len > 0 && len < VN_CTL_HOST && end - at <= VN_CTL_HOST) {
			TRAP_IF(k >= fz.nhosts);
			if (k < MAX_PEERS)
				TRAP_IF(strlen(fz.hosts[k]) != len ||
					memcmp(fz.hosts[k], p + at, len) != 0);
			k++;
		}
		at = end + 1;
	}
	TRAP_IF(k != fz.nhosts);
}

/* An epoch file left by an older vnetd is never read: whatever it holds,
 * it is there as it was. */
static void check_epoch(const uint8_t *p, size_t n)
{
	static char after[8192]; /* more than any input */
	int fd = open(fz.epoch, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, after, sizeof(after)) : -1;

	if (fd >= 0)
		close(fd);
	TRAP_IF(!p != (fd < 0));
	TRAP_IF(p && (got < 0 || (size_t)got != n || memcmp(after, p, n) != 0));
}

/* ---- input ---- */

static size_t split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len)
{
	size_t n = 0, at = 0;

	while (n < 4) {
		const uint8_t *q = data + at;
		size_t l = 0;

		while (at + l < size && !(at + l + 1 < size && q[l] == 0x00 && q[l + 1] == 0xff))
			l++;
		part[n] = q;
		len[n++] = l;
		if (at + l >= size)
			break;
		at += l + 2;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bnames[4] = {"b.sxp", "b.sxp.tmp", ".sxp", "b.created"};
	static int ready;
	const uint8_t *part[4] = {NULL, NULL, NULL, NULL};
	size_t len[4] = {0}, nparts;
	char path[1024];
	const char *bname;

	if (!ready && setup() < 0)
		abort(); /* the environment, not the input */
	ready = 1;
	if (size < 1)
		return 0;
	bname = bnames[data[0] & 3];
	nparts = split(data + 1, size - 1, part, len);
	clear_vnets();
	unlink(fz.peers);
	unlink(fz.epoch);
	if (nparts > 0) {
		snprintf(path, sizeof(path), "%s/97.sxp", fz.vnets);
		put_file(path, part[0], len[0]);
	}
	if (nparts > 1) {
		snprintf(path, sizeof(path), "%s/%s", fz.vnets, bname);
		put_file(path, part[1], len[1]);
	}
	if (nparts > 2)
		put_file(fz.peers, part[2], len[2]);
	if (nparts > 3)
		put_file(fz.epoch, part[3], len[3]);
	read_state();
	check_vnets(part[0], len[0], nparts > 1 ? part[1] : NULL, len[1], bname);
	check_peers(nparts > 2 ? part[2] : NULL, len[2]);
	check_epoch(nparts > 3 ? part[3] : NULL, len[3]);
	return 0;
}
