#!/usr/bin/env bash
# timeout: 240
# Path MTU policies on a 1500-byte monitoring network (the VMs' own frames
# are up to 1514 bytes, so copies with tunnel headers do not fit). Never an
# IP fragment on the monitoring link, always DF. Three sessions on A:
#   1 VXLAN,   "segment": TCP is re-segmented to fit (every payload byte
#              arrives, in valid segments); other frames too big: dropped
#              and counted; the rest in the kernel as is
#   2 ERSPAN3, "slice":   frames too big are cut to fit, with the T bit
#   3 GRE,     "drop":    frames too big are dropped and counted
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 1500
analyzer_vxlan 100
cat >"$TAPDIR/s.json" <<EOF2
[{"id": 1, "name": "seg", "target": ["vm1"], "destination": {"type": "vxlan", "remote": "$AN_IP", "vni": 100, "mtu_policy": "segment"}},
 {"id": 2, "name": "slice", "target": ["vm1"], "destination": {"type": "erspan3", "remote": "$AN_IP", "mtu_policy": "slice"}},
 {"id": 3, "name": "drop", "target": ["vm1"], "destination": {"type": "gre", "remote": "$AN_IP", "mtu_policy": "drop"}}]
EOF2
taprun --port vp-vm1=vm1,$UUID_A --session "$TAPDIR/s.json"
STATS=$(stats)
[ "$(sess path_mtu 1)" = 1500 ] || fail "path MTU from the route: $(sess path_mtu 1)"
analyzer_sink
iperf_s vm2 5201
iperf_s vm4 5202
declare -A C0
for id in 1 2 3; do for f in sent sliced drop_too_big; do C0[$id$f]=$(sess $f $id); done; done
capture analyzer eth0 "$TAPDIR/wire.pcap"
capture analyzer vx100 "$TAPDIR/vx.pcap"
capture vm1 eth0 "$TAPDIR/truth.pcap"

nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping"
nsx vm1 ping -c 5 -i 0.05 -q -s 1472 $B_IP >/dev/null || fail "ping 1500"
iperf_c vm1 $C_IP -p 5202 -u -b 5M -l 1400 -k 300 >/dev/null || fail "UDP 1400"
iperf_c vm1 $C_IP -p 5202 -u -b 5M -l 1472 -k 300 >/dev/null || fail "UDP 1472"
iperf_c vm1 $B_IP -p 5201 -t 1 -b 40M >/dev/null || fail "TCP A->B"
iperf_c vm1 $B_IP -p 5201 -t 1 -b 40M -R >/dev/null || fail "TCP B->A"

settle
capture_stop "$TAPDIR/truth.pcap" "$TAPDIR/vx.pcap" "$TAPDIR/wire.pcap"
taprun_stop
d() { echo $(($(sess $2 $1) - C0[$1$2])); }

info "the monitoring link: DF, no fragment, nothing above its MTU"
# (#1: the outer IP header, not the mirrored one inside)
frag=$(tshark -r "$TAPDIR/wire.pcap" -Y 'ip.src#1 == 198.19.0.1 && (ip.flags.mf#1 == 1 || ip.frag_offset#1 > 0 || ip.flags.df#1 == 0 || ip.len#1 > 1500)' 2>/dev/null | wc -l)
[ "$frag" = 0 ] || fail "$frag outer packets fragmented, without DF or above 1500"
# A cut copy (ERSPAN T bit) holds less than its inner IP header announces:
# that, and only that, tshark rightly flags. The three sessions carry copies
# of the same streams: the file is checked with TCP analysis off, then each
# session on its own (the cut ERSPAN copies cannot be reassembled: their
# file without desegmentation).
CUT='erspan.truncated == 1'
no_tshark_errors "$TAPDIR/wire.pcap" "$CUT" "${TCP_OFF[@]}"
tshark_split "$TAPDIR/wire.pcap" 'udp.dstport == 4789' "$TAPDIR/w-vx.pcap" 100
no_tshark_errors "$TAPDIR/w-vx.pcap" ""
tshark_split "$TAPDIR/wire.pcap" 'gre.proto == 0x6558' "$TAPDIR/w-gre.pcap" 100
no_tshark_errors "$TAPDIR/w-gre.pcap" ""
tshark_split "$TAPDIR/wire.pcap" 'gre.proto == 0x22eb' "$TAPDIR/w-erspan.pcap" 100
no_tshark_errors "$TAPDIR/w-erspan.pcap" "$CUT" -o tcp.desegment_tcp_streams:FALSE

