#!/usr/bin/env bash
# timeout: 900
# flowdecode_tshark.sh — issue 4 Done-when 1: every capture in the corpus'
# flowexport/ and every raw payload decodes to records whose fields equal
# tshark's cflow / sflow decode of the same packets, field by field, record
# by record (flowdecode_tshark.py); captures whose templates never appear
# end as counted no-template sets. Then the malformed corpus (with the
# sFlow crasher) goes through the decoders under ASan+UBSan: never a crash
# or a sanitizer report, and the crasher's damage is counted by reason.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
[ -x "$VTAP" ] || { echo "$VTAP not built"; exit 1; }
for t in tshark mergecap python3; do
	command -v $t >/dev/null || { echo "skipped: needs $t (scripts/deps.sh installs it)"; exit 77; }
done
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=87"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

python3 "$here/flowdecode_tshark.py" "$VTAP" "$tmp/work" || fail=1

# the sFlow crasher: 8 bytes of an sFlow header, counted, no record
out=$("$VTAP" flowdecode -q -j -r "$VTAP_CORPUS/malformed/tcpdump_sflow_print-segv.pcap" 2>"$tmp/err")
rc=$?
if [ $rc -ne 0 ] || ! python3 -c '
import json, sys
e = [o for o in map(json.loads, sys.stdin) if o["type"] == "exporter"]
assert len(e) == 1 and e[0]["packets_sflow"] == 1 and e[0]["records"] == 0, e
assert e[0]["error"] == {"short": 1}, e[0]["error"]
' <<<"$out"; then
	echo "FAIL sflow crasher: rc $rc"; echo "$out"; cat "$tmp/err"; fail=1
else
	echo "ok   malformed/tcpdump_sflow_print-segv.pcap: counted as short, no record"
fi

# every malformed capture: no crash, no sanitizer report (exit 0, or 1
# with a message when the capture itself cannot be read)
n=0
for f in "$VTAP_CORPUS"/malformed/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	"$VTAP" flowdecode -q -r "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$tmp/err" ||
		{ [ $rc -ne 0 ] && [ $rc -ne 1 ]; } || { [ $rc -eq 1 ] && ! [ -s "$tmp/err" ]; }; then
		echo "FAIL $(basename "$f"): rc $rc"; cat "$tmp/err"; fail=1
	fi
done
echo "malformed corpus: $n files decoded without a crash or sanitizer report"
[ $fail -eq 0 ] && echo "flowdecode agrees with tshark"
exit $fail
