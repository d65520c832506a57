/* esp_key: key files (modes, formats, generation), SPI hash, HKDF
 * derivation checked against OpenSSL's EVP_PKEY HKDF interface driven
 * independently here, fresh SPIs and nonces, control keys and the debug format. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "esp_key.h"

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_esp_key_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_read_good(void **state)
{
	static const char *const texts[] = {
	    HEX64, HEX64 "\n",
	    "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n"};
	static const mode_t modes[] = {0600, 0400, 0600};
	char path[128];
	(void)state;
	path_of(path, sizeof(path), "k");
	for (size_t i = 0; i < 3; i++) {
		struct esp_key key;
		char why[256] = "";
		write_file(path, texts[i], strlen(texts[i]), modes[i]);
		assert_int_equal(esp_key_read(path, &key, why, sizeof(why)), 0);
		for (int b = 0; b < ESP_KEY_LEN; b++)
			assert_int_equal(key.b[b], b);
		esp_key_wipe(&key);
		for (int b = 0; b < ESP_KEY_LEN; b++)
			assert_int_equal(key.b[b], 0);
		unlink(path);
	}
}

struct bad_case {
	const char *text;
	mode_t mode;
	int err;
	const char *why; /* after "<path>: " */
};

static const struct bad_case bad[] = {
    {HEX64 "\n", 0644, -EACCES, "mode 0644 is too open (group/other must have no access)"},
    {HEX64 "\n", 0640, -EACCES, "mode 0640 is too open (group/other must have no access)"},
    {HEX64 "\n", 0604, -EACCES, "mode 0604 is too open (group/other must have no access)"},
    {HEX64 "\n", 0601, -EACCES, "mode 0601 is too open (group/other must have no access)"},
    {HEX64 "\n", 0620, -EACCES, "mode 0620 is too open (group/other must have no access)"},
    {"", 0600, -EINVAL, "expected 64 hex digits and an optional newline, found 0"},
    {"0011\n", 0600, -EINVAL, "expected 64 hex digits and an optional newline, found 4"},
    {"00112233445566778899aabbccddeeff00112233445566778899aabbccddeef", 0600, -EINVAL,
     "expected 64 hex digits and an optional newline, found 63"},
    {"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffa", 0600, -EINVAL,
     "unexpected data after the 64 hex digits"},
    {HEX64 "\n\n", 0600, -EINVAL, "unexpected data after the 64 hex digits"},
    {HEX64 " ", 0600, -EINVAL, "unexpected data after the 64 hex digits"},
    {HEX64 "\r\n", 0600, -EINVAL, "unexpected data after the 64 hex digits"},
    {"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600, -EINVAL,
     "byte 2 is not a hex digit"},
    {" 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600, -EINVAL,
     "byte 1 is not a hex digit"},
    {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", 0600, -EINVAL,
     "byte 64 is not a hex digit"},
};

