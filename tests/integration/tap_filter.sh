#!/usr/bin/env bash
# timeout: 240
# Filters (issue 5, done-when 3): a session accepting only TCP to port 443
# of VM A delivers exactly those frames, and its counters equal what was
# delivered. Two sessions with the same intent, both on A:
#   21  ordered rules evaluated in the kernel, copies by in-kernel VXLAN
#   22  the pcap-filter expression, evaluated in user space, over GRE
# Traffic to and from A on port 443 and elsewhere (TCP to A:443 from B and
# C, UDP to A:443, TCP to A:80, TCP from A to B:443, ping) — only the
# frames with destination A and TCP destination port 443 may arrive.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 21
cat >"$TAPDIR/s.json" <<EOF
[{"id": 21, "name": "a-https-rules", "target": ["vm1"],
  "rules": [{"action": "reject", "proto": "udp"},
            {"action": "accept", "proto": "tcp", "dst": "$A_IP/32", "dport": 443}],
  "default": "reject",
  "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 21}},
 {"id": 22, "name": "a-https-pcap", "target": ["vm1"],
  "pcap_filter": "ip dst host $A_IP and tcp dst port 443",
  "destination": {"type": "gre", "remote": "$AN_IP", "key": 22}}]
EOF
taprun --port vp-vm1=vm1,$UUID_A --port vp-vm2=vm2,$UUID_B --session "$TAPDIR/s.json"
analyzer_sink
iperf_s vm1 443
iperf_s vm1 80
iperf_s vm2 443

quiet
M21=$(sess matched 21) S21=$(sess sent 21) M22=$(sess matched 22) S22=$(sess sent 22)
capture analyzer vx21 "$TAPDIR/m21.pcap"
capture analyzer eth0 "$TAPDIR/m22.pcap" ip proto 47
capture vm1 eth0 "$TAPDIR/truth.pcap"

iperf_c vm2 $A_IP -p 443 -t 1 -b 30M >/dev/null || fail "TCP B->A:443"
iperf_c vm4 $A_IP -p 443 -t 1 -b 30M -R >/dev/null || fail "TCP C->A:443 reversed"
iperf_c vm4 $A_IP -p 443 -u -b 5M -l 1000 -k 500 >/dev/null || fail "UDP C->A:443"
iperf_c vm2 $A_IP -p 80 -t 1 -b 20M >/dev/null || fail "TCP B->A:80"
iperf_c vm1 $B_IP -p 443 -t 1 -b 20M >/dev/null || fail "TCP A->B:443"
nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping"

settle
capture_stop "$TAPDIR/truth.pcap" "$TAPDIR/m21.pcap" "$TAPDIR/m22.pcap"
taprun_stop

# ground truth: A's frames with IPv4 destination A and TCP destination port 443
TRUTH="p is not None and p[1] == 4 and p[2] == 6 and p[3] is not None and f[p[0]+16:p[0]+20] == bytes([198,18,1,1]) and f[p[3]+2:p[3]+4] == bytes([1,187])"
for s in 21:vxlan 22:gre; do
	IFS=: read -r id enc <<<"$s"
	python3 $TF compare --truth "$TAPDIR/truth.pcap" \
		--mirror "$TAPDIR/m$id.pcap" --encap $enc --mtu 1500 --truth-filter "$TRUTH" --window \
		>"$TAPDIR/cmp$id.json"
	rc=$?
	echo "session $id: $(cat "$TAPDIR/cmp$id.json")"
	[ $rc -eq 0 ] || fail "session $id did not deliver exactly TCP to A:443"
	n=$(jq .mirror_all "$TAPDIR/cmp$id.json")
	[ "$n" -gt 500 ] || fail "session $id: only $n frames, too few to prove anything"
	m0=M$id s0=S$id
	dm=$(($(sess matched $id) - ${!m0})) ds=$(($(sess sent $id) - ${!s0}))
	[ "$dm" = "$n" ] && [ "$ds" = "$n" ] ||
		fail "session $id: matched +$dm, sent +$ds, delivered $n"
done
# and the truth really had other traffic that was left out
all=$(python3 $TF count --truth "$TAPDIR/truth.pcap" --mtu 1500)
[ "$all" -gt $((n * 2)) ] || fail "the other traffic did not happen ($all frames in all)"
echo "ok: both sessions delivered exactly the $n frames of TCP to A:443 out of $all, counters equal"
