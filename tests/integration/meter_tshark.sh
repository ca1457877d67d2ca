#!/usr/bin/env bash
# meter_tshark.sh — issue 3, done-when 2: tshark decodes what we export,
# IPFIX over UDP and TCP and NetFlow v9 over UDP, with no malformed packet
# and no expert warning or error (which includes tshark's IPFIX sequence
# analysis), and shows the virtual-station elements 347-350 with the
# right UUIDs, names, interface names and interface ids: once for the
# observing VM, and a second time for the local peer VM.
#
# Offline, VM identity comes from --vm (docs/meter.md): zeek_single-conn
# is one TCP connection between two MACs; A (the client MAC) is a VM on
# capture interface 0, B (the server MAC) a VM on port 1 of the same host.
#  - with A and B: A->B frames are local (record names A, then peer B);
#    B->A frames reach A from a local VM, so count-once skips them (they
#    belong to B's port);
#  - with A only: both directions are metered at A's port, as remote.
# An IPv6 capture without MACs (LINKTYPE_RAW) gets its VM from the port.
# Everything sent is captured on loopback inside a private namespace;
# nfcapd (UDP) and a TCP sink receive it, and nfdump must read every
# flow record back.
# timeout: 300
set -euo pipefail
cd "$(dirname "$0")/../.."
VTAP=${VTAP:-build/asan/vtap}
CORPUS=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs CAP_NET_ADMIN (creates a network namespace)"
	exit 77
fi
NS=vtmeter-tsh-$$
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
UDP=9995 TCP=4739

# wait_for CMD... : polls until CMD succeeds (10 s)
wait_for() {
	for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	echo "timed out waiting for: $*"; exit 1
}

ip netns exec "$NS" tcpdump -i lo -U --immediate-mode -w "$work/cap.pcap" "udp port $UDP or tcp port $TCP" 2>"$work/tcpdump.log" &
pids+=($!)
wait_for grep -q "listening on" "$work/tcpdump.log"
mkdir "$work/nf"
ip netns exec "$NS" nfcapd -w "$work/nf" -p $UDP -b 127.0.0.1 -t 60 -C none -B 4194304 >"$work/nfcapd.log" 2>&1 &
nfpid=$!
pids+=($nfpid)
wait_for sh -c "ip netns exec $NS ss -Hlun 'sport = :$UDP' | grep -q ."
ip netns exec "$NS" python3 -c "
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $TCP)); s.listen(4)
while True:
    c, _ = s.accept()
    while c.recv(65536): pass
    c.close()
" &
pids+=($!)
wait_for sh -c "ip netns exec $NS ss -Hltn 'sport = :$TCP' | grep -q ."

UA=6695eb01-f6a4-8304-79aa-97f2502e193f
UB=11111111-2222-3333-4444-555555555555
UC=0f0e0d0c-0b0a-0908-0706-050403020100
A="port=0,uuid=$UA,name=web-1,ifname=vp-web-1,ifindex=17,mac=00:14:51:16:6e:22"
B="port=1,uuid=$UB,name=db-1,ifname=tp-db-1,ifindex=18,mac=00:12:7f:eb:3b:c0"
C="port=0,uuid=$UC,name=v6-vm,ifname=tp-v6,ifindex=42"
CONN=$CORPUS/traffic/zeek_single-conn.pcap
V6=$CORPUS/traffic/pcapplusplus_four_ipv6_http_streams.pcap

# run DOMAIN FORMAT COLLECTOR FILE VM... : one export, its summary kept
run() {
	local dom=$1 fmt=$2 coll=$3 file=$4
	shift 4
	local vms=()
	for v in "$@"; do vms+=(--vm "$v"); done
	in_ns "$VTAP" meter -r "$file" -c "$fmt" --collector "$coll" --domain "$dom" \
		--stats-interval 0 "${vms[@]}" -j >"$work/run$dom.json"
}
run 1 ipfix udp://127.0.0.1:$UDP "$CONN" "$A" "$B"
run 2 ipfix udp://127.0.0.1:$UDP "$CONN" "$A"
run 3 nfv9 udp://127.0.0.1:$UDP "$CONN" "$A" "$B"
run 4 nfv9 udp://127.0.0.1:$UDP "$CONN" "$A"
run 5 ipfix tcp://127.0.0.1:$TCP "$CONN" "$A" "$B"
run 6 ipfix udp://127.0.0.1:$UDP "$V6" "$C"
run 7 nfv9 udp://127.0.0.1:$UDP "$V6" "$C"

