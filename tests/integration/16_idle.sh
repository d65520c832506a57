#!/usr/bin/env bash
# 16_idle: an idle guest (dirtier rate=0, blocking in the yield hypercall
# between its once-a-second prints) costs the vmm process < 5% of one core,
# measured over 3 s from utime+stime in /proc/<pid>/stat; all its threads
# run under the seccomp allowlist.
#
#   vmm (hvidle$$) ── dirtier.elf rate=0 ── yield ──> ppoll in the vCPU thread
set -eu

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
B=${TERN_BUILD:?TERN_BUILD not set}
VMM=$B/hypervisor/vmm/vmm
G=$B/hypervisor/guest
[ -f "$G/dirtier.elf" ] || { echo "SKIP: guest images not built (TERN_BUILD_GUESTS=OFF)"; exit 77; }

dir=$(mktemp -d "/tmp/tern-hv16.$$.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$dir/out"; exit 1; }
wait_for() { for _ in $(seq "$3"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

printf 'name = "hvidle%s"\nkernel = "%s"\nmemory = 64\nextra = "ws=16 rate=0"\n' $$ "$G/dirtier.elf" >"$dir/d.cfg"
"$VMM" --config "$dir/d.cfg" </dev/null >"$dir/out" 2>&1 &
pid=$!
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
