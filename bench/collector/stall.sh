#!/usr/bin/env bash
# bench/collector/stall.sh — what a stall of the store costs: records lost
# when the file system under the store stops taking writes for a moment
# during ingest at a steady rate, for collector builds or settings in
# alternating trials.
#
#   bench/collector/stall.sh [TRIALS] LABEL:VTAP[:OPTS] ...
#   RATE=6000000 SECONDS_=3 AT=1 FREEZE_MS=50 FMT=ipfix bench/collector/stall.sh 4 \
#       old:/tmp/vtap-old new:build/release/vtap new-noreserve:build/release/vtap:collector.queue_reserve=0
#
# Each trial: a private network and mount namespace (root: unshare -n -m),
# an ext4 file system in a file on /dev/shm (a loop device) holding the
# store, the collector pinned to CPU_COLL (1 worker, BUF socket buffer as
# in ingest.sh), `flowgen --gso --spin` pinned to CPU_GEN sending RATE
# records/s for SECONDS_ s; AT s in, `fsfreeze` stops the file system for
# FREEZE_MS ms (writes and fdatasync block: the store's flusher falls
# behind, then the writer; FREEZE_MS=0: no freeze, the per-trial counters
# of a steady stream). OPTS are `-o` settings (comma-separated). Per
# trial: records lost, the collector's CPU ticks, its minor page faults,
# and its counters (kernel drops, batches deferred / inline / in, queue
# peak, batches taken back by the ingest thread, dropped rows, the store's
# append waits). Everything is removed at the end, also on failure.
set -u
SELF=$(realpath "$0")
cd "$(dirname "$SELF")/../.."
[ $# -ge 2 ] || { sed -n 2,22p "$SELF"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "stall.sh: needs root (namespaces, loop device, fsfreeze)" >&2; exit 2; }
. bench/collector/lib.bash
in_netns -m "$SELF" "$@"
TRIALS=$1; shift
RATE=${RATE:-6000000}; SECS=${SECONDS_:-3}; AT=${AT:-1}; FREEZE_MS=${FREEZE_MS:-50}
FMT=${FMT:-ipfix}; CPU_GEN=${CPU_GEN:-0}; CPU_COLL=${CPU_COLL:-1}
N=$((RATE * SECS))
W=$(mktemp -d /tmp/vtap-stall.XXXXXX)
IMG=$(mktemp /dev/shm/vtap-stall.XXXXXX)
LOOP=
cleanup() {
	fsfreeze -u "$W/mnt" 2>/dev/null
	[ -n "${VTAP_PID:-}" ] && vtap_stop 2>/dev/null
	mountpoint -q "$W/mnt" && umount "$W/mnt"
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	rm -f "$IMG"
	rm -rf "$W"
}
trap cleanup EXIT
truncate -s 4G "$IMG"
mkfs.ext4 -q -F "$IMG"
mkdir "$W/mnt"
LOOP=$(losetup -f --show "$IMG")
mount "$LOOP" "$W/mnt"
echo "# $FMT, $RATE records/s for $SECS s, store frozen $FREEZE_MS ms at $AT s (0: no freeze)"
echo "# label lost cpu_ticks minflt kernel_drops deferred inline batches queue_peak reclaimed rows_dropped append_waits"
for k in $(seq "$TRIALS"); do
	for spec in "$@"; do
		IFS=: read -r label vtap opts <<<"$spec"
		o=()
		IFS=, read -ra kv <<<"${opts:-}"
		for x in "${kv[@]}"; do o+=(-o "$x"); done
		rm -rf "$W/mnt/store"
		# the store on the file system that freezes; state and log not
		vtap_start "$vtap" "$W/v" 1 "$CPU_COLL" -o "store.dir=$W/mnt/store" "${o[@]}" || exit 1
		PID=$VTAP_PID
		t0=$(cpu_ticks "$PID"); f0=$(awk '{print $10}' "/proc/$PID/stat")
		taskset -c "$CPU_GEN" "$vtap" flowgen --gso --spin --to 127.0.0.1:4739 -f "$FMT" \
			-n "$N" -r "$RATE" >"$W/gen" &
		gp=$!
		if [ "$FREEZE_MS" -gt 0 ]; then
			sleep "$AT"
			taskset -c "$CPU_GEN" fsfreeze -f "$W/mnt"
			sleep "$(awk -v m="$FREEZE_MS" 'BEGIN { print m / 1000 }')"
			taskset -c "$CPU_GEN" fsfreeze -u "$W/mnt"
		fi
		wait "$gp"
		t1=$(cpu_ticks "$PID"); f1=$(awk '{print $10}' "/proc/$PID/stat")
		got=$(vtap_wait_stored "$N")
		s=$(curl -sf http://127.0.0.1:4740/api/v1/status | jq -r '[.ingest.kernel_drops,
			.writer.batches_deferred, .writer.batches_inline, .writer.batches_in,
			.writer.queue_peak, (.writer.batches_reclaimed // "-"), .writer.rows_dropped,
			.store.append_waits] | map(tostring) | join(" ")')
		vtap_stop
		echo "$label $((N - got)) $((t1 - t0)) $((f1 - f0)) $s"
	done
done
