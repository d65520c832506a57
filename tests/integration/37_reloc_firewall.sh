#!/usr/bin/env bash
# 37_reloc_firewall: configs/iptables/relocation.rules, loaded with the
# cluster subnet substituted in B's namespace, lets 8002 in from the
# subnet and resets it for everyone else -- before TLS is spoken.
#
#   tvPID-h1 (A) 10.0.1.1 ─ ul1 ─┬─ tvPID-h2 (B) 10.0.1.2  relocation server,
#                                │     iptables-restore < relocation.rules
#                                └─ tvPID-r 10.0.1.254 / 10.0.2.254
#   tvPID-h3 (C) 10.0.2.3 ─ ul2 ─────┘  (outside the cluster subnet)
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq python3 iptables iptables-restore
rules="${TERN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/configs/iptables/relocation.rules"
[ -f "$rules" ] || topo_fail "missing: $rules"
mig_init
mig_host 1 1
mig_host 2 1
mig_host 3 2
topo_router 1 2
mig_conf 2 "(relocation-server yes)"
mig_start 2

# probe N: "open" if a TCP connection to B:8002 from hN succeeds,
# "reset" if it is refused (RST), "timeout" otherwise.
probe() {
	topo_exec "h$1" python3 -c '
import socket
try:
    socket.create_connection(("10.0.1.2", 8002), timeout=3).close(); print("open")
except ConnectionRefusedError: print("reset")
except OSError: print("timeout")'
}
[ "$(probe 1)" = open ] && [ "$(probe 3)" = open ] || topo_fail "without rules: h1 $(probe 1), h3 $(probe 3)"

# The shipped file, with this test's cluster subnet (10.0.1.0/24, as
# shipped) written in explicitly as an operator would.
sed 's#10\.0\.1\.0/24#10.0.1.0/24#' "$rules" | topo_exec h2 iptables-restore --noflush ||
	topo_fail "iptables-restore refused $rules"
topo_exec h2 iptables -S TERN-RELOCATION | grep -q -- '-s 10.0.1.0/24 -j ACCEPT' || topo_fail "rules not loaded"
[ "$(probe 1)" = open ] || topo_fail "from inside the subnet: $(probe 1)"
[ "$(probe 3)" = reset ] || topo_fail "from outside the subnet: $(probe 3)"
rejected=$(topo_exec h2 iptables -L TERN-RELOCATION -v -x -n | awk '/REJECT/ {print $1}')
[ "$rejected" -ge 1 ] || topo_fail "REJECT counter $rejected"
# Another subnet substituted: now h1 is outside and h3 inside.
topo_exec h2 iptables -F TERN-RELOCATION
topo_exec h2 iptables -D INPUT -p tcp --dport 8002 -j TERN-RELOCATION
topo_exec h2 iptables -X TERN-RELOCATION
sed 's#10\.0\.1\.0/24#10.0.2.0/24#' "$rules" | topo_exec h2 iptables-restore --noflush
[ "$(probe 1)" = reset ] && [ "$(probe 3)" = open ] || topo_fail "subnet 10.0.2.0/24: h1 $(probe 1), h3 $(probe 3)"
kill -0 "${MIG_PID[2]}" || topo_fail "B's migrated died"
echo "PASS: relocation.rules: inside the subnet open, outside reset ($rejected rejected), subnet substitution works"
