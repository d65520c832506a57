#!/usr/bin/env bash
# 48_net_guest_to_guest: guests talk to each other across hosts on a vnet,
# also after one of them migrated, and not across vnets. Only guests send:
# each echo guest pings the other with its own ICMP echo requests (ping=,
# every 100 ms) and counts the replies that match them; lwIP in the pinged
# guest answers. Both vnets use security conf.
#
#   h1                    h2                    h3
#   e48a 10.97.0.11 <---> e48b 10.97.0.12       (e48a arrives here)
#    vnet97                vnet97                vnet97
#   x48a 10.97.0.21 --X-- x48b 10.97.0.22
#    vnet97                vnet98
#
# e48a and e48b both get replies; e48a moves h1 -> h3 live and both reply
# counts keep growing. x48a (vnet 97) and x48b (vnet 98, an address in
# 10.97.0.0/24) ping each other the whole time: both send, neither ever
# gets a reply. A Linux ping from h3 to e48a still gets answers (the
# pinger's raw pcb leaves lwIP's echo answering alone).
# After the move a blast guest on h1 streams 2 MiB over TCP to e48a's
# discard port on h3: both run with the vnet's MTU (from their TAPs), and
# every byte arrives.
# A bad ping= or ping_ms= is refused by the guest first (halt 1, one line).
# A guest on vnet 99, which only h1 joined, cannot move to h2: the OFFER
# is refused naming the bridge, the guest runs on at h1, h2 makes no TAP
# (its TAPs, e48b's and x48b's, stay as they were); e48a's TAP left h1
# with it.
# Layout: lib/cluster.sh.
set -eu
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"

cluster_require
cluster_up conf 97 98

# A bad ping= or ping_ms= halts the guest with 1 and one line, before its
# network starts (so these need no vif).
bad_ping() {
	local rc=0 out
	cat >"$TOPO_DIR/bad.cfg" <<EOT
name = "bad48"
kernel = "$MIG_G/echo.elf"
memory = 64
vcpus = 1
extra = "ip=10.97.0.30/24 $1"
EOT
	out=$(topo_exec h1 timeout 20 "$MIG_VMM" --config "$TOPO_DIR/bad.cfg" </dev/null 2>&1) || rc=$?
	[ "$rc" = 1 ] || topo_fail "echo $1: vmm exit $rc, want 1 (guest halted 1): $out"
	echo "$out" | grep -qxF "$2" || topo_fail "echo $1: '$out', want '$2'"
}
bad_ping "ping=10.97.1" "echo: bad ping=10.97.1: not a unicast A.B.C.D"
bad_ping "ping=224.0.0.1" "echo: bad ping=224.0.0.1: not a unicast A.B.C.D"
bad_ping "ping=10.97.0.12 ping_ms=0" "echo: bad ping= (A.B.C.D) or ping_ms= (1..60000)"
cluster_guest 1 e48a echo.elf 97 00:16:3e:48:00:11 10.97.0.11 64 "ping=10.97.0.12"
cluster_guest 2 e48b echo.elf 97 00:16:3e:48:00:12 10.97.0.12 64 "ping=10.97.0.11"
cluster_guest 1 x48a echo.elf 97 00:16:3e:48:00:21 10.97.0.21 64 "ping=10.97.0.22"
cluster_guest 2 x48b echo.elf 98 00:16:3e:48:00:22 10.97.0.22 64 "ping=10.97.0.21"

# ping_stat HOST NAME: "sent replies last_rtt_us" from the guest's last
# ping line (printed once a second when its counters changed) in the
# console ring; "0 0 0" when 5 reads found none (a console read on a busy
# machine can come back empty).
ping_stat() {
	local i s=
	for ((i = 0; i < 5; i++)); do
		s=$(mig_console "$1" "$2" 0.3 | grep -a '^echo: ping ' | tail -n1 |
			sed -nE 's/.* sent=([0-9]+) replies=([0-9]+) last_rtt_us=([0-9]+)$/\1 \2 \3/p')
		[ -n "$s" ] && break
	done
	echo "${s:-0 0 0}"
}

