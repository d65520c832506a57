#!/usr/bin/env bash
# 10_boot_console: the vmm boots dirtier.elf; its first console line arrives
# on stdout and in the console log; bad configs and images are refused.
#
#   test ──starts──> vmm (domain hvboot$$, 64 MiB, 1 vCPU)
#                     │  guest console
#                     ├──> stdout        ($dir/out)
#                     └──> --console-log ($dir/console.log)
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
hv_init 10

name=hvboot$$
hv_config "$dir/d.cfg" name "$name" kernel "$G/dirtier.elf" memory 64 vcpus 1 extra "ws=16 rate=20"

hv_vmm "$dir/out" "$dir/err" --config "$dir/d.cfg" --console-log "$dir/console.log"
wait_for "$dir/out" '^tern-rt: boot' 50 || fail "no boot line within 5 s"
want='tern-rt: boot abi=1 loader=vmm mem=64 cmdline="ws=16 rate=20"'
[ "$(head -n1 "$dir/out")" = "$want" ] || fail "first console line: '$(head -n1 "$dir/out")'"
[ "$(head -n1 "$dir/console.log")" = "$want" ] || fail "console log: '$(head -n1 "$dir/console.log")'"
wait_for "$dir/out" '^dirtier: t=1 counter=[0-9]+ checksum=[0-9a-f]{16}$' 50 || fail "no progress line"
sed -n 2p "$dir/out" | grep -qx 'dirtier: start ws=16 rate=20' || fail "second line"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?; pid=
[ "$rc" -eq 0 ] || fail "vmm exit status $rc after SIGTERM"
grep -q "^domain $name: destroyed (signal 15)$" "$dir/err" || fail "no destroy message"
cmp -s "$dir/out" "$dir/console.log" || fail "stdout and console log differ"

# Refusals: exit 2 and one line naming the problem.
expect_refusal() { # expected-message vmm-args...
	local msg=$1 rc=0
	shift
	"$VMM" "$@" </dev/null >"$dir/out" 2>"$dir/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "vmm $*: exit $rc, want 2"
	grep -qxF "$msg" "$dir/err" || fail "vmm $*: want '$msg'"
	[ ! -s "$dir/out" ] || fail "vmm $*: guest output although refused"
}
expect_refusal "vmm: command line: memory: not a number: 'abc'" --config "$dir/d.cfg" memory=abc
printf 'name = "x"\nkernel = "/k"\nmemory = abc\n' >"$dir/bad.cfg"
expect_refusal "vmm: $dir/bad.cfg:3: memory: not a number: 'abc'" --config "$dir/bad.cfg"
printf 'name = "x"\nname = "y"\n' >"$dir/dup.cfg"
expect_refusal "vmm: $dir/dup.cfg:2: name: duplicate key" --config "$dir/dup.cfg"
expect_refusal "vmm: kernel $dir/d.cfg: not an ELF file (bad magic)" --config "$dir/d.cfg" kernel="$dir/d.cfg"
expect_refusal "vmm: kernel /nonexistent.elf: No such file or directory" --config "$dir/d.cfg" kernel=/nonexistent.elf
expect_refusal "vmm: vcpus: 2 requested, but guest ABI 1 starts exactly one vCPU" --config "$dir/d.cfg" vcpus=2
expect_refusal "vmm: give exactly one of --config, --restore and --incoming (see --help)" extra=x
# The ABI note: an image without it, or built for another ABI, is refused.
note_off=$(readelf -lW "$G/dirtier.elf" | awk '$1 == "NOTE" { print $2; exit }')
note_ph=$(readelf -lW "$G/dirtier.elf" | awk '$1 ~ /^[A-Z]+$/ && $2 ~ /^0x/ { if ($1 == "NOTE") { print n; exit } n++ }')
{ [ -n "$note_off" ] && [ -n "$note_ph" ]; } || fail "dirtier.elf has no PT_NOTE"
cp "$G/dirtier.elf" "$dir/nonote.elf"
printf '\000' | dd of="$dir/nonote.elf" bs=1 seek=$((64 + note_ph * 56)) conv=notrunc status=none # PT_NOTE -> PT_NULL
cp "$G/dirtier.elf" "$dir/abi2.elf"
printf '\002' | dd of="$dir/abi2.elf" bs=1 seek=$((note_off + 20)) conv=notrunc status=none # the version word
expect_refusal "vmm: kernel $dir/nonote.elf: not a Tern guest image: no ABI note" --config "$dir/d.cfg" kernel="$dir/nonote.elf"
expect_refusal "vmm: kernel $dir/abi2.elf: built for guest ABI 2, this vmm speaks 1" --config "$dir/d.cfg" kernel="$dir/abi2.elf"
# A console log name that is a symlink is refused, never followed.
echo keep >"$dir/victim"
ln -s "$dir/victim" "$dir/link.log"
expect_refusal "vmm: console log $dir/link.log: Too many levels of symbolic links" --config "$dir/d.cfg" --console-log "$dir/link.log"
[ "$(cat "$dir/victim")" = keep ] || fail "the console log was written through a symlink"
"$VMM" --help | grep -q '^usage: vmm --config FILE' || fail "--help"
# -n checks config and image without running anything.
[ "$("$VMM" -n --config "$dir/d.cfg")" = "$dir/d.cfg: configuration OK (domain $name, 64 MiB, entry 0x$(od -An -tx8 -j24 -N8 "$G/dirtier.elf" | tr -d ' ' | sed 's/^0*//'))" ] ||
	fail "vmm -n on a good config"
expect_refusal "vmm: kernel $dir/d.cfg: not an ELF file (bad magic)" -n --config "$dir/d.cfg" kernel="$dir/d.cfg"
echo "PASS: boot line, console log, progress, destroy, 11 refusals, -n"
