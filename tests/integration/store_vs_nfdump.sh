#!/usr/bin/env bash
# timeout: 400
# store_vs_nfdump: the same flows in nfdump's files and in our store give
# the same answers.
#
# nfpcapd (nfdump's own pcap flow maker) turns the corpus captures (traffic,
# scans, tunnels: IPv4 and IPv6, TCP/UDP/ICMP/ICMPv6/GRE/ESP/SCTP...) into
# nfcapd files; `nfdump -o csv` of those files is imported with
# `vtap store import`. Then flow, packet and byte totals must be equal, and
# top-N tables must be equal to nfdump's: the full tables (-n 0) row for
# row, and the top 10 as nfdump prints them (where nfdump's order among
# equal values is its own, only membership in that tie is checked).
set -euo pipefail
cd "$(dirname "$0")/../.."
VTAP=${VTAP:-build/asan/vtap}
CORPUS=${VTAP_CORPUS:-../shared/corpus}
for t in nfpcapd nfdump python3; do
	command -v $t >/dev/null || { echo "skipped: $t is not installed"; exit 77; }
done
[ -d "$CORPUS/traffic" ] || { echo "corpus not found at $CORPUS"; exit 1; }

tmp=$(mktemp -d /tmp/vtap-store-nfdump.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC   # nfdump prints local time

mkdir -p "$tmp/nf"
n=0
for f in "$CORPUS"/traffic/*.pcap* "$CORPUS"/scans/*.pcap* "$CORPUS"/tunnels/*.pcap*; do
	# a capture nfpcapd cannot read (an unsupported link type) is skipped
	timeout 60 nfpcapd -r "$f" -w "$tmp/nf" >/dev/null 2>&1 && n=$((n + 1)) || true
done
echo "nfpcapd made flows from $n captures: $(ls "$tmp/nf" | wc -l) nfcapd files"

nfdump -R "$tmp/nf" -o csv >"$tmp/flows.csv"
"$VTAP" store import -d "$tmp/st" --no-fsync "$tmp/flows.csv"

# nfstat FILTER STAT ORDER N : nfdump's statistic as "key flows packets bytes"
nfstat() {
	nfdump -R "$tmp/nf" -q -o csv -n "$4" -s "$2/$3" ${1:+"$1"} |
		python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
if not rows: sys.exit(0)
h = rows[0]
col = lambda *names: next(h.index(n) for n in names if n in h)
v, f, p, b = col("val"), col("fl"), col("pkt", "ipkt"), col("byt", "ibyt")
for r in rows[1:]:
    if len(r) == len(h):
        print(r[v].strip(), r[f], r[p], r[b])'
}
# ourstat FILTER KEY ORDER N : ours, same form
ourstat() {
	"$VTAP" flows -d "$tmp/st" -q --csv -A "$2" -s "$3" -n "$4" ${1:+$1} |
		python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
h = rows[0]
for r in rows[1:]:
    print(r[0], r[h.index("flows")], r[h.index("packets")], r[h.index("bytes")])'
}

# compare NAME ORDER FULL_OURS FULL_NF TOP_OURS TOP_NF
compare() {
	python3 - "$@" <<'EOF'
import ipaddress, sys
name, order, fo, fn, to, tn = sys.argv[1:7]
def key(k):
    # nfdump keys an address by its two 64-bit halves and takes a zero
    # upper half for IPv4: "::1" is shown (and counted) as 0.0.0.1, "::" as
    # 0.0.0.0. Map our addresses the same way before comparing.
    try:
        a = ipaddress.ip_address(k)
    except ValueError:
        return k
    if a.version == 6 and int(a) >> 64 == 0:
        return str(ipaddress.IPv4Address(int(a) & 0xffffffff))
    return a.compressed
def load(p, merge=False):
    out = {}
    rows = []
    for line in open(p):
        k, f, pk, b = line.split()
        r = (key(k), int(f), int(pk), int(b))
        rows.append(r)
        if r[0] in out:
            o = out[r[0]]
            out[r[0]] = (r[0], o[1] + r[1], o[2] + r[2], o[3] + r[3])
        else:
            out[r[0]] = r
    return list(out.values()) if merge else rows
m = {"flows": 1, "packets": 2, "bytes": 3}[order]
full_o, full_n = load(fo, merge=True), load(fn)
top_o, top_n = load(to), load(tn)
bad = []
if sorted(full_o) != sorted(full_n):
    so, sn = set(full_o), set(full_n)
    bad.append(f"full tables differ: {len(full_o)} vs {len(full_n)} groups; "
               f"ours only {sorted(so - sn)[:3]}, nfdump only {sorted(sn - so)[:3]}")
if [r[m] for r in top_o] != [r[m] for r in top_n]:
    bad.append(f"top {order}: {[r[m] for r in top_o]} vs nfdump {[r[m] for r in top_n]}")
elif top_n:
    edge = top_n[-1][m]
    if {r for r in top_o if r[m] > edge} != {r for r in top_n if r[m] > edge}:
        bad.append("top groups above the last value differ")
    tie = {r for r in full_n if r[m] == edge}
    for r in top_o + top_n:
        if r[m] == edge and r not in tie:
            bad.append(f"{r} is not among the groups with {order} = {edge}")
# our order: descending, ties by key
if [r[m] for r in top_o] != sorted((r[m] for r in top_o), reverse=True):
    bad.append("our top list is not in descending order")
if bad:
    print(f"FAIL {name}:", *bad, sep="\n  ")
    sys.exit(1)
print(f"ok   {name}: {len(full_o)} groups equal, top {len(top_o)} equal "
      f"(first: {top_o[0] if top_o else '-'})")
EOF
}

fail=0
# totals: nfdump's summary line vs our summary
read -r nf_flows nf_bytes nf_packets < <(tail -1 "$tmp/flows.csv" | awk -F, '{print $1, $2, $3}')
read -r our_flows our_packets our_bytes < <("$VTAP" flows -d "$tmp/st" -j -n 1 |
	python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["flows"], s["packets"], s["bytes"])')
echo "totals: nfdump $nf_flows flows $nf_packets packets $nf_bytes bytes; vtap $our_flows $our_packets $our_bytes"
if [ "$nf_flows" != "$our_flows" ] || [ "$nf_packets" != "$our_packets" ] || [ "$nf_bytes" != "$our_bytes" ]; then
	echo "FAIL totals differ"; fail=1
fi
[ "$nf_flows" -gt 20000 ] || { echo "FAIL only $nf_flows flows: the corpus run is too small to mean much"; fail=1; }

# name | nfdump filter | nfdump stat | our key | order
while IFS='|' read -r name filter stat key order; do
	nfstat "$filter" "$stat" "$order" 0 >"$tmp/fn"
	nfstat "$filter" "$stat" "$order" 10 >"$tmp/tn"
	ourstat "$filter" "$key" "$order" 0 >"$tmp/fo"
	ourstat "$filter" "$key" "$order" 10 >"$tmp/to"
	[ -s "$tmp/fn" ] || { echo "FAIL $name: nfdump returned nothing"; fail=1; continue; }
	compare "$name" "$order" "$tmp/fo" "$tmp/fn" "$tmp/to" "$tmp/tn" || fail=1
done <<'EOF'
src IP by bytes||srcip|srcip|bytes
dst port by flows||dstport|dstport|flows
proto tcp and dst port 443 by src IP|proto tcp and dst port 443|srcip|srcip|flows
proto tcp and dst port 443 by src IP, bytes|proto tcp and dst port 443|srcip|srcip|bytes
dst IP by packets||dstip|dstip|packets
any IP by bytes||ip|ip|bytes
src port by packets, UDP or ICMP|proto udp or proto icmp|srcport|srcport|packets
dst port by bytes, not 10/8|not net 10.0.0.0/8 and not proto icmp6|dstport|dstport|bytes
src IP by flows, IPv6 nets|net 2001::/16 or net fe80::/10|srcip|srcip|flows
EOF
exit $fail