# wait_stat HOST NAME FIELD MIN: polls until field FIELD (1 sent, 2
# replies) of the guest's ping line reaches MIN (bounded: 25 polls, ~10 s);
# prints its last "sent replies rtt".
wait_stat() {
	local i s
	for ((i = 0; i < 25; i++)); do
		s=$(ping_stat "$1" "$2")
		[ "$(echo "$s" | cut -d' ' -f"$3")" -ge "$4" ] && break
	done
	echo "$s"
}
wait_replies() { wait_stat "$1" "$2" 2 "$3"; }

replies() { echo "$1" | cut -d' ' -f2; }
sent() { echo "$1" | cut -d' ' -f1; }

# taps HOST: the names of the TAPs migrated made on hHOST, one line.
taps() {
	topo_exec "h$1" ip -o link show | grep -o 'tern[0-9]*v[0-9]*' | sort | tr '\n' ' '
}

topo_log "e48a (h1) and e48b (h2) ping each other on vnet 97"
a0=$(wait_replies 1 e48a 10)
b0=$(wait_replies 2 e48b 10)
echo "e48a sent/replies/rtt_us: $a0; e48b: $b0"
[ "$(replies "$a0")" -ge 10 ] || topo_fail "e48a (h1) got under 10 replies from e48b (h2): $a0"
[ "$(replies "$b0")" -ge 10 ] || topo_fail "e48b (h2) got under 10 replies from e48a (h1): $b0"

xa0=$(ping_stat 1 x48a)
xb0=$(ping_stat 2 x48b)

topo_log "e48a moves h1 -> h3"
t1=$(taps 1)
[ "$(echo "$t1" | wc -w)" = 2 ] || topo_fail "h1: TAPs '$t1', want 2 (e48a, x48a)"
cluster_migrate 1 3 e48a | jq -c '{total_ms, downtime_ms}'
[ "$(taps 1 | wc -w)" = 1 ] || topo_fail "h1: TAPs '$(taps 1)' after e48a left (was '$t1')"
# Baselines printed after the move: e48a's first line on h3 (its console
# there starts empty), then e48b's last line, at most 1 s old; 30 more
# replies each (3 s of pings) prove they still reach each other.
a1=$(wait_stat 3 e48a 1 1)
[ "$(sent "$a1")" -gt 0 ] || topo_fail "e48a prints no ping line on h3"
b1=$(wait_stat 2 e48b 1 $(($(sent "$b0") + 1)))
[ "$(sent "$b1")" -gt "$(sent "$b0")" ] || topo_fail "e48b prints no new ping line: $b0 -> $b1"
a2=$(wait_replies 3 e48a $(($(replies "$a1") + 30)))
b2=$(wait_replies 2 e48b $(($(replies "$b1") + 30)))
echo "after the move: e48a (h3) $a1 -> $a2; e48b (h2) $b1 -> $b2"
[ "$(replies "$a2")" -ge $(($(replies "$a1") + 30)) ] ||
	topo_fail "e48a on h3 stopped getting replies: $a1 -> $a2"
[ "$(replies "$b2")" -ge $(($(replies "$b1") + 30)) ] ||
	topo_fail "e48b stopped getting replies from e48a on h3: $b1 -> $b2"
topo_wait_ping h3 10.97.0.11 5 || topo_fail "h3 cannot ping e48a (10.97.0.11)"

topo_log "TCP guest to guest: blast (h1) streams 2 MiB to e48a's discard port (h3)"
# Full-size segments: both guests take the vnet's MTU (1400) from their
# TAP, so lwIP's MSS fits the bridges (at 1500 every full segment would be
# dropped and the stream would stall).
mig_console 2 e48b 0.5 | grep -aq '^net: vif0 .* mtu=1400$' ||
	topo_fail "e48b does not run with the vnet's MTU: $(mig_console 2 e48b 0.5 | grep -a '^net: ')"
