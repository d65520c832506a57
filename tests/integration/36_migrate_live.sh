#!/usr/bin/env bash
# 36_migrate_live: a 1 GiB dirtier (ws=512 rate=50) moves A -> B live with
# `vm migrate --live --json`, back B -> A stop-and-copy (text summary), and
# A -> B live again on a terminal (the progress bar). Each time: the guest
# resumes on the destination with verify=ok and its counter continued,
# `vm list` shows it there and not on the source, no vmm of it is left on
# the source, and the reported totals are consistent.
#
#   tvPID-h1 (A) 10.0.1.1 ── ul1 ── tvPID-h2 (B) 10.0.1.2
#     migrated + vmm m36    TLS 1 (migrateds), then TLS 2 (vmms) on :8002
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq script
mig_init
d=$TOPO_DIR
for n in 1 2; do
	mig_host "$n"
	mig_conf "$n" "(relocation-server yes)" "(relocation-hosts-allow '^h[12]\$')"
	mig_start "$n"
done
mig_dom "$d/m36.cfg" m36 1024 "ws=512 rate=50"
mig_vm 1 create "$d/m36.cfg" >/dev/null

# moved FROM TO N: m36 left FROM and runs on TO, resumed for the Nth time
# with verify=ok and its counter at or past what FROM showed last.
moved() {
	local from=$1 to=$2 nres=$3 line c i
	mig_wait_running "$to" m36 || topo_fail "m36 not running on h$to: $(mig_vm "$to" list)"
	[ -z "$(mig_state "$from" m36)" ] || topo_fail "m36 still listed on h$from: $(mig_vm "$from" list -l)"
	! pgrep -f "$d/h$from/run/dom" >/dev/null || topo_fail "a vmm left on h$from: $(pgrep -af "$d/h$from/run/dom")"
	for ((i = 0; i < 50; i++)); do
		line=$(mig_console "$to" m36 0.2 | grep -a '^dirtier: resumed ' | tail -n1)
		[ -n "$line" ] && break
		sleep 0.1
	done
	echo "$line" | grep -qE "^dirtier: resumed n=$nres counter=[0-9]+ checksum=[0-9a-f]{16} verify=ok" ||
		topo_fail "h$to: resume line: $line"
	c=$(echo "$line" | sed -E 's/.*counter=([0-9]+).*/\1/')
	[ "$c" -ge "$last" ] || topo_fail "counter went back: $c < $last"
	sleep 1.2
	[ "$(mig_counter "$to" m36)" -gt "$c" ] || topo_fail "h$to: counter not advancing after the move"
}

for ((i = 0; i < 100; i++)); do mig_console 1 m36 0.1 | grep -aq '^dirtier: t=2 ' && break; sleep 0.1; done
last=$(mig_counter 1 m36)

topo_log "A -> B live, --json"
json=$(mig_vm 1 migrate --live m36 h2 --json) || topo_fail "live migration failed: $json"
echo "$json"
echo "$json" | jq -e '.outcome == "ok" and .total_ms > 0 and .downtime_ms > 0 and .bytes > 0
	and .rounds >= 2 and (.round_stats | length) == .rounds
	and all(.round_stats[]; has("pages") and has("ms"))
	and .round_stats[0].pages >= 131072 and .downtime_ms < 5000' >/dev/null ||
	topo_fail "JSON: $json"
moved 1 2 1
last=$(mig_counter 2 m36)

topo_log "B -> A stop and copy, text summary"
out=$(mig_vm 2 migrate m36 10.0.1.1) || topo_fail "non-live migration failed: $out"
echo "$out"
echo "$out" | grep -qE '^domain m36 migrated to 10\.0\.1\.1:8002: total [0-9.]+ s, downtime [0-9.]+ ms, [0-9.]+ MiB sent, 1 rounds$' ||
	topo_fail "summary: $out"
moved 2 1 2
last=$(mig_counter 1 m36)

topo_log "A -> B live on a terminal: the progress bar"
TERM=dumb script -qec "ip netns exec $TOPO_P-h1 $VMC -s $d/h1/run/migrated.sock migrate --live m36 h2 --bandwidth 200" \
	"$d/tty.out" >/dev/null || topo_fail "migration on a terminal failed: $(tail -c 400 "$d/tty.out")"
grep -aqE 'precopy +round +1 \[.*\] +[0-9]+%  +[0-9.]+ MiB sent of 1024 MiB  dirty +[0-9.]+ MiB/s  +[0-9.]+ MiB/s  ETA' "$d/tty.out" ||
	topo_fail "no progress bar: $(tail -c 600 "$d/tty.out")"
grep -aqE '^domain m36 migrated to h2:8002: total ' "$d/tty.out" || topo_fail "no summary on the terminal"
moved 1 2 3
echo "PASS: A->B live (json), B->A stop-and-copy, A->B live with progress bar; verify=ok each time"
