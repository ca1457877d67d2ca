#!/usr/bin/env bash
# bench/flowdec/run.sh — how fast the collector's decoders turn NetFlow
# v5/v9 and IPFIX datagrams into flow records, next to tshark, in one run.
#
#   bench/flowdec/run.sh [DATAGRAMS]      (default 300000, ~9 M records)
#
# 1. flowdec alone, datagrams in memory (bench_flowdec.c documents the mix):
#    CPU ns per record of the decoding thread; then the same with records
#    built in place in a ring of collector-sized rows (the ingest path).
# 2. The same datagrams as a pcap file decoded end to end by
#    `vtap flowdecode -q` (pcap reader + packet decoder + flowdec +
#    statistics, no record printed) and by tshark (its NetFlow/IPFIX
#    dissector printing three fields per record, on the first 10000
#    datagrams: it is two orders of magnitude slower). Wall and user+sys CPU
#    time per record, file in the page cache.
# The ingest benchmark against nfcapd (sockets, zero loss) is the
# collector's (issue 4); this measures the decoding it builds on.
# Prints a markdown table for docs/wire/flow-decoding.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-300000}
scripts/build_release.sh >/dev/null
BIN=build/release/bench_flowdec
cc -O2 -std=gnu11 -D_GNU_SOURCE -Ilib -o "$BIN" bench/flowdec/bench_flowdec.c \
	build/release/libvtap.a -lzstd -lm -lpthread
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== flowdec only"
mem=$("$BIN" mem "$N")
echo "$mem"
mem_ns=$(sed -n 's/.*: \([0-9.]*\) ns\/record.*/\1/p' <<<"$mem")
room=$("$BIN" mem "$N" room)
echo "$room (built in place in collector-sized rows)"
room_ns=$(sed -n 's/.*: \([0-9.]*\) ns\/record.*/\1/p' <<<"$room")

"$BIN" pcap "$N" "$tmp/mix.pcap"
"$BIN" pcap 10000 "$tmp/mix10k.pcap"
recs=$(build/release/vtap flowdecode -q -j -r "$tmp/mix.pcap" |
	python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][-1]["records"])')
recs10k=$(build/release/vtap flowdecode -q -j -r "$tmp/mix10k.pcap" |
	python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][-1]["records"])')

declare -a rows
timed() { # NAME RECORDS CMD...
	local name=$1 n=$2 t
	shift 2
	cat "$tmp"/*.pcap >/dev/null
	/usr/bin/time -o "$tmp/time" -f "%e %U %S" "$@" >/dev/null 2>&1
	t=$(tail -1 "$tmp/time")
	rows+=("$(awk -v n="$n" -v name="$name" '{ printf "| %s | %d | %.0f | %.0f |", name, n, $1 * 1e9 / n, ($2 + $3) * 1e9 / n }' <<<"$t")")
	echo "${rows[-1]}"
}
echo "== read + decode the capture (page cache)"
timed "vtap flowdecode -q" "$recs" build/release/vtap flowdecode -q -r "$tmp/mix.pcap"
timed "tshark -T fields (3 fields per record)" "$recs10k" tshark -n -r "$tmp/mix10k.pcap" \
	-d udp.port==2055,cflow -T fields -e cflow.srcaddr -e cflow.octets -e cflow.packets
echo
echo "| flowdec only | datagrams | records | CPU ns/record | M records/s |"
echo "|---|---|---|---|---|"
awk -v ns="$mem_ns" -v n="$N" -v r="$recs" 'BEGIN { printf "| v5/v9/IPFIX mix, 30 records a datagram | %d | %d | %.0f | %.1f |\n", n, r, ns, 1000 / ns }'
awk -v ns="$room_ns" -v n="$N" -v r="$recs" 'BEGIN { printf "| the same, built in place in collector-sized rows (ingest path) | %d | %d | %.0f | %.1f |\n", n, r, ns, 1000 / ns }'
echo
echo "| read + decode a capture | records | wall ns/record | CPU ns/record |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
