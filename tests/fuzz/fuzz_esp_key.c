/*
 * The vnet key file reader (esp_key_read) on arbitrary file contents. The
 * harness makes one temp dir ($TMPDIR or /tmp) at the first input and
 * rewrites one file in it per input, owned by us; byte 0 picks the file's
 * mode (bits 0-1: 0600, 0400, 0640, 0604) and how the reason is asked for
 * (bits 2-3: 256 bytes, 8 bytes, none, NULL); the rest is the file.
 * Checked against a reference reading of the format: 64 hex digits and an
 * optional newline, nothing else, in a file group and others cannot
 * access; an accepted key has the bytes the digits spell, a refusal names
 * the path first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esp_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], path[300];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static int setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (snprintf(dir, sizeof(dir), "%s/fuzz_esp_key.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
		(int)sizeof(dir) ||
	    !mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/key", dir);
	atexit(cleanup);
	return 0;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The format, read independently: 0 and the key, or -EINVAL. */
static int reference(const uint8_t *p, size_t n, struct esp_key *key)
{
	if (n != 2 * ESP_KEY_LEN && !(n == 2 * ESP_KEY_LEN + 1 && p[n - 1] == '\n'))
		return -EINVAL;
	for (size_t i = 0; i < ESP_KEY_LEN; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		key->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int put_file(const uint8_t *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -1;
	if ((n && write(fd, p, n) != (ssize_t)n) || fchmod(fd, mode) < 0)
		rc = -1;
	close(fd);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mode_t modes[4] = {0600, 0400, 0640, 0604};
	static const size_t whylens[4] = {256, 8, 0, 0};
	static int ready;
	struct esp_key got, want;
	char why[256];
	int rc, ref;

	if (!ready && setup() < 0)
		abort(); /* the environment, not the input */
	ready = 1;
	if (size < 1)
		return 0;
	mode_t mode = modes[data[0] & 3];
	size_t whylen = whylens[(data[0] >> 2) & 3];
	if (put_file(data + 1, size - 1, mode) < 0)
		abort();
	memset(why, 0x55, sizeof(why));
	memset(&got, 0xee, sizeof(got));
	rc = esp_key_read(path, &got, ((data[0] >> 2) & 3) == 3 ? NULL : why, whylen);
	ref = (mode & 077) ? -EACCES : reference(data + 1, size - 1, &want);
	if (rc != ref)
		__builtin_trap();
	if (rc == 0 && memcmp(&got, &want, sizeof(got)) != 0)
		__builtin_trap();
	if (rc < 0 && whylen == sizeof(why) &&
	    (strncmp(why, path, strlen(path)) != 0 || strncmp(why + strlen(path), ": ", 2) != 0))
		__builtin_trap();
	if (whylen == 0 && why[0] != 0x55)
		__builtin_trap(); /* no room means not a byte written */
	esp_key_wipe(&got);
	return 0;
}