static void test_read_bad(void **state)
{
	char path[128], want[512];
	(void)state;
	path_of(path, sizeof(path), "bad");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct esp_key key;
		char why[256] = "";
		write_file(path, bad[i].text, strlen(bad[i].text), bad[i].mode);
		assert_int_equal(esp_key_read(path, &key, why, sizeof(why)), bad[i].err);
		snprintf(want, sizeof(want), "%s: %s", path, bad[i].why);
		assert_string_equal(why, want);
		unlink(path);
	}
	char why[256];
	struct esp_key key;
	assert_int_equal(esp_key_read(path, &key, why, sizeof(why)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(why, want);
	assert_int_equal(esp_key_read(dir, &key, why, sizeof(why)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(why, want);
}

/* A key file must belong to the reader's effective uid: as root a temp
 * file is given to nobody (65534); as another user a file root owns stands
 * in, so the case runs either way. Ownership is checked before the mode. */
static void test_read_owner(void **state)
{
	char path[128], want[512], why[256] = "";
	struct esp_key key;
	struct stat st;
	uid_t other;

	(void)state;
	path_of(path, sizeof(path), "owner");
	write_file(path, HEX64 "\n", strlen(HEX64) + 1, 0600);
	if (geteuid() == 0) {
		other = 65534;
		assert_int_equal(chown(path, other, (gid_t)-1), 0);
	} else {
		unlink(path);
		snprintf(path, sizeof(path), "/etc/passwd");
		assert_int_equal(stat(path, &st), 0);
		other = st.st_uid;
	}
	assert_int_equal(stat(path, &st), 0);
	if (st.st_uid == geteuid())
		fail_msg("%s is owned by our uid %u: cannot test a foreign owner", path,
			 (unsigned)geteuid());
	assert_int_equal(esp_key_read(path, &key, why, sizeof(why)), -EACCES);
	snprintf(want, sizeof(want), "%s: owned by uid %u, must be owned by uid %u", path,
		 (unsigned)other, (unsigned)geteuid());
	assert_string_equal(why, want);
	if (geteuid() == 0) {
		/* Given back, the same file is accepted. */
		assert_int_equal(chown(path, 0, (gid_t)-1), 0);
		assert_int_equal(esp_key_read(path, &key, why, sizeof(why)), 0);
		esp_key_wipe(&key);
		unlink(path);
	}
}

static void test_generate(void **state)
{
	char path[128], text[80];
	struct esp_key k1, k2;
	struct stat st;
	int fd;
	(void)state;
	path_of(path, sizeof(path), "gen");
	assert_int_equal(esp_key_generate(path, false), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, text, sizeof(text)), 65);
	close(fd);
	assert_int_equal(text[64], '\n');
	for (int i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", text[i]));
	assert_int_equal(esp_key_read(path, &k1, NULL, 0), 0);
	/* Never overwrites by accident. */
	assert_int_equal(esp_key_generate(path, false), -EEXIST);
	assert_int_equal(esp_key_read(path, &k2, NULL, 0), 0);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	/* Overwrite: a new key, and a too-open mode is tightened. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(esp_key_generate(path, true), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(esp_key_read(path, &k2, NULL, 0), 0);
	assert_memory_not_equal(&k1, &k2, sizeof(k1));
	unlink(path);
	assert_int_equal(esp_key_generate("/nonexistent-dir/k", false), -ENOENT);
}

/* HKDF-SHA-256 through the EVP_PKEY interface, independent of esp_key.c's
 * EVP_KDF use. */
static void ref_hkdf(const uint8_t *ikm, const uint8_t *salt, const uint8_t *info, size_t info_len,
		     uint8_t *out, size_t out_len)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	assert_non_null(pctx);
	assert_int_equal(EVP_PKEY_derive_init(pctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, 16), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(pctx, ikm, 32), 1);
	assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)info_len), 1);
	assert_int_equal(EVP_PKEY_derive(pctx, out, &out_len), 1);
	EVP_PKEY_CTX_free(pctx);
}

static uint16_t ref_hash16(const struct vnet_id *v, const struct vnet_addr *a)
{
	uint8_t in[32], md[32];
	unsigned mdlen;
	memcpy(in, v->b, 16);
	memcpy(in + 16, a->b, 16);
	assert_int_equal(EVP_Digest(in, 32, md, &mdlen, EVP_sha256(), NULL), 1);
	return (uint16_t)(md[0] << 8 | md[1]);
}

struct derive_case {
	enum esp_suite_id suite;
	const char *name;
	size_t enc, salt, auth;
};

static const struct derive_case derives[] = {
    {ESP_SUITE_AES128_GCM, "aes128-gcm", 16, 4, 0},
    {ESP_SUITE_AES128_CBC_SHA1, "aes128-cbc-sha1", 16, 0, 20},
    {ESP_SUITE_NULL_SHA1, "null-sha1", 0, 0, 20},
    {ESP_SUITE_NULL_SHA256, "null-sha256", 0, 0, 32},
};

