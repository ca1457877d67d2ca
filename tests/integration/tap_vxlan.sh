#!/usr/bin/env bash
# timeout: 300
# Completeness of an in-kernel VXLAN mirror session (issue 5, done-when 1):
# a session on VM A, both directions, VNI 100, to the analyzer, whose own
# kernel VXLAN device terminates the tunnel and tcpdump captures the inner
# frames. During ping, a fixed-count iperf3 UDP stream, a short iperf3 TCP
# run and an nmap scan, to and from A, with a same-host peer (B) and a
# cross-host peer (C), while B and C also talk to each other: the multiset
# of frames at the analyzer must equal the multiset captured on A's own
# interface, normalised to wire frames (lib/tap_frames.py says how and
# why), byte for byte, and the session's sent counter must equal the
# frames the analyzer received.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/lib/tap_lib.sh
need_root
command -v nmap >/dev/null || fail "nmap missing"

topo_up 9000
analyzer_vxlan 100
cat >"$TAPDIR/s.json" <<EOF
{"id": 1, "name": "vm-a-all", "target": {"vms": ["$UUID_A"]}, "direction": "both",
 "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}}
EOF
taprun --port vp-a=vm-a,$UUID_A --port vp-b=vm-b,$UUID_B --session "$TAPDIR/s.json"
STATS=$(stats)
[ "$(sess path)" = kernel ] || fail "VXLAN session not on the kernel path: $(sess path)"
[ "$(sess dest_up)" = true ] || fail "destination not up"

nsx b iperf3 -s -D -p 5201 -I "$TAPDIR/ib.pid" >/dev/null
nsx c iperf3 -s -D -p 5202 -I "$TAPDIR/ic.pid" >/dev/null
wait_until 5 '[ -s "$TAPDIR/ib.pid" ] && [ -s "$TAPDIR/ic.pid" ]'
BG_PIDS+=($(cat "$TAPDIR/ib.pid") $(cat "$TAPDIR/ic.pid"))

STATS=$(stats)
SENT0=$(sess sent)
capture n vx100 "$TAPDIR/mirror.pcap"
capture a eth0 "$TAPDIR/truth.pcap"
# traffic that must not be mirrored: B <-> C, all along
nsx b ping -q -i 0.05 $C_IP >/dev/null 2>&1 &
BG_PIDS+=($!)

info "ping A<->B (same host), A<->C (other host)"
nsx a ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping A->B"
nsx b ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping B->A"
nsx a ping -c 5 -i 0.05 -q $C_IP >/dev/null || fail "ping A->C"
nsx c ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping C->A"
info "iperf3 UDP, fixed count, both ways"
iperf_c a $C_IP -p 5202 -u -b 20M -l 1400 -k 2000 >/dev/null || fail "iperf3 UDP A->C"
iperf_c a $C_IP -p 5202 -u -b 20M -l 1200 -k 2000 -R >/dev/null || fail "iperf3 UDP C->A"
info "iperf3 TCP, short, both ways"
iperf_c a $B_IP -p 5201 -t 2 -b 150M >/dev/null || fail "iperf3 TCP A->B"
iperf_c a $C_IP -p 5202 -t 2 -b 150M -R >/dev/null || fail "iperf3 TCP C->A"
info "nmap from A and towards A"
nsx a nmap -sS -n -T4 -p 1-200 $B_IP >/dev/null || fail "nmap A->B"
nsx c nmap -sS -n -T4 -p 1-200 $A_IP >/dev/null || fail "nmap C->A"

settle       # leaves the counters of the quiet end in $STATS
sleep 0.5
capture_stop "$TAPDIR/truth.pcap"
capture_stop "$TAPDIR/mirror.pcap"
taprun_stop

A_MAC=$(nsx a cat /sys/class/net/eth0/address)
python3 tests/integration/lib/tap_frames.py compare --truth "$TAPDIR/truth.pcap" \
	--mirror "$TAPDIR/mirror.pcap" --encap vxlan --mtu 1500 --vm-mac "$A_MAC" --window >"$TAPDIR/cmp.json"
rc=$?
cat "$TAPDIR/cmp.json"
[ $rc -eq 0 ] || fail "the mirror is not the ground truth"
n=$(jq .mirror_all "$TAPDIR/cmp.json")
[ "$(jq '.truth_frames' "$TAPDIR/cmp.json")" -gt 20000 ] || fail "too little traffic to prove anything"
# every copy the tap reports as sent arrived, and only those (the
# topology is quiet outside the traffic above: IPv6 is off in the VMs)
[ $(($(sess sent) - SENT0)) = "$n" ] || fail "sent counter $(($(sess sent) - SENT0)) != $n frames at the analyzer"
[ "$(sess drop_error)" = 0 ] && [ "$(sess drop_too_big)" = 0 ] && [ "$(sess drop_queue_full)" = 0 ] ||
	fail "drops: $(jq -c .sessions "$TAPDIR/final.json")"
# the copies went in the kernel: nothing passed through the ring
[ "$(jq .engine.ring_records "$TAPDIR/final.json")" = 0 ] || fail "copies went through user space"
echo "ok: $n frames mirrored, equal to the ground truth"