# let nfcapd read everything, then stop it and tcpdump
wait_for sh -c "[ \"\$(ip netns exec $NS ss -Hlun 'sport = :$UDP' | awk '{print \$2}')\" = 0 ]"
sleep 0.3
kill -TERM $nfpid
wait $nfpid || true
sleep 0.3
kill -INT "${pids[0]}"
wait "${pids[0]}" || true

TS=(tshark -n -r "$work/cap.pcap" -d udp.port==$UDP,cflow -d tcp.port==$TCP,cflow)
fail=0
# no malformed packet, no expert message of warning or error severity
# (0x600000 warn, 0x800000 error), no unexpected sequence number
bad=$("${TS[@]}" -Y '_ws.malformed || _ws.expert.severity >= 0x600000 || cflow.unexpected_sequence_number' \
	-T fields -e frame.number -e _ws.expert.message 2>/dev/null)
if [ -n "$bad" ]; then echo "FAIL: tshark flags:"; echo "$bad" | head; fail=1; fi
ncflow=$("${TS[@]}" -Y cflow 2>/dev/null | wc -l)
[ "$ncflow" -ge 14 ] || { echo "FAIL: only $ncflow export packets decoded"; fail=1; }

# per observation domain: every flow record's VM elements
"${TS[@]}" -Y 'cflow.virtual_station_uuid' -T fields -E occurrence=a -E aggregator=';' \
	-e cflow.od_id -e cflow.source_id -e cflow.virtual_station_uuid \
	-e cflow.virtual_station_name -e cflow.virtual_station_interface_name \
	-e cflow.virtual_station_interface_id 2>/dev/null >"$work/vm.tsv"
python3 - "$work" "$UA" "$UB" "$UC" <<'EOF' || fail=1
import json, sys
work, ua, ub, uc = sys.argv[1:5]
ua, ub, uc = (u.replace("-", "") for u in (ua, ub, uc))
A = (ua, "web-1", "vp-web-1", "00000011")
B = (ub, "db-1", "tp-db-1", "00000012")
C = (uc, "v6-vm", "tp-v6", "0000002a")
# domain: (identities each record carries, in order)
want = {1: [A, B], 2: [A], 3: [A, B], 4: [A], 5: [A, B], 6: [C], 7: [C]}
seen = {d: 0 for d in want}
bad = 0
for line in open(f"{work}/vm.tsv"):
    od, sid, uu, nn, ii, xx = line.rstrip("\n").split("\t")
    dom = int((od or sid).split(";")[0])
    cols = [c.split(";") for c in (uu, nn, ii, xx)]
    ids = list(zip(*cols))
    per = len(want[dom])
    if len(ids) % per:
        print(f"FAIL domain {dom}: {len(ids)} identities, not a multiple of {per}"); bad = 1; continue
    for i in range(0, len(ids), per):
        got = [(u, n.rstrip("\x00"), f.rstrip("\x00"), x) for u, n, f, x in ids[i:i + per]]
        if got != want[dom]:
            print(f"FAIL domain {dom}: record carries {got}, want {want[dom]}"); bad = 1
        seen[dom] += 1
for dom in want:
    flows = json.load(open(f"{work}/run{dom}.json"))["flows"]
    if seen[dom] != flows or flows == 0:
        print(f"FAIL domain {dom}: tshark shows {seen[dom]} records with VM elements, vtap exported {flows}")
        bad = 1
    else:
        print(f"ok   domain {dom}: {flows} records, identities {[w[1] for w in want[dom]]}")
# count once: with both VMs the 42 server->client frames are the peer's
for dom in (1, 3, 5):
    d = json.load(open(f"{work}/run{dom}.json"))
    if d["local_dup"] != 42 or d["packets"] != 52:
        print(f"FAIL domain {dom}: local_dup {d['local_dup']}, packets {d['packets']}"); bad = 1
for dom in (2, 4):
    d = json.load(open(f"{work}/run{dom}.json"))
    if d["local_dup"] != 0 or d["packets"] != 94:
        print(f"FAIL domain {dom}: local_dup {d['local_dup']}, packets {d['packets']}"); bad = 1
sys.exit(bad)
EOF

# nfdump reads every record that went to nfcapd (domains 1-4, 6, 7)
want=0
for d in 1 2 3 4 6 7; do want=$((want + $(jq .flows "$work/run$d.json"))); done
got=$(nfdump -R "$work/nf" -q -o csv 2>/dev/null | grep -c . || true)
if [ "$got" != "$want" ]; then echo "FAIL: nfdump reads $got records, sent $want"; fail=1; else echo "ok   nfdump reads all $got records"; fi
exit $fail
