#!/usr/bin/env bash
# 15_vcpu_state: hv_vcpu_roundtrip runs regs.elf to get the reference
# result, runs it again and interrupts it mid-loop (~30% in), captures the
# full vCPU state and RAM, resumes both in a fresh VM, and asserts the
# resumed run prints the reference result.
#
#   VM A: regs.elf ──────────────> result R
#   VM B: regs.elf ──kick@30%──> state + RAM ──> VM C ──> result == R
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require regs.elf
hv_init 15
PROG=$PROGS/hv_vcpu_roundtrip

rc=0
timeout 120 "$PROG" "$G/regs.elf" >"$dir/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc"
ref=$(grep -m1 '^regs: iters=' "$dir/out" | sed -E 's/.*result=//')
echo "$ref" | grep -qE '^[0-9a-f]{16}$' || fail "no reference result"
grep -qE '^hv_vcpu_roundtrip: interrupted at rip=0x[0-9a-f]+ after ' "$dir/out" || fail "not interrupted"
[ "$(grep -c "^regs: iters=[0-9]* result=$ref\$" "$dir/out")" -eq 2 ] || fail "resumed result differs"
grep -qx "hv_vcpu_roundtrip: PASS result=$ref" "$dir/out" || fail "no PASS"
echo "PASS: $(grep '^hv_vcpu_roundtrip: interrupted' "$dir/out" | cut -d' ' -f2-); result $ref both times"
