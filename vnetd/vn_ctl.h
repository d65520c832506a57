/*
 * The vnetd control protocol, spoken by `vn` and vnetd over common/ctl.h.
 *
 * A request is one message; its reply is one or more messages of the same
 * type with CTL_F_REPLY (all but the last also carry CTL_F_MORE), or one
 * CTL_F_ERROR message ("<-errno> <object: message>"). List replies are
 * arrays of the fixed-size records below, so a reply of any length is
 * streamed in chunks below CTL_MSG_MAX. Both ends are on one host, so
 * records are in host byte order; strings are NUL-padded fixed arrays and
 * every decoder checks sizes, NUL termination and enum ranges before a
 * field is used.
 */
#ifndef TERN_VN_CTL_H
#define TERN_VN_CTL_H

#include <stddef.h>
#include <stdint.h>

enum {
	CTL_VN_VNET_CREATE = 0x0301, /* req: vn_ctl_create, reply: empty */
	CTL_VN_VNET_DELETE = 0x0302, /* req: vnet id (16), reply: empty */
	CTL_VN_VNET_LIST = 0x0303,   /* req: empty, reply: vn_ctl_vnet[] */
	CTL_VN_PEER_ADD = 0x0304,    /* req: host text, reply: vn_ctl_peer */
	CTL_VN_PEER_DEL = 0x0305,    /* req: host text, reply: empty */
	CTL_VN_PEER_LIST = 0x0306,   /* req: empty, reply: vn_ctl_peer[] */
	CTL_VN_VARP_LIST = 0x0307,   /* req: empty, reply: vn_ctl_varp[] */
	CTL_VN_VARP_FLUSH = 0x0308,  /* req: empty (all) or vnet id, reply: empty */
	CTL_VN_STATS = 0x0309,	     /* req: empty, reply: vn_ctl_stats[] */
	CTL_VN_SA_LIST = 0x030a,     /* req: u8 with_keys, reply: vn_ctl_sa[] */
};

#define VN_CTL_ID_LEN 16
#define VN_CTL_ADDR_LEN 16 /* IPv4-mapped IPv6, as on the wire */
#define VN_CTL_IFNAME 16
#define VN_CTL_SUITE 24
#define VN_CTL_HOST 256
#define VN_CTL_PEER_ADDRS 8

/*
 * vnet-create: the CLI sends the absolute path of the file (for error
 * messages and to resolve a relative key-file) and the file's text.
 * Payload: u16 path_len | path | text.
 */
struct vn_ctl_create {
	char path[4096];
	const char *text; /* points into the message buffer, not NUL-ended */
	size_t text_len;
};

enum vn_ctl_security { VN_CTL_SEC_NONE, VN_CTL_SEC_AUTH, VN_CTL_SEC_CONF };

struct vn_ctl_vnet {
	uint8_t id[VN_CTL_ID_LEN];
	char bridge[VN_CTL_IFNAME];
	char vnetif[VN_CTL_IFNAME];
	char suite[VN_CTL_SUITE]; /* "none" for security none */
	uint8_t security;	  /* enum vn_ctl_security */
	uint8_t pad;
	uint16_t mtu;
	uint32_t pad2;
};

struct vn_ctl_peer {
	char host[VN_CTL_HOST];
	uint8_t naddrs;
	uint8_t pad[7];
	uint8_t addrs[VN_CTL_PEER_ADDRS][VN_CTL_ADDR_LEN];
};

struct vn_ctl_varp {
	uint8_t id[VN_CTL_ID_LEN];
	uint8_t addr[VN_CTL_ADDR_LEN];
	uint8_t mac[6];
	uint8_t local; /* 0 or 1 */
	uint8_t pad;
	uint32_t ttl_s;
};