cat >"$TOPO_DIR/b48.cfg" <<EOT
name = "b48"
kernel = "$MIG_G/blast.elf"
memory = 64
vcpus = 1
vif = [ 'mac=00:16:3e:48:00:31, bridge=vnet97' ]
extra = "ip=10.97.0.31/24 proto=tcp bytes=2097152 dst=10.97.0.11 port=9 wait=200"
EOT
mig_vm 1 create "$TOPO_DIR/b48.cfg" >/dev/null || topo_fail "h1: vm create b48"
timeout 60 ip netns exec "$TOPO_P-h1" "$VMC" -s "$TOPO_DIR/h1/run/migrated.sock" console b48 \
	</dev/null >"$TOPO_DIR/b48.out" 2>&1 || true
grep -aq '^blast: tcp bytes=2097152 ' "$TOPO_DIR/b48.out" ||
	topo_fail "blast b48: $(tail -n 5 "$TOPO_DIR/b48.out")"
for ((i = 0; i < 20; i++)); do
	d=$(mig_console 3 e48a 0.3 | grep -a '^echo: icmp=' | tail -n1 | sed -nE 's/.* discard_bytes=([0-9]+)$/\1/p')
	[ "${d:-0}" -ge 2097152 ] && break
done
[ "${d:-0}" = 2097152 ] || topo_fail "e48a discarded ${d:-no} bytes, want 2097152"
echo "$(grep -a '^blast: tcp' "$TOPO_DIR/b48.out")"

topo_log "x48a (vnet 97, h1) and x48b (vnet 98, h2) pinged each other meanwhile"
xa1=$(ping_stat 1 x48a)
xb1=$(ping_stat 2 x48b)
echo "x48a sent/replies/rtt_us: $xa0 -> $xa1; x48b: $xb0 -> $xb1"
# Over 3 s passed since the first reading (e48a's 30 replies).
if [ "$(sent "$xa1")" -lt $(($(sent "$xa0") + 10)) ] || [ "$(sent "$xb1")" -lt $(($(sent "$xb0") + 10)) ]; then
	topo_fail "the vnet 97/98 pair stopped sending: x48a $xa0 -> $xa1, x48b $xb0 -> $xb1"
fi
for x in "$xa0" "$xa1" "$xb0" "$xb1"; do
	[ "$(replies "$x")" = 0 ] || topo_fail "a reply across vnets 97/98: x48a $xa0 -> $xa1, x48b $xb0 -> $xb1"
done

topo_log "a guest on vnet 99, which only h1 has, cannot move to h2"
topo_vnet_file "$TOPO_DIR/vnet99.sxp" 99 conf "$TOPO_DIR/vnet.key"
topo_vn 1 vnet-create "$TOPO_DIR/vnet99.sxp" >/dev/null || topo_fail "h1: vnet-create 99"
cluster_guest 1 e99 echo.elf 99 00:16:3e:48:00:99 10.99.0.11
t2=$(taps 2)
out=$(mig_vm 1 migrate --live e99 h2 2>&1) && topo_fail "e99 moved to a host without its bridge: $out"
echo "$out" | grep -q 'bridge vnet99: no such bridge on this host' || topo_fail "refusal: $out"
[ "$(mig_state 1 e99)" = running ] || topo_fail "e99 not running on h1 after the refusal"
[ -z "$(mig_state 2 e99)" ] || topo_fail "e99 listed on h2"
[ "$(taps 2)" = "$t2" ] || topo_fail "h2's TAPs changed with the refused move: '$t2' -> '$(taps 2)'"
echo "refused: $out"
echo "PASS: echo guests ping each other across hosts before (replies $(replies "$a0")/$(replies "$b0")) and after the move (+$(($(replies "$a2") - $(replies "$a1")))/+$(($(replies "$b2") - $(replies "$b1")))), vnet 97/98 pair sent $(sent "$xa1")/$(sent "$xb1") and got 0 replies; a move to a host without the vif's bridge is refused"
