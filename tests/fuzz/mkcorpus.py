#!/usr/bin/env python3
"""Writes the seed corpora of the harnesses that take structured input:
tests/fuzz/corpus/<parser>/<name>. Run from anywhere; the files are
committed, this only says how they were made. Usage: mkcorpus.py [parser...]
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(parser, name, data):
    d = os.path.join(HERE, "corpus", parser)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- elf: hv_elf.c -------------------------------------------------------

PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4


def abi_note(version=1, name=b"Tern\0\0\0\0", ntype=1):
    return struct.pack("<III", 5, 4, ntype) + name + struct.pack("<I", version)


def elf(phdrs, blobs, entry=0x200010, phoff=64, size=0x400, etype=2, machine=62):
    """phdrs: (type, flags, offset, paddr, filesz, memsz, align); blobs:
    (offset, bytes) placed in the file."""
    b = bytearray(size)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    b[0:64] = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0,
                                  0, 64, 56, len(phdrs), 0, 0, 0)
    for i, (t, fl, off, pa, fs, ms, al) in enumerate(phdrs):
        b[phoff + 56 * i:phoff + 56 * (i + 1)] = struct.pack("<IIQQQQQQ", t, fl, off, pa, pa,
                                                              fs, ms, al)
    for off, data in blobs:
        b[off:off + len(data)] = data
    return bytes(b)


def elf_corpus():
    # Small enough for the bounded runs' -max_len=4096.
    code = (0x100, b"\x90" * 0x100)
    data = (0x200, b"\xab" * 0x10)
    note = (0x300, abi_note())
    good = [(PT_LOAD, PF_R | PF_X, 0x100, 0x200000, 0x100, 0x100, 0x1000),
            (PT_LOAD, PF_R | PF_W, 0x200, 0x300000, 0x10, 0x2000, 0x1000),
            (PT_NOTE, PF_R, 0x300, 0, 24, 0, 4)]
    put("elf", "good", elf(good, [code, data, note]))
    put("elf", "good_note8", elf(good[:2] + [(PT_NOTE, PF_R, 0x300, 0, 24, 0, 8)],
                                 [code, data, note]))
    put("elf", "bad_magic", b"\x7fELG" + elf(good, [code, data, note])[4:])
    put("elf", "no_note", elf(good[:2], [code, data]))
    put("elf", "note_v2", elf(good, [code, data, (0x300, abi_note(version=2))]))
    low = [(PT_LOAD, PF_R | PF_X, 0x100, 0x100000, 0x100, 0x100, 0x1000)] + good[1:]
    put("elf", "below_min", elf(low, [code, data, note]))
    over = good[:1] + [(PT_LOAD, PF_R | PF_W, 0x200, 0x200080, 0x10, 0x2000, 0x1000)] + good[2:]
    put("elf", "overlap", elf(over, [code, data, note]))
    put("elf", "entry_data", elf(good, [code, data, note], entry=0x300000))
    put("elf", "phoff_beyond", elf(good, [code, data, note], phoff=0x3f0))
    put("elf", "short", elf(good, [code, data, note])[:40])


# ---- tun_seg / tun_gro: TCP frames ----------------------------------------

MAC = b"\x02\0\0\0\0\x0b\x02\0\0\0\0\x0a"


def csum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def tcp_frame(payload, seq=0x01020304, flags=0x10, v6=False, opts=b"", vlan=False, ipid=0x77,
              good_csum=True, src=b"\xc0\xa8\x61\x01", dst=b"\xc0\xa8\x61\x02"):
    """An Ethernet + IPv4/IPv6 + TCP frame with exact lengths and (unless
    good_csum is False) a right TCP checksum."""
    doff = (20 + len(opts)) // 4
    tcp = bytearray(struct.pack("!HHIIBBHHH", 5000, 50000, seq, 0x0a0b0c0d, doff << 4, flags,
                                0x100, 0, 0) + opts + payload)
    if v6:
        src6, dst6 = b"\xfd" + bytes(14) + b"\x01", b"\xfd" + bytes(14) + b"\x02"
        pseudo = src6 + dst6 + struct.pack("!IxxxB", len(tcp), 6)
        ip = struct.pack("!IHBB", 0x60000000, len(tcp), 6, 64) + src6 + dst6
        eth = MAC + b"\x86\xdd"
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        ip = bytearray(struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(tcp), ipid, 0x4000, 64, 6, 0)
                       + src + dst)
        ip[10:12] = struct.pack("!H", 0xffff - csum16(bytes(ip)))
        eth = MAC + b"\x08\x00"
    if good_csum:
        tcp[16:18] = struct.pack("!H", 0xffff - csum16(pseudo + bytes(tcp)))
    if vlan:
        eth = MAC + b"\x81\x00\x00\x05" + eth[12:]
    return bytes(eth + bytes(ip) + bytes(tcp))


def vnet_hdr(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def seg_corpus():
    pay = bytes((i * 13 + 1) & 0xff for i in range(3000))
    ts = b"\x01\x01\x08\x0a" + bytes(8)
    put("tun_seg", "tso4", vnet_hdr(0, 1, 66, 1200) + tcp_frame(pay, flags=0x18, opts=ts))
    put("tun_seg", "tso4_vlan", vnet_hdr(0, 1, 58, 1448) + tcp_frame(pay, vlan=True))
    put("tun_seg", "tso6", vnet_hdr(0, 4, 74, 1000) + tcp_frame(pay[:2500], v6=True))
    put("tun_seg", "tso4_ecn_fin", vnet_hdr(0, 0x81, 54, 700) + tcp_frame(pay[:1500],
                                                                           flags=0x99))
    put("tun_seg", "tso4_empty", vnet_hdr(0, 1, 54, 1200) + tcp_frame(b""))
    put("tun_seg", "tso4_mss0", vnet_hdr(0, 1, 54, 0) + tcp_frame(pay[:100]))
    put("tun_seg", "tso4_mss_big", vnet_hdr(0, 1, 54, 4000) + tcp_frame(pay))
    put("tun_seg", "tso_udp", vnet_hdr(0, 3, 42, 1200) + tcp_frame(pay[:300]))
    put("tun_seg", "tso6_on_v4", vnet_hdr(0, 4, 54, 1200) + tcp_frame(pay[:300]))
    put("tun_seg", "csum", vnet_hdr(1, 0, 0, 0, 34, 16) + tcp_frame(pay[:301], good_csum=False))
    put("tun_seg", "csum_beyond", vnet_hdr(1, 0, 0, 0, 34, 400) + tcp_frame(pay[:100]))


# ---- esp_key: key files ----------------------------------------------------


def esp_key_corpus():
    key = "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100"
    put("esp_key", "good_nl", b"\x00" + key.encode() + b"\n")
    put("esp_key", "good_bare", b"\x00" + key.encode())
    put("esp_key", "good_ro_short_why", b"\x05" + key.encode() + b"\n")
    put("esp_key", "mode_0640", b"\x02" + key.encode() + b"\n")
    put("esp_key", "crlf", b"\x00" + key.encode() + b"\r\n")
    put("esp_key", "two_newlines", b"\x00" + key.encode() + b"\n\n")
    put("esp_key", "short", b"\x00" + key[:40].encode() + b"\n")
    put("esp_key", "long", b"\x00" + (key + "00").encode())
    put("esp_key", "not_hex", b"\x0c" + key[:10].encode() + b"g" + key[11:].encode())
    put("esp_key", "empty", b"\x00")


# ---- persist: vnetd's state dir ---------------------------------------------

SEP = b"\x00\xff"


def state(flags, vnet_a, vnet_b=None, peers=None, epoch=None):
    parts = [vnet_a, vnet_b, peers, epoch]
    while parts and parts[-1] is None:
        parts.pop()
    return bytes([flags]) + SEP.join((x or "").encode() for x in parts)


def persist_corpus():
    a = ("(vnet (id 97) (bridge vnet97) (vnetif vnif97) (security none) (mtu 1400))\n")
    b = ("(vnet (id 98) (bridge vnet98) (vnetif vnif98) (security conf) (suite aes128-gcm)"
         " (key-file /etc/tern/98.key) (mtu 1400))\n")
    put("persist", "full", state(0, a, b, "h2.example\n10.0.0.3\n", "41\n"))
    put("persist", "tmp_leftover", state(1, a, b, "", "65535\n"))
    put("persist", "only_sxp_name", state(2, a, b))
    put("persist", "two_in_one", state(0, a + b, None, None, "7"))
    put("persist", "bad_vnet", state(0, "(vnet (id 97) (mtu 99999))", "(vnet", None, "junk\n"))
    put("persist", "peers_crlf", state(3, "", None, "a.example\r\n\n\nb.example\r\n", "0\n"))
    put("persist", "peers_long_line", state(0, a, None, "x" * 300 + "\nok.example\n", "12x\n"))
    put("persist", "epoch_big", state(0, a, None, None, "70000\n"))
    put("persist", "epoch_long", state(0, a, None, None, "1" * 40))
    put("persist", "empty", b"\x00")


# ---- ctl / vmmctl: control-socket streams ---------------------------------


def msg(mtype, payload=b"", flags=0, length=None):
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack("<HHI", mtype, flags, len(payload) if length is None else length) + payload


def save_req(path, flags=0, path_len=None):
    path = path.encode()
    return struct.pack("<II", flags, len(path) if path_len is None else path_len) + path


def ctl_corpus():
    put("ctl", "one_status", b"\x00" + msg(0x103))
    put("ctl", "pieces_two", b"\x07" + msg(0x104, save_req("/tmp/x.save")) + msg(0x105))
    put("ctl", "error_reply", b"\x42" + msg(0x301, "-2 vnet 97: no such vnet", flags=3))
    put("ctl", "oversized", b"\x03" + msg(0x101) + msg(0x102, length=0x10001))
    put("ctl", "torn_payload", b"\x05" + msg(0x301, "x" * 40)[:30])
    put("ctl", "torn_header", b"\x00" + msg(0x101)[:5])
    put("ctl", "small_buffer", b"\x40" + msg(0x306) + msg(0x304, "h2.example"))
    put("ctl", "zero_buffer", b"\x01" + msg(0x303) + msg(0x30a, b"\x01"))


def vmmctl_corpus():
    P, U, ST, SV, D = 0x101, 0x102, 0x103, 0x104, 0x105
    put("vmmctl", "pause_status_unpause", b"\x00" + msg(P) + msg(ST) + msg(U) + msg(ST))
    put("vmmctl", "save_keep_paused", b"\x00" + msg(SV, save_req("/var/lib/tern/web1.save", 1))
        + msg(ST) + msg(D))
    put("vmmctl", "save_and_end", b"\x01" + msg(SV, save_req("/tmp/a")) + msg(ST))
    put("vmmctl", "save_fails", b"\x04" + msg(SV, save_req("/ro/a")) + msg(ST))
    put("vmmctl", "save_relative", b"\x00" + msg(SV, save_req("rel/a")) + msg(ST))
    put("vmmctl", "save_nul", b"\x00" + msg(SV, save_req("/a\0b")))
    put("vmmctl", "save_bad_flags", b"\x00" + msg(SV, save_req("/a", 6)))
    put("vmmctl", "save_len_mismatch", b"\x00" + msg(SV, save_req("/abc", 0, 9)))
    put("vmmctl", "crashed_pause", b"\x02" + msg(P) + msg(U) + msg(SV, save_req("/a", 1)))
    put("vmmctl", "halted_destroy", b"\x03" + msg(ST) + msg(D) + msg(ST))
    put("vmmctl", "payload_on_pause", b"\x00" + msg(ST) + msg(P, "x"))
    put("vmmctl", "unknown_type", b"\x00" + msg(0x199) + msg(ST))
    put("vmmctl", "too_long", b"\x00" + msg(ST) + msg(SV, length=0x10001))
    put("vmmctl", "torn", b"\x00" + msg(ST) + msg(SV, save_req("/a"))[:12])


# ---- vmm_hcall: a hypercall's port, pointer and guest memory --------------


def hcall(port_idx, gpa, pending, mem):
    return bytes([port_idx]) + struct.pack("<I", gpa) + bytes([pending]) + mem


def vmm_hcall_corpus():
    text = b"hello from the guest\n"
    put("vmm_hcall", "write_ok", hcall(0, 0x100, 0, struct.pack("<QQq", 0x120, len(text), 0)
                                       + bytes(8) + text))
    put("vmm_hcall", "write_beyond_ram", hcall(0, 0x100, 0, struct.pack("<QQq", 0xfff0, 0x20, 0)))
    put("vmm_hcall", "write_huge_len", hcall(0, 0x100, 0, struct.pack("<QQq", 0x120, 1 << 62, 0)))
    put("vmm_hcall", "read_pending", hcall(1, 0x200, 1, struct.pack("<QQq", 0x300, 64, 0)))
    put("vmm_hcall", "read_over_struct", hcall(1, 0x200, 1, struct.pack("<QQq", 0x1f0, 200, 0)))
    put("vmm_hcall", "read_none", hcall(1, 0x200, 0, struct.pack("<QQq", 0x300, 64, 0)))
    put("vmm_hcall", "yield_console", hcall(2, 0x40, 1, struct.pack("<QQQq", 2000000, 1, 0, 0)))
    put("vmm_hcall", "yield_forever", hcall(2, 0x40, 0, struct.pack("<QQQq", (1 << 64) - 1, 0, 0,
                                                                            0)))
    put("vmm_hcall", "net_kick", hcall(3, 0x80, 0, struct.pack("<IIq", 0, 0, 0)))
    put("vmm_hcall", "halt_7", hcall(4, 0x10, 0, struct.pack("<q", 7)))
    put("vmm_hcall", "halt_straddles", hcall(4, 0xfffc, 0, struct.pack("<q", 7)))
    put("vmm_hcall", "struct_beyond_ram", hcall(0, 0x7ffff000, 0, b""))
    put("vmm_hcall", "no_such_port", hcall(5, 0x100, 0, struct.pack("<QQq", 0x120, 4, 0)))


# ---- tun_gro: trains of frames ----------------------------------------------


def rec(frame, ctl=0):
    return bytes([ctl]) + struct.pack("!H", len(frame)) + frame


def gro_corpus():
    pay = bytes((i * 7 + 3) & 0xff for i in range(1200))
    ts = b"\x01\x01\x08\x0a" + bytes(8)

    def train(n, mss, v6=False, opts=b"", last=None, psh_at=None, seq=1000):
        out = b""
        for i in range(n):
            size = last if (last is not None and i == n - 1) else mss
            flags = 0x18 if i == psh_at else 0x10
            out += rec(tcp_frame(pay[:size], seq=seq + i * mss, flags=flags, v6=v6, opts=opts,
                                 ipid=0x100 + i))
        return out

    put("tun_gro", "v4_train", train(4, 300, last=120))
    put("tun_gro", "v4_ts_train", train(3, 400, opts=ts))
    put("tun_gro", "v6_train", train(3, 500, v6=True, last=20))
    put("tun_gro", "v4_psh_middle", train(4, 200, psh_at=1))
    put("tun_gro", "v4_gap", train(2, 300) + train(2, 300, seq=5000))
    put("tun_gro", "bad_csum", rec(tcp_frame(pay[:300], good_csum=False)) + train(2, 300, seq=1300))
    put("tun_gro", "follow_bits", rec(tcp_frame(pay[:256]), 0x03) + rec(pay[:256], 0x0c)
        + rec(pay[:256], 0x2c) + rec(pay[:100], 0x1c))
    put("tun_gro", "not_tcp", rec(MAC + b"\x88\xb5" + bytes(46)) + train(2, 100)
        + rec(b"\x02" * 10))
    put("tun_gro", "syn", rec(tcp_frame(b"", flags=0x02)) + train(2, 100))


def vnctl_server_corpus():
    CR, DEL, VL, PA, PD, PL, ML, MF, ST, SA = range(0x301, 0x30b)

    def create(text, path="/etc/tern/vnets.sxp"):
        return struct.pack("!H", len(path)) + path.encode() + text.encode()

    def vid(n):
        return bytes(14) + struct.pack("!H", n)

    v97 = "(vnet (id 97) (security none))"
    v98 = "(vnet (id 98) (security none))"
    put("vnctl_server", "create_list_delete", msg(CR, create(v97 + v98)) + msg(VL) + msg(ST)
        + msg(SA, b"\x01") + msg(DEL, vid(97)) + msg(VL) + msg(DEL, vid(97)))
    put("vnctl_server", "create_dup_undone", msg(CR, create(v97)) + msg(CR, create(v98 + v97))
        + msg(VL))
    put("vnctl_server", "create_bad_text", msg(CR, create("(vnet (id 97) (mtu 1))")) + msg(VL)
        + msg(CR, create("(peer x)")))
    put("vnctl_server", "create_relative_path", msg(CR, create(v97, "vnets.sxp")))
    put("vnctl_server", "peers", msg(PA, "h2.example") + msg(PA, "10.0.0.3") + msg(PL)
        + msg(PA, "xfail.example") + msg(PD, "h2.example") + msg(PD, "h2.example") + msg(PL))
    put("vnctl_server", "peer_bad_host", msg(PA, "two words"))
    put("vnctl_server", "varp", msg(ML) + msg(MF) + msg(MF, vid(5)) + msg(CR, create(v97))
        + msg(MF, vid(97)) + msg(MF, b"\x01\x02"))
    put("vnctl_server", "sa_list_bad", msg(SA, b"\x02"))
    put("vnctl_server", "flags_set", msg(VL) + msg(VL, flags=1))
    put("vnctl_server", "unknown_type", msg(ST) + msg(0x399))
    put("vnctl_server", "unknown_type_flags", msg(ST) + msg(0x399, flags=4))
    put("vnctl_server", "list_with_payload", msg(PL, "x"))
    put("vnctl_server", "too_long", msg(ST) + msg(VL, length=0x10001))
    put("vnctl_server", "torn", msg(ST) + msg(DEL, vid(1))[:12])


# ---- vmm_msg: the status record, version 2 (with the vifs' counters) -----
# (the other vmm_msg seeds, and status_*.bin of version 1, predate this.)

def vmm_status(state=0, vifs=(), op=(0, 0, 0, 0, 0, 0), crash=b"", version=2, vif_size=104,
               nvifs=None, trail=b"", cut=0):
    n = len(vifs) if nvifs is None else nvifs
    rec = struct.pack("<IIIIiiII", version, 128, state, n, 7, 4215, 64, 1)
    rec += struct.pack("<QQQQQq", 3541000000, 120000, 144, 0, 0, 0)
    rec += struct.pack("<IIQQQQ", *op) + struct.pack("<II", vif_size, 0)
    s = b""
    for text in [b"web1", b"/usr/lib/tern/guests/echo.elf", b"", crash] + [v[0] for v in vifs]:
        s += struct.pack("<H", len(text)) + text
    for _, c, ring, err in vifs:
        s += struct.pack("<12QII", *c, ring, err)
    out = b"\x00" + rec + s + trail
    return out[:len(out) - cut] if cut else out


def vmm_msg_corpus():
    none = 0xFFFFFFFFFFFFFFFF
    # rx/tx frames and bytes, runt, oversize, rx_err, tx_err, tx_spoofed,
    # kicks, wakes, first_frame_us
    v0 = (b"mac=00:16:3e:00:00:11, bridge=vnet97",
          (12, 3400, 10, 900, 1, 1, 0, 0, 9, 7, 5, none), 0, 0)
    v1 = (b"bridge=tern0", (0, 0, 4, 256, 0, 0, 0, 3, 0, 2, 0, 1234), 2, 2)  # RX ring broken
    put("vmm_msg", "status2_one_vif.bin", vmm_status(vifs=[v0]))
    put("vmm_msg", "status2_vifs_broken.bin", vmm_status(vifs=[v0, v1, v0, v1]))
    put("vmm_msg", "status2_saving.bin", vmm_status(1, [v1], (1, 1, 1 << 20, 1 << 26, 4096, 12)))
    put("vmm_msg", "status2_crashed.bin", vmm_status(2, [v0], crash=b"triple fault at rip 0x1000"))
    put("vmm_msg", "status2_no_vifs.bin", vmm_status())
    put("vmm_msg", "status2_trailing.bin", vmm_status(vifs=[v0], trail=b"\x00"))
    put("vmm_msg", "status2_cut_counters.bin", vmm_status(vifs=[v0, v1], cut=5))
    put("vmm_msg", "status2_bad_vif_size.bin", vmm_status(vifs=[v0], vif_size=96))
    put("vmm_msg", "status2_bad_ring.bin", vmm_status(vifs=[(v1[0], v1[1], 0, 2)]))
    put("vmm_msg", "status2_more_vifs.bin", vmm_status(vifs=[v0], nvifs=2))


# ---- mig_ctl: LIST replies, version 2 (entries with the vifs' counters) ----

def list_entry(name, state, vifs, counters=()):
    e = struct.pack("<IiIIIiQQ", 3, 4215, state, 64, 1, 0, 1500, 90000)
    e += name.ljust(64, b"\0") + b"note".ljust(128, b"\0")
    e += struct.pack("<II", vifs, len(counters))
    for c, ring, err in counters:
        e += struct.pack("<12QII", *c, ring, err)
    return e + bytes(104 * (4 - len(counters)))


def mig_ctl_corpus():
    none = 0xFFFFFFFFFFFFFFFF
    ok = ((12, 3400, 10, 900, 1, 1, 0, 0, 9, 7, 5, 1234), 0, 0)
    broken = ((0, 0, 4, 256, 0, 0, 0, 3, 0, 2, 0, none), 1, 1)
    two = list_entry(b"web1", 1, 1, [ok, broken]) + list_entry(b"db", 2, 2)
    put("mig_ctl", "list_reply_vifs.bin", b"\x02" + struct.pack("<IIII", 2, 2, 2, 0) + two)
    put("mig_ctl", "list_reply_bad_ring.bin", b"\x02" + struct.pack("<IIII", 2, 1, 1, 0)
        + list_entry(b"web1", 1, 1, [((0,) * 12, 2, 0)]))


CORPORA = {"mig_ctl": mig_ctl_corpus, "vmm_msg": vmm_msg_corpus, "vnctl_server": vnctl_server_corpus, "tun_gro": gro_corpus, "vmm_hcall": vmm_hcall_corpus, "vmmctl": vmmctl_corpus, "ctl": ctl_corpus, "persist": persist_corpus, "esp_key": esp_key_corpus, "elf": elf_corpus, "tun_seg": seg_corpus}

if __name__ == "__main__":
    for p in sys.argv[1:] or CORPORA:
        CORPORA[p]()
