#!/usr/bin/env bash
# An outsider on the underlay, without the vnet key, tries the attacks of
# the vnet security issue; each is dropped and counted, and genuine traffic
# keeps flowing on both vnets (a ping every 20 ms on vnet 98 the whole
# time, none lost; vnet 97 pinged after each attack):
#  1. forged FLOOD sequence: a genuine flood of h1 with its seq set to
#     2^64-2 (would blind h2 to h1's floods): drop_auth, and h1's next
#     broadcast reaches h2 exactly once;
#  2. origin swap: h1's flood claiming another origin, and h1's unicast
#     ESP packet wrapped into a FLOOD (would be re-multicast in h2's
#     subnet): dropped, no frame in;
#  3. a unicast FLOOD from a host that is not h2's peer: drop_notpeer;
#  4. 200 ESP packets with forged SPIs in h1's name just before h1 rekeys:
#     h2 still learns h1's new SA and pings work within 1 s.
# h2 has h1 as its peer, so that unicast floods "from h1" pass the peer
# check and meet the tag; the outsider's datagrams are sent from h1's and
# h3's namespaces (their source addresses) with vnet_inject.
#
#  tvPID-h1             tvPID-h2 (victim, peer h1)   tvPID-h3 (outsider)
#  vnet97 10.97.0.1     vnet97 10.97.0.2             no vnet, no key
#  vnet98 10.98.0.1     vnet98 10.98.0.2
#  eth0 10.0.1.1 ------- ul1 (bridge) ------------- eth0 10.0.1.3
set -eu
. "$(dirname "$0")/lib/topo.sh"
INJECT=$TOPO_PROGS/vnet_inject
topo_require tcpdump openssl
[ -x "$INJECT" ] || topo_fail "no $INJECT (build the tests)"
topo_init

KEY=$TOPO_DIR/vnet.key
topo_key "$KEY"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$KEY"
topo_vnet_file "$TOPO_DIR/v98.sxp" 98 auth "$KEY"
topo_host 3 1
for n in 1 2; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vn "$n" vnet-create "$TOPO_DIR/v98.sxp"
	topo_vnet_addr "$n" 97
	topo_vnet_addr "$n" 98 10.98.0
done
topo_vn 2 peer-add 10.0.1.1 >/dev/null
topo_wait_ping h1 10.97.0.2 10 || topo_fail "h1 cannot ping h2 on vnet 97"
topo_wait_ping h1 10.98.0.2 10 || topo_fail "h1 cannot ping h2 on vnet 98"
# ip execs ping, so $! is ping itself and SIGINT makes it print its summary.
ip netns exec "$(topo_ns h1)" ping -n -q -c 6000 -i 0.02 10.98.0.2 >"$TOPO_DIR/ping98" 2>&1 &
PING98=$!
TOPO_PIDS+=("$PING98")

