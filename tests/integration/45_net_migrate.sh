#!/usr/bin/env bash
# 45_net_migrate: the echo guest on vnet 97 (security conf) live-migrates
# h1 -> h2 -> h1 while h3 pings it every 10 ms and keeps a TCP echo
# session to it (one line per 10 ms, each echo checked): at most 5 pings
# lost per migration, the session stays open and every line comes back,
# and h3's neighbour entry for the guest's IP keeps the guest's MAC (its
# IP and MAC unchanged). The vmm on the source is gone, the TAPs migrated
# made are removed with their domain; a vif on a bridge the host lacks is
# refused, naming it. After the moves `vm list` on h1 shows the vif's
# counters with the first frame's delay. Layout: lib/cluster.sh.
set -eu
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"

cluster_require
cluster_up conf
MAC=00:16:3e:45:00:11
# A vif on a bridge this host does not have is refused, naming it.
printf 'name = "bad45"\nkernel = "%s"\nmemory = 64\nvif = [ %s ]\n' "$MIG_G/echo.elf" \
	"'bridge=vnet99'" >"$TOPO_DIR/bad45.cfg"
out=$(mig_vm 1 create "$TOPO_DIR/bad45.cfg" 2>&1) && topo_fail "a vif on a missing bridge was accepted"
echo "$out" | grep -qE 'domain bad45: vif 0 \(mac=[0-9a-f:]+, bridge=vnet99\): bridge vnet99: no such bridge on this host$' ||
	topo_fail "missing bridge: $out"
[ "$(mig_count 1)" = 0 ] || topo_fail "bad45 left in the registry"
cluster_guest 1 e45 echo.elf 97 "$MAC" 10.97.0.11
topo_exec h1 ip -o link show master vnet97 | grep -q 'tern[0-9]*v0' ||
	topo_fail "no TAP of e45 on h1's vnet97: $(topo_exec h1 ip -o link show master vnet97)"
cluster_probe_start 3 10.97.0.11
[ "$(cluster_neigh 3 10.97.0.11)" = "$MAC" ] || topo_fail "h3 neigh: $(topo_exec h3 ip neigh)"
sleep 1
cluster_migrate 1 2 e45
sleep 2
[ -z "$(topo_exec h1 ip -o link show master vnet97 | grep tern || true)" ] ||
	topo_fail "a TAP left on h1 after the move: $(topo_exec h1 ip -o link show master vnet97)"
cluster_migrate 2 1 e45
sleep 2
r=$(cluster_probe_stop)
echo "probe: $r"
echo "$r" | jq -e '.pings_sent > 300 and (.lost_by_window | length) == 2
	and all(.lost_by_window[]; . <= 5)' >/dev/null || topo_fail "pings: $r"
echo "$r" | jq -e '.tcp_session_ok and .tcp_lines > 300' >/dev/null || topo_fail "TCP session: $r"
[ "$(cluster_neigh 3 10.97.0.11)" = "$MAC" ] || topo_fail "h3 neigh after: $(topo_exec h3 ip neigh)"
topo_wait_ping h3 10.97.0.11 5 || topo_fail "no ping after the moves"
# The guest arrived on h1 (second move): migrated's `vm list` shows its
# vmm's counters, with the time its first frame took after the resume.
l=$(mig_vm 1 list --json) || topo_fail "vm list --json on h1"
echo "$l" | jq -e '.[] | select(.name == "e45") | .vif_counters == "ok"
	and (.vifs | length) == 1 and (.vifs[0].first_frame_ms | type) == "number"
	and .vifs[0].rx_frames > 0 and .vifs[0].ring_error == null' >/dev/null ||
	topo_fail "vm list on h1 after the move: $l"
mig_vm 1 list -l | grep -qE '^    vif 0: rx [0-9]+ frames .*; first frame [0-9.]+ ms$' ||
	topo_fail "vm list -l on h1: $(mig_vm 1 list -l)"
d1=$(sed -n 1p "$TOPO_DIR/migrations" | jq .downtime_ms)
d2=$(sed -n 2p "$TOPO_DIR/migrations" | jq .downtime_ms)
echo "PASS: $(echo "$r" | jq -r '"\(.pings_sent) pings, \(.pings_lost) lost (by migration \(.lost_by_window)), longest gap \(.longest_gap_ms) ms, TCP \(.tcp_lines) lines ok"'); downtime $d1 ms, $d2 ms"
