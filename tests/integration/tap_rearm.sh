#!/usr/bin/env bash
# timeout: 240
# Re-arm (issue 5, done-when 6): VM A's port is removed and re-created
# three times (same name, same MAC, same identity — as libvirt re-attaches
# a restarted VM: create the link, enslave it, bring it up) while A sends a
# sequence-numbered UDP stream to C. The harness re-arms the port from the
# RTM_NEWLINK event. Every datagram that A's port forwarded — every one C's
# interface received — must be at the analyzer; the re-created port reports
# no frame that crossed it before it was armed, and its counters continue
# those of the old port.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 100
cat >"$TAPDIR/s.json" <<EOF2
{"id": 1, "name": "a-vx", "target": {"vms": ["$UUID_A"]}, "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}}
EOF2
taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/s.json"
capture analyzer vx100 "$TAPDIR/mirror.pcap" udp port 9999
capture vm4 eth0 "$TAPDIR/at-c.pcap" udp port 9999

# the stream: 4000 datagrams/s for 6 s, "SEQ <n>" payloads; send errors
# (while A has no interface) are skipped, the sequence goes on
nsx vm1 python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0, n = time.time(), 0
while n < 24000:
    try:
        s.sendto(struct.pack("!Q", n) + bytes(100), ("'$C_IP'", 9999))
    except OSError:
        pass
    n += 1
    d = t0 + n / 4000.0 - time.time()
    if d > 0:
        time.sleep(d)
' &
SENDER=$!
on_exit "kill $SENDER 2>/dev/null"
STATS=$(stats)
P0=$(jq '.ports[] | select(.ifname == "vp-vm1") | .from_vm_packets' <<<"$STATS")
for round in 1 2 3; do
	sleep 1
	info "re-creating vp-vm1 ($round)"
	nsx h1 ip link del vp-vm1
	nsx h1 ip link add vp-vm1 type veth peer name eth0 netns "$LAB_PREFIX-vm1"
	nsx vm1 ip link set eth0 address "$A_MAC"
	nsx vm1 ip addr add $A_IP/16 dev eth0
	nsx vm1 ip link set eth0 up
	nsx h1 ip link set vp-vm1 master br0 up
done
wait $SENDER
settle
sleep 0.3
capture_stop "$TAPDIR/at-c.pcap"
capture_stop "$TAPDIR/mirror.pcap"
taprun_stop
STATS=$(cat "$TAPDIR/final.json")

seqs() { python3 -c '
import struct, sys
sys.path.insert(0, "tests/integration/tap")
import tap_frames
_, pkts = tap_frames.read_pcap(sys.argv[1])
out = set()
for p in pkts:
    f = p["data"]
    q = tap_frames.parse(f)
    if q and q[2] == 17 and q[3] is not None and f[q[3] + 2:q[3] + 4] == bytes([0x27, 0x0f]):
        out.add(struct.unpack("!Q", f[q[4]:q[4] + 8])[0])
print(" ".join(map(str, sorted(out))))' "$1"; }
seqs "$TAPDIR/at-c.pcap" | tr ' ' '\n' | sort -n >"$TAPDIR/c.seq"
seqs "$TAPDIR/mirror.pcap" | tr ' ' '\n' | sort -n >"$TAPDIR/m.seq"
nc=$(wc -l <"$TAPDIR/c.seq") nm=$(wc -l <"$TAPDIR/m.seq")
missed=$(comm -23 "$TAPDIR/c.seq" "$TAPDIR/m.seq" | wc -l)
extra=$(comm -13 "$TAPDIR/c.seq" "$TAPDIR/m.seq" | wc -l)
echo "C received $nc datagrams of the stream, the analyzer has $nm; missed $missed, not at C $extra"
[ "$nc" -gt 15000 ] || fail "too few datagrams reached C ($nc)"
[ "$missed" = 0 ] || fail "the analyzer misses $missed datagrams that A's port forwarded"
[ "$extra" = 0 ] || fail "$extra mirrored datagrams never reached C"
port=$(jq -c '.ports[] | select(.ifname == "vp-vm1")' <<<"$STATS")
echo "port: $port"
[ "$(jq .frames_before_arm <<<"$port")" = 0 ] || fail "frames crossed the re-created port before it was armed"
[ "$(jq .armed <<<"$port")" = true ] || fail "vp-vm1 not armed at the end"
[ "$(jq '.ports | length' <<<"$STATS")" = 1 ] || fail "the re-created port got a new identity slot"
[ "$(jq .from_vm_packets <<<"$port")" -ge $((P0 + nc)) ] || fail "port counters did not continue"
n_arm=$(grep -c "tap: armed vp-vm1" "$TAPDIR/taprun.err")
[ "$n_arm" = 4 ] || fail "vp-vm1 armed $n_arm times, not 4"
grep "event to armed" "$TAPDIR/taprun.err" | sed "s/^.*tap-run: /  /"
echo "ok: no datagram the port forwarded is missing across 3 re-creations"
