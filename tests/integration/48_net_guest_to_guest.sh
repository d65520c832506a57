#!/usr/bin/env bash
# 48_net_guest_to_guest: guests talk to each other across hosts on a vnet,
# also after one of them migrated, and not across vnets. The echo guest
# runs on h1 (vnet 97, 10.97.0.11); a blast guest (the guests that send on
# their own) on h2, vnet 97, sends 200 UDP datagrams to its port 7: the
# echo guest counts them and its echoes come back (the blast's vif counts
# the frames it received). The echo guest then moves h1 -> h3 live and a
# second blast from h2 reaches it there the same way. A third blast on
# vnet 98 (h2's bridge vnet98) with an address in 10.97.0.0/24 reaches
# nothing: the echo guest's count stays. Both vnets use security conf.
# A guest on vnet 99, which only h1 joined, cannot move to h2: the OFFER
# is refused naming the bridge, the guest runs on at h1, h2 keeps no TAP.
# Layout: lib/cluster.sh.
set -eu
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"

cluster_require
cluster_up conf 97 98
cluster_guest 1 e48 echo.elf 97 00:16:3e:48:00:11 10.97.0.11

# udp_count HOST: the echo guest's UDP datagram count (console, printed
# once a second when it changes).
udp_count() {
	mig_console "$1" e48 0.3 | grep -a '^echo: icmp=' | tail -n1 | sed -nE 's/.* udp=([0-9]+) .*/\1/p'
}

# blast NAME HOST VNET IP: a blast guest sending 200 datagrams to
# 10.97.0.11:7; waits until it halted and prints the frames its vif received.
blast() {
	local name=$1 h=$2 id=$3 ipa=$4 i line
	cat >"$TOPO_DIR/$name.cfg" <<EOT
name = "$name"
kernel = "$MIG_G/blast.elf"
memory = 64
vcpus = 1
vif = [ 'bridge=vnet$id' ]
extra = "ip=$ipa/24 dst=10.97.0.11 port=7 count=200 size=64 batch=1 wait=1500"
EOT
	mig_vm "$h" create "$TOPO_DIR/$name.cfg" >/dev/null || topo_fail "h$h: create $name"
	for ((i = 0; i < 150; i++)); do
		line=$(grep -a "domain $name: vif 0: rx " "$TOPO_DIR/h$h/migrated.log" || true)
		[ -n "$line" ] && break
		sleep 0.1
	done
	[ -n "$line" ] || topo_fail "$name did not finish: $(mig_console "$h" "$name" 0.3 | tail -n 3)"
	echo "$line" | sed -E 's/.* rx ([0-9]+) frames.*/\1/'
}

# wait_udp HOST MIN: polls the echo guest's count until it reaches MIN (5 s).
wait_udp() {
	local i c=0
	for ((i = 0; i < 15; i++)); do
		c=$(udp_count "$1")
		[ "${c:-0}" -ge "$2" ] && break
	done
	echo "${c:-0}"
}

topo_log "blast on h2 -> echo on h1 (vnet 97)"
rx=$(blast b48a 2 97 10.97.0.21)
c1=$(wait_udp 1 150)
echo "echo counted $c1 datagrams, the blast guest received $rx frames"
if [ "$c1" -lt 150 ] || [ "$rx" -lt 150 ]; then
	topo_fail "guest to guest on h1/h2: echo counted $c1, blast got $rx frames"
fi

topo_log "echo moves h1 -> h3"
cluster_migrate 1 3 e48 | jq -c '{total_ms, downtime_ms}'
rx=$(blast b48b 2 97 10.97.0.22)
c2=$(wait_udp 3 $((c1 + 150)))
echo "echo counted $c2 datagrams, the blast guest received $rx frames"
if [ "$c2" -lt $((c1 + 150)) ] || [ "$rx" -lt 150 ]; then
	topo_fail "guest to guest after the move: echo counted $c2 (was $c1), blast got $rx frames"
fi

topo_log "a blast on vnet 98 with an address in 10.97.0.0/24"
rx=$(blast b48c 2 98 10.97.0.23)
sleep 1.5
c3=$(udp_count 3)
echo "echo count $c3 (was $c2), the vnet 98 blast received $rx frames"
[ "$c3" = "$c2" ] || topo_fail "a guest on vnet 98 reached the echo guest on vnet 97 ($c2 -> $c3)"

topo_log "a guest on vnet 99, which only h1 has, cannot move to h2"
topo_vnet_file "$TOPO_DIR/vnet99.sxp" 99 conf "$TOPO_DIR/vnet.key"
topo_vn 1 vnet-create "$TOPO_DIR/vnet99.sxp" >/dev/null || topo_fail "h1: vnet-create 99"
cluster_guest 1 e99 echo.elf 99 00:16:3e:48:00:99 10.99.0.11
out=$(mig_vm 1 migrate --live e99 h2 2>&1) && topo_fail "e99 moved to a host without its bridge: $out"
echo "$out" | grep -q 'bridge vnet99: no such bridge on this host' || topo_fail "refusal: $out"
[ "$(mig_state 1 e99)" = running ] || topo_fail "e99 not running on h1 after the refusal"
[ -z "$(mig_state 2 e99)" ] || topo_fail "e99 listed on h2"
topo_exec h2 ip -o link show | grep -q 'tern[0-9]*v0' && topo_fail "a TAP left on h2: $(topo_exec h2 ip -o link show)"
echo "refused: $out"
echo "PASS: guest to guest across hosts before ($c1) and after the move ($((c2 - c1))), nothing across vnets; a move to a host without the vif's bridge is refused"
