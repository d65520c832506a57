/* vn's own commands (the vnet ones are vncli's): the table and the list
 * printers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vn_cmd.h"
#include "vn_ctl.h"
#include "vnet_addr.h"
#include "vnet_id.h"

static void vn_print_id(struct out *o, const uint8_t id[16])
{
	struct vnet_id vid;
	char buf[VNET_ID_STRLEN];

	memcpy(vid.b, id, sizeof(vid.b));
	out_str(o, "vnet", "vnet", vnet_id_str(&vid, buf));
}

static const char *vn_addr_text(const uint8_t addr[16], char buf[VNET_ADDR_STRLEN])
{
	struct vnet_addr a;

	memcpy(a.b, addr, sizeof(a.b));
	return vnet_addr_str(&a, buf);
}

static int vn_peer_rec(struct vn_cli *cli, const uint8_t *p, size_t len)
{
	size_t n = vn_ctl_count(len, sizeof(struct vn_ctl_peer));
	struct vn_ctl_peer peer;
	char buf[VNET_ADDR_STRLEN];

	for (size_t i = 0; i < n; i++) {
		if (vn_ctl_peer_decode(p, len, i, &peer) < 0)
			return -EPROTO;
		out_obj_begin(&cli->out);
		out_str(&cli->out, "host", "peer", peer.host);
		out_arr_begin(&cli->out, "addresses", "addresses");
		for (unsigned a = 0; a < peer.naddrs; a++)
			out_arr_str(&cli->out, vn_addr_text(peer.addrs[a], buf));
		out_arr_end(&cli->out);
		out_obj_end(&cli->out);
	}
	return len == n * sizeof(peer) ? 0 : -EPROTO;
}

static int vn_varp_rec(struct vn_cli *cli, const uint8_t *p, size_t len)
{
	size_t n = vn_ctl_count(len, sizeof(struct vn_ctl_varp));
	struct vn_ctl_varp v;
	char buf[VNET_ADDR_STRLEN], mac[18];

	for (size_t i = 0; i < n; i++) {
		if (vn_ctl_varp_decode(p, len, i, &v) < 0)
			return -EPROTO;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", v.mac[0], v.mac[1],
			 v.mac[2], v.mac[3], v.mac[4], v.mac[5]);
		out_obj_begin(&cli->out);
		vn_print_id(&cli->out, v.id);
		out_str(&cli->out, "mac", "mac", mac);
		out_str(&cli->out, "addr", "addr", vn_addr_text(v.addr, buf));
		out_bool(&cli->out, "local", "local", v.local);
		out_u64(&cli->out, "ttl", "ttl", v.ttl_s);
		out_obj_end(&cli->out);
	}
	return len == n * sizeof(v) ? 0 : -EPROTO;
}

static int vn_stats_rec(struct vn_cli *cli, const uint8_t *p, size_t len)
{
	size_t n = vn_ctl_count(len, sizeof(struct vn_ctl_stats));
	struct vn_ctl_stats s;

	for (size_t i = 0; i < n; i++) {
		if (vn_ctl_stats_decode(p, len, i, &s) < 0)
			return -EPROTO;
		out_obj_begin(&cli->out);
		if (s.global)
			out_str(&cli->out, "vnet", "vnet", "*");
		else
			vn_print_id(&cli->out, s.id);
		for (unsigned c = 0; c < VN_STAT_COUNT; c++)
			out_u64(&cli->out, vn_ctl_stat_names[c], vn_ctl_stat_names[c], s.c[c]);
		out_obj_end(&cli->out);
	}
	return len == n * sizeof(s) ? 0 : -EPROTO;
}

static void vn_hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static int vn_sa_rec(struct vn_cli *cli, const uint8_t *p, size_t len)
{
	size_t n = vn_ctl_count(len, sizeof(struct vn_ctl_sa));
	struct vn_ctl_sa sa;
	char src[VNET_ADDR_STRLEN], dst[VNET_ADDR_STRLEN], spi[16], enc[80], auth[80];

	for (size_t i = 0; i < n; i++) {
		if (vn_ctl_sa_decode(p, len, i, &sa) < 0)
			return -EPROTO;
		snprintf(spi, sizeof(spi), "0x%08x", sa.spi);
		vn_hex(enc, sa.enc_key, sa.enc_key_len);
		vn_hex(auth, sa.auth_key, sa.auth_key_len);
		out_obj_begin(&cli->out);
		vn_print_id(&cli->out, sa.id);
		out_str(&cli->out, "dir", "dir", sa.dir == VN_CTL_SA_OUT ? "out" : "in");
		out_str(&cli->out, "spi", "spi", spi);
		out_str(&cli->out, "src", "src", vn_addr_text(sa.src, src));
		out_str(&cli->out, "dst", "dst", vn_addr_text(sa.dst, dst));
		out_str(&cli->out, "suite", "suite", sa.suite);
		/* Without --keys the daemon sends none: the fields stay, empty,
		 * so that the JSON shape does not depend on the option. */
		out_str(&cli->out, "enc_key", "enc_key", enc);
		out_str(&cli->out, "auth_key", "auth_key", auth);
		out_u64(&cli->out, "seq", "seq", sa.seq);
		out_obj_end(&cli->out);
	}
	return len == n * sizeof(sa) ? 0 : -EPROTO;
}

