# shellcheck shell=bash
# Shared helpers for the migrated tests (33_*.sh .. 39_*.sh): hosts as
# network namespaces on an underlay bridge (lib/topo.sh), one migrated per
# host with its own certificate from one cluster CA made with `vm cert`,
# its own control socket, runtime and state dirs, and a hosts file of its
# own (/etc/netns/NS/hosts, bind-mounted by `ip netns exec`) naming every
# host hN, so that c-ares resolves HOST names and reverse names inside the
# test's namespaces only. Source it from a test; it starts nothing itself.
#
#   tvPID-hN: eth0 10.0.S.N ── ulS bridge (tvPID-ul) ── ... other hosts
#     └─ migrated -f -c $TOPO_DIR/hN/migrated.sxp  (log: hN/migrated.log)
#          └─ vmm per domain
#
# mig_cleanup (EXIT trap) stops every migrated (which ends its vmms),
# removes the hosts files, then lib/topo.sh removes namespaces and files.

# shellcheck source=lib/topo.sh
. "$(dirname "${BASH_SOURCE[0]}")/topo.sh"

MIGD="$TOPO_BUILD/migrated/migrated"
VMC="$TOPO_BUILD/migrated/vm"
MIG_VMM="$TOPO_BUILD/hypervisor/vmm/vmm"
MIG_G="${TERN_GUESTS:-$TOPO_BUILD/hypervisor/guest}" # TERN_GUESTS: images from another build
declare -A MIG_PID=()
MIG_HOSTS=() # host numbers with a hosts file

