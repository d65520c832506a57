# shellcheck shell=bash disable=SC2034 # settings read by the scripts that source this
# Shared by bench/migration/run, qemu and tern: settings, the host clock,
# the guest-seen gap and the result records. Sourced; starts nothing.
#
#   guest "b" every BEAT ms ─ console ─> beatstamp ─> src.tlog / dst.tlog
#   gaps src.tlog dst.tlog T0  ──>  switch / max / base gap (ms)

MEM=${BENCH_MEM:-1024}  # guest RAM, MiB
WS=${BENCH_WS:-512}     # dirtier working set, MiB
BEAT=${BENCH_BEAT:-1}   # heartbeat period, ms
WARM=${BENCH_WARM:-3}   # seconds the guest runs before the migration starts
FILL=${BENCH_FILL:-1}   # 1: the guest writes its whole working set first
MIG_TIMEOUT=${BENCH_MIG_TIMEOUT:-60} # a migration still running then is cancelled
# The guest's command line, and the console line after which it paces.
guest_cmdline() { echo "ws=$WS rate=$1 beat=$BEAT fill=$FILL"; }
if [ "$FILL" = 1 ]; then READY_RE='^[0-9]+ dirtier: filled'; else READY_RE='^[0-9]+ dirtier: start'; fi

bm_fail() { echo "FAIL: $*" >&2; exit 1; }
bm_log() { echo "== $*" >&2; }

# now: CLOCK_MONOTONIC ns, the clock beatstamp stamps lines with.
now() { "$STAMP" --now; }

# wait_line FILE REGEX TENTHS: bounded wait for a line in a (growing) file.
wait_line() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# gaps SRC_TLOG DST_TLOG T0_NS: prints "switch max base" in ms (3 decimals):
#   switch: the source's last beat to the destination's first: the stop as
#           the guest sees it (within one beat period),
#   max:    the largest gap between consecutive beats from T0 (migration
#           start) to the switch: stalls before the stop count (after it,
#           the dirtier's own verify pass under Tern would),
#   base:   the largest gap in the second before T0 (this host's noise).
# Prints nothing when either side has no beat.
gaps() {
	awk -v t0="$3" '
		FNR == 1 { f++ }
		$2 == "b" { if (f == 1) s[++ns] = $1; else d[++nd] = $1 }
		END {
			if (!ns || !nd) exit 1
			base = 0; max = 0; prev = 0
			for (i = 1; i <= ns; i++) {
				t = s[i]
				if (prev && t >= t0 - 1e9 && t <= t0 && t - prev > base) base = t - prev
				if (prev && t >= t0 && t - prev > max) max = t - prev
				prev = t
			}
			sw = d[1] - s[ns]
			if (sw > max) max = sw
			printf "%.3f %.3f %.3f\n", sw / 1e6, max / 1e6, base / 1e6
		}' "$1" "$2"
}

# resumed SRC_TLOG DST_TLOG: checks the guest ran on at the destination
# from where it stopped: the destination's first progress line carries a
# write counter at least the source's last one.
resumed() {
	local a b
	a=$(grep -o ' counter=[0-9]*' "$1" | tail -1 | cut -d= -f2)
	b=$(grep -o ' counter=[0-9]*' "$2" | head -1 | cut -d= -f2)
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -ge "$a" ]
}

# median: the median of the numbers on stdin (the mean of the middle two).
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "null"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
