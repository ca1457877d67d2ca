#!/usr/bin/env bash
# timeout: 600
# flowdecode_softflowd.sh — a real exporter: softflowd 1.1.0 meters corpus
# captures and exports NetFlow v5, v9 (with IPv6), IPFIX with uptime and
# with millisecond times, IPFIX biflows (RFC 5103, -b) and sampled IPFIX
# (-s 10), to a UDP sink in a private network namespace while tcpdump
# records the export; and IPFIX over TCP (-P tcp), whose records (decoded
# with --tcp through the stream framing) must equal those of the same
# export over UDP. Each recording is decoded by `vtap flowdecode` and by
# tshark and compared record by record, field by field
# (flowdecode_tshark.py); the exporter's sequence numbers must show no gap
# and no reset (softflowd's off-by-the-message IPFIX counter is tolerated,
# and counted as quirks), biflows must give reverse halves and the sampled
# export must be scaled by its rate.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
[ -x "$VTAP" ] || { echo "$VTAP not built"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs CAP_NET_ADMIN (network namespaces)"; exit 77; }
for t in softflowd tcpdump tshark python3; do
	command -v $t >/dev/null || { echo "skipped: needs $t (scripts/deps.sh installs it)"; exit 77; }
done
ns=vtfd$$
tmp=$(mktemp -d)
sink= tdp=
cleanup() {
	[ -n "$tdp" ] && kill "$tdp" 2>/dev/null
	[ -n "$sink" ] && kill "$sink" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" || { echo "cannot create a network namespace"; exit 1; }
ip -n "$ns" link set lo up
# sockets that take the export (UDP 2055, TCP 4739), so softflowd gets no
# port-unreachable and its TCP connection is accepted
ip netns exec "$ns" python3 -c '
import select, socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
u.bind(("127.0.0.1", 2055))
t = socket.socket()
t.bind(("127.0.0.1", 4739))
t.listen(4)
conns = []
while True:
    for s in select.select([u, t] + conns, [], [])[0]:
        if s is u:
            u.recv(65535)
        elif s is t:
            conns.append(t.accept()[0])
        elif not s.recv(65536):
            conns.remove(s)
            s.close()' &
sink=$!
for _ in $(seq 50); do
	ip netns exec "$ns" ss -ltn 2>/dev/null | grep -q 127.0.0.1:4739 && break; sleep 0.1
done

# record NAME TRAFFIC SOFTFLOWD-OPTIONS... (-P tcp: to TCP port 4739)
record() {
	local name=$1 traffic=$2 filter='udp dst port 2055' dest=127.0.0.1:2055; shift 2
	if [[ " $* " == *" -P tcp "* ]]; then
		filter='tcp port 4739' dest=127.0.0.1:4739
	fi
	ip netns exec "$ns" tcpdump -i lo -U --immediate-mode -B 16384 -w "$tmp/$name.pcap" \
		"$filter" 2>"$tmp/$name.tcpdump" &
	tdp=$!
	for _ in $(seq 100); do grep -qs listening "$tmp/$name.tcpdump" && break; sleep 0.1; done
	ip netns exec "$ns" softflowd -r "$VTAP_CORPUS/$traffic" -n "$dest" "$@" \
		-c none -p "$tmp/softflowd.pid" -d >"$tmp/$name.softflowd" 2>&1 ||
		{ echo "softflowd $* failed:"; cat "$tmp/$name.softflowd"; exit 1; }
	# softflowd flushed its flows in a burst at the end of the file: wait
	# until the recording has stopped growing for a second
	local n=-1 m=0 same=0
	for _ in $(seq 100); do
		m=$(stat -c %s "$tmp/$name.pcap")
		if [ "$m" = "$n" ]; then
			same=$((same + 1))
			[ $same -ge 4 ] && [ "$m" -gt 24 ] && break
		else
			same=0
		fi
		n=$m; sleep 0.25
	done
	kill -INT "$tdp"; wait "$tdp"; tdp=
	# everything softflowd sent was recorded (over TCP: nothing dropped)
	local sent got
	sent=$(sed -n 's/.* in \([0-9]*\) packets (0 failures).*/\1/p' "$tmp/$name.softflowd")
	got=$(sed -n 's/^\([0-9]*\) packets captured/\1/p' "$tmp/$name.tcpdump")
	[ "$dest" = 127.0.0.1:4739 ] && [ -n "$sent" ] &&
		grep -q '^0 packets dropped by kernel' "$tmp/$name.tcpdump" && got=$sent
	if [ -z "$sent" ] || [ "$sent" != "$got" ]; then
		echo "recording $name incomplete: softflowd sent '${sent:-?}' datagrams, tcpdump has '$got'"
		cat "$tmp/$name.softflowd" "$tmp/$name.tcpdump"; exit 1
	fi
	[ "$dest" = 127.0.0.1:2055 ] && cases+=("softflowd-$name=$tmp/$name.pcap")
}

cases=()
record v5 traffic/pcapplusplus_many-protocols.pcap -v 5
record v9 scans/ndpi_synscan.pcap -v 9
record v9-ipv6 traffic/pcapplusplus_many-protocols.pcap -v 9 -6
record ipfix-uptime traffic/pcapplusplus_many-protocols.pcap -v 10
record ipfix-milli scans/ndpi_synscan.pcap -v 10 -A milli
record ipfix-biflow traffic/pcapplusplus_many-protocols.pcap -v 10 -b -A milli
record ipfix-sampled traffic/pcapplusplus_many-protocols.pcap -v 10 -s 10 -A milli
record ipfix-tcp scans/ndpi_synscan.pcap -v 10 -A milli -P tcp

fail=0
python3 "$here/flowdecode_tshark.py" "$VTAP" "$tmp/work" "${cases[@]}" || fail=1

# the exporter's statistics for each recording
for c in "${cases[@]}"; do
	name=${c%%=*} pcap=${c#*=}
	"$VTAP" flowdecode -j -r "$pcap" >"$tmp/out.json" || { echo "FAIL $name: flowdecode"; fail=1; continue; }
	python3 - "$name" "$tmp/out.json" <<'PY' || fail=1
import json, sys
name, path = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(path)]
recs = [l for l in lines if l["type"] == "flow"]
ex = [l for l in lines if l["type"] == "exporter"]
assert len(ex) == 1, ex
e = ex[0]
problems = []
if not recs:
    problems.append("no records")
if e["errors"] or e["no_template_sets"]:
    problems.append(f"errors {e['error']}, no-template {e['no_template_sets']}")
if e["seq_gaps"] or e["seq_resets"]:
    problems.append(f"sequence gaps {e['seq_gaps']} resets {e['seq_resets']}")
ipfix = "ipfix" in name
if ipfix and e["packets_ipfix"] > 1 and not e["seq_quirks"]:
    problems.append("softflowd's IPFIX counter quirk was not seen")
if not ipfix and e["seq_quirks"]:
    problems.append(f"{e['seq_quirks']} quirks outside IPFIX")
rev = sum(r["reverse"] for r in recs)
if ("biflow" in name) != (rev > 0):
    problems.append(f"{rev} reverse halves")
samp = {r["sampling"] for r in recs}
if samp != ({10} if "sampled" in name else {1}):
    problems.append(f"sampling factors {samp}")
if any(r["first_ms"] > r["last_ms"] for r in recs):
    problems.append("a flow ends before it starts")
print(("FAIL " if problems else "ok   ") + f"{name}: {len(recs)} records ({rev} reverse), "
      f"{e['packets']} datagrams, sequence quirks {e['seq_quirks']}, sampling {sorted(samp)}"
      + ("; " + "; ".join(problems) if problems else ""))
sys.exit(1 if problems else 0)
PY
done
# IPFIX over TCP: the same records as the same export over UDP
"$VTAP" flowdecode -j --tcp -r "$tmp/ipfix-tcp.pcap" >"$tmp/tcp.json" &&
	"$VTAP" flowdecode -j -r "$tmp/ipfix-milli.pcap" >"$tmp/udp.json" || fail=1
python3 - "$tmp/tcp.json" "$tmp/udp.json" "$tmp/ipfix-tcp.softflowd" <<'PY' || fail=1
import json, re, sys
def recs(p):
    out, summ = [], {}
    for l in open(p):
        o = json.loads(l)
        if o["type"] == "flow":
            for k in ("frame", "set", "rec"):
                o.pop(k)
            out.append(json.dumps(o, sort_keys=True))
        elif o["type"] == "summary":
            summ = o
    return sorted(out), summ
tcp, ts = recs(sys.argv[1])
udp, _ = recs(sys.argv[2])
exported = int(re.search(r"Flows exported: \d+ \((\d+) records\)", open(sys.argv[3]).read()).group(1))
ok = tcp == udp and len(tcp) == exported and ts["tcp_gaps"] == 0 and ts["tcp_desync"] == 0
print(("ok   " if ok else "FAIL ") + f"ipfix over tcp: {len(tcp)} records in {ts['tcp_messages']} "
      f"messages, softflowd exported {exported}, same as over udp: {tcp == udp}")
sys.exit(0 if ok else 1)
PY
[ $fail -eq 0 ] && echo "softflowd exports decode like tshark decodes them"
exit $fail
