# shellcheck shell=bash
# Helpers for the guest-network tests (40_*.sh .. 44_*.sh), on top of hv.sh:
# one network namespace per test holding a bridge with the host's address
# and one persistent TAP per guest on it, made through libsvc's nl_link
# (tests/progs/svc_nltool); the vmm runs inside the namespace with
# `--tap NAME`. Nothing touches this machine's own interfaces.
#
#   namespace tn<PID>:  br0 10.97.0.1/24 ── tap0 ── vmm (guest 10.97.0.11)
#                                       └─ tap1 ── vmm ...
#
# net_init TAG installs the EXIT trap (net_cleanup: the namespace, then
# hv_cleanup: the vmms and $dir).

NET_NS=""

# net_require IMAGE TOOL...: hv_require IMAGE, plus the tools the test uses
# (a missing one is a failure naming it) and svc_nltool.
net_require() {
	hv_require "$1"
	shift
	local t
	for t in ip python3 "$@"; do
		command -v "$t" >/dev/null || { echo "FAIL: $t not installed (scripts/deps)"; exit 1; }
	done
	NLTOOL=$PROGS/svc_nltool
	[ -x "$NLTOOL" ] || { echo "FAIL: $NLTOOL not built"; exit 1; }
	[ -c /dev/net/tun ] || { echo "FAIL: /dev/net/tun missing"; exit 1; }
}

net_cleanup() {
	[ -z "$NET_NS" ] || ip netns del "$NET_NS" 2>/dev/null || true
	hv_cleanup
}

# net_init TAG [NTAPS]: $dir, the namespace $NET_NS with br0 = 10.97.0.1/24
# and tap0..tap(N-1) on it, all up.
net_init() {
	hv_init "$1"
	NET_NS=tn$$
	trap net_cleanup EXIT
	ip netns add "$NET_NS"
	in_ns ip link set lo up
	# No IPv6 chatter (router solicitations, MLD) in the guests' counters.
	in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	in_ns "$NLTOOL" bridge-add br0 1500 >/dev/null
	local i
	for i in $(seq 0 $((${2:-1} - 1))); do
		in_ns "$NLTOOL" tap-add "tap$i" >/dev/null
		in_ns "$NLTOOL" master "tap$i" br0 >/dev/null
		in_ns "$NLTOOL" up "tap$i" >/dev/null
	done
	in_ns "$NLTOOL" up br0 >/dev/null
	in_ns ip addr add 10.97.0.1/24 dev br0
}

# in_ns CMD...: runs CMD in the test's namespace.
in_ns() {
	ip netns exec "$NET_NS" "$@"
}

# net_vmm OUT ERR ARGS...: hv_vmm inside the namespace.
net_vmm() {
	local out=$1 err=$2
	shift 2
	ip netns exec "$NET_NS" "$VMM" "$@" </dev/null >"$out" 2>"$err" &
	pid=$!
	pids+=("$pid")
}

# net_vmm_fd OUT ERR TAP ARGS...: like net_vmm, but the TAP is opened here
# (python3: /dev/net/tun, TUNSETIFF) and handed over as fd 5, the way
# migrated passes one: `vmm --tap-fd 5 ARGS...`.
net_vmm_fd() {
	local out=$1 err=$2 tap=$3
	shift 3
	ip netns exec "$NET_NS" python3 -c '
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x1002))  # TUNSETIFF, IFF_TAP|IFF_NO_PI
os.dup2(fd, 5)
os.close(fd)
os.execv(sys.argv[2], [sys.argv[2], "--tap-fd", "5"] + sys.argv[3:])
' "$tap" "$VMM" "$@" </dev/null >"$out" 2>"$err" &
	pid=$!
	pids+=("$pid")
}

# net_cfg FILE NAME IMAGE MiB VIF EXTRA: a one-vif domain (VIF e.g.
# 'bridge=br0' or 'mac=00:16:3e:..., bridge=br0').
net_cfg() {
	hv_config "$1" name "$2" kernel "$G/$3" memory "$4" vif "[ '$5' ]" extra "$6"
}
