#!/usr/bin/env bash
# Peers: three subnets joined by a router that forwards unicast but no
# multicast. Vnet 97 (conf) spans them only through `vn peer-add`; one host
# per subnet with peers (a forwarder) joins its whole subnet:
#  1. before any peer, h1 cannot ping h3 on the other subnet;
#  2. only h1 and h3 peer (with each other): every host of subnet 1 pings
#     every host of subnet 2 both ways, also the non-forwarders h2 <-> h4,
#     and a broadcast from each of h1..h4 reaches h1..h4 exactly once each
#     (counted on every vnet bridge) and the unpeered subnet 3 not at all;
#     the forwarders count the floods they sent on (floods_fwd);
#  3. the forwarders h1, h3, h5 peer in a cycle (both ways): the
#     non-forwarders h2, h4, h6 ping each other, and a broadcast from each
#     of the six hosts reaches every host exactly once;
#  4. subnet 1 gets a second forwarder h2 that peers with h3 (both ways), so
#     floods reach subnets 1 and 2 twice: duplicates are dropped (drop_dup
#     rises on h3, which gets subnet 1's floods from h1 and h2, and on h1
#     or h2: whichever of the two hears the other's re-multicast of h3's
#     copy first drops its own copy from h3) and every broadcast still
#     arrives exactly once;
#  5. after peer-del of every peering with h5, subnet 3 is apart again.
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

# peer A B: A and B peer with each other (both ways).
peer() {
	topo_vn "$1" peer-add "$(topo_host_addr "$2")" >/dev/null
	topo_vn "$2" peer-add "$(topo_host_addr "$1")" >/dev/null
}

# broadcasts "WANT" FROM...: one broadcast ping with a unique pattern from
# each hFROM, all under one set of captures; WANT is how many times host
# h1..h6 must see each of them on its vnet bridge ("1 1 1 1 0 0").
SEQ=0
broadcasts() {
	local want from n i ok got p
	read -r -a want <<<"$1"
	shift
	local pats=() froms=("$@")
	declare -A cap=()
	SEQ=$((SEQ + 1))
	for n in "${HOSTS[@]}"; do
		topo_capture "h$n" vnet97 "$TOPO_DIR/b$SEQ-h$n.pcap" "icmp[icmptype] == icmp-echo"
		cap[$n]=$TOPO_CAPTURE_PID
	done
	for from in "${froms[@]}"; do
		pats+=("$(printf 'b0ad%02x%02x%08x' "$SEQ" "$from" "$$")")
		topo_exec "h$from" ping -n -q -b -c 1 -W 1 -p "${pats[-1]}" 10.97.0.255 \
			>/dev/null 2>&1 || true
	done
	# Bounded wait for every expected copy, then a moment for duplicates.
	for ((i = 0; i < 50; i++)); do
		ok=1
		for p in "${pats[@]}"; do
			for n in "${HOSTS[@]}"; do
				[ "$(topo_pcap_count "$TOPO_DIR/b$SEQ-h$n.pcap" "$p")" -ge \
					"${want[n - 1]}" ] || ok=0
			done
		done
		[ $ok = 1 ] && break
		sleep 0.1
	done
	sleep 0.5
	for n in "${HOSTS[@]}"; do
		topo_capture_stop "${cap[$n]}"
	done
	for i in "${!froms[@]}"; do
		got=""
		for n in "${HOSTS[@]}"; do
			got="$got $(topo_pcap_count "$TOPO_DIR/b$SEQ-h$n.pcap" "${pats[i]}")"
		done
		[ "$got" = " ${want[*]}" ] ||
			topo_fail "broadcast from h${froms[i]} seen per host:$got, want: ${want[*]}"
		echo "broadcast from h${froms[i]}: copies per host h1..h6:$got"
	done
}

topo_log "no peers: subnets are apart"
must_ping 1 2
got=$(topo_ping_count h1 10.97.0.3 2)
[ "$got" = 0 ] || topo_fail "h1 reached 10.97.0.3 on another subnet without peers ($got replies)"

topo_log "h1 <-> h3 peers, the only forwarders of subnets 1 and 2"
peer 1 3
got=$(topo_vn 1 --json peer-list | jq -c .)
[ "$got" = '[{"host":"10.0.2.3","addresses":["10.0.2.3"]}]' ] || topo_fail "h1 peer-list: $got"
for a in 1 2; do
	for b in 3 4; do
		must_ping $a $b
		must_ping $b $a
	done
done
broadcasts "1 1 1 1 0 0" 1 2 3 4
for n in 1 3; do
	got=$(topo_stat $n 97 floods_fwd)
	[ "$got" -ge 1 ] || topo_fail "forwarder h$n: floods_fwd $got, want >= 1"
done
for n in 2 4; do
	got=$(topo_stat $n 97 floods_fwd)
	[ "$got" = 0 ] || topo_fail "h$n has no peers but floods_fwd $got"
done
got=$(topo_vn 1 --json stats | jq -r '.[0] | keys_unsorted | .[-2:] | join(",")')
[ "$got" = "floods_remcast,floods_fwd" ] || topo_fail "stats keys end with $got"

topo_log "cycle h1 -> h3 -> h5 -> h1 (both ways)"
peer 3 5
peer 5 1
got=$(topo_vn 5 --json peer-list | jq -c '[.[].host] | sort')
[ "$got" = '["10.0.1.1","10.0.2.3"]' ] || topo_fail "h5 peer-list hosts: $got"
for a in 2 4 6; do
	for b in 2 4 6; do
		[ $a = $b ] || must_ping $a $b
	done
done
broadcasts "1 1 1 1 1 1" 1 2 3 4 5 6

topo_log "second forwarder h2 on subnet 1 (h2 <-> h3)"
peer 2 3
got=$(topo_vn 3 --json peer-list | jq -c '[.[].host] | sort')
[ "$got" = '["10.0.1.1","10.0.1.2","10.0.3.5"]' ] || topo_fail "h3 peer-list hosts: $got"
# The duplicates of subnet 2's floods land on h1 or h2 (a race between
# h3's unicast through the router and the other one's local multicast).
dups12() { echo $(($(topo_stat 1 97 drop_dup) + $(topo_stat 2 97 drop_dup))); }
dup1=$(dups12)
dup3=$(topo_stat 3 97 drop_dup)
broadcasts "1 1 1 1 1 1" 1 2 3 4 5 6
got=$(dups12)
[ "$got" -gt "$dup1" ] || topo_fail "h1 and h2 dropped no duplicate flood (drop_dup $dup1 -> $got)"
got=$(topo_stat 3 97 drop_dup)
[ "$got" -gt "$dup3" ] || topo_fail "h3 dropped no duplicate flood (drop_dup $dup3 -> $got)"
must_ping 4 2
must_ping 6 2

topo_log "peer-del: subnet 3 leaves"
topo_vn 1 peer-del 10.0.3.5 >/dev/null
topo_vn 3 peer-del 10.0.3.5 >/dev/null
topo_vn 5 peer-del 10.0.1.1 >/dev/null
topo_vn 5 peer-del 10.0.2.3 >/dev/null
got=$(topo_vn 5 --json peer-list | jq -c .)
[ "$got" = "[]" ] || topo_fail "h5 peer-list after peer-del: $got"
broadcasts "1 1 1 1 0 0" 1 4
broadcasts "0 0 0 0 1 1" 5
echo "PASS: 25_vnet_peers"
