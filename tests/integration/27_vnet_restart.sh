#!/usr/bin/env bash
# vnetd restarts on one host, first cleanly (SIGTERM) then by a crash
# (SIGKILL), with the same config: its vnets and peers come back from the
# state dir exactly as they were listed, its sending SA is new (another SPI,
# and h2 learns it through the SA exchange: h2 holds exactly that SA for h1
# and none of the old one), the guest left on its bridge stays attached,
# and traffic resumes both ways within 10 s.
#
#  tvPID-h1 (restarted)            tvPID-h2
#  vnet97 10.97.0.1                vnet97 10.97.0.2
#   `- gv11 -> g11 10.97.0.11
#  vnetd, peer 10.0.1.2            vnetd
#  eth0 10.0.1.1 --- ul1 (bridge) --- eth0 10.0.1.2
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require
topo_init

KEY=$TOPO_DIR/vnet97.key
topo_key "$KEY"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$KEY"
for n in 1 2; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vnet_addr "$n" 97
done
topo_vn 1 peer-add 10.0.1.2 >/dev/null
topo_guest 11 1 97 00:16:3e:00:00:11 10.97.0.11
topo_wait_ping h2 10.97.0.1 10 || topo_fail "h2 cannot ping h1"
topo_wait_ping h2 10.97.0.11 10 || topo_fail "h2 cannot ping the guest on h1"

vnets0=$(topo_vn 1 --json vnet-list | jq -c .)
peers0=$(topo_vn 1 --json peer-list | jq -c .)
outspi() { # h1's outbound SPI for vnet 97
	local spi
	spi=$(topo_vn 1 --json sa-list |
		jq -r '[.[] | select(.vnet == "97" and .dir == "out") | .spi][0]')
	[[ "$spi" =~ ^0x[0-9a-f]{8}$ ]] || topo_fail "h1 sa-list: no outbound SPI for vnet 97 ($spi)"
	echo "$spi"
}
inspis() { # the SPIs h2 holds for sender 10.0.1.1 on vnet 97, current first
	topo_vn 2 --json sa-list |
		jq -r '[.[] | select(.vnet == "97" and .dir == "in" and .src == "10.0.1.1") | .spi] | join(" ")'
}

for sig in TERM KILL; do
	topo_log "restart h1's vnetd after SIG$sig"
	e0=$(outspi)
	topo_vnetd_stop 1 "$sig"
	topo_vnetd_start 1
	got=$(topo_vn 1 --json vnet-list | jq -c .)
	[ "$got" = "$vnets0" ] || topo_fail "vnet-list after restart: $got, want $vnets0"
	got=$(topo_vn 1 --json peer-list | jq -c .)
	[ "$got" = "$peers0" ] || topo_fail "peer-list after restart: $got, want $peers0"
	got=$(topo_exec h1 cat /sys/class/net/gv11/master/ifindex 2>/dev/null || echo none)
	[ "$got" = "$(topo_exec h1 cat /sys/class/net/vnet97/ifindex)" ] ||
		topo_fail "the guest's interface left bridge vnet97"
	[ "$(topo_exec h1 cat /sys/class/net/vnif97/master/ifindex)" = "$(topo_exec h1 cat /sys/class/net/vnet97/ifindex)" ] ||
		topo_fail "vnif97 is not on bridge vnet97 after restart"
	topo_wait_ping h2 10.97.0.1 10 || topo_fail "h2 cannot ping h1 after the restart"
	topo_wait_ping h2 10.97.0.11 10 || topo_fail "h2 cannot ping the guest after the restart"
	topo_wait_ping h1 10.97.0.2 10 || topo_fail "h1 cannot ping h2 after the restart"
	e1=$(outspi)
	[ "$e1" != "$e0" ] || topo_fail "h1 sends with SPI $e0 again after the restart"
	got=$(inspis)
	[ "${got%% *}" = "$e1" ] || topo_fail "h2 holds SAs '$got' for h1, want $e1 first"
	got=$(topo_ping_count h2 10.97.0.11 3)
	[ "$got" = 3 ] || topo_fail "h2 -> guest after restart: $got of 3 replies"
	echo "SIG$sig: vnets and peers restored, SPI $e0 -> $e1, traffic resumed"
done
echo "PASS: 27_vnet_restart"
