#!/usr/bin/env bash
# timeout: 300
# Completeness of an in-kernel VXLAN mirror session (issue 5, done-when 1),
# in the lab: a session on VM A (vm1, veth port) and one on the TAP VM vm3
# (its host port is a TAP device fed with virtio-net headers, as qemu
# does), both directions, VNIs 100 and 103, to the analyzer, whose own
# kernel VXLAN devices terminate the tunnels and tcpdump captures the
# inner frames. During ping (IPv4 and IPv6), a fixed-count iperf3 UDP
# stream, a short iperf3 TCP run and an nmap scan, to and from A, with a
# same-host peer (vm2) and a cross-host peer (vm4), while vm2 and vm4 also
# talk to each other: the multiset of frames at the analyzer must equal the
# multiset captured on the VM's own interface inside its namespace,
# normalised to wire frames (tap/tap_frames.py says how and why), byte for
# byte, and each session's sent counter must equal the frames the analyzer
# received.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 100
analyzer_vxlan 103
cat >"$TAPDIR/s.json" <<EOF
[{"id": 1, "name": "vm1-all", "target": {"vms": ["$UUID_A"]}, "direction": "both",
  "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}},
 {"id": 3, "name": "vm3-all", "target": ["vm3"],
  "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 103}}]
EOF
taprun --port vp-vm1=vm1,$UUID_A --port vp-vm2=vm2,$UUID_B --port tp-vm3=vm3,$UUID_T \
	--session "$TAPDIR/s.json"
STATS=$(stats)
[ "$(sess path)" = kernel ] || fail "VXLAN session not on the kernel path: $(sess path)"
[ "$(sess dest_up)" = true ] || fail "destination not up"
iperf_s vm2 5201
iperf_s vm4 5202

quiet
capture analyzer vx100 "$TAPDIR/m1.pcap"
capture analyzer vx103 "$TAPDIR/m3.pcap"
capture vm1 eth0 "$TAPDIR/t1.pcap"
capture vm3 eth0 "$TAPDIR/t3.pcap"
bracket_open
# traffic that must not be mirrored: vm2 <-> vm4, all along
nsx vm2 ping -q -i 0.05 $C_IP >/dev/null 2>&1 &
on_exit "kill $! 2>/dev/null"

info "ping A<->B (same host), A<->C (other host), IPv4 and IPv6; the TAP VM"
nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping A->B"
nsx vm2 ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping B->A"
nsx vm1 ping -c 5 -i 0.05 -q $C_IP >/dev/null || fail "ping A->C"
nsx vm4 ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping C->A"
nsx vm1 ping -6 -c 5 -i 0.05 -q $B6 >/dev/null || fail "ping -6 A->B"
nsx vm3 ping -c 5 -i 0.05 -q $C_IP >/dev/null || fail "ping T->C"
info "iperf3 UDP, fixed count, both ways"
iperf_c vm1 $C_IP -p 5202 -u -b 20M -l 1400 -k 2000 >/dev/null || fail "iperf3 UDP A->C"
iperf_c vm1 $C_IP -p 5202 -u -b 20M -l 1200 -k 2000 -R >/dev/null || fail "iperf3 UDP C->A"
info "iperf3 TCP, short, both ways (and the TAP VM)"
iperf_c vm1 $B_IP -p 5201 -t 2 -b 150M >/dev/null || fail "iperf3 TCP A->B"
iperf_c vm1 $C_IP -p 5202 -t 2 -b 150M -R >/dev/null || fail "iperf3 TCP C->A"
iperf_c vm3 $C_IP -p 5202 -t 1 -b 50M >/dev/null || fail "iperf3 TCP T->C"
info "nmap from A and towards A"
nsx vm1 nmap -sS -n -T4 -p 1-200 $B_IP >/dev/null || fail "nmap A->B"
nsx vm4 nmap -sS -n -T4 -p 1-200 $A_IP >/dev/null || fail "nmap C->A"

nud_settled  # no probe may fall between the counters and the captures
settle       # leaves the counters of the quiet end in $STATS
capture_stop "$TAPDIR/t1.pcap" "$TAPDIR/t3.pcap" "$TAPDIR/m1.pcap" "$TAPDIR/m3.pcap"
bracket_close
taprun_stop
[ "$(jq .engine.ring_records "$TAPDIR/final.json")" = 0 ] || fail "copies went through user space"

declare -A VM=([1]=vm1 [3]=vm3) MAC=([1]=$A_MAC [3]=$T_MAC)
for id in 1 3; do
	vm=${VM[$id]} mac=${MAC[$id]}
	python3 $TF compare --truth "$TAPDIR/t$id.pcap" --mirror "$TAPDIR/m$id.pcap" --encap vxlan \
		--mtu 1500 --vm-mac "$mac" --window >"$TAPDIR/cmp$id.json"
	rc=$?
	echo "$vm: $(cat "$TAPDIR/cmp$id.json")"
	[ $rc -eq 0 ] || fail "$vm: the mirror is not the ground truth"
	n=$(jq .mirror_all "$TAPDIR/cmp$id.json")
	# every copy the tap reports as sent arrived, and only those
	sent_matches "$id" "$n" "$vm"
	[ "$(sess drop_error "$id")" = 0 ] && [ "$(sess drop_too_big "$id")" = 0 ] &&
		[ "$(sess drop_queue_full "$id")" = 0 ] || fail "$vm: drops: $(jq -c .sessions <<<"$STATS")"
done
[ "$(jq .truth_frames "$TAPDIR/cmp1.json")" -gt 20000 ] || fail "too little traffic to prove anything"
echo "ok: $(jq .mirror_frames "$TAPDIR/cmp1.json") + $(jq .mirror_frames "$TAPDIR/cmp3.json") frames mirrored, equal to the ground truth"
