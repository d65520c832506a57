#!/usr/bin/env bash
# Integrity of a secured vnet (97, conf) against an attacker on the
# underlay:
#  - an ESP packet captured on the wire with one byte flipped is dropped and
#    counted once in drop_auth; the unaltered packet is accepted once, and
#    sent again it is dropped and counted once in drop_replay (also on
#    vnet 99, auth, where the flipped byte is in the clear); packets that
#    arrive newest first are all taken, one older than the 2048-packet
#    window is dropped as a replay;
#  - a clear VARP announce for a secured vnet (unicast, and wrapped in a
#    multicast FLOOD) moves nothing, while the same announce on a clear vnet
#    (98, none) does: the forgery is well formed, only unauthenticated;
#  - a host with the wrong key cannot read the vnet (no SA of it is ever
#    learned: its SA exchange messages fail their tags (drop_sa) and its
#    ESP is dropped as from an unknown SA (drop_nosa); it takes no frame
#    in, its pings fail) and cannot move a MAC even by announcing it
#    through its own vnetd (a guest with the victim's MAC).
#
#  tvPID-h1 (victim)     tvPID-h2                  tvPID-h3 (wrong key)
#  vnet97 10.97.0.1      vnet97 10.97.0.2          vnet97 10.97.0.3
#                          `- gv22: guest g22       `- gv23: guest g23
#                             00:16:3e:00:00:22        same MAC (forger)
#  eth0 10.0.1.1         eth0 10.0.1.2             eth0 10.0.1.3 vnet_inject
#     +------------------ ul1 (bridge, tvPID-ul) -----+
set -eu
. "$(dirname "$0")/lib/topo.sh"
INJECT=$TOPO_PROGS/vnet_inject
topo_require tcpdump
[ -x "$INJECT" ] || topo_skip "no $INJECT"
topo_init

GMAC=00:16:3e:00:00:22
for n in 1 2 3; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
done
KEY=$TOPO_DIR/vnet97.key
BADKEY=$TOPO_DIR/wrong.key
topo_key "$KEY"
topo_key "$BADKEY"
topo_vnet_file "$TOPO_DIR/v97.sxp" 97 conf "$KEY"
topo_vnet_file "$TOPO_DIR/v97-bad.sxp" 97 conf "$BADKEY"
topo_vnet_file "$TOPO_DIR/v98.sxp" 98 none
for n in 1 2; do
	topo_vn "$n" vnet-create "$TOPO_DIR/v97.sxp"
	topo_vnet_addr "$n" 97
done
topo_guest 22 2 97 "$GMAC" 10.97.0.22
topo_wait_ping h1 10.97.0.2 10 || topo_fail "h1 cannot ping h2 over vnet 97"
topo_wait_ping h1 10.97.0.22 10 || topo_fail "h1 cannot ping guest 10.97.0.22"

# where N VNET MAC: the care-of address hN's varp-list gives for MAC.
where() {
	topo_vn "$1" --json varp-list |
		jq -r --arg v "$2" --arg m "$3" '.[] | select(.vnet == $v and .mac == $m) | .addr'
}
[ "$(where 1 97 $GMAC)" = 10.0.1.2 ] || topo_fail "h1 varp-list: $GMAC at '$(where 1 97 $GMAC)', want 10.0.1.2"

# wait_stat N VNET FIELD WANT: bounded wait (5 s) for a counter to reach
# WANT, then fail unless it is exactly WANT.
wait_stat() {
	local got i
	for ((i = 0; i < 50; i++)); do
		got=$(topo_stat "$1" "$2" "$3")
		[ "$got" -ge "$4" ] && break
		sleep 0.1
	done
	[ "$got" = "$4" ] || topo_fail "h$1 vnet $2 $3 = $got, want $4"
}

