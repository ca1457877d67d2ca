#!/usr/bin/env bash
# timeout: 300
# Fail open (issue 5, done-when 5), and what a restart does.
#  1. The analyzer unreachable (its route gone): the sessions' copies are
#     not made and are counted as drop_dest_down; A's iperf3 TCP throughput
#     with the sessions is at least 95% of the throughput without any tap
#     (sum of 5 runs each, alternated, so load from other work on this
#     shared machine falls on both sides alike).
#  2. kill -9 of the tap process during a sequence-numbered UDP stream and
#     a TCP run: the VM loses nothing (every datagram A's interface sent
#     reaches C's interface; iperf3's count also includes what C's socket
#     buffer dropped under load, which is reported), the
#     in-kernel VXLAN copies go on without the process, and the next start
#     adopts the programs and maps (counters continue, programs replaced in
#     place) and cleans up the port it is no longer told to tap. Across the
#     kill and the restart the analyzer's frames equal the ground truth.
#  3. A clean stop removes every filter and the VXLAN device.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/lib/tap_lib.sh
need_root

topo_up 9000
analyzer_vxlan 100
cat >"$TAPDIR/s.json" <<EOF
[{"id": 1, "name": "a-vx", "target": ["vm-a"], "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}},
 {"id": 2, "name": "a-gre", "target": ["vm-a"], "destination": {"type": "gre", "remote": "$AN_IP"}}]
EOF
nsx b iperf3 -s -D -p 5201 -I "$TAPDIR/ib.pid" >/dev/null
nsx c iperf3 -s -D -p 5202 -I "$TAPDIR/ic.pid" >/dev/null
wait_until 5 '[ -s "$TAPDIR/ib.pid" ] && [ -s "$TAPDIR/ic.pid" ]'
BG_PIDS+=($(cat "$TAPDIR/ib.pid" "$TAPDIR/ic.pid"))

tput() { # bits per second of a 2 s iperf3 TCP run A -> B
	iperf_c a $B_IP -p 5201 -t 2 -J || fail "iperf3"
	jq '.end.sum_received.bits_per_second | floor' "$TAPDIR/iperf.out"
}

info "1. analyzer unreachable"
nsx h1 ip link set mon0 down
base=() with=()
for round in 1 2 3 4 5; do
	base+=($(tput))
	taprun --port vp-a=vm-a,$UUID_A --session "$TAPDIR/s.json"
	STATS=$(stats)
	[ "$(sess dest_up 1)" = false ] && [ "$(sess dest_up 2)" = false ] || fail "destination not seen down"
	with+=($(tput))
	STATS=$(stats)
	taprun_stop
	[ "$(sess sent 1)" = 0 ] && [ "$(sess sent 2)" = 0 ] || fail "copies sent to an unreachable analyzer"
	[ "$(sess drop_dest_down 1)" -gt 1000 ] && [ "$(sess drop_dest_down 2)" -gt 1000 ] ||
		fail "unmade copies not counted: $(jq -c .sessions <<<"$STATS")"
done
bsum=0 wsum=0
for v in "${base[@]}"; do bsum=$((bsum + v)); done
for v in "${with[@]}"; do wsum=$((wsum + v)); done
echo "throughput without tap: ${base[*]} bit/s; with the sessions, analyzer unreachable: ${with[*]} bit/s"
echo "with/without: $((wsum * 1000 / bsum)) per mille"
[ $((wsum * 100)) -ge $((bsum * 95)) ] || fail "with the tap $((wsum / 5)) < 95% of $((bsum / 5)) bit/s"
nsx h1 ip link set mon0 up
wait_until 10 'nsx h1 ping -c1 -W1 -q $AN_IP >/dev/null' || fail "analyzer back"

info "2. kill -9 during traffic, then a restart"
taprun --port vp-a=vm-a,$UUID_A --port vp-b=vm-b,$UUID_B --session "$TAPDIR/s.json"
nsx h1 tc filter show dev vp-b ingress | grep -q vtap_from_vm || fail "vp-b not armed"
PROG0=$(nsx h1 tc filter show dev vp-a ingress | grep -o 'vtap_from_vm.* id [0-9]*' | grep -o '[0-9]*$')
capture n vx100 "$TAPDIR/mirror.pcap"
capture a eth0 "$TAPDIR/truth.pcap"
capture c eth0 "$TAPDIR/at-c.pcap" udp port 5202
nsx a iperf3 -c $C_IP -p 5202 -u -b 40M -l 1200 -t 6 -J >"$TAPDIR/udp.json" 2>&1 &
UDP_PID=$!
sleep 1
iperf_c a $B_IP -p 5201 -t 2 -b 300M >/dev/null || fail "TCP run during the kill"
STATS=$(stats)
SENT_BEFORE=$(sess sent 1)
kill -9 "$TAPRUN_PID"
wait "$TAPRUN_PID" 2>/dev/null
TAPRUN_PID=
n0=$(tshark -r "$TAPDIR/mirror.pcap" 2>/dev/null | wc -l)
sleep 1
n1=$(tshark -r "$TAPDIR/mirror.pcap" 2>/dev/null | wc -l)
[ "$n1" -gt "$n0" ] || fail "in-kernel copies stopped with the process"
# restart: only vp-a now; vp-b's leftover filters must go
taprun --port vp-a=vm-a,$UUID_A --session "$TAPDIR/s.json"
STATS=$(stats)
[ "$(jq .engine.adopted <<<"$STATS")" = true ] || fail "the restart did not adopt"
[ "$(sess sent 1)" -ge "$SENT_BEFORE" ] || fail "counters restarted: $(sess sent 1) < $SENT_BEFORE"
PROG1=$(nsx h1 tc filter show dev vp-a ingress | grep -o 'vtap_from_vm.* id [0-9]*' | grep -o '[0-9]*$')
[ -n "$PROG1" ] && [ "$PROG1" != "$PROG0" ] || fail "program not replaced ($PROG0 -> $PROG1)"
[ "$(nsx h1 tc filter show dev vp-a ingress | grep -c vtap)" = 1 ] || fail "more than one tap filter on vp-a"
nsx h1 tc filter show dev vp-b ingress | grep -q vtap && fail "vp-b still tapped after the restart"
wait "$UDP_PID" || fail "the UDP stream failed"
settle
sleep 0.5
capture_stop "$TAPDIR/truth.pcap"
capture_stop "$TAPDIR/mirror.pcap"
capture_stop "$TAPDIR/at-c.pcap"
sent=$(tshark -r "$TAPDIR/truth.pcap" -Y "udp.dstport == 5202 && ip.src == $A_IP" 2>/dev/null | wc -l)
got=$(tshark -r "$TAPDIR/at-c.pcap" -Y "udp.dstport == 5202 && ip.src == $A_IP" 2>/dev/null | wc -l)
echo "UDP stream through the kill: A's interface sent $sent datagrams, C's interface received $got;" \
	"iperf3 reports $(jq '.end.sum.lost_packets' "$TAPDIR/udp.json") lost of $(jq '.end.sum.packets' "$TAPDIR/udp.json") at the socket"
[ "$sent" = "$got" ] && [ "$sent" -gt 10000 ] || fail "the VM's stream lost $((sent - got)) of $sent datagrams"
python3 tests/integration/lib/tap_frames.py compare --truth "$TAPDIR/truth.pcap" \
	--mirror "$TAPDIR/mirror.pcap" --encap vxlan --mtu 1500 --window >"$TAPDIR/cmp.json"
rc=$?
cat "$TAPDIR/cmp.json"
[ $rc -eq 0 ] || fail "the VXLAN mirror has a gap across the kill and the restart"

info "3. clean stop"
taprun_stop
nsx h1 tc filter show dev vp-a ingress | grep -q vtap && fail "filter left on vp-a ingress"
nsx h1 tc filter show dev vp-a egress | grep -q vtap && fail "filter left on vp-a egress"
nsx h1 ip link show vtapvx0 >/dev/null 2>&1 && fail "vtapvx0 left behind"
echo "ok: fail-open, no VM loss across kill -9, adoption and cleanup"
