#!/usr/bin/env bash
# bench/decode/run.sh — how fast vtap decodes, next to the peers, in one run.
#
#   bench/decode/run.sh [FRAMES]      (default 1000000)
#
# 1. pkt_decode_frame() alone, frames already in memory: a synthetic mix of
#    FRAMES frames (bench_decode.c documents the mix; 10 passes) and every
#    frame of the corpus captures (traffic/, tunnels/, scans/; 20 passes).
#    Figures are CPU time of the decoding thread / frames, so other load on
#    a shared machine inflates them less than wall time would.
# 2. The same mix written as a pcap file, read and decoded end to end by
#    vtap (pcapfile + decoder, and the vtap decode CLI; 10 passes), by
#    tcpdump (libpcap + its dissectors, output to /dev/null) and by tshark
#    (fields of IP and transport, on the first 100000 frames: it is two
#    orders of magnitude slower). Wall time and user+sys CPU time per
#    frame, file in the page cache.
# Prints a markdown table for docs/decoder.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FRAMES=${1:-1000000}
CORPUS=${VTAP_CORPUS:-$ROOT/../shared/corpus}
[ -d "$CORPUS/traffic" ] || CORPUS=/work/shared/corpus

scripts/build_release.sh >/dev/null
BIN=build/release/bench_decode
cc -O2 -std=gnu11 -D_GNU_SOURCE -Ilib -o "$BIN" bench/decode/bench_decode.c \
	build/release/libvtap.a -lzstd -lm -lpthread

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MIX=$tmp/mix.pcap

echo "== decoder only (CPU ns per frame)"
mix_line=$("$BIN" mix "$FRAMES" 10 "$MIX")
echo "$mix_line"
corpus_line=$("$BIN" files 20 "$CORPUS"/traffic/*.pcap* "$CORPUS"/tunnels/*.pcap* \
	"$CORPUS"/scans/*.pcap*)
echo "$corpus_line"
mix_ns=$(sed -n 's/.*: \([0-9.]*\) ns\/frame.*/\1/p' <<<"$mix_line")
corpus_ns=$(sed -n 's/.*: \([0-9.]*\) ns\/frame.*/\1/p' <<<"$corpus_line")

# timed NAME FRAMES CMD... : wall and CPU ns per frame, output discarded
declare -a rows
timed() {
	local name=$1 n=$2 t wall cpu
	shift 2
	cat "$MIX" >/dev/null # page cache
	local rc=0
	/usr/bin/time -o "$tmp/time" -f "%e %U %S" "$@" >/dev/null 2>&1 || rc=$?
	[ $rc -eq 0 ] || name="$name (exit $rc!)"
	t=$(tail -1 "$tmp/time")
	wall=$(awk -v n="$n" '{ printf "%.0f", $1 * 1e9 / n }' <<<"$t")
	cpu=$(awk -v n="$n" '{ printf "%.0f", ($2 + $3) * 1e9 / n }' <<<"$t")
	printf '%-44s %10s frames  %8s ns/frame wall  %8s ns/frame cpu\n' "$name" "$n" "$wall" "$cpu"
	rows+=("| $name | $n | $wall | $cpu |")
}

echo "== read + decode the mix file (page cache)"
# vtap is fast enough that /usr/bin/time's 10 ms resolution needs 10 passes
timed "vtap (pcapfile + pkt_decode_frame)" $((FRAMES * 10)) \
	sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do "$0" read "$1" || exit 1; done' "$BIN" "$MIX"
timed "vtap decode -q (the CLI)" $((FRAMES * 10)) \
	sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do "$0" decode -q -r "$1" || exit 1; done' \
	build/release/vtap "$MIX"
timed "tcpdump -tt -nn -q -r (libpcap + dissectors)" "$FRAMES" tcpdump -tt -nn -q -r "$MIX"
# the generator is deterministic: these are the first 100000 frames of the mix
"$BIN" mix 100000 1 "$tmp/mix100k.pcap" >/dev/null
MIX=$tmp/mix100k.pcap
timed "tshark -T fields (ip, ports)" 100000 tshark -n -r "$MIX" -T fields -e ip.src \
	-e ip.dst -e ipv6.src -e ip.proto -e tcp.srcport -e udp.srcport

echo
echo "| decoder only | frames | CPU ns/frame | Mpps |"
echo "|---|---|---|---|"
awk -v ns="$mix_ns" -v n="$FRAMES" 'BEGIN { printf "| synthetic mix | %d x 10 | %.1f | %.1f |\n", n, ns, 1000 / ns }'
awk -v ns="$corpus_ns" 'BEGIN { printf "| corpus traffic/ tunnels/ scans/ | all x 20 | %.1f | %.1f |\n", ns, 1000 / ns }'
echo
echo "| read + decode the mix file | frames | wall ns/frame | CPU ns/frame |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
