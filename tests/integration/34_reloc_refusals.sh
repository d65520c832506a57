#!/usr/bin/env bash
# 34_reloc_refusals: every way a relocation request is refused before any
# of the domain moves, each with a clear one-line reason on the source, the
# domain still running there and nothing left on the destination; and
# what `openssl s_client` sees at B's port 8002.
#
#   tvPID-h1 (A) 10.0.1.1 ─┐                ┌─ tvPID-h2 (B) 10.0.1.2
#     migrated, d34        ├── ul1 bridge ──┤    migrated, relocation server
#   tvPID-h3 (C) 10.0.1.3 ─┘                     (restarted per case)
#     migrated with a certificate of another CA, c34
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq openssl timeout
mig_init
d=$TOPO_DIR
for n in 1 2 3; do mig_host "$n"; done
echo "10.0.1.2 h2alias" >>"/etc/netns/$TOPO_P-h1/hosts"
# C's own certificate comes from another CA; it trusts the cluster's.
"$VMC" cert ca --out "$d/ca2" >/dev/null
"$VMC" cert host --ca "$d/ca2" --name h3 --ip 10.0.1.3 --out "$d/h3/tls" >/dev/null
mig_conf 1
mig_conf 3
mig_start 1
mig_start 3
mig_dom "$d/d34.cfg" d34 64 "ws=8 rate=5"
mig_vm 1 create "$d/d34.cfg" >/dev/null
mig_vm 3 create "$d/d34.cfg" name=c34 >/dev/null

# b_conf LINES...: B with the relocation server on plus LINES, (re)started.
b_conf() {
	mig_stop 2
	mig_conf 2 "$@"
	mig_start 2
}

# refused HOST WANT [N]: migrating d34 (c34 from h3 when N=3) to HOST fails
# with exit 1 and exactly WANT; the domain runs on; B holds no new entry.
refused() {
	local host=$1 want=$2 n=${3:-1} dom=d34 rc=0 msg before
	[ "$n" = 3 ] && dom=c34
	before=$(mig_count 2 2>/dev/null || echo 0)
	msg=$(mig_vm "$n" migrate --live "$dom" "$host" 2>&1) || rc=$?
	[ $rc -eq 1 ] || topo_fail "migrate to $host: rc $rc, want 1: $msg"
	[ "$msg" = "$want" ] || topo_fail "migrate to $host said: $msg
  want: $want"
	[ "$(mig_state "$n" "$dom")" = running ] || topo_fail "$dom not running on h$n after: $msg"
	if [ -n "${MIG_PID[2]:-}" ]; then
		[ "$(mig_count 2)" = "$before" ] || topo_fail "B holds a new entry after: $msg"
		[ -z "$(mig_run_extra 2 'dom1.*')" ] ||
			topo_fail "B left files: $(mig_run_extra 2)"
	fi
	echo "ok: $msg"
}

topo_log "relocation server off (the default)"
mig_conf 2
mig_start 2
refused 10.0.1.2 "vm: migrate d34 to 10.0.1.2:8002: peer 10.0.1.2:8002: TLS handshake: Connection refused"

topo_log "hosts-allow matches neither A's address nor its name"
b_conf "(relocation-server yes)" "(relocation-hosts-allow '^10\.0\.1\.9\$ ^h9\$')"
refused h2 "vm: migrate d34 to h2:8002: refused: host 10.0.1.1 (h1) is not allowed by relocation-hosts-allow"

topo_log "hosts-allow matches A's reverse name; B lacks memory"
b_conf "(relocation-server yes)" "(relocation-hosts-allow '^h1\$ ^h3\$')" "(domain-memory 48)"
refused 10.0.1.2 "vm: migrate d34 to 10.0.1.2:8002: refused: domain d34 needs 64 MiB, this host can give 48 MiB"

topo_log "a domain of that name already on B"
b_conf "(relocation-server yes)"
mig_vm 2 create "$d/d34.cfg" memory=32 >/dev/null
refused h2 "vm: migrate d34 to h2:8002: refused: a domain named d34 already exists here (id 1)"

topo_log "the name used is not in B's certificate"
refused h2alias "vm: migrate d34 to h2alias:8002: peer h2alias:8002: TLS handshake: error:0A000086:SSL routines::certificate verify failed (hostname mismatch)"

topo_log "C's client certificate is from another CA"
rc=0; msg=$(mig_vm 3 migrate c34 10.0.1.2 2>&1) || rc=$?
# TLS 1.3: the client's handshake ends before the server judges its
# certificate, so C sees B's alert or, if its OFFER crossed it, a reset.
[ $rc -eq 1 ] && echo "$msg" | grep -qE '^vm: migrate c34 to 10.0.1.2:8002: peer 10.0.1.2:8002: TLS (handshake|read|write): .*(unknown ca|alert|reset by peer)' ||
	topo_fail "other CA: rc $rc: $msg"
[ "$(mig_state 3 c34)" = running ] || topo_fail "c34 not running on C"
mig_wait_log 2 'peer 10\.0\.1\.3:[0-9]+: TLS handshake: .*certificate verify failed' 30 ||
	topo_fail "B did not log C's refused certificate"
echo "ok: $msg"

topo_log "openssl s_client against B's port"
sc() { # sc NS ARGS...: s_client that stays 1 s to read what B says
	local ns=$1
	shift
	(sleep 1) | timeout 10 ip netns exec "$TOPO_P-$ns" openssl s_client -connect 10.0.1.2:8002 \
		-CAfile "$d/ca/ca.pem" -verify_return_error "$@" 2>&1 || true
}
out=$(sc h1)
echo "$out" | grep -q 'alert certificate required' || topo_fail "no client certificate: $out"
out=$(sc h3 -cert "$d/h3/tls/host.pem" -key "$d/h3/tls/host.key")
echo "$out" | grep -q 'alert unknown ca' || topo_fail "other CA's certificate: $out"
out=$(sc h1 -cert "$d/h1/tls/host.pem" -key "$d/h1/tls/host.key")
echo "$out" | grep -q 'New, TLSv1.3, Cipher is' && echo "$out" | grep -q 'Verify return code: 0 (ok)' ||
	topo_fail "cluster certificate: $out"
! echo "$out" | grep -q 'alert' || topo_fail "cluster certificate got an alert: $out"
out=$(sc h1 -cert "$d/h1/tls/host.pem" -key "$d/h1/tls/host.key" -tls1_2)
echo "$out" | grep -qiE 'alert protocol version|no protocols available|wrong version' || topo_fail "TLS 1.2: $out"
kill -0 "${MIG_PID[2]}" || topo_fail "B's migrated died"
[ "$(mig_count 2)" = 1 ] || topo_fail "B's registry: $(mig_vm 2 list)"
c1=$(mig_counter 1 d34)
sleep 1.2
[ "$(mig_counter 1 d34)" -gt "$c1" ] || topo_fail "d34 stopped on A"
echo "PASS: refusals (server off, hosts-allow, memory, name, certificate name, other CA) exact; s_client: no cert and other CA refused, cluster cert TLS 1.3, TLS 1.2 refused"
