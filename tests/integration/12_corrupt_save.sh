#!/usr/bin/env bash
# 12_corrupt_save: a saved domain whose file was altered is refused before
# anything runs: a flipped byte in page data, in the header and in the vCPU
# record, and a truncated file each give exit 2, a message naming the record
# and offset, and no guest output. The untouched file still restores.
#
#   vmm (hvcs$$) ──save──> good.save ──(flip | truncate)──> bad*.save
#                                       vmm --restore bad*.save: refused
set -eu

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
B=${TERN_BUILD:?TERN_BUILD not set}
VMM=$B/hypervisor/vmm/vmm
CTL=$B/hypervisor/vmm/vmmctl
G=$B/hypervisor/guest
[ -f "$G/dirtier.elf" ] || { echo "SKIP: guest images not built (TERN_BUILD_GUESTS=OFF)"; exit 77; }

dir=$(mktemp -d "/tmp/tern-hv12.$$.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.out "$dir"/*.err; do [ -f "$f" ] && { echo "  $f:"; sed 's/^/  | /' "$f"; }; done; exit 1; }
wait_for() { for _ in $(seq "$3"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

name=hvcs$$
printf 'name = "%s"\nkernel = "%s"\nmemory = 64\nextra = "ws=16 rate=20"\n' "$name" "$G/dirtier.elf" >"$dir/d.cfg"
"$VMM" --config "$dir/d.cfg" --control "$dir/1.sock" </dev/null >"$dir/1.out" 2>"$dir/1.err" &
pids+=($!)
wait_for "$dir/1.out" '^dirtier: t=1 ' 100 || fail "dirtier did not start"
"$CTL" -s "$dir/1.sock" save "$dir/good.save" || fail "save"
for _ in $(seq 50); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done

size=$(stat -c %s "$dir/good.save")
# flip FILE OFFSET: xor one byte with 0x01.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$dir/good.save" "$dir/page.save"; flip "$dir/page.save" $((size / 2))
cp "$dir/good.save" "$dir/magic.save"; flip "$dir/magic.save" 9
# The VCPU record follows the last PAGES record; its rip sits early in it.
cp "$dir/good.save" "$dir/vcpu.save"; flip "$dir/vcpu.save" $((size - 5900))
head -c $((size * 2 / 3)) "$dir/good.save" >"$dir/trunc.save"
head -c 1000 "$dir/good.save" >"$dir/short.save"

expect_refused() { # file regex
	local rc=0
	"$VMM" --restore "$1" </dev/null >"$dir/r.out" 2>"$dir/r.err" || rc=$?
	[ "$rc" -eq 2 ] || fail "restore $1: exit $rc, want 2"
	grep -qE "$2" "$dir/r.err" || fail "restore $1: message does not match /$2/: $(cat "$dir/r.err")"
	[ ! -s "$dir/r.out" ] || fail "restore $1: the guest ran"
	echo "refused $(basename "$1"): $(head -n1 "$dir/r.err")"
}
expect_refused "$dir/page.save" "^vmm: $dir/page.save: record END at offset [0-9]+: stream digest mismatch \(expected [0-9a-f]{16}\.\.\., got [0-9a-f]{16}\.\.\.\): the stream was altered$"
expect_refused "$dir/magic.save" "^vmm: $dir/magic.save: record HEADER at offset 0: bad magic \(not a Tern stream\)$"
expect_refused "$dir/vcpu.save" "^vmm: $dir/vcpu.save: record (END at offset [0-9]+: stream digest mismatch|VCPU at offset [0-9]+: )"
expect_refused "$dir/trunc.save" "^vmm: $dir/trunc.save: record PAGES at offset [0-9]+: truncated$"
expect_refused "$dir/short.save" "^vmm: $dir/short.save: record PAGES at offset [0-9]+: truncated$"
expect_refused "$dir/none.save" "^vmm: $dir/none.save: No such file or directory$"

# The untouched file is fine.
"$VMM" --restore "$dir/good.save" --control "$dir/2.sock" </dev/null >"$dir/2.out" 2>"$dir/2.err" &
pids+=($!)
wait_for "$dir/2.out" 'verify=ok$' 100 || fail "good file did not restore"
"$CTL" -s "$dir/2.sock" destroy
echo "PASS: 6 bad files refused, the good one restores"
