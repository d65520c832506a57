#!/usr/bin/env bash
# 47_net_migrate_security: the scenario of 45 at each vnet security level
# (none, auth, conf; the vnet recreated per level): the echo guest moves
# h1 -> h2 -> h1 while h3 pings it every 10 ms with a distinctive payload
# and keeps a TCP echo session; at most 5 pings lost per migration and the
# session intact at every level. A capture on the underlay bridge shows
# the payload (and the TCP lines' text) in clear with none and auth
# (integrity only), and never with conf. Layout: lib/cluster.sh.
set -eu
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"

cluster_require tcpdump
cluster_up none -
PAT=c0ffee4749d8a1b2c3d4e5f60718293a
LINE=6c696e652031303020 # "line 100 ": the TCP session's 101st line
MAC=00:16:3e:47:00:11
for lvl in none auth conf; do
	topo_log "security $lvl"
	cluster_vnet "$lvl" 97
	rm -f "$TOPO_DIR/migrations"
	cluster_guest 1 e47 echo.elf 97 "$MAC" 10.97.0.11
	topo_capture ul ul1 "$TOPO_DIR/$lvl.pcap" udp port 1798
	cluster_probe_start 3 10.97.0.11 --pattern "$PAT"
	sleep 1.5
	cluster_migrate 1 2 e47 >/dev/null
	sleep 1
	cluster_migrate 2 1 e47 >/dev/null
	sleep 1
	r=$(cluster_probe_stop)
	sleep 0.2
	topo_capture_stop "$TOPO_CAPTURE_PID"
	echo "$lvl: $r"
	echo "$r" | jq -e '.pings_sent > 200 and (.lost_by_window | length) == 2
		and all(.lost_by_window[]; . <= 5) and .tcp_session_ok' >/dev/null ||
		topo_fail "$lvl: $r"
	[ "$(cluster_neigh 3 10.97.0.11)" = "$MAC" ] || topo_fail "$lvl: h3 neigh: $(topo_exec h3 ip neigh)"
	np=$(topo_pcap_count "$TOPO_DIR/$lvl.pcap" "$PAT")
	nl=$(topo_pcap_count "$TOPO_DIR/$lvl.pcap" "$LINE")
	total=$(tcpdump -r "$TOPO_DIR/$lvl.pcap" -n 2>/dev/null | wc -l)
	echo "$lvl: $total packets on the underlay, $np show the ping payload, $nl the TCP line"
	[ "$total" -gt 400 ] || topo_fail "$lvl: only $total packets captured"
	case $lvl in
	none | auth)
		if [ "$np" -le 100 ] || [ "$nl" -lt 1 ]; then topo_fail "$lvl: payload not seen in clear ($np, $nl)"; fi ;;
	conf)
		if [ "$np" != 0 ] || [ "$nl" != 0 ]; then topo_fail "conf: guest payload in clear on the underlay ($np, $nl)"; fi ;;
	esac
	mig_vm 1 destroy e47 >/dev/null || topo_fail "destroy"
	mig_wait_state 1 e47 "" 50 || topo_fail "e47 still listed"
	for n in 1 2 3; do topo_vn "$n" vnet-delete 97 >/dev/null; done
done
echo "PASS: none, auth, conf: <= 5 pings lost per migration, TCP intact; payload in clear only without conf"
