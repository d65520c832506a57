#!/usr/bin/env bash
# 11_save_restore: dirtier (256 MiB, ws=64 rate=20) runs under a vmm with a
# control socket; `vmmctl save` writes the stream and stops the vmm; a new
# vmm --restore resumes it: the counter continues from where it stopped, the
# guest re-verifies its whole working set (verify=ok), and guest monotonic
# time never goes back (its once-a-second t= lines stay consecutive).
# Malformed control requests on the way are refused without harm.
#
#   vmm #1 (hvsr$$) ──save──> $dir/hvsr.save ──restore──> vmm #2 (hvsr$$)
#      ^ vmmctl -s $dir/1.sock               vmmctl -s $dir/2.sock ^
#   vmm #3 (hvsr$$s) ──save -p──> $dir/link.save (a symlink to $dir/victim),
#                                 $dir/pred.save (beside a planted .part symlink)
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
hv_init 11

name=hvsr$$
hv_config "$dir/d.cfg" name "$name" kernel "$G/dirtier.elf" memory 256 \
	vif "[ 'mac=00:16:3e:00:00:42, bridge=tern0' ]" extra "ws=64 rate=20"

hv_vmm "$dir/1.out" "$dir/1.err" --config "$dir/d.cfg" --control "$dir/1.sock"
wait_for "$dir/1.out" '^dirtier: t=2 ' 100 || fail "dirtier did not reach t=2"
st=$("$CTL" -s "$dir/1.sock" status --json)
echo "$st" | grep -q "\"name\":\"$name\"" || fail "status: $st"
echo "$st" | grep -q '"state":"running"' || fail "status: $st"
echo "$st" | grep -q '"memory_mib":256,"vcpus":1' || fail "status: $st"
echo "$st" | grep -q '"vif":\["mac=00:16:3e:00:00:42, bridge=tern0"\]' || fail "status vif: $st"
# Malformed control requests are refused; the vmm keeps serving.
"$B/tests/progs/hv_ctl_garbage" "$dir/1.sock" >"$dir/garbage.out" 2>&1 || fail "control garbage: $(tail -n1 "$dir/garbage.out")"
"$CTL" -s "$dir/1.sock" pause
"$CTL" -s "$dir/1.sock" status --json | grep -q '"state":"paused"' || fail "not paused"
"$CTL" -s "$dir/1.sock" unpause
"$CTL" -s "$dir/1.sock" status --json | grep -q '"state":"running"' || fail "not running again"
"$CTL" -s "$dir/1.sock" save "$dir/hvsr.save" || fail "save failed"
wait_exit "${pids[0]}" 50 || fail "vmm #1 still running after save"
[ "$rc" -eq 0 ] || fail "vmm #1 exit status $rc after save"
grep -qx "domain $name: saved to $dir/hvsr.save" "$dir/1.err" || fail "no saved message"
[ ! -e "$dir/1.sock" ] || fail "control socket left behind"
! compgen -G "$dir/*.part" >/dev/null || fail "partial file left behind: $(ls "$dir"/*.part)"
[ "$(stat -c %a "$dir/hvsr.save")" = 600 ] || fail "save file mode $(stat -c %a "$dir/hvsr.save"), want 600"
last=$(grep '^dirtier: t=' "$dir/1.out" | tail -n1 | sed -E 's/.*counter=([0-9]+).*/\1/')

