#!/usr/bin/env bash
# meter_malformed.sh — issue 3, done-when 5: every file in corpus
# malformed/ goes through `vtap meter -r` (the ASan+UBSan build under
# scripts/test.sh) and ends either with a clear error naming the file
# (exit 1: not a capture, or a damaged record — what came before it is
# still metered and summarised) or with its bad frames counted by reason
# (exit 0); never a crash, a sanitizer report or an inconsistent summary.
# timeout: 300
set -uo pipefail
cd "$(dirname "$0")/../.."
VTAP=${VTAP:-build/asan/vtap}
CORPUS=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 n=0 errs=0 counted=0
for f in "$CORPUS"/malformed/*; do
	b=$(basename "$f")
	n=$((n + 1))
	"$VTAP" meter -r "$f" -j >"$work/out.json" 2>"$work/err.txt"
	rc=$?
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error|BUG at" "$work/err.txt"; then
		echo "FAIL $b: sanitizer report"; head -20 "$work/err.txt"; fail=1; continue
	fi
	case $rc in
	0) ;;
	1)
		if ! grep -q "^vtap meter: .*$b" "$work/err.txt"; then
			echo "FAIL $b: exit 1 without an error naming the file:"; cat "$work/err.txt"; fail=1; continue
		fi
		errs=$((errs + 1))
		echo "error $b: $(head -1 "$work/err.txt" | sed "s|.*$b: ||" | cut -c1-100)"
		[ -s "$work/out.json" ] || continue # failed at open: nothing to summarise
		;;
	*) echo "FAIL $b: exit status $rc"; tail -20 "$work/err.txt"; fail=1; continue ;;
	esac
	python3 - "$work/out.json" "$b" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
b = sys.argv[2]
parts = d["ip_frames"] + d["non_ip"] + d["failed"] + d["local_dup"]
bad = []
if d["frames"] != parts:
    bad.append(f"frames {d['frames']} != IP + non-IP + undecodable {parts}")
if d["failed"] > sum(d["errors"].values()):
    bad.append(f"{d['failed']} undecodable frames but only {sum(d['errors'].values())} counted by reason")
if d["packets"] != d["ip_frames"]:
    bad.append(f"packets {d['packets']} != IP frames {d['ip_frames']} (no GSO offline)")
ends = sum(d["flows_by_end"].values())
if ends != d["flows"] or (d["ip_frames"] and not d["flows"]):
    bad.append(f"{d['flows']} flows, {ends} by end reason, from {d['ip_frames']} IP frames")
if bad:
    sys.exit(f"FAIL {b}: " + "; ".join(bad))
errs = " ".join(f"{k}={v}" for k, v in d["errors"].items())
print(f"ok    {b}: {d['frames']} frames, {d['flows']} flows" + (f", counted: {errs}" if errs else ""))
PY
	grep -q '"errors":{}' "$work/out.json" || counted=$((counted + 1))
done
echo "$n files: $errs ended with an error, $counted with bad frames counted"
[ $n -ge 30 ] || { echo "FAIL: corpus malformed/ has only $n files"; fail=1; }
[ $errs -ge 1 ] && [ $counted -ge 10 ] || { echo "FAIL: expected both errors and counted frames"; fail=1; }
exit $fail
