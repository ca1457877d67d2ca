#!/usr/bin/env bash
# bench/tap/run.sh — what the tap costs a VM, next to the kernel's own
# mirror and to tcpdump, in one run, on the test topology of
# tests/integration/tap/tap_lib.sh (namespaces, veth, bridges; the release
# build). Prints a markdown table for docs/tap.md.
#
#   bench/tap/run.sh [ROUNDS]     (default 5)
#
# 1. Throughput of VM A's iperf3 TCP to B (same host, 3 s runs, ROUNDS
#    rounds interleaved so load from other work falls on every variant):
#      untapped | the tap, VXLAN session both directions, monitoring MTU
#      9000 (copies cloned in the kernel) | the same with monitoring MTU
#      1500 (copies re-segmented to fit, in user space) | the kernel's own
#      `tc filter ... matchall action mirred egress mirror dev VXLANDEV` on
#      both hooks of the same port, to a plain VXLAN device, MTU 9000.
#    Reported: median Gbit/s of each, and relative to untapped.
# 2. Small packets: A sends 64-byte frames (iperf3 UDP, 18-byte payload,
#    unpaced) for 5 s; the tap (pcapng session, ring path) and then
#    tcpdump -w (AF_PACKET) record them on A's port. Reported: frames
#    offered, copies written, drops each reports, unreported loss
#    (offered - written - reported drops; must be 0 for the tap), and
#    copies per CPU-second of the recording process.
set -u
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
[ -f build/release/build.ninja ] || meson setup build/release --buildtype=release >/dev/null
ninja -C build/release >/dev/null || { echo "build failed"; exit 1; }
VTAP=$PWD/build/release/vtap
TP=vtb$$
source tests/integration/tap/tap_lib.sh
need_root

