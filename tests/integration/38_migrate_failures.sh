#!/usr/bin/env bash
# 38_migrate_failures: a migration that fails before commit leaves the
# source running as if nothing happened and the destination clean (no
# process, socket, file or registry entry): the destination vmm killed
# mid-stream, the TCP path cut (iptables REJECT on A), one byte of the
# stream flipped by a proxy (TLS 2's record MAC), and `vm migrate-cancel`
# (while it runs, a second offer from h3 is refused: max-migrations 1).
# Then RUNNING cut after COMMIT: exit 3, A keeps it paused, B runs it.
#
#   tvPID-h1 (A) 10.0.1.1 ──┐            ┌── tvPID-h2 (B) 10.0.1.2
#     m38 (512 MiB)         ├── ul1 ─────┤
#   A's hosts file says h2p ┘            └── tvPID-h3 (P) 10.0.1.3: a TCP proxy
#   is 10.0.1.3 (P), which forwards to B:8002 and flips byte 20 MB of A's stream;
#   B's certificate also names h2p, so TLS 1 passes and TLS 2 must catch it.
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq python3 iptables
mig_init
d=$TOPO_DIR
for n in 1 2 3; do mig_host "$n"; done
echo "10.0.1.3 h2p" >>"/etc/netns/$TOPO_P-h1/hosts"
"$VMC" cert host --ca "$d/ca" --name h2 --ip 10.0.1.2 --out "$d/h2/tls" >/dev/null
# (vm cert host names one DNS name; h2p is checked as the DNS name below.)
"$VMC" cert host --ca "$d/ca" --name h2p --ip 10.0.1.2 --out "$d/h2/tls2" >/dev/null
mig_conf 1
mig_conf 2 "(relocation-server yes)"
mig_conf 3
mig_start 1
mig_start 2
mig_start 3
mig_dom "$d/m38.cfg" m38 512 "ws=256 rate=20"
mig_vm 1 create "$d/m38.cfg" >/dev/null
for ((i = 0; i < 100; i++)); do mig_console 1 m38 0.1 | grep -aq '^dirtier: t=2 ' && break; sleep 0.1; done

# start_mig HOST: a slow live migration in the background (out in $d/mig.out).
start_mig() {
	mig_vm 1 migrate --live m38 "$1" --bandwidth 40 >"$d/mig.out" 2>&1 &
	migpid=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(mig_state 2 m38)" = incoming ] && break
		sleep 0.1
	done
	[ "$(mig_state 2 m38)" = incoming ] || topo_fail "no incoming m38 on B: $(cat "$d/mig.out")"
	sleep 1
}

# failed_clean WHAT TENTHS: the migration ended with exit 1 naming the
# failure; A runs m38 on, its counter advancing; B is clean within TENTHS.
failed_clean() {
	local rc=0 c1 i
	wait "$migpid" || rc=$?
	[ $rc -eq 1 ] || topo_fail "$1: vm migrate exit $rc: $(cat "$d/mig.out")"
	grep -q 'the domain runs on here' "$d/mig.out" || topo_fail "$1: message: $(cat "$d/mig.out")"
	[ "$(mig_state 1 m38)" = running ] || topo_fail "$1: m38 on A: $(mig_vm 1 list -l)"
	c1=$(mig_counter 1 m38)
	sleep 1.2
	[ "$(mig_counter 1 m38)" -gt "$c1" ] || topo_fail "$1: A's m38 not advancing"
	for ((i = 0; i < $2; i++)); do
		[ "$(mig_count 2)" = 0 ] && ! pgrep -f "$d/h2/run/dom" >/dev/null &&
			[ -z "$(mig_run_extra 2)" ] && break
		sleep 0.1
	done
	[ "$(mig_count 2)" = 0 ] || topo_fail "$1: B's registry: $(mig_vm 2 list -l)"
	! pgrep -f "$d/h2/run/dom" >/dev/null || topo_fail "$1: a vmm left on B"
	[ -z "$(mig_run_extra 2)" ] || topo_fail "$1: files left on B: $(mig_run_extra 2)"
	echo "ok: $1: $(tail -n1 "$d/mig.out")"
}

topo_log "the destination vmm killed mid-stream"
start_mig h2
pkill -KILL -f "$d/h2/run/dom" || topo_fail "no incoming vmm on B to kill"
failed_clean "destination vmm killed" 50

topo_log "the TCP path cut (REJECT on A)"
start_mig h2
topo_exec h1 iptables -I OUTPUT -p tcp --dport 8002 -j REJECT --reject-with tcp-reset
failed_clean "path cut" 250
topo_exec h1 iptables -D OUTPUT -p tcp --dport 8002 -j REJECT --reject-with tcp-reset