/* Encodes the HOST argument of peer-add/peer-del; -1 after printing why. */
static int vn_host_arg(const struct vn_cli *cli, char **argv, uint8_t buf[VN_CTL_HOST])
{
	int n = vn_ctl_host_encode(buf, VN_CTL_HOST, argv[1]);

	if (n < 0)
		fprintf(stderr, "%s: %s: bad host '%s'\n", cli->prog, argv[0], argv[1]);
	return n;
}

static int vn_peer_add(struct vn_cli *cli, int argc, char **argv)
{
	uint8_t buf[VN_CTL_HOST];
	int n = vn_host_arg(cli, argv, buf);

	(void)argc;
	if (n < 0)
		return VN_EXIT_USAGE;
	/* The reply shows what the name resolved to. */
	return vn_list(cli, argv[0], CTL_VN_PEER_ADD, buf, (size_t)n, vn_peer_rec);
}

static int vn_peer_del(struct vn_cli *cli, int argc, char **argv)
{
	uint8_t buf[VN_CTL_HOST];
	int n = vn_host_arg(cli, argv, buf);

	(void)argc;
	if (n < 0)
		return VN_EXIT_USAGE;
	return vn_request(cli, argv[0], CTL_VN_PEER_DEL, buf, (size_t)n, NULL);
}

static int vn_peer_list(struct vn_cli *cli, int argc, char **argv)
{
	(void)argc;
	return vn_list(cli, argv[0], CTL_VN_PEER_LIST, NULL, 0, vn_peer_rec);
}

static int vn_varp_list(struct vn_cli *cli, int argc, char **argv)
{
	(void)argc;
	return vn_list(cli, argv[0], CTL_VN_VARP_LIST, NULL, 0, vn_varp_rec);
}

static int vn_varp_flush(struct vn_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return vn_request(cli, argv[0], CTL_VN_VARP_FLUSH, NULL, 0, NULL);
	return vn_id_request(cli, argv, CTL_VN_VARP_FLUSH);
}

static int vn_sa_rekey(struct vn_cli *cli, int argc, char **argv)
{
	(void)argc;
	return vn_id_request(cli, argv, CTL_VN_SA_REKEY);
}

static int vn_stats(struct vn_cli *cli, int argc, char **argv)
{
	(void)argc;
	return vn_list(cli, argv[0], CTL_VN_STATS, NULL, 0, vn_stats_rec);
}

static int vn_sa_list(struct vn_cli *cli, int argc, char **argv)
{
	uint8_t keys = cli->keys;

	(void)argc;
	return vn_list(cli, argv[0], CTL_VN_SA_LIST, &keys, 1, vn_sa_rec);
}

const struct vn_cmd vn_cmds[] = {
    {"peer-add", "HOST", "forward floods to HOST by unicast",
     "HOST is a name (resolved with DNS or /etc/hosts) or an address. Multicast\n"
     "traffic (VARP and flooded frames) is also sent to it by unicast.",
     2, 2, 0, vn_peer_add},
    {"peer-del", "HOST", "stop forwarding to HOST", "HOST as it was given to peer-add.", 2, 2, 0,
     vn_peer_del},
    {"peer-list", "[--json]", "list peers", "Each peer with the addresses it resolved to.", 1, 1, 0,
     vn_peer_list},
    {"varp-list", "[--json]", "list the MAC to care-of address table",
     "Local MACs (learned from the bridge) and remote ones (learned by VARP),\n"
     "with the seconds each stays valid.",
     1, 1, 0, vn_varp_list},
    {"varp-flush", "[ID]", "forget remote MACs",
     "Drops the remote entries of vnet ID (all vnets without ID); they are\n"
     "learned again from announces and from traffic.",
     1, 2, 0, vn_varp_flush},
    {"stats", "[--json]", "show per-vnet counters",
     "Frames, bytes, floods, VARP messages and drops per vnet, and a \"*\" entry\n"
     "for drops that no vnet can be charged with.",
     1, 1, 0, vn_stats},
    {"key-gen", "FILE", "write a new vnet key file",
     "Writes 32 random bytes as 64 hex digits to FILE, mode 0600. Refuses to\n"
     "overwrite an existing file. Needs no daemon.",
     2, 2, 0, vn_keygen_run},
    {"sa-list", "[--keys] [--json]", "list ESP security associations (debug)",
     "Every SA with its SPI, addresses and sequence number; with --keys also\n"
     "the key material in hex (GCM: key then salt, as Wireshark wants it).",
     1, 1, VN_OPT_KEYS, vn_sa_list},
    {"sa-rekey", "ID", "send with a new SA on vnet ID now",
     "Draws a new SA (fresh nonce and SPI) for our traffic on vnet ID and\n"
     "announces it, as happens by itself before sequence numbers run out.\n"
     "Other hosts learn it at once; the old one stays valid for 30 s.",
     2, 2, 0, vn_sa_rekey},
    {NULL, NULL, NULL, NULL, 0, 0, 0, NULL},
};
