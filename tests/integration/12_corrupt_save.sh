#!/usr/bin/env bash
# 12_corrupt_save: a saved domain whose file was altered is refused before
# anything runs, by the check that owns the damage: a flipped byte in page
# data by the END record's stream digest; a bad field in the HEADER, a PAGES
# entry, the VCPU record and a DEVICE record by that record's own decoder
# (its message names the record at its exact offset, found by walking the
# file, so the generic digest mismatch cannot pass for it); a truncated file
# by the record it ends in. Each gives exit 2 and no guest output. The
# untouched file still restores.
#
#   vmm (hvcs$$) ──save──> good.save ──(flip | poke | truncate)──> bad*.save
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
wait_exit "${pids[0]}" 50 || fail "vmm did not exit after save"
[ "$rc" -eq 0 ] || fail "vmm exit status $rc after save"

size=$(stat -c %s "$dir/good.save")
# flip FILE OFFSET: xor one byte with 0x01.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# put_u32 FILE OFFSET VALUE: writes VALUE as a little-endian u32.
put_u32() {
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($3 & 255)) $(($3 >> 8 & 255)) \
		$(($3 >> 16 & 255)) $(($3 >> 24 & 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# rec_find FILE TYPE: offset of the first record of TYPE (docs/stream.md:
# 1 HEADER, 2 PAGES, 3 VCPU, 4 DEVICE, 5 END), walking the {type, len}
# record headers from the start.
rec_find() {
	local off=0 t l
	while [ "$off" -lt "$size" ]; do
		read -r t l < <(od -An -tu4 -j "$off" -N8 "$1")
		[ "$t" -eq "$2" ] && { echo "$off"; return 0; }
		off=$((off + 8 + l))
	done
	return 1
}
pages_off=$(rec_find "$dir/good.save" 2) || fail "no PAGES record"
vcpu_off=$(rec_find "$dir/good.save" 3) || fail "no VCPU record"
dev_off=$(rec_find "$dir/good.save" 4) || fail "no DEVICE record"
end_off=$(rec_find "$dir/good.save" 5) || fail "no END record"
[ "$end_off" -eq $((size - 80)) ] || fail "END record at $end_off, want $((size - 80))"

# Page data: only the stream digest in END can tell.
cp "$dir/good.save" "$dir/page.save"; flip "$dir/page.save" $((size / 2))
cp "$dir/good.save" "$dir/magic.save"; flip "$dir/magic.save" 9
# PAGES entry 0 (record payload +8): page type 5 in the top nibble.
cp "$dir/good.save" "$dir/entry.save"
printf '\120' | dd of="$dir/entry.save" bs=1 seek=$((pages_off + 8 + 8 + 7)) conv=notrunc status=none
# VCPU payload: index u32, size u32, then the state; its first word is the
# state version, which the VCPU decoder checks. A second case: the index.
cp "$dir/good.save" "$dir/vcpu.save"; put_u32 "$dir/vcpu.save" $((vcpu_off + 16)) 2
cp "$dir/good.save" "$dir/vcpuidx.save"; put_u32 "$dir/vcpuidx.save" $((vcpu_off + 8)) 5
# DEVICE payload: kind u32.
cp "$dir/good.save" "$dir/dev.save"; put_u32 "$dir/dev.save" $((dev_off + 8)) 9
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
expect_refused "$dir/page.save" "^vmm: $dir/page.save: record END at offset $end_off: stream digest mismatch \(expected [0-9a-f]{16}\.\.\., got [0-9a-f]{16}\.\.\.\): the stream was altered$"
expect_refused "$dir/magic.save" "^vmm: $dir/magic.save: record HEADER at offset 0: bad magic \(not a Tern stream\)$"
expect_refused "$dir/entry.save" "^vmm: $dir/entry.save: record PAGES at offset $pages_off: entry 0: bad page type 5$"
expect_refused "$dir/vcpu.save" "^vmm: $dir/vcpu.save: record VCPU at offset $vcpu_off: state version 2, want 1$"
expect_refused "$dir/vcpuidx.save" "^vmm: $dir/vcpuidx.save: record VCPU at offset $vcpu_off: vCPU index 5 out of range$"
expect_refused "$dir/dev.save" "^vmm: $dir/dev.save: record DEVICE at offset $dev_off: unknown device kind 9$"
expect_refused "$dir/trunc.save" "^vmm: $dir/trunc.save: record PAGES at offset [0-9]+: truncated$"
expect_refused "$dir/short.save" "^vmm: $dir/short.save: record PAGES at offset [0-9]+: truncated$"
expect_refused "$dir/none.save" "^vmm: $dir/none.save: No such file or directory$"

# The untouched file is fine.
hv_vmm "$dir/2.out" "$dir/2.err" --restore "$dir/good.save" --control "$dir/2.sock"
wait_for "$dir/2.out" 'verify=ok$' 100 || fail "good file did not restore"
"$CTL" -s "$dir/2.sock" destroy
echo "PASS: 9 bad files refused, each by the check that owns the damage; the good one restores"
