/*
 * vnetd's control server (ctl_server.c) with one `vn` client sending an
 * arbitrary stream of requests: every request type through the real
 * framing, dispatch table and decoders. What the handlers call in the rest
 * of the daemon is replaced by the stand-ins below (the linker takes them,
 * so vnet_mgr.o, peers.o, sa_keys.o, stats.o and varp_proto.o stay out):
 * a world of vnets and peers in memory; no bridge, no lookup, no key.
 * peer-add stays pending until the harness answers it, as a finished
 * lookup would. The server listens in a temp dir made once.
 *
 * Input: the client's byte stream ({type, flags, len} + payload each).
 * The harness sends one request at a time and runs the event loop until
 * the answer is complete, then checks it against a model of vn_ctl.h:
 *  - a request with flags, of unknown type, too long or that does not
 *    decode is refused ("-74 control: request refused: <why>", or -90 when
 *    too long, with a reason in printable text) and the client dropped;
 *  - otherwise the reply has the request's type: an error, or records of
 *    the type's size (CTL_F_MORE on all but the last chunk) as many as
 *    the world holds (vnets, vnets + 1 stats, one SA per vnet, peers);
 *  - vnet-create is all or nothing; vnet-delete, peer-add, peer-del and
 *    varp-flush change the world as asked, or fail for a missing object;
 *    sa-rekey fails for a missing vnet (the model lacked it: a seed of
 *    corpus/vnctl_server, sa_rekey_after_create, trapped on it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "vnetd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TRAP_IF(cond)                                                                              \
	do {                                                                                       \
		if (cond)                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define STREAM_MAX 8192

static struct {
	struct vnetd d;
	char dir[128];
	/* A peer-add waiting for its "lookup": how to end it. */
	void (*done)(void *arg, int status, const char *msg, const struct vn_ctl_peer *rec);
	void *waiter;
	char waiter_host[VN_CTL_HOST];
	int created, deleted; /* vnet_mgr calls during one request */
	uint8_t rbuf[4 * CTL_MSG_MAX];
	size_t rhave;
} fz;

/* ---- the rest of vnetd ---- */

static size_t count_vnets(void)
{
	size_t n = 0;

	for (struct vnetd_vnet *v = fz.d.vnets; v; v = v->next)
		n++;
	return n;
}

static size_t count_peers(void)
{
	size_t n = 0;

	for (struct vnetd_peer *p = fz.d.peers; p; p = p->next)
		n++;
	return n;
}

struct vnetd_vnet *vnet_mgr_find(struct vnetd *d, const struct vnet_id *id)
{
	for (struct vnetd_vnet *v = d->vnets; v; v = v->next)
		if (vnet_id_eq(&v->conf.id, id))
			return v;
	return NULL;
}

