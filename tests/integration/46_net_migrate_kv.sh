#!/usr/bin/env bash
# 46_net_migrate_kv: the kv guest on vnet 97 (security auth) migrates
# h1 -> h2 -> h1 live while a Linux TCP client on h3 writes 10,000 keys
# over one connection (pipelined batches of 25, one batch per 10 ms): both
# migrations happen mid-stream; every write was acknowledged (OK), a new
# connection afterwards reads every key back with its value, COUNT is
# 10000, and the guest applied exactly 10,000 SETs (its console's sets=):
# none lost, none applied twice. Then vm save and vm restore: the
# restored domain gets its TAP back and serves every key. Layout:
# lib/cluster.sh.
set -eu
# shellcheck source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"

cluster_require
cluster_up auth
cluster_guest 1 k46 kv.elf 97 00:16:3e:46:00:11 10.97.0.11 128
topo_wait_ping h3 10.97.0.11 10 || topo_fail "h3 cannot ping the kv guest"

cat >"$TOPO_DIR/w.py" <<'PY'
import socket, sys, time
n, prog = int(sys.argv[1]), sys.argv[2]
f = socket.create_connection(("10.97.0.11", 7070), timeout=20).makefile("rwb")
def val(j):
    return b"value-%d-%s" % (j, b"m" * (j % 89))
acked, t = 0, time.monotonic()
for i in range(0, n, 25):
    reqs = [b"SET key%d %s\n" % (j, val(j)) for j in range(i, min(n, i + 25))]
    f.write(b"".join(reqs)); f.flush()
    for q in reqs:
        r = f.readline()
        if r != b"OK\n":
            sys.exit("SET %r: reply %r after %d acknowledged" % (q.split()[1], r, acked))
        acked += 1
    open(prog, "w").write("%d\n" % acked)
    t += 0.01
    time.sleep(max(0.0, t - time.monotonic()))
g = socket.create_connection(("10.97.0.11", 7070), timeout=20).makefile("rwb")
bad = 0
for i in range(0, n, 500):
    reqs = [b"GET key%d\n" % j for j in range(i, min(n, i + 500))]
    g.write(b"".join(reqs)); g.flush()
    bad += sum(1 for j in range(i, min(n, i + 500)) if g.readline() != b"VALUE " + val(j) + b"\n")
g.write(b"COUNT\n"); g.flush()
c = g.readline()
if bad or c != b"COUNT %d\n" % n:
    sys.exit("after the moves: %d of %d keys wrong, %r" % (bad, n, c))
print("ok %d acknowledged, all read back" % acked)
PY
ip netns exec "$TOPO_P-h3" timeout 90 python3 "$TOPO_DIR/w.py" 10000 "$TOPO_DIR/prog" \
	>"$TOPO_DIR/w.out" 2>&1 &
wpid=$!
TOPO_PIDS+=("$wpid")
# progress: writes acknowledged so far (0 before the first batch).
progress() { cat "$TOPO_DIR/prog" 2>/dev/null || echo 0; }
for ((i = 0; i < 100; i++)); do [ "$(progress)" -ge 1000 ] && break; sleep 0.1; done
p0=$(progress)
cluster_migrate 1 2 k46 | jq -c '{total_ms, downtime_ms}'
sleep 0.5
p1=$(progress)
cluster_migrate 2 1 k46 | jq -c '{total_ms, downtime_ms}'
p2=$(progress)
echo "acknowledged writes: $p0 before the first move, $p1 before the second, $p2 after it"
if [ "$p0" -eq 0 ] || [ "$p2" -ge 10000 ]; then topo_fail "the moves were not during the writes ($p0, $p2)"; fi
[ "$p1" -gt "$p0" ] || topo_fail "no writes acknowledged between the moves ($p0, $p1)"
rc=0
wait "$wpid" || rc=$?
topo_bg_stop "$wpid"
[ "$rc" = 0 ] || topo_fail "client (exit $rc): $(cat "$TOPO_DIR/w.out")"
cat "$TOPO_DIR/w.out"
for ((i = 0; i < 30; i++)); do
	line=$(mig_console 1 k46 0.2 | grep -a '^kv: keys=' | tail -n1)
	echo "$line" | grep -q '^kv: keys=10000 sets=10000 ' && break
	sleep 0.2
done
echo "$line" | grep -q '^kv: keys=10000 sets=10000 ' || topo_fail "guest counters: $line"

# vm save and vm restore: migrated makes the TAP again from the save
# file's config; the store answers on the vnet with every key.
mig_vm 1 save k46 "$TOPO_DIR/k46.save" >/dev/null || topo_fail "vm save"
mig_wait_state 1 k46 "" 50 || topo_fail "k46 still listed after save"
mig_vm 1 restore "$TOPO_DIR/k46.save" >/dev/null || topo_fail "vm restore"
topo_exec h1 ip -o link show master vnet97 | grep -q 'tern[0-9]*v0' ||
	topo_fail "no TAP on h1's vnet97 after restore: $(topo_exec h1 ip -o link show master vnet97)"
got=$(topo_exec h3 timeout 20 python3 -c '
import socket
f = socket.create_connection(("10.97.0.11", 7070), timeout=10).makefile("rwb")
f.write(b"COUNT\nGET key9999\n"); f.flush()
c, v = f.readline(), f.readline()
print(c.decode().strip(), "key9999", "ok" if v == b"VALUE value-9999-" + b"m" * (9999 % 89) + b"\n" else repr(v))' 2>&1) || true
[ "$got" = "COUNT 10000 key9999 ok" ] || topo_fail "after restore: $got"
echo "PASS: 10000 writes through two live migrations, all acknowledged and read back; $line; save+restore keeps the vif"
