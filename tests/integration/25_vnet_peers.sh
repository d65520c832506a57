#!/usr/bin/env bash
# Peers: three subnets joined by a router that forwards unicast but no
# multicast. Vnet 97 (conf) spans them only through `vn peer-add`:
#  1. before any peer, h1 cannot ping h3 on the other subnet;
#  2. h1 and h3 peer with each other: pings between them and their
#     subnets pass, and one broadcast from h1 reaches h1..h4 exactly once
#     each (counted on every vnet bridge) and the unpeered subnet 3 not at
#     all;
#  3. the forwarders h1, h3, h5 peer in a cycle (both ways) and subnet 1
#     has a second forwarder h2 that h3 also reaches, so h3's floods arrive
#     on subnet 1 twice: a broadcast from h1, h3 and h5 each still reaches
#     every one of the six hosts exactly once;
#  4. after peer-del of every peering with h5, subnet 3 is apart again.
#
#     subnet 1 (ul1)           subnet 2 (ul2)           subnet 3 (ul3)
#  h1 10.0.1.1  h2 10.0.1.2  h3 10.0.2.3  h4 10.0.2.4  h5 10.0.3.5  h6 10.0.3.6
#        \       /                \      /                 \      /
#         ul1 ------ r (10.0.1.254 | 10.0.2.254 | 10.0.3.254) ---- ul3
#                                   |
#                                  ul2
#  vnet97 on every host: 10.97.0.N/24 on the bridge; tcpdump on each bridge.
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require tcpdump
topo_init

HOSTS=(1 2 3 4 5 6)
topo_host 1 1
topo_host 2 1
topo_host 3 2
topo_host 4 2
topo_host 5 3
topo_host 6 3
topo_router 1 2 3
KEY=$TOPO_DIR/vnet97.key
topo_key "$KEY"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$KEY"
for n in "${HOSTS[@]}"; do
	topo_vnetd_start "$n"
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vnet_addr "$n" 97
done
topo_exec h1 ping -n -q -c 1 -W 1 10.0.2.3 >/dev/null || topo_fail "the router does not route"

must_ping() { # FROM TO
	topo_wait_ping "h$1" "10.97.0.$2" 10 || topo_fail "h$1 cannot ping 10.97.0.$2 within 10 s"
}

# broadcast FROM WANT...: one broadcast ping with a unique pattern from hFROM;
# WANT[i] is how many times host i must see it on its vnet bridge.
SEQ=0
broadcast() {
	local from=$1 pat n i ok
	shift
	local want=("" "$@")
	SEQ=$((SEQ + 1))
	pat=$(printf 'b0ad%04x%08x' "$SEQ" "$$")
	declare -A cap=()
	for n in "${HOSTS[@]}"; do
		topo_capture "h$n" vnet97 "$TOPO_DIR/b$SEQ-h$n.pcap" "icmp[icmptype] == icmp-echo"
		cap[$n]=$TOPO_CAPTURE_PID
	done
	topo_exec "h$from" ping -n -q -b -c 1 -W 1 -p "$pat" 10.97.0.255 >/dev/null 2>&1 || true
	# Bounded wait for every expected copy, then a moment for duplicates.
	for ((i = 0; i < 50; i++)); do
		ok=1
		for n in "${HOSTS[@]}"; do
			[ "$(topo_pcap_count "$TOPO_DIR/b$SEQ-h$n.pcap" "$pat")" -ge "${want[n]}" ] || ok=0
		done
		[ $ok = 1 ] && break
		sleep 0.1
	done
	sleep 0.5
	for n in "${HOSTS[@]}"; do
		topo_capture_stop "${cap[$n]}"
	done
	local got=""
	for n in "${HOSTS[@]}"; do
		got="$got $(topo_pcap_count "$TOPO_DIR/b$SEQ-h$n.pcap" "$pat")"
	done
	[ "$got" = " $*" ] || topo_fail "broadcast from h$from seen per host:$got, want: $*"
	echo "broadcast from h$from: copies per host h1..h6:$got"
}

topo_log "no peers: subnets are apart"
must_ping 1 2
got=$(topo_ping_count h1 10.97.0.3 2)
[ "$got" = 0 ] || topo_fail "h1 reached 10.97.0.3 on another subnet without peers ($got replies)"

topo_log "h1 <-> h3 peers"
topo_vn 1 peer-add 10.0.2.3 >/dev/null
topo_vn 3 peer-add 10.0.1.1 >/dev/null
got=$(topo_vn 1 --json peer-list | jq -c .)
[ "$got" = '[{"host":"10.0.2.3","addresses":["10.0.2.3"]}]' ] || topo_fail "h1 peer-list: $got"
must_ping 1 3
must_ping 1 4
must_ping 3 1
must_ping 3 2
broadcast 1 1 1 1 1 0 0
broadcast 3 1 1 1 1 0 0

topo_log "cycle h1 -> h3 -> h5 -> h1 (both ways), second forwarder h2"
topo_vn 1 peer-add 10.0.3.5 >/dev/null
topo_vn 3 peer-add 10.0.3.5 >/dev/null
topo_vn 5 peer-add 10.0.1.1 >/dev/null
topo_vn 5 peer-add 10.0.2.3 >/dev/null
topo_vn 2 peer-add 10.0.2.3 >/dev/null
topo_vn 3 peer-add 10.0.1.2 >/dev/null
got=$(topo_vn 3 --json peer-list | jq -c '[.[].host] | sort')
[ "$got" = '["10.0.1.1","10.0.1.2","10.0.3.5"]' ] || topo_fail "h3 peer-list hosts: $got"
must_ping 1 5
must_ping 5 3
must_ping 3 6
broadcast 1 1 1 1 1 1 1
broadcast 3 1 1 1 1 1 1
broadcast 5 1 1 1 1 1 1
dup=$(topo_stat 1 97 drop_dup)
[ "$dup" -ge 1 ] || topo_fail "h1 dropped no duplicate flood (drop_dup $dup) although h3 reaches it twice"

topo_log "peer-del: subnet 3 leaves"
topo_vn 1 peer-del 10.0.3.5 >/dev/null
topo_vn 3 peer-del 10.0.3.5 >/dev/null
topo_vn 5 peer-del 10.0.1.1 >/dev/null
topo_vn 5 peer-del 10.0.2.3 >/dev/null
got=$(topo_vn 5 --json peer-list | jq -c .)
[ "$got" = "[]" ] || topo_fail "h5 peer-list after peer-del: $got"
broadcast 1 1 1 1 1 0 0
broadcast 5 0 0 0 0 1 1
echo "PASS: 25_vnet_peers"
