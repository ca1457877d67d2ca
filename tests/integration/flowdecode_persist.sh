#!/usr/bin/env bash
# timeout: 300
# flowdecode_persist.sh — templates (and sampling tables) survive a
# restart through the template file: `vtap flowdecode -t FILE` over an
# exporter's template capture, then a second process with the same file
# over its data capture alone, must give exactly the records one process
# gives over both captures — no data set waits for a template the file
# should have given.
# A damaged file is refused with a message that names the option and the
# file, and nothing is decoded with it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
[ -x "$VTAP" ] || { echo "$VTAP not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fe=$VTAP_CORPUS/flowexport
fail=0

# check NAME "TEMPLATE-ARGS" "DATA-ARGS" : both as -r or --raw arguments
check() {
	local name=$1 first=$2 second=$3 t=$tmp/$1.tmpl
	# shellcheck disable=SC2086
	"$VTAP" flowdecode -q -t "$t" $first >/dev/null 2>"$tmp/err" || { echo "FAIL $name: first run"; cat "$tmp/err"; fail=1; return; }
	# shellcheck disable=SC2086
	"$VTAP" flowdecode -j -t "$t" $second >"$tmp/restart.json" 2>"$tmp/err" || { echo "FAIL $name: second run"; cat "$tmp/err"; fail=1; return; }
	# shellcheck disable=SC2086
	"$VTAP" flowdecode -j $first $second >"$tmp/once.json" 2>"$tmp/err" || { echo "FAIL $name: one run"; cat "$tmp/err"; fail=1; return; }
	python3 - "$name" "$tmp/restart.json" "$tmp/once.json" <<'PY' || fail=1
import json, sys
name, restart, once = sys.argv[1:]
def load(p):
    lines = [json.loads(l) for l in open(p)]
    recs = [l for l in lines if l["type"] == "flow"]
    ex = [l for l in lines if l["type"] == "exporter"]
    # the datagram numbering and the late flag depend on the run, the rest not
    for r in recs:
        for k in ("frame", "late", "dec_flags"):
            r.pop(k)
    return recs, ex
a, ea = load(restart)
b, eb = load(once)
b = b[len(b) - len(a):] if len(b) >= len(a) else b   # the data capture's records
problems = []
if not a:
    problems.append("no record after the restart")
if a != b:
    problems.append(f"{len(a)} records after the restart differ from one run's")
# data without a template in the capture itself (netscaler has one set) is
# no-template in both runs; anything more waited for the file's templates
nt = lambda ex: sum(e["no_template_sets"] for e in ex)
if nt(ea) != nt(eb) or any(e["errors"] for e in ea):
    problems.append(f"no-template sets {nt(ea)} after the restart, {nt(eb)} in one run")
samp = sorted({r["sampling"] for r in a})
print(("FAIL " if problems else "ok   ") + f"{name}: {len(a)} records after the restart, sampling {samp}"
      + ("; " + "; ".join(problems) if problems else ""))
sys.exit(1 if problems else 0)
PY
}

A=$fe/akvorado_nf_
check v9-with-sampling "-r ${A}options-template.pcap -r ${A}options-data.pcap -r ${A}template.pcap" "-r ${A}data.pcap"
check v9-sampler-table "-r ${A}multiplesamplingrates-options-template.pcap -r ${A}multiplesamplingrates-options-data.pcap -r ${A}multiplesamplingrates-template.pcap" "-r ${A}multiplesamplingrates-data.pcap"
check ipfix-biflow "-r ${A}ipfixprobe-templates.pcap" "-r ${A}ipfixprobe-data.pcap"
check ipfix-varlen "-r ${A}datalink-template.pcap" "-r ${A}datalink-data.pcap"
check ipfix-enterprise "-r ${A}juniper-cpid-template.pcap" "-r ${A}juniper-cpid-data.pcap"
R=$fe/raw-payloads/logstash_
check raw-v9-asa "--raw ${R}netflow9_test_cisco_asa_1_tpl.dat" "--raw ${R}netflow9_test_cisco_asa_1_data.dat"
check raw-ipfix-netscaler "--raw ${R}ipfix_test_netscaler_tpl.dat" "--raw ${R}ipfix_test_netscaler_data.dat"

# a damaged file: refused by name, exit 1, no record
t=$tmp/ipfix-biflow.tmpl
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[30]^=1; open(p,"wb").write(b)' "$t"
if "$VTAP" flowdecode -j -t "$t" -r "${A}ipfixprobe-data.pcap" >"$tmp/out" 2>"$tmp/err"; then
	echo "FAIL damaged template file accepted"; fail=1
elif ! grep -q -- "--templates" "$tmp/err" || ! grep -qF "$t" "$tmp/err" || ! grep -q checksum "$tmp/err" ||
	grep -q '"type":"flow"' "$tmp/out"; then
	echo "FAIL damaged template file: unclear error or records decoded:"; cat "$tmp/err"; fail=1
else
	echo "ok   damaged template file refused: $(cat "$tmp/err")"
fi
exit $fail