# tamper_replay VNET NET: on vnet VNET (hosts at NET.N), capture one ESP
# packet h1 -> h2 that h2 never receives (its underlay port is down), so
# its sequence number is fresh for h2. Sent with a byte flipped at offset
# 20 (inside the ciphertext for GCM: SPI 4, sequence 4, IV 8; inside the
# clear inner frame for null-sha1) it must count one drop_auth; sent
# intact it is taken; sent again it must count one drop_replay.
tamper_replay() {
	local v=$1 net=$2 esp auth0 replay0 in0 i
	topo_log "tamper and replay on vnet $v ($(topo_vn 1 --json vnet-list |
		jq -r --arg v "$v" '.[] | select(.id == $v) | .suite'))"
	topo_wait_ping h1 "$net.2" 10 || topo_fail "vnet $v: h1 cannot ping h2"
	ip -n "$(topo_ns ul)" link set h2 down
	topo_capture ul ul1 "$TOPO_DIR/esp$v.pcap" udp and src host 10.0.1.1 and dst host 10.0.1.2
	topo_exec h1 ping -n -q -c 1 -W 1 "$net.2" >/dev/null 2>&1 &&
		topo_fail "vnet $v: h1 reached h2 with h2's underlay port down"
	topo_capture_stop "$TOPO_CAPTURE_PID"
	ip -n "$(topo_ns ul)" link set h2 up
	esp=$(topo_udp_payloads "$TOPO_DIR/esp$v.pcap" |
		awk 'substr($3, 1, 8) != "00000000" { print $3; exit }')
	[ -n "$esp" ] || topo_fail "vnet $v: no ESP packet from h1 to h2 captured"
	auth0=$(topo_stat 2 "$v" drop_auth)
	replay0=$(topo_stat 2 "$v" drop_replay)
	in0=$(topo_stat 2 "$v" frames_in)

	topo_exec h1 "$INJECT" -f 20 10.0.1.2 1798 "$esp"
	wait_stat 2 "$v" drop_auth $((auth0 + 1))
	wait_stat 2 "$v" drop_replay "$replay0"
	topo_exec h1 "$INJECT" 10.0.1.2 1798 "$esp"
	for ((i = 0; i < 50; i++)); do
		[ "$(topo_stat 2 "$v" frames_in)" -gt "$in0" ] && break
		sleep 0.1
	done
	[ "$(topo_stat 2 "$v" frames_in)" -gt "$in0" ] ||
		topo_fail "vnet $v: h2 did not take the unaltered packet"
	topo_exec h1 "$INJECT" 10.0.1.2 1798 "$esp"
	wait_stat 2 "$v" drop_replay $((replay0 + 1))
	wait_stat 2 "$v" drop_auth $((auth0 + 1))
	echo "vnet $v: tampered packet: drop_auth +1; replayed packet: drop_replay +1 on h2"
}
tamper_replay 97 10.97.0

# The replay window is 2048 packets wide: packets h2 never got, sent to it
# newest first, are all taken; the oldest of them, sent after 2100 newer
# packets, is left of the window and counts one drop_replay.
topo_log "replay window on vnet 97"
ip -n "$(topo_ns ul)" link set h2 down
topo_capture ul ul1 "$TOPO_DIR/win.pcap" udp and src host 10.0.1.1 and dst host 10.0.1.2
topo_exec h1 ping -n -q -c 4 -i 0.2 -W 1 10.97.0.2 >/dev/null 2>&1 || true
topo_capture_stop "$TOPO_CAPTURE_PID"
ip -n "$(topo_ns ul)" link set h2 up
mapfile -t W < <(topo_udp_payloads "$TOPO_DIR/win.pcap" |
	awk 'substr($3, 1, 8) != "00000000" { print $3 }' | head -n 4)
