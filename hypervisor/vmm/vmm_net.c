/*
 * The net backend (vmm_net.h): per vif a TAP and a thread that moves
 * frames between it and the guest's rings in batches of up to NET_BATCH.
 *
 *   guest TX ring --desc check--> writev(tap)      (then used++, wake if asked)
 *   readv(tap) --into the posted RX buffer--> used++, wake the guest's yield
 *
 * The thread sleeps in poll() on the TAP (only while the guest has RX
 * buffers posted), its kick eventfd and the stop eventfd, after setting
 * vmm_notify in both rings and re-checking them; a guest that sends while
 * the thread is awake needs no exit at all. While the domain is paused the
 * thread touches no guest memory (vmm_net_quiesce() waits for a batch in
 * flight), so a save sees the rings at rest.
 */
#include "vmm_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

#define NET_BATCH 64u
#define NET_PAUSED_POLL_MS 10
#define NET_SCRATCH (64u * 1024u) /* the tail of an oversized frame */
/* After a restore the MAC is announced before the guest runs and then 3
 * more times, 100, 300 and 600 ms later (as QEMU does): a bridge port that
 * just got its carrier back may drop the first. */
#define NET_ANNOUNCE_STEP_MS 100u
/* A moved guest that has heard nothing addressed to it this long stops
 * waiting for its first frame (the figure stays unknown). */
#define NET_FIRST_FRAME_WAIT_NS (60ull * 1000000000ull)

static uint8_t net_scratch[TERN_NET_MAX][NET_SCRATCH];

int vmm_net_opt(struct vmm_net_opts *o, const char *opt, const char *arg)
{
	char *end;
	long fd;

	if (o->ntaps >= TERN_NET_MAX) {
		fprintf(stderr, "vmm: %s: at most %u TAPs (one per vif)\n", opt, TERN_NET_MAX);
		return -EINVAL;
	}
	o->tap_name[o->ntaps] = NULL;
	o->tap_fd[o->ntaps] = -1;
	if (strcmp(opt, "--tap") == 0) {
		if (!arg[0] || strlen(arg) >= IFNAMSIZ) {
			fprintf(stderr, "vmm: --tap: bad interface name '%s'\n", arg);
			return -EINVAL;
		}
		o->tap_name[o->ntaps++] = arg;
		return 0;
	}
	errno = 0;
	fd = strtol(arg, &end, 10);
	if (errno || *end || end == arg || fd < 3 || fd > 65535) {
		fprintf(stderr, "vmm: --tap-fd: '%s' is not an open fd number (3..65535)\n", arg);
		return -EINVAL;
	}
	o->tap_fd[o->ntaps++] = (int)fd;
	return 0;
}

/* Attaches to the existing TAP `name` (made by the caller, e.g. migrated or
 * a test, and already on its bridge). */
static int net_tap_open(const char *name)
{
	struct ifreq ifr;
	int fd;

	/* TUNSETIFF would make a new, unconnected TAP of an unknown name. */
	if (if_nametoindex(name) == 0)
		return -ENODEV;
	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int net_tap(const struct vmm_net_opts *o, unsigned i, char *err, size_t errlen)
{
	int fd, fl;

	if (i >= o->ntaps)
		return -1;
	if (o->tap_name[i]) {
		if ((fd = net_tap_open(o->tap_name[i])) < 0)
			snprintf(err, errlen, "vif %u: TAP %s: %s", i, o->tap_name[i],
				 strerror(-fd));
		return fd;
	}
	fd = o->tap_fd[i];
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "vif %u: --tap-fd %d: %s", i, fd, strerror(errno));
		return -EBADF;
	}
	return fd;
}

/* The MTU of the vif's TAP (migrated gives it its bridge's: 1400 on a
 * vnet), for the guest's boot info; 1500 without a TAP or when it cannot
 * be read. */
static uint16_t net_tap_mtu(int tap_fd)
{
	struct ifreq ifr;
	int s, mtu = 1500;

	memset(&ifr, 0, sizeof(ifr));
	if (tap_fd < 0 || ioctl(tap_fd, TUNGETIFF, &ifr) < 0)
		return 1500;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 1500;
	if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 576 && ifr.ifr_mtu <= 1500)
		mtu = ifr.ifr_mtu;
	close(s);
	return (uint16_t)mtu;
}

