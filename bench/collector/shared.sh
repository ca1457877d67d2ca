#!/usr/bin/env bash
# bench/collector/shared.sh — a collector that shares its core: `vtap
# collector` (1 worker) and a CPU-bound neighbour (hog.c) pinned to the
# same CPU, `flowgen --gso --spin` on the other, for collector builds in
# alternating trials. What the neighbour costs the collector (records
# lost) and what the collector costs the neighbour (its rounds).
#
#   bench/collector/shared.sh [TRIALS] LABEL:VTAP ...
#   RATE=4500000 BUF=1048576 SECONDS_=4 bench/collector/shared.sh 4 \
#       old:/tmp/vtap-old new:build/release/vtap
#
# Runs in a private network namespace (root: unshare -n). Per trial:
# records lost, the collector's CPU ticks while the generator ran, the
# neighbour's rounds (thousands of loop iterations) over the same time,
# the kernel's drops, spin waits and shared windows of the worker
# (docs/collector.md, "A busy worker does not sleep").
set -u
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/../.."
[ $# -ge 2 ] || { sed -n 2,16p "$SELF"; exit 2; }
TRIALS=$1; shift
RATE=${RATE:-4500000}; SECS=${SECONDS_:-4}; export BUF=${BUF:-1048576}
CPU_GEN=${CPU_GEN:-0}; CPU_COLL=${CPU_COLL:-1}
. bench/collector/lib.bash
in_netns "$SELF" "$TRIALS" "$@"
N=$((RATE * SECS))
W=$(mktemp -d /tmp/vtap-shared.XXXXXX)
HOG=
cleanup() {
	[ -n "$HOG" ] && kill "$HOG" 2>/dev/null && wait "$HOG"
	[ -n "${VTAP_PID:-}" ] && vtap_stop 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cc -O2 -o "$W/hog" bench/collector/hog.c || exit 1
echo "# ipfix, $RATE records/s for $SECS s, socket buffer $BUF, collector and neighbour on CPU $CPU_COLL"
echo "# label lost cpu_ticks neighbour_rounds kernel_drops spin_waits shared_windows"
for k in $(seq "$TRIALS"); do
	for spec in "$@"; do
		IFS=: read -r label vtap <<<"$spec"
		vtap_start "$vtap" "$W/v" 1 "$CPU_COLL" || exit 1
		PID=$VTAP_PID
		taskset -c "$CPU_COLL" "$W/hog" >"$W/hog.out" &
		HOG=$!
		t0=$(cpu_ticks "$PID")
		taskset -c "$CPU_GEN" "$vtap" flowgen --gso --spin --to 127.0.0.1:4739 -f ipfix \
			-n "$N" -r "$RATE" >"$W/gen"
		kill "$HOG"
		wait "$HOG"
		HOG=
		t1=$(cpu_ticks "$PID")
		got=$(vtap_wait_stored "$N")
		s=$(curl -sf http://127.0.0.1:4740/api/v1/status | jq -r '[.ingest.kernel_drops,
			(.ingest.workers[0] | .spin_waits, (.shared_windows // "-"))] | map(tostring) | join(" ")')
		vtap_stop
		echo "$label $((N - got)) $((t1 - t0)) $(cat "$W/hog.out") $s"
	done
done