/* Counter order is the JSON key order of `vn stats`; new ones go last. */
enum {
	VN_STAT_FRAMES_IN,
	VN_STAT_FRAMES_OUT,
	VN_STAT_BYTES_IN,
	VN_STAT_BYTES_OUT,
	VN_STAT_FLOODS_IN,
	VN_STAT_FLOODS_OUT,
	VN_STAT_VARP_IN,
	VN_STAT_VARP_OUT,
	VN_STAT_DROP_AUTH,
	VN_STAT_DROP_REPLAY,
	VN_STAT_DROP_MALFORMED,
	VN_STAT_DROP_NOROUTE,
	VN_STAT_DROP_DUP,
	VN_STAT_FLOODS_REMCAST, /* floods re-sent to our group for a peer */
	VN_STAT_FLOODS_FWD,	/* floods of our subnet sent on to our peers */
	/* Added after floods_fwd: keys are only ever appended. */
	VN_STAT_DROP_NOSA,    /* ESP of a sender whose SA is not learned (yet) */
	VN_STAT_DROP_NOTPEER, /* unicast flood from a host that is not a peer */
	VN_STAT_DROP_SA,      /* SA exchange messages refused */
	VN_STAT_SA_LEARNED,   /* SAs learned from verified answers */
	VN_STAT_COUNT
};
extern const char *const vn_ctl_stat_names[VN_STAT_COUNT];

struct vn_ctl_stats {
	uint8_t id[VN_CTL_ID_LEN];
	uint8_t global; /* 1: the "*" entry, id unused */
	uint8_t pad[7];
	uint64_t c[VN_STAT_COUNT];
};

enum { VN_CTL_SA_OUT, VN_CTL_SA_IN };

struct vn_ctl_sa {
	uint8_t id[VN_CTL_ID_LEN];
	uint8_t src[VN_CTL_ADDR_LEN];
	uint8_t dst[VN_CTL_ADDR_LEN];
	char suite[VN_CTL_SUITE];
	uint32_t spi;
	uint8_t dir;	      /* VN_CTL_SA_OUT or VN_CTL_SA_IN */
	uint8_t enc_key_len;  /* 0 unless keys were asked for */
	uint8_t auth_key_len; /* 0 unless keys were asked for, or no HMAC */
	uint8_t pad;
	uint8_t enc_key[36]; /* GCM: key then 4-byte salt */
	uint8_t auth_key[32];
	uint64_t seq;
};

/* Encoders (CLI side): return the payload length or -errno. */
int vn_ctl_create_encode(uint8_t *buf, size_t cap, const char *path, const char *text,
			 size_t text_len);
int vn_ctl_host_encode(uint8_t *buf, size_t cap, const char *host);

/* Request decoders (daemon side): 0 or -EINVAL/-EMSGSIZE. */
int vn_ctl_create_decode(const uint8_t *p, size_t len, struct vn_ctl_create *out);
int vn_ctl_host_decode(const uint8_t *p, size_t len, char host[VN_CTL_HOST]);
int vn_ctl_id_decode(const uint8_t *p, size_t len, uint8_t id[VN_CTL_ID_LEN]);
/* varp-flush: empty (all vnets, *has_id = 0) or one id. */
int vn_ctl_flush_decode(const uint8_t *p, size_t len, uint8_t id[VN_CTL_ID_LEN], int *has_id);
int vn_ctl_empty_decode(const uint8_t *p, size_t len);
int vn_ctl_salist_decode(const uint8_t *p, size_t len, int *with_keys);

/* Reply decoders (CLI side): each checks that len is a whole number of
 * records, then validates record i into out. Return 0 or -EINVAL. */
size_t vn_ctl_count(size_t len, size_t rec_size);
int vn_ctl_vnet_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_vnet *out);
int vn_ctl_peer_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_peer *out);
int vn_ctl_varp_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_varp *out);
int vn_ctl_stats_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_stats *out);
int vn_ctl_sa_decode(const uint8_t *p, size_t len, size_t i, struct vn_ctl_sa *out);

const char *vn_ctl_security_name(unsigned security);

#endif
