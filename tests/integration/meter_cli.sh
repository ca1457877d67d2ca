#!/usr/bin/env bash
# meter_cli.sh — `vtap meter` options: every bad value is refused with a
# message naming the option (exit 2), a missing file names the file
# (exit 1), --help comes from the option table, and a good run prints the
# flows and a consistent summary.
# timeout: 120
set -uo pipefail
cd "$(dirname "$0")/../.."
VTAP=${VTAP:-build/asan/vtap}
CORPUS=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
F=$CORPUS/traffic/zeek_web.pcap
fail=0

# expect RC MESSAGE ARGS... : `vtap meter ARGS` exits RC, stderr has MESSAGE
expect() {
	local rc=$1 msg=$2 out got
	shift 2
	out=$("$VTAP" meter "$@" 2>&1 >/dev/null)
	got=$?
	if [ $got -ne "$rc" ] || ! grep -qF -- "$msg" <<<"$out"; then
		echo "FAIL: vtap meter $*: exit $got, stderr: $out (want $rc, '$msg')"
		fail=1
	else
		echo "ok   $*"
	fi
}
U=6695eb01-f6a4-8304-79aa-97f2502e193f
expect 2 "option -r/--read FILE is required"
expect 2 "option -c/--format: 'xx' is not one of: ipfix, nfv9" -r "$F" -c xx
expect 2 "option --idle-timeout: 0 is out of range" -r "$F" --idle-timeout 0
expect 2 "option --active-timeout: 'soon' is not a duration" -r "$F" --active-timeout soon
expect 2 "option --max-flows: 0 is out of range" -r "$F" --max-flows 0
expect 2 "option --mtu: 576 is out of range [1280, 65535]" -r "$F" --mtu 576
expect 2 "option --collector: collector 'foo': expected udp://HOST:PORT" -r "$F" --collector foo
expect 2 "port must be 1-65535" -r "$F" --collector udp://127.0.0.1:0
expect 2 "NetFlow v9 is exported over UDP only" -r "$F" -c nfv9 --collector tcp://127.0.0.1:4739
expect 2 "option --vm: 'port=0' needs port= and uuid= or name=" -r "$F" --vm port=0
expect 2 "option --vm: 'zz' is not a UUID" -r "$F" --vm port=0,uuid=zz
expect 2 "option --vm: unknown key 'color'" -r "$F" --vm port=0,name=a,color=red
expect 2 "option --vm: 'name' is not KEY=VALUE" -r "$F" --vm port=0,name
expect 2 "option --vm: port '70000' is not 0-65535" -r "$F" --vm port=70000,name=a
expect 2 "option --vm: port 0 given twice" -r "$F" --vm port=0,name=a --vm port=0,uuid=$U
expect 2 "is already another VM's" -r "$F" --vm port=0,name=a,mac=52:54:00:00:00:01 \
	--vm port=1,name=b,mac=52:54:00:00:00:01
expect 2 "option --vm: 'xx' is not a MAC address" -r "$F" --vm port=0,name=a,mac=xx
expect 2 "unknown option --bogus" -r "$F" --bogus
expect 1 "no-such-file.pcap" -r /nonexistent/no-such-file.pcap

help=$("$VTAP" meter --help)
for o in --read --format --collector --active-timeout --idle-timeout --fin-timeout --max-flows \
	--domain --mtu --rate --vm --flows --json --stats; do
	grep -q -- "$o" <<<"$help" || { echo "FAIL: --help lacks $o"; fail=1; }
done

# a good run: the flows of zeek_web (two HTTP connections' four directions)
out=$("$VTAP" meter -r "$F" --flows) || { echo "FAIL: vtap meter -r $F"; fail=1; }
nflows=$(grep -c '^[0-9]' <<<"$out")
[ "$nflows" -eq 4 ] || { echo "FAIL: $nflows flow lines, want 4"; echo "$out"; fail=1; }
grep -q "frames 24, IP 24" <<<"$out" || { echo "FAIL: summary: $out"; fail=1; }
grep -q "metered 24 packets, 10775 IP bytes" <<<"$out" || { echo "FAIL: summary: $out"; fail=1; }
exit $fail
