#!/usr/bin/env bash
# timeout: 300
# collector_restart.sh — issue 4, done-when 3: across a collector restart
#  A. exporters (IPFIX and NetFlow v9 over UDP) keep sending data WITHOUT
#     templates; the first data after the restart decodes, because the
#     collector persisted their templates (and, as a control, with the
#     state directory wiped the same data is counted as "no template");
#  B. an IPFIX-over-TCP exporter streaming through a restart loses nothing:
#     every record is stored exactly once (the collector's FIN handshake).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_cmd jq curl ss

gen() { "$VTAP" flowgen "$@"; }

# ---- A: templates survive the restart ---------------------------------
P=$(free_port)
SP1=$(free_port)
SP2=$(free_port)
OPTS=(-o "collector.listen=127.0.0.1:$P" -o "collector.tcp_listen=" -o "decoder.hold_time=1s"
	-o "collector.workers=3")
coll_start a "${OPTS[@]}"
g1=$(gen --to "127.0.0.1:$P" --src-base 127.0.0.1 --sport "$SP1" -n 500 --templates once)
g2=$(gen --to "127.0.0.1:$P" --src-base 127.0.0.2 --sport "$SP2" -n 500 -f nfv9 --templates once)
coll_settle
ex=$(coll_api api/v1/exporters)
check_eq "before: ipfix exporter records" "$(jq '[.list[] | select(.address == "127.0.0.1")][0].records' <<<"$ex")" 500
check_eq "before: v9 exporter records" "$(jq '[.list[] | select(.address == "127.0.0.2")][0].records' <<<"$ex")" 500
coll_stop
n=$(ls "$COLL_DIR"/state/templates-udp-*-of-3.bin 2>/dev/null | wc -l)
check_eq "template files (one per worker)" "$n" 3

coll_start a "${OPTS[@]}"
st=$(coll_api api/v1/status)
check_eq "templates loaded at start" "$(jq '[.ingest.workers[].templates_loaded] | add' <<<"$st")" 2
g3=$(gen --to "127.0.0.1:$P" --src-base 127.0.0.1 --sport "$SP1" -n 500 --templates never \
	--seq-start "$(jq .next_seq <<<"$g1")" --record-start 500)
g4=$(gen --to "127.0.0.1:$P" --src-base 127.0.0.2 --sport "$SP2" -n 500 -f nfv9 --templates never \
	--seq-start "$(jq .next_seq <<<"$g2")" --record-start 500)
sleep 1.5   # past hold_time: anything waiting for a template would have expired
coll_settle
ex=$(coll_api api/v1/exporters)
for a in 127.0.0.1 127.0.0.2; do
	e=$(jq -c --arg a "$a" '[.list[] | select(.address == $a)][0]' <<<"$ex")
	check_eq "after: $a records decoded" "$(jq .records <<<"$e")" 500
	check_eq "after: $a sets without template" "$(jq .no_template_sets <<<"$e")" 0
	check_eq "after: $a sets held for a template" "$(jq .held_sets <<<"$e")" 0
	check_eq "after: $a sequence gaps" "$(jq .sequence_gaps <<<"$e")" 0
done
coll_stop
q=$("$VTAP" flows -d "$COLL_DIR/store" -A exporter,inif -n 0 -j)
check_eq "stored records, both runs" "$(jq .summary.flows <<<"$q")" 2000
check_eq "distinct (exporter, record number)" "$(jq .summary.groups <<<"$q")" 2000
check_eq "bytes stored" "$(jq .summary.bytes <<<"$q")" \
	"$(jq -s 'map(.bytes) | add' <<<"$g1 $g2 $g3 $g4")"

# another worker count: the steering changes, every worker loads every file
coll_start a "${OPTS[@]}" -o collector.workers=2
gen --to "127.0.0.1:$P" --src-base 127.0.0.1 --sport "$SP1" -n 300 --templates never \
	--seq-start "$(jq .next_seq <<<"$g3")" --record-start 1000 >/dev/null
sleep 1.5
coll_settle
e=$(coll_api api/v1/exporters | jq -c '[.list[] | select(.address == "127.0.0.1")][0]')
check_eq "3 -> 2 workers: records decoded" "$(jq .records <<<"$e")" 300
check_eq "3 -> 2 workers: sets without template" "$(jq .no_template_sets <<<"$e")" 0
coll_stop
check_eq "template files after the change" \
	"$(cd "$COLL_DIR/state" && ls templates-udp-*.bin | sort | tr '\n' ' ')" \
	"templates-udp-0-of-2.bin templates-udp-1-of-2.bin "

# control: without the state directory the same data cannot be decoded
coll_start a2 "${OPTS[@]}"
gen --to "127.0.0.1:$P" --src-base 127.0.0.1 --sport "$SP1" -n 500 --templates never \
	--record-start 1000 >/dev/null
sleep 1.5
coll_settle
e=$(coll_api api/v1/exporters | jq -c '.list[0]')
check_eq "control: records decoded without templates" "$(jq .records <<<"$e")" 0
[ "$(jq .no_template_sets <<<"$e")" -gt 0 ] || fail "control: no-template sets not counted: $e"
echo "ok   control: $(jq .no_template_sets <<<"$e") sets counted as no-template"
coll_stop

# ---- B: IPFIX over TCP through a restart ------------------------------
T=$(free_port)
TOPTS=(-o "collector.listen=" -o "collector.tcp_listen=127.0.0.1:$T")
coll_start b "${TOPTS[@]}"
gen --tcp "127.0.0.1:$T" -n 8000 -r 2000 >"$TMPDIR_T/tcp.json" 2>"$TMPDIR_T/tcp.err" &
gpid=$!
on_exit "kill $gpid 2>/dev/null"
wait_until 10 sh -c "curl -sf http://$COLL_API/api/v1/status | jq -e '.ingest.tcp.records > 1000'" ||
	fail "TCP exporter not received"
coll_stop
sleep 0.5   # down for a moment: the exporter retries
coll_start b "${TOPTS[@]}"
wait "$gpid" || { cat "$TMPDIR_T/tcp.err"; fail "TCP exporter failed"; }
coll_settle
coll_stop
check_eq "TCP exporter records sent" "$(jq .records "$TMPDIR_T/tcp.json")" 8000
[ "$(jq .reconnects "$TMPDIR_T/tcp.json")" -ge 1 ] || fail "the exporter never reconnected: no restart was crossed"
q=$("$VTAP" flows -d "$COLL_DIR/store" -A inif -n 0 -j)
check_eq "TCP records stored across the restart" "$(jq .summary.flows <<<"$q")" 8000
check_eq "TCP distinct records (no duplicates)" "$(jq .summary.groups <<<"$q")" 8000
check_eq "TCP bytes stored" "$(jq .summary.bytes <<<"$q")" "$(jq .bytes "$TMPDIR_T/tcp.json")"
