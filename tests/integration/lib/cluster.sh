# shellcheck shell=bash
# The networked-guest migration scenario shared by scripts/demo and tests
# 45-48: three hosts (lib/mig.sh) each running vnetd and migrated, vnet ID
# on all three at a security level, guests booted by migrated with a vif
# on the vnet's bridge (migrated makes the TAP: mig_vif.c), and a probe
# (progs/mig_probe.py) on host C that pings a guest every 10 ms and keeps
# a TCP echo session to it while it migrates.
#
#   tvPID-h1 (A)          tvPID-h2 (B)          tvPID-h3 (C)
#   vnetd, migrated       vnetd, migrated       vnetd, migrated
#   vnet97 ─ TAP ─ vmm    vnet97                vnet97 10.97.0.3/24  <- probe
#      `- vnif97             `- vnif97             `- vnif97
#   eth0 10.0.1.1         eth0 10.0.1.2         eth0 10.0.1.3
#      +------------------- ul1 (tvPID-ul) -----------+
#
# Source it after setting nothing; cluster_require, cluster_up, then the
# guest and probe helpers. Cleanup is lib/mig.sh's EXIT trap (migrateds
# end their vmms, vnetds stop, namespaces and files go).

# shellcheck source=lib/mig.sh
. "$(dirname "${BASH_SOURCE[0]}")/mig.sh"

CLUSTER_PROBE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/progs/mig_probe.py"

# cluster_require [commands...]: what every scenario needs (SKIP only
# without root or /dev/kvm).
cluster_require() {
	topo_require python3 "$@"
	mig_require jq python3 "$@"
	local f
	for f in echo.elf kv.elf; do
		[ -f "$MIG_G/$f" ] || topo_fail "missing: $MIG_G/$f (TERN_BUILD_GUESTS=ON)"
	done
	[ -f "$CLUSTER_PROBE" ] || topo_fail "missing: $CLUSTER_PROBE"
}

