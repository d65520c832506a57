#!/usr/bin/env bash
# Every SA is new, and old packets stay old. While a capture on h2's
# underlay records everything h1 sends, h1's vnet 97 (conf, AES-128-GCM)
# gets a new SA in each way the issue lists: deleted and re-created (twice),
# rekeyed (vn sa-rekey), vnetd killed with its state dir put back to an
# older copy, and killed with its state dir wiped. After each, pings work
# within 1 s of the vnet being back. Then, over the whole capture, no
# (SPI, sequence number) pair of h1 repeats, plain or inside a FLOOD, and
# every SA h1 used has its own SPI.
# Last, h2's vnetd is restarted mid-stream: every ESP packet h1 sent it
# before the restart, replayed to it afterwards (from h1's address), is
# refused (drop_replay or drop_nosa) and no frame of them reaches h2.
#
#  tvPID-h1                      tvPID-h2
#  vnet97 10.97.0.1              vnet97 10.97.0.2
#  vnetd (killed, state games)   vnetd (restarted), tcpdump on eth0
#  eth0 10.0.1.1 --- ul1 (bridge) --- eth0 10.0.1.2
set -eu
. "$(dirname "$0")/lib/topo.sh"
INJECT=$TOPO_PROGS/vnet_inject
topo_require tcpdump
[ -x "$INJECT" ] || topo_fail "no $INJECT (build the tests)"
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
topo_wait_ping h1 10.97.0.2 10 || topo_fail "h1 cannot ping h2"
topo_capture h2 eth0 "$TOPO_DIR/all.pcap" udp port 1798 and src host 10.0.1.1
CAP=$TOPO_CAPTURE_PID
topo_exec h1 ping -n -q -c 30 -i 0.01 10.97.0.2 >/dev/null

now_ms() { date +%s%3N; }
# addr N: hN's address on vnet97, whether or not the bridge kept it.
addr() {
	topo_exec "h$1" ip addr replace "10.97.0.$1/24" dev vnet97
	topo_exec "h$1" ip link set vnet97 up
}
# back WHAT T0: pings from h1 to h2 must work within 1 s of T0 (ms).
back() {
	local i t
	for ((i = 0; i < 40; i++)); do
		if topo_exec h1 ping -n -q -c 1 -W 0.2 10.97.0.2 >/dev/null 2>&1; then
			t=$(($(now_ms) - $2))
			[ "$t" -le 1000 ] || topo_fail "$1: first ping answered after $t ms, want <= 1000"
			echo "$1: pings work $t ms later"
			return 0
		fi
	done
	topo_fail "$1: no ping answered"
}
recreate() {
	topo_vn 1 vnet-delete 97
	t0=$(now_ms)
	topo_vn 1 vnet-create "$TOPO_DIR/v97.sxp"
	addr 1
	back "re-create $1" "$t0"
	topo_exec h1 ping -n -q -c 30 -i 0.01 10.97.0.2 >/dev/null
}

cp -a "$TOPO_DIR/h1/state" "$TOPO_DIR/state.old"
recreate 1
recreate 2
t0=$(now_ms)
topo_vn 1 sa-rekey 97
back "rekey" "$t0"
topo_exec h1 ping -n -q -c 30 -i 0.01 10.97.0.2 >/dev/null

topo_log "SIGKILL, state dir put back to an older copy"
topo_vnetd_stop 1 KILL
rm -rf "$TOPO_DIR/h1/state"
cp -a "$TOPO_DIR/state.old" "$TOPO_DIR/h1/state"
t0=$(now_ms)
topo_vnetd_start 1
addr 1
back "old state dir" "$t0"
topo_exec h1 ping -n -q -c 30 -i 0.01 10.97.0.2 >/dev/null