static const uint8_t nonce0[ESP_NONCE_LEN] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
					      0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static void test_derive(void **state)
{
	struct esp_key key;
	struct vnet_id vnet;
	struct vnet_addr sender;
	uint32_t spi = 0x12340102;
	(void)state;
	for (int i = 0; i < ESP_KEY_LEN; i++)
		key.b[i] = (uint8_t)(0xa0 + i);
	vnet_id_from_short(&vnet, 0x97);
	assert_int_equal(vnet_addr_parse("10.0.0.1", &sender), 0);
	for (size_t i = 0; i < sizeof(derives) / sizeof(derives[0]); i++) {
		const struct derive_case *d = &derives[i];
		uint8_t info[96], okm[64], zero[32] = {0};
		size_t n = 0;
		struct esp_sa_keys k;

		memcpy(info, "tern-esp-v2", 11);
		n = 11;
		memcpy(info + n, d->name, strlen(d->name));
		n += strlen(d->name);
		memcpy(info + n, sender.b, 16);
		n += 16;
		info[n++] = 0x12;
		info[n++] = 0x34;
		info[n++] = 0x01;
		info[n++] = 0x02;
		memcpy(info + n, nonce0, sizeof(nonce0));
		n += sizeof(nonce0);
		ref_hkdf(key.b, vnet.b, info, n, okm, d->enc + d->salt + d->auth);

		memset(&k, 0x55, sizeof(k));
		assert_int_equal(esp_key_derive(&key, &vnet, d->suite, &sender, spi, nonce0, &k),
				 0);
		assert_int_equal(k.suite, d->suite);
		assert_int_equal(k.spi, spi);
		assert_memory_equal(k.enc_key, okm, d->enc);
		assert_memory_equal(k.salt, okm + d->enc, d->salt);
		assert_memory_equal(k.auth_key, okm + d->enc + d->salt, d->auth);
		/* Unused key bytes are zero. */
		assert_memory_equal(k.enc_key + d->enc, zero, sizeof(k.enc_key) - d->enc);
		assert_memory_equal(k.auth_key + d->auth, zero, sizeof(k.auth_key) - d->auth);
	}
}

/* Fixed vectors computed outside OpenSSL (Python hashlib/hmac, RFC 5869
 * HKDF written out), pinning the info layout of docs/wire.md. */