/* The boot info's device list and zeroed rings (a fresh boot only). */
static void net_boot_info(struct vmm *vmm)
{
	struct tern_boot_info *bi =
	    hv_mem_ptr(&vmm->vm->mem, TERN_GPA_BOOT_INFO, sizeof(struct tern_boot_info));
	struct vmm_net *net = &vmm->net;

	for (unsigned i = 0; i < net->ndevs; i++) {
		struct tern_net_info *ni = &bi->net[i];
		uint64_t gpa = TERN_GPA_NET + (uint64_t)i * TERN_NET_DEV_SPAN;
		memset(hv_mem_ptr(&vmm->vm->mem, gpa, TERN_NET_DEV_SPAN), 0, TERN_NET_DEV_SPAN);
		memcpy(ni->mac, net->dev[i].mac, 6);
		ni->mtu = net_tap_mtu(net->dev[i].tap_fd);
		ni->ring_entries = TERN_NET_RING_ENTRIES;
		ni->tx_ring = gpa;
		ni->rx_ring = gpa + TERN_NET_RING_SPAN;
	}
	bi->ndevs = net->ndevs;
}

static int net_dev_init(struct vmm *vmm, unsigned i, const struct vmm_net_opts *o, char *err,
			size_t errlen)
{
	struct vmm_net *net = &vmm->net;
	struct vmm_net_dev *d = &net->dev[i];
	uint64_t gpa = TERN_GPA_NET + (uint64_t)i * TERN_NET_DEV_SPAN;
	uint32_t tx_used = 0, rx_used = 0;

	d->vmm = vmm;
	d->idx = i;
	memcpy(d->mac, vmm->cfg.vif[i].mac, 6);
	if (net->have_saved) {
		memcpy(d->mac, net->saved.dev[i].mac, 6);
		tx_used = net->saved.dev[i].tx_used;
		rx_used = net->saved.dev[i].rx_used;
	} else if (net->restored) {
		/* A stream without net state: the MAC the guest booted with. */
		const struct tern_boot_info *bi =
		    hv_mem_ptr(&vmm->vm->mem, TERN_GPA_BOOT_INFO, sizeof(*bi));
		if (i < bi->ndevs)
			memcpy(d->mac, bi->net[i].mac, 6);
	}
	d->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->kick_fd < 0 || d->wake_fd < 0) {
		snprintf(err, errlen, "vif %u: eventfd: %s", i, strerror(errno));
		return -errno;
	}
	if (vmm_net_ring_init(&d->tx, &vmm->vm->mem, gpa, tx_used) < 0 ||
	    vmm_net_ring_init(&d->rx, &vmm->vm->mem, gpa + TERN_NET_RING_SPAN, rx_used) < 0) {
		snprintf(err, errlen, "vif %u: rings at 0x%llx: outside guest RAM", i,
			 (unsigned long long)gpa);
		return -EINVAL;
	}
	d->tx.r->used = tx_used;
	d->rx.r->used = rx_used;
	d->tap_fd = net_tap(o, i, err, errlen);
	if (d->tap_fd < -1)
		return d->tap_fd;
	if (d->tap_fd < 0)
		log_warn("domain %s: vif %u (%s): no TAP given (--tap/--tap-fd): not connected",
			 vmm->cfg.name, i, vmm->cfg.vif[i].text);
	return 0;
}

/* A restored guest gets only the rings its boot info names: elsewhere that
 * memory is the guest's own (a stream from before it had vifs). */
static void net_restored_count(struct vmm *vmm)
{
	const struct tern_boot_info *bi =
	    hv_mem_ptr(&vmm->vm->mem, TERN_GPA_BOOT_INFO, sizeof(*bi));
	struct vmm_net *net = &vmm->net;

	if (bi->ndevs < net->ndevs) {
		log_warn("domain %s: the guest knows %u of its %u vifs: the others stay "
			 "unconnected",
			 vmm->cfg.name, bi->ndevs, net->ndevs);
		net->ndevs = bi->ndevs;
	}
}

