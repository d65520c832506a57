/* Console: guest output to stdout and the console log; input from stdin
 * unless it is /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

static void vmm_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a closed stdout must not stop the guest */
		p += w;
		n -= (size_t)w;
	}
}

void vmm_console_out(struct vmm *vmm, const void *p, size_t n)
{
	vmm_write_all(STDOUT_FILENO, p, n);
	if (vmm->console_log_fd >= 0)
		vmm_write_all(vmm->console_log_fd, p, n);
	__atomic_add_fetch(&vmm->bytes_out, n, __ATOMIC_RELAXED);
}

size_t vmm_console_in(struct vmm *vmm, void *p, size_t n)
{
	struct pollfd pfd = {vmm->console_in_fd, POLLIN, 0};

	if (vmm->console_in_fd < 0 || n == 0 || poll(&pfd, 1, 0) <= 0)
		return 0;
	ssize_t r = read(vmm->console_in_fd, p, n);
	if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
		vmm->console_in_fd = -1; /* EOF: stop polling it */
		return 0;
	}
	if (r < 0)
		return 0;
	__atomic_add_fetch(&vmm->bytes_in, (uint64_t)r, __ATOMIC_RELAXED);
	return (size_t)r;
}

static int vmm_stdin_usable(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return 0;
	/* /dev/null is char device 1:3 */
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
		return 0;
	return 1;
}

int vmm_console_init(struct vmm *vmm, const char *log_path)
{
	vmm->console_in_fd = vmm_stdin_usable() ? STDIN_FILENO : -1;
	vmm->console_log_fd = -1;
	if (!log_path)
		return 0;
	vmm->console_log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	return vmm->console_log_fd < 0 ? -errno : 0;
}

void vmm_console_fini(struct vmm *vmm)
{
	if (vmm->console_log_fd >= 0)
		close(vmm->console_log_fd);
	vmm->console_log_fd = -1;
}
