#!/usr/bin/env bash
# 18_console_stuck: a guest printing as fast as it can (chatter.elf) into a
# vmm whose stdout is a pipe nobody reads: the vCPU keeps running (console
# bytes keep growing, the overflow is dropped and counted in the status),
# the control socket keeps answering, and `vmmctl destroy` ends the domain
# within 1 s. Then a guest that prints 100000 lines and halts, stdout still
# unread: its console log gets every line and the vmm exits promptly.
#
#   vmm (hvcs$$) ── stdout ──> fifo $dir/pipe (held open by the test, never read)
#     ^  └─ --console-log ──> $dir/con.log (second case)
#     └── vmmctl -s $dir/1.sock status | destroy
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require chatter.elf
hv_init 18
ms() { echo $(($(date +%s%N) / 1000000)); }
# json_num JSON KEY: the number after "KEY":
json_num() { echo "$1" | sed -nE "s/.*\"$2\":([0-9]+).*/\1/p"; }

name=hvcs$$
mkfifo "$dir/pipe"
exec 3<>"$dir/pipe" # a reader exists (so the vmm's open does not block) but never reads
hv_config "$dir/d.cfg" name "$name" kernel "$G/chatter.elf" memory 64
hv_vmm "$dir/pipe" "$dir/1.err" --config "$dir/d.cfg" --control "$dir/1.sock"

# The pipe (64 KiB) and the vmm's ring fill within milliseconds; wait until
# the status counts dropped bytes, then check the guest still makes progress.
for _ in $(seq 100); do [ -S "$dir/1.sock" ] && break; sleep 0.1; done
dropped=0
for _ in $(seq 100); do
	st=$("$CTL" -s "$dir/1.sock" status --json) || fail "status while stdout is stuck"
	dropped=$(json_num "$st" console_dropped_stdout)
	[ "${dropped:-0}" -gt 0 ] && break
	sleep 0.1
done
[ "${dropped:-0}" -gt 0 ] || fail "no console bytes dropped after 10 s: $st"
out1=$(json_num "$st" console_bytes_out)
sleep 0.3
st=$("$CTL" -s "$dir/1.sock" status --json) || fail "second status"
out2=$(json_num "$st" console_bytes_out)
[ "$out2" -gt "$out1" ] || fail "the guest stopped printing: console_bytes_out $out1 -> $out2"
echo "$st" | grep -q '"state":"running"' || fail "not running: $st"

t0=$(ms)
"$CTL" -s "$dir/1.sock" destroy || fail "destroy"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
t1=$(ms)
kill -0 "$pid" 2>/dev/null && fail "vmm still running $((t1 - t0)) ms after destroy"
[ $((t1 - t0)) -lt 1000 ] || fail "destroy took $((t1 - t0)) ms"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "vmm exit status $rc after destroy"
grep -qx "domain $name: destroyed" "$dir/1.err" || fail "no destroyed message"
grep -qE "vmm warn: domain $name: console: [0-9]+ bytes not written to stdout, 0 to the log" "$dir/1.err" ||
	fail "no dropped-bytes warning"
destroy_ms=$((t1 - t0))

# A guest that halts after 100000 lines; stdout still unread. The log is a
# separate sink: it must hold every line.
lines=100000
hv_config "$dir/e.cfg" name "${name}b" kernel "$G/chatter.elf" memory 64 extra "lines=$lines"
hv_vmm "$dir/pipe" "$dir/2.err" --config "$dir/e.cfg" --console-log "$dir/con.log"
wait_exit "$pid" 200 || fail "vmm did not exit after the guest halted (stdout unread)"
[ "$rc" -eq 0 ] || fail "vmm exit status $rc"
grep -qx "domain ${name}b: halted status 0" "$dir/2.err" || fail "no halt message"
tail -n1 "$dir/con.log" | grep -qx "chatter: done lines=$lines" || fail "log does not end with the done line"
n=$(grep -c '^chatter: line=' "$dir/con.log")
[ "$n" -eq "$lines" ] || fail "console log has $n lines, want $lines"
exec 3>&-
echo "PASS: stdout stuck, $dropped+ bytes dropped, guest kept printing, destroy in $destroy_ms ms; log complete ($n lines)"
