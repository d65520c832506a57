#!/usr/bin/env bash
# 32_vmm_migrate: live migration between two vmms over TLS 2 (docs/migration.md),
# the connection made as the migrateds make it (common_migpair: TCP from
# namespace A to B, a random key, `vmm --incoming` spawned in B, CTL_VMM_MIGRATE
# with the socket to the source vmm). A 1 GiB dirtier (ws=512 rate=50):
#   1. cancel mid-stream (bandwidth capped so it is mid-stream): outcome
#      cancelled, the source runs on (status running, counter advancing), the
#      destination exits 2, nothing of it left;
#   2. destination killed mid-stream: outcome failed, the same;
#   3. live migration: outcome ok, rounds and downtime reported, the source vmm
#      exits 0 saying `domain NAME: migrated to PEER`, the destination console
#      shows the counter continuing and verify=ok, its status says running
#      with the domain id it was given, CTL_VMM_INCOMING there answers ok; it
#      is an ordinary domain (pause, unpause, destroy).
# Then a 256 MiB dirtier moved without live rounds (stop-and-copy only).
#
#   ns tmA$$ 10.231.0.1 ──veth── ns tmB$$ 10.231.0.2
#     vmm (source, a.sock) ══TLS 2══> vmm --incoming (spawned by migpair, bN.sock)
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"

hv_require dirtier.elf
command -v ip >/dev/null || { echo "FAIL: missing: ip"; exit 1; }
MP=$PROGS/common_migpair
[ -x "$MP" ] || { echo "FAIL: $MP not built"; exit 1; }
hv_init 32
NA=tmA$$
NB=tmB$$

