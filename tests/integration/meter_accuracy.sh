#!/usr/bin/env bash
# meter_accuracy.sh — issue 3, done-when 1: offline accuracy against real
# peers. Every capture in corpus traffic/ is metered by `vtap meter -r`
# and exported, as IPFIX and as NetFlow v9, to a real nfcapd; then
#  - the packets and bytes nfdump reports equal tshark's ground truth
#    (meter_check.py truth) exactly, and so does the set of flow keys and
#    each key's packets and bytes;
#  - vtap's own flow list (--flows) equals tshark's the same way;
#  - every record nfdump stored equals the record vtap says it exported
#    (key, first/last ms, packets, bytes, TCP flags): nothing lost,
#    nothing altered on the wire, in either format.
# No file is excluded: a capture without IP (tcpdump_802.1ad_QinQ carries
# only non-IP frames) must give zero flows on every side.
# nfcapd runs in a private network namespace (loopback only).
# timeout: 1500
set -euo pipefail
cd "$(dirname "$0")/../.."
VTAP=${VTAP:-build/asan/vtap}
CORPUS=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
CHECK=tests/integration/meter_check.py
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs CAP_NET_ADMIN (creates a network namespace)"
	exit 77
fi
for t in nfcapd nfdump tshark python3; do
	command -v $t >/dev/null || { echo "$t missing (scripts/deps.sh installs it)"; exit 1; }
done

NS=vtmeter-acc-$$
work=$(mktemp -d)
nfpid=
cleanup() {
	[ -n "$nfpid" ] && kill "$nfpid" 2>/dev/null && wait "$nfpid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
PORT=9995

# start_nfcapd DIR : nfcapd on 127.0.0.1:PORT in the namespace, ready
start_nfcapd() {
	mkdir -p "$1"
	ip netns exec "$NS" nfcapd -w "$1" -p $PORT -b 127.0.0.1 -t 60 -C none -B 4194304 \
		>"$work/nfcapd.log" 2>&1 &
	nfpid=$!
	for _ in $(seq 100); do
		ip netns exec "$NS" ss -Hlun "sport = :$PORT" | grep -q . && return 0
		kill -0 $nfpid 2>/dev/null || break
		sleep 0.05
	done
	echo "nfcapd did not start:"; cat "$work/nfcapd.log"; exit 1
}
stop_nfcapd() {
	# nfcapd drops what is still queued on its socket when it gets
	# SIGTERM: wait until it has read everything, then let it finish
	# the last datagram
	for _ in $(seq 200); do
		q=$(ip netns exec "$NS" ss -Hlun "sport = :$PORT" | awk '{print $2}')
		[ "${q:-0}" = 0 ] && break
		sleep 0.05
	done
	sleep 0.2
	kill -TERM "$nfpid"
	wait "$nfpid" || true
	nfpid=
}

fail=0 n=0
for f in "$CORPUS"/traffic/*; do
	b=$(basename "$f")
	python3 $CHECK truth "$f" >"$work/truth.json"
	for fmt in ipfix nfv9; do
		d="$work/nf-$fmt"
		rm -rf "$d"
		start_nfcapd "$d"
		ip netns exec "$NS" "$VTAP" meter -r "$f" -c $fmt --collector udp://127.0.0.1:$PORT \
			--flows -j >"$work/vtap.json" 2>"$work/vtap.err" ||
			{ echo "FAIL $b/$fmt: vtap meter failed:"; cat "$work/vtap.err"; fail=1; stop_nfcapd; continue; }
		stop_nfcapd
		# the exporter says it sent every record and dropped nothing
		python3 - "$work/vtap.json" "$b/$fmt" <<'EOF' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
c = d["collectors"][0]
if c["records"] != d["flows"] or c["notsent_flows"] or c["dropped_messages"]:
    sys.exit(f"FAIL {sys.argv[2]}: exported {c['records']} of {d['flows']} flows, "
             f"{c['notsent_flows']} not sent")
EOF
		TZ=UTC nfdump -R "$d" -o json >"$work/nfdump.raw" 2>/dev/null || : >"$work/nfdump.raw"
		python3 $CHECK vtap "$work/vtap.json" >"$work/v.json"
		python3 $CHECK nfdump "$work/nfdump.raw" >"$work/n.json"
		python3 $CHECK compare "$work/truth.json" "$work/v.json" "$b vtap vs tshark" || fail=1
		python3 $CHECK compare "$work/truth.json" "$work/n.json" "$b/$fmt nfdump vs tshark" ||
			{ fail=1; sed 's/^/  nfcapd: /' "$work/nfcapd.log"; ls -l "$d"; }
		python3 $CHECK compare "$work/v.json" "$work/n.json" "$b/$fmt nfdump records vs vtap" || fail=1
		n=$((n + 1))
	done
done
echo "$n file/format runs checked"
[ $n -ge 80 ] || { echo "FAIL: expected about 48 files x 2 formats"; fail=1; }
exit $fail