hv_vmm "$dir/2.out" "$dir/2.err" --restore "$dir/hvsr.save" --control "$dir/2.sock"
wait_for "$dir/2.out" '^dirtier: resumed ' 100 || fail "no resumed line"
line=$(grep '^dirtier: resumed ' "$dir/2.out")
echo "$line" | grep -qE '^dirtier: resumed n=1 counter=[0-9]+ checksum=[0-9a-f]{16} verify=ok$' || fail "resume line: $line"
resumed=$(echo "$line" | sed -E 's/.*counter=([0-9]+).*/\1/')
[ "$resumed" -ge "$last" ] || fail "counter went back: $resumed < $last"
n_before=$(grep -c '^dirtier: t=' "$dir/1.out")
wait_for "$dir/2.out" "^dirtier: t=$((n_before + 2)) " 100 || fail "no progress after restore"
"$CTL" -s "$dir/2.sock" status --json | grep -q '"state":"running"' || fail "restored domain not running"
# save -p keeps the domain, paused; it runs on after unpause.
"$CTL" -s "$dir/2.sock" save -p "$dir/again.save" || fail "save -p"
"$CTL" -s "$dir/2.sock" status --json | grep -q '"state":"paused"' || fail "not paused after save -p"
[ -s "$dir/again.save" ] || fail "save -p wrote nothing"
"$CTL" -s "$dir/2.sock" unpause
n_now=$(grep -c '^dirtier: t=' "$dir/2.out")
wait_for "$dir/2.out" "^dirtier: t=$((n_before + n_now + 1)) " 50 || fail "no progress after save -p and unpause"
rc=0; "$CTL" -s "$dir/2.sock" unpause 2>"$dir/ctl.err" || rc=$?
[ "$rc" -eq 1 ] && grep -qx "vmmctl: domain $name is running" "$dir/ctl.err" || fail "unpause of a running domain: rc $rc"
rc=0; "$CTL" -s "$dir/nonexistent.sock" status 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "vmmctl on a missing socket: rc $rc, want 2"
"$CTL" -s "$dir/2.sock" destroy
wait_exit "${pids[1]}" 50 || fail "vmm #2 still running after destroy"
[ "$rc" -eq 0 ] || fail "vmm #2 exit status $rc after destroy"

# Guest monotonic time: t=1,2,3,... with no gap or repeat across the move;
# counters strictly increase.
cat "$dir/1.out" "$dir/2.out" | grep '^dirtier: t=' | sed -E 's/^dirtier: t=([0-9]+) counter=([0-9]+).*/\1 \2/' >"$dir/t"
awk 'NR != $1 { print "t sequence broken at line " NR ": t=" $1; exit 1 }
     NR > 1 && $2 <= prev { print "counter not increasing at t=" $1; exit 1 }
     { prev = $2 }' "$dir/t" || fail "time or counter went back"

# vmm #3 (64 MiB): names planted in the save directory are never written
# through: a symlink at the target is replaced, not followed; one at the old
# predictable temporary name (<file>.part) is not used. A failed save leaves
# no temporary file.
echo keep >"$dir/victim"
hv_config "$dir/s.cfg" name "${name}s" kernel "$G/dirtier.elf" memory 64 extra "ws=16 rate=20"
hv_vmm "$dir/3.out" "$dir/3.err" --config "$dir/s.cfg" --control "$dir/3.sock"
wait_for "$dir/3.out" '^dirtier: t=1 ' 100 || fail "vmm #3 did not start"
ln -s "$dir/victim" "$dir/link.save"
ln -s "$dir/victim" "$dir/pred.save.part"
"$CTL" -s "$dir/3.sock" save -p "$dir/link.save" || fail "save -p over a symlink"
"$CTL" -s "$dir/3.sock" save -p "$dir/pred.save" || fail "save -p beside a planted .part symlink"
[ "$(cat "$dir/victim")" = keep ] || fail "a save wrote through a symlink"
{ [ -f "$dir/link.save" ] && [ ! -L "$dir/link.save" ] && [ -s "$dir/link.save" ]; } || fail "link.save is not the saved file"
[ -s "$dir/pred.save" ] && [ -L "$dir/pred.save.part" ] || fail "pred.save missing or the planted link was touched"
mkdir "$dir/adir"
rc=0; "$CTL" -s "$dir/3.sock" save -p "$dir/adir" 2>"$dir/ctl.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "save: rename to $dir/adir: Is a directory" "$dir/ctl.err" || fail "save onto a directory: rc $rc: $(cat "$dir/ctl.err")"
[ "$(ls -A "$dir" | grep -c '\.part$')" -eq 1 ] || fail "temporary files left: $(ls -A "$dir")"
"$CTL" -s "$dir/3.sock" destroy
wait_exit "${pids[2]}" 50 || fail "vmm #3 still running after destroy"
echo "PASS: saved at counter $last, resumed at $resumed with verify=ok, t=1..$(wc -l <"$dir/t") consecutive; planted symlinks not followed"
