#!/usr/bin/env bash
# 43_net_bad_frames: crafted frames written to the bridge from a raw socket
# (python3 AF_PACKET on a veth port) reach the echo guest's TAP: bare
# Ethernet headers, truncated IP headers, IP and TCP with bad checksums,
# frames longer than 1514 bytes (the TAP's MTU is raised so the bridge
# lets them through), and TCP segments on a live connection with sequence
# numbers far outside the window carrying "EVIL". Every bad frame is
# dropped and counted where it belongs (the vmm: oversize; lwIP: eth,
# iplen, ipchk, tcpchk), "EVIL" is never echoed, and the guest keeps
# serving: the same TCP connection echoes again and pings get answers.
# `vmmctl status` shows the vmm's counters live (--json: the exact drops).
#
#   namespace tn$$:  br0 10.97.0.1/24 ── tap0 (mtu 9000) ── vmm (echo, 10.97.0.11)
#                     └── inj1 ── inj0 (veth, mtu 9000) <- python3 raw socket
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

net_require echo.elf ping
net_init 43
mac=00:16:3e:43:00:11
# br_netfilter (when loaded) would drop malformed IPv4 in the bridge: the
# frames must reach the TAP.
[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
	in_ns sysctl -qw net.bridge.bridge-nf-call-iptables=0
in_ns "$NLTOOL" veth-add inj0 inj1 >/dev/null
in_ns "$NLTOOL" master inj1 br0 >/dev/null
for l in inj0 inj1 tap0; do in_ns "$NLTOOL" mtu $l 9000 >/dev/null; done
in_ns "$NLTOOL" up inj1 >/dev/null
in_ns "$NLTOOL" up inj0 >/dev/null
net_cfg "$dir/e.cfg" "nbf$$" echo.elf 64 "mac=$mac, bridge=br0" "ip=10.97.0.11/24 gw=10.97.0.1"
net_vmm "$dir/e.out" "$dir/e.err" --config "$dir/e.cfg" --tap tap0 --control "$dir/e.sock"
wait_for "$dir/e.out" '^echo: ready' 100 || fail "echo guest not ready"
in_ns ping -c 3 -i 0.05 -W 2 -q 10.97.0.11 >/dev/null || fail "no ping before the attack"
wait_for "$dir/e.out" '^echo: drops ' 30 || fail "no drops line"
base=$(grep '^echo: drops' "$dir/e.out" | tail -n1)
echo "$base" | grep -qE ' eth=0 ip=[0-9]+ iplen=0 ipchk=0 tcp=[0-9]+ tcpchk=0 ' ||
	fail "drops before the attack: $base"

cat >"$dir/inject.py" <<'PY'
import os, random, socket, struct, sys
GMAC = bytes.fromhex(sys.argv[1].replace(":", ""))
SMAC = bytes.fromhex("02000000ab01")
HOST, GUEST = socket.inet_aton("10.97.0.1"), socket.inet_aton("10.97.0.11")

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def ip(proto, payload, bad_csum=False):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, HOST, GUEST)
    c = csum(h) ^ (0x1234 if bad_csum else 0)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload

def tcp(sport, dport, seq, ack, flags, data, bad_csum=False):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = HOST + GUEST + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(pseudo + h + data) ^ (0x4321 if bad_csum else 0)
    return h[:16] + struct.pack("!H", c) + h[18:] + data

eth = lambda t, p: GMAC + SMAC + struct.pack("!H", t) + p
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind(("inj0", 0))
c = socket.create_connection(("10.97.0.11", 7), timeout=5)
c.sendall(b"before\n")
assert c.recv(100) == b"before\n"
sport = c.getsockname()[1]
sent = {"eth": 0, "iplen": 0, "ipchk": 0, "tcpchk": 0, "oversize": 0, "evil": 0}
for i in range(5):
    raw.send(eth(0x0800, b""))                        # Ethernet header alone
    sent["eth"] += 1
    raw.send(eth(0x0800, bytes([0x45, 0, 0, 20, 0, 0])))  # IP header cut short
    sent["iplen"] += 1
for i in range(7):
    raw.send(eth(0x0800, ip(17, b"\0\7\0\7\0\x0c\0\0abcd", bad_csum=True)))
    sent["ipchk"] += 1
