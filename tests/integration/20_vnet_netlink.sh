#!/usr/bin/env bash
# libvnet netlink helpers against a real kernel: nl_link makes a bridge, a
# persistent TAP, an fd-held TAP and attaches a veth; `ip -d link` checks
# what it made; fdb_follow (through svc_nltool fdb-follow) must report the
# exact MAC of a host behind the veth as learned, a static entry added with
# `bridge fdb`, and their removal. Everything lives in two namespaces this
# test creates and always deletes.
#
#   netns $NS (tern-nl-$$)                        netns $NG (tern-nlg-$$)
#   +--------------------------------------+      +--------------------------+
#   | vnbr  bridge, mtu 1400, 10.253.0.1   |      |                          |
#   |  |-- vntap   persistent TAP          |      |                          |
#   |  |-- vnhold  TAP held by svc_nltool |      |                          |
#   |  `-- vnv0 ============ veth =================== vnv1 02:00:5e:00:53:01 |
#   +--------------------------------------+      |      10.253.0.2/24       |
#                                                 +--------------------------+
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces)"
	exit 77
fi
BUILD=${TERN_BUILD:-$(dirname "$0")/../../build}
TOOL=$BUILD/tests/progs/svc_nltool
if [ ! -x "$TOOL" ]; then
	echo "FAIL: $TOOL not built" >&2
	exit 1
fi

NS=tern-nl-$$
NG=tern-nlg-$$
GUEST_MAC=02:00:5e:00:53:01
STATIC_MAC=02:00:5e:00:53:99
TMP=$(mktemp -d /tmp/tern-nl-$$.XXXXXX)
PIDS=()

cleanup() {
	set +e
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NG" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

tool() { ip netns exec "$NS" "$TOOL" "$@"; }

# Waits up to 5 s for an exact line in a file.
wait_line() {
	local file=$1 line=$2
	for _ in $(seq 50); do
		grep -qxF -- "$line" "$file" && return 0
		sleep 0.1
	done
	echo "--- $file:" >&2
	cat "$file" >&2
	fail "no line '$line' in $file"
}

# Runs a tool command that must fail with exactly this message.
expect_error() {
	local want=$1
	shift
	if tool "$@" 2>"$TMP/err"; then
		fail "'$*' succeeded"
	fi
	[ "$(cat "$TMP/err")" = "svc_nltool: $want" ] ||
		fail "'$*': got '$(cat "$TMP/err")', want 'svc_nltool: $want'"
}

ip netns add "$NS"
ip netns add "$NG"
ip -n "$NS" link set lo up

# --- bridge and persistent TAP ---
tool bridge-add vnbr 1400
expect_error "bridge vnbr: create: File exists" bridge-add vnbr 1400
tool bridge-ensure vnbr 1400
ip -n "$NS" -d link show vnbr | grep -q " mtu 1400 " || fail "vnbr: mtu not 1400"
ip -n "$NS" -d link show vnbr | grep -qw "bridge" || fail "vnbr: not a bridge"

tool tap-add vntap
tool mtu vntap 1400
tool master vntap vnbr
tool up vnbr
tool up vntap
d=$(ip -n "$NS" -d link show vntap)
echo "$d" | grep -q "tun type tap" || fail "vntap: not a tap: $d"
echo "$d" | grep -q "persist on" || fail "vntap: not persistent: $d"
echo "$d" | grep -q " mtu 1400 " || fail "vntap: mtu: $d"
echo "$d" | grep -q " master vnbr " || fail "vntap: not on vnbr: $d"
echo "$d" | grep -q "bridge_slave" || fail "vntap: not a bridge port: $d"
[ "$(tool ports vnbr)" = "vntap" ] || fail "ports of vnbr: $(tool ports vnbr)"
TAP_MAC=$(ip -n "$NS" link show vntap | awk '/link\/ether/ {print $2}')
[ "$(tool info vntap)" = "kind=tun mtu=1400 master=vnbr up=1 mac=$TAP_MAC" ] ||
	fail "info vntap: $(tool info vntap)"
expect_error "tap vnbr: open: a bridge link has that name: File exists" tap-add vnbr
expect_error "link vntap: set mtu 70000: Invalid argument (mtu greater than device maximum)" \
	mtu vntap 70000

# --- the FDB follower, then a host behind a veth ---
ip netns exec "$NS" "$TOOL" fdb-follow vnbr 60 >"$TMP/fdb" &
PIDS+=($!)
wait_line "$TMP/fdb" "sync-end"
grep -qxF "add $TAP_MAC port vntap vlan 0 local" "$TMP/fdb" ||
	fail "first dump lacks vntap's own address: $(cat "$TMP/fdb")"

ip -n "$NS" link add vnv0 type veth peer name vnv1 netns "$NG"
tool master vnv0 vnbr
tool up vnv0
ip -n "$NS" addr add 10.253.0.1/24 dev vnbr
ip -n "$NG" link set vnv1 address "$GUEST_MAC"
ip -n "$NG" addr add 10.253.0.2/24 dev vnv1
ip -n "$NG" link set vnv1 up
ok=0
for _ in $(seq 20); do
	if ip netns exec "$NG" ping -c 1 -W 1 10.253.0.1 >/dev/null 2>&1; then
		ok=1
		break
	fi
done
[ $ok = 1 ] || fail "no ping through vnbr"
wait_line "$TMP/fdb" "add $GUEST_MAC port vnv0 vlan 0 learned"

bridge -n "$NS" fdb add "$STATIC_MAC" dev vnv0 master static
wait_line "$TMP/fdb" "add $STATIC_MAC port vnv0 vlan 0 static"
bridge -n "$NS" fdb del "$STATIC_MAC" dev vnv0 master
wait_line "$TMP/fdb" "del $STATIC_MAC port vnv0 vlan 0 static"

# The port leaves the bridge: the guest's entry goes with it.
tool nomaster vnv0
wait_line "$TMP/fdb" "del $GUEST_MAC port vnv0 vlan 0 learned"
[ "$(grep -c "^add $GUEST_MAC " "$TMP/fdb")" -ge 1 ] || fail "guest MAC never added"
[ "$(tool ports vnbr)" = "vntap" ] || fail "ports after detach: $(tool ports vnbr)"

# --- a TAP held by its fd goes away with the fd ---
ip netns exec "$NS" "$TOOL" tap-hold vnhold vnbr 60 >"$TMP/hold" &
hold=$!
PIDS+=($hold)
wait_line "$TMP/hold" "ready"
ip -n "$NS" -d link show vnhold | grep -q " master vnbr " || fail "vnhold not on vnbr"
ip -n "$NS" -d link show vnhold | grep -q "persist off" || fail "vnhold persistent"
kill -TERM "$hold"
wait "$hold" || fail "tap-hold exited with $?"
for _ in $(seq 50); do
	ip -n "$NS" link show vnhold >/dev/null 2>&1 || break
	sleep 0.1
done
ip -n "$NS" link show vnhold >/dev/null 2>&1 && fail "vnhold outlived its fd"

# --- teardown by the library ---
tool del vntap
tool del vnbr
expect_error "link vnbr: delete: No such device" del vnbr
ip -n "$NS" link show vntap >/dev/null 2>&1 && fail "vntap still there"
echo "PASS: 20_vnet_netlink"
