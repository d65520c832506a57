#!/usr/bin/env bash
# 17_bad_hypercall: a hostile guest (written by hv_badcall) passes pointers
# beyond RAM, a huge length and argument structs outside or straddling the
# end of RAM: each call fails with -EINVAL (or is ignored), the net kick says
# -ENODEV, and the vmm goes on (the guest checks every return and halts 0).
# A write to a port nobody owns, and an `in` from a hypercall port, crash
# the domain (exit 3), never the vmm.
#
#   hv_badcall ──writes──> bad.elf ──> vmm (hvbad$$, 32 MiB)
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

# shellcheck disable=SC2119 # no guest image needed: hv_badcall writes its own
hv_require
hv_init 17
MK=$PROGS/hv_badcall

run() { # mode -> sets rc
	"$MK" "$dir/$1.elf" "$1" || fail "hv_badcall $1"
	hv_config "$dir/c.cfg" name "hvbad$$" kernel "$dir/$1.elf" memory 32
	rc=0
	timeout 20 "$VMM" --config "$dir/c.cfg" </dev/null >"$dir/out" 2>"$dir/err" || rc=$?
}

run badptr
[ "$rc" -eq 0 ] || fail "badptr: exit $rc (the guest saw a wrong return at the step it halted with)"
[ "$(cat "$dir/out")" = "badcall: ok" ] || fail "badptr: console"
grep -qx "domain hvbad$$: halted status 0" "$dir/err" || fail "badptr: halt line"

run port
[ "$rc" -eq 3 ] || fail "port: exit $rc, want 3"
grep -qx "domain hvbad$$: crashed: unknown port 0x600 (out, size 4, count 1)" "$dir/err" || fail "port: crash line"
# rip is the out (0x2000d5) or, where KVM steps over it before reporting the
# exit (PVM), the instruction after it.
grep -qE '^  vcpu 0: rip=0x00000000002000d[56] ' "$dir/err" || fail "port: rip of the out"

run in
[ "$rc" -eq 3 ] || fail "in: exit $rc, want 3"
grep -qx "domain hvbad$$: crashed: unknown port 0x500 (in, size 4, count 1)" "$dir/err" || fail "in: crash line"
echo "PASS: bad pointers and lengths refused, vmm unharmed; stray port I/O crashes the domain"