for i in range(4):
    raw.send(eth(0x0800, ip(6, tcp(sport, 7, 1, 1, 0x18, b"EVIL", bad_csum=True))))
    sent["tcpchk"] += 1
for i in range(3):
    raw.send(eth(0x0800, ip(17, b"\0\7\0\7" + b"\0" * 3000)))
    sent["oversize"] += 1
rnd = random.Random(4343)
for i in range(20):
    seq, ack = rnd.getrandbits(32), rnd.getrandbits(32)
    raw.send(eth(0x0800, ip(6, tcp(sport, 7, seq, ack, 0x18, b"EVIL"))))
    sent["evil"] += 1
c.sendall(b"after\n")
got = b""
c.settimeout(3)
try:
    while not got.endswith(b"after\n"):
        b = c.recv(100)
        if not b:
            break
        got += b
except socket.timeout:
    pass
if got != b"after\n":
    sys.exit("connection after the attack got %r" % got)
print(" ".join("%s=%d" % kv for kv in sorted(sent.items())))
PY
in_ns timeout 30 python3 "$dir/inject.py" "$mac" >"$dir/inject.out" 2>&1 || fail "inject: $(cat "$dir/inject.out")"
in_ns ping -c 20 -i 0.02 -W 2 -q 10.97.0.11 >"$dir/ping.txt" || fail "ping after: $(cat "$dir/ping.txt")"
wait_for "$dir/e.out" '^echo: drops link=0 eth=5 ip=[0-9]+ iplen=5 ipchk=7 tcp=[0-9]+ tcpchk=4 udp=0 udpchk=0 bad=0$' 30 ||
	fail "guest counters: $(grep '^echo: drops' "$dir/e.out" | tail -n1)"
# The vmm's own counters, live (vmmctl status): the 3 oversized frames
# dropped, no runt (a frame that crossed a bridge is at least a header, so
# none can reach the TAP), no errors, no broken ring, no first frame (the
# domain never moved); every injected frame but the oversized ones and
# the pings reached the guest, and the pings were answered.
"$CTL" -s "$dir/e.sock" status --json >"$dir/status.json" || fail "vmmctl status --json"
python3 - "$dir/status.json" "$dir/inject.out" <<'PY' || fail "vmm counters (status): $(cat "$dir/status.json")"
import json, sys
v = json.load(open(sys.argv[1]))["vifs"]
sent = dict(kv.split("=") for kv in open(sys.argv[2]).read().split())
delivered = sum(int(n) for k, n in sent.items() if k != "oversize")
assert len(v) == 1, v
v = v[0]
want = {"rx_dropped_runt": 0, "rx_dropped_oversize": int(sent["oversize"]), "rx_errors": 0,
        "tx_errors": 0, "tx_dropped_spoofed": 0, "first_frame_ms": None, "ring_error": None}
for k, n in want.items():
    assert v[k] == n, "%s: %r, want %r" % (k, v[k], n)
assert v["rx_frames"] >= delivered + 23, "rx_frames %d < %d + 23 pings" % (v["rx_frames"], delivered)
assert v["tx_frames"] >= 23 and v["kicks"] > 0, v  # the guest kicked to answer
assert v["rx_bytes"] >= 14 * v["rx_frames"] and v["tx_bytes"] >= 42 * v["tx_frames"], v
PY
"$CTL" -s "$dir/e.sock" status >"$dir/status.txt" || fail "vmmctl status"
grep -qE "^vif 0: rx [0-9]+ frames [0-9]+ bytes, tx [0-9]+ frames [0-9]+ bytes; dropped: runt 0 oversize 3 spoofed 0; errors: rx 0 tx 0; kicks [0-9]+ wakes [0-9]+$" \
	"$dir/status.txt" || fail "vmmctl status text: $(cat "$dir/status.txt")"
"$CTL" -s "$dir/e.sock" destroy >/dev/null || fail "destroy"
wait_exit "$pid" 50 || fail "vmm did not exit"
grep -q 'dropped rx runt 0 oversize 3 error 0, tx 0 spoofed 0,' "$dir/e.err" ||
	fail "vmm counters: $(grep 'vif 0: rx' "$dir/e.err")"
echo "PASS: $(cat "$dir/inject.out") dropped and counted; connection and pings fine after"
