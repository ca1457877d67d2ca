#!/usr/bin/env bash
# timeout: 120
# decode_cli.sh — `vtap decode` options: --count, --link, -q, -j, text
# output, and option errors that name the option (exit 2).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
C=$VTAP_CORPUS
fail=0
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then echo "ok   $1: $3"; else echo "FAIL $1: got '$3', want '$2'"; fail=1; fi
}

# text: one line per record, then the summary
out=$("$VTAP" decode -r "$C/traffic/zeek_vlan-qinqinq.pcap")
check "text first line" \
	"1 ethernet len 90/90 vlan 30,20,10 ipv4 141.142.228.5 > 192.150.187.43 proto 6 ip_len 64 ports 59856 > 80 flags [S]" \
	"$(head -1 <<<"$out")"
check "text summary" \
	"# pcap: 14 records, 14 IP (14 IPv4, 0 IPv6), 0 non-IP, 0 undecoded; ip_len sum 5891" \
	"$(grep '^# pcap' <<<"$out")"
check "text lines" 15 "$(wc -l <<<"$out")"

# --count stops early; -q prints only the summary
check "--count 5" 5 "$("$VTAP" decode -j --count 5 -r "$C/traffic/zeek_web.pcap" | grep -c '"frame"')"
check "-q" 1 "$("$VTAP" decode -q -r "$C/traffic/zeek_web.pcap" | wc -l)"

# --link overrides the file's link type: raw IP read as Ethernet is garbage,
# Ethernet read as raw IP has no valid version nibble
check "--link ethernet on raw" 0 "$("$VTAP" decode -q -j --link ethernet -r "$C/traffic/pcapplusplus_raw_ip.pcap" |
	python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["summary"]["ip"])')"
check "--link 101 on ethernet" '{"ip_version": 24}' "$("$VTAP" decode -q -j --link 101 -r "$C/traffic/zeek_web.pcap" |
	python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["summary"]["errors"]))')"

# option errors name the option and exit 2
"$VTAP" decode --link foo -r "$C/traffic/zeek_web.pcap" >/dev/null 2>"$errf"
rc=$?
check "--link foo exit" 2 $rc
grep -q -- "--link: 'foo' is not a link type" "$errf" ||
	{ echo "FAIL --link foo message: $(cat "$errf")"; fail=1; }
"$VTAP" decode --count abc -r "$C/traffic/zeek_web.pcap" >/dev/null 2>"$errf"
rc=$?
check "--count abc exit" 2 $rc
grep -q -- "--count" "$errf" ||
	{ echo "FAIL --count message: $(cat "$errf")"; fail=1; }
"$VTAP" decode >/dev/null 2>"$errf"
check "no -r exit" 2 $?
grep -q -- "-r/--read FILE is required" "$errf" ||
	{ echo "FAIL no -r message: $(cat "$errf")"; fail=1; }
"$VTAP" decode -r /nonexistent.pcap >/dev/null 2>"$errf"
check "missing file exit" 1 $?
grep -q "/nonexistent.pcap: No such file or directory" "$errf" ||
	{ echo "FAIL missing file message: $(cat "$errf")"; fail=1; }
exit $fail
