#!/usr/bin/env bash
# 19_save_progress: a save runs on the vmm's I/O thread in steps while the
# control socket keeps answering. A 1 GiB dirtier (256 MiB working set) is
# saved with `vmmctl save -p -v`: status answers within 100 ms during the
# save and shows its progress growing; the saving client gets progress
# records before its final reply; the file restores (verify=ok). A second
# save is cancelled mid-way: the guest runs on, no file or temporary file
# is left; a save of a paused domain cancelled leaves it paused; a destroy
# mid-save ends the vmm at once and leaves no temporary file.
#
#   vmmctl save -p -v ──> vmm #1 (hvsp$$, 1 GiB) ──steps──> $dir/big.save
#   vmmctl status (x5, timed) ──┘   │  ^── vmmctl cancel (2nd, 3rd save)
#                                   └── vmmctl destroy (4th save)
#   vmm #2 --restore $dir/big.save: dirtier resumed verify=ok
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
hv_init 19

ms() { echo $(($(date +%s%N) / 1000000)); }
json_num() { echo "$1" | sed -nE "s/.*\"$2\":([0-9]+).*/\1/p"; }
# runs_on: the guest prints its next once-a-second line (t= is guest
# monotonic time, which goes on while the domain is paused).
# runs_on: the guest prints a later second within 3 s (its clock is wall
# time, so after a pause the next line may skip ahead).
last_t() { sed -nE 's/^dirtier: t=([0-9]+) .*/\1/p' "$dir/1.out" | tail -n1; }
runs_on() {
	local t0 t
	t0=$(last_t)
	for _ in $(seq 30); do
		t=$(last_t)
		[ "${t:-0}" -gt "${t0:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}

name=hvsp$$
hv_config "$dir/d.cfg" name "$name" kernel "$G/dirtier.elf" memory 1024 extra "ws=256 rate=200"
hv_vmm "$dir/1.out" "$dir/1.err" --config "$dir/d.cfg" --control "$dir/1.sock"
vpid=$pid
wait_for "$dir/1.out" '^dirtier: t=2 ' 150 || fail "dirtier did not reach t=2"

# wait_op: polls status until a save is under way with some RAM done.
wait_op() {
	local st
	for _ in $(seq 200); do
		st=$("$CTL" -s "$dir/1.sock" status --json) || fail "status refused"
		case $st in *'"op":"save"'*) [ "$(json_num "$st" op_bytes_done)" -gt 0 ] && return 0 ;; esac
		sleep 0.02
	done
	fail "no save in progress: $st"
}

# 1. Status during a save: fast, and shows progress.
"$CTL" -s "$dir/1.sock" save -p -v "$dir/big.save" 2>"$dir/save.err" &
spid=$!
wait_op
worst=0 prev=-1 samples=0
for _ in 1 2 3 4 5; do
	t0=$(ms)
	st=$("$CTL" -s "$dir/1.sock" status --json) || fail "status refused during the save"
	t=$(($(ms) - t0))
	[ "$t" -gt "$worst" ] && worst=$t
	case $st in *'"op":"save"'*) ;; *) break ;; esac
	done_b=$(json_num "$st" op_bytes_done)
	total=$(json_num "$st" op_bytes_total)
	[ "$total" -eq $((1024 << 20)) ] || fail "op_bytes_total $total, want $((1024 << 20))"
	echo "$st" | grep -q '"state":"paused"' || fail "not paused during the save: $st"
	[ "$done_b" -ge "$prev" ] || fail "progress went back: $done_b < $prev"
	prev=$done_b samples=$((samples + 1))
	sleep 0.05
done
[ "$samples" -ge 2 ] || fail "the save ended before 2 status samples: make it longer"
[ "$worst" -lt 100 ] || fail "status took $worst ms during the save"
"$CTL" -s "$dir/1.sock" status | grep -qE '^save: (pages|state|sync) [0-9]+/1024 MiB' || fail "text status shows no progress"
rc=0; wait "$spid" || rc=$?
[ "$rc" -eq 0 ] || fail "save -p -v: exit $rc: $(cat "$dir/save.err")"
nprog=$(grep -cE '^vmmctl: save: (pages|state|sync) [0-9]+/1024 MiB \([0-9]+%\), [0-9]+ MiB written, [0-9.]+ s$' "$dir/save.err" || true)
[ "$nprog" -ge 3 ] || fail "$nprog progress records, want at least 3: $(cat "$dir/save.err")"
sed -nE 's/^vmmctl: save: [a-z]+ ([0-9]+)\/.*/\1/p' "$dir/save.err" |
	awk 'NR > 1 && $1 < prev { exit 1 } { prev = $1 }' || fail "progress records not increasing"