int vnet_mgr_create(struct vnetd *d, const struct vnet_conf *conf, bool restoring, char *msg,
		    size_t msglen)
{
	struct vnetd_vnet *v;

	TRAP_IF(restoring);
	if (vnet_mgr_find(d, &conf->id)) {
		snprintf(msg, msglen, "vnet: exists");
		return -EEXIST;
	}
	if (!(v = calloc(1, sizeof(*v))) || !(v->macs = mac_table_new(64))) {
		free(v);
		snprintf(msg, msglen, "vnet: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	v->d = d;
	v->conf = *conf;
	v->next = d->vnets;
	d->vnets = v;
	fz.created++;
	return 0;
}

int vnet_mgr_delete(struct vnetd *d, struct vnetd_vnet *v, char *msg, size_t msglen)
{
	struct vnetd_vnet **pp;

	(void)msg;
	(void)msglen;
	for (pp = &d->vnets; *pp != v; pp = &(*pp)->next)
		TRAP_IF(!*pp);
	*pp = v->next;
	mac_table_free(v->macs);
	free(v);
	fz.deleted++;
	return 0;
}

void vnet_mgr_fill(const struct vnetd_vnet *v, struct vn_ctl_vnet *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, v->conf.id.b, VN_CTL_ID_LEN);
	snprintf(out->suite, sizeof(out->suite), "none");
}

static struct vnetd_peer **peer_at(const char *host)
{
	struct vnetd_peer **pp = &fz.d.peers;

	while (*pp && strcmp((*pp)->host, host) != 0)
		pp = &(*pp)->next;
	return pp;
}

int peers_add(struct vnetd *d, const char *host,
	      void (*done)(void *arg, int status, const char *msg, const struct vn_ctl_peer *rec),
	      void *waiter, char *msg, size_t msglen)
{
	struct vnetd_peer **pp = peer_at(host);

	TRAP_IF(d != &fz.d || !done || !waiter || fz.waiter || strlen(host) >= VN_CTL_HOST);
	if (host[0] == 'x') { /* a lookup that cannot start */
		snprintf(msg, msglen, "peer %s: resolve: %s", host, strerror(EAGAIN));
		return -EAGAIN;
	}
	if (!*pp && !(*pp = calloc(1, sizeof(**pp))))
		return -ENOMEM;
	snprintf((*pp)->host, sizeof((*pp)->host), "%s", host);
	(*pp)->done = done;
	(*pp)->done_arg = waiter;
	fz.done = done;
	fz.waiter = waiter;
	snprintf(fz.waiter_host, sizeof(fz.waiter_host), "%s", host);
	return 0;
}

int peers_del(struct vnetd *d, const char *host, char *msg, size_t msglen)
{
	struct vnetd_peer **pp = peer_at(host), *p = *pp;

	TRAP_IF(d != &fz.d);
	if (!p) {
		snprintf(msg, msglen, "peer %s: no such peer", host);
		return -ENOENT;
	}
	*pp = p->next;
	free(p);
	return 0;
}

void peers_fill(const struct vnetd_peer *p, struct vn_ctl_peer *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", p->host);
}

void peers_forget_waiter(struct vnetd *d, const void *c)
{
	for (struct vnetd_peer *p = d->peers; p; p = p->next)
		if (p->done_arg == c)
			p->done = NULL;
	if (fz.waiter == c)
		fz.waiter = NULL;
}

void varp_proto_fill(struct vnetd *d, const struct mac_entry *e, struct vn_ctl_varp *out)
{
	(void)d;
	(void)e;
	memset(out, 0, sizeof(*out));
}

void stats_fill_vnet(const struct vnetd_vnet *v, struct vn_ctl_stats *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, v->conf.id.b, VN_CTL_ID_LEN);
}

void stats_fill_global(const struct vnetd *d, struct vn_ctl_stats *out)
{
	(void)d;
	memset(out, 0, sizeof(*out));
	out->global = 1;
}

int sa_keys_list(struct vnetd_vnet *v, bool with_keys, struct vn_ctl_sa **list, size_t *n,
		 size_t *cap)
{
	(void)with_keys;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 4;
		struct vn_ctl_sa *l = realloc(*list, c * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*list = l;
		*cap = c;
	}
	memset(&(*list)[*n], 0, sizeof(**list));
	memcpy((*list)[*n].id, v->conf.id.b, VN_CTL_ID_LEN);
	(*n)++;
	return 0;
}

/* ---- the harness ---- */

static void world_clear(void)
{
	while (fz.d.vnets) {
		struct vnetd_vnet *v = fz.d.vnets;
		fz.d.vnets = v->next;
		mac_table_free(v->macs);
		free(v);
	}
	while (fz.d.peers) {
		struct vnetd_peer *p = fz.d.peers;
		fz.d.peers = p->next;
		free(p);
	}
}

static void cleanup(void)
{
	ctl_server_stop(&fz.d);
	world_clear();
	rmdir(fz.dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (snprintf(fz.dir, sizeof(fz.dir), "%s/fuzz_vnctl_server.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(fz.dir) ||
	    !mkdtemp(fz.dir))
		abort(); /* the environment, not the input */
	vnetd_conf_defaults(&fz.d.conf);
	snprintf(fz.d.conf.control_socket, sizeof(fz.d.conf.control_socket), "%s/ctl", fz.dir);
	fz.d.ctl_fd = -1;
	fz.d.loop = ev_loop_new();
	if (!fz.d.loop || ctl_server_start(&fz.d) < 0)
		abort();
	atexit(cleanup);
}

enum want { WANT_DROP, WANT_ERR, WANT_OK, WANT_EITHER };

struct answer {
	int error, more_bad;
	uint16_t type;
	size_t len; /* payload bytes over all chunks */
	char text[1100];
};

/* Reads what the server wrote until one whole answer is in: an error, or
 * record chunks up to one without CTL_F_MORE. 1 when complete. */
static int read_answer(int fd, struct answer *a)
{
	ssize_t r;

	while ((r = recv(fd, fz.rbuf + fz.rhave, sizeof(fz.rbuf) - fz.rhave, MSG_DONTWAIT)) > 0)
		fz.rhave += (size_t)r;
	for (;;) {
		struct ctl_hdr h;

		if (fz.rhave < sizeof(h))
			return 0;
		memcpy(&h, fz.rbuf, sizeof(h));
		TRAP_IF(h.len > CTL_MSG_MAX || !(h.flags & CTL_F_REPLY));
		if (fz.rhave < sizeof(h) + h.len)
			return 0;
		a->type = h.type;
		a->error = !!(h.flags & CTL_F_ERROR);
		if (a->error) {
			TRAP_IF(h.len >= sizeof(a->text) || (h.flags & CTL_F_MORE));
			memcpy(a->text, fz.rbuf + sizeof(h), h.len);
			a->text[h.len] = '\0';
		}
		a->len += h.len;
		memmove(fz.rbuf, fz.rbuf + sizeof(h) + h.len, fz.rhave - sizeof(h) - h.len);
		fz.rhave -= sizeof(h) + h.len;
		if (!(h.flags & CTL_F_MORE))
			return 1;
	}
}

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < ' ' || *s > '~')
			return 0;
	return 1;
}