# mig_require [commands...]: SKIP without root or /dev/kvm; fail naming
# whatever else is missing (binaries, the dirtier image, tools).
mig_require() {
	[ "$(id -u)" -eq 0 ] || topo_skip "needs root"
	[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
	local f missing=()
	for f in "$MIGD" "$VMC" "$MIG_VMM"; do [ -x "$f" ] || missing+=("$f"); done
	[ -f "$MIG_G/dirtier.elf" ] || missing+=("$MIG_G/dirtier.elf (TERN_BUILD_GUESTS=ON)")
	for f in ip "$@"; do command -v "$f" >/dev/null || missing+=("$f"); done
	[ ${#missing[@]} -eq 0 ] || topo_fail "missing: ${missing[*]}"
}

mig_cleanup() {
	local rc=$? n f
	set +e
	for n in "${!MIG_PID[@]}"; do mig_stop "$n"; done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "$TOPO_DIR" ]; then
		for f in "$TOPO_DIR"/h*/migrated.log; do
			[ -f "$f" ] && { echo "---- $f (last 30 lines)" >&2; tail -n 30 "$f" >&2; }
		done
	fi
	if [ $rc -ne 77 ] && [ -n "$TOPO_DIR" ] &&
		grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TOPO_DIR"/h*/migrated.log 2>/dev/null; then
		echo "FAIL: sanitizer report in a migrated log" >&2
		rc=1
	fi
	for n in "${MIG_HOSTS[@]}"; do rm -rf "/etc/netns/$TOPO_P-h$n"; done
	(exit $rc)
	topo_cleanup
}

# mig_init: topology dir, EXIT trap, the cluster CA in $TOPO_DIR/ca.
mig_init() {
	topo_init
	trap mig_cleanup EXIT
	"$VMC" cert ca --out "$TOPO_DIR/ca" >/dev/null || topo_fail "vm cert ca failed"
}

# mig_host N [S]: host hN on subnet S (default 1) with a certificate of
# the cluster CA naming hN and its address, and a hosts file naming hosts
# 1..9 of subnets 1 and 2 (h1 .. h9 for subnet 1, h2N for subnet 2).
mig_host() {
	local n=$1 s=${2:-1} d i
	topo_host "$n" "$s"
	d="$TOPO_DIR/h$n"
	"$VMC" cert host --ca "$TOPO_DIR/ca" --name "h$n" --ip "$(topo_host_addr "$n")" \
		--out "$d/tls" >/dev/null || topo_fail "vm cert host h$n failed"
	mkdir -p "/etc/netns/$TOPO_P-h$n"
	MIG_HOSTS+=("$n")
	{
		echo "127.0.0.1 localhost"
		for i in 1 2 3 4 5 6 7 8 9; do echo "10.0.1.$i h$i"; done
		for i in 1 2 3 4 5 6 7 8 9; do echo "10.0.2.$i h2$i"; done
	} >"/etc/netns/$TOPO_P-h$n/hosts"
}

# mig_conf N [sxp lines...]: writes hN's migrated.sxp (relocation server
# off unless a line turns it on).
mig_conf() {
	local n=$1 d="$TOPO_DIR/h$1" l
	shift
	{
		echo "(tls-ca $TOPO_DIR/ca/ca.pem)"
		echo "(tls-cert $d/tls/host.pem)"
		echo "(tls-key $d/tls/host.key)"
		echo "(control-socket $d/run/migrated.sock)"
		echo "(runtime-dir $d/run)"
		echo "(state-dir $d/state)"
		echo "(vmm-binary $MIG_VMM)"
		echo "(log-level debug)"
		for l in "$@"; do echo "$l"; done
	} >"$d/migrated.sxp"
}

# mig_start N: starts hN's migrated (config written by mig_conf) and waits
# until `vm list` answers (bounded: 10 s).
mig_start() {
	local n=$1 d="$TOPO_DIR/h$1" i
	ip netns exec "$TOPO_P-h$n" "$MIGD" -f -c "$d/migrated.sxp" >>"$d/migrated.log" 2>&1 &
	MIG_PID[$n]=$!
	for ((i = 0; i < 100; i++)); do
		mig_vm "$n" list >/dev/null 2>&1 && return 0
		kill -0 "${MIG_PID[$n]}" 2>/dev/null || topo_fail "h$n: migrated exited at start-up"
		sleep 0.1
	done
	topo_fail "h$n: migrated not ready after 10 s"
}

# mig_stop N: SIGTERM (migrated ends its vmms), bounded wait, then KILL.
mig_stop() {
	local n=$1 pid=${MIG_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	{
		kill -TERM "$pid" || true
		for ((i = 0; i < 100; i++)); do kill -0 "$pid" || break; sleep 0.1; done
		if kill -0 "$pid"; then kill -KILL "$pid"; fi
		wait "$pid" || true
	} 2>/dev/null
	unset "MIG_PID[$n]"
}

# mig_vm N args...: `vm` against hN's migrated, run inside hN.
mig_vm() {
	local n=$1
	shift
	ip netns exec "$TOPO_P-h$n" "$VMC" -s "$TOPO_DIR/h$n/run/migrated.sock" "$@"
}

# mig_dom FILE NAME MEM EXTRA [IMAGE]: a domain config for the dirtier (or IMAGE).
mig_dom() {
	cat >"$1" <<EOT
name = "$2"
kernel = "$MIG_G/${5:-dirtier.elf}"
memory = $3
vcpus = 1
extra = "$4"
EOT
}

# mig_state N DOM: the domain's state in hN's `vm list --json`, "" if absent.
mig_state() {
	mig_vm "$1" list --json | jq -r --arg d "$2" '.[] | select(.name == $d) | .state'
}

# mig_count N: domains in hN's registry.
mig_count() { mig_vm "$1" list --json | jq length; }

# mig_console N DOM SECONDS: what the console shows within SECONDS (the
# recent output first), then Ctrl-] detaches.
mig_console() {
	{ sleep "$3"; printf '\035'; } | mig_vm "$1" console "$2"
}

# mig_counter N DOM: the dirtier's last counter in the console's recent output.
mig_counter() {
	local i c
	for ((i = 0; i < 5; i++)); do
		c=$(mig_console "$1" "$2" 0.3 | grep -a '^dirtier: t=' | tail -n1 | sed -E 's/.*counter=([0-9]+).*/\1/')
		[ -n "$c" ] && break
	done
	echo "${c:-0}"
}

# mig_wait_log N REGEX TENTHS: polls hN's migrated log.
mig_wait_log() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -qE "$2" "$TOPO_DIR/h$1/migrated.log" && return 0
		sleep 0.1
	done
	return 1
}

# mig_wait_state N DOM STATE TENTHS: polls until DOM is STATE ("" = gone).
mig_wait_state() {
	local i
	for ((i = 0; i < $4; i++)); do
		[ "$(mig_state "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# mig_wait_running N DOM: after a migration to hN, until hN lists DOM as
# running: its vmm reports the end of the incoming job a few ms after the
# source heard RUNNING. Bounded by time (5 s), since each look is a `vm
# list` that itself may wait up to 1 s for a stalled vmm.
mig_wait_running() {
	local end=$((SECONDS + 5))
	while :; do
		[ "$(mig_state "$1" "$2")" = running ] && return 0
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# mig_run_extra N [KEEP_GLOB]: files in hN's runtime dir other than the
# control socket (and KEEP_GLOB), space-separated; "" when clean.
mig_run_extra() {
	local f b extra=()
	for f in "$TOPO_DIR/h$1/run/"*; do
		[ -e "$f" ] || continue
		b=${f##*/}
		[ "$b" = migrated.sock ] && continue
		# shellcheck disable=SC2053 # KEEP_GLOB is a glob on purpose
		[ -n "${2:-}" ] && [[ $b == $2 ]] && continue
		extra+=("$b")
	done
	echo "${extra[*]}"
}