static void test_derive_vectors(void **state)
{
	static const uint8_t gcm[20] = {0x05, 0x21, 0xc8, 0x04, 0xba, 0x65, 0x37, 0x70, 0x94, 0xfc,
					0x1c, 0xe9, 0x9c, 0x25, 0x04, 0x83, 0x30, 0xd5, 0x6d, 0x42};
	static const uint8_t sha256[32] = {0x2c, 0x0b, 0x85, 0x38, 0x06, 0xa4, 0xc6, 0x12,
					   0xba, 0x8f, 0x73, 0x95, 0x73, 0x9f, 0x2a, 0x9b,
					   0xb7, 0xd0, 0xe6, 0x04, 0x6d, 0x7e, 0x38, 0xb8,
					   0x39, 0x34, 0x37, 0xc8, 0x1f, 0xec, 0x36, 0xe6};
	static const uint8_t sa[32] = {0x04, 0x5b, 0xcc, 0x74, 0xa4, 0x0c, 0x61, 0x67,
				       0xd1, 0x74, 0x38, 0x27, 0x52, 0xca, 0x66, 0x34,
				       0xb9, 0x93, 0x77, 0x61, 0xa9, 0x31, 0x3a, 0xfc,
				       0xd4, 0x99, 0xe0, 0x91, 0xe3, 0xc2, 0x02, 0xa5};
	static const uint8_t flood[32] = {0xcf, 0xf8, 0x42, 0x3e, 0x16, 0xce, 0xcc, 0xde,
					  0xac, 0x95, 0x9f, 0xfa, 0x63, 0x2d, 0x28, 0xc8,
					  0xe4, 0x3a, 0xb4, 0xf7, 0xdd, 0xce, 0x0e, 0xed,
					  0x70, 0x15, 0xdc, 0x32, 0x2e, 0x61, 0xfb, 0x8a};
	struct esp_key key;
	struct vnet_id vnet;
	struct vnet_addr sender;
	struct esp_sa_keys k;
	uint8_t ctl[ESP_CTL_KEY_LEN];
	(void)state;

	for (int i = 0; i < ESP_KEY_LEN; i++)
		key.b[i] = (uint8_t)(0xa0 + i);
	vnet_id_from_short(&vnet, 0x97);
	assert_int_equal(vnet_addr_parse("10.0.0.1", &sender), 0);
	assert_int_equal(esp_key_spi_hash(&vnet, &sender), 0xc92c);
	assert_int_equal(
	    esp_key_derive(&key, &vnet, ESP_SUITE_AES128_GCM, &sender, 0xc92c0102, nonce0, &k), 0);
	assert_int_equal(k.spi, 0xc92c0102);
	assert_memory_equal(k.enc_key, gcm, 16);
	assert_memory_equal(k.salt, gcm + 16, 4);
	assert_int_equal(
	    esp_key_derive(&key, &vnet, ESP_SUITE_NULL_SHA256, &sender, 0xc92c0102, nonce0, &k), 0);
	assert_memory_equal(k.auth_key, sha256, 32);
	assert_int_equal(esp_key_derive_ctl(&key, &vnet, ESP_CTL_SA, ctl), 0);
	assert_memory_equal(ctl, sa, 32);
	assert_int_equal(esp_key_derive_ctl(&key, &vnet, ESP_CTL_FLOOD, ctl), 0);
	assert_memory_equal(ctl, flood, 32);
}

/* Every input of the derivation changes every key: above all the nonce,
 * which is what makes each SA instance's keys new. */
static void test_derive_distinct(void **state)
{
	struct esp_key key = {{1}};
	struct vnet_id v1, v2;
	struct vnet_addr a, b;
	struct esp_sa_keys k[6];
	uint8_t n2[ESP_NONCE_LEN];
	(void)state;
	vnet_id_from_short(&v1, 2);
	vnet_id_from_short(&v2, 3);
	vnet_addr_parse("10.0.0.1", &a);
	vnet_addr_parse("10.0.0.2", &b);
	memcpy(n2, nonce0, sizeof(n2));
	n2[15] ^= 1;
	assert_int_equal(
	    esp_key_derive(&key, &v1, ESP_SUITE_AES128_GCM, &a, 0x10001, nonce0, &k[0]), 0);
	assert_int_equal(
	    esp_key_derive(&key, &v1, ESP_SUITE_AES128_GCM, &a, 0x10002, nonce0, &k[1]), 0);
	assert_int_equal(
	    esp_key_derive(&key, &v1, ESP_SUITE_AES128_GCM, &b, 0x10001, nonce0, &k[2]), 0);
	assert_int_equal(
	    esp_key_derive(&key, &v2, ESP_SUITE_AES128_GCM, &a, 0x10001, nonce0, &k[3]), 0);
	assert_int_equal(
	    esp_key_derive(&key, &v1, ESP_SUITE_AES128_CBC_SHA1, &a, 0x10001, nonce0, &k[4]), 0);
	assert_int_equal(esp_key_derive(&key, &v1, ESP_SUITE_AES128_GCM, &a, 0x10001, n2, &k[5]),
			 0);
	for (int i = 0; i < 6; i++)
		for (int j = i + 1; j < 6; j++)
			assert_memory_not_equal(k[i].enc_key, k[j].enc_key, 16);
	assert_int_equal(esp_key_derive(&key, &v1, ESP_SUITE_NONE, &a, 0x10001, nonce0, &k[0]),
			 -EINVAL);
	assert_int_equal(esp_key_derive(&key, &v1, ESP_SUITE_AES128_GCM, &a, 255, nonce0, &k[0]),
			 -EINVAL);
}

