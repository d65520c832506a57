#!/usr/bin/env bash
# 13_crash: crash.elf faults with no IDT in each mode (pf, ud, gp) and the CPU
# triple-faults; the vmm reports "crashed" with the registers and exits 3
# within seconds. With on_crash = "preserve" the crashed domain stays for
# inspection: status says crashed (with details) until destroy.
#
#   test ──starts──> vmm (hvcr$$-<mode>) ── crash.elf mode=<mode> ──> triple fault
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require crash.elf
hv_init 13

for mode in pf ud gp; do
	name=hvcr$$-$mode
	hv_config "$dir/c.cfg" name "$name" kernel "$G/crash.elf" memory 32 extra "mode=$mode"
	start=$(date +%s%N)
	rc=0
	timeout 20 "$VMM" --config "$dir/c.cfg" </dev/null >"$dir/out" 2>"$dir/err" || rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	[ "$rc" -eq 3 ] || fail "mode $mode: exit $rc, want 3"
	[ "$ms" -lt 5000 ] || fail "mode $mode: took $ms ms"
	grep -qx "crash: faulting mode=$mode" "$dir/out" || fail "mode $mode: guest did not get to its fault"
	grep -qx "domain $name: crashed: triple fault (KVM_EXIT_SHUTDOWN)" "$dir/err" || fail "mode $mode: crash line"
	for re in '^  vcpu 0: rip=0x[0-9a-f]{16} rsp=0x[0-9a-f]{16} rflags=0x[0-9a-f]{16}$' \
		'^  cr0=0x[0-9a-f]+ cr2=0x[0-9a-f]+ cr3=0x10000 cr4=0x[0-9a-f]+ efer=0xd00$' \
		'^  cs=0x0023 ss=0x001b ' '^  rax=0x[0-9a-f]{16} rbx=' '^  r13=0x[0-9a-f]{16} r14='; do
		grep -qE "$re" "$dir/err" || fail "mode $mode: no register line /$re/"
	done
	if [ "$mode" = pf ]; then
		# The fault address is the write beyond RAM: cr2 >= 32 MiB.
		cr2=$(sed -nE 's/.* cr2=0x([0-9a-f]+) .*/\1/p' "$dir/err")
		[ $((16#$cr2)) -ge $((32 << 20)) ] || fail "pf: cr2=0x$cr2 is inside RAM"
	fi
	echo "mode $mode: crashed, exit 3 after $ms ms"
done

# on_crash = "preserve": the vmm stays, status reports the crash.
name=hvcr$$-keep
hv_config "$dir/c.cfg" name "$name" kernel "$G/crash.elf" memory 32 extra "mode=ud" on_crash preserve
hv_vmm "$dir/out" "$dir/err" --config "$dir/c.cfg" --control "$dir/c.sock"
wait_for "$dir/err" "^domain $name: crashed: " 100 || fail "preserve: no crash"
st=$("$CTL" -s "$dir/c.sock" status --json)
echo "$st" | grep -q '"state":"crashed"' || fail "preserve: status $st"
echo "$st" | grep -q '"crash":"domain '"$name"': crashed: triple fault (KVM_EXIT_SHUTDOWN)\\n  vcpu 0: rip=0x' || fail "preserve: crash details: $st"
rc=0
"$CTL" -s "$dir/c.sock" unpause 2>"$dir/ctl.err" || rc=$?
[ "$rc" -eq 1 ] && grep -qx "vmmctl: domain $name is crashed" "$dir/ctl.err" || fail "unpause of a crashed domain: rc $rc"
"$CTL" -s "$dir/c.sock" destroy
rc=0; wait "$pid" || rc=$?; pid=
[ "$rc" -eq 3 ] || fail "preserve: exit $rc after destroy, want 3"
echo "PASS: pf, ud, gp crash reports; preserved crash inspected and destroyed"
