#!/usr/bin/env bash
# 41_net_save_restore: an echo guest with a random MAC is saved while it
# answers pings and restored on the same TAP. The restored vmm announces the
# MAC (RARP broadcast, seen by tcpdump on the bridge) before the guest runs,
# and the guest then sends a gratuitous ARP for its IP;
# the guest keeps its IP and MAC (the MAC travels in the stream's net device
# record: the config has none) and answers pings and a TCP echo again.
#
#   namespace tn$$:  br0 10.97.0.1/24 ── tap0 ── vmm #1 (echo, 10.97.0.11) ─save─┐
#                     ^ ping, tcpdump rarp     └─ vmm #2 --restore <─────────────┘
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

net_require echo.elf ping tcpdump
net_init 41
name=nsr$$
net_cfg "$dir/e.cfg" "$name" echo.elf 64 "bridge=br0" "ip=10.97.0.11/24 gw=10.97.0.1"
net_vmm "$dir/1.out" "$dir/1.err" --config "$dir/e.cfg" --tap tap0 --control "$dir/1.sock"
vmm1=$pid
wait_for "$dir/1.out" '^echo: ready' 100 || fail "echo guest not ready"
mac=$(sed -nE 's/^net: vif0 mac=([0-9a-f:]{17}) ip=10\.97\.0\.11\/24 .*/\1/p' "$dir/1.out")
case $mac in 00:16:3e:*) ;; *) fail "random MAC '$mac' is not 00:16:3e:xx:xx:xx" ;; esac
in_ns ping -c 20 -i 0.02 -W 2 -q 10.97.0.11 >"$dir/ping1.txt" || fail "ping before save: $(cat "$dir/ping1.txt")"

# Not through in_ns: $! must be tcpdump itself (ip netns exec execs it).
ip netns exec "$NET_NS" tcpdump -i br0 -nn -e -U -w "$dir/rarp.pcap" 'rarp or arp' \
	>/dev/null 2>"$dir/tcpdump.err" &
tdpid=$!
wait_for "$dir/tcpdump.err" 'listening on' 50 || fail "tcpdump did not start"
# UDP echo traffic runs through the save and the restore (3 s, ~2000/s):
# the net thread must leave the rings alone while the domain is paused.
cat >"$dir/udp.py" <<'PY'
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setblocking(False)
sent = got = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    try:  # while the guest is away, ARP fails and the queue fills
        u.sendto(b"during save %d" % sent, ("10.97.0.11", 7))
        sent += 1
    except (BlockingIOError, OSError):
        pass
    time.sleep(0.0005)
    try:
        while True:
            u.recv(100)
            got += 1
    except (BlockingIOError, OSError):
        pass
print("sent=%d got=%d" % (sent, got))
PY
ip netns exec "$NET_NS" python3 "$dir/udp.py" >"$dir/udp.out" 2>&1 &
udppid=$!
sleep 0.3
"$CTL" -s "$dir/1.sock" save "$dir/e.save" >/dev/null || fail "save"
wait_exit "$vmm1" 50 || fail "vmm #1 still running after save"
in_ns ip neigh flush dev br0
net_vmm "$dir/2.out" "$dir/2.err" --restore "$dir/e.save" --tap tap0 --control "$dir/2.sock"
wait_for "$dir/2.err" "vif 0: announced $mac" 50 || fail "no announce of $mac"

wait "$udppid" || fail "UDP sender: $(cat "$dir/udp.out")"
grep -qE '^sent=[0-9]+ got=[1-9][0-9]*$' "$dir/udp.out" || fail "UDP during save: $(cat "$dir/udp.out")"
wait_for "$dir/2.out" '^echo: icmp=[0-9]+ udp=[1-9]' 30 || fail "restored guest echoed no UDP"
in_ns ping -c 20 -i 0.02 -W 2 -q 10.97.0.11 >"$dir/ping2.txt" || fail "ping after restore: $(cat "$dir/ping2.txt")"
lladdr=$(in_ns ip neigh show 10.97.0.11 dev br0 | sed -nE 's/.*lladdr ([0-9a-f:]+).*/\1/p')
[ "$lladdr" = "$mac" ] || fail "neighbour 10.97.0.11 is at '$lladdr', want $mac"

cat >"$dir/tcp.py" <<'PY'
import socket, sys
s = socket.create_connection(("10.97.0.11", 7), timeout=5)
s.sendall(b"after restore\n")
got = b""
while len(got) < 14:
    b = s.recv(100)
    if not b:
        break
    got += b
sys.exit(0 if got == b"after restore\n" else "echo after restore: %r" % got)
PY
in_ns timeout 20 python3 "$dir/tcp.py" || fail "TCP echo after restore"

kill "$tdpid"
wait "$tdpid" || true
tcpdump -r "$dir/rarp.pcap" -nn -e 2>/dev/null >"$dir/rarp.txt"
# Four announcements (before the guest runs, then 100, 300, 600 ms later):
# the first may meet a bridge port still coming up.
grep -q "^.*$mac > ff:ff:ff:ff:ff:ff, ethertype Reverse ARP (0x8035).*Reverse Request who-is $mac tell $mac" "$dir/rarp.txt" ||
	fail "no RARP from $mac on br0: $(cat "$dir/rarp.txt")"
# The guest's own gratuitous ARP after the resume, after the vmm's RARP.
grep -q "^.*$mac > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806).*Request who-has 10.97.0.11 tell 10.97.0.11" "$dir/rarp.txt" ||
	fail "no gratuitous ARP for 10.97.0.11 from $mac: $(cat "$dir/rarp.txt")"
[ "$(grep -n "Reverse ARP" "$dir/rarp.txt" | head -n1 | cut -d: -f1)" -lt \
	"$(grep -n "who-has 10.97.0.11 tell 10.97.0.11" "$dir/rarp.txt" | tail -n1 | cut -d: -f1)" ] ||
	fail "the gratuitous ARP came before the RARP: $(cat "$dir/rarp.txt")"
"$CTL" -s "$dir/2.sock" destroy >/dev/null || fail "destroy"
echo "PASS: restored guest kept $mac and 10.97.0.11, announced by RARP, answers ping and TCP"
