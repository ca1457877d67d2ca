#!/usr/bin/env bash
# bench/tap/run.sh — what the tap costs a VM, next to the kernel's own
# mirror and to tcpdump, in one run, in `vtap lab` (release build). Prints
# a markdown table for docs/tap.md.
#
#   bench/tap/run.sh [ROUNDS]     (default 4)
#
# 1. Throughput of vm1's iperf3 TCP to vm2 (same host, veth). One TCP run
#    with quarter-second intervals while the port cycles every 2 s through
#    the variants, ROUNDS times, so load from other work on this shared
#    machine falls on every variant alike (the first 0.5 s after a switch
#    is left out; the mean of the intervals is reported):
#      untapped | the tap: a VXLAN session on vm1, both directions, to the
#      analyzer, monitoring MTU 9000 (copies cloned in the kernel) | the
#      kernel's own `tc filter ... matchall action mirred egress mirror dev
#      VXLANDEV` on both hooks of the same port, to a plain VXLAN device.
#    Then the same run with the monitoring MTU at 1500 (untapped | tap):
#    every copy of a 1514-byte frame is re-segmented in user space to fit.
# 2. Small packets: vm1 sends 64-byte frames (iperf3 UDP, 18-byte payload,
#    unpaced) for 5 s; the tap (pcapng session, ring path) and then
#    tcpdump -w (AF_PACKET) record them on the port. Reported: frames
#    offered (the port's counter), copies written, drops each reports,
#    unreported loss (offered - written - reported; must be 0), and copies
#    per CPU-second of the recording process.
set -u
cd "$(dirname "$0")/../.."
ROUNDS=${1:-4}
scripts/build_release.sh >/dev/null || { echo "build failed"; exit 1; }
export VTAP=$PWD/build/release/vtap
source tests/integration/tap/tap_lib.sh
need_tap

# cycle N STATE... : one iperf3 TCP run vm1 -> vm2 of N rounds over the
# states (functions run at each switch); prints "mean_bps" per state.
cycle() {
	local rounds=$1; shift
	local states=("$@") n=$# secs t0 k
	secs=$((rounds * n * 2 + 2))
	rm -f "$TAPDIR/toggles"
	nsx vm1 iperf3 -c $B_IP -p 5201 -t $secs -i 0.25 -J >"$TAPDIR/tput.json" 2>&1 &
	local ip=$!
	t0=$(date +%s.%N)
	for k in $(seq 0 $((rounds * n - 1))); do
		sleep "$(echo "$t0 + 1 + 2 * $k - $(date +%s.%N)" | bc)" 2>/dev/null
		${states[$((k % n))]}
		echo "$k $(echo "$(date +%s.%N) - $t0" | bc)" >>"$TAPDIR/toggles"
	done
	wait $ip || fail "iperf3"
	go_untapped   # (in this subshell: the caller's state stays "untapped")
	python3 - "$TAPDIR/tput.json" "$TAPDIR/toggles" "$n" <<'PY'
import json, sys
iv = json.load(open(sys.argv[1]))['intervals']
tog = [float(l.split()[1]) for l in open(sys.argv[2])]
n = int(sys.argv[3])
acc = [[] for _ in range(n)]
for i in iv:
    s = i['sum']
    for k, t in enumerate(tog):
        hi = tog[k + 1] if k + 1 < len(tog) else t + 2
        if t + 0.5 <= s['start'] and s['end'] <= hi - 0.05:
            acc[k % n].append(s['bits_per_second'])
print(' '.join('%d' % (sum(a) / len(a)) for a in acc))
PY
}

state=untapped
go_untapped() {
	case $state in
	tap) kill -USR2 "$TAPRUN_PID" ;;
	mirred) mirred_off ;;
	esac
	state=untapped
}
go_tap() { go_untapped; kill -USR2 "$TAPRUN_PID"; state=tap; }
go_mirred() { go_untapped; mirred_on; state=mirred; }
mirred_on() {
	for hook in ingress egress; do
		nsx h1 tc filter add dev vp-vm1 $hook prio 2 protocol all u32 match u32 0 0 action mirred egress mirror dev vxm
	done
}
mirred_off() {   # (keeps the copies mirred made, to prove it was at work)
	for hook in ingress egress; do
		nsx h1 tc -s filter show dev vp-vm1 $hook | awk '/Sent .* pkt/ {print $4}' >>"$TAPDIR/mirred.pkts"
		nsx h1 tc filter del dev vp-vm1 $hook prio 2 protocol all u32
	done
}

tap_lab_up 9000
# a monitoring NIC with checksum and tunnel offloads (tap_lib turns them
# off for the tests, which need wire frames at the analyzer): the tap and
# tc mirred leave their copies to it alike
nsx h1 ethtool -K mgmt0 tx on tx-udp_tnl-segmentation on tx-udp_tnl-csum-segmentation on \
	tx-gre-segmentation on tx-gre-csum-segmentation on >/dev/null 2>&1
