#!/usr/bin/env bash
# 18_vmm_ctl_stall: hostile control clients must not stall the vmm's main
# thread. On each domain's socket: 10 connections that send nothing (4
# slots: they evict each other), then one that pipelines 20000 STATUS
# requests and never reads a reply. While they hold on, `vmmctl status` is
# answered and the guest runs on; `vmmctl destroy` ends domain 1 within a
# second, SIGTERM ends domain 2 within a second.
#
#   common_ctl_flood -i 10 -n 20000 ──> 1.sock ── vmm #1 (hvcs1$$) <── vmmctl status, destroy
#   common_ctl_flood -i 10 -n 20000 ──> 2.sock ── vmm #2 (hvcs2$$) <── vmmctl status, SIGTERM
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
FLOOD=$PROGS/common_ctl_flood
[ -x "$FLOOD" ] || { echo "FAIL: no $FLOOD (build the tests)"; exit 1; }
hv_init 18

ms() { echo $(($(date +%s%N) / 1000000)); }

# flooded N: domain N under hostile clients, its vmm pid in vpid.
flooded() {
	local n=$1 i
	hv_config "$dir/$n.cfg" name "hvcs$n$$" kernel "$G/dirtier.elf" memory 64 extra "ws=16 rate=0"
	hv_vmm "$dir/$n.out" "$dir/$n.err" --config "$dir/$n.cfg" --control "$dir/$n.sock"
	vpid=$pid
	wait_for "$dir/$n.out" '^dirtier: t=1 ' 50 || fail "domain $n did not print t=1"
	"$FLOOD" -i 10 -n 20000 -t 0x0103 -d 30 "$dir/$n.sock" >"$dir/flood$n.log" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready$' "$dir/flood$n.log" && break
		sleep 0.1
	done
	grep -q '^ready$' "$dir/flood$n.log" || fail "flood $n not ready: $(cat "$dir/flood$n.log")"
	sed "s/^/flood $n: /" "$dir/flood$n.log"
	grep -q '^idle: 10 of 10 connected$' "$dir/flood$n.log" || fail "flood $n: idle clients"
	# Served while flooded: status (the 4 slots are full: it evicts one),
	# and the guest keeps running.
	t0=$(ms)
	st=$("$CTL" -s "$dir/$n.sock" status --json) || fail "domain $n: status refused while flooded"
	status_ms=$(($(ms) - t0))
	echo "$st" | grep -q '"state":"running"' || fail "domain $n: status $st"
	[ "$status_ms" -lt 1000 ] || fail "domain $n: status took $status_ms ms"
	local t
	t=$(grep -c '^dirtier: t=' "$dir/$n.out")
	wait_for "$dir/$n.out" "^dirtier: t=$((t + 1)) " 30 || fail "domain $n: guest stopped while flooded"
}

flooded 1
t0=$(ms)
"$CTL" -s "$dir/1.sock" destroy || fail "destroy refused while flooded"
wait_exit "$vpid" 10 || fail "vmm #1 still running 1 s after destroy while flooded"
destroy_ms=$(($(ms) - t0))
[ "$rc" -eq 0 ] || fail "vmm #1 exit status $rc after destroy"
grep -qx "domain hvcs1$$: destroyed" "$dir/1.err" || fail "no destroyed message"
grep -q "control client dropped: evicted" "$dir/1.err" || fail "no eviction logged"
echo "domain 1: status in $status_ms ms, destroy done in $destroy_ms ms"

flooded 2
t0=$(ms)
kill -TERM "$vpid"
wait_exit "$vpid" 10 || fail "vmm #2 ignored SIGTERM while flooded"
term_ms=$(($(ms) - t0))
[ "$rc" -eq 0 ] || fail "vmm #2 exit status $rc after SIGTERM"
grep -qx "domain hvcs2$$: destroyed (signal 15)" "$dir/2.err" || fail "no signal message"
echo "domain 2: status in $status_ms ms, SIGTERM done in $term_ms ms"
echo "PASS: 18_vmm_ctl_stall"