int vmm_net_setup(struct vmm *vmm, const struct vmm_net_opts *o, int restored, char *err,
		  size_t errlen)
{
	struct vmm_net *net = &vmm->net;
	int rc;

	for (unsigned i = 0; i < TERN_NET_MAX; i++)
		net->dev[i].tap_fd = net->dev[i].kick_fd = net->dev[i].wake_fd = -1;
	pthread_mutex_init(&net->busy, NULL);
	net->ndevs = vmm->cfg.nvifs;
	net->incoming = restored == VMM_NET_INCOMING;
	net->restored = restored && !net->incoming;
	if ((net->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "net: eventfd: %s", strerror(errno));
		return -errno;
	}
	net->dirty_words = (hv_mem_npages(&vmm->vm->mem) + 63) / 64;
	if (net->ndevs && !(net->dirty = calloc(net->dirty_words, sizeof(uint64_t)))) {
		snprintf(err, errlen, "net: dirty bitmap: %s", strerror(errno));
		return -ENOMEM;
	}
	if (o->ntaps > net->ndevs) {
		snprintf(err, errlen, "%u TAPs given (--tap/--tap-fd) but domain %s has %u vifs",
			 o->ntaps, vmm->cfg.name, net->ndevs);
		return -EINVAL;
	}
	if (net->restored)
		net_restored_count(vmm);
	if (net->have_saved && net->saved.ndevs != net->ndevs) {
		snprintf(err, errlen, "saved stream has %u network devices, the config %u vifs",
			 net->saved.ndevs, net->ndevs);
		return -EINVAL;
	}
	for (unsigned i = 0; i < net->ndevs; i++)
		if ((rc = net_dev_init(vmm, i, o, err, errlen)) < 0)
			return rc;
	if (!restored)
		net_boot_info(vmm);
	return 0;
}

static void net_announce(struct vmm_net_dev *d);
static uint64_t net_now_ms(void);
static uint64_t net_now_ns(void);

int vmm_net_incoming_bind(struct vmm *vmm, char *err, size_t errlen)
{
	struct vmm_net *net = &vmm->net;
	const struct tern_boot_info *bi =
	    hv_mem_ptr(&vmm->vm->mem, TERN_GPA_BOOT_INFO, sizeof(*bi));

	if (!net->incoming || !net->ndevs)
		return 0;
	/* The threads run already: a device fewer would leave one unjoined. */
	if (bi->ndevs != net->ndevs) {
		snprintf(err, errlen, "the guest knows %u of its %u vifs", bi->ndevs, net->ndevs);
		return -EINVAL;
	}
	if (net->have_saved && net->saved.ndevs != net->ndevs) {
		snprintf(err, errlen, "stream has %u network devices, the config %u vifs",
			 net->saved.ndevs, net->ndevs);
		return -EINVAL;
	}
	pthread_mutex_lock(&net->busy);
	for (unsigned i = 0; i < net->ndevs; i++) {
		struct vmm_net_dev *d = &net->dev[i];
		uint64_t gpa = TERN_GPA_NET + (uint64_t)i * TERN_NET_DEV_SPAN;
		uint32_t tx_used = net->have_saved ? net->saved.dev[i].tx_used : 0;
		uint32_t rx_used = net->have_saved ? net->saved.dev[i].rx_used : 0;

		memcpy(d->mac, net->have_saved ? net->saved.dev[i].mac : bi->net[i].mac, 6);
		/* Cannot fail: the same rings were bound at setup. */
		vmm_net_ring_init(&d->tx, &vmm->vm->mem, gpa, tx_used);
		vmm_net_ring_init(&d->rx, &vmm->vm->mem, gpa + TERN_NET_RING_SPAN, rx_used);
		d->tx.r->used = tx_used;
		d->rx.r->used = rx_used;
	}
	pthread_mutex_unlock(&net->busy);
	return 0;
}

