#!/usr/bin/env bash
# vnetd basics: two hosts, one vnet (97, security none), ping both ways,
# vn vnet-list / stats in JSON, vnet-delete removes the bridge.
#
#   netns h1-$$                    netns ul-$$                   netns h2-$$
#  +----------------------+      +-------------+      +----------------------+
#  | vnet97 10.97.0.1/24  |      |             |      | vnet97 10.97.0.2/24  |
#  |   `- vnif97 (TAP)    |      |   br0       |      |   `- vnif97 (TAP)    |
#  |  vnetd               |      |  /     \    |      |  vnetd               |
#  | eth0 10.0.0.1/24 ----+------+-u1     u2---+------+---- eth0 10.0.0.2/24 |
#  +----------------------+      +-------------+      +----------------------+
#
# The underlay bridge lives in its own namespace and is never connected to
# this machine's interfaces; all traffic stays inside the namespaces.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root"
	exit 77
fi
# Only a missing root may skip; a missing device or binary is a failure.
if [ ! -c /dev/net/tun ]; then
	echo "FAIL: no /dev/net/tun"
	exit 1
fi
BUILD=${TERN_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
VNETD=$BUILD/vnetd/vnetd
VN=$BUILD/vnetd/vn
if [ ! -x "$VNETD" ] || [ ! -x "$VN" ] || [ ! -x "$BUILD/tests/progs/vnetd_ctl_garbage" ]; then
	echo "FAIL: vnetd, vn or vnetd_ctl_garbage not built in $BUILD"
	exit 1
fi

H1=h1-$$
H2=h2-$$
UL=ul-$$
T=$(mktemp -d /tmp/tern-21.XXXXXX)

cleanup() {
	set +e
	for h in h1 h2; do
		if [ -f "$T/$h/run/vnetd.pid" ]; then
			kill "$(cat "$T/$h/run/vnetd.pid")" 2>/dev/null
		fi
	done
	# Bounded wait for the daemons to go.
	for _ in $(seq 50); do
		[ -e "$T/h1/run/vnetd.pid" ] || [ -e "$T/h2/run/vnetd.pid" ] || break
		sleep 0.1
	done
	for h in h1 h2; do
		if [ -f "$T/$h/run/vnetd.pid" ]; then
			kill -9 "$(cat "$T/$h/run/vnetd.pid")" 2>/dev/null
		fi
	done
	ip netns del "$H1" 2>/dev/null
	ip netns del "$H2" 2>/dev/null
	ip netns del "$UL" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for h in h1 h2; do
		echo "--- $h log"
		cat "$T/$h/log" 2>/dev/null | tail -n 30
	done
	exit 1
}

ip netns add "$H1"
ip netns add "$H2"
ip netns add "$UL"
ip -n "$UL" link add br0 type bridge mcast_snooping 0
ip -n "$UL" link set br0 up
i=1
for h in "$H1" "$H2"; do
	ip -n "$UL" link add u$i type veth peer name eth0 netns "$h"
	ip -n "$UL" link set u$i master br0 up
	ip -n "$h" addr add 10.0.0.$i/24 dev eth0
	ip -n "$h" link set eth0 up
	ip -n "$h" link set lo up
	i=$((i + 1))
done

# One config, state dir and socket per host, all under $T.
for h in h1 h2; do
	mkdir -p "$T/$h"
	cat >"$T/$h/vnetd.sxp" <<EOF
(underlay-interface eth0)
(control-socket $T/$h/run/vnetd.sock)
(runtime-dir $T/$h/run)
(state-dir $T/$h/state)
(log-level debug)
EOF
done
cat >"$T/vnet97.sxp" <<EOF
(vnet (id 97) (security none))
EOF

"$VNETD" -c "$T/h1/vnetd.sxp" -n >/dev/null || fail "vnetd -n refused a good config"
echo "(port 70000)" >"$T/bad.sxp"
if "$VNETD" -c "$T/bad.sxp" -n 2>"$T/bad.err"; then
	fail "vnetd -n accepted port 70000"
fi
grep -q "^vnetd: $T/bad.sxp:1:" "$T/bad.err" || fail "no file:line:col in: $(cat "$T/bad.err")"

# -f keeps stderr for the log; the daemon writes its pid file when ready.
ip netns exec "$H1" "$VNETD" -f -c "$T/h1/vnetd.sxp" 2>"$T/h1/log" &
ip netns exec "$H2" "$VNETD" -f -c "$T/h2/vnetd.sxp" 2>"$T/h2/log" &
for h in h1 h2; do
	for _ in $(seq 100); do
		[ -S "$T/$h/run/vnetd.sock" ] && [ -f "$T/$h/run/vnetd.pid" ] && break
		sleep 0.05
	done
	[ -S "$T/$h/run/vnetd.sock" ] || fail "$h: vnetd did not start"
done

vn1() { ip netns exec "$H1" "$VN" -s "$T/h1/run/vnetd.sock" "$@"; }
vn2() { ip netns exec "$H2" "$VN" -s "$T/h2/run/vnetd.sock" "$@"; }

vn1 vnet-create "$T/vnet97.sxp" || fail "h1: vnet-create"
vn2 vnet-create "$T/vnet97.sxp" || fail "h2: vnet-create"
ip -n "$H1" addr add 10.97.0.1/24 dev vnet97
ip -n "$H2" addr add 10.97.0.2/24 dev vnet97

# A second create of the same vnet is refused with exit 1.
rc=0
vn1 vnet-create "$T/vnet97.sxp" 2>"$T/dup.err" || rc=$?
[ "$rc" -eq 1 ] || fail "duplicate vnet-create: exit $rc, want 1"
grep -q "vnet 97: already exists" "$T/dup.err" || fail "duplicate: $(cat "$T/dup.err")"

want='[{"id":"97","bridge":"vnet97","vnetif":"vnif97","security":"none","suite":"none","mtu":1400}]'
got=$(vn1 vnet-list --json)
[ "$got" = "$want" ] || fail "vnet-list: got $got"
[ "$(ip -n "$H1" -o link show vnif97 | grep -c 'master vnet97')" -eq 1 ] ||
	fail "vnif97 is not a port of vnet97"
for l in vnet97 vnif97; do
	ip -n "$H1" -o link show "$l" | grep -q '<[A-Z,_]*\bUP\b[A-Z,_]*> mtu 1400 ' ||
		fail "$l is not up with MTU 1400: $(ip -n "$H1" -o link show "$l")"
done

# Malformed control messages are refused, the daemon goes on.
ip netns exec "$H1" "$BUILD/tests/progs/vnetd_ctl_garbage" "$T/h1/run/vnetd.sock" ||
	fail "malformed control messages"
[ "$(vn1 vnet-list --json)" = "$want" ] || fail "vnet-list after malformed messages"

# Bounded: the first pings also make the bridges learn and VARP announce.
ok=0
for _ in $(seq 20); do
	if ip netns exec "$H1" ping -c 1 -W 1 10.97.0.2 >/dev/null 2>&1; then
		ok=1
		break
	fi
done
[ "$ok" -eq 1 ] || fail "h1 cannot ping 10.97.0.2"
ip netns exec "$H1" ping -c 3 -i 0.2 -W 2 10.97.0.2 >/dev/null || fail "ping h1 -> h2"
ip netns exec "$H2" ping -c 3 -i 0.2 -W 2 10.97.0.1 >/dev/null || fail "ping h2 -> h1"

# Stats: the vnet entry first, then "*"; both directions carried frames.
stats=$(vn1 stats --json)
first=${stats%%\},\{*}
case "$first" in
'[{"vnet":"97",'*) ;;
*) fail "stats: first entry is not vnet 97: $stats" ;;
esac
echo "$stats" | grep -q '{"vnet":"\*","frames_in":' || fail "stats: no global entry: $stats"
for k in frames_in frames_out bytes_in bytes_out; do
	n=$(echo "$first" | sed -n "s/.*\"$k\":\([0-9]*\).*/\1/p")
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "stats: $k is '${n}' in $first"
done
n=$(echo "$first" | sed -n 's/.*"drop_malformed":\([0-9]*\).*/\1/p')
[ "$n" = 0 ] || fail "stats: drop_malformed $n"

