/*
 * vnetd's config parser (vnetd_conf_apply over sxp_parse) on arbitrary
 * text, and every 16th input also through vnetd_conf_load from a temp
 * file, as vnetd -c reads it. Accepted configs must hold what the parser
 * promises: a multicast group, a port, a usable interface name, absolute
 * NUL-terminated paths, a varp-ttl in range; a refusal must come with a
 * "file:line:col: " message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnetd_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ok(const struct vnetd_conf *c)
{
	if (c->group.b[12] < 224 || c->group.b[12] > 239 || !vnet_addr_is_v4(&c->group))
		__builtin_trap();
	if (c->has_underlay_addr && !vnet_addr_is_v4(&c->underlay_addr))
		__builtin_trap();
	if (c->port == 0 || c->varp_ttl < 3 || c->varp_ttl > 86400)
		__builtin_trap();
	if (!memchr(c->underlay_if, '\0', sizeof(c->underlay_if)) || !c->underlay_if[0] ||
	    strchr(c->underlay_if, '/'))
		__builtin_trap();
	if (!memchr(c->control_socket, '\0', sizeof(c->control_socket)) ||
	    !memchr(c->runtime_dir, '\0', sizeof(c->runtime_dir)) ||
	    !memchr(c->state_dir, '\0', sizeof(c->state_dir)))
		__builtin_trap();
	if (c->control_socket[0] != '/' || c->runtime_dir[0] != '/' || c->state_dir[0] != '/')
		__builtin_trap();
	if (c->log_level > LOG_LVL_DEBUG)
		__builtin_trap();
}

static void check_refused(const struct sxp_error *err, const char *name)
{
	size_t n = strlen(name);

	if (!memchr(err->msg, '\0', sizeof(err->msg)) || strncmp(err->msg, name, n) != 0 ||
	    err->msg[n] != ':')
		__builtin_trap();
}

static void from_file(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz_vnetdconf.XXXXXX";
	struct vnetd_conf c;
	struct sxp_error err;
	int fd = mkstemp(path);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		if (vnetd_conf_load(&c, path, false, &err) == 0)
			check_ok(&c);
		else
			check_refused(&err, path);
	}
	close(fd);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned calls;
	struct vnetd_conf c;
	struct sxp_error err;
	struct sxp_node *doc;

	vnetd_conf_defaults(&c);
	check_ok(&c);
	doc = sxp_parse("f.sxp", (const char *)data, size, &err);
	if (doc) {
		if (vnetd_conf_apply(&c, doc, &err) == 0)
			check_ok(&c);
		else
			check_refused(&err, "f.sxp");
		sxp_free(doc);
	} else {
		check_refused(&err, "f.sxp");
	}
	if (calls++ % 16 == 0)
		from_file(data, size);
	return 0;
}
