/*
 * What survives a restart, under state-dir/vnetd/:
 *
 *   vnets/<id>.sxp      one (vnet ...) per vnet, every key explicit, the
 *                       key-file path kept (never the key itself)
 *   vnets/<id>.created  present iff vnetd created the bridge (delete removes it)
 *   peers               one host per line, as given to peer-add
 *
 * Every file is replaced atomically (temp file, fsync, rename, fsync of
 * the directory), so a crash leaves the old or the new version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "vnetd.h"

#define PERSIST_PATH 512

static int persist_mkdir(const char *path, unsigned mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int persist_mkdirs(const char *path, unsigned mode)
{
	char buf[PERSIST_PATH];
	int rc;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = persist_mkdir(buf, mode);
		*p = '/';
		if (rc < 0)
			return rc;
	}
	return persist_mkdir(buf, mode);
}

static int persist_path(const struct vnetd *d, char *out, const char *fmt, const char *arg)
{
	char tail[128];
	int n;

	snprintf(tail, sizeof(tail), fmt, arg);
	n = snprintf(out, PERSIST_PATH, "%s/vnetd/%s", d->conf.state_dir, tail);
	return n < PERSIST_PATH ? 0 : -ENAMETOOLONG;
}

int persist_init(struct vnetd *d)
{
	char path[PERSIST_PATH];
	int rc = persist_path(d, path, "vnets", "");

	if (rc == 0)
		rc = persist_mkdirs(path, 0700);
	if (rc < 0)
		log_error("state-dir %s: %s", d->conf.state_dir, strerror(-rc));
	return rc;
}

bool persist_vnet_created(struct vnetd *d, const struct vnet_id *vid)
{
	char path[PERSIST_PATH], id[VNET_ID_STRLEN];

	vnet_id_str(vid, id);
	return persist_path(d, path, "vnets/%s.created", id) == 0 && access(path, F_OK) == 0;
}

static int persist_fsync_dir(const char *path)
{
	char dir[PERSIST_PATH];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int persist_write_file(const char *path, const char *data, size_t len, unsigned mode)
{
	char tmp[PERSIST_PATH + 8];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0 && rc == 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		if (w > 0) {
			data += w;
			len -= (size_t)w;
		}
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	return persist_fsync_dir(path);
}

int persist_vnet_save(struct vnetd *d, const struct vnetd_vnet *v)
{
	char path[PERSIST_PATH], id[VNET_ID_STRLEN], text[1024];
	size_t n = vnet_conf_format(&v->conf, text, sizeof(text));
	int rc;

	vnet_id_str(&v->conf.id, id);
	if (n >= sizeof(text))
		return -ENAMETOOLONG;
	rc = persist_path(d, path, "vnets/%s.created", id);
	if (rc == 0 && v->bridge_created)
		rc = persist_write_file(path, "", 0, 0600);
	else if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc == 0)
		rc = persist_path(d, path, "vnets/%s.sxp", id);
	if (rc == 0)
		rc = persist_write_file(path, text, n, 0600);
	return rc;
}

int persist_vnet_remove(struct vnetd *d, const struct vnet_id *vid)
{
	char path[PERSIST_PATH], id[VNET_ID_STRLEN];
	int rc;

	vnet_id_str(vid, id);
	rc = persist_path(d, path, "vnets/%s.created", id);
	if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc == 0)
		rc = persist_path(d, path, "vnets/%s.sxp", id);
	if (rc == 0 && unlink(path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = persist_fsync_dir(path);
	return rc;
}

int persist_peers_save(struct vnetd *d)
{
	char path[PERSIST_PATH];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return -errno;
	for (const struct vnetd_peer *p = d->peers; p; p = p->next)
		fprintf(f, "%s\n", p->host);
	fclose(f);
	rc = persist_path(d, path, "peers", "");
	if (rc == 0)
		rc = persist_write_file(path, text, len, 0600);
	free(text);
	return rc;
}

/* Reads a small whole file into buf (NUL-terminated). */
/* One saved vnet file: exactly one (vnet ...). 0, or -EINVAL (logged). */
static int persist_read_vnet(const char *dir, const char *name, struct vnet_conf *conf)
{
	char path[PERSIST_PATH * 2];
	struct sxp_error err;
	struct sxp_node *doc;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	doc = sxp_parse_file(path, &err);
	if (!doc) {
		log_error("%s", err.msg);
		return -EINVAL;
	}
	rc = doc->nkids == 1 ? vnet_conf_from_sxp(doc->kids, conf, &err)
			     : sxp_errorf(&err, doc, "expected one (vnet ...)");
	sxp_free(doc);
	if (rc < 0)
		log_error("%s", err.msg);
	return rc < 0 ? -EINVAL : 0;
}