[ -s "$dir/big.save" ] || fail "no save file"
grep -qx "domain $name: saved to $dir/big.save" "$dir/1.err" || fail "no saved message"
st=$("$CTL" -s "$dir/1.sock" status --json)
echo "$st" | grep -q '"state":"paused"' || fail "not paused after save -p: $st"
case $st in *'"op":'*) fail "an operation still shown after the save: $st" ;; esac
echo "status during the save: $samples samples, worst $worst ms; $nprog progress records"

# 2. Cancel a save of a running domain: it runs on, nothing is left.
"$CTL" -s "$dir/1.sock" unpause
runs_on || fail "no progress after unpause"
"$CTL" -s "$dir/1.sock" save "$dir/c.save" 2>"$dir/c.err" &
spid=$!
wait_op
t0=$(ms)
"$CTL" -s "$dir/1.sock" cancel || fail "cancel refused"
cancel_ms=$(($(ms) - t0))
rc=0; wait "$spid" || rc=$?
[ "$rc" -eq 1 ] && grep -qx "vmmctl: domain $name: save: cancelled" "$dir/c.err" || fail "cancelled save: rc $rc: $(cat "$dir/c.err")"
[ ! -e "$dir/c.save" ] || fail "a cancelled save left its file"
! compgen -G "$dir/*.part" >/dev/null || fail "a cancelled save left $(ls "$dir"/*.part)"
kill -0 "$vpid" || fail "the vmm ended after a cancelled save (without -p)"
"$CTL" -s "$dir/1.sock" status --json | grep -q '"state":"running"' || fail "not running after cancel"
runs_on || fail "the guest does not run after cancel"
echo "cancel of a running domain's save answered in $cancel_ms ms; guest runs, no file"

# 3. Cancel a save of a paused domain: it stays paused.
"$CTL" -s "$dir/1.sock" pause
"$CTL" -s "$dir/1.sock" save "$dir/p.save" 2>"$dir/p.err" &
spid=$!
wait_op
"$CTL" -s "$dir/1.sock" cancel || fail "cancel refused (paused)"
rc=0; wait "$spid" || rc=$?
[ "$rc" -eq 1 ] || fail "cancelled save of a paused domain: rc $rc"
[ ! -e "$dir/p.save" ] && ! compgen -G "$dir/*.part" >/dev/null || fail "files left: $(ls "$dir")"
"$CTL" -s "$dir/1.sock" status --json | grep -q '"state":"paused"' || fail "not paused after cancel"
rc=0; "$CTL" -s "$dir/1.sock" cancel 2>"$dir/ctl.err" || rc=$?
[ "$rc" -eq 1 ] && grep -qx "vmmctl: domain $name: no operation running" "$dir/ctl.err" || fail "cancel with nothing running: rc $rc: $(cat "$dir/ctl.err")"
"$CTL" -s "$dir/1.sock" unpause

# 4. Destroy mid-save: the vmm ends within a second, no temporary file.
"$CTL" -s "$dir/1.sock" save "$dir/d.save" 2>/dev/null &
wait_op
t0=$(ms)
"$CTL" -s "$dir/1.sock" destroy || fail "destroy refused during a save"
wait_exit "$vpid" 10 || fail "vmm still running 1 s after destroy during a save"
destroy_ms=$(($(ms) - t0))
[ "$rc" -eq 0 ] || fail "vmm exit $rc after destroy"
[ ! -e "$dir/d.save" ] && ! compgen -G "$dir/*.part" >/dev/null || fail "files left after destroy: $(ls "$dir")"
wait || true

# 5. The stepped save restores.
hv_vmm "$dir/2.out" "$dir/2.err" --restore "$dir/big.save" --control "$dir/2.sock"
wait_for "$dir/2.out" '^dirtier: resumed n=1 .* verify=ok$' 300 || fail "big.save did not restore: $(cat "$dir/2.err")"
"$CTL" -s "$dir/2.sock" destroy
echo "PASS: status worst $worst ms during a 1 GiB save, $nprog progress records, cancel in $cancel_ms ms, destroy mid-save in $destroy_ms ms, restored verify=ok"
