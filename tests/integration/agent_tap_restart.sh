#!/usr/bin/env bash
# timeout: 360
# Re-arm and restarts through `vtap agent` (issue 5, done-when 5 and 6).
#  1. Re-arm by the agent's own netlink handling: vm1's port is removed and
#     re-created three times the way libvirt re-attaches a restarted VM
#     (create the link, enslave it to the bridge, then bring it up) while
#     vm1 sends a sequence-numbered UDP stream to vm4. The agent sees the
#     port join br0, resolves its VM from libvirt and arms it: every
#     datagram vm4's interface received is at the analyzer, the re-created
#     port reports no frame that crossed it before it was armed, and its
#     counters continue those of the old port.
#  2. kill -9 of the agent during a sequence-numbered UDP stream and an
#     iperf3 TCP run: vm4 receives every datagram (no VM loss), the
#     in-kernel VXLAN copies go on without the agent, and the next start
#     restores the session from the state file into its old slot (counters
#     continue), adopts the running programs (one filter per hook, replaced
#     in place: `tc filter show`), and the analyzer's frames across the
#     kill and the restart equal the ground truth.
#  3. A clean stop removes every filter and the VXLAN device; the state
#     file keeps the session.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
source tests/integration/tap/agent_tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 100
agent_tap_conf
agent_tap_start
cat >"$TAPDIR/s.json" <<EOF
{"id": 1, "name": "a-vx", "target": {"vms": ["$UUID_A"]}, "direction": "both",
 "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100}}
EOF
vs add "$TAPDIR/s.json" || fail "session add"

info "1. re-arm: vp-vm1 re-created three times during a stream"
capture analyzer vx100 "$TAPDIR/mirror.pcap" udp port 9999
capture vm4 eth0 "$TAPDIR/at-c.pcap" udp port 9999
# kernel_drops NS... : the frames the kernel counts as dropped (received or
# sent) on every interface of those lab members
kernel_drops() {
	local ns
	for ns in "$@"; do
		nsx $ns sh -c 'cat /sys/class/net/*/statistics/rx_dropped /sys/class/net/*/statistics/tx_dropped'
	done | sum_lines
}
sum_lines() { awk '{ t += $1 } END { print t + 0 }'; }
FWD=(h1 fabric h2 vm4)   # the way from A's port to C
D1=$(kernel_drops "${FWD[@]}")
# 4000 datagrams/s until 1.5 s after the last re-creation (the stop file;
# 15 s at most), "SEQ <n>" payloads; send errors (while A has no interface)
# are skipped, the sequence goes on. The sequence numbers whose sendto()
# succeeded go to sent.seq: nothing else may appear at the analyzer.
nsx vm1 python3 -c '
import os, socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0, n, ok = time.time(), 0, []
while n < 60000 and (n % 100 or not os.path.exists("'$TAPDIR'/stop")):
    try:
        s.sendto(struct.pack("!Q", n) + bytes(100), ("'$C_IP'", 9999))
        ok.append(n)
    except OSError:
        pass
    n += 1
    d = t0 + n / 4000.0 - time.time()
    if d > 0:
        time.sleep(d)
open("'$TAPDIR'/sent.seq", "w").write("".join("%d\n" % x for x in ok))
open("'$TAPDIR'/sent.n", "w").write("%d\n" % n)
' &
SENDER=$!
on_exit "kill $SENDER 2>/dev/null"
P0=$(sshow 1 | jq '.ports[] | select(.ifname == "vp-vm1") | .from_vm_packets')
IFX0=$(nsx h1 cat /sys/class/net/vp-vm1/ifindex)
# A deleted port takes its drop counters with it (the new one starts at
# 0): what each counted is kept here, else the drops on the way could sum
# to less than nothing (-1 in one CI run)
DGONE=0
for round in 1 2 3; do
	sleep 1
	info "re-creating vp-vm1 ($round)"
	DGONE=$((DGONE + $(nsx h1 cat /sys/class/net/vp-vm1/statistics/{rx,tx}_dropped | sum_lines)))
	nsx h1 ip link del vp-vm1
	nsx h1 ip link add vp-vm1 type veth peer name eth0 netns "$LAB_PREFIX-vm1"
	nsx h1 ip link set vp-vm1 master br0
	nsx vm1 ip link set eth0 address "$A_MAC"
	nsx vm1 ip addr add $A_IP/16 dev eth0
	nsx vm1 ip link set eth0 up
	nsx h1 ip link set vp-vm1 up
done
sleep 1.5
touch "$TAPDIR/stop"
wait $SENDER
agent_settle
capture_stop "$TAPDIR/at-c.pcap" "$TAPDIR/mirror.pcap"

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
print("\n".join(map(str, sorted(out))))' "$1"; }
# comm needs the byte order of sort, not the numeric one
seqs "$TAPDIR/at-c.pcap" | LC_ALL=C sort >"$TAPDIR/c.seq"
seqs "$TAPDIR/mirror.pcap" | LC_ALL=C sort >"$TAPDIR/m.seq"
nc=$(wc -l <"$TAPDIR/c.seq") nm=$(wc -l <"$TAPDIR/m.seq")
LC_ALL=C sort "$TAPDIR/sent.seq" >"$TAPDIR/s.seq"
missed=$(LC_ALL=C comm -23 "$TAPDIR/c.seq" "$TAPDIR/m.seq" | wc -l)
extra=$(LC_ALL=C comm -13 "$TAPDIR/s.seq" "$TAPDIR/m.seq" | wc -l)
# Datagrams that crossed A's port (the tap copies them there, before the
# bridge) and did not reach C. The analyzer rightly has them: they crossed
# the port. The one place the lab loses such frames without a counter is
# the port's deletion: frames still queued for vp-vm1 (the CPU's receive
# backlog) pass its ingress hook after the bridge has disabled the port
# (109 in one CI run of many; 0 in most). So each must be among the
# datagrams sent just before vm1 lost its interface: fewer than
# netdev_max_backlog successful sends before a send failed.
beyond=$(LC_ALL=C comm -13 "$TAPDIR/c.seq" "$TAPDIR/m.seq" | wc -l)
echo "vm1 sent $(wc -l <"$TAPDIR/s.seq"), C received $nc datagrams of the stream, the analyzer has $nm; missed $missed, never sent $extra, dropped after the port $beyond"
# Not vacuous: most of the stream reached C (each re-creation loses what is
# sent while vm1 has no interface and re-resolves C, longer on a loaded
# machine: at least 2 s of it), and it resumed after the last re-creation:
# the last 2000 datagrams sent (the last half second) all reached C.
[ "$nc" -ge 8000 ] || fail "too few datagrams reached C ($nc, under 2 s of the stream)"
# (the sends that succeeded went on to the end: vm1 had its interface back)
lastsent=$(sort -n "$TAPDIR/sent.seq" | tail -1)
[ "${lastsent:-0}" -ge $(($(cat "$TAPDIR/sent.n") - 10)) ] ||
	fail "vm1 could not send after the last re-creation (last sent $lastsent of $(cat "$TAPDIR/sent.n"))"
late=$(sort -n "$TAPDIR/sent.seq" | tail -2000 | LC_ALL=C sort | LC_ALL=C comm -23 - "$TAPDIR/c.seq" | wc -l)
check_eq "of the last 2000 datagrams sent, missing at C" "$late" 0
check_eq "datagrams A's port forwarded missing at the analyzer" "$missed" 0
check_eq "mirrored datagrams vm1 never sent" "$extra" 0
D1=$(($(kernel_drops "${FWD[@]}") - D1 + DGONE))
python3 - "$TAPDIR/sent.seq" "$TAPDIR/c.seq" "$TAPDIR/m.seq" "$D1" \
	"$(cat /proc/sys/net/core/netdev_max_backlog)" <<'PY' || fail "datagrams lost after A's port"
import sys
sent = sorted(int(l) for l in open(sys.argv[1]))
at_c = set(int(l) for l in open(sys.argv[2]))
beyond = sorted(set(int(l) for l in open(sys.argv[3])) - at_c)
drops, backlog = int(sys.argv[4]), int(sys.argv[5])
# for each datagram sent, how many more succeeded before the next failed
# send (None: no failure came after it)
to_gap, run = {}, None
for i in range(len(sent) - 1, -1, -1):
    if i + 1 < len(sent) and sent[i + 1] != sent[i] + 1:
        run = 0
    elif run is not None:
        run += 1
    to_gap[sent[i]] = run
bad = [x for x in beyond if to_gap.get(x) is None or to_gap[x] >= backlog]
print("after the port, not at C: %d (in flight when the port went: %d; kernel drops counted: %d)"
      % (len(beyond), len(beyond) - len(bad), drops))
if len(bad) > drops:
    print("not explained: %s" % bad[:20])
    sys.exit(1)
PY
S=$(sshow 1)
port=$(jq -c '.ports[] | select(.ifname == "vp-vm1")' <<<"$S")
echo "port: $port"
[ "$(jq .ifindex <<<"$port")" != "$IFX0" ] || fail "vp-vm1 was not re-created"
check_eq "frames that crossed the re-created port before it was armed" "$(jq .frames_before_arm <<<"$port")" 0
check_eq "vp-vm1 armed" "$(jq .armed <<<"$port")" true
check_eq "ports of the session" "$(jq '.ports | length' <<<"$S")" 1
[ "$(jq .from_vm_packets <<<"$port")" -ge $((P0 + nc)) ] || fail "port counters did not continue"
check_eq "times the agent armed vp-vm1" "$(grep -c "tap: armed vp-vm1" "$TAPDIR/agent.log")" 4
grep "port vp-vm1 (ifindex" "$TAPDIR/agent.log" | sed 's/^.*port vp-vm1/  port vp-vm1/' | tail -3

info "2. kill -9 of the agent during traffic, then a restart"
iperf_s vm2 5201
PROG0=$(nsx h1 tc filter show dev vp-vm1 ingress | grep -o 'vtap_from_vm.* id [0-9]*' | grep -o '[0-9]*$')
[ -n "$PROG0" ] || fail "vp-vm1 has no tap filter"
agent_quiet
capture analyzer vx100 "$TAPDIR/m2.pcap"
capture vm1 eth0 "$TAPDIR/t2.pcap"
# Frames the kernel drops between the two capture points (vm1's eth0, and
# the analyzer's vx100 through h1 and the fabric: e.g. a veth pair whose
# receive backlog overflows under the iperf3 load) are in one capture and
# not the other; the kernel counts them (each drop is one frame in one
# capture only), so the comparison below allows that many differences in
# all, no more.
PATH_NS=(vm1 h1 fabric analyzer)
D0=$(kernel_drops "${PATH_NS[@]}")
nsx vm4 "$VTAP" lab seq-recv --port 9100 --ready-file "$TAPDIR/recv.ready" --out "$TAPDIR/recv.json" \
	--timeout 40s &
RECV=$!
on_exit "kill $RECV 2>/dev/null"
wait_for 10 "[ -f '$TAPDIR/recv.ready' ]" || fail "seq-recv did not start"
nsx vm1 "$VTAP" lab seq-send --to $C_IP:9100 --rate 2000 --count 12000 --size 200 >"$TAPDIR/sent.json" &
SEND=$!
sleep 1
iperf_c vm1 $B_IP -p 5201 -t 2 -b 300M >/dev/null || fail "TCP run before the kill"
SENT_BEFORE=$(sctr sent)
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
n0=$(tshark -r "$TAPDIR/m2.pcap" 2>/dev/null | wc -l)
iperf_c vm1 $B_IP -p 5201 -t 1 -b 300M >/dev/null || fail "TCP run without the agent"
n1=$(tshark -r "$TAPDIR/m2.pcap" 2>/dev/null | wc -l)
[ "$n1" -gt "$n0" ] || fail "in-kernel copies stopped with the agent ($n0 -> $n1 frames)"
echo "ok   copies went on without the agent: $n0 -> $n1 frames at the analyzer"
agent_tap_start
"$VTAP" agent status --socket "unix:$TAPDIR/h1.sock" | grep "^tap:"
check_eq "the restart adopted the programs" "$("$VTAP" agent status -j --socket "unix:$TAPDIR/h1.sock" | jq .tap.adopted)" true
grep -q "1 session restored from $TAPDIR/tap-state.json" "$TAPDIR/agent.log" || fail "session not restored from the state file"
check_eq "session after the restart" "$(vs list -j | jq -c '[.sessions[] | [.id, .name, .active]]')" '[[1,"a-vx",true]]'
[ "$(sctr sent)" -ge "$SENT_BEFORE" ] || fail "counters restarted: $(sctr sent) < $SENT_BEFORE"
PROG1=$(nsx h1 tc filter show dev vp-vm1 ingress | grep -o 'vtap_from_vm.* id [0-9]*' | grep -o '[0-9]*$')
[ -n "$PROG1" ] && [ "$PROG1" != "$PROG0" ] || fail "program not replaced ($PROG0 -> $PROG1)"
check_eq "tap filters on vp-vm1 ingress" "$(nsx h1 tc filter show dev vp-vm1 ingress | grep -c vtap)" 1
check_eq "tap filters on vp-vm1 egress" "$(nsx h1 tc filter show dev vp-vm1 egress | grep -c vtap)" 1
wait "$SEND" || fail "seq-send"
wait "$RECV" || fail "seq-recv"
RECV=
sent=$(jq .sent "$TAPDIR/sent.json") got=$(jq .unique "$TAPDIR/recv.json")
echo "stream through the kill: vm1 sent $sent, vm4 received $got distinct"
[ "$sent" -ge 12000 ] || fail "seq-send sent $sent"
check_eq "datagrams vm4 received (no VM loss across kill -9)" "$got" "$sent"
agent_settle
capture_stop "$TAPDIR/t2.pcap" "$TAPDIR/m2.pcap"
D=$(($(kernel_drops "${PATH_NS[@]}") - D0))
python3 $TF compare --truth "$TAPDIR/t2.pcap" --mirror "$TAPDIR/m2.pcap" --encap vxlan --mtu 1500 \
	--vm-mac "$A_MAC" --window >"$TAPDIR/cmp.json"
rc=$?
cat "$TAPDIR/cmp.json"
echo "frames the kernel dropped on the path vm1 - h1 - fabric - analyzer meanwhile: $D"
if [ $rc -ne 0 ]; then
	# only a difference the kernel's drop counters account for is allowed
	jq -e --argjson d "$D" '.problems == {} and .truth_frames > 0 and .missing + .extra <= $d' \
		"$TAPDIR/cmp.json" >/dev/null ||
		fail "the VXLAN mirror has a gap across the kill and the restart (kernel drops on the path: $D)"
	echo "ok   the differences ($(jq .missing "$TAPDIR/cmp.json") missing, $(jq .extra "$TAPDIR/cmp.json") extra) are frames the kernel dropped between the capture points ($D)"
fi

info "3. clean stop"
agent_tap_stop
nsx h1 tc filter show dev vp-vm1 ingress | grep -q vtap && fail "filter left on vp-vm1 ingress"
nsx h1 tc filter show dev vp-vm1 egress | grep -q vtap && fail "filter left on vp-vm1 egress"
nsx h1 ip link show vtapvx0 >/dev/null 2>&1 && fail "vtapvx0 left behind"
jq -e '.sessions | length == 1 and .[0].id == 1' "$TAPDIR/tap-state.json" >/dev/null ||
	fail "the state file lost the session: $(cat "$TAPDIR/tap-state.json")"
echo "ok: re-armed by the agent with no gap; kill -9 lost no VM frame; the restart adopted and restored"
