#!/usr/bin/env bash
# A guest on vnet 97 of host 1 sends 70,000 frames, each from a new random
# source MAC, while genuine traffic runs on vnet 97 and vnet 98. Each vnet
# has its own MAC table quota (vnet 97 mac-max 1024, vnet 98 the default
# 4096): the attack must be counted (evictions, refusals, held-back
# announces in `vn stats`), no table may grow past its quota, the genuine
# guest that was there before stays local and reachable, vnet 98 must not
# notice anything, pings must keep passing (a few losses at most), vnetd
# must keep answering, and host 1 must not announce the flood at line rate.
# On a kernel with fdb_max_learned (6.8+) the bridge's FDB is bounded too.
#
#  tvPID-h1                                     tvPID-h2
#  vnet97 10.97.0.1 (mac-max 1024)              vnet97 10.97.0.2
#   |- gv11 -> g11 10.97.0.11 (genuine)          ping 10.97.0.11
#   `- gv12 -> g12 10.97.0.12 (70,000 MACs)
#  vnet98 10.98.0.1                             vnet98 10.98.0.2
#                                                ping 10.98.0.1
#  eth0 10.0.1.1                                eth0 10.0.1.2
#     +---------------- ul1 (bridge, tvPID-ul) ---------+
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require
FLOOD=$TOPO_PROGS/vnet_macflood
[ -x "$FLOOD" ] || topo_skip "no $FLOOD"
topo_init

MAX97=1024
GMAC=00:16:3e:00:00:11
GIP=10.97.0.11
NFLOOD=70000
NPING=100 # 0.1 s apart: the 10 s around the flood

topo_key "$TOPO_DIR/k97"
topo_key "$TOPO_DIR/k98"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$TOPO_DIR/k97" "" "(mac-max $MAX97)"
topo_vnet_file "$TOPO_DIR/v98.sxp" 98 conf "$TOPO_DIR/k98"
for n in 1 2; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vn "$n" vnet-create "$TOPO_DIR/v98.sxp"
	topo_vnet_addr "$n" 97
	topo_vnet_addr "$n" 98 10.98.0
done
topo_guest 11 1 97 "$GMAC" "$GIP"
topo_guest 12 1 97 00:16:3e:00:00:12 10.97.0.12
topo_wait_ping h2 "$GIP" 10 || topo_fail "h2 cannot ping the guest on h1"
topo_wait_ping h2 10.98.0.1 10 || topo_fail "h2 cannot ping h1 on vnet 98"

# st N VNET FIELD
st() { topo_stat "$@"; }
varp_out0=$(st 1 97 varp_out)
for n in 1 2; do
	for f in mac_evictions mac_refusals announces_limited; do
		[ "$(st $n 97 $f)" = 0 ] || topo_fail "h$n vnet 97: $f $(st $n 97 $f) before the flood"
	done
done
[ "$(st 1 97 mac_max)" = $MAX97 ] || topo_fail "h1 vnet 97: mac_max $(st 1 97 mac_max)"
[ "$(st 1 98 mac_max)" = 4096 ] || topo_fail "h1 vnet 98: mac_max $(st 1 98 mac_max)"

topo_log "pings on vnet 97 and 98, $NFLOOD source MACs from g12"
topo_exec h2 ping -n -q -c $NPING -i 0.1 -W 1 "$GIP" >"$TOPO_DIR/ping97" 2>&1 &
p97=$!
topo_exec h2 ping -n -q -c $NPING -i 0.1 -W 1 10.98.0.1 >"$TOPO_DIR/ping98" 2>&1 &
p98=$!
TOPO_PIDS+=("$p97" "$p98")
sleep 1
t0=$(date +%s%N)
topo_exec g12 "$FLOOD" -n $NFLOOD eth0 >"$TOPO_DIR/flood" || topo_fail "vnet_macflood: $(cat "$TOPO_DIR/flood")"
t1=$(date +%s%N)
[ "$(cat "$TOPO_DIR/flood")" = "sent $NFLOOD" ] || topo_fail "flood: $(cat "$TOPO_DIR/flood")"
echo "flood: $NFLOOD frames in $(((t1 - t0) / 1000000)) ms"

# vnetd answers while the data path works through the flood (bounded: 2 s).
for n in 1 2; do
	s=$(date +%s%N)
	timeout 2 "$VN" -s "$TOPO_DIR/h$n/run/vnetd.sock" stats >/dev/null ||
		topo_fail "h$n: vnetd did not answer vn stats within 2 s during the flood"
	echo "h$n: vn stats answered in $((($(date +%s%N) - s) / 1000000)) ms"