analyzer_vxlan 100
iperf_s vm2 5201
iperf_s vm4 5202
# the kernel's mirror: a plain VXLAN device (UDP 4790: 4789 is the tap's
# collect_md device) to the analyzer
nsx h1 ip link add vxm type vxlan id 100 remote $AN_IP local $H1_MG dstport 4790
nsx h1 ip link set vxm up
cat >"$TAPDIR/vx.json" <<EOF
{"id": 1, "name": "vm1-vx", "target": ["vm1"], "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}}
EOF
taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/vx.json"
kill -USR2 "$TAPRUN_PID"   # start untapped
wait_for 5 "grep -q 'paused (ports' '$TAPDIR/taprun.err'"
echo "== throughput, monitoring MTU 9000, $ROUNDS rounds" >&2
read -r u9 t9 m9 <<<"$(cycle "$ROUNDS" go_untapped go_tap go_mirred)"
STATS=$(stats)
mp=$(paste -sd+ "$TAPDIR/mirred.pkts" | bc)
echo "   untapped $u9 tap $t9 mirred $m9 bit/s; tap copies sent $(sess sent 1); mirred copies $mp" >&2
[ "${mp:-0}" -gt 1000 ] || fail "tc mirred made no copies"

echo "== throughput, monitoring MTU 1500, $ROUNDS rounds" >&2
nsx h1 ip link set mgmt0 mtu 1500
wait_for 5 "kill -USR1 $TAPRUN_PID; sleep 0.2; tail -1 '$TAPDIR/taprun.out' | grep -q '\"path_mtu\":1500'" ||
	fail "the tap did not see the path MTU change"
S0=$(sess sent 1)
read -r u15 t15 <<<"$(cycle "$ROUNDS" go_untapped go_tap)"
STATS=$(stats)
echo "   untapped $u15 tap $t15 bit/s; tap copies sent $(($(sess sent 1) - S0)), re-segmented in user space" >&2
taprun_stop
nsx h1 ip link set mgmt0 mtu 9000

echo "== small packets" >&2
mkdir -p "$TAPDIR/ring"
cat >"$TAPDIR/pcap.json" <<EOF
{"id": 2, "name": "small", "target": ["vm1"], "direction": "from_vm",
 "destination": {"type": "pcapng", "dir": "$TAPDIR/ring", "prefix": "s", "file_size": "1G", "file_count": 0}}
EOF
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
offered() { nsx h1 cat /sys/class/net/vp-vm1/statistics/rx_packets; }
small_run() { iperf_c vm1 $C_IP -p 5202 -u -b 0 -l 18 -t 5 >/dev/null || fail "iperf3 UDP small"; }

taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/pcap.json" --ring-size 64M
quiet
o0=$(offered); c0=$(cpu_s "$TAPRUN_PID"); s0=$(sess sent 2)
small_run
settle
o1=$(offered); c1=$(cpu_s "$TAPRUN_PID")
taprun_stop
tap_off=$((o1 - o0))
tap_w=$(($(jq '.sessions[0].sent' "$TAPDIR/final.json") - s0))
tap_drop=$(jq '.sessions[0] | .drop_queue_full + .drop_error + .drop_too_big + .drop_dest_down' "$TAPDIR/final.json")
tap_file=$(for f in "$TAPDIR"/ring/s_*.pcapng; do capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}'; done | paste -sd+ | bc)
tap_cpu=$(echo "$c1 - $c0" | bc -l)

ip netns exec "$LAB_PREFIX-h1" tcpdump -i vp-vm1 -Q in -w "$TAPDIR/td.pcap" -B 65536 -s 0 2>"$TAPDIR/td.err" &
TD=$!
wait_for 10 "grep -q 'listening on' '$TAPDIR/td.err'"
o0=$(offered); c0=$(cpu_s $TD)
small_run
# tcpdump sees a partly filled TPACKET_V3 block only when the kernel's 1 s
# block timer retires it (up to two ticks, 2 s): an earlier SIGINT loses the
# block's frames uncounted, which would show as tcpdump's unreported loss.
sleep 3
o1=$(offered); c1=$(cpu_s $TD)
kill -INT $TD
wait $TD
td_off=$((o1 - o0))
td_file=$(capinfos -c -M "$TAPDIR/td.pcap" | awk '/Number of packets/ {print $NF}')
td_drop=$(awk '/dropped by kernel/ {print $1}' "$TAPDIR/td.err")
td_cpu=$(echo "$c1 - $c0" | bc -l)

g() { echo "$1 / 1000000000" | bc -l | xargs printf '%.2f'; }
pct() { echo "$1 * 100 / $2" | bc -l | xargs printf '%.0f'; }
cat <<EOF

| iperf3 TCP vm1 -> vm2 (same host), alternating every 2 s, $ROUNDS rounds | Gbit/s | of untapped |
|---|---|---|
| untapped | $(g $u9) | 100% |
| vtap, VXLAN session (both directions), monitoring MTU 9000: cloned in the kernel | $(g $t9) | $(pct $t9 $u9)% |
| kernel \`tc filter ... u32 match u32 0 0 action mirred egress mirror dev vxlan\` (both hooks; this kernel has no cls_matchall), MTU 9000 | $(g $m9) | $(pct $m9 $u9)% |
| untapped (second run) | $(g $u15) | 100% |
| vtap, same session, monitoring MTU 1500: re-segmented in user space | $(g $t15) | $(pct $t15 $u15)% |

| 64-byte frames from vm1, 5 s unpaced | offered | written | drops reported | unreported loss | copies per CPU-second |
|---|---|---|---|---|---|
| vtap, pcapng session (ring buffer) | $tap_off | $tap_w ($tap_file in the files) | $tap_drop | $((tap_off - tap_w - tap_drop)) | $(echo "$tap_w / $tap_cpu" | bc) |
| tcpdump -w on the port (AF_PACKET) | $td_off | $td_file | $td_drop | $((td_off - td_file - td_drop)) | $(echo "$td_file / $td_cpu" | bc) |
EOF