info "1 segment"
big_other=$(python3 $TF count --truth "$TAPDIR/truth.pcap" --truth-filter 'len(f) > 1464 and not (p and p[2] == 6)')
[ "$(d 1 drop_too_big)" = "$big_other" ] || fail "segment: drop_too_big $(d 1 drop_too_big), $big_other frames too big and not TCP"
python3 - "$TAPDIR/truth.pcap" "$TAPDIR/vx.pcap" <<'PY' || fail "segment: TCP bytes differ"
import sys, collections
sys.path.insert(0, 'tests/integration/tap')
import tap_frames as T
def streams(path, norm):
    _, pkts = T.read_pcap(path)
    cov = collections.defaultdict(set)
    n = bad = 0
    for pk in pkts:
        for f in (T.segment(pk['data'], 1500) if norm else [pk['data']]):
            p = T.parse(f)
            if not p or p[2] != 6 or p[3] is None:
                continue
            if not norm:
                n += 1
                bad += not T.csum_ok(f) or len(f) > 1464
            key = (f[p[0]+12:p[0]+20], f[p[3]:p[3]+4])
            seq = int.from_bytes(f[p[3]+4:p[3]+8], 'big')
            for i, b in enumerate(f[p[4]:]):
                cov[key].add(((seq + i) & 0xffffffff, b))
    return cov, n, bad
want, _, _ = streams(sys.argv[1], True)
got, n, bad = streams(sys.argv[2], False)
print(f"TCP: {sum(map(len, want.values()))} payload bytes in the truth, {sum(map(len, got.values()))} mirrored in {n} segments, {bad} invalid or too big")
sys.exit(0 if want == got and bad == 0 and n > 1000 else 1)
PY
# the other frames: those that fit arrive as they are, exactly
NT='not (p and p[2] == 6)'
python3 $TF compare --truth "$TAPDIR/truth.pcap" --mirror "$TAPDIR/vx.pcap" --encap vxlan --window \
	--truth-filter "len(f) <= 1464 and $NT" --mirror-filter "$NT" >"$TAPDIR/c1.json" ||
	fail "segment: frames other than TCP: $(cat "$TAPDIR/c1.json")"

info "2 slice"
python3 $TF compare --truth "$TAPDIR/truth.pcap" --mirror "$TAPDIR/wire.pcap" --encap erspan3 --slice 1460 \
	--window >"$TAPDIR/c2.json" || fail "slice: $(cat "$TAPDIR/c2.json")"
cut=$(python3 $TF count --truth "$TAPDIR/truth.pcap" --truth-filter 'len(f) > 1460')
[ "$(d 2 sliced)" = "$cut" ] && [ "$cut" -gt 300 ] || fail "slice: sliced $(d 2 sliced), $cut frames too big"
tb=$(tshark -r "$TAPDIR/wire.pcap" -Y 'erspan.truncated == 1' 2>/dev/null | wc -l)
[ "$tb" = "$cut" ] || fail "slice: $tb copies with the T bit, $cut cut"

info "3 drop"
python3 $TF compare --truth "$TAPDIR/truth.pcap" --mirror "$TAPDIR/wire.pcap" --encap gre \
	--truth-filter 'len(f) <= 1468' --window >"$TAPDIR/c3.json" || fail "drop: $(cat "$TAPDIR/c3.json")"
big=$(python3 $TF count --truth "$TAPDIR/truth.pcap" --truth-filter 'len(f) > 1468')
[ "$(d 3 drop_too_big)" = "$big" ] && [ "$big" -gt 300 ] || fail "drop: drop_too_big $(d 3 drop_too_big), $big frames too big"
for c in c1 c2 c3; do echo "$c: $(cat "$TAPDIR/$c.json")"; done
echo "ok: segment, slice and drop on a 1500-byte monitoring path, never a fragment"
