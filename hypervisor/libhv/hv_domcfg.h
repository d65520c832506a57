/*
 * Domain configuration in the xl/xm flat format (DESIGN.md section 4):
 *
 *     name   = "web1"
 *     kernel = "/usr/lib/tern/guests/echo.elf"
 *     memory = 256                # MiB
 *     vcpus  = 1
 *     vif    = [ 'mac=00:16:3e:00:00:11, bridge=vnet97' ]
 *     extra  = "ip=10.97.0.11/24"
 *     on_crash = "destroy"        # or "preserve": keep the crashed domain
 *
 * One model struct reached from file, command line and stream alike; HAS_*
 * bits say which keys were given. Strings are quoted ('..' or ".." with \\,
 * \", \' escapes), numbers decimal, lists may span lines, '#' starts a
 * comment. Unknown and duplicate keys are errors. Errors name the source,
 * line, key and reason: "web1.cfg:3: memory: not a number: 'abc'".
 */
#ifndef HV_DOMCFG_H
#define HV_DOMCFG_H

#include <stddef.h>
#include <stdint.h>

#include <tern/abi.h>

#define HV_DOMCFG_NAME_MAX 63u
#define HV_DOMCFG_PATH_MAX 4095u
#define HV_DOMCFG_BRIDGE_MAX 14u
#define HV_DOMCFG_VIF_TEXT_MAX 255u
#define HV_DOMCFG_MEM_MIN 16u	 /* MiB */
#define HV_DOMCFG_MEM_MAX 65536u /* MiB */
#define HV_DOMCFG_VCPU_MAX 8u

#define HV_DOMCFG_HAS_NAME 0x01u
#define HV_DOMCFG_HAS_KERNEL 0x02u
#define HV_DOMCFG_HAS_MEMORY 0x04u
#define HV_DOMCFG_HAS_VCPUS 0x08u
#define HV_DOMCFG_HAS_VIF 0x10u
#define HV_DOMCFG_HAS_EXTRA 0x20u
#define HV_DOMCFG_HAS_ON_CRASH 0x40u

enum hv_on_crash { HV_ON_CRASH_DESTROY, HV_ON_CRASH_PRESERVE };

struct hv_vif {
	uint8_t mac[6];
	int has_mac;
	char bridge[HV_DOMCFG_BRIDGE_MAX + 1];
	char text[HV_DOMCFG_VIF_TEXT_MAX + 1]; /* as written, for status */
};

struct hv_domcfg {
	unsigned has;	     /* HV_DOMCFG_HAS_* given in the file */
	unsigned overridden; /* HV_DOMCFG_HAS_* given as key=value overrides */
	char name[HV_DOMCFG_NAME_MAX + 1];
	char kernel[HV_DOMCFG_PATH_MAX + 1];
	uint32_t memory_mib;
	uint32_t vcpus;
	unsigned nvifs;
	struct hv_vif vif[TERN_NET_MAX];
	char extra[TERN_CMDLINE_MAX];
	enum hv_on_crash on_crash;
};

/* Defaults: memory 128, vcpus 1, no vif, empty extra, on_crash destroy. */
void hv_domcfg_init(struct hv_domcfg *cfg);
/* Parses config text; `source` names it in errors (a file name). Returns 0
 * or -EINVAL with err set. */
int hv_domcfg_parse(struct hv_domcfg *cfg, const char *text, size_t len, const char *source,
		    char *err, size_t errlen);
/* Reads and parses a file (at most 64 KiB). -errno on I/O errors. */
int hv_domcfg_parse_file(struct hv_domcfg *cfg, const char *path, char *err, size_t errlen);
/* Applies one command-line "key=value". The value may be quoted or a list
 * like in the file, or bare text taken as is ("extra=ws=64 rate=20").
 * A key overridden twice is an error. */
int hv_domcfg_override(struct hv_domcfg *cfg, const char *kv, char *err, size_t errlen);
/* Checks that required keys (name, kernel) are present. */
int hv_domcfg_check(const struct hv_domcfg *cfg, const char *source, char *err, size_t errlen);
/* Gives vifs without a MAC a random 00:16:3e:xx:xx:xx one. */
int hv_domcfg_fill_macs(struct hv_domcfg *cfg);
/* Writes the canonical config text (re-parsable, every key explicit).
 * Returns the length, or -ENOSPC if cap is too small. */
int hv_domcfg_format(const struct hv_domcfg *cfg, char *buf, size_t cap);

#endif