# A genuine flood of h1 on vnet 97 (a broadcast ping) and a genuine
# unicast ESP packet of h1 to h2, as h2 received them.
topo_capture h2 eth0 "$TOPO_DIR/g.pcap" udp port 1798 and src host 10.0.1.1
CAP=$TOPO_CAPTURE_PID
topo_exec h1 ping -n -q -b -c 1 -p b0ad0001 10.97.0.255 >/dev/null 2>&1 || true
topo_exec h1 ping -n -q -c 1 -s 200 10.97.0.2 >/dev/null
sleep 0.3
topo_capture_stop "$CAP"
# A tagged FLOOD (flags 0001) around ESP: not an SA ANNOUNCE (inner SPI != 0).
flood=$(topo_udp_payloads "$TOPO_DIR/g.pcap" dst host 224.10.0.1 |
	awk 'substr($3, 1, 16) == "0000000001030001" && substr($3, 105, 8) != "00000000" &&
	     length($3) > 300 { print $3; exit }')
esp=$(topo_udp_payloads "$TOPO_DIR/g.pcap" dst host 10.0.1.2 |
	awk 'substr($3, 1, 8) != "00000000" && length($3) > 400 { print $3; exit }')
[ -n "$flood" ] || topo_fail "no flood of h1 captured"
[ -n "$esp" ] || topo_fail "no unicast ESP packet of h1 captured"

inject() { # FROM-HOST DST HEX
	topo_exec "h$1" "$INJECT" "$2" 1798 "$3" >/dev/null
}
# expect_drop WHAT COUNTER: h2's COUNTER on vnet ID (or "*") rose, and h2
# took no frame in from the attack.
expect_drop() {
	local i got
	for ((i = 0; i < 60; i++)); do
		got=$(topo_stat 2 "$3" "$2")
		[ "$got" -gt "${base[$2]}" ] && break
		sleep 0.1
	done
	[ "$got" -gt "${base[$2]}" ] || topo_fail "$1: $2 stayed at ${base[$2]}"
	[ "$(topo_stat 2 97 frames_in)" = "${base[frames_in]}" ] || topo_fail "$1: h2 took a frame in"
	echo "$1: dropped ($2 ${base[$2]} -> $got), no frame in"
}
declare -A base
snap() {
	local k
	for k in drop_auth drop_notpeer drop_malformed frames_in; do
		base[$k]=$(topo_stat 2 97 "$k")
	done
	base[drop_noroute]=$(topo_stat 2 '*' drop_noroute)
}
# seq_is N: the broadcast pattern arrives on h2's bridge exactly N times.
bcast_once() {
	local pcap=$TOPO_DIR/b$1.pcap pat
	pat=$(printf 'b0ad%04x' "$1")
	topo_capture h2 vnet97 "$pcap" icmp
	CAP=$TOPO_CAPTURE_PID
	topo_exec h1 ping -n -q -b -c 1 -p "$pat" 10.97.0.255 >/dev/null 2>&1 || true
	sleep 0.5
	topo_capture_stop "$CAP"
	[ "$(topo_pcap_count "$pcap" "$pat")" = 1 ] ||
		topo_fail "$2: h1's broadcast reached h2 $(topo_pcap_count "$pcap" "$pat") times, want 1"
}

topo_log "1. forged FLOOD sequence"
snap
forged=${flood:0:48}fffffffffffffffe${flood:64}
inject 1 10.0.1.2 "$forged"
expect_drop "seq 2^64-2" drop_auth 97
bcast_once 2 "after the forged sequence"
topo_wait_ping h1 10.97.0.2 2 || topo_fail "vnet 97 broken after attack 1"

topo_log "2. origin swap"
snap
swapped=${flood:0:16}00000000000000000000ffff0a000103${flood:48}
inject 1 10.0.1.2 "$swapped"
expect_drop "flood claiming origin 10.0.1.3" drop_noroute '*'
snap
# h1's unicast packet in a FLOOD envelope "from h1", seq fresh, tag guessed.
wrapped=0000000001030001${flood:16:32}7fffffffffffff0000000000$(printf '%032x' 0)$esp
inject 1 10.0.1.2 "$wrapped"
expect_drop "unicast ESP wrapped into a FLOOD" drop_auth 97
topo_wait_ping h1 10.97.0.2 2 || topo_fail "vnet 97 broken after attack 2"

topo_log "3. unicast FLOOD from a host that is not a peer"
snap
inject 3 10.0.1.2 "$flood"
expect_drop "flood from 10.0.1.3" drop_notpeer 97
bcast_once 3 "after the non-peer flood"

topo_log "4. 200 forged SPIs in h1's name, then h1 rekeys"
# hash16 of (vnet 97, 10.0.1.1): the SPI's public top half.
h16=$(printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x97\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\x01\x01' |
	openssl dgst -sha256 -r | cut -c1-4)
nosa0=$(topo_stat 2 97 drop_nosa)
for ((i = 1; i <= 200; i++)); do
	inject 1 10.0.1.2 "$(printf '%s%04x%08x' "$h16" $((i * 131 % 65536 | 1)) "$i")$(printf 'ab%.0s' $(seq 40))"
done
t0=$(date +%s%3N)
topo_vn 1 sa-rekey 97
ok=0
for ((i = 0; i < 40; i++)); do
	if topo_exec h1 ping -n -q -c 1 -W 0.2 10.97.0.2 >/dev/null 2>&1; then ok=1; break; fi
done
t=$(($(date +%s%3N) - t0))
[ $ok = 1 ] && [ "$t" -le 1000 ] || topo_fail "h1's new SA: pings work after $t ms, want <= 1000"
got=$(($(topo_stat 2 97 drop_nosa) - nosa0))
[ "$got" -ge 200 ] || topo_fail "h2 counted $got of the 200 forged SPIs"
echo "forged SPIs: $got dropped as unknown SAs; h1's new SA works after $t ms"

kill -INT "$PING98"
wait "$PING98" || true
read -r sent got < <(awk '/packets transmitted/ { print $1, $4 }' "$TOPO_DIR/ping98")
# The one sent as SIGINT came may still be on its way.
[ -n "$sent" ] && [ "$sent" -ge 200 ] && [ "$got" -ge $((sent - 1)) ] ||
	topo_fail "vnet 98 during the attacks: $(tail -2 "$TOPO_DIR/ping98")"
echo "vnet 98 during the attacks: $got of $sent pings answered"
echo "PASS: 31_vnet_attacks"
