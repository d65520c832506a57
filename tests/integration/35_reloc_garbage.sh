#!/usr/bin/env bash
# 35_reloc_garbage: what an outsider can throw at port 8002 never crashes
# migrated or leaves anything behind: random bytes, a truncated TLS
# ClientHello, connections that say nothing (more than the 8 pre-OFFER
# slots), and -- from a peer with a cluster certificate -- a TLS session
# that sends nonsense, an oversized length, and a truncated OFFER. After
# all that B's file descriptors are back to what they were and a real
# relocation request is still answered.
#
#   tvPID-h1 (A) 10.0.1.1 ── ul1 ── tvPID-h2 (B) 10.0.1.2, relocation server
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq openssl python3 timeout
mig_init
d=$TOPO_DIR
mig_host 1
mig_host 2
mig_conf 1
mig_conf 2 "(relocation-server yes)" "(domain-memory 32)"
mig_start 1
mig_start 2
bpid=${MIG_PID[2]}
# The migrated under `ip netns exec` is its child: find the daemon itself.
mpid=$(pgrep -f -n "$MIGD -f -c $d/h2/migrated.sxp")
fds0=$(ls "/proc/$mpid/fd" | wc -l)

topo_log "random bytes, a truncated ClientHello, idle connections"
topo_exec h1 python3 - <<'PY'
import os, socket, struct, time
def conn():
    s = socket.create_connection(("10.0.1.2", 8002), timeout=5)
    return s
for size in (1, 5, 300, 70000):
    s = conn()
    try:
        s.sendall(os.urandom(size))
        s.settimeout(5)
        s.recv(4096)
    except OSError:
        pass
    s.close()
# A TLS record header announcing a 512-byte ClientHello, then 60 bytes.
hello = bytes([0x16, 3, 1]) + struct.pack(">H", 512) + bytes([1, 0, 1, 0xfc]) + os.urandom(56)
s = conn(); s.sendall(hello); time.sleep(0.2); s.close()
# Twelve connections that say nothing: 8 take the pre-OFFER slots, the
# rest are closed at once by B.
idle = [conn() for _ in range(12)]
closed = 0
for s in idle:
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"":
            closed += 1
    except socket.timeout:
        pass
    except OSError:
        closed += 1
print("closed at accept:", closed)
assert closed >= 4, closed
for s in idle:
    s.close()
PY
kill -0 "$bpid" || topo_fail "B's migrated died on garbage"
mig_vm 2 list >/dev/null || topo_fail "B does not answer vm list"

topo_log "a TLS session with a cluster certificate that sends nonsense"
# Over TLS 1 from h1 with h1's cluster certificate (Python's ssl module):
# each payload, then our side of the connection is closed and what B says
# within 3 s is printed.
sleep 1.1 # B's warnings are rate-limited per second; start a fresh second
D=$d topo_exec h1 python3 - >"$d/tls.out" <<'PY'
import os, socket, ssl, struct
d = os.environ["D"]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(d + "/ca/ca.pem")
ctx.load_cert_chain(d + "/h1/tls/host.pem", d + "/h1/tls/host.key")
payloads = {
    "http": b"GET / HTTP/1.0\r\n\r\n",
    "huge": struct.pack("<II", 1, 0x7FFFFFFF),
    "short": struct.pack("<II6I", 1, 40, 1, 0, 16, 1, 3, 0) + b"ab",
    "accept": struct.pack("<IIII", 2, 8, 1, 9),
}
for name, p in payloads.items():
    raw = socket.create_connection(("10.0.1.2", 8002), timeout=3)
    s = ctx.wrap_socket(raw, server_hostname="10.0.1.2")
    s.sendall(p)
    if name == "short":
        s.shutdown(socket.SHUT_WR)  # a peer that goes away mid-OFFER
    got = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except (OSError, ssl.SSLError):
        pass
    if name != "short":
        print(name, "answer:", got[16:].decode("ascii", "replace"))
    s.close()
PY
cat "$d/tls.out"
grep -qx 'http answer: malformed relocation request: unknown message type 542393671' "$d/tls.out" || topo_fail "HTTP not refused"
grep -qx 'huge answer: malformed relocation request: OFFER: length 2147483647 > 16471' "$d/tls.out" || topo_fail "huge length not refused"
grep -qx 'accept answer: malformed relocation request: not one OFFER' "$d/tls.out" || topo_fail "ACCEPT from a client not refused"
mig_wait_log 2 'refused: malformed relocation request: unknown message type 542393671' 30 || topo_fail "HTTP refusal not logged"
mig_wait_log 2 'peer 10\.0\.1\.1:[0-9]+: (TLS read: .*unexpected eof|closed before its OFFER)' 30 ||
	topo_fail "truncated OFFER not ended"
kill -0 "$bpid" || topo_fail "B's migrated died on TLS nonsense"

topo_log "everything held is let go (pre-OFFER timeout 10 s)"
for ((i = 0; i < 150; i++)); do
	[ "$(ls "/proc/$mpid/fd" | wc -l)" -le "$fds0" ] && break
	sleep 0.1
done
fds1=$(ls "/proc/$mpid/fd" | wc -l)
[ "$fds1" -le "$fds0" ] || topo_fail "B holds $fds1 fds, $fds0 before: $(ls -l "/proc/$mpid/fd")"
[ "$(mig_count 2)" = 0 ] || topo_fail "B's registry: $(mig_vm 2 list)"

topo_log "a real relocation request is still answered"
mig_dom "$d/g35.cfg" g35 64 "ws=8 rate=5"
mig_vm 1 create "$d/g35.cfg" >/dev/null
rc=0; msg=$(mig_vm 1 migrate --live g35 h2 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: migrate g35 to h2:8002: refused: domain g35 needs 64 MiB, this host can give 32 MiB" ] ||
	topo_fail "after garbage: rc $rc: $msg"
[ "$(mig_state 1 g35)" = running ] || topo_fail "g35 not running on A"
echo "PASS: random bytes, truncated hello, 12 idle connections (slots bounded), TLS nonsense, huge length, truncated OFFER, ACCEPT from a client: B lives, fds back to $fds0, next request answered"
