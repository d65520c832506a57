#!/usr/bin/env bash
# A guest moves between hosts the way a migration moves it: its interface
# leaves host 1's vnet bridge and the same MAC and IP appear on host 2's,
# followed by a gratuitous ARP. Host 3, pinging it throughout, must follow
# the VARP announce of host 2 (no cache expiry, no ARP change: host 3 keeps
# sending to the same MAC). The test prints how long pings took to resume
# and asserts host 3's varp-list then places the MAC at host 2; then the
# guest moves back, and after `vn varp-flush` host 3 finds it again.
#
#  tvPID-h1                 tvPID-h2                 tvPID-h3
#  vnet97 10.97.0.1         vnet97 10.97.0.2         vnet97 10.97.0.3
#   `- gv11 -> g11  ====>    `- gv11 -> g11           ping 10.97.0.11
#      00:16:3e:00:00:11        (same MAC, same IP)
#  eth0 10.0.1.1            eth0 10.0.1.2            eth0 10.0.1.3
#     +--------------- ul1 (bridge, tvPID-ul) ----------+
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require
topo_init

GMAC=00:16:3e:00:00:11
GIP=10.97.0.11
KEY=$TOPO_DIR/vnet97.key
topo_key "$KEY"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$KEY"
for n in 1 2 3; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vnet_addr "$n" 97
done

# varp N: hN's entry for the guest's MAC as "ADDR LOCAL".
varp() {
	topo_vn "$1" --json varp-list |
		jq -r --arg m "$GMAC" '.[] | select(.vnet == "97" and .mac == $m) | "\(.addr) \(.local)"'
}

topo_guest 11 1 97 "$GMAC" "$GIP"
topo_wait_ping h3 "$GIP" 10 || topo_fail "h3 cannot ping the guest on h1"
[ "$(varp 3)" = "10.0.1.1 false" ] || topo_fail "h3 varp-list before the move: '$(varp 3)', want '10.0.1.1 false'"
[ "$(varp 1)" = "10.0.1.1 true" ] || topo_fail "h1 varp-list before the move: '$(varp 1)', want '10.0.1.1 true'"

# move FROM TO: the guest leaves hFROM's bridge and appears on hTO's; h3's
# pings must follow within 10 s, and varp-lists must say where it is now.
move() {
	local from=$1 to=$2 t0 t1 ok=0 i got
	topo_log "move the guest from h$from to h$to"
	topo_guest_del 11
	t0=$(date +%s%N)
	topo_guest 11 "$to" 97 "$GMAC" "$GIP"
	# Bounded: pings waiting 20 ms each until one passes, at most 10 s.
	for ((i = 0; i < 500; i++)); do
		if topo_exec h3 ping -n -q -c 1 -W 0.02 "$GIP" >/dev/null 2>&1; then
			ok=1
			break
		fi
		[ $(($(date +%s%N) - t0)) -gt 10000000000 ] && break
	done
	t1=$(date +%s%N)
	[ $ok = 1 ] || topo_fail "h3 cannot reach the guest moved to h$to within 10 s"
	echo "mac move h$from -> h$to: h3's pings resumed $(((t1 - t0) / 1000000)) ms after the guest appeared"
	[ "$(varp 3)" = "10.0.1.$to false" ] ||
		topo_fail "h3 varp-list after the move: '$(varp 3)', want '10.0.1.$to false'"
	[ "$(varp "$to")" = "10.0.1.$to true" ] ||
		topo_fail "h$to varp-list after the move: '$(varp "$to")', want '10.0.1.$to true'"
	got=$(topo_ping_count h3 "$GIP" 5)
	[ "$got" = 5 ] || topo_fail "h3 -> moved guest: $got of 5 replies"
	grep -q "vnet 97: $GMAC moved to 10.0.1.$to" "$TOPO_DIR/h3/vnetd.log" ||
		topo_fail "h3 did not log the move of $GMAC to 10.0.1.$to"
}
move 1 2
move 2 1

topo_log "varp-flush on h3"
topo_vn 3 varp-flush 97 >/dev/null
got=$(topo_vn 3 --json varp-list | jq '[.[] | select(.local == false)] | length')
[ "$got" = 0 ] || topo_fail "h3 still lists $got remote MACs after varp-flush"
topo_wait_ping h3 "$GIP" 10 || topo_fail "h3 cannot reach the guest after varp-flush"
[ "$(varp 3)" = "10.0.1.1 false" ] || topo_fail "h3 varp-list after re-learning: '$(varp 3)'"
echo "PASS: 26_vnet_mac_move"
