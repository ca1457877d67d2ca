#!/usr/bin/env bash
# bench/collector/ab.sh — CPU per record of two collector builds, in
# alternating runs on the same stream (how each ingest step in
# docs/collector.md was measured before/after).
#
#   bench/collector/ab.sh OLD_VTAP NEW_VTAP [RUNS]      (default 5 runs each)
#   FMT=nfv9 RATE=200000 RECORDS=2000000 bench/collector/ab.sh A B
#
# Each run: a private network namespace (root: unshare -n), the collector
# pinned to CPU_COLL (1 worker, BUF socket buffer, lib.bash), `flowgen --gso
# --spin` (of the NEW build, as in ingest.sh; --spin when it has it) pinned
# to CPU_GEN sending RECORDS
# records at RATE; when every record is stored, the collector's CPU time
# (utime + stime of all its threads) per stored record, and the ticks of
# each thread (NAME=TICKS, in creation order: the main thread under the
# binary's name, vtap-store, vtap-api, ..., vtap-writer, vtap-udp0; builds
# before thread names show the binary's name for all). A run that
# did not store every record is reported as such. The machine's load moves
# single runs; compare the binaries' minimum and median.
set -u
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n 2,16p "$0"; exit 2; }
A=$(realpath "$1"); B=$(realpath "$2"); RUNS=${3:-5}
FMT=${FMT:-ipfix}; RATE=${RATE:-1000000}; RECORDS=${RECORDS:-5000000}
CPU_GEN=${CPU_GEN:-0}; CPU_COLL=${CPU_COLL:-1}
. bench/collector/lib.bash
in_netns "$0" "$@"
SPIN=
"$B" flowgen --help 2>&1 | grep -q -- --spin && SPIN=--spin
W=$(mktemp -d /tmp/vtap-ab.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
HZ=$(getconf CLK_TCK)

# one VTAP : prints "us_per_record thread_ticks..."
one() {
	local v=$1 pid t0 t1 got threads=""
	vtap_start "$v" "$W/run" 1 "$CPU_COLL"
	pid=$VTAP_PID
	t0=$(cpu_ticks $pid)
	taskset -c "$CPU_GEN" "$B" flowgen --gso $SPIN --to 127.0.0.1:4739 -f "$FMT" -n "$RECORDS" \
		-r "$RATE" >/dev/null
	got=$(vtap_wait_stored "$RECORDS")
	t1=$(cpu_ticks $pid)
	for t in $(ls "/proc/$pid/task" | sort -n); do
		threads+=" $(cat "/proc/$pid/task/$t/comm")=$(cpu_ticks "$pid/task/$t")"
	done
	vtap_stop
	if [ "$got" -lt "$RECORDS" ]; then
		echo "lost $((RECORDS - got)) records"
		return
	fi
	awk -v t=$((t1 - t0)) -v n="$got" -v hz="$HZ" -v th="$threads" \
		'BEGIN { printf "%.3f us/record, thread ticks:%s\n", t / hz * 1e6 / n, th }'
}

echo "$RECORDS $FMT records at $RATE/s, collector on CPU $CPU_COLL, $RUNS alternating runs"
for i in $(seq "$RUNS"); do
	echo "A $(one "$A")"
	echo "B $(one "$B")"
done | tee "$W/out"
for x in A B; do
	grep "^$x [0-9]" "$W/out" | awk '{ print $2 }' | sort -n | awk -v x="$x" '{ v[NR] = $1 } END {
		if (!NR) { print x ": no complete run"; exit }
		printf "%s: min %.3f median %.3f us/record (%d runs)\n", x, v[1], v[int((NR + 1) / 2)], NR }'
done
