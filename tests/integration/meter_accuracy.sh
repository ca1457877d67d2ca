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
# nfcapd runs in a private network namespace (loopback only). The files
# are split between two jobs (one nfcapd and one port each): the tools run
# one at a time within a job, and the machine has two cores.
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
JOBS=2
work=$(mktemp -d)
cleanup() {
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

# start_nfcapd DIR : nfcapd on 127.0.0.1:PORT in the namespace, ready
start_nfcapd() {
	mkdir -p "$1"
	ip netns exec "$NS" nfcapd -w "$1" -p $PORT -b 127.0.0.1 -t 60 -C none -B 4194304 \
		>"$w/nfcapd.log" 2>&1 &
	nfpid=$!
	for _ in $(seq 100); do
		ip netns exec "$NS" ss -Hlun "sport = :$PORT" | grep -q . && return 0
		kill -0 $nfpid 2>/dev/null || break
		sleep 0.05
	done
	echo "nfcapd did not start:"; cat "$w/nfcapd.log"; exit 1
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

# check_files K : the files whose index modulo JOBS is K, with nfcapd on
# port 9995 + K; leaves "RUNS FAIL" in $work/jK/result
check_files() {
	local w="$work/j$1" i=0 n=0 fail=0 b d fmt
	PORT=$((9995 + $1))
	nfpid=
	mkdir -p "$w"
	trap '[ -n "$nfpid" ] && kill "$nfpid" 2>/dev/null && wait "$nfpid" 2>/dev/null' EXIT
	for f in "$CORPUS"/traffic/*; do
		[ $((i++ % JOBS)) = "$1" ] || continue
		b=$(basename "$f")
		python3 $CHECK truth "$f" >"$w/truth.json"
		for fmt in ipfix nfv9; do
			d="$w/nf-$fmt"
			rm -rf "$d"
			start_nfcapd "$d"
			ip netns exec "$NS" "$VTAP" meter -r "$f" -c $fmt --collector udp://127.0.0.1:$PORT \
				--flows -j >"$w/vtap.json" 2>"$w/vtap.err" ||
				{ echo "FAIL $b/$fmt: vtap meter failed:"; cat "$w/vtap.err"; fail=1; stop_nfcapd; continue; }
			stop_nfcapd
			# the exporter says it sent every record and dropped nothing
			python3 - "$w/vtap.json" "$b/$fmt" <<-'EOF' || fail=1
	import json, sys
	d = json.load(open(sys.argv[1]))
	c = d["collectors"][0]
	if c["records"] != d["flows"] or c["notsent_flows"] or c["dropped_messages"]:
	    sys.exit(f"FAIL {sys.argv[2]}: exported {c['records']} of {d['flows']} flows, "
	             f"{c['notsent_flows']} not sent")
	EOF
			TZ=UTC nfdump -R "$d" -o json >"$w/nfdump.raw" 2>/dev/null || : >"$w/nfdump.raw"
			python3 $CHECK vtap "$w/vtap.json" >"$w/v.json"
			python3 $CHECK nfdump "$w/nfdump.raw" >"$w/n.json"
			python3 $CHECK compare "$w/truth.json" "$w/v.json" "$b vtap vs tshark" || fail=1
			python3 $CHECK compare "$w/truth.json" "$w/n.json" "$b/$fmt nfdump vs tshark" ||
				{ fail=1; sed 's/^/  nfcapd: /' "$w/nfcapd.log"; ls -l "$d"; }
			python3 $CHECK compare "$w/v.json" "$w/n.json" "$b/$fmt nfdump records vs vtap" || fail=1
			n=$((n + 1))
		done
	done
	echo "$n $fail" >"$w/result"
}

pids=()
for k in $(seq 0 $((JOBS - 1))); do
	check_files "$k" >"$work/j$k.log" 2>&1 &
	pids+=($!)
done
fail=0 n=0
for k in $(seq 0 $((JOBS - 1))); do
	wait "${pids[$k]}" || true
	cat "$work/j$k.log"
	read -r jn jf <"$work/j$k/result" 2>/dev/null || { echo "FAIL: job $k ended early"; jn=0 jf=1; }
	n=$((n + jn))
	[ "$jf" = 0 ] || fail=1
done
echo "$n file/format runs checked"
[ $n -ge 80 ] || { echo "FAIL: expected about 48 files x 2 formats"; fail=1; }
exit $fail
