#!/usr/bin/env bash
# 16_idle: an idle guest (dirtier rate=0, blocking in the yield hypercall
# between its once-a-second prints) costs the vmm process < 5% of one core,
# measured over 3 s from utime+stime in /proc/<pid>/stat; all its threads
# run under the seccomp allowlist.
#
#   vmm (hvidle$$) ── dirtier.elf rate=0 ── yield ──> ppoll in the vCPU thread
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
hv_init 16
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

hv_config "$dir/d.cfg" name "hvidle$$" kernel "$G/dirtier.elf" memory 64 extra "ws=16 rate=0"
hv_vmm "$dir/out" "$dir/out" --config "$dir/d.cfg"
wait_for "$dir/out" '^dirtier: t=1 ' 50 || fail "idle guest did not print t=1"
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$pid")
s0=$(date +%s%N)
sleep 3
t1=$(cpu_ticks "$pid")
s1=$(date +%s%N)
used=$((t1 - t0))
wall_ticks=$(((s1 - s0) * hz / 1000000000))
pct=$((used * 100 / wall_ticks))
grep -q '^dirtier: t=3 ' "$dir/out" || fail "the idle guest stopped printing"
[ $((used * 100)) -lt $((5 * wall_ticks)) ] || fail "idle vmm used $used of $wall_ticks ticks ($pct%)"
# Every vmm thread runs under the seccomp allowlist (sanitizer builds skip it).
filtered=skipped
if ! grep -q __asan_init "$VMM"; then
	for t in /proc/"$pid"/task/*; do
		grep -q '^Seccomp:[[:space:]]*2$' "$t/status" || fail "thread ${t##*/} not under seccomp"
		grep -q '^NoNewPrivs:[[:space:]]*1$' "$t/status" || fail "thread ${t##*/} without no_new_privs"
	done
	filtered="on $(ls /proc/"$pid"/task | wc -l) threads"
fi
echo "PASS: idle vmm used $used ticks in $wall_ticks ($pct% of a core); seccomp $filtered"
