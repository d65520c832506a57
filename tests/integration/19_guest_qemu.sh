#!/usr/bin/env bash
# 19_guest_qemu: the guest images boot under a standard Multiboot loader.
#
#   qemu-system-x86_64 -enable-kvm -kernel <app>.elf -append "<cmdline>"
#   +------------------------------------------------------------------+
#   | SeaBIOS -> Multiboot loader -> rt_mb_entry32 (CPL0, 32-bit)      |
#   |   builds GDT/TSS/page tables, iretq -> rt_entry64 (CPL3, 64-bit) |
#   |   app prints on COM1 -----------------> serial.log (this test)   |
#   |   app halts -> isa-debug-exit 0xf4 ---> qemu exit = status*2+1   |
#   |   triple fault + -no-reboot ----------> qemu exit 0              |
#   +------------------------------------------------------------------+
#
# Checks the ELF layout the Multiboot a.out-kludge fields rely on and the ABI
# note, then boots rtcheck (the runtime's self-test), dirtier, regs, crash and
# dirtylog and asserts their console lines exactly.
# regs must give the same result under both loaders (QEMU and the vmm).
# No network is used.
set -eu

build=${TERN_BUILD:-}
[ -n "$build" ] || { echo "FAIL: TERN_BUILD not set"; exit 1; }
guests=$build/hypervisor/guest
qemu=$(command -v qemu-system-x86_64 || true)

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -c /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
# Only a missing root or /dev/kvm may skip; missing tools or images fail.
[ -n "$qemu" ] || { echo "FAIL: no qemu-system-x86_64 (scripts/deps installs it)"; exit 1; }
[ -f "$guests/dirtier.elf" ] || { echo "FAIL: guest images not built in $guests (TERN_BUILD_GUESTS=ON)"; exit 1; }
[ -x "$build/hypervisor/vmm/vmm" ] || { echo "FAIL: $build/hypervisor/vmm/vmm not built"; exit 1; }

dir=$(mktemp -d /tmp/tern-19-$$.XXXXXX)
qpid=
cleanup() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$dir"/*.log; do
		[ -f "$f" ] && { echo "--- $f"; cat "$f"; }
	done
	exit 1
}

# --- ELF layout --------------------------------------------------------------
# Prints "vaddr offset filesz memsz" per PT_LOAD.
loads() {
	readelf -lW "$1" | awk '$1 == "LOAD" { print $3, $2, $5, $6 }'
}

check_layout() {
	local elf=$1 name first_off first_va last_end last_bss va off fsz msz
	local hdr magic flags sum haddr laddr lend bend entry
	name=$(basename "$elf")
	readelf -hW "$elf" | grep -q 'Class:.*ELF64' || fail "$name: not ELF64"
	readelf -hW "$elf" | grep -q 'Type:.*EXEC' || fail "$name: not a static executable"
	first_off='' first_va='' last_end=0 last_bss=0
	while read -r va off fsz msz; do
		va=$((va)) off=$((off)) fsz=$((fsz)) msz=$((msz))
		[ "$va" -ge $((0x200000)) ] || fail "$name: PT_LOAD at $va below 2 MiB"
		if [ -z "$first_va" ]; then
			first_va=$va first_off=$off
		fi
		# The file must be a linear copy of memory from the first segment on.
		[ $((off - first_off)) -eq $((va - first_va)) ] ||
			fail "$name: PT_LOAD at $va not at a linear file offset"
		last_end=$((va + fsz)) last_bss=$((va + msz))
	done < <(loads "$elf")
	[ -n "$first_va" ] || fail "$name: no PT_LOAD"

	# The Multiboot header: magic at a 4-aligned offset in the first 8 KiB.
	hdr=$(od -A d -t x4 -v -N 8192 "$elf" |
		awk '{ for (i = 2; i <= NF; i++) if ($i == "1badb002") { print $1 + 4 * (i - 2); exit } }')
	[ -n "$hdr" ] || fail "$name: no Multiboot header in the first 8 KiB"
	read -r magic flags sum haddr laddr lend bend entry < <(od -A n -t u4 -w32 -v -j "$hdr" -N 32 "$elf")
	[ $(((magic + flags + sum) & 0xffffffff)) -eq 0 ] || fail "$name: bad Multiboot checksum"
	[ $((flags & 0x10000)) -ne 0 ] || fail "$name: Multiboot address fields not flagged"
	[ "$laddr" -eq "$first_va" ] || fail "$name: load_addr $laddr != first PT_LOAD $first_va"
	[ $((haddr - laddr)) -eq $((hdr - first_off)) ] || fail "$name: header_addr inconsistent"
	[ "$lend" -eq "$last_end" ] || fail "$name: load_end_addr $lend != end of file data $last_end"
	[ "$bend" -eq "$last_bss" ] || fail "$name: bss_end_addr $bend != end of memory $last_bss"
	{ [ "$entry" -ge "$laddr" ] && [ "$entry" -lt "$lend" ]; } || fail "$name: entry_addr outside image"
	# The ABI note the vmm checks: a PT_NOTE holding "Tern", type 1, version 1.
	readelf -lW "$elf" | awk '$1 == "NOTE" { n++ } END { exit n != 1 }' || fail "$name: not exactly one PT_NOTE"
	readelf -nW "$elf" | grep -qE '^ +Tern +0x00000004[[:space:]].*description data: 01 00 00 00 *$' ||
		fail "$name: no Tern ABI note (version 1)"
	echo "ok: $name layout: load 0x$(printf %x "$laddr")-0x$(printf %x "$lend") bss to 0x$(printf %x "$bend") mb entry 0x$(printf %x "$entry")"
}

