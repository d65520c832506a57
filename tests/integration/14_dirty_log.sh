#!/usr/bin/env bash
# 14_dirty_log: hv_dirtylog drives libhv directly with dirtylog.elf; at each
# round's console line it reads and clears the dirty log and asserts the
# bitmap of the test region is exactly the set of pages the guest wrote.
#
#   hv_dirtylog (libhv: VM + KVM_GET/CLEAR_DIRTY_LOG) ── dirtylog.elf
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtylog.elf
hv_init 14
PROG=$PROGS/hv_dirtylog

run() { # expected-rounds args...
	local rounds=$1 rc=0
	shift
	timeout 60 "$PROG" "$G/dirtylog.elf" "$@" >"$dir/out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || fail "hv_dirtylog $*: exit $rc"
	grep -qx "hv_dirtylog: PASS rounds=$rounds" "$dir/out" || fail "hv_dirtylog $*: no PASS"
	[ "$(grep -c '^hv_dirtylog: round [0-9]*: .* exactly as printed' "$dir/out")" -eq "$rounds" ] ||
		fail "hv_dirtylog $*: not every round checked"
	echo "ok: $* ($(grep -c 'exactly as printed' "$dir/out") rounds exact)"
}
run 5
run 4 base=20 pages=37 stride=3 rounds=4
run 3 base=8 pages=512 stride=2 rounds=3
echo "PASS: dirty bitmap exact in every round"