done

wait "$p97" || true
wait "$p98" || true
TOPO_PIDS=("${TOPO_PIDS[@]:0:${#TOPO_PIDS[@]}-2}")
t2=$(date +%s%N)
got97=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' "$TOPO_DIR/ping97")
got98=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' "$TOPO_DIR/ping98")
echo "pings during the flood: vnet 97 $got97/$NPING, vnet 98 $got98/$NPING"
[ "${got97:-0}" -ge $((NPING - 3)) ] || topo_fail "vnet 97 pings: $got97 of $NPING"
[ "${got98:-0}" -ge $((NPING - 3)) ] || topo_fail "vnet 98 pings: $got98 of $NPING"

for n in 1 2; do
	echo "h$n: $(topo_vn $n --json stats | jq -c '.[] | select(.vnet != "*") |
		{vnet, macs, macs_local, mac_max, mac_evictions, mac_refusals, announces_limited}')"
done

# The attack is counted where it lands: h1 (new local MACs push out its
# remote entries, then are refused or held back) and h2 (the flooded
# frames teach it remote MACs, oldest evicted first).
ev1=$(st 1 97 mac_evictions)
rf1=$(st 1 97 mac_refusals)
lim1=$(st 1 97 announces_limited)
[ $((ev1 + rf1)) -ge 1 ] || topo_fail "h1 vnet 97: no eviction or refusal counted"
[ "$lim1" -ge 1 ] || topo_fail "h1 vnet 97: no announce held back"
[ "$(st 2 97 mac_evictions)" -ge 1 ] || topo_fail "h2 vnet 97: no eviction counted"
for n in 1 2; do
	m=$(st $n 97 macs)
	[ "$m" -le $MAX97 ] || topo_fail "h$n vnet 97: $m MACs, quota $MAX97"
	[ "$m" -ge $((MAX97 / 2)) ] || topo_fail "h$n vnet 97: only $m MACs: did the flood arrive?"
	# vnet 98 carried only the pings: h1 and h2's bridges.
	for f in mac_evictions mac_refusals announces_limited; do
		[ "$(st $n 98 $f)" = 0 ] || topo_fail "h$n vnet 98: $f $(st $n 98 $f)"
	done
	m=$(st $n 98 macs)
	[ "$m" -le 4 ] || topo_fail "h$n vnet 98: $m MACs"
done

# Announces: at most the burst plus the rate per second of the flood
# (100 + 100/s), plus the periodic re-announce and a few replies.
secs=$(((t2 - t0) / 1000000000 + 1))
ann=$(($(st 1 97 varp_out) - varp_out0))
echo "h1 vnet 97: $ann VARP messages sent in ${secs} s"
[ "$ann" -le $((100 + 100 * secs + 50)) ] || topo_fail "h1 sent $ann VARP messages in $secs s"

# The genuine guest is still local on h1, announced, and reachable.
got=$(topo_vn 1 --json varp-list | jq -r --arg m "$GMAC" '.[] | select(.vnet == "97" and .mac == $m) | .local')
[ "$got" = true ] || topo_fail "h1 varp-list: $GMAC local '$got', want true"
got=$(topo_ping_count h2 "$GIP" 5)
[ "$got" = 5 ] || topo_fail "h2 -> genuine guest after the flood: $got of 5"
got=$(topo_ping_count h1 10.98.0.2 5)
[ "$got" = 5 ] || topo_fail "h1 -> h2 on vnet 98 after the flood: $got of 5"

# Logs are rate limited: the flood is a handful of lines, not one per MAC.
lines=$(grep -c -E 'is local|MAC table full|local MACs, ' "$TOPO_DIR/h1/vnetd.log" || true)
echo "h1: $lines log lines about new local MACs"
[ "$lines" -le 200 ] || topo_fail "h1 logged $lines lines about the flood"

# The kernel's FDB holds at most mac-max learned entries (Linux 6.8+).
learned=$(topo_exec h1 bridge fdb show br vnet97 | grep -v -c -E 'permanent|self|static' || true)
echo "h1: bridge vnet97 holds $learned learned FDB entries"
kv=$(uname -r)
if [ "${kv%%.*}" -gt 6 ] || { [ "${kv%%.*}" = 6 ] && [ "$(echo "$kv" | cut -d. -f2)" -ge 8 ]; }; then
	[ "$learned" -le $MAX97 ] || topo_fail "bridge vnet97: $learned learned entries, fdb_max_learned $MAX97"
fi
echo "PASS: 28_vnet_mac_flood"