for app in dirtier crash dirtylog regs rtcheck; do
	check_layout "$guests/$app.elf"
done

# --- booting -----------------------------------------------------------------
# shellcheck disable=SC2054 # the commas are inside qemu option values
qemu_args=(-enable-kvm -cpu host,-arch-capabilities -m 256 -nodefaults -display none
	-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4)

# boot NAME APP CMDLINE: starts qemu in the background, serial to NAME.log.
boot() {
	: >"$dir/$1.log"
	"$qemu" "${qemu_args[@]}" -serial "file:$dir/$1.log" -kernel "$guests/$2.elf" \
		-append "$3" >"$dir/$1.qemu" 2>&1 &
	qpid=$!
}

# finish NAME TIMEOUT_S: waits for qemu to exit by itself; sets qrc.
finish() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$qpid" 2>/dev/null && fail "$1: qemu still running after $2 s"
	qrc=0
	wait "$qpid" || qrc=$?
	qpid=
}

# wait_line NAME REGEX TIMEOUT_S
wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq "$2" "$dir/$1.log" && return 0
		sleep 0.1
	done
	fail "$1: no line matching '$2' within $3 s"
}

line() { sed -n "$2p" "$dir/$1.log"; }

# expect_boot NAME CMDLINE: the runtime's first line. The size is what QEMU's
# Multiboot memory info reports, a little under -m (255 MiB for -m 256 here).
expect_boot() {
	local got
	got=$(line "$1" 1)
	[[ "$got" =~ ^tern-rt:\ boot\ abi=1\ loader=multiboot\ mem=(255|256)\ cmdline=\"(.*)\"$ ]] ||
		fail "$1: bad boot line '$got'"
	[ "${BASH_REMATCH[2]}" = "$2" ] || fail "$1: cmdline '${BASH_REMATCH[2]}', want '$2'"
}

expect_line() {
	local got
	got=$(line "$1" "$2")
	[ "$got" = "$3" ] || fail "$1: line $2 is '$got', want '$3'"
}

# rtcheck: printf, cmdline, allocator, string and clock checks at CPL3.
boot rtcheck rtcheck ""
finish rtcheck 60
[ "$qrc" -eq 1 ] || fail "rtcheck: qemu exit $qrc, want 1 (halt status 0)"
expect_boot rtcheck ""
expect_line rtcheck 2 'rtcheck: 40 checks, 0 failed'
expect_line rtcheck 3 'SUCCESS'
echo "ok: rtcheck under qemu"

# dirtier: paced writes, running checksum. The working set (4 MiB up) is
# fresh zero RAM and ws=16 MiB holds 4096 pages, so while counter < 4096
# each write lands on a new page and checksum = 1 + 2 + ... + counter.
boot dirtier dirtier "ws=16 rate=5"
# Wait for t=3 to start, so the t=2 line is whole (serial output arrives a
# byte at a time).
wait_line dirtier '^dirtier: t=3' 60
kill "$qpid"
wait "$qpid" 2>/dev/null || true
qpid=
expect_boot dirtier "ws=16 rate=5"
expect_line dirtier 2 'dirtier: start ws=16 rate=5'
for t in 1 2; do
	l=$(line dirtier $((t + 2)))
	[[ "$l" =~ ^dirtier:\ t=$t\ counter=([0-9]+)\ checksum=([0-9a-f]{16})$ ]] ||
		fail "dirtier: bad progress line '$l'"
	n=${BASH_REMATCH[1]} sum=${BASH_REMATCH[2]}
	# 5 MiB/s = 1280 page writes per second. The line is printed once the
	# second has passed, so a late wake-up on a busy host adds a few writes:
	# allow 250 ms worth.
	{ [ "$n" -ge $((1280 * t)) ] && [ "$n" -le $((1280 * t + 320)) ]; } ||
		fail "dirtier: t=$t counter=$n, want $((1280 * t)) (+ up to 320)"
	want=$(printf %016x $((n * (n + 1) / 2)))
	[ "$sum" = "$want" ] || fail "dirtier: t=$t checksum=$sum, want $want"
done
echo "ok: dirtier under qemu"

# regs: deterministic, and different for a different count.
regs_result() {
	boot "$1" regs "iters=$2"
	finish "$1" 60
	[ "$qrc" -eq 1 ] || fail "$1: qemu exit $qrc, want 1 (halt status 0)"
	expect_boot "$1" "iters=$2"
	expect_line "$1" 2 "regs: start iters=$2"
	l=$(line "$1" 3)
	[[ "$l" =~ ^regs:\ iters=$2\ result=([0-9a-f]{16})$ ]] || fail "$1: bad result line '$l'"
	[ "$(wc -l <"$dir/$1.log")" -eq 3 ] || fail "$1: extra console lines"
	result=${BASH_REMATCH[1]}
}
regs_result regs_a 3000000
a=$result
regs_result regs_b 3000000
[ "$result" = "$a" ] || fail "regs: two runs gave $a and $result"
regs_result regs_c 3000001
[ "$result" != "$a" ] || fail "regs: iters=3000000 and 3000001 both gave $a"
echo "ok: regs under qemu: iters=3000000 result=$a"

vmm=$build/hypervisor/vmm/vmm
printf 'name = "g19-%s"\nkernel = "%s"\nmemory = 256\nvcpus = 1\nextra = "iters=3000000"\n' \
	$$ "$guests/regs.elf" >"$dir/regs.cfg"
timeout 60 "$vmm" --config "$dir/regs.cfg" </dev/null >"$dir/regs_vmm.log" 2>"$dir/regs_vmm.err" ||
	fail "regs under vmm: exit $?"
expect_line regs_vmm 3 "regs: iters=3000000 result=$a"
echo "ok: regs under vmm gives the same result"

# crash: a fault with no IDT triple-faults; -no-reboot makes qemu exit 0.
boot crash crash "mode=ud"
finish crash 60
[ "$qrc" -eq 0 ] || fail "crash: qemu exit $qrc, want 0 (triple fault)"
expect_line crash 2 'crash: faulting mode=ud'
[ "$(wc -l <"$dir/crash.log")" -eq 2 ] || fail "crash: ran on after the fault"
echo "ok: crash under qemu"

# dirtylog: exact round lines.
boot dirtylog dirtylog "base=8 pages=3 stride=2 rounds=2"
finish dirtylog 60
[ "$qrc" -eq 1 ] || fail "dirtylog: qemu exit $qrc, want 1 (halt status 0)"
expect_line dirtylog 2 'dirtylog: round=0 first=0x800000 count=3 stride=0x2000'
expect_line dirtylog 3 'dirtylog: round=1 first=0x806000 count=3 stride=0x2000'
expect_line dirtylog 4 'dirtylog: done'
echo "ok: dirtylog under qemu"
echo "PASS"
