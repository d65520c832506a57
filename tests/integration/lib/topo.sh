# Shared helpers for vnet integration tests: hosts as network namespaces on
# underlay bridges that live in their own namespace, a router between
# subnets, guest namespaces on a host's vnet bridge, one vnetd per host.
# Source it from a test; it never touches the root namespace's interfaces.
#
#   tvPID-h1 eth0 10.0.S.N ---\              /--- eth0 tvPID-h3
#   tvPID-h2 eth0 10.0.S.N ---- ulS (bridge) ...
#                               in tvPID-ul
#   tvPID-r: one leg per subnet (10.0.S.254), forwards unicast, never
#   multicast (no multicast routing), so subnets see each other's vnets
#   only through vnetd peers.
#
# Host N on subnet S has underlay address 10.0.S.N and, once it joins a
# vnet with topo_vnet_addr, 10.97.0.N on the vnet bridge.

TOPO_P="tv$$"
TOPO_DIR=""
TOPO_NS=()          # namespaces to delete, in creation order
TOPO_PIDS=()        # background helpers (captures) to stop
declare -A TOPO_VNETD_PID=()
declare -A TOPO_HOST_SUBNET=()
declare -A TOPO_GUEST_HOST=()
declare -A TOPO_GUEST_ARPING=()
TOPO_BUILD="${TERN_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build}"
VNETD="${VNETD:-$TOPO_BUILD/vnetd/vnetd}"
VN="${VN:-$TOPO_BUILD/vnetd/vn}"
# shellcheck disable=SC2034 # for the tests that source this
TOPO_PROGS="$TOPO_BUILD/tests/progs"

# topo_skip MSG: only a missing root may skip (exit 77); anything else a
# test finds missing (a binary, a tool, a device) is a failure naming it.
topo_skip() {
	case $* in
	"needs root"*) echo "SKIP: $*"; exit 77 ;;
	*) echo "FAIL: missing: $*"; exit 1 ;;
	esac
}
topo_fail() { echo "FAIL: $*" >&2; exit 1; }
topo_log() { echo "== $*"; }

# topo_require [commands...]: skip unless root; fail naming everything
# missing among /dev/net/tun, vnetd, vn and the named commands.
topo_require() {
	[ "$(id -u)" -eq 0 ] || topo_skip "needs root"
	local c missing=()
	[ -c /dev/net/tun ] || missing+=(/dev/net/tun)
	[ -x "$VNETD" ] || missing+=("vnetd binary at $VNETD")
	[ -x "$VN" ] || missing+=("vn binary at $VN")
	for c in ip bridge jq ping arping "$@"; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || topo_skip "$(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')"
}

topo_init() {
	TOPO_DIR=$(mktemp -d "/tmp/tern-vnet.$$.XXXXXX")
	trap topo_cleanup EXIT
	topo_ns_add ul
	ip netns exec "$TOPO_P-ul" sysctl -qw net.ipv4.ip_forward=0
}

# Dump daemon logs when a test fails, so the reason is in the CTest output.
topo_dump_logs() {
	local f
	for f in "$TOPO_DIR"/h*/vnetd.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 25 lines)" >&2
		tail -n 25 "$f" >&2
	done
}

