#!/usr/bin/env bash
# Hostile control clients must not stall vnetd's loop, which also carries
# the data path: on h1, 100 connections that never send anything, then one
# that pipelines 20000 `stats` requests and never reads a reply. Meanwhile
# h1 pings h2 over the vnet every 10 ms: no ping may be lost or take over
# 100 ms, and `vn stats` must still be answered (the 64 client slots are
# full: each vn evicts the idlest client). With (control-idle-timeout 8)
# every hostile connection is closed by the daemon before the flood
# program gives up at 14 s.
#
#  tvPID-h1                                      tvPID-h2
#  common_ctl_flood -i 100 -n 20000 --> vnetd     vnetd
#  vn stats (timed) ---------------------^
#  vnet97 10.97.0.1  == ping -i 0.01 ==>         vnet97 10.97.0.2
#  eth0 10.0.1.1                                 eth0 10.0.1.2
#     +------------- ul1 (bridge, tvPID-ul) ---------+
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require
FLOOD=$TOPO_PROGS/common_ctl_flood
[ -x "$FLOOD" ] || topo_fail "no $FLOOD (build the tests)"
topo_init

KEY=$TOPO_DIR/vnet97.key
topo_key "$KEY"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$KEY"
for n in 1 2; do
	topo_host "$n" 1
	topo_vnetd_conf "$n" "(control-idle-timeout 8)"
	topo_vnetd_start "$n"
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vnet_addr "$n" 97
done
topo_wait_ping h1 10.97.0.2 10 || topo_fail "h1 cannot ping h2 over the vnet"

topo_log "hostile clients on h1: 100 idle, one pipelining 20000 stats requests"
FOUT=$TOPO_DIR/flood.out
topo_exec h1 "$FLOOD" -i 100 -n 20000 -t 0x0309 -d 14 "$TOPO_DIR/h1/run/vnetd.sock" \
	>"$FOUT" 2>&1 &
FPID=$!
TOPO_PIDS+=("$FPID")
for ((i = 0; i < 100; i++)); do
	grep -q '^ready$' "$FOUT" && break
	kill -0 "$FPID" 2>/dev/null || topo_fail "flood program ended: $(cat "$FOUT")"
	sleep 0.1
done
grep -q '^ready$' "$FOUT" || topo_fail "flood program not ready after 10 s: $(cat "$FOUT")"
cat "$FOUT"
wrote=$(sed -n 's/^flood: wrote \([0-9]*\) of.*/\1/p' "$FOUT")
[ "$wrote" -ge 1000 ] || topo_fail "only $wrote requests pipelined, want thousands"
grep -q '^idle: 100 of 100 connected$' "$FOUT" || topo_fail "idle clients: $(cat "$FOUT")"

# 500 pings 10 ms apart (5 s), with vn answering alongside.
POUT=$TOPO_DIR/ping.out
topo_exec h1 ping -n -q -i 0.01 -c 500 -W 1 10.97.0.2 >"$POUT" 2>&1 &
PPID_=$!
TOPO_PIDS+=("$PPID_")
vn_max=0
for ((i = 0; i < 10; i++)); do
	t0=$(date +%s%N)
	topo_vn 1 --json stats >"$TOPO_DIR/stats.json" || topo_fail "vn stats #$i refused or unreachable"
	t=$((($(date +%s%N) - t0) / 1000000))
	[ "$t" -gt "$vn_max" ] && vn_max=$t
	jq -e '.[] | select(.vnet == "97") | .frames_out > 0' "$TOPO_DIR/stats.json" >/dev/null ||
		topo_fail "vn stats #$i: $(cat "$TOPO_DIR/stats.json")"
	sleep 0.3
done
topo_bg_stop_wait() {
	local i
	for ((i = 0; i < 150; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	topo_bg_stop "$1"
}
topo_bg_stop_wait "$PPID_"
cat "$POUT"
recv=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' "$POUT")
rtt_max=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$POUT")
echo "== vn stats: slowest answer ${vn_max} ms; pings: $recv of 500, max RTT $rtt_max ms"
[ "$recv" = 500 ] || topo_fail "$((500 - ${recv:-0})) of 500 pings lost while flooded"
awk -v m="$rtt_max" 'BEGIN { exit !(m < 100) }' || topo_fail "max RTT $rtt_max ms, want < 100"
[ "$vn_max" -lt 1000 ] || topo_fail "vn stats took $vn_max ms"

# The idle timeout closes whatever the evictions left, the flooder too.
topo_bg_stop_wait "$FPID"
cat "$FOUT"
grep -q '^closed: flood yes, idle 100 of 100$' "$FOUT" ||
	topo_fail "hostile clients not all closed: $(tail -n 1 "$FOUT")"
grep -q 'control: client fd [0-9]* dropped: evicted' "$TOPO_DIR/h1/vnetd.log" ||
	topo_fail "no eviction logged"
grep -q 'control: client fd [0-9]* dropped: idle' "$TOPO_DIR/h1/vnetd.log" ||
	topo_fail "no idle timeout logged"
# And the daemon serves as before.
[ "$(topo_vn 1 --json vnet-list | jq -r '.[0].id')" = 97 ] || topo_fail "vnet-list after the flood"
topo_exec h1 ping -n -q -c 3 -i 0.2 -W 1 10.97.0.2 >/dev/null || topo_fail "ping after the flood"
echo "PASS: 29_vnetd_ctl_stall"
