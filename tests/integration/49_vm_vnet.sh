#!/usr/bin/env bash
# 49_vm_vnet: `vm vnet-create/vnet-delete/vnet-list` (xm's vnet-*) talk to
# vnetd's control socket directly, with the output, messages and exit
# codes of `vn vnet-*` ("vm:" in front instead of "vn:"). The socket comes
# from --vnetd-socket or the control-socket of --vnetd-config. migrated
# runs too and is never asked: with vnetd gone the vnet commands fail
# naming vnetd's socket while `vm list` still answers.
#
#   netns tvPID-h1 (eth0 10.0.1.1 on ul1)
#     vnetd    (h1/run/vnetd.sock)    <── vm --vnetd-socket ... vnet-*
#       └─ bridge vnet97 + TAP vnif97      vm --vnetd-config h1/vnetd.sxp vnet-*
#     migrated (h1/run/migrated.sock) <── vm -s ... list
set -eu
# shellcheck source=lib/mig.sh
. "$(dirname "$0")/lib/mig.sh"

mig_require jq
topo_require
mig_init
mig_host 1
topo_vnetd_start 1
mig_conf 1
mig_start 1
d=$TOPO_DIR
SOCK=$d/h1/run/vnetd.sock

# vm with the vnetd socket given, or found in vnetd's config; vn as the
# reference. All run inside h1, where the bridges are made.
vms() { mig_vm 1 --vnetd-socket "$SOCK" "$@"; }
vmc() { mig_vm 1 --vnetd-config "$d/h1/vnetd.sxp" "$@"; }
vn1() { topo_exec h1 "$VN" -s "$SOCK" "$@"; }

# run_rc VAR CMD...: CMD's stdout+stderr into VAR, its exit code into rc.
run_rc() {
	local -n out_=$1
	shift
	rc=0
	# shellcheck disable=SC2034 # a nameref: sets the caller's variable
	out_=$("$@" 2>&1) || rc=$?
}

# same_error WANT_RC ARGS...: `vm ARGS` and `vn ARGS` fail alike: both exit
# WANT_RC with the same one line but for the program's name.
same_error() {
	local want=$1 vm_msg vn_msg vm_rc
	shift
	run_rc vm_msg vms "$@"
	vm_rc=$rc
	run_rc vn_msg vn1 "$@"
	[ "$vm_rc" -eq "$want" ] && [ "$rc" -eq "$want" ] ||
		topo_fail "$*: vm exit $vm_rc, vn exit $rc, want $want: $vm_msg / $vn_msg"
	[ "$(printf '%s\n' "$vm_msg" | wc -l)" -eq 1 ] || topo_fail "$*: not one line: $vm_msg"
	[ "${vm_msg#vm: }" != "$vm_msg" ] || topo_fail "$*: no 'vm: ' in front: $vm_msg"
	[ "${vm_msg#vm: }" = "${vn_msg#vn: }" ] || topo_fail "$*: vm '$vm_msg', vn '$vn_msg'"
	echo "$vm_msg"
}

topo_log "help"
out=$(vms vnet-create --help) || topo_fail "vnet-create --help exit $?"
[ "$(head -n1 <<<"$out")" = "usage: vm [--vnetd-socket PATH | --vnetd-config FILE] vnet-create FILE" ] ||
	topo_fail "vnet-create --help: $out"
mig_vm 1 --help | grep -q '^  vnet-list \[-l\] \[--json\] ' || topo_fail "vm --help lacks vnet-list"

topo_log "empty list"
[ "$(vms vnet-list --json)" = "[]" ] || topo_fail "empty vnet-list: $(vms vnet-list --json)"

topo_log "create"
topo_vnet_file "$d/v97.sxp" 97 none
out=$(vms vnet-create "$d/v97.sxp") || topo_fail "vm vnet-create exit $?: $out"
[ -z "$out" ] || topo_fail "vnet-create printed: $out"
topo_exec h1 ip -o link show vnet97 | grep -q 'vnet97: <' || topo_fail "no bridge vnet97"
topo_exec h1 ip -o link show vnif97 | grep -q ' master vnet97 ' ||
	topo_fail "vnif97 not on vnet97: $(topo_exec h1 ip -o link show vnif97)"
want='[{"id":"97","bridge":"vnet97","vnetif":"vnif97","security":"none","suite":"none","mtu":1400}]'
[ "$(vn1 vnet-list --json)" = "$want" ] || topo_fail "vn vnet-list: $(vn1 vnet-list --json)"

