#!/usr/bin/env bash
# timeout: 400
# collector_scale.sh — issue 4, done-when 4: 10,000 exporters (distinct
# loopback source addresses inside a private network namespace, each with
# its own template) send concurrently; every record is attributed to the
# right exporter; the collector's memory per exporter stays within the
# bound documented in docs/collector.md.
#
# Two flowgen processes play 5,000 exporters each at the same time,
# 127.1.0.1 + i, template id 256 + i % 4096 with one of two layouts;
# record n of exporter i carries egressInterface = i. Checks: the API
# lists 10,000 exporters (each on exactly one worker) with exactly N
# records and one template each; the store holds 10,000 x N rows and
# grouping by (exporter, outif) gives 10,000 groups of N in which the
# exporter address is 127.1.0.1 + outif.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_netadmin
need_cmd jq curl ss unshare python3

EXPORTERS=10000
PER=10
# Resident memory per exporter, measured as the collector's RSS growth
# from 10,000 exporters (decoder state, templates, statistics). The
# release-build figure is in docs/collector.md; ASan's redzones and
# allocator metadata roughly double it.
BOUND_KB_RELEASE=4
BOUND_KB_ASAN=8

if [ -z "${COLL_SCALE_INNER:-}" ]; then
	# a private network namespace of our own: 127.0.0.0/8 on its lo
	export COLL_SCALE_INNER=1
	# exec skips the EXIT trap: what lib.sh made so far goes first
	rm -rf "$TMPDIR_T"
	exec unshare -n -- bash "$0" "$@"
fi
ip link set lo up || fail "lo up"

libs=$(ldd "$VTAP" 2>/dev/null || true)
if grep -q libasan <<<"$libs"; then BOUND_KB=$BOUND_KB_ASAN; else BOUND_KB=$BOUND_KB_RELEASE; fi

coll_start s -o "collector.listen=127.0.0.1:4739" -o "collector.tcp_listen=" -o "collector.workers=4" \
	-o "api.listen=127.0.0.1:4740"
# steady state before the exporters arrive: the same number of records
# at the same rate from one exporter, so the pipeline's own memory (row
# batches, store buffers, thread arenas) is allocated before the
# measurement and what grows afterwards is per-exporter state
"$VTAP" flowgen --to 127.0.0.1:4739 --src-base 127.0.0.1 -n $((EXPORTERS * PER)) -r 80000 >/dev/null
coll_settle
sleep 1
rss0=$(rss_kb "$COLL_PID")

half=$((EXPORTERS / 2))
"$VTAP" flowgen --to 127.0.0.1:4739 -e $half --src-base 127.1.0.1 -n $PER -r 40000 >"$TMPDIR_T/g1.json" &
p1=$!
"$VTAP" flowgen --to 127.0.0.1:4739 -e $half --first-exporter $half \
	--src-base "127.1.$((half / 256)).$((half % 256 + 1))" -n $PER -r 40000 >"$TMPDIR_T/g2.json" &
p2=$!
wait $p1 || fail "flowgen 1 failed"
wait $p2 || fail "flowgen 2 failed"
coll_settle
rss1=$(rss_kb "$COLL_PID")

st=$(coll_api api/v1/status)
check_eq "kernel drops" "$(jq .ingest.kernel_drops <<<"$st")" 0
check_eq "records received" "$(jq .ingest.records <<<"$st")" $((EXPORTERS * PER * 2))
echo "     per worker: $(jq -c '[.ingest.workers[].records]' <<<"$st")"
coll_api api/v1/exporters >"$TMPDIR_T/ex.json"
python3 - "$TMPDIR_T/ex.json" "$EXPORTERS" "$PER" <<'EOF' || fail "per-exporter statistics wrong"
import ipaddress, json, sys
d = json.load(open(sys.argv[1])); n, per = int(sys.argv[2]), int(sys.argv[3])
base = int(ipaddress.ip_address("127.1.0.1"))
ex = [e for e in d["list"] if e["address"].startswith("127.1.")]
addrs = [e["address"] for e in ex]
bad = []
if len(ex) != n: bad.append("%d exporters listed, want %d" % (len(ex), n))
if len(set(addrs)) != len(addrs): bad.append("an exporter appears on two workers")
want = {str(ipaddress.ip_address(base + i)) for i in range(n)}
if set(addrs) != want: bad.append("addresses differ: %d missing" % len(want - set(addrs)))
for e in ex:
    if e["records"] != per or e["templates"] != 1 or e["errors"] or e["no_template_sets"]:
        bad.append("exporter %s: records %d templates %d errors %d no-template %d"
                   % (e["address"], e["records"], e["templates"], e["errors"], e["no_template_sets"]))
        break
if bad: print("\n".join(bad)); sys.exit(1)
workers = {}
for e in ex: workers[e["worker"]] = workers.get(e["worker"], 0) + 1
print("ok   %d exporters, %d records each, one template each, on workers %s" % (len(ex), per, workers))
EOF
coll_stop
"$VTAP" flows -d "$COLL_DIR/store" -A exporter,outif -n 0 -j 'exporter 127.1.0.0/16' >"$TMPDIR_T/q.json"
python3 - "$TMPDIR_T/q.json" "$EXPORTERS" "$PER" <<'EOF' || fail "stored attribution wrong"
import ipaddress, json, sys
d = json.load(open(sys.argv[1])); n, per = int(sys.argv[2]), int(sys.argv[3])
base = int(ipaddress.ip_address("127.1.0.1"))
g = d["groups"]
bad = []
if d["summary"]["flows"] != n * per: bad.append("%d rows stored, want %d" % (d["summary"]["flows"], n * per))
if len(g) != n: bad.append("%d (exporter, outif) groups, want %d" % (len(g), n))
for x in g:
    if x["flows"] != per or int(ipaddress.ip_address(x["exporter"])) - base != x["outif"]:
        bad.append("group %s outif %d: %d flows" % (x["exporter"], x["outif"], x["flows"])); break
if bad: print("\n".join(bad)); sys.exit(1)
print("ok   stored: %d rows, every record attributed to the exporter that sent it" % (n * per))
EOF

per_b=$(( (rss1 - rss0) * 1024 / EXPORTERS ))
echo "     collector RSS $rss0 KiB -> $rss1 KiB: $per_b bytes per exporter (bound $BOUND_KB KiB)"
[ "$per_b" -le $((BOUND_KB * 1024)) ] || fail "memory per exporter $per_b B above the bound $BOUND_KB KiB"
echo "ok   memory per exporter within the bound"