static bool persist_is_vnet_file(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".sxp") == 0;
}

static int persist_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of vnets/<stem>.sxp, sorted, so restores go in one order. */
static int persist_vnet_names(const char *dir, char ***names, size_t *n)
{
	struct dirent *e;
	size_t cap = 0;
	DIR *dp = opendir(dir);
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (!dp) {
		log_error("%s: %s", dir, strerror(errno));
		return 0;
	}
	while (rc == 0 && (e = readdir(dp)) != NULL) {
		if (!persist_is_vnet_file(e->d_name))
			continue;
		if (*n == cap) {
			char **l = realloc(*names, (cap = cap ? 2 * cap : 8) * sizeof(*l));
			if (!l) {
				rc = -ENOMEM;
				break;
			}
			*names = l;
		}
		if (!((*names)[*n] = strdup(e->d_name)))
			rc = -ENOMEM;
		else
			(*n)++;
	}
	closedir(dp);
	if (*n)
		qsort(*names, *n, sizeof(**names), persist_name_cmp);
	return rc;
}

static int persist_read_vnets(struct vnetd *d, struct persist_state *st)
{
	char dir[PERSIST_PATH], **names;
	size_t n;
	int rc;

	if (persist_path(d, dir, "vnets", "") < 0)
		return 0;
	rc = persist_vnet_names(dir, &names, &n);
	if (rc == 0 && n && !(st->vnets = calloc(n, sizeof(*st->vnets))))
		rc = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && persist_read_vnet(dir, names[i], &st->vnets[st->nvnets]) == 0)
			st->nvnets++;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Appends one host (shorter than VN_CTL_HOST). */
static int persist_add_peer(struct persist_state *st, size_t *cap, const char *host)
{
	if (st->npeers == *cap) {
		char(*l)[VN_CTL_HOST] =
		    realloc(st->peers, (*cap = *cap ? 2 * *cap : 8) * sizeof(*l));
		if (!l)
			return -ENOMEM;
		st->peers = l;
	}
	snprintf(st->peers[st->npeers++], VN_CTL_HOST, "%s", host);
	return 0;
}

static int persist_read_peers(struct vnetd *d, struct persist_state *st)
{
	char path[PERSIST_PATH], line[VN_CTL_HOST + 2];
	unsigned lineno = 0;
	bool rest = false; /* reading on in a line too long for a host */
	size_t cap = 0;
	int rc = 0;
	FILE *f;

	if (persist_path(d, path, "peers", "") < 0)
		return 0;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_error("%s: %s", path, strerror(errno));
		return 0;
	}
	while (rc == 0) {
		memset(line, 0, sizeof(line)); /* so the newline is found past NUL bytes */
		if (!fgets(line, sizeof(line), f))
			break;
		bool whole = memchr(line, '\n', sizeof(line)) || feof(f);
		if (rest) {
			rest = !whole;
			continue;
		}
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		/* Neither cut in pieces nor truncated: each would be a wrong host. */
		if (!whole || strlen(line) >= VN_CTL_HOST) {
			log_error("%s: line %u: longer than a host name (%d bytes), skipped", path,
				  lineno, VN_CTL_HOST - 1);
			rest = !whole;
			continue;
		}
		if (line[0])
			rc = persist_add_peer(st, &cap, line);
	}
	fclose(f);
	return rc;
}

int persist_read(struct vnetd *d, struct persist_state *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = persist_read_vnets(d, st);
	if (rc == 0)
		rc = persist_read_peers(d, st);
	if (rc < 0) {
		log_error("state dir: %s", strerror(-rc));
		persist_state_free(st);
	}
	return rc;
}

void persist_state_free(struct persist_state *st)
{
	free(st->vnets);
	free(st->peers);
	memset(st, 0, sizeof(*st));
}