void vmm_net_incoming_announce(struct vmm *vmm)
{
	struct vmm_net *net = &vmm->net;

	if (!net->incoming)
		return;
	net->incoming = 0;
	for (unsigned i = 0; i < net->ndevs; i++) {
		struct vmm_net_dev *d = &net->dev[i];
		if (d->tap_fd < 0)
			continue;
		net_announce(d);
		pthread_mutex_lock(&net->busy);
		d->announce_next = net_now_ms() + NET_ANNOUNCE_STEP_MS;
		d->announce_left = 3;
		d->resumed_ns = d->resumed_tx_ns = net_now_ns(); /* the vCPUs run right after */
		pthread_mutex_unlock(&net->busy);
	}
}

/* The guest pages this thread wrote, for a migration's dirty set (KVM's
 * log does not see writes from the host). */
static void net_dirty(struct vmm_net *net, uint64_t gpa, uint64_t len)
{
	if (!net->dirty || !len)
		return;
	for (uint64_t pg = gpa >> 12; pg <= (gpa + len - 1) >> 12; pg++)
		if (pg / 64 < net->dirty_words)
			__atomic_fetch_or(&net->dirty[pg / 64], 1ull << (pg % 64),
					  __ATOMIC_RELAXED);
}

static void net_dirty_ring(struct vmm_net *net, const struct vmm_net_ring *r)
{
	net_dirty(net, r->gpa, TERN_NET_RING_SPAN);
}

void vmm_net_dirty_take(struct vmm *vmm, uint64_t *bitmap, uint64_t nwords)
{
	struct vmm_net *net = &vmm->net;

	for (uint64_t i = 0; net->dirty && i < nwords && i < net->dirty_words; i++)
		bitmap[i] |= __atomic_exchange_n(&net->dirty[i], 0, __ATOMIC_RELAXED);
}

static void net_announce(struct vmm_net_dev *d);

static uint64_t net_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t net_now_ms(void)
{
	return net_now_ns() / 1000000u;
}

/* The first frame for the vif's own MAC since the guest resumed on this
 * host: the moment the network (bridge, vnetd, the peers' VARP tables)
 * follows a moved guest, which ping gaps alone cannot tell apart from the
 * vmm's downtime. Broadcasts do not count: they reach every host. And the
 * guest's first unicast frame out (an answer, not its gratuitous ARP):
 * the two together split a client's gap into network and guest. */
static void net_first_frame(struct vmm_net_dev *d, const uint8_t *frame, int to_guest)
{
	uint64_t *since, *result, ns;

	if (to_guest) {
		if (memcmp(frame, d->mac, 6) != 0)
			return;
		since = &d->resumed_ns, result = &d->c.first_frame_us;
	} else {
		if (frame[0] & 1) /* broadcast or multicast: the gratuitous ARP */
			return;
		since = &d->resumed_tx_ns, result = &d->c.first_tx_us;
	}
	if (!*since)
		return;
	ns = net_now_ns() - *since;
	*since = 0;
	if (ns > NET_FIRST_FRAME_WAIT_NS)
		return;
	*result = ns / 1000u;
	log_info("domain %s: vif %u: first %s %llu.%03llu ms after it resumed", d->vmm->cfg.name,
		 d->idx, to_guest ? "frame for the guest" : "unicast frame from the guest",
		 (unsigned long long)(ns / 1000000u), (unsigned long long)(ns / 1000u % 1000u));
}

/* The TAP failed (deleted under us, or an I/O error): stop polling and
 * reading it, so a dead fd cannot make the thread spin; frames from the
 * guest are counted as tx errors from now on. */
static void net_tap_lost(struct vmm_net_dev *d, const char *why)
{
	if (d->tap_lost)
		return;
	d->tap_lost = 1;
	log_warn("domain %s: vif %u: TAP lost (%s): the vif is disconnected", d->vmm->cfg.name,
		 d->idx, why);
}

static void net_wake(struct vmm_net_dev *d)
{
	uint64_t one = 1;

	d->c.wakes++;
	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("vif %u: wake: %s", d->idx, strerror(errno));
}

/* A guest sends only from its vif's MAC: a frame with another source
 * address (a neighbour's MAC, a multicast one) would make the bridge, and
 * through vnetd's VARP announces every host on the vnet, send that MAC's
 * traffic to this guest. Dropped and counted, the first one logged. */
