/*
 * vm console DOM: migrated sends the recent console output, then what the
 * guest writes; what we read from stdin goes to the guest's console input.
 * On a terminal stdin is raw; Ctrl-] (0x1d) detaches, as in xl. Ends when
 * the domain ends (exit 0) or on Ctrl-].
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mig_ctl.h"
#include "vm.h"

#define VM_DETACH 0x1d

static struct termios vm_tio_saved;
static bool vm_tio_raw;

static void vm_tio_restore(void)
{
	if (vm_tio_raw)
		tcsetattr(0, TCSANOW, &vm_tio_saved);
	vm_tio_raw = false;
}

static void vm_tio_make_raw(void)
{
	struct termios t;

	if (!isatty(0) || tcgetattr(0, &vm_tio_saved) < 0)
		return;
	t = vm_tio_saved;
	cfmakeraw(&t);
	if (tcsetattr(0, TCSANOW, &t) == 0)
		vm_tio_raw = true;
}

/* Stdin to the guest; returns 1 on Ctrl-], 0 on, -1 at EOF. */
static int vm_console_in(struct vm_ctx *v)
{
	uint8_t buf[512];
	ssize_t n = read(0, buf, sizeof(buf));
	uint8_t *stop;

	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	stop = memchr(buf, VM_DETACH, (size_t)n);
	if (stop)
		n = stop - buf;
	if (n > 0)
		ctl_send(v->fd, MIG_CTL_CONSOLE_IN, 0, buf, (uint32_t)n);
	return stop ? 1 : 0;
}

/* One message from migrated: 1 more to come, 0 the end, <0 failure. */
static int vm_console_out(struct vm_ctx *v)
{
	struct ctl_hdr h;
	int n = ctl_recv(v->fd, &h, v->buf, sizeof(v->buf));

	if (n < 0) {
		vm_tio_restore();
		fprintf(stderr, "vm: console: %s\n", strerror(-n));
		return n;
	}
	if (h.flags & CTL_F_ERROR) {
		vm_tio_restore();
		vm_print_error(v->buf, (size_t)n);
		return -EIO;
	}
	if (n > 0 && write(1, v->buf, (size_t)n) < 0)
		return -errno;
	return (h.flags & CTL_F_MORE) ? 1 : 0;
}

int vm_cmd_console(struct vm_ctx *v, int argc, char **argv)
{
	char buf[MIG_CTL_DOM_MAX];
	struct pollfd pf[2];
	bool in_open = true;
	int n, rc = 0;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: vm console DOM   (Ctrl-] detaches)\n");
		return 0;
	}
	if (argc != 2 || (n = mig_ctl_dom_enc(argv[1], buf, sizeof(buf))) < 0) {
		fprintf(stderr, "usage: vm console DOM\n");
		return VM_EXIT_USAGE;
	}
	if (vm_connect(v, 0) < 0)
		return VM_EXIT_USAGE;
	if ((rc = ctl_send(v->fd, MIG_CTL_CONSOLE, 0, buf, (uint32_t)n)) < 0) {
		fprintf(stderr, "vm: %s: %s\n", v->sock, strerror(-rc));
		return VM_EXIT_USAGE;
	}
	vm_tio_make_raw();
	for (;;) {
		pf[0] = (struct pollfd){.fd = v->fd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = in_open ? 0 : -1, .events = POLLIN};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents) {
			int r = vm_console_in(v);
			if (r > 0)
				break;
			if (r < 0)
				in_open = false;
		}
		if (pf[0].revents) {
			rc = vm_console_out(v);
			if (rc <= 0)
				break;
			rc = 0;
		}
	}
	vm_tio_restore();
	return rc == -EIO ? VM_EXIT_FAILED : rc < 0 ? VM_EXIT_USAGE : 0;
}