/* What the model expects of one request, before the server sees it. */
static enum want expect(const struct ctl_hdr *h, const uint8_t *p, size_t *recs, size_t *size)
{
	struct vn_ctl_create cr;
	char host[VN_CTL_HOST];
	uint8_t id[VN_CTL_ID_LEN];
	int has_id, keys;

	*recs = 0;
	*size = 1;
	if (h->flags != 0)
		return WANT_DROP;
	switch (h->type) {
	case CTL_VN_VNET_CREATE:
		return vn_ctl_create_decode(p, h->len, &cr) < 0 ? WANT_DROP : WANT_EITHER;
	case CTL_VN_VNET_DELETE:
		if (vn_ctl_id_decode(p, h->len, id) < 0)
			return WANT_DROP;
		return vnet_mgr_find(&fz.d, (const struct vnet_id *)id) ? WANT_OK : WANT_ERR;
	case CTL_VN_SA_REKEY:
		/* A vnet here has no data path (tv): rekey answers an error or,
		 * if one had it, nothing; an unknown id is always an error. */
		if (vn_ctl_id_decode(p, h->len, id) < 0)
			return WANT_DROP;
		return vnet_mgr_find(&fz.d, (const struct vnet_id *)id) ? WANT_EITHER : WANT_ERR;
	case CTL_VN_PEER_ADD:
		if (vn_ctl_host_decode(p, h->len, host) < 0)
			return WANT_DROP;
		*recs = 1;
		*size = sizeof(struct vn_ctl_peer);
		return host[0] == 'x' ? WANT_ERR : WANT_OK;
	case CTL_VN_PEER_DEL:
		if (vn_ctl_host_decode(p, h->len, host) < 0)
			return WANT_DROP;
		return *peer_at(host) ? WANT_OK : WANT_ERR;
	case CTL_VN_VARP_FLUSH:
		if (vn_ctl_flush_decode(p, h->len, id, &has_id) < 0)
			return WANT_DROP;
		return !has_id || vnet_mgr_find(&fz.d, (const struct vnet_id *)id) ? WANT_OK
										   : WANT_ERR;
	case CTL_VN_SA_LIST:
		if (vn_ctl_salist_decode(p, h->len, &keys) < 0)
			return WANT_DROP;
		*recs = count_vnets();
		*size = sizeof(struct vn_ctl_sa);
		return WANT_OK;
	case CTL_VN_VNET_LIST:
		*recs = count_vnets();
		*size = sizeof(struct vn_ctl_vnet);
		break;
	case CTL_VN_PEER_LIST:
		*recs = count_peers();
		*size = sizeof(struct vn_ctl_peer);
		break;
	case CTL_VN_VARP_LIST:
		*size = sizeof(struct vn_ctl_varp);
		break;
	case CTL_VN_STATS:
		*recs = count_vnets() + 1;
		*size = sizeof(struct vn_ctl_stats);
		break;
	default:
		return WANT_DROP;
	}
	return vn_ctl_empty_decode(p, h->len) < 0 ? WANT_DROP : WANT_OK;
}

/* Sends one request (bytes p, n) and runs the loop until it is answered
 * or the client is gone. Returns 1 if the client is still connected. */