static int net_spoofed(struct vmm_net_dev *d, const uint8_t *frame)
{
	if (memcmp(frame + 6, d->mac, 6) == 0)
		return 0;
	d->c.tx_spoofed++;
	if (!d->spoof_logged) {
		d->spoof_logged = 1;
		log_warn("domain %s: vif %u: the guest sends frames from "
			 "%02x:%02x:%02x:%02x:%02x:%02x, not its MAC: dropped (counted as spoofed)",
			 d->vmm->cfg.name, d->idx, frame[6], frame[7], frame[8], frame[9],
			 frame[10], frame[11]);
	}
	return 1;
}

/* Guest TX ring -> TAP. Returns the frames taken. */
static unsigned net_tx(struct vmm_net_dev *d)
{
	int n = vmm_net_ring_pending(&d->tx);
	unsigned i;

	if (n <= 0)
		return 0;
	if ((unsigned)n > NET_BATCH)
		n = NET_BATCH;
	for (i = 0; i < (unsigned)n; i++) {
		uint32_t len;
		uint8_t hdr[TERN_NET_FRAME_MIN];
		uint8_t *p = vmm_net_ring_desc(&d->tx, i, 0, &len);
		if (!p)
			break;
		/* The header is checked and sent from one copy: the guest may
		 * rewrite its buffer at any time (len >= the header, checked). */
		memcpy(hdr, p, sizeof(hdr));
		struct iovec iov[2] = {{hdr, sizeof(hdr)}, {p + sizeof(hdr), len - sizeof(hdr)}};
		if (net_spoofed(d, hdr))
			continue;
		if (d->tap_fd < 0 || d->tap_lost || writev(d->tap_fd, iov, 2) != (ssize_t)len) {
			d->c.tx_err++;
			continue;
		}
		d->c.tx_frames++;
		d->c.tx_bytes += len;
		net_first_frame(d, hdr, 0);
	}
	net_dirty_ring(&d->vmm->net, &d->tx);
	if (i && vmm_net_ring_publish(&d->tx, i))
		net_wake(d);
	return i;
}

/* TAP -> the guest's posted RX buffers. A frame too short for Ethernet or
 * longer than TERN_NET_FRAME_MAX (its tail lands in the scratch buffer) is
 * dropped and counted; its buffer is used for the next one. Returns the
 * frames read, dropped ones included. */
static unsigned net_rx(struct vmm_net_dev *d)
{
	int n = d->tap_fd < 0 || d->tap_lost ? 0 : vmm_net_ring_pending(&d->rx);
	unsigned i = 0, reads = 0;

	if (n <= 0)
		return 0;
	if ((unsigned)n > NET_BATCH)
		n = NET_BATCH;
	while (i < (unsigned)n && reads < 2 * NET_BATCH) {
		uint32_t cap;
		void *p = vmm_net_ring_desc(&d->rx, i, 1, &cap);
		if (!p)
			break;
		struct iovec iov[2] = {{p, cap}, {net_scratch[d->idx], NET_SCRATCH}};
		ssize_t r = readv(d->tap_fd, iov, 2);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				d->c.rx_err++;
				net_tap_lost(d, strerror(errno));
			}
			break;
		}
		reads++;
		if (r < TERN_NET_FRAME_MIN) {
			d->c.rx_runt++;
			continue;
		}
		if (r > TERN_NET_FRAME_MAX) {
			d->c.rx_oversize++;
			continue;
		}
		vmm_net_ring_set_len(&d->rx, i, (uint32_t)r);
		net_first_frame(d, p, 1);
		net_dirty(&d->vmm->net, (uint64_t)((uint8_t *)p - d->vmm->vm->mem.base),
			  (uint64_t)r);
		d->c.rx_frames++;
		d->c.rx_bytes += (uint64_t)r;
		i++;
	}
	net_dirty_ring(&d->vmm->net, &d->rx);
	if (i && vmm_net_ring_publish(&d->rx, i))
		net_wake(d);
	return reads;
}

/* The domain runs (not paused, halted or crashed). */
static int net_running(struct vmm *vmm)
{
	int run;

	pthread_mutex_lock(&vmm->lock);
	run = !vmm->pause_req && !vmm->stop_req && vmm->state == VMM_RUNNING;
	pthread_mutex_unlock(&vmm->lock);
	return run;
}

