#!/usr/bin/env bash
# 12_corrupt_save: a saved domain whose file was altered is refused before
# anything runs: a flipped byte in page data, in the header and in the vCPU
# record, and a truncated file each give exit 2, a message naming the record
# and offset, and no guest output. The untouched file still restores.
#
#   vmm (hvcs$$) ──save──> good.save ──(flip | truncate)──> bad*.save
#                                       vmm --restore bad*.save: refused
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
hv_init 12

name=hvcs$$
hv_config "$dir/d.cfg" name "$name" kernel "$G/dirtier.elf" memory 64 extra "ws=16 rate=20"
hv_vmm "$dir/1.out" "$dir/1.err" --config "$dir/d.cfg" --control "$dir/1.sock"
wait_for "$dir/1.out" '^dirtier: t=1 ' 100 || fail "dirtier did not start"
"$CTL" -s "$dir/1.sock" save "$dir/good.save" || fail "save"
wait_exit "${pids[0]}" 50 || true

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
hv_vmm "$dir/2.out" "$dir/2.err" --restore "$dir/good.save" --control "$dir/2.sock"
wait_for "$dir/2.out" 'verify=ok$' 100 || fail "good file did not restore"
"$CTL" -s "$dir/2.sock" destroy
echo "PASS: 6 bad files refused, the good one restores"
