#!/usr/bin/env bash
# timeout: 400
# collector_peers.sh — real exporters, side by side with a real nfcapd
# receiving the same stream (issue 4, done-when 2).
#
# Each phase: exporter -> nfcapd (writes its files, and repeats every
# datagram with -R) -> vtap collector. Then the stored flow, packet and
# byte totals must equal nfcapd's exactly, and three top-10 queries must
# give nfdump's answers: src IP by bytes, dst port by flows, and
# `proto tcp and dst port 443` by src IP (by flows). Ties: every group we
# return has exactly nfdump's value for that key, and the ten values are
# nfdump's ten.
# Phases: softflowd NetFlow v9; softflowd IPFIX (-A milli); nfreplay -v 9
# of the first phase's nfcapd files. (vtap's own meter: collector_meter.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_cmd nfcapd nfdump nfreplay softflowd jq python3 curl ss

C=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
PCAPS=(traffic/pcapplusplus_many-protocols.pcap scans/ndpi_synscan.pcap
	traffic/zeek_var-services-std-ports.pcap traffic/pcapplusplus_sll.pcap
	scans/stopddos_amp.TCP.reflection.SYNACK.pcap traffic/zeek_wikipedia.pcap)
for p in "${PCAPS[@]}"; do [ -f "$C/$p" ] || fail "missing corpus file $p"; done

# compare.py NFCSV VTAPJSON LABEL : nfdump's full statistic vs our top 10
cat >"$TMPDIR_T/compare.py" <<'EOF'
import csv, json, sys
nf_csv, vt_json, label, field, vkey = sys.argv[1:6]
col = {"bytes": "byt", "flows": "fl", "packets": "pkt"}[field]
nf = {}
with open(nf_csv) as f:
    rows = [r for r in csv.reader(f)]
hdr = rows[0]
for r in rows[1:]:
    if len(r) != len(hdr) or r[0] == "Summary" or not r[0] or r[0] == "flows":
        break
    d = dict(zip(hdr, r))
    nf[d["val"].strip()] = int(d[col])
vt = json.load(open(vt_json))["groups"]
ours = [(str(g[vkey]), g[field]) for g in vt]
errors = []
for k, v in ours:
    if nf.get(k) != v:
        errors.append("%s: %s=%s, nfdump says %s" % (label, k, v, nf.get(k)))
want = sorted(nf.values(), reverse=True)[:10]
got = sorted([v for _, v in ours], reverse=True)
if got != want:
    errors.append("%s: top values %s, nfdump's %s" % (label, got, want))
if len(ours) != min(10, len(nf)):
    errors.append("%s: %d groups, nfdump has %d" % (label, len(ours), len(nf)))
if errors:
    print("\n".join(errors)); sys.exit(1)
print("ok   %s: %d groups agree (top value %s)" % (label, len(ours), got[0] if got else "-"))
EOF

# phase NAME CMD... : CMD sends to the nfcapd port given in $NFPORT
phase() {
	local name=$1
	shift
	local d=$TMPDIR_T/$name
	mkdir -p "$d"
	coll_start "$name" -o "collector.listen=127.0.0.1:0" -o "collector.tcp_listen="
	local vport=${COLL_UDP##*:}
	NFPORT=$(free_port)
	nf_start "$d/nf" "$NFPORT" -R "127.0.0.1/$vport"
	"$@" >"$d/exporter.log" 2>&1 || { cat "$d/exporter.log"; fail "$name: exporter failed"; }
	nf_drain "$NFPORT"
	coll_settle
	nf_stop
	local st
	st=$(coll_api api/v1/status)
	check_eq "$name: datagrams dropped by the kernel" "$(jq .ingest.kernel_drops <<<"$st")" 0
	check_eq "$name: datagrams rejected" "$(jq .ingest.rejected <<<"$st")" 0
	coll_stop

	# totals
	local nf_i vt
	nf_i=$(nfdump -R "$d/nf" -I)
	vt=$("$VTAP" flows -d "$d/store" -A proto -j -n 0)
	local nflows npkts nbytes
	nflows=$(awk '/^Flows:/ {print $2}' <<<"$nf_i")
	npkts=$(awk '/^Packets:/ {print $2}' <<<"$nf_i")
	nbytes=$(awk '/^Bytes:/ {print $2}' <<<"$nf_i")
	[ "${nflows:-0}" -gt 100 ] || fail "$name: nfcapd stored only '$nflows' flows: the phase did not run"
	check_eq "$name: flows" "$(jq .summary.flows <<<"$vt")" "$nflows"
	check_eq "$name: packets" "$(jq .summary.packets <<<"$vt")" "$npkts"
	check_eq "$name: bytes" "$(jq .summary.bytes <<<"$vt")" "$nbytes"

	# top 10s
	nfdump -R "$d/nf" -s srcip/bytes -n 0 -o csv >"$d/nf1.csv"
	"$VTAP" flows -d "$d/store" -A srcip -s bytes -n 10 -j >"$d/vt1.json"
	python3 "$TMPDIR_T/compare.py" "$d/nf1.csv" "$d/vt1.json" "$name: src IP by bytes" bytes srcip ||
		fail "$name: top 10 src IP by bytes differs"
	nfdump -R "$d/nf" -s dstport/flows -n 0 -o csv >"$d/nf2.csv"
	"$VTAP" flows -d "$d/store" -A dstport -s flows -n 10 -j >"$d/vt2.json"
	python3 "$TMPDIR_T/compare.py" "$d/nf2.csv" "$d/vt2.json" "$name: dst port by flows" flows dstport ||
		fail "$name: top 10 dst port by flows differs"
	nfdump -R "$d/nf" -s srcip -n 0 -o csv 'proto tcp and dst port 443' >"$d/nf3.csv"
	"$VTAP" flows -d "$d/store" -A srcip -s flows -n 10 -j proto tcp and dst port 443 >"$d/vt3.json"
	[ "$(jq '.groups | length' "$d/vt3.json")" -gt 0 ] || fail "$name: no tcp/443 flows: the check is empty"
	python3 "$TMPDIR_T/compare.py" "$d/nf3.csv" "$d/vt3.json" "$name: tcp/443 by src IP" flows srcip ||
		fail "$name: top 10 src IP of tcp/443 differs"
}

softflowd_all() { # VERSION [ARGS]
	local v=$1 p
	shift
	for p in "${PCAPS[@]}"; do
		softflowd -r "$C/$p" -n "127.0.0.1:$NFPORT" -v "$v" -c none "$@" || return 1
	done
}

phase v9 softflowd_all 9
phase ipfix softflowd_all 10 -A milli

nfreplay_v9() {
	local f
	for f in "$TMPDIR_T"/v9/nf/nfcapd.*; do
		nfreplay -r "$f" -v 9 -H 127.0.0.1 -p "$NFPORT" -d 1000 || return 1
	done
}
phase nfreplay nfreplay_v9
echo "collector_peers: every phase agrees with nfcapd/nfdump"
