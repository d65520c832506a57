#!/usr/bin/env bash
# 41_net_save_restore: an echo guest with a random MAC is saved while it
# answers pings and restored on the same TAP. The restored vmm announces the
# MAC (RARP broadcast, seen by tcpdump on the bridge) before the guest runs;
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
ip netns exec "$NET_NS" tcpdump -i br0 -nn -e -U -w "$dir/rarp.pcap" rarp \
	>/dev/null 2>"$dir/tcpdump.err" &
tdpid=$!
wait_for "$dir/tcpdump.err" 'listening on' 50 || fail "tcpdump did not start"
"$CTL" -s "$dir/1.sock" save "$dir/e.save" >/dev/null || fail "save"
wait_exit "$vmm1" 50 || fail "vmm #1 still running after save"
in_ns ip neigh flush dev br0
net_vmm "$dir/2.out" "$dir/2.err" --restore "$dir/e.save" --tap tap0 --control "$dir/2.sock"
wait_for "$dir/2.err" "vif 0: announced $mac" 50 || fail "no announce of $mac"
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
grep -q "^.*$mac > ff:ff:ff:ff:ff:ff, ethertype Reverse ARP (0x8035).*Reverse Request who-is $mac tell $mac" "$dir/rarp.txt" ||
	fail "no RARP from $mac on br0: $(cat "$dir/rarp.txt")"
"$CTL" -s "$dir/2.sock" destroy >/dev/null || fail "destroy"
echo "PASS: restored guest kept $mac and 10.97.0.11, announced by RARP, answers ping and TCP"