static void net_log_broken(struct vmm_net_dev *d)
{
	struct vmm_net_ring *r = d->tx.err ? &d->tx : &d->rx;

	if (d->broken_logged || (!d->tx.err && !d->rx.err))
		return;
	d->broken_logged = 1;
	log_warn("domain %s: vif %u: guest broke its %s ring (%s): device stopped (used %u, "
		 "available %u)",
		 d->vmm->cfg.name, d->idx, r == &d->tx ? "TX" : "RX", vmm_net_ring_err_name(r->err),
		 r->used, r->err == VMM_NET_RING_EINDEX ? r->bad_avail : r->avail);
}

/* Sleeps until a kick, a frame (while RX buffers are posted) or stop.
 * Returns 0 on stop. */
static int net_sleep(struct vmm_net_dev *d, int run)
{
	struct vmm_net *net = &d->vmm->net;
	struct pollfd p[3] = {{net->stop_fd, POLLIN, 0}, {d->kick_fd, POLLIN, 0}, {-1, POLLIN, 0}};
	int awake = 0, timeout;
	uint64_t v;

	pthread_mutex_lock(&net->busy);
	run = run && net_running(d->vmm); /* a pause may have come since the batch */
	timeout = run ? -1 : NET_PAUSED_POLL_MS;
	if (run && !d->tx.err && !d->rx.err) {
		int txp = vmm_net_ring_notify(&d->tx, 1);
		int rxp = vmm_net_ring_notify(&d->rx, 1);
		net_dirty_ring(net, &d->tx);
		net_dirty_ring(net, &d->rx);
		awake = txp > 0;
		if (rxp > 0) {
			vmm_net_ring_notify(&d->rx, 0); /* buffers there: no kick needed */
			p[2].fd = d->tap_lost ? -1 : d->tap_fd;
		}
	}
	/* Under the lock: vmm_net_incoming_announce() sets the schedule from
	 * the I/O thread. */
	if (d->announce_left) {
		int64_t ms = (int64_t)(d->announce_next - net_now_ms());
		if (ms <= 0) {
			net_announce(d);
			d->announce_left--;
			d->announce_next =
			    net_now_ms() + NET_ANNOUNCE_STEP_MS * (4u - d->announce_left);
			ms = d->announce_left ? (int64_t)NET_ANNOUNCE_STEP_MS : -1;
		}
		if (ms >= 0 && (timeout < 0 || ms < timeout))
			timeout = (int)ms;
	}
	pthread_mutex_unlock(&net->busy);
	if (!awake && poll(p, 3, timeout) < 0 && errno != EINTR)
		log_warn("vif %u: poll: %s", d->idx, strerror(errno));
	if (p[2].fd >= 0 && (p[2].revents & (POLLERR | POLLHUP | POLLNVAL)))
		net_tap_lost(d, "poll error");
	int kicked = read(d->kick_fd, &v, sizeof(v)) == sizeof(v);
	if (kicked && __atomic_exchange_n(&d->resume_kick, 0, __ATOMIC_ACQ_REL))
		v--; /* vmm_net_resumed()'s, not the guest's */
	pthread_mutex_lock(&net->busy);
	if (kicked)
		d->c.kicks += v;
	if (run && net_running(d->vmm) && !d->tx.err && !d->rx.err) {
		vmm_net_ring_notify(&d->tx, 0);
		vmm_net_ring_notify(&d->rx, 0);
	}
	pthread_mutex_unlock(&net->busy);
	return !p[0].revents;
}

static void *net_thread(void *arg)
{
	struct vmm_net_dev *d = arg;
	struct vmm_net *net = &d->vmm->net;

	for (;;) {
		unsigned work = 0;
		pthread_mutex_lock(&net->busy);
		int run = net_running(d->vmm);
		if (run) {
			work = net_tx(d);
			work += net_rx(d);
			net_log_broken(d);
		}
		pthread_mutex_unlock(&net->busy);
		if (work)
			continue;
		if (!net_sleep(d, run))
			break;
	}
	return NULL;
}

