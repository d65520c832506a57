/* The status document answered on CTL_VMM_STATUS. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "json.h"
#include "vmm.h"

const char *vmm_state_name(enum vmm_state st)
{
	static const char *const names[] = {"running", "paused", "crashed", "halted"};

	return (unsigned)st < 4 ? names[st] : "unknown";
}

static int vmm_json(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int vmm_json(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= cap)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *off)
		return -ENOSPC;
	*off += (size_t)n;
	return 0;
}

/* A JSON string, escaped by the project's one escaper (common/json.c). */
static int vmm_json_str(char *buf, size_t cap, size_t *off, const char *s)
{
	return json_str_append(buf, cap, off, s);
}

int vmm_status_json(struct vmm *vmm, char *buf, size_t cap)
{
	struct timespec now;
	struct rusage ru;
	size_t off = 0;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	getrusage(RUSAGE_SELF, &ru);
	double uptime = (double)(now.tv_sec - vmm->started.tv_sec) +
			(double)(now.tv_nsec - vmm->started.tv_nsec) / 1e9;
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	uint64_t drop_out, drop_log;
	vmm_console_dropped(vmm, &drop_out, &drop_log);
	pthread_mutex_lock(&vmm->lock);
	rc |= vmm_json(buf, cap, &off, "{\"name\":");
	rc |= vmm_json_str(buf, cap, &off, vmm->cfg.name);
	rc |= vmm_json(buf, cap, &off,
		       ",\"id\":%d,\"pid\":%d,\"state\":\"%s\",\"memory_mib\":%u,\"vcpus\":%u,"
		       "\"uptime_s\":%.3f,\"cpu_time_s\":%.3f,\"console_bytes_out\":%llu,"
		       "\"console_dropped_stdout\":%llu,\"console_dropped_log\":%llu,\"kernel\":",
		       (int)getpid(), (int)getpid(), vmm_state_name(vmm->state),
		       vmm->cfg.memory_mib, vmm->cfg.vcpus, uptime, cpu,
		       (unsigned long long)__atomic_load_n(&vmm->bytes_out, __ATOMIC_RELAXED),
		       (unsigned long long)drop_out, (unsigned long long)drop_log);
	rc |= vmm_json_str(buf, cap, &off, vmm->cfg.kernel);
	rc |= vmm_json(buf, cap, &off, ",\"extra\":");
	rc |= vmm_json_str(buf, cap, &off, vmm->cfg.extra);
	rc |= vmm_json(buf, cap, &off, ",\"vif\":[");
	for (unsigned i = 0; i < vmm->cfg.nvifs; i++) {
		rc |= vmm_json(buf, cap, &off, i ? "," : "");
		rc |= vmm_json_str(buf, cap, &off, vmm->cfg.vif[i].text);
	}
	rc |= vmm_json(buf, cap, &off, "]");
	if (vmm->state == VMM_HALTED)
		rc |=
		    vmm_json(buf, cap, &off, ",\"halt_status\":%lld", (long long)vmm->halt_status);
	if (vmm->state == VMM_CRASHED) {
		rc |= vmm_json(buf, cap, &off, ",\"crash\":");
		rc |= vmm_json_str(buf, cap, &off, vmm->crash);
	}
	pthread_mutex_unlock(&vmm->lock);
	rc |= vmm_json(buf, cap, &off, "}");
	return rc ? -ENOSPC : (int)off;
}