[ ${#W[@]} = 4 ] || topo_fail "captured ${#W[@]} ESP packets h1 -> h2, want 4"
for i in 1 2 3; do
	[ $((16#${W[i]:8:8})) -gt $((16#${W[i - 1]:8:8})) ] ||
		topo_fail "captured ESP sequence numbers do not rise"
done
replay0=$(topo_stat 2 97 drop_replay)
auth0=$(topo_stat 2 97 drop_auth)
in0=$(topo_stat 2 97 frames_in)
for i in 3 2 1; do
	topo_exec h1 "$INJECT" 10.0.1.2 1798 "${W[i]}"
done
for ((i = 0; i < 50; i++)); do
	[ "$(topo_stat 2 97 frames_in)" -ge $((in0 + 3)) ] && break
	sleep 0.1
done
[ "$(topo_stat 2 97 frames_in)" -ge $((in0 + 3)) ] ||
	topo_fail "h2 took $(($(topo_stat 2 97 frames_in) - in0)) of 3 packets sent newest first"
wait_stat 2 97 drop_replay "$replay0"
wait_stat 2 97 drop_auth "$auth0"
got=$(topo_exec h1 ping -n -q -f -c 2100 -W 1 10.97.0.2 | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
[ "$got" -ge 2049 ] || topo_fail "flood ping h1 -> h2: $got of 2100 replies"
topo_exec h1 "$INJECT" 10.0.1.2 1798 "${W[0]}"
wait_stat 2 97 drop_replay $((replay0 + 1))
wait_stat 2 97 drop_auth "$auth0"
echo "window: 3 packets taken newest first; one 2100+ packets old: drop_replay +1"

topo_vnet_file "$TOPO_DIR/v99.sxp" 99 auth "$KEY"
for n in 1 2; do
	topo_vn "$n" vnet-create "$TOPO_DIR/v99.sxp"
	topo_vnet_addr "$n" 99 10.99.0
done
tamper_replay 99 10.99.0

topo_log "forged clear VARP announces"
# Clear header (0000 0000, version 1, type VARP) + vnet id + VARP
# ANNOUNCE: MAC at h3's care-of address 10.0.1.3 (IPv4-mapped), ttl 120.
vid() { printf '%032x' "0x$1"; }
announce() { # VNET MAC
	printf '00000000''01020000%s' "$(vid "$1")"
	printf '01030000%s%s0000' "$(vid "$1")" "${2//:/}"
	printf '00000000000000000000ffff0a000103''00000078'
}
flood() { # INNER: FLOOD from origin 10.0.1.3, seq 7, hops 0
	printf '00000000''01030000''00000000000000000000ffff0a000103'
	printf '0000000000000007''00000000%s' "$1"
}
for n in 1 2; do topo_vn "$n" vnet-create "$TOPO_DIR/v98.sxp"; done
drops0=$(topo_drops 1)
topo_exec h3 "$INJECT" 10.0.1.1 1798 "$(announce 97 $GMAC)"
topo_exec h3 "$INJECT" 224.10.0.1 1798 "$(flood "$(announce 97 $GMAC)")"
# Positive control: the same forgery on the clear vnet 98 is believed.
topo_exec h3 "$INJECT" 10.0.1.1 1798 "$(announce 98 00:16:3e:00:00:98)"
for ((i = 0; i < 50; i++)); do
	[ "$(where 1 98 00:16:3e:00:00:98)" = 10.0.1.3 ] && break
	sleep 0.1
done
[ "$(where 1 98 00:16:3e:00:00:98)" = 10.0.1.3 ] ||
	topo_fail "control: h1 ignored a clear announce on clear vnet 98 (forgery malformed?)"
[ "$(where 1 97 $GMAC)" = 10.0.1.2 ] || topo_fail "forged clear announce moved $GMAC to '$(where 1 97 $GMAC)'"
[ "$(where 2 97 $GMAC)" = "" ] || [ "$(where 2 97 $GMAC)" = 10.0.1.2 ] ||
	topo_fail "forged announce moved $GMAC on h2 to '$(where 2 97 $GMAC)'"
drops=$(topo_drops 1)
[ "$drops" = $((drops0 + 2)) ] || topo_fail "h1 counted $((drops - drops0)) drops for 2 forged announces, want 2"
echo "forged clear announces: refused and counted (2 drops), $GMAC stays at 10.0.1.2"

topo_log "host with the wrong key"
# refused N: what hN refused of the SA exchange: messages and envelopes.
refused() { echo $(($(topo_stat "$1" 97 drop_sa) + $(topo_stat "$1" 97 drop_auth))); }
ref1=$(refused 1)
topo_vn 3 vnet-create "$TOPO_DIR/v97-bad.sxp"
topo_vnet_addr 3 97
nosa1=$(topo_stat 1 97 drop_nosa)
h3nosa=$(topo_stat 3 97 drop_nosa)
h3in=$(topo_stat 3 97 frames_in)
got=$(topo_ping_count h3 10.97.0.1 3)
[ "$got" = 0 ] || topo_fail "h3 (wrong key) got $got replies from 10.97.0.1"
[ "$(topo_stat 1 97 drop_nosa)" -gt "$nosa1" ] || topo_fail "h1 counted no unknown-SA drop for h3's traffic"
[ "$(refused 1)" -gt "$ref1" ] || topo_fail "h1 refused no SA message of h3"
# h1 broadcasts (ARP) and unicasts to the guest; h3 must read none of it.
topo_exec h1 ip neigh flush dev vnet97
got=$(topo_ping_count h1 10.97.0.22 3)
[ "$got" = 3 ] || topo_fail "h1 -> guest: $got of 3 replies"
[ "$(topo_stat 3 97 drop_nosa)" -gt "$h3nosa" ] || topo_fail "h3 counted no unknown-SA drop for h1's floods"
[ "$(refused 3)" -gt 0 ] || topo_fail "h3 refused no SA message of h1"
[ "$(topo_stat 3 97 frames_in)" = "$h3in" ] || topo_fail "h3 (wrong key) took frames in"
for n in 1 3; do
	got=$(topo_vn $n --json sa-list | jq -c '[.[] | select(.vnet == "97" and .dir == "in") | .src] | sort')
	want='["10.0.1.2"]'
	[ $n = 3 ] && want='[]'
	[ "$got" = "$want" ] || topo_fail "h$n learned SAs from $got, want $want"
done

# The forger: a guest with the victim's MAC on h3. h3's vnetd learns it
# and announces it, sealed with the wrong key.
nosa1=$(topo_stat 1 97 drop_nosa)
topo_guest 23 3 97 "$GMAC" 10.97.0.123
for ((i = 0; i < 50; i++)); do
	[ "$(where 3 97 $GMAC)" = 10.0.1.3 ] && break
	sleep 0.1
done
[ "$(where 3 97 $GMAC)" = 10.0.1.3 ] || topo_fail "h3 did not learn the forger's MAC locally"
for ((i = 0; i < 50; i++)); do
	[ "$(topo_stat 1 97 drop_nosa)" -gt "$nosa1" ] && break
	sleep 0.1
done
[ "$(topo_stat 1 97 drop_nosa)" -gt "$nosa1" ] || topo_fail "h1 dropped no forged announce"
[ "$(where 1 97 $GMAC)" = 10.0.1.2 ] || topo_fail "wrong-key announce moved $GMAC to '$(where 1 97 $GMAC)'"
got=$(topo_ping_count h1 10.97.0.22 3)
[ "$got" = 3 ] || topo_fail "h1 -> guest after the forgery: $got of 3 replies"
echo "wrong key: no frame in, pings fail, announce refused, $GMAC stays at 10.0.1.2"
echo "PASS: 24_vnet_tamper_replay"
