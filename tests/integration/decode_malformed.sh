#!/usr/bin/env bash
# timeout: 600
# decode_malformed.sh — every file of corpus malformed/ gives a clear error
# naming the file (and the byte offset for damage after the header) or is
# read to the end with its bad frames counted by reason; never a crash or a
# sanitizer report (the ASan+UBSan build). Each file is read twice, mapped
# and through a pipe (the streaming reader), with identical results.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
[ -x "$VTAP" ] || { echo "$VTAP not built"; exit 1; }
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=87"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Files no reader can open, and the words their message must contain.
declare -A unreadable=(
	[libpcap_linktype-reserved-field-not-zero.pcap]="link-type field 0x00300000 has reserved bits set"
	[libpcap_pcap-invalid-version-1.pcap]="pcap version 1.4 unsupported"
	[libpcap_pcapng-invalid-vers-1.pcapng]="at offset 0: version 0.1 unsupported"
	[libpcap_shb-option-too-long.pcapng]="at offset 0: option 12336 of length 12336 overruns the block"
)

fail=0 n=0 opened=0 records=0
for f in "$VTAP_CORPUS"/malformed/*; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	n=$((n + 1))
	"$VTAP" decode -q -j -r "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	cat "$f" | "$VTAP" decode -q -j -r - >"$tmp/out2" 2>"$tmp/err2"
	rc2=$?
	if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$tmp/err" "$tmp/err2"; then
		echo "FAIL $name: sanitizer report"; cat "$tmp/err" "$tmp/err2"; fail=1; continue
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		echo "FAIL $name: exit code $rc"; cat "$tmp/err"; fail=1; continue
	fi
	want=${unreadable[$name]:-}
	if [ -n "$want" ]; then
		if [ $rc -ne 1 ] || [ -s "$tmp/out" ] || ! grep -qF "$name: " "$tmp/err" ||
			! grep -qF "$want" "$tmp/err"; then
			echo "FAIL $name: expected an open error containing '$want', got rc $rc:"
			cat "$tmp/err"; fail=1; continue
		fi
		echo "ok   $name: $(cat "$tmp/err")"
		continue
	fi
	opened=$((opened + 1))
	# readable: a summary whose counts add up; an error only with an offset
	if ! python3 - "$tmp/out" "$rc" "$tmp/err" "$name" <<'PY'
import json, sys
out, rc, errf, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(out).read().splitlines()
s = json.loads(lines[-1])['summary']
assert s['records'] == s['ip'] + s['non_ip'] + s['undecoded'], s
assert s['ipv4'] + s['ipv6'] == s['ip'], s
assert sum(s['errors'].values()) <= s['records'], s
if rc:
    msg = open(errf).read()
    assert name in msg and 'offset' in msg, msg
    assert s['read_error'], s
print('%d records, %d IP, %d non-IP, %d undecoded, errors %s%s' % (
    s['records'], s['ip'], s['non_ip'], s['undecoded'], s['errors'] or '{}',
    ', read error: ' + s['read_error'] if rc else ''))
PY
	then
		echo "FAIL $name: bad summary"; cat "$tmp/out" "$tmp/err"; fail=1; continue
	fi >"$tmp/line"
	# the streaming reader must agree with the mapped one
	if [ $rc2 -ne $rc ] || ! diff -q "$tmp/out" "$tmp/out2" >/dev/null; then
		echo "FAIL $name: stdin read differs from mapped read (rc $rc vs $rc2)"
		diff "$tmp/out" "$tmp/out2" | head -5; fail=1; continue
	fi
	records=$((records + $(python3 -c "import json,sys;print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['summary']['records'])" "$tmp/out")))
	echo "ok   $name: $(cat "$tmp/line")"
done
[ $n -ge 40 ] || { echo "only $n files in malformed/"; fail=1; }

# A capture whose last record is cut (none of malformed/ is): every record
# before it is delivered, then an error naming the record's byte offset.
src="$VTAP_CORPUS/traffic/zeek_web.pcap"
size=$(stat -c %s "$src")
head -c $((size - 10)) "$src" >"$tmp/cut.pcap"
total=$("$VTAP" decode -q -j -r "$src" | python3 -c "import json,sys;print(json.loads(sys.stdin.read().splitlines()[-1])['summary']['records'])")
for mode in file pipe; do
	if [ $mode = file ]; then
		"$VTAP" decode -j -r "$tmp/cut.pcap" >"$tmp/out" 2>"$tmp/err"; rc=$?
	else
		"$VTAP" decode -j -r - <"$tmp/cut.pcap" >"$tmp/out" 2>"$tmp/err"; rc=$?
	fi
	got=$(grep -c '"frame"' "$tmp/out")
	if [ $rc -eq 1 ] && [ "$got" -eq $((total - 1)) ] &&
		grep -qE 'truncated record at offset [0-9]+: captured length [0-9]+, only [0-9]+ bytes left' "$tmp/err"; then
		echo "ok   truncated last record ($mode): $got of $total records, then: $(cat "$tmp/err")"
	else
		echo "FAIL truncated last record ($mode): rc $rc, $got of $total records delivered"
		cat "$tmp/err"; fail=1
	fi
done
echo "$n files: ${#unreadable[@]} refused with a message, $opened read ($records records)"
exit $fail
