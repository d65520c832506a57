#!/usr/bin/env bash
# Three hosts on one underlay join vnet 97 from the same sxp file and ping
# each other at every security level (none, auth, conf), the vnet being
# recreated per level. A capture on the underlay bridge proves what crosses
# the wire: UDP 1798 always; with none the clear Tern header; with auth ESP
# (non-zero SPI, next header 143 = Ethernet) and the ping's payload pattern
# still visible (integrity only); with conf the pattern never appears.
#
#  tvPID-h1               tvPID-h2               tvPID-h3
#  vnet97 10.97.0.1/24    vnet97 10.97.0.2/24    vnet97 10.97.0.3/24
#   `- vnif97 (vnetd)      `- vnif97 (vnetd)      `- vnif97 (vnetd)
#  eth0 10.0.1.1          eth0 10.0.1.2          eth0 10.0.1.3
#     |                      |                      |
#     +-------------- ul1 (bridge, tvPID-ul) -------+   <- tcpdump
set -eu
. "$(dirname "$0")/lib/topo.sh"
topo_require tcpdump
topo_init

PAT=7e3a91c4d5e6f7a8b9cadbecfd0e1f25 # ping -p fills the ICMP data with it
HOSTS=(1 2 3)
for n in "${HOSTS[@]}"; do
	topo_host "$n" 1
	topo_vnetd_start "$n"
done
KEY=$TOPO_DIR/vnet97.key
topo_key "$KEY"

# check_list N LEVEL SUITE: vnet-list in JSON is exactly the vnet we made.
check_list() {
	local got want
	got=$(topo_vn "$1" --json vnet-list | jq -c '[.[] | [.id, .bridge, .vnetif, .security, .mtu]]')
	want="[[\"97\",\"vnet97\",\"vnif97\",\"$2\",1400]]"
	[ "$got" = "$want" ] || topo_fail "h$1 vnet-list: $got, want $want"
	got=$(topo_vn "$1" --json vnet-list | jq -r '.[0].suite')
	[ "$got" = "$3" ] || topo_fail "h$1 vnet 97 suite: $got, want $3"
}

# ping_all: every ordered pair, first until one ping passes (VARP and ARP
# warm up), then 3 pings carrying PAT, all of which must come back.
ping_all() {
	local a b got
	for a in "${HOSTS[@]}"; do
		for b in "${HOSTS[@]}"; do
			[ "$a" = "$b" ] && continue
			topo_wait_ping "h$a" "10.97.0.$b" 10 ||
				topo_fail "$1: h$a cannot ping 10.97.0.$b within 10 s"
		done
	done
	topo_capture ul ul1 "$TOPO_DIR/$1.pcap" udp port 1798
	for a in "${HOSTS[@]}"; do
		for b in "${HOSTS[@]}"; do
			[ "$a" = "$b" ] && continue
			got=$(topo_ping_count "h$a" "10.97.0.$b" 3 -p "$PAT")
			[ "$got" = 3 ] || topo_fail "$1: h$a -> 10.97.0.$b: $got of 3 replies"
		done
	done
	sleep 0.2 # the last reply is on the wire; let tcpdump write it
	topo_capture_stop "$TOPO_CAPTURE_PID"
}

# The underlay capture of one level: "SRC DST UDP-PAYLOAD-HEX" per packet.
wire() { topo_udp_payloads "$TOPO_DIR/$1.pcap"; }

# check_pattern LEVEL WANT: how many packets show the ping's pattern in clear.
check_pattern() {
	local got
	got=$(wire "$1" | grep -c "$PAT" || true)
	[ "$got" = "$2" ] || topo_fail "$1: $got packets show the ping pattern, want $2"
}

# check_spis LEVEL: every ESP packet carries its sender's outbound SPI.
check_spis() {
	local bad
	bad=$(wire "$1" | awk -v spis="$SPIS" '
		BEGIN { n = split(spis, a, " "); for (i = 1; i < n; i += 2) spi[a[i]] = a[i + 1] }
		substr($3, 1, 8) != "00000000" && ("0x" substr($3, 1, 8)) != spi[$1]' | wc -l)
	[ "$bad" = 0 ] || topo_fail "$1: $bad ESP packets whose SPI is not their sender's ($SPIS)"
}

# check_wire LEVEL: what the underlay shows. 6 pairs x 3 pings x (request +
# reply) = 36 packets carry the pattern, each crossing the wire once.
check_wire() {
	local lvl=$1 total bad
	total=$(wire "$lvl" | wc -l)
	[ "$total" -ge 36 ] || topo_fail "$lvl: $total UDP 1798 packets on the underlay, want >= 36"
	case $lvl in
	none)
		check_pattern none 36
		# Zero marker, version 1, type FRAME, flags 0, vnet id 97.
		bad=$(wire none | grep "$PAT" |
			awk 'substr($3, 1, 48) != "0000000001010000" "00000000000000000000000000000097"' | wc -l)
		[ "$bad" = 0 ] || topo_fail "none: $bad pattern packets without the clear FRAME header of vnet 97"
		;;
	auth)
		check_pattern auth 36
		check_spis auth
		# Sequence non-zero, next header 143 just before the 12-byte
		# HMAC-SHA1-96 ICV.
		bad=$(wire auth | grep "$PAT" | awk '{ p = $3; n = length(p)
			if (substr(p, 9, 8) == "00000000" || substr(p, n - 25, 2) != "8f") print }' | wc -l)
		[ "$bad" = 0 ] || topo_fail "auth: $bad pattern packets are not ESP null-sha1 with next header 143"
		;;
	conf)
		check_pattern conf 0
		check_spis conf
		bad=$(wire conf | awk '$2 != "224.10.0.1" && substr($3, 1, 8) == "00000000"' | wc -l)
		[ "$bad" = 0 ] || topo_fail "conf: $bad unicast packets in clear"
		;;
	esac
	echo "$lvl: $total UDP 1798 packets on the underlay, checked"
}

for lvl in none auth conf; do
	topo_log "security $lvl"
	f=$TOPO_DIR/vnet97-$lvl.sxp
	if [ "$lvl" = none ]; then
		topo_vnet_file "$f" 97 none
	else
		topo_vnet_file "$f" 97 "$lvl" "$KEY"
	fi
	case $lvl in none) suite=none ;; auth) suite=null-sha1 ;; conf) suite=aes128-gcm ;; esac
	for n in "${HOSTS[@]}"; do
		topo_vn "$n" vnet-create "$f"
		check_list "$n" "$lvl" "$suite"
		topo_vnet_addr "$n" 97
	done
	ping_all "$lvl"
	# "SRC SPI" of each host's outbound SA for vnet 97.
	SPIS=$(for n in "${HOSTS[@]}"; do
		topo_vn "$n" --json sa-list | jq -r '.[] | select(.vnet == "97" and .dir == "out") | "\(.src) \(.spi)"'
	done | tr '\n' ' ')
	check_wire "$lvl"
	for n in "${HOSTS[@]}"; do
		topo_vn "$n" vnet-delete 97
		[ "$(topo_vn "$n" --json vnet-list | jq length)" = 0 ] ||
			topo_fail "h$n: vnet 97 still listed after vnet-delete"
		if topo_exec "h$n" ip link show vnet97 >/dev/null 2>&1; then
			topo_fail "h$n: bridge vnet97 still exists after vnet-delete"
		fi
	done
done
echo "PASS: 22_vnet_three_hosts"