static int one(int cfd, const struct ctl_hdr *h, const uint8_t *msg, size_t n)
{
	struct answer a = {0};
	size_t recs = 0, size = 1, vnets = count_vnets(), peers = count_peers();
	enum want w = h->len > CTL_MSG_MAX ? WANT_DROP : expect(h, msg + sizeof(*h), &recs, &size);
	char host[VN_CTL_HOST] = "";
	int done = 0;

	if (h->type == CTL_VN_PEER_ADD && w != WANT_DROP)
		vn_ctl_host_decode(msg + sizeof(*h), h->len, host);
	fz.created = fz.deleted = 0;
	TRAP_IF(send(cfd, msg, n, MSG_DONTWAIT) != (ssize_t)n);
	for (int i = 0; i < 64 && !done; i++) {
		ev_run_once(fz.d.loop, 0);
		if (fz.waiter) {
			struct vn_ctl_peer rec;
			void *c = fz.waiter;

			TRAP_IF(strcmp(fz.waiter_host, host) != 0);
			memset(&rec, 0, sizeof(rec));
			snprintf(rec.host, sizeof(rec.host), "%s", host);
			fz.waiter = NULL;
			fz.done(c, 0, NULL, &rec);
		}
		done = read_answer(cfd, &a);
	}
	TRAP_IF(!done || a.type != h->type);
	if (w == WANT_DROP) {
		/* EBADMSG, or EMSGSIZE for a message over the cap; a reason. */
		const char *pre = h->len > CTL_MSG_MAX ? "-90 control: request refused: "
						       : "-74 control: request refused: ";
		TRAP_IF(!a.error || strncmp(a.text, pre, 30) != 0 || !a.text[30] ||
			!printable(a.text));
		ev_run_once(fz.d.loop, 0);
		TRAP_IF(fz.d.clients != NULL);
		return 0;
	}
	TRAP_IF(fz.d.clients == NULL);
	if (a.error) {
		int err;
		char m[256];

		ctl_parse_error(a.text, strlen(a.text), &err, m, sizeof(m));
		/* (The text may quote the client's path: any bytes but NUL.) */
		TRAP_IF(w == WANT_OK || err >= 0);
		/* Failed: nothing changed (create undid what it made). */
		TRAP_IF(count_vnets() != vnets || count_peers() != peers ||
			fz.created != fz.deleted);
		return 1;
	}
	TRAP_IF(w == WANT_ERR || a.len != recs * size);
	switch (h->type) {
	case CTL_VN_VNET_CREATE:
		TRAP_IF(fz.deleted || fz.created == 0 ||
			count_vnets() != vnets + (size_t)fz.created);
		break;
	case CTL_VN_VNET_DELETE:
		TRAP_IF(count_vnets() != vnets - 1);
		break;
	case CTL_VN_PEER_ADD:
		TRAP_IF(!*peer_at(host) || count_peers() < peers || count_peers() > peers + 1);
		break;
	case CTL_VN_PEER_DEL:
		TRAP_IF(count_peers() != peers - 1);
		break;
	default:
		TRAP_IF(count_vnets() != vnets || count_peers() != peers);
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int cfd, live = 1;

	if (size > STREAM_MAX)
		return 0;
	if (!fz.d.loop)
		setup();
	world_clear();
	fz.rhave = 0;
	cfd = ctl_connect(fz.d.conf.control_socket, 0);
	if (cfd < 0)
		abort();
	for (int i = 0; i < 8 && !fz.d.clients; i++)
		ev_run_once(fz.d.loop, 0);
	TRAP_IF(!fz.d.clients);
	while (live && size - off >= sizeof(struct ctl_hdr)) {
		struct ctl_hdr h;
		size_t n;

		memcpy(&h, data + off, sizeof(h));
		n = sizeof(h) + (h.len > CTL_MSG_MAX ? 0 : h.len);
		if (n > size - off)
			break; /* torn: sent below, then EOF */
		live = one(cfd, &h, data + off, n);
		off += n;
	}
	if (live && off < size)
		TRAP_IF(send(cfd, data + off, size - off, MSG_DONTWAIT) != (ssize_t)(size - off));
	shutdown(cfd, SHUT_WR);
	for (int i = 0; i < 8 && fz.d.clients; i++)
		ev_run_once(fz.d.loop, 0);
	TRAP_IF(fz.d.clients != NULL); /* EOF ends the client */
	close(cfd);
	return 0;
}
