#!/usr/bin/env bash
# timeout: 300
# Fail open (issue 5, done-when 5), and what a restart does.
#  1. The analyzer unreachable (its route gone): the sessions' copies are
#     not made and are counted as drop_dest_down; A's iperf3 TCP throughput
#     with the sessions is at least 95% of the throughput without any tap
#     (one TCP run, the tap armed and disarmed every 2 s, mean of the
#     quarter-second intervals of each; up to three measurements are
#     made before a failure is declared, as the machine is shared).
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
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 100
cat >"$TAPDIR/s.json" <<EOF
[{"id": 1, "name": "a-vx", "target": ["vm1"], "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}},
 {"id": 2, "name": "a-gre", "target": ["vm1"], "destination": {"type": "gre", "remote": "$AN_IP"}}]
EOF
iperf_s vm2 5201
iperf_s vm4 5202

# One TCP run of 21 s (-i 0.25) while tap-run alternates every 2 s between
# armed (sessions, analyzer unreachable) and disarmed (SIGUSR2): load from
# other work on this shared machine falls on both alike. The first 0.5 s
# after each switch is left out.
measure() { # prints "with without" mean bit/s
	taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/s.json"
	STATS=$(stats)
	[ "$(sess dest_up 1)" = false ] && [ "$(sess dest_up 2)" = false ] || fail "destination not seen down"
	kill -USR2 "$TAPRUN_PID"   # start disarmed
	wait_for 5 "grep -q 'paused (ports' '$TAPDIR/taprun.err'"
	nsx vm1 iperf3 -c $B_IP -p 5201 -t 21 -i 0.25 -J >"$TAPDIR/tput.json" 2>&1 &
	local ip=$! t0 k
	t0=$(date +%s.%N)
	for k in $(seq 1 10); do
		sleep "$(echo "$t0 + 1 + 2 * $k - 2 - $(date +%s.%N)" | bc)" 2>/dev/null
		[ "$k" -gt 1 ] && kill -USR2 "$TAPRUN_PID"
		echo "$(echo "$(date +%s.%N) - $t0" | bc)" >>"$TAPDIR/toggles"
	done
	wait $ip || fail "iperf3 during the toggles"
	STATS=$(stats)
	taprun_stop
	[ "$(sess sent 1)" = 0 ] && [ "$(sess sent 2)" = 0 ] || fail "copies sent to an unreachable analyzer"
	[ "$(sess drop_dest_down 1)" -gt 100 ] && [ "$(sess drop_dest_down 2)" -gt 100 ] ||
		fail "unmade copies not counted: $(jq -c .sessions <<<"$STATS")"
	python3 - "$TAPDIR/tput.json" "$TAPDIR/toggles" <<'PY'
import json, sys
iv = json.load(open(sys.argv[1]))['intervals']
tog = [float(x) for x in open(sys.argv[2]).read().split()]
# toggle k (k >= 1) starts window k: odd windows disarmed, even armed
w, wo = [], []
for i in iv:
    s = i['sum']
    for k in range(len(tog)):
        lo, hi = tog[k] + 0.5, (tog[k + 1] if k + 1 < len(tog) else 99) - 0.05
        if lo <= s['start'] and s['end'] <= hi:
            (wo if k % 2 == 0 else w).append(s['bits_per_second'])
print(int(sum(w) / len(w)), int(sum(wo) / len(wo)), len(w), len(wo))
PY
}

info "1. analyzer unreachable"
nsx h1 ip link set mgmt0 down
for attempt in 1 2 3; do
	rm -f "$TAPDIR/toggles"
	read -r wmean bmean nw nb <<<"$(measure)"
	echo "attempt $attempt: armed $((wmean / 1000000)) Mbit/s ($nw intervals), disarmed $((bmean / 1000000)) Mbit/s ($nb intervals): $((wmean * 1000 / bmean)) per mille"
	# 5 windows of each state, 4-5 whole 0.25-s intervals in each: fewer
	# means late toggles (a loaded machine), a measurement to repeat
	if [ "$nw" -ge 20 ] && [ "$nb" -ge 20 ]; then
		[ $((wmean * 100)) -ge $((bmean * 95)) ] && break
	else
		echo "too few intervals ($nw, $nb): the toggles were late"
		[ $attempt = 3 ] && fail "too few intervals three times: $nw, $nb"
		continue
	fi
	# independent measurements before calling it: the machine is shared
	# (one run of a full suite measured 94.8 % twice); a tap that costs
	# more than 5 % fails all three
	[ $attempt = 3 ] && fail "with the tap $wmean < 95% of $bmean bit/s, three times"
done
nsx h1 ip link set mgmt0 up
wait_for 10 "ip netns exec $LAB_PREFIX-h1 ping -c1 -W1 -q $AN_IP" || fail "analyzer back"

info "2. kill -9 during traffic, then a restart"
taprun --port vp-vm1=vm1,$UUID_A --port vp-vm2=vm2,$UUID_B --session "$TAPDIR/s.json"
nsx h1 tc filter show dev vp-vm2 ingress | grep -q vtap_from_vm || fail "vp-vm2 not armed"
PROG0=$(nsx h1 tc filter show dev vp-vm1 ingress | grep -o 'vtap_from_vm.* id [0-9]*' | grep -o '[0-9]*$')
capture analyzer vx100 "$TAPDIR/mirror.pcap"
capture vm1 eth0 "$TAPDIR/truth.pcap"
capture vm4 eth0 "$TAPDIR/at-c.pcap" udp port 5202
nsx vm1 iperf3 -c $C_IP -p 5202 -u -b 40M -l 1200 -t 6 -J >"$TAPDIR/udp.json" 2>&1 &
UDP_PID=$!
sleep 1
iperf_c vm1 $B_IP -p 5201 -t 2 -b 300M >/dev/null || fail "TCP run during the kill"
STATS=$(stats)
SENT_BEFORE=$(sess sent 1)
kill -9 "$TAPRUN_PID"
wait "$TAPRUN_PID" 2>/dev/null
TAPRUN_PID=
# the analyzer's capture grows (tcpdump -U writes each frame as it
# comes): its size, not a tshark count, which on a loaded machine took
# long enough for the UDP stream to end before the second look
n0=$(stat -c %s "$TAPDIR/mirror.pcap")
sleep 1
n1=$(stat -c %s "$TAPDIR/mirror.pcap")
[ "$n1" -gt "$n0" ] || fail "in-kernel copies stopped with the process ($n0 -> $n1 bytes)"
# restart: only vp-vm1 now; vp-vm2's leftover filters must go
taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/s.json"
STATS=$(stats)
[ "$(jq .engine.adopted <<<"$STATS")" = true ] || fail "the restart did not adopt"
[ "$(sess sent 1)" -ge "$SENT_BEFORE" ] || fail "counters restarted: $(sess sent 1) < $SENT_BEFORE"
PROG1=$(nsx h1 tc filter show dev vp-vm1 ingress | grep -o 'vtap_from_vm.* id [0-9]*' | grep -o '[0-9]*$')
[ -n "$PROG1" ] && [ "$PROG1" != "$PROG0" ] || fail "program not replaced ($PROG0 -> $PROG1)"
[ "$(nsx h1 tc filter show dev vp-vm1 ingress | grep -c vtap)" = 1 ] || fail "more than one tap filter on vp-vm1"
nsx h1 tc filter show dev vp-vm2 ingress | grep -q vtap && fail "vp-vm2 still tapped after the restart"
wait "$UDP_PID" || fail "the UDP stream failed"
settle
capture_stop "$TAPDIR/truth.pcap" "$TAPDIR/mirror.pcap" "$TAPDIR/at-c.pcap"
sent=$(tshark -r "$TAPDIR/truth.pcap" -Y "udp.dstport == 5202 && ip.src == $A_IP" 2>/dev/null | wc -l)
got=$(tshark -r "$TAPDIR/at-c.pcap" -Y "udp.dstport == 5202 && ip.src == $A_IP" 2>/dev/null | wc -l)
echo "UDP stream through the kill: A's interface sent $sent datagrams, C's interface received $got;" \
	"iperf3 reports $(jq '.end.sum.lost_packets' "$TAPDIR/udp.json") lost of $(jq '.end.sum.packets' "$TAPDIR/udp.json") at the socket"
[ "$sent" = "$got" ] && [ "$sent" -gt 10000 ] || fail "the VM's stream lost $((sent - got)) of $sent datagrams"
python3 $TF compare --truth "$TAPDIR/truth.pcap" \
	--mirror "$TAPDIR/mirror.pcap" --encap vxlan --mtu 1500 --window >"$TAPDIR/cmp.json"
rc=$?
cat "$TAPDIR/cmp.json"
[ $rc -eq 0 ] || fail "the VXLAN mirror has a gap across the kill and the restart"

info "3. clean stop"
taprun_stop
nsx h1 tc filter show dev vp-vm1 ingress | grep -q vtap && fail "filter left on vp-vm1 ingress"
nsx h1 tc filter show dev vp-vm1 egress | grep -q vtap && fail "filter left on vp-vm1 egress"
nsx h1 ip link show vtapvx0 >/dev/null 2>&1 && fail "vtapvx0 left behind"
echo "ok: fail-open, no VM loss across kill -9, adoption and cleanup"
