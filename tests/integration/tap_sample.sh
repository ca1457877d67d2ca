#!/usr/bin/env bash
# timeout: 240
# Slicing, 1-in-N sampling and rate limits, and their counters.
#   41 TZSP, slice 128: every copy is the first 128 bytes of a wire frame,
#      with the original length in TZSP's tag (Wireshark's "Original Length")
#   42 VXLAN, slice 100: cut in user space (a cut needs the whole frame's
#      checksum first), so not in the kernel; VXLAN has no in-band mark
#   43 GRE, sample 1 in 4: matched = sent + sampled_out, and a quarter sent
#   44 GRE, 500 packets/s: matched = sent + drop_rate, sent within the rate
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 42
cat >"$TAPDIR/s.json" <<EOF2
[{"id": 41, "name": "slice-tzsp", "target": ["vm1"], "slice": 128, "destination": {"type": "tzsp", "remote": "$AN_IP"}},
 {"id": 42, "name": "slice-vx", "target": ["vm1"], "slice": 100, "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 42}},
 {"id": 43, "name": "sample", "target": ["vm1"], "sample": 4, "rules": [{"action": "accept", "proto": "udp"}],
  "destination": {"type": "gre", "remote": "$AN_IP", "key": 43}},
 {"id": 44, "name": "rate", "target": ["vm1"], "rules": [{"action": "accept", "proto": "udp"}],
  "rate_limit": {"pps": 500, "burst_packets": 50}, "destination": {"type": "gre", "remote": "$AN_IP", "key": 44}}]
EOF2
taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/s.json"
analyzer_sink
iperf_s vm4 5202
STATS=$(stats)
declare -A C0
for id in 41 42 43 44; do for f in matched sent sliced sampled_out drop_rate; do C0[$id$f]=$(sess $f $id); done; done
capture analyzer eth0 "$TAPDIR/wire.pcap"
capture analyzer vx42 "$TAPDIR/vx.pcap"
capture vm1 eth0 "$TAPDIR/truth.pcap"

T0=$(date +%s.%N)
iperf_c vm1 $C_IP -p 5202 -u -b 16M -l 1000 -k 4000 >/dev/null || fail "UDP A->C"
T1=$(date +%s.%N)
iperf_c vm1 $C_IP -p 5202 -t 1 -b 20M >/dev/null || fail "TCP A->C"
settle
capture_stop "$TAPDIR/truth.pcap" "$TAPDIR/wire.pcap" "$TAPDIR/vx.pcap"
taprun_stop
d() { echo $(($(sess $2 $1) - C0[$1$2])); }

info "41 slice 128 over TZSP"
python3 $TF compare --truth "$TAPDIR/truth.pcap" --mirror "$TAPDIR/wire.pcap" --encap tzsp --slice 128 \
	--vm-mac "$A_MAC" --window >"$TAPDIR/c41.json" || fail "slice: $(cat "$TAPDIR/c41.json")"
cut=$(python3 $TF count --truth "$TAPDIR/truth.pcap" --truth-filter 'len(f) > 128')
[ "$(d 41 sliced)" = "$cut" ] || fail "sliced counter $(d 41 sliced), $cut frames longer than 128"
orig=$(tshark -r "$TAPDIR/wire.pcap" -Y 'tzsp && tzsp.original_length > 128' 2>/dev/null | wc -l)
[ "$orig" = "$cut" ] || fail "$orig copies carry an original length above 128, $cut were cut"

info "42 slice 100 over VXLAN"
python3 $TF compare --truth "$TAPDIR/truth.pcap" --mirror "$TAPDIR/vx.pcap" --encap vxlan --slice 100 \
	--window >"$TAPDIR/c42.json" || fail "kernel slice: $(cat "$TAPDIR/c42.json")"

info "43 sample 1 in 4"
m=$(d 43 matched) s=$(d 43 sent) o=$(d 43 sampled_out)
echo "matched $m sent $s sampled out $o"
[ "$m" = $((s + o)) ] || fail "matched $m != sent $s + sampled_out $o"
[ "$m" -ge 4000 ] && [ $((s * 4)) -ge $((m - 4)) ] && [ $((s * 4)) -le $((m + 4)) ] || fail "not 1 in 4"
n=$(tshark -r "$TAPDIR/wire.pcap" -Y 'gre.key == 43' 2>/dev/null | wc -l)
[ "$n" = "$s" ] || fail "$n sampled copies at the analyzer, $s sent"

info "44 rate 500 packets/s, burst 50"
m=$(d 44 matched) s=$(d 44 sent) r=$(d 44 drop_rate)
secs=$(echo "$T1 - $T0" | bc)
lim=$(echo "$secs * 500 + 50" | bc | cut -d. -f1)
echo "matched $m sent $s over the rate $r in ${secs}s (at most $lim)"
[ "$m" = $((s + r)) ] || fail "matched $m != sent $s + drop_rate $r"
[ "$s" -le "$lim" ] && [ "$s" -ge $((lim / 2)) ] || fail "sent $s outside the rate ($lim)"
n=$(tshark -r "$TAPDIR/wire.pcap" -Y 'gre.key == 44' 2>/dev/null | wc -l)
[ "$n" = "$s" ] || fail "$n rate-limited copies at the analyzer, $s sent"
echo "ok: slicing, sampling and rate limits do what they say and count it"
