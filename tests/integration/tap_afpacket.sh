#!/usr/bin/env bash
# timeout: 240
# The AF_PACKET backend (--backend afpacket), for hosts without eBPF: the
# same engine with TPACKET_V3 sockets on the ports and everything in user
# space (rules, direction, VXLAN and GRE encapsulation, segmentation of
# super-frames from the virtio-net header's GSO size). Three sessions on A:
# everything over VXLAN, only TCP over GRE (rules), only frames to the VM
# over ERSPAN III (direction). Each equals its slice of the ground truth.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 100
cat >"$TAPDIR/s.json" <<EOF2
[{"id": 1, "name": "a-vx", "target": ["vm1"], "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}},
 {"id": 2, "name": "a-tcp", "target": ["vm1"], "rules": [{"action": "accept", "proto": "tcp"}],
  "destination": {"type": "gre", "remote": "$AN_IP", "key": 2}},
 {"id": 3, "name": "a-in", "target": ["vm1"], "direction": "to_vm",
  "destination": {"type": "erspan3", "remote": "$AN_IP", "session_id": 3}}]
EOF2
taprun --port vp-vm1=vm1,$UUID_A --port vp-vm2=vm2,$UUID_B --session "$TAPDIR/s.json" --backend afpacket
STATS=$(stats)
[ "$(jq -r .engine.backend <<<"$STATS")" = afpacket ] || fail "not the AF_PACKET backend"
analyzer_sink
iperf_s vm2 5201
capture analyzer vx100 "$TAPDIR/vx.pcap"
capture analyzer eth0 "$TAPDIR/gre.pcap" ip proto 47
capture vm1 eth0 "$TAPDIR/truth.pcap"

nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping"
iperf_c vm1 $B_IP -p 5201 -t 1 -b 40M >/dev/null || fail "iperf3 TCP A->B"
iperf_c vm1 $B_IP -p 5201 -t 1 -b 40M -R >/dev/null || fail "iperf3 TCP B->A"
iperf_c vm1 $B_IP -p 5201 -u -b 5M -l 1000 -k 500 >/dev/null || fail "iperf3 UDP"

settle
capture_stop "$TAPDIR/truth.pcap" "$TAPDIR/vx.pcap" "$TAPDIR/gre.pcap"
taprun_stop
cmp() { # NAME ARGS...
	local name=$1; shift
	python3 $TF compare --truth "$TAPDIR/truth.pcap" --mtu 1500 \
		--vm-mac "$A_MAC" --window "$@" >"$TAPDIR/$name.json"
	local rc=$?
	echo "$name: $(cat "$TAPDIR/$name.json")"
	[ $rc -eq 0 ] || fail "$name: not the ground truth"
}
cmp vxlan --mirror "$TAPDIR/vx.pcap" --encap vxlan
cmp gre-tcp --mirror "$TAPDIR/gre.pcap" --encap gre --key 2 --truth-filter 'p is not None and p[2] == 6'
cmp erspan3-to-vm --mirror "$TAPDIR/gre.pcap" --encap erspan3 --key 3 \
	--truth-filter 'f[6:12] != bytes.fromhex("'"${A_MAC//:/}"'")'
[ "$(jq ".directions.from_vm // 0" "$TAPDIR/erspan3-to-vm.json")" = 0 ] || fail "frames from the VM in a to_vm session"
[ "$(jq .engine.afpacket_frames "$TAPDIR/final.json")" -gt 1000 ] || fail "AF_PACKET saw nothing"
echo "ok: the AF_PACKET backend delivers the ground truth"
