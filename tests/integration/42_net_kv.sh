#!/usr/bin/env bash
# 42_net_kv: the kv guest serves a python3 client over TCP: 10,000 SETs
# (pipelined in batches of 500), then 10,000 GETs that must return every
# value, COUNT 10000, NOTFOUND for a key never set, ERR for a bad request;
# a second connection sees the same data; after a save and a restore every
# key is still there and new writes land. Then `port=` moves the service
# and the vmm gets its TAP as an open fd (--tap-fd), as migrated hands it.
#
#   namespace tn$$:  br0 10.97.0.1/24 ── tap0 ── vmm (kv.elf, 10.97.0.11:7070)
#                     ^ python3 client
set -eu
# shellcheck source=lib/hv.sh
. "$(dirname "$0")/lib/hv.sh"
# shellcheck source=lib/net.sh
. "$(dirname "$0")/lib/net.sh"

net_require kv.elf
net_init 42
name=nkv$$
net_cfg "$dir/k.cfg" "$name" kv.elf 128 "bridge=br0" "ip=10.97.0.11/24 gw=10.97.0.1"
net_vmm "$dir/k.out" "$dir/k.err" --config "$dir/k.cfg" --tap tap0 --control "$dir/k.sock"
wait_for "$dir/k.out" '^kv: ready tcp/7070$' 100 || fail "kv guest not ready"

cat >"$dir/kv.py" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
def conn():
    s = socket.create_connection(("10.97.0.11", port), timeout=10)
    return s.makefile("rwb")
def batch(f, reqs):
    f.write(b"".join(reqs)); f.flush()
    return [f.readline() for _ in reqs]
def val(j):
    return b"value-%d-%s" % (j, b"x" * (j % 97))
f = conn()
for i in range(0, n, 500):
    r = batch(f, [b"SET key%d %s\n" % (j, val(j)) for j in range(i, min(n, i + 500))])
    if any(x != b"OK\n" for x in r):
        sys.exit("SET batch %d: %r" % (i, [x for x in r if x != b"OK\n"][:3]))
g = conn()  # a second connection reads what the first wrote
bad = 0
for i in range(0, n, 500):
    r = batch(g, [b"GET key%d\n" % j for j in range(i, min(n, i + 500))])
    bad += sum(1 for j, x in zip(range(i, n), r) if x != b"VALUE " + val(j) + b"\n")
if bad:
    sys.exit("%d of %d GETs returned a wrong value" % (bad, n))
r = batch(g, [b"COUNT\n", b"GET never-set\n", b"FROB x\n", b"SET key0 changed\n", b"GET key0\n"])
want = [b"COUNT %d\n" % n, b"NOTFOUND\n", b"ERR unknown request\n", b"OK\n", b"VALUE changed\n"]
if r != want:
    sys.exit("replies %r, want %r" % (r, want))
print("ok")
PY
in_ns timeout 60 python3 "$dir/kv.py" 7070 10000 >"$dir/py.out" 2>&1 || fail "client: $(cat "$dir/py.out")"
wait_for "$dir/k.out" '^kv: keys=10000 sets=10001 gets=10002 conns=2$' 30 ||
	fail "kv counters: $(grep '^kv: keys' "$dir/k.out" | tail -n1)"
# Save and restore: no write is lost; the store serves on.
"$CTL" -s "$dir/k.sock" save "$dir/k.save" >/dev/null || fail "save"
wait_exit "$pid" 50 || fail "vmm did not exit after save"
net_vmm "$dir/r.out" "$dir/r.err" --restore "$dir/k.save" --tap tap0 --control "$dir/r.sock"
wait_for "$dir/r.err" 'vif 0: announced ' 50 || fail "restored vmm did not announce"
cat >"$dir/after.py" <<'PY'
import socket, sys
f = socket.create_connection(("10.97.0.11", 7070), timeout=10).makefile("rwb")
def val(j):
    return b"value-%d-%s" % (j, b"x" * (j % 97))
reqs = [b"COUNT\n", b"GET key0\n"] + [b"GET key%d\n" % j for j in range(1, 10000, 7)] + [b"SET new 1\n", b"COUNT\n"]
f.write(b"".join(reqs)); f.flush()
r = [f.readline() for _ in reqs]
want = [b"COUNT 10000\n", b"VALUE changed\n"] + [b"VALUE " + val(j) + b"\n" for j in range(1, 10000, 7)] + [b"OK\n", b"COUNT 10001\n"]
bad = [(q, a, w) for q, a, w in zip(reqs, r, want) if a != w]
sys.exit("after restore: %d wrong replies, first %r" % (len(bad), bad[:1]) if bad else 0)
PY
in_ns timeout 30 python3 "$dir/after.py" >"$dir/after.out" 2>&1 || fail "$(cat "$dir/after.out")"
"$CTL" -s "$dir/r.sock" destroy >/dev/null || fail "destroy"
wait_exit "$pid" 50 || fail "vmm did not exit"

# port= moves the service; this time the TAP comes as an open fd (--tap-fd).
net_vmm_fd "$dir/p.out" "$dir/p.err" tap0 --config "$dir/k.cfg" \
	"extra=ip=10.97.0.11/24 port=7171"
wait_for "$dir/p.out" '^kv: ready tcp/7171$' 100 || fail "kv guest on port 7171 not ready"
in_ns timeout 30 python3 "$dir/kv.py" 7171 10 >"$dir/py2.out" 2>&1 || fail "client on 7171: $(cat "$dir/py2.out")"
echo "PASS: 10000 keys written and read back intact, kept across save/restore, COUNT/NOTFOUND/ERR, port=7171 over --tap-fd"