topo_log "list: vm's output is vn's"
for args in "vnet-list --json" "vnet-list" "vnet-list -l" "vnet-list --long --json"; do
	# shellcheck disable=SC2086 # args are words
	a=$(vms $args) || topo_fail "vm --vnetd-socket $args exit $?"
	# shellcheck disable=SC2086
	b=$(vmc $args) || topo_fail "vm --vnetd-config $args exit $?"
	# shellcheck disable=SC2086
	c=$(vn1 $args) || topo_fail "vn $args exit $?"
	[ "$a" = "$c" ] && [ "$b" = "$c" ] || topo_fail "$args: vm '$a' / '$b', vn '$c'"
done
[ "$(vms vnet-list)" = "$(vms vnet-list -l)" ] || topo_fail "-l changed the listing"
[ "$(vms vnet-list | jq -R -s 'split("\n") | length')" -eq 2 ] ||
	topo_fail "text list: $(vms vnet-list)"
[ "$(vms vnet-list --json)" = "$want" ] || topo_fail "vm vnet-list --json: $(vms vnet-list --json)"

topo_log "errors"
msg=$(same_error 1 vnet-create "$d/v97.sxp"); echo "  $msg"
[ "$msg" = "vm: vnet 97: already exists" ] || topo_fail "duplicate: $msg"
msg=$(same_error 2 vnet-create "$d/none.sxp"); echo "  $msg"
[ "$msg" = "vm: vnet-create: $d/none.sxp: No such file or directory" ] || topo_fail "missing: $msg"
printf '(vnet (id 98) (mtu 99999))\n' >"$d/bad98.sxp"
msg=$(same_error 1 vnet-create "$d/bad98.sxp"); echo "  $msg"
[[ $msg == "vm: $d/bad98.sxp:1:"* ]] || topo_fail "bad definition: $msg"
topo_exec h1 ip link show vnet98 >/dev/null 2>&1 && topo_fail "vnet98 made from a bad file"
msg=$(same_error 2 vnet-delete 1/2); echo "  $msg"
[[ $msg == "vm: vnet-delete: vnet id '1/2': "* ]] || topo_fail "bad id: $msg"
msg=$(same_error 1 vnet-delete 99); echo "  $msg"
[[ $msg == "vm: vnet 99: "* ]] || topo_fail "unknown vnet: $msg"
# A usage error is its line, then the command's help on stderr.
run_rc msg vms vnet-delete
[ "$rc" -eq 2 ] && [ "$(head -n1 <<<"$msg")" = "vm: vnet-delete: wrong number of arguments" ] &&
	[ "$(sed -n 2p <<<"$msg")" = "usage: vm [--vnetd-socket PATH | --vnetd-config FILE] vnet-delete ID" ] ||
	topo_fail "no id: rc $rc: $msg"
run_rc msg mig_vm 1 --vnetd-config "$d/nope.sxp" vnet-list
[ "$rc" -eq 2 ] && [ "$msg" = "vm: $d/nope.sxp: No such file or directory" ] ||
	topo_fail "missing --vnetd-config: rc $rc: $msg"
[ "$(vn1 vnet-list --json)" = "$want" ] || topo_fail "the errors changed vnetd's vnets"

topo_log "delete"
out=$(vmc vnet-delete 97) || topo_fail "vm vnet-delete exit $?: $out"
[ -z "$out" ] || topo_fail "vnet-delete printed: $out"
for l in vnet97 vnif97; do
	topo_exec h1 ip link show "$l" >/dev/null 2>&1 && topo_fail "$l still there after delete"
done
[ "$(vn1 vnet-list --json)" = "[]" ] || topo_fail "vn vnet-list after delete: $(vn1 vnet-list --json)"
[ "$(vms vnet-list --json)" = "[]" ] || topo_fail "vm vnet-list after delete"

topo_log "vnetd not running"
# Killed, it leaves its socket: refused. Without the socket (as after a
# clean stop, which removes it; here removed by hand): no such file.
topo_vnetd_stop 1 KILL
[ -S "$SOCK" ] || topo_fail "killed vnetd removed its socket"
msg=$(same_error 3 vnet-list); echo "  $msg"
[ "$msg" = "vm: $SOCK: connect: Connection refused (is vnetd running?)" ] || topo_fail "killed: $msg"
rm -f "$SOCK"
run_rc msg vmc vnet-create "$d/v97.sxp"
[ "$rc" -eq 3 ] && [ "$msg" = "vm: $SOCK: connect: No such file or directory (is vnetd running?)" ] ||
	topo_fail "no vnetd: rc $rc: $msg"
# migrated was never needed and still answers.
[ "$(mig_count 1)" -eq 0 ] || topo_fail "vm list: $(mig_vm 1 list --json)"
echo "PASS: vm vnet-create/delete/list agree with vn, errors exact"
