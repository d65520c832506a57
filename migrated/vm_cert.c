/*
 * vm cert: the cluster's TLS files, made with the OpenSSL API.
 *   vm cert ca --out DIR         DIR/ca.pem, DIR/ca.key (P-256, 10 years)
 *   vm cert host --ca DIR --name NAME [--ip ADDR]... --out DIR
 *                                DIR/host.pem, DIR/host.key, signed by the CA
 *                                in DIR/ca.*, SANs DNS:NAME and IP:ADDR,
 *                                for both TLS server and client use
 * Keys are written mode 0600 (created so, never through a symlink).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "vm.h"

#define VM_CERT_IP_MAX 8
#define VM_CERT_DAYS_CA 3650
#define VM_CERT_DAYS_HOST 825

static int vm_cert_fail(const char *what)
{
	char reason[256] = "";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	fprintf(stderr, "vm: cert: %s%s%s\n", what, *reason ? ": " : "", reason);
	return VM_EXIT_FAILED;
}

/* Opens path for writing with `mode`, never following a symlink. */
static FILE *vm_cert_open(const char *dir, const char *name, mode_t mode, char *path, size_t cap)
{
	int fd;
	FILE *f;

	snprintf(path, cap, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "vm: cert: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

static int vm_cert_write(const char *dir, const char *stem, X509 *x, EVP_PKEY *k)
{
	char path[4200], name[64];
	FILE *f;
	int ok;

	snprintf(name, sizeof(name), "%s.key", stem);
	if (!(f = vm_cert_open(dir, name, 0600, path, sizeof(path))))
		return VM_EXIT_FAILED;
	ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0 || !ok)
		return vm_cert_fail(path);
	snprintf(name, sizeof(name), "%s.pem", stem);
	if (!(f = vm_cert_open(dir, name, 0644, path, sizeof(path))))
		return VM_EXIT_FAILED;
	ok = PEM_write_X509(f, x);
	if (fclose(f) != 0 || !ok)
		return vm_cert_fail(path);
	printf("%s/%s.pem, %s/%s.key\n", dir, stem, dir, stem);
	return 0;
}

static int vm_cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (!(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* A certificate for key k, named cn, valid `days`, signed by issuer/ikey
 * (itself when issuer is NULL). */
static X509 *vm_cert_new(EVP_PKEY *k, const char *cn, int days, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509_NAME *n;

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if (!(bn = BN_bin2bn(serial, sizeof(serial), NULL)) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) || !X509_set_pubkey(x, k))
		goto fail;
	n = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Tern", -1, -1,
					0) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
					0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n))
		goto fail;
	if (!vm_cert_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash"))
		goto fail;
	if (issuer && !vm_cert_ext(x, issuer, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	BN_free(bn);
	(void)ikey;
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static int vm_cert_ca(const char *out)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = NULL;
	int rc;

	if (!k || !(x = vm_cert_new(k, "Tern cluster CA", VM_CERT_DAYS_CA, NULL, NULL)) ||
	    !vm_cert_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !vm_cert_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !X509_sign(x, k, EVP_sha256()))
		rc = vm_cert_fail("CA");
	else
		rc = vm_cert_write(out, "ca", x, k);
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

/* Reads DIR/NAME with read (a PEM certificate or key reader): 0, or the
 * exit code after a message naming the file. */
static int vm_cert_read(const char *dir, const char *name, void **out, void *(*read)(FILE *f))
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "re"))) {
		fprintf(stderr, "vm: cert: %s: %s\n", path, strerror(errno));
		return VM_EXIT_FAILED;
	}
	*out = read(f);
	fclose(f);
	return *out ? 0 : vm_cert_fail(path);
}

static void *vm_cert_read_x509(FILE *f)
{
	return PEM_read_X509(f, NULL, NULL, NULL);
}

static void *vm_cert_read_key(FILE *f)
{
	return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

static int vm_cert_load(const char *dir, X509 **ca, EVP_PKEY **cakey)
{
	void *p;
	int rc;

	if ((rc = vm_cert_read(dir, "ca.pem", &p, vm_cert_read_x509)) != 0)
		return rc;
	*ca = p;
	if ((rc = vm_cert_read(dir, "ca.key", &p, vm_cert_read_key)) != 0)
		return rc;
	*cakey = p;
	return 0;
}

static int vm_cert_host(const char *cadir, const char *name, char **ips, int nips, const char *out)
{
	EVP_PKEY *cakey = NULL, *k = NULL;
	X509 *ca = NULL, *x = NULL;
	char san[1024];
	size_t off;
	int rc;

	if ((rc = vm_cert_load(cadir, &ca, &cakey)) != 0)
		goto done;
	off = (size_t)snprintf(san, sizeof(san), "DNS:%s", name);
	for (int i = 0; i < nips && off < sizeof(san); i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off, ",IP:%s", ips[i]);
	if (off >= sizeof(san)) {
		fprintf(stderr, "vm: cert: too many names\n");
		rc = VM_EXIT_USAGE;
		goto done;
	}
	if (!(k = EVP_EC_gen("P-256")) ||
	    !(x = vm_cert_new(k, name, VM_CERT_DAYS_HOST, ca, cakey)) ||
	    !vm_cert_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !vm_cert_ext(x, ca, NID_key_usage, "critical,digitalSignature") ||
	    !vm_cert_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth") ||
	    !vm_cert_ext(x, ca, NID_subject_alt_name, san) || !X509_sign(x, cakey, EVP_sha256())) {
		rc = vm_cert_fail(san);
		goto done;
	}
	rc = vm_cert_write(out, "host", x, k);
done:
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cakey);
	return rc;
}

int vm_cmd_cert(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"out", required_argument, NULL, 'o'},  {"ca", required_argument, NULL, 'c'},
	    {"name", required_argument, NULL, 'n'}, {"ip", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	static const char *u = "cert ca --out DIR\n"
			       "       vm cert host --ca DIR --name NAME [--ip ADDR]... --out DIR";
	const char *outdir = NULL, *cadir = NULL, *name = NULL;
	char *ips[VM_CERT_IP_MAX];
	int nips = 0, ch;

	if (argc < 2 || (strcmp(argv[1], "ca") && strcmp(argv[1], "host"))) {
		if (argc >= 2 && !strcmp(argv[1], "--help")) {
			printf("usage: vm %s\n", u);
			return 0;
		}
		fprintf(stderr, "usage: vm %s\n", u);
		return VM_EXIT_USAGE;
	}
	optind = 0; /* re-initialise: main's getopt stopped at the command */
	while ((ch = getopt_long(argc - 1, argv + 1, "h", lo, NULL)) != -1) {
		if (ch == 'o')
			outdir = optarg;
		else if (ch == 'c')
			cadir = optarg;
		else if (ch == 'n')
			name = optarg;
		else if (ch == 'i' && nips < VM_CERT_IP_MAX)
			ips[nips++] = optarg;
		else if (ch == 'h') {
			printf("usage: vm %s\n", u);
			return 0;
		} else {
			fprintf(stderr, "usage: vm %s\n", u);
			return VM_EXIT_USAGE;
		}
	}
	if (!outdir || optind != argc - 1 ||
	    (!strcmp(argv[1], "host") && (!cadir || !name || !*name))) {
		fprintf(stderr, "usage: vm %s\n", u);
		return VM_EXIT_USAGE;
	}
	if (mkdir(outdir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "vm: cert: %s: %s\n", outdir, strerror(errno));
		return VM_EXIT_FAILED;
	}
	if (!strcmp(argv[1], "ca"))
		return vm_cert_ca(outdir);
	return vm_cert_host(cadir, name, ips, nips, outdir);
}