topo_log "vm migrate-cancel mid-way (and a second offer meanwhile: max-migrations 1)"
mig_dom "$d/x38.cfg" x38 32 "ws=4 rate=5"
mig_vm 3 create "$d/x38.cfg" >/dev/null
start_mig h2
rc=0; msg=$(mig_vm 3 migrate x38 h2 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: migrate x38 to h2:8002: refused: 1 incoming migration(s) already running (max-migrations 1)" ] ||
	topo_fail "second offer: rc $rc: $msg"
[ "$(mig_state 3 x38)" = running ] || topo_fail "x38 not running on h3"
mig_vm 1 migrate-cancel m38 || topo_fail "migrate-cancel refused"
failed_clean "cancelled" 150
grep -qi 'cancel' "$d/mig.out" || topo_fail "cancel not named: $(cat "$d/mig.out")"
rc=0; msg=$(mig_vm 1 migrate-cancel m38 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$msg" = "vm: domain m38: not migrating" ] || topo_fail "second cancel: rc $rc: $msg"

topo_log "one byte flipped on the way"
mig_stop 3
mig_stop 2
cp "$d/h2/tls2/host.pem" "$d/h2/tls/host.pem"
cp "$d/h2/tls2/host.key" "$d/h2/tls/host.key"
mig_start 2
cat >"$d/proxy.py" <<'PY'
# proxy.py MODE: forwards one connection 10.0.1.3:8002 -> 10.0.1.2:8002.
# flip: flips byte 20 MB of A's stream. cut-running: once A has sent 1 MB,
# the destination's first message (READY) and A's next (COMMIT) pass; at
# the destination's next (RUNNING) both ends are cut before it passes.
import socket, sys, threading
FLIP = 20 * 1024 * 1024
mode = sys.argv[1]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.0.1.3", 8002)); ls.listen(4); ls.settimeout(60)
print("listening", flush=True)
lock = threading.Lock()
st = {"a2b": 0, "phase": 0}
def cut(*socks):
    for s in socks:
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def pipe(src, dst, a2b):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            with lock:
                if a2b:
                    if mode == "flip" and st["a2b"] <= FLIP < st["a2b"] + len(b):
                        i = FLIP - st["a2b"]
                        b = b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1:]
                        print("flipped byte", FLIP, flush=True)
                    st["a2b"] += len(b)
                    if st["phase"] == 1:
                        st["phase"] = 2
                        print("COMMIT passed", flush=True)
                elif mode == "cut-running" and st["a2b"] >= 1 << 20:
                    if st["phase"] == 0:
                        st["phase"] = 1
                        print("READY passed", flush=True)
                    elif st["phase"] == 2:
                        print("RUNNING held, cut", flush=True)
                        cut(src, dst)
                        break
            dst.sendall(b)
    except OSError:
        pass
    cut(src, dst)
c, _ = ls.accept()
u = socket.create_connection(("10.0.1.2", 8002))
t = threading.Thread(target=pipe, args=(u, c, False)); t.start()
pipe(c, u, True); t.join()
PY
# start_proxy MODE: the proxy in h3, listening before this returns.
start_proxy() {
	: >"$d/proxy.log"
	topo_exec h3 python3 "$d/proxy.py" "$1" >"$d/proxy.log" 2>&1 &
	proxypid=$!
	TOPO_PIDS+=("$proxypid")
	for ((i = 0; i < 100; i++)); do grep -q listening "$d/proxy.log" && break; sleep 0.1; done
	grep -q listening "$d/proxy.log" || topo_fail "the proxy did not start: $(cat "$d/proxy.log")"
}
start_proxy flip
rc=0; mig_vm 1 migrate --live m38 h2p >"$d/mig.out" 2>&1 || rc=$?
migpid=
[ $rc -eq 1 ] || topo_fail "flipped byte: exit $rc: $(cat "$d/mig.out")"
grep -q 'flipped byte' "$d/proxy.log" || topo_fail "the proxy flipped nothing: $(cat "$d/proxy.log" "$d/mig.out")"
( exit 1 ) & migpid=$!
failed_clean "byte flipped" 150
wait "$proxypid" 2>/dev/null || true

topo_log "RUNNING lost after COMMIT: ambiguous, never two running copies"
start_proxy cut-running
rc=0; mig_vm 1 migrate --live m38 h2p >"$d/mig.out" 2>&1 || rc=$?
cat "$d/proxy.log"
grep -q 'RUNNING held, cut' "$d/proxy.log" || topo_fail "the proxy did not cut at RUNNING: $(cat "$d/mig.out")"
[ $rc -eq 3 ] || topo_fail "ambiguous: exit $rc, want 3: $(cat "$d/mig.out")"
cat "$d/mig.out"
grep -q 'vm destroy m38' "$d/mig.out" && grep -q 'vm unpause m38' "$d/mig.out" ||
	topo_fail "the message does not name the commands: $(cat "$d/mig.out")"
[ "$(mig_state 1 m38)" = paused ] || topo_fail "A's m38 is not paused: $(mig_vm 1 list -l)"
mig_wait_state 2 m38 running 100 || topo_fail "B's m38 not running: $(mig_vm 2 list -l)"
p1=$(mig_counter 1 m38)
sleep 1.2
[ "$(mig_counter 1 m38)" = "$p1" ] || topo_fail "A's m38 runs: two running copies"
mig_console 2 m38 0.3 | grep -aq 'verify=ok' || topo_fail "B's m38 did not verify"
# It runs on B: the message says to destroy it here.
mig_vm 1 destroy m38
[ "$(mig_count 1)" = 0 ] || topo_fail "A's registry: $(mig_vm 1 list)"
echo "PASS: vmm killed, path cut, cancel, flipped byte: the source ran on each time, the destination clean; RUNNING lost: exit 3, A paused, B runs, destroy on A resolves it"
