#!/usr/bin/env bash
# 33_vm_lifecycle: one host's migrated and the `vm` CLI over its control
# socket: create (and a refused duplicate, a refused oversize, a bad
# file), list (text, -l, --json), console (recent output, Ctrl-] detaches),
# pause/unpause (the guest's counter stops and goes on), save (the vmm
# ends, the domain leaves the list), restore (verify=ok on the console),
# shutdown, destroy, a crashing guest kept as crashed until destroy, and a
# console flood to a client that stopped reading (migrated still answers),
# a stopped vmm (`vm list` waits for it a bounded time, others not at all).
#
#   netns tvPID-h1 (eth0 10.0.1.1 on ul1)
#     migrated ─┬─ vmm d33 (dirtier 128 MiB, ws=16 rate=10)
#               └─ vmm c33 (crash.elf)
#     vm -s h1/run/migrated.sock ...
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq
mig_init
mig_host 1
mig_conf 1 "(domain-memory 512)"
mig_start 1
d=$TOPO_DIR
mig_dom "$d/d33.cfg" d33 128 "ws=16 rate=10"

out=$(mig_vm 1 create "$d/d33.cfg") || topo_fail "create: $out"
[ "$out" = "domain d33 created, id 1" ] || topo_fail "create said: $out"
mig_vm 1 list | grep -qE '^d33 +1 +128 +1 running ' || topo_fail "list: $(mig_vm 1 list)"
mig_vm 1 list | head -n1 | grep -qE '^Name +ID +Mem\(MB\) +VCPUs +State +Time\(s\)$' ||
	topo_fail "list header: $(mig_vm 1 list | head -n1)"
mig_vm 1 list -l | grep -qE '^d33 .* [0-9]+ +[0-9]+ $' || topo_fail "list -l: $(mig_vm 1 list -l)"
[ "$(mig_vm 1 list --json | jq -r '.[0] | "\(.name) \(.id) \(.memory_mib) \(.vcpus) \(.state)"')" = "d33 1 128 1 running" ] ||
	topo_fail "list --json: $(mig_vm 1 list --json)"

# Console: recent output first; the counter advances.
for ((i = 0; i < 50; i++)); do mig_console 1 d33 0.2 | grep -aq '^dirtier: t=2 ' && break; sleep 0.1; done
c1=$(mig_counter 1 d33)
[ -n "$c1" ] || topo_fail "no dirtier line on the console"
sleep 1.2
c2=$(mig_counter 1 d33)
[ "$c2" -gt "$c1" ] || topo_fail "counter not advancing: $c1 -> $c2"