/* A RARP broadcast from the vif's MAC, as QEMU and Xen send after a
 * migration: the bridge (and any switch) learns where the MAC is now even
 * before the guest sends anything. */
static void net_announce(struct vmm_net_dev *d)
{
	uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	memcpy(f + 6, d->mac, 6);
	f[12] = 0x80, f[13] = 0x35;		    /* ETH_P_RARP */
	f[14] = 0x00, f[15] = 0x01;		    /* Ethernet */
	f[16] = 0x08, f[17] = 0x00;		    /* IPv4 */
	f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 3; /* reverse request */
	memcpy(f + 22, d->mac, 6);
	memcpy(f + 32, d->mac, 6);
	if (d->tap_fd >= 0 && write(d->tap_fd, f, sizeof(f)) != (ssize_t)sizeof(f))
		log_warn("domain %s: vif %u: RARP announce: %s", d->vmm->cfg.name, d->idx,
			 strerror(errno));
	else if (d->tap_fd >= 0 && !d->announce_left) /* the first of four */
		log_info("domain %s: vif %u: announced %02x:%02x:%02x:%02x:%02x:%02x",
			 d->vmm->cfg.name, d->idx, d->mac[0], d->mac[1], d->mac[2], d->mac[3],
			 d->mac[4], d->mac[5]);
}

int vmm_net_start(struct vmm *vmm)
{
	struct vmm_net *net = &vmm->net;

	for (unsigned i = 0; i < net->ndevs; i++) {
		struct vmm_net_dev *d = &net->dev[i];
		d->c.first_frame_us = d->c.first_tx_us = UINT64_MAX;
		if (net->restored && d->tap_fd >= 0) {
			net_announce(d);
			d->announce_left = 3;
			d->announce_next = net_now_ms() + NET_ANNOUNCE_STEP_MS;
			/* the vCPUs start after the threads */
			d->resumed_ns = d->resumed_tx_ns = net_now_ns();
		}
		int rc = pthread_create(&d->thread, NULL, net_thread, d);
		if (rc)
			return -rc;
		d->started = 1;
	}
	return 0;
}

