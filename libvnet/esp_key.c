/*
 * Key files and HKDF derivation of per-sender SAs (docs/wire.md "Keys").
 */
#include "esp_key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX (2 * ESP_KEY_LEN)

static int why_set(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats the message and returns err, so callers can `return why_set(..)`. */
static int why_set(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Parses the file's bytes: exactly KEY_HEX hex digits, then "\n" or EOF. */
static int key_parse(const char *path, const uint8_t *buf, size_t n, struct esp_key *key, char *why,
		     size_t whylen)
{
	size_t digits = 0;

	while (digits < n && OPENSSL_hexchar2int(buf[digits]) >= 0)
		digits++;
	if (digits >= KEY_HEX) {
		if (digits > KEY_HEX || n > KEY_HEX + 1 ||
		    (n == KEY_HEX + 1 && buf[KEY_HEX] != '\n'))
			return why_set(why, whylen, -EINVAL,
				       "%s: unexpected data after the %d hex digits", path,
				       KEY_HEX);
	} else if (digits < n && buf[digits] != '\n') {
		return why_set(why, whylen, -EINVAL, "%s: byte %zu is not a hex digit", path,
			       digits + 1);
	} else {
		return why_set(why, whylen, -EINVAL,
			       "%s: expected %d hex digits and an optional newline, found %zu",
			       path, KEY_HEX, digits);
	}
	for (size_t i = 0; i < ESP_KEY_LEN; i++)
		key->b[i] = (uint8_t)(OPENSSL_hexchar2int(buf[2 * i]) << 4 |
				      OPENSSL_hexchar2int(buf[2 * i + 1]));
	return 0;
}

static int key_check_file(int fd, const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return why_set(why, whylen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return why_set(why, whylen, -EINVAL, "%s: not a regular file", path);
	/* A key another user owns could be swapped or read by that user. */
	if (st.st_uid != geteuid())
		return why_set(why, whylen, -EACCES, "%s: owned by uid %u, must be owned by uid %u",
			       path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return why_set(why, whylen, -EACCES,
			       "%s: mode %04o is too open (group/other must have no access)", path,
			       (unsigned)(st.st_mode & 07777));
	return 0;
}

int esp_key_read(const char *path, struct esp_key *key, char *why, size_t whylen)
{
	uint8_t buf[KEY_HEX + 2];
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return why_set(why, whylen, -errno, "%s: %s", path, strerror(errno));
	err = key_check_file(fd, path, why, whylen);
	if (err == 0) {
		/* One byte more than a valid file may hold, to see extra data. */
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			err = why_set(why, whylen, -errno, "%s: %s", path, strerror(errno));
		else
			err = key_parse(path, buf, (size_t)n, key, why, whylen);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return err;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes a fresh key as hex to the open (temporary) file fd. */
static int key_write_new(int fd)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[ESP_KEY_LEN], text[KEY_HEX + 1];
	int err = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		err = -EIO;
	for (size_t i = 0; err == 0 && i < ESP_KEY_LEN; i++) {
		text[2 * i] = (uint8_t)hex[raw[i] >> 4];
		text[2 * i + 1] = (uint8_t)hex[raw[i] & 15];
	}
	text[KEY_HEX] = '\n';
	if (err == 0)
		err = write_all(fd, text, sizeof(text));
	if (err == 0 && fsync(fd) < 0)
		err = -errno;
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	return err;
}

/*
 * The key is written to a temporary file (mkstemp: mode 0600, O_EXCL) next
 * to `path` and then put in place in one step: rename() to overwrite, link()
 * otherwise, which fails with EEXIST rather than replace a key. Nobody ever
 * sees a partial key file, and a failed overwrite keeps the old key.
 */
int esp_key_generate(const char *path, bool overwrite)
{
	char tmp[4096];
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = key_write_new(fd);
	if (close(fd) < 0 && err == 0)
		err = -errno;
	if (err == 0 && overwrite && rename(tmp, path) < 0)
		err = -errno;
	if (err == 0 && !overwrite && link(tmp, path) < 0)
		err = -errno;
	if (err || !overwrite)
		unlink(tmp);
	return err;
}

void esp_key_wipe(struct esp_key *key)
{
	OPENSSL_cleanse(key, sizeof(*key));
}

uint16_t esp_key_spi_hash(const struct vnet_id *vnet, const struct vnet_addr *sender)
{
	uint8_t in[VNET_ID_LEN + VNET_ADDR_LEN], md[32];
	uint16_t h;

	memcpy(in, vnet->b, VNET_ID_LEN);
	memcpy(in + VNET_ID_LEN, sender->b, VNET_ADDR_LEN);
	if (EVP_Digest(in, sizeof(in), md, NULL, EVP_sha256(), NULL) != 1)
		return 1; /* only on a broken libcrypto; still a legal hash */
	h = (uint16_t)(md[0] << 8 | md[1]);
	return h ? h : 1;
}

int esp_key_nonce_new(uint8_t nonce[ESP_NONCE_LEN])
{
	return RAND_bytes(nonce, ESP_NONCE_LEN) == 1 ? 0 : -EIO;
}

int esp_key_spi_new(const struct vnet_id *vnet, const struct vnet_addr *sender, uint32_t prev,
		    uint32_t *spi)
{
	uint8_t r[2];
	uint16_t low;

	/* Bounded: two random bytes hit 0 or prev's half 2 times in 65536. */
	for (int i = 0; i < 64; i++) {
		if (RAND_bytes(r, sizeof(r)) != 1)
			return -EIO;
		low = (uint16_t)(r[0] << 8 | r[1]);
		if (low != 0 && low != (uint16_t)prev) {
			*spi = (uint32_t)esp_key_spi_hash(vnet, sender) << 16 | low;
			return 0;
		}
	}
	return -EIO;
}

static int hkdf(const struct esp_key *key, const struct vnet_id *vnet, const uint8_t *info,
		size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key->b, ESP_KEY_LEN);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)vnet->b, VNET_ID_LEN);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	p[4] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_KDF_derive(ctx, out, out_len, p) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -EIO;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int esp_key_derive(const struct esp_key *key, const struct vnet_id *vnet, enum esp_suite_id suite,
		   const struct vnet_addr *sender, uint32_t spi, const uint8_t nonce[ESP_NONCE_LEN],
		   struct esp_sa_keys *out)
{
	const struct esp_suite_info *si = esp_sa_suite_info(suite);
	uint8_t info[96], okm[ESP_ENC_KEY_MAX + ESP_SALT_MAX + ESP_AUTH_KEY_MAX];
	size_t ilen = 0, nlen, olen;
	int err;

	if (!si || spi < ESP_SPI_MIN)
		return -EINVAL;
	nlen = strlen(si->name);
	memcpy(info, ESP_KEY_INFO, sizeof(ESP_KEY_INFO) - 1);
	ilen += sizeof(ESP_KEY_INFO) - 1;
	memcpy(info + ilen, si->name, nlen);
	ilen += nlen;
	memcpy(info + ilen, sender->b, VNET_ADDR_LEN);
	ilen += VNET_ADDR_LEN;
	put32(info + ilen, spi);
	ilen += 4;
	memcpy(info + ilen, nonce, ESP_NONCE_LEN);
	ilen += ESP_NONCE_LEN;
	olen = si->enc_key_len + si->salt_len + si->auth_key_len;
	err = hkdf(key, vnet, info, ilen, okm, olen);
	if (err == 0) {
		memset(out, 0, sizeof(*out));
		out->suite = suite;
		out->spi = spi;
		memcpy(out->enc_key, okm, si->enc_key_len);
		memcpy(out->salt, okm + si->enc_key_len, si->salt_len);
		memcpy(out->auth_key, okm + si->enc_key_len + si->salt_len, si->auth_key_len);
	}
	OPENSSL_cleanse(okm, sizeof(okm));
	return err;
}

int esp_key_derive_ctl(const struct esp_key *key, const struct vnet_id *vnet, const char *label,
		       uint8_t out[ESP_CTL_KEY_LEN])
{
	return hkdf(key, vnet, (const uint8_t *)label, strlen(label), out, ESP_CTL_KEY_LEN);
}

static size_t hex_append(char *buf, size_t cap, size_t off, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++, off += 2)
		if (off + 2 < cap)
			snprintf(buf + off, cap - off, "%02x", p[i]);
	return off;
}

/* snprintf-like append that keeps counting past cap. */
static size_t str_append(char *buf, size_t cap, size_t off, const char *s)
{
	size_t n = strlen(s);

	if (off < cap)
		snprintf(buf + off, cap - off, "%s", s);
	return off + n;
}

size_t esp_key_format(const struct esp_sa_keys *keys, char *buf, size_t cap)
{
	const struct esp_suite_info *si = esp_sa_suite_info(keys->suite);
	char head[64];
	size_t off;

	snprintf(head, sizeof(head), "spi 0x%08x suite %s enc ", keys->spi,
		 esp_sa_suite_name(keys->suite));
	if (cap)
		buf[0] = '\0';
	off = str_append(buf, cap, 0, head);
	if (si && si->enc_key_len) {
		off = str_append(buf, cap, off, "0x");
		off = hex_append(buf, cap, off, keys->enc_key, si->enc_key_len);
		off = hex_append(buf, cap, off, keys->salt, si->salt_len);
	} else {
		off = str_append(buf, cap, off, "null");
	}
	off = str_append(buf, cap, off, " auth ");
	if (si && si->auth_key_len) {
		off = str_append(buf, cap, off, "0x");
		off = hex_append(buf, cap, off, keys->auth_key, si->auth_key_len);
	} else {
		off = str_append(buf, cap, off, "null");
	}
	return off;
}
