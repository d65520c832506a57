#!/usr/bin/env bash
# 44_net_hostile: the netbad guest attacks the vmm's net backend through
# its rings: an available index too far ahead and moved backwards, a frame
# past the end of RAM, a 65535-byte frame, RX buffers too small, kicks for
# devices that do not exist, frames from another guest's MAC (dropped and
# counted by the vmm, never learned by the bridge), and descriptors
# rewritten while the vmm reads them for 1.5 s. Each time the vmm stops the device with the exact reason,
# the domain ends as halted (exit 0, not crashed, the vmm never dies), and
# afterwards an echo guest on the same TAP answers pings: the host and its
# bridge are unharmed.
#
#   namespace tn$$:  br0 10.97.0.1/24 ── tap0 ── vmm (netbad.elf mode=...)
#                                            └── vmm (echo.elf) <- ping
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

net_require netbad.elf ping tcpdump
[ -f "$G/echo.elf" ] || { echo "FAIL: guest image $G/echo.elf not built"; exit 1; }
net_init 44
net_cfg "$dir/b.cfg" "nb$$" netbad.elf 64 "bridge=br0" "mode=flip"

# hostile MODE RING REASON: runs netbad in MODE; the vmm must log that the
# guest broke RING with REASON (none: no such line) and exit 0.
hostile() {
	local mode=$1 ring=$2 reason=$3
	net_vmm "$dir/$mode.out" "$dir/$mode.err" --config "$dir/b.cfg" --tap tap0 \
		"extra=mode=$mode"
	wait_exit "$pid" 150 || fail "$mode: vmm still running"
	[ "$rc" -eq 0 ] || fail "$mode: vmm exit status $rc, want 0 (guest halted)"
	grep -q "^netbad: $mode done " "$dir/$mode.out" || fail "$mode: guest did not finish"
	if [ "$reason" = none ]; then
		! grep -q 'guest broke' "$dir/$mode.err" || fail "$mode: $(grep 'guest broke' "$dir/$mode.err")"
	else
		grep -q "vif 0: guest broke its $ring ring ($reason): device stopped (used " "$dir/$mode.err" ||
			fail "$mode: no '$ring ring ($reason)' line"
	fi
}

hostile index TX "available index out of range"
hostile back TX "available index out of range"
hostile addr TX "buffer outside guest RAM"
hostile len TX "length out of range"
hostile rxcap RX "length out of range"
hostile kick - none
grep -q 'kick_ret=-19$' "$dir/kick.out" || fail "kick of device 7: $(grep done "$dir/kick.out")"
# Frames from a neighbour's MAC never leave the vmm (a capture on the
# bridge sees none of them, and all 10 from the guest's own MAC); counted.
# ip execs tcpdump: $! is tcpdump itself (in_ns, a function, would fork).
ip netns exec "$NET_NS" tcpdump -U --immediate-mode -n -i br0 -w "$dir/spoof.pcap" \
	ether proto 0x88b5 2>"$dir/tcpdump.err" &
cap=$!
pids+=("$cap")
for ((i = 0; i < 50; i++)); do grep -q "listening on" "$dir/tcpdump.err" && break; sleep 0.1; done
grep -q "listening on" "$dir/tcpdump.err" || fail "tcpdump on br0: $(cat "$dir/tcpdump.err")"
hostile spoof - none
sleep 0.3
kill "$cap"
wait "$cap" 2>/dev/null || true
tcpdump -r "$dir/spoof.pcap" -e -n 2>/dev/null | grep -E '^[0-9:.]+ [0-9a-f:]{17} > ' >"$dir/spoof.txt" || true
foreign=$(grep -c '^[0-9:.]* 02:00:00:00:00:99 > ' "$dir/spoof.txt" || true)
own=$(grep -vc '^[0-9:.]* 02:00:00:00:00:99 > ' "$dir/spoof.txt" || true)
[ "$foreign" = 0 ] && [ "$own" = 10 ] || fail "spoof: on br0 $foreign frames from the foreign MAC (want 0), $own from its own (want 10)"
grep -q "vif 0: the guest sends frames from 02:00:00:00:00:99, not its MAC: dropped" "$dir/spoof.err" ||
	fail "spoof: no warning: $(grep 'vif 0' "$dir/spoof.err")"
grep -qE "vif 0: rx [0-9]+ frames [0-9]+ bytes, tx 10 frames 600 bytes, .* tx 0 spoofed 100," "$dir/spoof.err" ||
	fail "spoof: counters: $(grep 'vif 0: rx' "$dir/spoof.err")"
hostile flip TX "length out of range"
rounds=$(sed -nE 's/^netbad: flip rounds=([0-9]+)$/\1/p' "$dir/flip.out")
tx=$(sed -nE 's/.* tx ([0-9]+) frames .*/\1/p' "$dir/flip.err")
[ "${rounds:-0}" -ge 1 ] && [ "${tx:-0}" -ge 256 ] || fail "flip: rounds ${rounds:-?} frames ${tx:-?}"

# The host is unharmed: the same TAP and bridge carry an echo guest.
net_cfg "$dir/e.cfg" "ne$$" echo.elf 64 "bridge=br0" "ip=10.97.0.11/24 gw=10.97.0.1"
net_vmm "$dir/e.out" "$dir/e.err" --config "$dir/e.cfg" --tap tap0
wait_for "$dir/e.out" '^echo: ready' 100 || fail "echo guest after the attacks"
in_ns ping -c 20 -i 0.02 -W 2 -q 10.97.0.11 >"$dir/ping.txt" || fail "ping: $(cat "$dir/ping.txt")"
echo "PASS: 8 hostile guests stopped with the right reason, vmm up, flip rounds $rounds ($tx frames), echo after"