topo_log "SIGKILL, state dir wiped"
topo_vnetd_stop 1 KILL
rm -rf "$TOPO_DIR/h1/state"
topo_vnetd_start 1
t0=$(now_ms)
topo_vn 1 vnet-create "$TOPO_DIR/v97.sxp"
addr 1
back "wiped state dir" "$t0"
topo_exec h1 ping -n -q -c 30 -i 0.01 10.97.0.2 >/dev/null
sleep 0.3
topo_capture_stop "$CAP"

# Every ESP packet of h1: SPI and sequence number, from a plain ESP
# datagram or from the ESP packet inside a tagged FLOOD (52-byte envelope).
topo_udp_payloads "$TOPO_DIR/all.pcap" | awk '
	$3 !~ /^00000000/ { print substr($3, 1, 8), substr($3, 9, 8); next }
	substr($3, 9, 4) == "0103" && substr($3, 13, 4) == "0001" &&
	    substr($3, 105, 8) != "00000000" {
		print substr($3, 105, 8), substr($3, 113, 8) }' >"$TOPO_DIR/pairs"
total=$(wc -l <"$TOPO_DIR/pairs")
uniq=$(sort -u "$TOPO_DIR/pairs" | wc -l)
spis=$(cut -d' ' -f1 "$TOPO_DIR/pairs" | sort -u | wc -l)
echo "capture: $total ESP packets of h1 under $spis SPIs, $uniq distinct (SPI, seq)"
[ "$total" -ge 150 ] || topo_fail "only $total ESP packets of h1 captured"
[ "$uniq" = "$total" ] || topo_fail "$((total - uniq)) (SPI, seq) pairs repeat: $(sort "$TOPO_DIR/pairs" | uniq -d | head -3 | tr '\n' ' ')"
# Six SAs: the first, two re-creates, a rekey, two restarts.
[ "$spis" -ge 6 ] || topo_fail "h1 used $spis SPIs, want >= 6 (one per SA)"

topo_log "receiver restarted mid-stream; what was captured before is replayed"
topo_capture h2 eth0 "$TOPO_DIR/before.pcap" udp port 1798 and src host 10.0.1.1
CAP=$TOPO_CAPTURE_PID
topo_exec h1 ping -n -q -c 50 -i 0.01 10.97.0.2 >/dev/null
topo_exec h1 ping -n -q -b -c 5 -i 0.05 10.97.0.255 >/dev/null 2>&1 || true
sleep 0.2
topo_capture_stop "$CAP"
topo_vnetd_stop 2 TERM
topo_vnetd_start 2
addr 2
topo_wait_ping h1 10.97.0.2 10 || topo_fail "h1 cannot ping h2 after h2's restart"
in0=$(topo_stat 2 97 frames_in)
drops0=$(($(topo_stat 2 97 drop_replay) + $(topo_stat 2 97 drop_nosa)))
n=0
while read -r src dst hex; do
	# Only ESP and flooded ESP: the SA exchange's own packets are not data.
	case $hex in 00000000010300010*) ;; 00000000*) continue ;; esac
	topo_exec h1 "$INJECT" "$dst" 1798 "$hex" >/dev/null
	n=$((n + 1))
done < <(topo_udp_payloads "$TOPO_DIR/before.pcap")
[ "$n" -ge 50 ] || topo_fail "only $n packets to replay"
sleep 0.5
in1=$(topo_stat 2 97 frames_in)
drops1=$(($(topo_stat 2 97 drop_replay) + $(topo_stat 2 97 drop_nosa)))
[ "$in1" = "$in0" ] || topo_fail "h2 took $((in1 - in0)) replayed frames in"
[ $((drops1 - drops0)) -ge "$n" ] || topo_fail "h2 refused $((drops1 - drops0)) of $n replayed packets"
echo "replayed $n pre-restart packets to h2: all refused, no frame in"
topo_wait_ping h1 10.97.0.2 5 || topo_fail "h1 cannot ping h2 after the replay"
echo "PASS: 30_vnet_sa_fresh"
