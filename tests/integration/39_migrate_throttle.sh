#!/usr/bin/env bash
# 39_migrate_throttle: a guest that dirties faster than the link carries
# (ws=256 MiB at 400 MiB/s over a 50 MiB/s cap) is throttled and still
# moves within a bounded time, with verify=ok on the other side; and after
# garbage at B's port 8002 (random bytes, a TLS session sending nonsense)
# the next real migration succeeds.
#
#   tvPID-h1 (A) 10.0.1.1 ── ul1 ── tvPID-h2 (B) 10.0.1.2
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq python3
mig_init
d=$TOPO_DIR
for n in 1 2; do
	mig_host "$n"
	mig_conf "$n" "(relocation-server yes)"
	mig_start "$n"
done

# resumed N DOM: DOM runs on hN with verify=ok and its counter advancing.
resumed() {
	local line i c
	mig_wait_running "$1" "$2" || topo_fail "$2 not running on h$1: $(mig_vm "$1" list -l)"
	for ((i = 0; i < 50; i++)); do
		line=$(mig_console "$1" "$2" 0.2 | grep -a '^dirtier: resumed ' | tail -n1)
		[ -n "$line" ] && break
		sleep 0.1
	done
	echo "$line" | grep -qE 'verify=ok' || topo_fail "$2 on h$1: $line"
	c=$(mig_counter "$1" "$2")
	sleep 1.2
	[ "$(mig_counter "$1" "$2")" -gt "$c" ] || topo_fail "$2 on h$1: counter not advancing"
}

topo_log "a guest dirtying 8x faster than the link"
mig_dom "$d/f39.cfg" f39 512 "ws=256 rate=400"
mig_vm 1 create "$d/f39.cfg" >/dev/null
for ((i = 0; i < 100; i++)); do mig_console 1 f39 0.1 | grep -aq '^dirtier: t=2 ' && break; sleep 0.1; done
t0=$(date +%s)
json=$(timeout 60 ip netns exec "$TOPO_P-h1" "$VMC" -s "$d/h1/run/migrated.sock" migrate --live f39 h2 --bandwidth 50 --json) ||
	topo_fail "throttled migration failed: $json"
t1=$(date +%s)
echo "$json"
echo "$json" | jq -e '.outcome == "ok" and .total_ms < 45000 and .rounds >= 2' >/dev/null ||
	topo_fail "throttled: $json"
[ $((t1 - t0)) -le 45 ] || topo_fail "took $((t1 - t0)) s"
resumed 2 f39
[ -z "$(mig_state 1 f39)" ] || topo_fail "f39 still on A"

topo_log "garbage at B's port, then a real migration"
D=$d topo_exec h1 python3 - <<'PY'
import os, socket, ssl
for n in (3, 4000, 100000):
    s = socket.create_connection(("10.0.1.2", 8002), timeout=3)
    try:
        s.sendall(os.urandom(n)); s.recv(100)
    except OSError:
        pass
    s.close()
d = os.environ["D"]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(d + "/ca/ca.pem")
ctx.load_cert_chain(d + "/h1/tls/host.pem", d + "/h1/tls/host.key")
s = ctx.wrap_socket(socket.create_connection(("10.0.1.2", 8002), timeout=3), server_hostname="h2")
s.sendall(os.urandom(3000))
try:
    s.recv(100)
except OSError:
    pass
s.close()
PY
kill -0 "${MIG_PID[2]}" || topo_fail "B's migrated died"
mig_dom "$d/g39.cfg" g39 128 "ws=32 rate=20"
mig_vm 1 create "$d/g39.cfg" >/dev/null
for ((i = 0; i < 100; i++)); do mig_console 1 g39 0.1 | grep -aq '^dirtier: t=1 ' && break; sleep 0.1; done
out=$(mig_vm 1 migrate --live g39 10.0.1.2) || topo_fail "migration after garbage: $out"
echo "$out"
resumed 2 g39
echo "PASS: throttled guest moved in $((t1 - t0)) s with verify=ok; after garbage the next migration succeeded"