void vmm_net_fini(struct vmm *vmm)
{
	struct vmm_net *net = &vmm->net;
	uint64_t one = 1;

	if (net->stop_fd < 0)
		return;
	if (write(net->stop_fd, &one, sizeof(one)) < 0)
		log_warn("net: stop: %s", strerror(errno));
	for (unsigned i = 0; i < net->ndevs; i++) {
		struct vmm_net_dev *d = &net->dev[i];
		if (d->started)
			pthread_join(d->thread, NULL);
		d->started = 0;
		log_info(
		    "domain %s: vif %u: rx %llu frames %llu bytes, tx %llu frames %llu "
		    "bytes, dropped rx runt %llu oversize %llu error %llu, tx %llu spoofed %llu, "
		    "kicks %llu wakes %llu",
		    vmm->cfg.name, i, (unsigned long long)d->c.rx_frames,
		    (unsigned long long)d->c.rx_bytes, (unsigned long long)d->c.tx_frames,
		    (unsigned long long)d->c.tx_bytes, (unsigned long long)d->c.rx_runt,
		    (unsigned long long)d->c.rx_oversize, (unsigned long long)d->c.rx_err,
		    (unsigned long long)d->c.tx_err, (unsigned long long)d->c.tx_spoofed,
		    (unsigned long long)d->c.kicks, (unsigned long long)d->c.wakes);
		int fds[3] = {d->tap_fd, d->kick_fd, d->wake_fd};
		for (int k = 0; k < 3; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		d->tap_fd = d->kick_fd = d->wake_fd = -1;
	}
	close(net->stop_fd);
	net->stop_fd = -1;
	free(net->dirty);
	net->dirty = NULL;
	net->ndevs = 0;
	pthread_mutex_destroy(&net->busy);
}

int vmm_net_kick(struct vmm *vmm, uint32_t dev)
{
	uint64_t one = 1;

	if (dev >= vmm->net.ndevs)
		return -TERN_ENODEV;
	if (write(vmm->net.dev[dev].kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("vif %u: kick: %s", dev, strerror(errno));
	return 0;
}

int vmm_net_yield_fds(struct vmm *vmm, uint64_t wait_set, struct pollfd *pfd, int cap)
{
	int n = 0;

	for (unsigned i = 0; i < vmm->net.ndevs && n < cap; i++)
		if (wait_set & TERN_READY_NET(i))
			pfd[n++] = (struct pollfd){vmm->net.dev[i].wake_fd, POLLIN, 0};
	return n;
}

uint64_t vmm_net_yield_ready(struct vmm *vmm, struct pollfd *pfd, int n)
{
	uint64_t ready = 0, v;

	for (int k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		for (unsigned i = 0; i < vmm->net.ndevs; i++) {
			if (vmm->net.dev[i].wake_fd != pfd[k].fd)
				continue;
			if (read(pfd[k].fd, &v, sizeof(v)) < 0)
				log_debug("vif %u: wake read: %s", i, strerror(errno));
			ready |= TERN_READY_NET(i);
		}
	}
	return ready;
}

int vmm_net_counters_get(struct vmm *vmm, unsigned i, struct vmm_net_counters *out)
{
	struct vmm_net *net = &vmm->net;

	if (i >= net->ndevs || net->stop_fd < 0)
		return -ENODEV;
	pthread_mutex_lock(&net->busy);
	*out = net->dev[i].c;
	pthread_mutex_unlock(&net->busy);
	return 0;
}

void vmm_net_resumed(struct vmm *vmm)
{
	struct vmm_net *net = &vmm->net;
	uint64_t one = 1;

	for (unsigned i = 0; net->stop_fd >= 0 && i < net->ndevs; i++) {
		struct vmm_net_dev *d = &net->dev[i];
		if (__atomic_exchange_n(&d->resume_kick, 1, __ATOMIC_ACQ_REL))
			continue; /* one is still pending */
		if (write(d->kick_fd, &one, sizeof(one)) < 0) {
			__atomic_store_n(&d->resume_kick, 0, __ATOMIC_RELEASE);
			log_debug("vif %u: resume kick: %s", i, strerror(errno));
		}
	}
}

void vmm_net_quiesce(struct vmm *vmm)
{
	if (vmm->net.stop_fd < 0)
		return;
	pthread_mutex_lock(&vmm->net.busy);
	pthread_mutex_unlock(&vmm->net.busy);
}

/* DEVICE kind 3: the codec is vmm_net_state.c. */
static int net_dev_save(void *ctx, void *buf)
{
	struct vmm_net *net = &((struct vmm *)ctx)->net;
	struct vmm_net_saved st;

	memset(&st, 0, sizeof(st));
	st.ndevs = net->ndevs;
	for (unsigned i = 0; i < net->ndevs; i++) {
		memcpy(st.dev[i].mac, net->dev[i].mac, 6);
		st.dev[i].tx_used = net->dev[i].tx.used;
		st.dev[i].rx_used = net->dev[i].rx.used;
	}
	vmm_net_state_encode(&st, buf);
	return 0;
}

static int net_dev_load(void *ctx, const void *buf, char *why, size_t whylen)
{
	struct vmm_net *net = &((struct vmm *)ctx)->net;
	int rc = vmm_net_state_decode(buf, &net->saved, why, whylen);

	if (rc == 0)
		net->have_saved = 1;
	return rc;
}

const struct hv_dev_ops vmm_net_dev_ops = {
    .kind = VMM_NET_DEV_KIND,
    .name = "net",
    .size = VMM_NET_STATE_SIZE,
    .required = 0,
    .save = net_dev_save,
    .load = net_dev_load,
};

int vmm_net_ring_broken(struct vmm *vmm, unsigned i, int *rx, enum vmm_net_ring_err *why)
{
	struct vmm_net *net = &vmm->net;
	struct vmm_net_dev *d;

	if (i >= net->ndevs || net->stop_fd < 0)
		return -ENODEV;
	d = &net->dev[i];
	pthread_mutex_lock(&net->busy);
	*rx = !d->tx.err && d->rx.err; /* net_log_broken names TX first, so do we */
	*why = d->tx.err ? d->tx.err : d->rx.err;
	pthread_mutex_unlock(&net->busy);
	return 0;
}
