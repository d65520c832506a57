#!/usr/bin/env bash
# 40_net_echo: the echo guest on a TAP, answered by real Linux clients.
# 200 pings at 10 ms with no loss; a 1 MiB TCP echo session (python3)
# returns the same bytes; 100 UDP datagrams come back; the guest's console
# counters say exactly that; the vmm's exit line counts the frames it
# moved and shows batching (far fewer kicks than frames). Bad --tap and
# --tap-fd options are refused first, naming the cause.
#
#   namespace tn$$:  br0 10.97.0.1/24 ── tap0 ── vmm (echo.elf, 10.97.0.11)
#                     ^ ping, python3 TCP/UDP clients
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

net_require echo.elf ping
net_init 40
name=ne$$
net_cfg "$dir/e.cfg" "$name" echo.elf 64 "mac=00:16:3e:40:00:11, bridge=br0" \
	"ip=10.97.0.11/24 gw=10.97.0.1"
# Bad TAP options are refused with the reason, before anything runs.
bad() {
	local want=$1 got rc=0
	shift
	got=$(in_ns "$VMM" --config "$dir/e.cfg" "$@" 2>&1 </dev/null) || rc=$?
	[ "$rc" -eq 2 ] || fail "vmm $*: exit $rc, want 2"
	echo "$got" | grep -qF "$want" || fail "vmm $*: '$got', want '$want'"
}
bad "vmm: vif 0: TAP nosuch$$: No such device" --tap "nosuch$$"
bad "vmm: --tap-fd: 'x' is not an open fd number (3..65535)" --tap-fd x
bad "vmm: 2 TAPs given (--tap/--tap-fd) but domain $name has 1 vifs" --tap tap0 --tap tap0
net_vmm "$dir/e.out" "$dir/e.err" --config "$dir/e.cfg" --tap tap0 --control "$dir/e.sock"
wait_for "$dir/e.out" '^echo: ready udp/7 tcp/7$' 100 || fail "echo guest not ready"
grep -qx 'net: vif0 mac=00:16:3e:40:00:11 ip=10.97.0.11/24 gw=10.97.0.1' "$dir/e.out" ||
	fail "net line"

in_ns ping -c 200 -i 0.01 -W 2 -q 10.97.0.11 >"$dir/ping.txt" || true
grep -q ' 200 received, 0% packet loss' "$dir/ping.txt" || fail "ping: $(cat "$dir/ping.txt")"

cat >"$dir/cli.py" <<'PY'
import os, socket, sys, threading
data = os.urandom(1 << 20)
s = socket.create_connection(("10.97.0.11", 7), timeout=10)
got = bytearray()
def reader():
    while len(got) < len(data):
        b = s.recv(65536)
        if not b:
            break
        got.extend(b)
t = threading.Thread(target=reader)
t.start()
s.sendall(data)
t.join(20)
s.close()
if bytes(got) != data:
    sys.exit("tcp: %d of %d bytes came back, equal prefix: %s" % (len(got), len(data), data.startswith(bytes(got))))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
for i in range(100):
    m = os.urandom(1 + i * 14)
    u.sendto(m, ("10.97.0.11", 7))
    r, a = u.recvfrom(4096)
    if r != m or a != ("10.97.0.11", 7):
        sys.exit("udp: datagram %d did not come back intact" % i)
print("ok")
PY
in_ns timeout 40 python3 "$dir/cli.py" >"$dir/cli.out" 2>&1 || fail "clients: $(cat "$dir/cli.out")"

# Console counters (printed once a second when they change).
wait_for "$dir/e.out" '^echo: icmp=[0-9]+ udp=100 tcp_conns=1 tcp_bytes=1048576 ' 30 ||
	fail "echo counters: $(grep '^echo: icmp' "$dir/e.out" | tail -n1)"
icmp=$(grep '^echo: icmp' "$dir/e.out" | tail -n1 | sed -E 's/^echo: icmp=([0-9]+) .*/\1/')
[ "$icmp" -ge 200 ] || fail "guest counted $icmp ICMP messages, want >= 200"
grep '^echo: drops' "$dir/e.out" | tail -n1 | grep -q ' ipchk=0 tcp=0 tcpchk=0 udp=0 udpchk=0 bad=0$' ||
	fail "drops: $(grep '^echo: drops' "$dir/e.out" | tail -n1)"

"$CTL" -s "$dir/e.sock" destroy >/dev/null || fail "destroy"
wait_exit "$pid" 50 || fail "vmm did not exit"
line=$(grep 'vif 0: rx ' "$dir/e.err") || fail "no counters line"
rx=$(echo "$line" | sed -E 's/.* rx ([0-9]+) frames.*/\1/')
tx=$(echo "$line" | sed -E 's/.* tx ([0-9]+) frames.*/\1/')
kicks=$(echo "$line" | sed -E 's/.* kicks ([0-9]+) .*/\1/')
# Each way at least 200 ICMP + 100 UDP + 1 MiB / 1460-byte MSS = 1019 frames.
[ "$rx" -ge 1019 ] && [ "$tx" -ge 1019 ] || fail "frames rx $rx tx $tx: $line"
echo "$line" | grep -q 'dropped rx runt 0 oversize 0 error 0, tx 0 spoofed 0,' || fail "drops: $line"
# Batching: a kick only when the backend slept.
[ "$kicks" -lt "$tx" ] || fail "kicks $kicks not below tx frames $tx"
echo "PASS: 200/200 pings, 1 MiB TCP echo, 100 UDP echoes; rx $rx tx $tx kicks $kicks"
