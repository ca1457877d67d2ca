#!/usr/bin/env bash
# timeout: 300
# GRE, ERSPAN II, ERSPAN III and TZSP sessions (issue 5, done-when 2): four
# sessions on VM A at once, each to the analyzer, encapsulated in user space
# from the ring buffer, in the lab. The analyzer captures the tunnels raw (this kernel
# has no GRE/ERSPAN modules; a sink holds the GRE protocol and UDP 37008
# open so the analyzer answers nothing). Then:
#  * tshark decodes every packet with no malformed packet and no expert
#    error, with the expected GRE key / ERSPAN session id and version, and
#    the direction (ERSPAN III D bit, TZSP type) right for every copy;
#  * decapsulated, each session's inner frames equal the ground truth on A
#    byte for byte (GSO super-frames segmented in user space and checksums
#    completed as the kernel does), with gap-free GRE sequence numbers and
#    DF set on every outer packet;
#  * each session's sent counter equals its packets at the analyzer.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
cat >"$TAPDIR/s.json" <<EOF
{"sessions": [
 {"id": 11, "name": "a-gre", "target": ["vm1"], "destination": {"type": "gre", "remote": "$AN_IP"}},
 {"id": 12, "name": "a-erspan2", "target": ["vm1"], "destination": {"type": "erspan2", "remote": "$AN_IP"}},
 {"id": 13, "name": "a-erspan3", "target": ["vm1"], "destination": {"type": "erspan3", "remote": "$AN_IP", "hw_id": 7}},
 {"id": 14, "name": "a-tzsp", "target": ["vm1"], "destination": {"type": "tzsp", "remote": "$AN_IP"}}]}
EOF
taprun --port vp-vm1=vm1,$UUID_A --port vp-vm2=vm2,$UUID_B --session "$TAPDIR/s.json"
analyzer_sink
iperf_s vm2 5201
iperf_s vm4 5202

quiet
capture analyzer eth0 "$TAPDIR/mirror.pcap"
capture vm1 eth0 "$TAPDIR/truth.pcap"
bracket_open
nsx vm2 ping -q -i 0.05 $C_IP >/dev/null 2>&1 &
on_exit "kill $! 2>/dev/null"

nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping A->B"
nsx vm4 ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping C->A"
iperf_c vm1 $C_IP -p 5202 -u -b 10M -l 1400 -k 1000 >/dev/null || fail "iperf3 UDP A->C"
iperf_c vm1 $B_IP -p 5201 -u -b 10M -l 800 -k 1000 -R >/dev/null || fail "iperf3 UDP B->A"
iperf_c vm1 $B_IP -p 5201 -t 1 -b 60M >/dev/null || fail "iperf3 TCP A->B"
iperf_c vm1 $C_IP -p 5202 -t 1 -b 60M -R >/dev/null || fail "iperf3 TCP C->A"
nsx vm4 nmap -sS -n -T4 -p 1-100 $A_IP >/dev/null || fail "nmap C->A"

nud_settled  # no probe may fall between the counters and the captures
settle       # leaves the counters of the quiet end in $STATS
capture_stop "$TAPDIR/truth.pcap" "$TAPDIR/mirror.pcap"
bracket_close
taprun_stop
M="$TAPDIR/mirror.pcap"

tcount() { tshark -r "$M" -Y "$1" 2>/dev/null | wc -l; }
# the analyzer only listens: nothing from it may quote our packets back
back=$(tcount "ip.src == $AN_IP")
[ "$back" = 0 ] || { tshark -r "$M" -Y "ip.src == $AN_IP" 2>/dev/null | head -5; fail "$back packets from the analyzer"; }

info "tshark: malformed packets and expert errors (the file, then each session)"
no_tshark_errors "$M" "" "${TCP_OFF[@]}"
for enc in 'gre.proto == 0x6558' 'gre.proto == 0x88be' 'gre.proto == 0x22eb' 'tzsp'; do
	one="$TAPDIR/one-${enc//[^a-z0-9]/_}.pcap"
	tshark_split "$M" "$enc" "$one" 1000
	no_tshark_errors "$one" ""
done

check() { # ID ENCAP FILTER [KEY]
	local id=$1 enc=$2 filt=$3 key=${4:-} n all args=()
	all=$(tcount "$filt")
	n=$(tcount "$filt && $5")
	[ "$n" = "$all" ] && [ "$n" -gt 0 ] || fail "$enc: $n of $all packets carry the expected fields ($5)"
	[ -n "$key" ] && args=(--key "$key")
	python3 $TF compare --truth "$TAPDIR/truth.pcap" --mirror "$M" \
		--encap "$enc" --mtu 1500 --vm-mac "$A_MAC" --window "${args[@]}" >"$TAPDIR/cmp-$enc.json"
	local rc=$?
	echo "$enc: $(cat "$TAPDIR/cmp-$enc.json")"
	[ $rc -eq 0 ] || fail "$enc: the inner frames are not the ground truth"
	sent_matches "$id" "$all" "$enc"
	[ "$(sess drop_error "$id")" = 0 ] && [ "$(sess drop_queue_full "$id")" = 0 ] &&
		[ "$(sess drop_too_big "$id")" = 0 ] || fail "$enc: drops $(jq -c ".sessions[] | select(.id == $id)" <<<"$STATS")"
}
check 11 gre 'gre.proto == 0x6558' 11 'gre.key == 11 && gre.flags.sequence_number == 1'
check 12 erspan2 'gre.proto == 0x88be' 12 'erspan.version == 1 && erspan.spanid == 12 && erspan.truncated == 0'
check 13 erspan3 'gre.proto == 0x22eb' 13 'erspan.version == 2 && erspan.spanid == 13 && erspan.hw == 7 && erspan.gra == 0 && ((eth.src == '"$A_MAC"' && erspan.direction == 0) || (!(eth.src == '"$A_MAC"') && erspan.direction == 1))'
check 14 tzsp 'tzsp' '' 'tzsp.version == 1 && tzsp.encap == 1 && ((eth.src == '"$A_MAC"' && tzsp.type == 0) || (!(eth.src == '"$A_MAC"') && tzsp.type == 1))'
echo "ok: GRE, ERSPAN II, ERSPAN III and TZSP copies decode cleanly and equal the ground truth"