gbps() { jq '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$TAPDIR/iperf.out"; }
run_tcp() { iperf_c a $B_IP -p 5201 -t 3 -J >/dev/null || fail "iperf3"; gbps; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

topo_up 9000
analyzer_vxlan 100
nsx b iperf3 -s -D -p 5201 -I "$TAPDIR/ib.pid" >/dev/null
wait_until 5 '[ -s "$TAPDIR/ib.pid" ]'
BG_PIDS+=($(cat "$TAPDIR/ib.pid"))
cat >"$TAPDIR/vx.json" <<EOF
{"id": 1, "name": "a-vx", "target": ["vm-a"], "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}}
EOF

mirred_on() {
	nsx h1 ip link add vxm type vxlan id 100 remote $AN_IP local 198.19.0.1 dstport 4789
	nsx h1 ip link set vxm up
	nsx h1 tc qdisc add dev vp-a clsact
	for hook in ingress egress; do
		nsx h1 tc filter add dev vp-a $hook matchall action mirred egress mirror dev vxm
	done
}
mirred_off() {
	nsx h1 tc qdisc del dev vp-a clsact
	nsx h1 ip link del vxm
}

declare -a U T9 T15 M
echo "== throughput, $ROUNDS rounds" >&2
for r in $(seq 1 "$ROUNDS"); do
	U+=($(run_tcp))
	taprun --port vp-a=vm-a,$UUID_A --session "$TAPDIR/vx.json"
	T9+=($(run_tcp))
	taprun_stop
	nsx h1 ip link set mon0 mtu 1500
	nsx n ip link set eth0 mtu 1500
	taprun --port vp-a=vm-a,$UUID_A --session "$TAPDIR/vx.json"
	T15+=($(run_tcp))
	STATS=$(stats)
	taprun_stop
	nsx h1 ip link set mon0 mtu 9000
	nsx n ip link set eth0 mtu 9000
	mirred_on
	M+=($(run_tcp))
	mirred_off
	echo "round $r: untapped ${U[-1]} tap/9000 ${T9[-1]} tap/1500 ${T15[-1]} mirred ${M[-1]} Gbit/s" >&2
done
mu=$(median "${U[@]}") m9=$(median "${T9[@]}") m15=$(median "${T15[@]}") mm=$(median "${M[@]}")
pct() { echo "$1 * 100 / $mu" | bc -l | xargs printf '%.0f'; }

echo "== small packets" >&2
nsx c iperf3 -s -D -p 5202 -I "$TAPDIR/ic.pid" >/dev/null
wait_until 5 '[ -s "$TAPDIR/ic.pid" ]'
BG_PIDS+=($(cat "$TAPDIR/ic.pid"))
mkdir -p "$TAPDIR/ring"
cat >"$TAPDIR/pcap.json" <<EOF
{"id": 2, "name": "small", "target": ["vm-a"], "direction": "from_vm",
 "destination": {"type": "pcapng", "dir": "$TAPDIR/ring", "prefix": "s", "file_size": "1G", "file_count": 0}}
EOF
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
offered() { nsx h1 cat /sys/class/net/vp-a/statistics/rx_packets; }
small_run() { iperf_c a $C_IP -p 5202 -u -b 0 -l 18 -t 5 >/dev/null || fail "iperf3 UDP small"; }

taprun --port vp-a=vm-a,$UUID_A --session "$TAPDIR/pcap.json" --ring-size 64M
o0=$(offered); c0=$(cpu_s "$TAPRUN_PID")
small_run
settle
o1=$(offered); c1=$(cpu_s "$TAPRUN_PID")
taprun_stop
tap_off=$((o1 - o0))
tap_sent=$(jq '.sessions[0].sent' "$TAPDIR/final.json")
tap_drop=$(jq '.sessions[0] | .drop_queue_full + .drop_error + .drop_too_big + .drop_dest_down' "$TAPDIR/final.json")
tap_file=$(for f in "$TAPDIR"/ring/s_*.pcapng; do capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}'; done | paste -sd+ | bc)
tap_cpu=$(echo "$c1 - $c0" | bc -l)

rm -f "$TAPDIR/td.pcap"
ip netns exec "${TP}h1" tcpdump -i vp-a -Q in -w "$TAPDIR/td.pcap" -B 65536 -s 0 2>"$TAPDIR/td.err" &
TD=$!
wait_until 10 'grep -q "listening on" "$TAPDIR/td.err"'
o0=$(offered); c0=$(cpu_s $TD)
small_run
sleep 1
o1=$(offered); c1=$(cpu_s $TD)
kill -INT $TD
wait $TD
td_off=$((o1 - o0))
td_file=$(capinfos -c -M "$TAPDIR/td.pcap" | awk '/Number of packets/ {print $NF}')
td_drop=$(awk '/dropped by kernel/ {print $1}' "$TAPDIR/td.err")
td_cpu=$(echo "$c1 - $c0" | bc -l)

cat <<EOF

| iperf3 TCP, VM A -> B (same host), median of $ROUNDS x 3 s | Gbit/s | of untapped |
|---|---|---|
| untapped | $mu | 100% |
| vtap, VXLAN session (both directions), monitoring MTU 9000 | $m9 | $(pct $m9)% |
| vtap, same session, monitoring MTU 1500 (re-segmented in user space) | $m15 | $(pct $m15)% |
| kernel \`tc ... matchall action mirred egress mirror dev vxlan\` (both hooks), MTU 9000 | $mm | $(pct $mm)% |

| 64-byte frames from VM A, 5 s unpaced | offered | written | drops reported | unreported loss | copies per CPU-second |
|---|---|---|---|---|---|
| vtap, pcapng session (ring buffer) | $tap_off | $tap_file | $tap_drop | $((tap_off - tap_file - tap_drop)) | $(echo "$tap_file / $tap_cpu" | bc) |
| tcpdump -w on the port (AF_PACKET) | $td_off | $td_file | $td_drop | $((td_off - td_file - td_drop)) | $(echo "$td_file / $td_cpu" | bc) |
EOF
[ "$tap_sent" = "$tap_file" ] || echo "note: sent counter $tap_sent, $tap_file in the files" >&2