cleanup() {
	local p
	set +e
	for p in $(ip netns pids "$NB" 2>/dev/null) $(ip netns pids "$NA" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
	hv_cleanup
}
trap cleanup EXIT

ip netns add "$NA"
ip netns add "$NB"
ip link add veth0 netns "$NA" type veth peer name veth1 netns "$NB"
ip -n "$NA" addr add 10.231.0.1/24 dev veth0
ip -n "$NB" addr add 10.231.0.2/24 dev veth1
for n in "$NA" "$NB"; do
	ip -n "$n" link set lo up
done
ip -n "$NA" link set veth0 up
ip -n "$NB" link set veth1 up

# src_vmm TAG MiB: a dirtier under a vmm in namespace A, control $dir/TAG.sock
src_vmm() {
	hv_config "$dir/$1.cfg" name "mig$$$1" kernel "$G/dirtier.elf" memory "$2" \
		extra "ws=$(($2 / 2)) rate=50"
	ip netns exec "$NA" "$VMM" --config "$dir/$1.cfg" --control "$dir/$1.sock" \
		</dev/null >"$dir/$1.out" 2>"$dir/$1.err" &
	pid=$!
	pids+=("$pid")
	wait_for "$dir/$1.out" '^dirtier: t=2 ' 150 || fail "$1: dirtier did not reach t=2"
}

# migrate TAG PORT ARGS...: runs migpair from a.sock; its JSON in $dir/TAG.json
migrate() {
	local tag=$1 port=$2
	shift 2
	timeout 60 "$MP" --src-ns "$NA" --dst-ns "$NB" --dst-addr 10.231.0.2 --port "$port" \
		--control "$dir/$SRC.sock" --vmm "$VMM" --dst-control "$dir/$tag.sock" \
		--dst-out "$dir/$tag.out" --dst-err "$dir/$tag.err" --domid 42 "$@" \
		>"$dir/$tag.json" 2>"$dir/$tag.mp" || fail "$tag: migpair: $(tail -n1 "$dir/$tag.mp")"
	res=$(grep '^{"result"' "$dir/$tag.json") || fail "$tag: no result"
	echo "$tag: $res"
}
# field NAME: the first NAME in the result (the result's own, not a round's)
field() { echo "$res" | grep -oE "\"$1\":\"?[^,\"}]*" | head -n1 | sed -E 's/.*:"?//'; }

# The source runs on: running, and its counter moves past the last line.
still_runs() {
	local n
	"$CTL" -s "$dir/$SRC.sock" status --json | grep -q '"state":"running"' ||
		fail "$1: source not running after it"
	n=$(grep -c '^dirtier: t=' "$dir/$SRC.out")
	wait_for "$dir/$SRC.out" "^dirtier: t=$((n + 1)) " 30 || fail "$1: source counter stopped"
}

# The destination is gone with status $2, its processes too; one that
# failed (not one killed) removed its control socket.
dst_gone() {
	local d
	d=$(field dst_pid)
	kill -0 "$d" 2>/dev/null && fail "$1: destination vmm $d still runs"
	[ "$(field dst_exit)" = "$2" ] || fail "$1: destination exit $(field dst_exit), want $2"
	[ "$2" != 2 ] || [ ! -e "$dir/$1.sock" ] || fail "$1: destination left its control socket"
	[ -z "$(ip netns pids "$NB")" ] || fail "$1: processes left in $NB: $(ip netns pids "$NB")"
}

SRC=a
src_vmm a 1024
srcpid=$pid

# 1. cancel while the stream runs (50 MiB/s cap: a few seconds of stream)
migrate c1 8002 --live --bandwidth 50 --cancel-after 700
[ "$(field outcome)" = cancelled ] || fail "c1: outcome $(field outcome), want cancelled"
echo "$res" | grep -q 'runs on here' || fail "c1: message: $res"
still_runs c1
dst_gone c1 2

# 2. the destination dies mid-stream
migrate k1 8003 --live --bandwidth 50 --kill-dst-after 700
[ "$(field outcome)" = failed ] || fail "k1: outcome $(field outcome), want failed"
still_runs k1
dst_gone k1 137

# 3. live migration
last=$(grep '^dirtier: t=' "$dir/a.out" | tail -n1 | sed -E 's/.*counter=([0-9]+).*/\1/')
migrate m1 8004 --live
[ "$(field outcome)" = ok ] || fail "m1: outcome $(field outcome): $res"
grep -q '^{"incoming":{"outcome":"ok",' "$dir/m1.json" ||
	fail "m1: the destination's CTL_VMM_INCOMING: $(grep incoming "$dir/m1.json")"
rounds=$(field rounds)
down=$(field downtime_us)
[ "$rounds" -ge 2 ] || fail "m1: $rounds rounds, want pre-copy rounds and a stop"
if [ "$down" -le 0 ] || [ "$down" -ge 1000000 ]; then fail "m1: downtime $down us"; fi
wait_exit "$srcpid" 100 || fail "m1: source vmm still runs"
[ "$rc" -eq 0 ] || fail "m1: source vmm exit $rc"
grep -qx "domain mig$$a: migrated to 10.231.0.2:8004" "$dir/a.err" || fail "m1: source message"
wait_for "$dir/m1.out" '^dirtier: resumed ' 50 || fail "m1: no resumed line"
line=$(grep '^dirtier: resumed ' "$dir/m1.out")
echo "$line" | grep -qE '^dirtier: resumed n=1 counter=[0-9]+ checksum=[0-9a-f]{16} verify=ok$' ||
	fail "m1: resume line: $line"
resumed=$(echo "$line" | sed -E 's/.*counter=([0-9]+).*/\1/')
[ "$resumed" -ge "$last" ] || fail "m1: counter went back: $resumed < $last"
n=$(grep -c '^dirtier: t=' "$dir/a.out")
wait_for "$dir/m1.out" "^dirtier: t=$((n + 2)) " 40 || fail "m1: no progress on the destination"
st=$("$CTL" -s "$dir/m1.sock" status --json)
echo "$st" | grep -q '"state":"running"' || fail "m1: destination status: $st"
echo "$st" | grep -q '"id":42' || fail "m1: destination domain id: $st"
"$CTL" -s "$dir/m1.sock" pause || fail "m1: pause on the destination"
"$CTL" -s "$dir/m1.sock" unpause || fail "m1: unpause on the destination"
"$CTL" -s "$dir/m1.sock" destroy || fail "m1: destroy on the destination"
for _ in $(seq 50); do [ -z "$(ip netns pids "$NB")" ] && break; sleep 0.1; done
[ -z "$(ip netns pids "$NB")" ] || fail "m1: destination still runs after destroy"
echo "live: rounds=$rounds downtime_us=$down total_ms=$(field total_ms) bytes=$(field bytes)"

# 4. stop-and-copy only
SRC=s
src_vmm s 256
spid=$pid
migrate n1 8005
[ "$(field outcome)" = ok ] || fail "n1: outcome $(field outcome): $res"
[ "$(field rounds)" = 1 ] || fail "n1: $(field rounds) rounds, want 1"
wait_exit "$spid" 100 || fail "n1: source vmm still runs"
[ "$rc" -eq 0 ] || fail "n1: source vmm exit $rc"
wait_for "$dir/n1.out" '^dirtier: resumed n=1 .* verify=ok$' 50 || fail "n1: no verify=ok"
"$CTL" -s "$dir/n1.sock" destroy || fail "n1: destroy"
echo "non-live: downtime_us=$(field downtime_us) total_ms=$(field total_ms)"
echo PASS