static void test_spi_hash_zero(void **state)
{
	struct vnet_id v;
	struct vnet_addr a;
	uint32_t i, spi;
	(void)state;
	vnet_id_from_short(&v, 0x97);
	/* Find a sender whose hash16 is 0: about one in 65536. */
	for (i = 1; i < 4000000; i++) {
		vnet_addr_from_v4(&a, i);
		if (ref_hash16(&v, &a) == 0)
			break;
	}
	assert_true(i < 4000000);
	assert_int_equal(esp_key_spi_hash(&v, &a), 1);
	assert_int_equal(esp_key_spi_new(&v, &a, 0, &spi), 0);
	assert_int_equal(spi >> 16, 1);
	vnet_addr_from_v4(&a, i + 1);
	assert_int_equal(esp_key_spi_hash(&v, &a), ref_hash16(&v, &a));
}

/* Fresh SPIs: the vnet's hash on top, a random non-zero low half that is
 * never the previous one; nonces differ every time. */
static void test_spi_nonce_new(void **state)
{
	struct vnet_id v;
	struct vnet_addr a;
	uint32_t spi, prev = 0;
	uint8_t n1[ESP_NONCE_LEN], n2[ESP_NONCE_LEN];
	unsigned distinct = 0;
	(void)state;
	vnet_id_from_short(&v, 0x97);
	vnet_addr_parse("10.0.0.1", &a);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(esp_key_spi_new(&v, &a, prev, &spi), 0);
		assert_int_equal(spi >> 16, 0xc92c);
		assert_int_not_equal(spi & 0xffff, 0);
		assert_int_not_equal(spi & 0xffff, prev & 0xffff);
		distinct += spi != prev;
		prev = spi;
	}
	assert_int_equal(distinct, 1000);
	assert_int_equal(esp_key_nonce_new(n1), 0);
	assert_int_equal(esp_key_nonce_new(n2), 0);
	assert_memory_not_equal(n1, n2, ESP_NONCE_LEN);
}

static void test_format(void **state)
{
	struct esp_sa_keys k = {.suite = ESP_SUITE_AES128_GCM, .spi = 0x12340001};
	char buf[256], small[20];
	const char *gcm = "spi 0x12340001 suite aes128-gcm enc "
			  "0x000102030405060708090a0b0c0d0e0fa0a1a2a3 auth null";
	(void)state;
	for (int i = 0; i < 16; i++)
		k.enc_key[i] = (uint8_t)i;
	for (int i = 0; i < 4; i++)
		k.salt[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 32; i++)
		k.auth_key[i] = (uint8_t)(0xf0 ^ i);
	assert_int_equal(esp_key_format(&k, buf, sizeof(buf)), strlen(gcm));
	assert_string_equal(buf, gcm);
	assert_int_equal(esp_key_format(&k, small, sizeof(small)), strlen(gcm));
	assert_string_equal(small, "spi 0x12340001 suit");
	k.suite = ESP_SUITE_NULL_SHA1;
	esp_key_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "spi 0x12340001 suite null-sha1 enc null auth "
				 "0xf0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
				 "e0e1e2e3");
	k.suite = ESP_SUITE_AES128_CBC_SHA1;
	esp_key_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "spi 0x12340001 suite aes128-cbc-sha1 enc "
				 "0x000102030405060708090a0b0c0d0e0f auth "
				 "0xf0f1f2f3f4f5f6f7f8f9fafbfcfdfeffe0e1e2e3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_good),	    cmocka_unit_test(test_read_bad),
	    cmocka_unit_test(test_read_owner),	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_derive),	    cmocka_unit_test(test_derive_vectors),
	    cmocka_unit_test(test_derive_distinct), cmocka_unit_test(test_spi_hash_zero),
	    cmocka_unit_test(test_spi_nonce_new),   cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