# cluster_up SECURITY [VNET...]: hosts 1-3 with vnetd and migrated, each
# vnet (default 97; "-": none) on all three at SECURITY (none, auth, conf;
# one key from vn key-gen), host N's address 10.<vnet>.0.N on bridge
# vnet<ID>.
cluster_up() {
	local sec=$1 n id vnets
	shift
	vnets=("$@")
	[ ${#vnets[@]} -gt 0 ] || vnets=(97)
	mig_init
	topo_key "$TOPO_DIR/vnet.key"
	for n in 1 2 3; do
		mig_host "$n" 1
		topo_vnetd_start "$n"
		mig_conf "$n" "(relocation-server yes)" "(relocation-hosts-allow '^h[123]\$')"
		mig_start "$n"
	done
	for id in "${vnets[@]}"; do [ "$id" = - ] || cluster_vnet "$sec" "$id"; done
}

# cluster_vnet SECURITY ID: vnet ID on hosts 1-3, host N at 10.ID.0.N.
cluster_vnet() {
	local sec=$1 id=$2 f=$TOPO_DIR/vnet$2.sxp n
	if [ "$sec" = none ]; then
		topo_vnet_file "$f" "$id" none
	else
		topo_vnet_file "$f" "$id" "$sec" "$TOPO_DIR/vnet.key"
	fi
	for n in 1 2 3; do
		topo_vn "$n" vnet-create "$f" >/dev/null || topo_fail "h$n: vnet-create $id"
		topo_vnet_addr "$n" "$id" "10.$id.0"
	done
}

# cluster_guest HOST NAME IMAGE VNET MAC IP [MiB] [EXTRA]: creates the
# domain on hHOST with one vif on bridge vnetVNET, IP/24, and waits until
# its service says ready (bounded: 15 s).
cluster_guest() {
	local h=$1 name=$2 img=$3 id=$4 mac=$5 ipa=$6 mem=${7:-64} more=${8:-} i
	cat >"$TOPO_DIR/$name.cfg" <<EOT
name = "$name"
kernel = "$MIG_G/$img"
memory = $mem
vcpus = 1
vif = [ 'mac=$mac, bridge=vnet$id' ]
extra = "ip=$ipa/24 $more"
EOT
	mig_vm "$h" create "$TOPO_DIR/$name.cfg" >/dev/null || topo_fail "h$h: vm create $name"
	for ((i = 0; i < 150; i++)); do
		mig_console "$h" "$name" 0.1 | grep -aqE '^(echo|kv): ready' && return 0
	done
	topo_fail "h$h: $name not ready: $(mig_console "$h" "$name" 0.3 | tail -n 5)"
}

# cluster_probe_start HOST IP [probe args...]: mig_probe.py in hHOST against
# IP; waits until it is pinging and its TCP session is up (bounded: 15 s).
# Sets PROBE_PID; the result goes to $TOPO_DIR/probe.json.
cluster_probe_start() {
	local h=$1 ipa=$2 i
	shift 2
	rm -f "$TOPO_DIR/probe.stop" "$TOPO_DIR/probe.ready" "$TOPO_DIR/marks"
	topo_wait_ping "h$h" "$ipa" 10 || topo_fail "h$h cannot ping $ipa"
	ip netns exec "$TOPO_P-h$h" python3 "$CLUSTER_PROBE" "$ipa" --stop "$TOPO_DIR/probe.stop" \
		--ready "$TOPO_DIR/probe.ready" --marks "$TOPO_DIR/marks" "$@" \
		>"$TOPO_DIR/probe.json" 2>"$TOPO_DIR/probe.err" &
	PROBE_PID=$!
	TOPO_PIDS+=("$PROBE_PID")
	# Real-time priority: on a busy machine a CFS-scheduled python loop
	# stalls for tens of ms, and the gaps it reports would be its own. A
	# machine that allows no real-time tasks (a cgroup without RT runtime)
	# still runs the scenario, with that noise.
	chrt -a -f -p 20 "$PROBE_PID" >/dev/null 2>&1 ||
		echo "note: the probe runs without real-time priority (chrt refused): its gaps include its own scheduling" >&2
	for ((i = 0; i < 150; i++)); do
		[ -e "$TOPO_DIR/probe.ready" ] && return 0
		kill -0 "$PROBE_PID" 2>/dev/null || break
		sleep 0.1
	done
	topo_fail "probe not ready: $(cat "$TOPO_DIR/probe.err")"
}

# cluster_probe_stop: ends the probe and prints its JSON (bounded: 30 s).
cluster_probe_stop() {
	local i
	touch "$TOPO_DIR/probe.stop"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$PROBE_PID" 2>/dev/null || break
		sleep 0.1
	done
	topo_bg_stop "$PROBE_PID"
	jq -e . "$TOPO_DIR/probe.json" >/dev/null 2>&1 || topo_fail "probe: $(cat "$TOPO_DIR/probe.err")"
	cat "$TOPO_DIR/probe.json"
}

# cluster_migrate FROM TO NAME: live migration with vm migrate --live
# --json, marked for the probe; prints the JSON result and appends it to
# $TOPO_DIR/migrations.
cluster_migrate() {
	local from=$1 to=$2 name=$3 json
	echo "$to $(wc -l <"$TOPO_DIR/h$to/migrated.log")" >>"$TOPO_DIR/mig_logoff"
	echo "start $(date +%s.%N)" >>"$TOPO_DIR/marks"
	json=$(mig_vm "$from" migrate --live "$name" "h$to" --json) ||
		topo_fail "h$from -> h$to: migration of $name failed: $json"
	echo "end $(date +%s.%N)" >>"$TOPO_DIR/marks"
	echo "$json" | jq -e '.outcome == "ok"' >/dev/null || topo_fail "migration: $json"
	mig_wait_running "$to" "$name" || topo_fail "$name not running on h$to"
	echo "$json" | jq -c . >>"$TOPO_DIR/migrations"
	echo "$json"
}

# cluster_first_ms K WHAT: for the K-th cluster_migrate (1-based), the
# figure the destination vmm logged as "first WHAT N ms after it resumed"
# (WHAT: "frame for the guest" = the network found the guest's new host;
# "unicast frame from the guest" = its first answer); waits up to 3 s,
# prints "null" when there is none.
cluster_first_ms() {
	local h off i v
	read -r h off < <(sed -n "${1}p" "$TOPO_DIR/mig_logoff") ||
		topo_fail "cluster_first_ms: no migration $1 recorded"
	for ((i = 0; i < 30; i++)); do
		v=$(tail -n +"$((off + 1))" "$TOPO_DIR/h$h/migrated.log" |
			sed -nE "s/.*first $2 ([0-9.]+) ms after it resumed.*/\1/p" | head -n1)
		[ -n "$v" ] && { echo "$v"; return 0; }
		sleep 0.1
	done
	echo null
}

# cluster_neigh HOST IP: the MAC hHOST's neighbour table holds for IP.
cluster_neigh() {
	topo_exec "h$1" ip neigh show "$2" | sed -nE 's/.* lladdr ([0-9a-f:]+).*/\1/p'
}