# VARP: h1 knows h2's bridge MAC at 10.0.0.2.
mac2=$(ip -n "$H2" -o link show vnet97 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
vn1 varp-list --json | grep -q "{\"vnet\":\"97\",\"mac\":\"$mac2\",\"addr\":\"10.0.0.2\",\"local\":false," ||
	fail "varp-list: $mac2 not at 10.0.0.2: $(vn1 varp-list --json)"

# Usage errors exit 2, an unreachable daemon 3.
rc=0
vn1 vnet-delete 0 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "vnet-delete 0: exit $rc, want 2"
rc=0
"$VN" -s "$T/nonexistent.sock" vnet-list 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "no daemon: exit $rc, want 3"
# sa-rekey: a clear vnet has no SA; an unknown vnet is named.
rc=0
vn1 sa-rekey 97 2>"$T/rekey.err" || rc=$?
[ "$rc" -eq 1 ] || fail "sa-rekey of a clear vnet: exit $rc, want 1"
grep -q "vnet 97: rekey: security none has no SA" "$T/rekey.err" || fail "sa-rekey 97: $(cat "$T/rekey.err")"
rc=0
vn1 sa-rekey 99 2>"$T/rekey.err" || rc=$?
[ "$rc" -eq 1 ] || fail "sa-rekey of no vnet: exit $rc, want 1"
grep -q "vnet 99: no such vnet" "$T/rekey.err" || fail "sa-rekey 99: $(cat "$T/rekey.err")"

vn1 vnet-delete 97 || fail "vnet-delete"
if ip -n "$H1" link show vnet97 >/dev/null 2>&1; then
	fail "vnet97 still exists after vnet-delete"
fi
if ip -n "$H1" link show vnif97 >/dev/null 2>&1; then
	fail "vnif97 still exists after vnet-delete"
fi
[ "$(vn1 vnet-list --json)" = "[]" ] || fail "vnet-list not empty after delete"
[ ! -e "$T/h1/state/vnetd/vnets/97.sxp" ] || fail "state file left after delete"
echo "PASS: 21_vnetd_basic"