topo_cleanup() {
	local rc=$? p n
	set +e
	[ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "$TOPO_DIR" ] && topo_dump_logs
	for p in "${TOPO_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for n in "${!TOPO_VNETD_PID[@]}"; do
		topo_vnetd_stop "$n"
	done
	for p in "${TOPO_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	# A sanitizer build of vnetd reports into its log (leaks at exit).
	if [ $rc -ne 77 ] && [ -n "$TOPO_DIR" ] &&
		grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TOPO_DIR"/h*/vnetd.log 2>/dev/null; then
		echo "FAIL: sanitizer report in the vnetd logs above:" >&2
		grep -h -A 12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TOPO_DIR"/h*/vnetd.log | head -60 >&2
		rc=1
	fi
	for ((p = ${#TOPO_NS[@]} - 1; p >= 0; p--)); do
		ip netns del "${TOPO_NS[p]}" 2>/dev/null
	done
	[ -n "$TOPO_DIR" ] && rm -rf "$TOPO_DIR"
	exit $rc
}

topo_ns() { echo "$TOPO_P-$1"; }

# topo_ns_add NAME: a namespace without IPv6 (no ND/MLD noise in counts).
topo_ns_add() {
	local ns="$TOPO_P-$1"
	ip netns add "$ns"
	TOPO_NS+=("$ns")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
}

# topo_exec NAME cmd...: run in namespace NAME (h1, r, ul, g11...).
topo_exec() {
	local ns="$TOPO_P-$1"
	shift
	ip netns exec "$ns" "$@"
}

# topo_subnet S: underlay bridge ulS (created once). Multicast snooping off:
# without a querier the bridge would age group memberships out mid-test.
topo_subnet() {
	local s=$1 ul="$TOPO_P-ul"
	ip -n "$ul" link show "ul$s" >/dev/null 2>&1 && return 0
	ip -n "$ul" link add "ul$s" type bridge mcast_snooping 0 stp_state 0
	ip -n "$ul" link set "ul$s" up
}

# topo_host N [S]: namespace hN with eth0 = 10.0.S.N/24 on bridge ulS,
# default route via the router's leg 10.0.S.254.
topo_host() {
	local n=$1 s=${2:-1} ul="$TOPO_P-ul" h
	h="$TOPO_P-h$n"
	topo_subnet "$s"
	topo_ns_add "h$n"
	TOPO_HOST_SUBNET[$n]=$s
	ip link add eth0 netns "$h" type veth peer name "h$n" netns "$ul"
	ip -n "$ul" link set "h$n" master "ul$s" up
	ip -n "$h" addr add "10.0.$s.$n/24" dev eth0
	ip -n "$h" link set eth0 up
	ip -n "$h" route add default via "10.0.$s.254"
	mkdir -p "$TOPO_DIR/h$n/run" "$TOPO_DIR/h$n/state"
}

topo_host_addr() { echo "10.0.${TOPO_HOST_SUBNET[$1]}.$1"; }

# topo_router S...: namespace r with a leg 10.0.S.254 on each subnet. The
# kernel forwards unicast; with no multicast routes nothing else crosses.
topo_router() {
	local r="$TOPO_P-r" ul="$TOPO_P-ul" s
	topo_ns_add r
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	for s in "$@"; do
		topo_subnet "$s"
		ip link add "eth$s" netns "$r" type veth peer name "r$s" netns "$ul"
		ip -n "$ul" link set "r$s" master "ul$s" up
		ip -n "$r" addr add "10.0.$s.254/24" dev "eth$s"
		ip -n "$r" link set "eth$s" up
	done
}

# topo_vnetd_conf N [extra sxp lines]: write hN's vnetd config.
topo_vnetd_conf() {
	local n=$1 d="$TOPO_DIR/h$1"
	shift
	{
		echo "(multicast-address 224.10.0.1)"
		echo "(port 1798)"
		echo "(underlay-interface eth0)"
		echo "(underlay-address $(topo_host_addr "$n"))"
		echo "(control-socket $d/run/vnetd.sock)"
		echo "(runtime-dir $d/run)"
		echo "(state-dir $d/state)"
		echo "(log-level debug)"
		local l
		for l in "$@"; do echo "$l"; done
	} >"$d/vnetd.sxp"
}

# topo_vn N args...: vn against hN's daemon.
topo_vn() {
	local n=$1
	shift
	"$VN" -s "$TOPO_DIR/h$n/run/vnetd.sock" "$@"
}

# topo_vnetd_start N: start vnetd in hN (config written on first start) and
# wait until it answers vnet-list (bounded: 10 s).
topo_vnetd_start() {
	local n=$1 d="$TOPO_DIR/h$1" i
	[ -f "$d/vnetd.sxp" ] || topo_vnetd_conf "$n"
	ip netns exec "$TOPO_P-h$n" "$VNETD" -c "$d/vnetd.sxp" -f \
		--log-level debug >>"$d/vnetd.log" 2>&1 &
	TOPO_VNETD_PID[$n]=$!
	for ((i = 0; i < 100; i++)); do
		topo_vn "$n" vnet-list >/dev/null 2>&1 && return 0
		kill -0 "${TOPO_VNETD_PID[$n]}" 2>/dev/null ||
			topo_fail "h$n: vnetd exited at start-up"
		sleep 0.1
	done
	topo_fail "h$n: vnetd not ready after 10 s"
}

# topo_vnetd_stop N [SIGNAL]: stop hN's vnetd and wait for it (bounded).
topo_vnetd_stop() {
	local n=$1 sig=${2:-TERM} pid=${TOPO_VNETD_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	{
		kill -"$sig" "$pid" || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		if kill -0 "$pid"; then kill -KILL "$pid"; fi
		wait "$pid" || true
	} 2>/dev/null # bash's "Killed" notice is expected here
	unset "TOPO_VNETD_PID[$n]"
}

# topo_key FILE: a fresh 0600 vnet key written by vn key-gen.
topo_key() {
	"$VN" key-gen "$1" >/dev/null || topo_fail "vn key-gen $1 failed"
	[ "$(stat -c %a "$1")" = 600 ] || topo_fail "$1: mode $(stat -c %a "$1"), want 600"
}

# topo_vnet_file FILE ID SECURITY [KEYFILE [SUITE [EXTRA]]]: EXTRA is more
# sxp keys, e.g. "(mac-max 1024)".
topo_vnet_file() {
	local f=$1 id=$2 sec=$3 key=${4:-} suite=${5:-} extra=${6:-}
	{
		printf '(vnet (id %s) (bridge vnet%s) (vnetif vnif%s) (security %s)' \
			"$id" "$id" "$id" "$sec"
		[ -n "$suite" ] && printf ' (esp-suite %s)' "$suite"
		[ -n "$key" ] && printf ' (key-file %s)' "$key"
		[ -n "$extra" ] && printf ' %s' "$extra"
		printf ' (mtu 1400))\n'
	} >"$f"
}

# topo_vnet_addr N ID [NET]: host N's address NET.N/24 (default net
# 10.97.0) on bridge vnetID.
topo_vnet_addr() {
	topo_exec "h$1" ip addr add "${3:-10.97.0}.$1/24" dev "vnet$2"
	topo_exec "h$1" ip link set "vnet$2" up
}

# topo_guest NAME N ID MAC IP: namespace gNAME whose eth0 (MAC, IP/24) is a
# veth whose other end gvNAME sits on hN's bridge vnetID. Like a resumed
# guest it sends a gratuitous ARP once its link is up, so that the bridge
# learns its MAC.
topo_guest() {
	local g=$1 n=$2 id=$3 mac=$4 ipa=$5 gns="$TOPO_P-g$1" h="$TOPO_P-h$2" i
	topo_ns_add "g$g"
	TOPO_GUEST_HOST[$g]=$n
	ip link add eth0 netns "$gns" address "$mac" mtu 1400 type veth \
		peer name "gv$g" netns "$h" mtu 1400
	ip -n "$h" link set "gv$g" master "vnet$id" up
	ip -n "$gns" addr add "$ipa/24" dev eth0
	ip -n "$gns" link set eth0 up
	for ((i = 0; i < 50; i++)); do
		[ "$(ip netns exec "$gns" cat /sys/class/net/eth0/operstate)" = up ] && break
		sleep 0.02
	done
	# arping sends at once, then lingers a second for replies that never
	# come to an unsolicited ARP: leave it in the background.
	ip netns exec "$gns" arping -q -U -c 1 -I eth0 "$ipa" &
	TOPO_PIDS+=($!)
	TOPO_GUEST_ARPING[$g]=$!
}

# topo_guest_del NAME: the guest leaves. Its veth pair is deleted first:
# a namespace's links vanish only when the kernel gets round to it, after
# `ip netns del` has returned, and the name may be reused at once.
topo_guest_del() {
	local gns="$TOPO_P-g$1" i
	topo_bg_stop "${TOPO_GUEST_ARPING[$1]}"
	unset "TOPO_GUEST_ARPING[$1]"
	ip -n "$TOPO_P-h${TOPO_GUEST_HOST[$1]}" link del "gv$1"
	unset "TOPO_GUEST_HOST[$1]"
	ip netns del "$gns"
	for ((i = 0; i < ${#TOPO_NS[@]}; i++)); do
		[ "${TOPO_NS[i]}" = "$gns" ] && unset "TOPO_NS[i]"
	done
	TOPO_NS=("${TOPO_NS[@]}")
}

# topo_wait_ping NS DST [SECONDS]: bounded wait until one ping passes.
topo_wait_ping() {
	local ns=$1 dst=$2 secs=${3:-10} end
	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt "$end" ]; do
		topo_exec "$ns" ping -n -q -c 1 -W 1 "$dst" >/dev/null 2>&1 && return 0
	done
	return 1
}

# topo_ping_count NS DST COUNT [ping args]: prints how many replies came back.
topo_ping_count() {
	local ns=$1 dst=$2 c=$3
	shift 3
	topo_exec "$ns" ping -n -q -c "$c" -i 0.2 -W 1 "$@" "$dst" 2>/dev/null |
		sed -n 's/.* \([0-9]\+\) received.*/\1/p'
}

# topo_stat N VNET FIELD: one stats counter ("*" is the global entry).
topo_stat() {
	topo_vn "$1" --json stats | jq -r --arg v "$2" --arg f "$3" \
		'.[] | select(.vnet == $v) | .[$f]'
}

# topo_drops N: the sum of every drop_* counter over all entries.
topo_drops() {
	topo_vn "$1" --json stats |
		jq '[.[] | to_entries[] | select(.key | startswith("drop_")) | .value] | add'
}

# topo_capture NS IFACE FILE [filter...]: background tcpdump, returns once
# it is listening (bounded: 5 s). Packets are written as they arrive (-U).
topo_capture() {
	local ns=$1 ifc=$2 f=$3 i
	shift 3
	# ip execs tcpdump, so $! is tcpdump itself (a subshell would ignore
	# signals meant for it).
	ip netns exec "$TOPO_P-$ns" tcpdump -Z root -U --immediate-mode -n -i "$ifc" -w "$f" \
		"$@" 2>"$f.err" &
	TOPO_PIDS+=($!)
	# shellcheck disable=SC2034 # the caller stops it
	TOPO_CAPTURE_PID=$!
	for ((i = 0; i < 50; i++)); do
		grep -q "listening on" "$f.err" 2>/dev/null && return 0
		sleep 0.1
	done
	topo_fail "tcpdump on $ns/$ifc not listening: $(cat "$f.err")"
}

# topo_capture_stop PID: stop a capture and wait for it to flush.
topo_capture_stop() {
	topo_bg_stop "$1"
}

# topo_bg_stop PID: stop one background helper, wait, and forget it.
topo_bg_stop() {
	local i
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for ((i = 0; i < ${#TOPO_PIDS[@]}; i++)); do
		[ "${TOPO_PIDS[i]}" = "$1" ] && unset "TOPO_PIDS[i]"
	done
	TOPO_PIDS=("${TOPO_PIDS[@]}")
}

# topo_pcap_count PCAP HEX [tcpdump filter]: how many packets contain the
# byte string HEX (at a byte boundary).
topo_pcap_count() {
	local f=$1 pat=$2
	shift 2
	tcpdump -r "$f" -n -x "$@" 2>/dev/null | awk -v pat="$pat" '
		function flush(   k, off) {
			for (off = 0; (k = index(substr(hex, off + 1), pat)) > 0; off += k)
				if ((off + k) % 2 == 1) { n++; break }
			hex = ""
		}
		/^\t0x/ { for (k = 2; k <= NF; k++) hex = hex $k; next }
		{ flush() }
		END { flush(); print n + 0 }'
}

# topo_udp_payloads PCAP [tcpdump filter]: one line per UDP packet,
# "SRC DST PAYLOAD-HEX", read with tcpdump (no tshark needed).
topo_udp_payloads() {
	local f=$1
	shift
	tcpdump -r "$f" -n -x "$@" 2>/dev/null | awk '
		function flush() {
			if (hex == "") return
			ihl = substr(hex, 2, 1); ihl = index("0123456789abcdef", ihl) - 1
			if (substr(hex, 19, 2) == "11") {
				src = ip(substr(hex, 25, 8)); dst = ip(substr(hex, 33, 8))
				print src, dst, substr(hex, ihl * 8 + 17)
			}
			hex = ""
		}
		function ip(h,   s, k) {
			s = ""
			for (k = 1; k <= 8; k += 2)
				s = s (k > 1 ? "." : "") \
				    (index("0123456789abcdef", substr(h, k, 1)) - 1) * 16 + \
				    index("0123456789abcdef", substr(h, k + 1, 1)) - 1
			return s
		}
		/^\t0x/ { for (k = 2; k <= NF; k++) hex = hex $k; next }
		{ flush() }
		END { flush() }'
}