# Pause stops the guest; a second pause is refused with the reason.
mig_vm 1 pause d33
[ "$(mig_state 1 d33)" = paused ] || topo_fail "not paused"
p1=$(mig_counter 1 d33)
sleep 1.5
p2=$(mig_counter 1 d33)
[ "$p1" = "$p2" ] || topo_fail "counter moved while paused: $p1 -> $p2"
rc=0; msg=$(mig_vm 1 pause d33 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: domain d33 is paused" ] || topo_fail "second pause: rc $rc: $msg"
mig_vm 1 unpause 1
sleep 1.5
p3=$(mig_counter 1 d33)
[ "$p3" -gt "$p2" ] || topo_fail "counter not advancing after unpause: $p2 -> $p3"

# Refusals: a name already present, more memory than the host gives, a
# config without a kernel, a missing domain, an unreachable daemon.
rc=0; msg=$(mig_vm 1 create "$d/d33.cfg" 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: domain d33 already exists (id 1)" ] || topo_fail "duplicate: rc $rc: $msg"
rc=0; msg=$(mig_vm 1 create "$d/d33.cfg" name=big33 memory=1024 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: domain big33: 1024 MiB asked, this host can give 384 MiB" ] ||
	topo_fail "oversize: rc $rc: $msg"
printf 'name = "nok"\nmemory = 64\n' >"$d/nok.cfg"
rc=0; msg=$(mig_vm 1 create "$d/nok.cfg" 2>&1) || rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q 'kernel' || topo_fail "no kernel: rc $rc: $msg"
rc=0; msg=$(mig_vm 1 pause nosuch 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: domain nosuch: no such domain" ] || topo_fail "no such: rc $rc: $msg"
rc=0; "$VMC" -s "$d/nonexistent.sock" list 2>/dev/null || rc=$?
[ $rc -eq 2 ] || topo_fail "unreachable migrated: rc $rc, want 2"
[ "$(mig_count 1)" = 1 ] || topo_fail "refusals left entries: $(mig_vm 1 list)"

# Save: the vmm writes the file and ends; the domain leaves the list.
last=$(mig_counter 1 d33)
mig_vm 1 save d33 "$d/d33.save" >/dev/null || topo_fail "save failed"
mig_wait_state 1 d33 "" 50 || topo_fail "d33 still listed after save"
[ -s "$d/d33.save" ] || topo_fail "no save file"
! pgrep -f "$d/h1/run/dom1.sock" >/dev/null || topo_fail "vmm of d33 still running after save"
out=$(mig_vm 1 restore "$d/d33.save") || topo_fail "restore: $out"
[ "$out" = "domain restored from $d/d33.save, id 2" ] || topo_fail "restore said: $out"
[ "$(mig_state 1 d33)" = running ] || topo_fail "restored d33 not running"
for ((i = 0; i < 50; i++)); do mig_console 1 d33 0.2 | grep -aq '^dirtier: resumed ' && break; sleep 0.1; done
line=$(mig_console 1 d33 0.2 | grep -a '^dirtier: resumed ' | tail -n1)
echo "$line" | grep -qE '^dirtier: resumed n=1 counter=[0-9]+ checksum=[0-9a-f]{16} verify=ok' || topo_fail "resume line: $line"
resumed=$(echo "$line" | sed -E 's/.*counter=([0-9]+).*/\1/')
[ "$resumed" -ge "$last" ] || topo_fail "counter went back: $resumed < $last"

# Shutdown ends it cleanly; destroy ends one at once.
mig_vm 1 shutdown d33
mig_wait_state 1 d33 "" 50 || topo_fail "d33 still listed after shutdown"
mig_vm 1 create "$d/d33.cfg" name=e33 >/dev/null
mig_vm 1 destroy e33
mig_wait_state 1 e33 "" 30 || topo_fail "e33 still listed after destroy"
! pgrep -f "$d/h1/run/dom3.sock" >/dev/null || topo_fail "vmm of e33 still running after destroy"

# A guest that crashes stays listed as crashed, with the reason, until destroy.
mig_dom "$d/c33.cfg" c33 32 "" crash.elf
mig_vm 1 create "$d/c33.cfg" >/dev/null 2>&1 || true
mig_wait_state 1 c33 crashed 50 || topo_fail "crash guest not crashed: $(mig_vm 1 list -l)"
mig_vm 1 list --json | jq -e '.[] | select(.name == "c33") | .note | test("crash")' >/dev/null ||
	topo_fail "crash reason missing: $(mig_vm 1 list --json)"
sleep 0.5
[ "$(mig_state 1 c33)" = crashed ] || topo_fail "crashed domain restarted or dropped"
mig_vm 1 destroy c33

# A stopped vmm (SIGSTOP) does not answer STATUS: `vm list` waits for it
# at most ~1 s (MIG_LIST_TIMEOUT_MS) and shows its vif counters as
# no_answer, while migrated's loop serves other clients meanwhile (also
# when so many lists ask that its listen backlog is full); once
# the vmm runs again the counters are back ("ok": the dirtier has none).
mig_dom "$d/s33.cfg" s33 32 "ws=1 rate=1"
mig_vm 1 create "$d/s33.cfg" >/dev/null || topo_fail "create s33"
spid=$(mig_vm 1 list -l --json | jq -r '.[] | select(.name == "s33") | .pid')
[ "$(mig_vm 1 list --json | jq -r '.[] | select(.name == "s33") | .vif_counters')" = ok ] ||
	topo_fail "s33 counters: $(mig_vm 1 list --json)"
[[ "$spid" =~ ^[1-9][0-9]*$ ]] || topo_fail "s33 pid: '$spid'"
kill -STOP "$spid"
t0=$(date +%s%N)
mig_vm 1 list --json >"$d/stalled.json" &
lpid=$!
sleep 0.2
rc=0; msg=$(mig_vm 1 pause nosuch 2>&1) || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
# Answered while the list still waits (or at least well inside its 1 s).
[ $rc -eq 1 ] || topo_fail "another client: rc $rc: $msg"
kill -0 "$lpid" 2>/dev/null || [ "$ms" -lt 1000 ] || topo_fail "another client waited $ms ms, after the list"
wait "$lpid" || topo_fail "vm list failed with a stopped vmm"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || topo_fail "vm list with a stopped vmm took $ms ms"
# 24 lists at once fill the stopped vmm's listen backlog (16): the asks
# beyond it must fail at once, never block migrated's loop; all end.
lp=()
for i in $(seq 24); do mig_vm 1 list --json >"$d/flood$i.json" 2>&1 & lp+=($!); done
for p in "${lp[@]}"; do wait "$p" || topo_fail "a list during the backlog flood failed: $(cat "$d"/flood*.json | head -c 300)"; done
rc=0; msg=$(timeout 5 ip netns exec "$TOPO_P-h1" "$VMC" -s "$TOPO_DIR/h1/run/migrated.sock" pause nosuch 2>&1) || rc=$?
[ $rc -eq 1 ] || topo_fail "migrated stuck after the backlog flood: rc $rc: $msg"
kill -CONT "$spid"
jq -e '.[] | select(.name == "s33") | .vif_counters == "no_answer" and .state == "running"' \
	"$d/stalled.json" >/dev/null || topo_fail "stalled list: $(cat "$d/stalled.json")"
mig_vm 1 list -l | grep -qx '    vifs: no answer from the vmm' && topo_fail "no answer after SIGCONT"
[ "$(mig_vm 1 list --json | jq -r '.[] | select(.name == "s33") | .vif_counters')" = ok ] ||
	topo_fail "s33 counters after SIGCONT: $(mig_vm 1 list --json)"
mig_vm 1 destroy s33
mig_wait_state 1 s33 "" 30 || topo_fail "s33 still listed after destroy"

# A guest that writes its console as fast as it can, watched by a console
# client that stopped reading: migrated still answers at once (the client's
# backlog is bounded; output it cannot take is dropped for it alone).
[ -f "$MIG_G/chatter.elf" ] || topo_fail "missing: $MIG_G/chatter.elf"
mig_dom "$d/ch33.cfg" ch33 32 "lines=0" chatter.elf
mig_vm 1 create "$d/ch33.cfg" >/dev/null
# (stdin at EOF: vm stops reading it and keeps streaming; $! is vm itself,
# `ip netns exec` execs it.)
ip netns exec "$TOPO_P-h1" "$VMC" -s "$d/h1/run/migrated.sock" console ch33 </dev/null >/dev/null &
conpid=$!
sleep 0.5
kill -STOP "$conpid"
sleep 2
t0=$(date +%s%N)
mig_vm 1 list >/dev/null || topo_fail "no answer while a console client is stuck"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1000 ] || topo_fail "vm list took $ms ms while a console client is stuck"
kill -KILL "$conpid"
wait "$conpid" 2>/dev/null || true
mig_vm 1 destroy ch33
[ "$(mig_count 1)" = 0 ] || topo_fail "entries left: $(mig_vm 1 list)"
[ -z "$(mig_run_extra 1)" ] || topo_fail "files left in run dir: $(mig_run_extra 1)"
echo "PASS: create/list/console/pause/unpause/save/restore (verify=ok, $last -> $resumed)/shutdown/destroy; crash kept until destroy; refusals exact"
