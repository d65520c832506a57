# shellcheck shell=bash
# Shared helpers for the hypervisor integration tests (10_*.sh .. 17_*.sh):
# the root and /dev/kvm checks, where the vmm, vmmctl, test programs and
# guest images are, one temp dir removed on exit together with every vmm the
# test left running, bounded waits for console lines and process exits.
# Source it from a test; it starts nothing by itself.
#
#   test ── hv_vmm OUT ERR args ──> vmm (background, pid / pids)
#     │                               ├── stdout ──> OUT  (wait_for OUT REGEX)
#     │                               └── stderr ──> ERR
#     └── EXIT trap: hv_cleanup kills what still runs, removes $dir

# The tests read B, VMM, CTL, PROGS, G, dir, pid, pids and rc.
# shellcheck disable=SC2034
HV_DIR=""
pid=
pids=()

# hv_require [IMAGE]: SKIP (exit 77) without root or /dev/kvm -- the only
# reasons a test may skip; a missing vmm, vmmctl or guest image IMAGE (e.g.
# dirtier.elf) is a failure naming it. Then sets B (the build dir), VMM, CTL,
# PROGS and G (the guest image dir).
# shellcheck disable=SC2034
hv_require() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
	[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
	B=${TERN_BUILD:?TERN_BUILD not set}
	VMM=$B/hypervisor/vmm/vmm
	CTL=$B/hypervisor/vmm/vmmctl
	PROGS=$B/tests/progs
	G=$B/hypervisor/guest
	local f
	for f in "$VMM" "$CTL"; do
		[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
	done
	if [ $# -gt 0 ] && [ ! -f "$G/$1" ]; then
		echo "FAIL: guest image $G/$1 not built (configure with TERN_BUILD_GUESTS=ON)"
		exit 1
	fi
}

# hv_init TAG: makes $dir (/tmp/tern-hvTAG.PID.*) and installs the EXIT trap.
hv_init() {
	dir=$(mktemp -d "/tmp/tern-hv$1.$$.XXXXXX")
	HV_DIR=$dir
	trap hv_cleanup EXIT
}

# Stops every background job still running (the vmms) and removes $dir.
hv_cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -z "$HV_DIR" ] || rm -rf "$HV_DIR"
}

# fail MSG: prints FAIL and every out/err log in $dir, exits 1.
fail() {
	local f
	echo "FAIL: $*"
	for f in "$dir"/out "$dir"/err "$dir"/*.out "$dir"/*.err; do
		[ -f "$f" ] && { echo "  ${f##*/}:"; sed 's/^/  | /' "$f"; }
	done
	exit 1
}

# hv_config FILE KEY VALUE...: writes a domain config; numbers and lists
# ([...]) are written as they are, anything else quoted.
hv_config() {
	local file=$1
	shift
	: >"$file"
	while [ $# -ge 2 ]; do
		case $2 in
		'' | *[!0-9]*) case $2 in \[*) echo "$1 = $2" ;; *) echo "$1 = \"$2\"" ;; esac ;;
		*) echo "$1 = $2" ;;
		esac >>"$file"
		shift 2
	done
}

# hv_vmm OUT ERR ARGS...: starts the vmm in the background with stdin from
# /dev/null (OUT = ERR puts both in one file); sets pid, appends to pids.
hv_vmm() {
	local out=$1 err=$2
	shift 2
	if [ "$out" = "$err" ]; then
		"$VMM" "$@" </dev/null >"$out" 2>&1 &
	else
		"$VMM" "$@" </dev/null >"$out" 2>"$err" &
	fi
	pid=$!
	pids+=("$pid")
}

# wait_for FILE REGEX TENTHS: polls until REGEX appears in FILE.
wait_for() {
	for _ in $(seq "$3"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

# wait_exit PID TENTHS: waits for PID to end; sets rc to its exit status,
# returns 1 if it still runs.
# shellcheck disable=SC2034
wait_exit() {
	for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$1" 2>/dev/null && return 1
	rc=0
	wait "$1" || rc=$?
}
