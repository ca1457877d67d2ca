#!/usr/bin/env bash
# run.sh — the offline metering benchmark: `vtap meter -r` against
# softflowd and nfpcapd on the same generated capture, in the same run.
#
#   bench/meter/run.sh [PACKETS]        (default 10000000; root, for a netns)
#
# 1. builds the release vtap (build/release) and bench/meter/genpcap.c;
# 2. generates the capture once (genpcap, documented in docs/meter.md) into
#    $BENCH_DIR (default /tmp/vtap-bench-meter) and reads it once so every
#    tool starts from the page cache;
# 3. runs each tool with the same timeouts (active 60 s, idle 15 s, 2 s
#    after FIN/RST), each exporting to its own fresh nfcapd (UDP, 4 MB
#    socket buffer) in a private network namespace, except nfpcapd, which
#    writes nfcapd files itself:
#      vtap        vtap meter -r FILE  (paced UDP export, the default)
#      vtap-unpaced  ... --rate 0
#      vtap-pipe   cat FILE | vtap meter -r -  (streamed input: memory
#                  without the read-only file mapping in the RSS)
#      softflowd   softflowd -r FILE -n 127.0.0.1:PORT -v 10 -A milli -c none
#                  -m 4000000 (its default table of 8192 flows would expire
#                  flows early) -t maxlife=60 -t general=15 ... -d
#      nfpcapd     nfpcapd -r FILE -w DIR -e 60,15
#    timing each with /usr/bin/time (wall, user+sys CPU, peak RSS; the
#    outputs stay in $BENCH_DIR/TOOL.out and TOOL.time);
# 4. prints a markdown table: packets/s by wall clock and by CPU time,
#    peak RSS, peak RSS per active flow (the denominator for every tool is
#    the trace's peak number of concurrently active unidirectional flows
#    under these timeouts, as vtap's flow table counts it), and the flow
#    records each collector stored.
# The machine is shared: the load average before and after is printed;
# CPU time is the steadier figure under contention.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000000}
DIR=${BENCH_DIR:-/tmp/vtap-bench-meter}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (network namespace for the collectors)"; exit 1; }
for t in softflowd nfpcapd nfcapd nfdump jq; do
	command -v $t >/dev/null || { echo "run.sh: $t missing (scripts/deps.sh)"; exit 1; }
done
mkdir -p "$DIR"
scripts/build_release.sh >/dev/null
VTAP=$PWD/build/release/vtap
cc -O2 -Wall -o "$DIR/genpcap" bench/meter/genpcap.c -lm
PCAP=$DIR/bench-$N.pcap
[ -f "$PCAP" ] || "$DIR/genpcap" -o "$PCAP" -n "$N"
cat "$PCAP" >/dev/null

NS=vtbench-meter-$$
nfpid=
cleanup() {
	[ -n "$nfpid" ] && kill "$nfpid" 2>/dev/null && wait "$nfpid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$DIR"/nf-*
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
PORT=9995

start_nfcapd() {
	rm -rf "$DIR/nf-$1"
	mkdir -p "$DIR/nf-$1"
	ip netns exec "$NS" nfcapd -w "$DIR/nf-$1" -p $PORT -b 127.0.0.1 -t 3600 -C none \
		-B 4194304 >/dev/null 2>&1 &
	nfpid=$!
	for _ in $(seq 100); do
		ip netns exec "$NS" ss -Hlun "sport = :$PORT" | grep -q . && return 0
		sleep 0.05
	done
	echo "nfcapd did not start"; exit 1
}
stop_nfcapd() {
	for _ in $(seq 600); do
		q=$(ip netns exec "$NS" ss -Hlun "sport = :$PORT" | awk '{print $2}')
		[ "${q:-0}" = 0 ] && break
		sleep 0.05
	done
	sleep 0.5
	kill -TERM "$nfpid"
	wait "$nfpid" || true
	nfpid=
}
records() { nfdump -R "$1" -q -o csv 2>/dev/null | grep -c . || true; }

# measure NAME CMD... : time and peak RSS of CMD (run inside the netns)
measure() {
	local name=$1
	shift
	ip netns exec "$NS" /usr/bin/time -f '%e %U %S %M' -o "$DIR/$name.time" "$@" \
		>"$DIR/$name.out" 2>&1
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A REC
start_nfcapd vtap
measure vtap "$VTAP" meter -r "$PCAP" --collector udp://127.0.0.1:$PORT -j
stop_nfcapd
REC[vtap]=$(records "$DIR/nf-vtap")
PEAK=$(jq .peak_flows "$DIR/vtap.out")
FLOWS=$(jq .flows "$DIR/vtap.out")

start_nfcapd vtap-unpaced
measure vtap-unpaced "$VTAP" meter -r "$PCAP" --collector udp://127.0.0.1:$PORT --rate 0 -j
stop_nfcapd
REC[vtap-unpaced]=$(records "$DIR/nf-vtap-unpaced")

start_nfcapd vtap-pipe
measure vtap-pipe sh -c "cat '$PCAP' | '$VTAP' meter -r - --collector udp://127.0.0.1:$PORT -j"
stop_nfcapd
REC[vtap-pipe]=$(records "$DIR/nf-vtap-pipe")

start_nfcapd softflowd
measure softflowd softflowd -r "$PCAP" -n 127.0.0.1:$PORT -v 10 -A milli -c none -d -m 4000000 \
	-t maxlife=60 -t general=15 -t tcp=15 -t udp=15 -t icmp=15 -t tcp.fin=2 -t tcp.rst=2
stop_nfcapd
REC[softflowd]=$(records "$DIR/nf-softflowd")

rm -rf "$DIR/nf-nfpcapd"
mkdir -p "$DIR/nf-nfpcapd"
measure nfpcapd nfpcapd -r "$PCAP" -w "$DIR/nf-nfpcapd" -e 60,15
REC[nfpcapd]=$(records "$DIR/nf-nfpcapd")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "$N packets ($(du -m "$PCAP" | cut -f1) MB), vtap: $FLOWS flow records, peak $PEAK active flows"
echo
echo "| tool | wall s | CPU s | Mpps (wall) | Mpps (CPU) | peak RSS MB | RSS per active flow | records at collector |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for t in vtap vtap-unpaced vtap-pipe softflowd nfpcapd; do
	read -r wall usr sys rss <"$DIR/$t.time"
	awk -v t="$t" -v n="$N" -v w="$wall" -v u="$usr" -v s="$sys" -v r="$rss" -v p="$PEAK" \
		-v rec="${REC[$t]}" 'BEGIN {
		c = u + s;
		printf "| %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f B | %s |\n",
			t, w, c, n / w / 1e6, n / c / 1e6, r / 1024, r * 1024 / p, rec }'
done
