#!/usr/bin/env bash
# timeout: 200
# collector_crash.sh — issue 4, done-when 5: kill -9 during ingest, then
# restart: the store opens (read-only by `vtap flows`, and for writing by
# the new collector, which truncates what the crash tore), queries work,
# and what is lost is at most one flush interval.
#
# flowgen numbers its records (ingressInterface) and stamps each with its
# send time; UDP on loopback and the collector's pipeline keep order, so
# the stored records must be exactly the first K, and the last stored one
# must have been sent no more than flush_interval before the kill.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_cmd jq curl ss

FLUSH_MS=1000
SLACK_MS=250     # scheduling on a loaded machine; the figure is printed
RATE=4000
P=$(free_port)
OPTS=(-o "collector.listen=127.0.0.1:$P" -o "collector.tcp_listen=" -o "store.flush_interval=${FLUSH_MS}ms")
coll_start c "${OPTS[@]}"
"$VTAP" flowgen --to "127.0.0.1:$P" -n 100000 -r "$RATE" >"$TMPDIR_T/gen.json" &
gpid=$!
on_exit "kill $gpid 2>/dev/null"
wait_until 20 sh -c "curl -sf http://$COLL_API/api/v1/status | jq -e '.store.rows_flushed > 8000'" ||
	fail "ingest did not get going"
sleep 0.37   # kill at an arbitrary point of the flush cycle
t_kill=$(date +%s%3N)
kill -9 "$COLL_PID"
wait "$COLL_PID" 2>/dev/null
COLL_PID=""
kill "$gpid" 2>/dev/null
wait "$gpid" 2>/dev/null

# the store opens read-only, as the crash left it
q=$("$VTAP" flows -d "$COLL_DIR/store" -A inif -n 0 -j) || fail "the store does not open after kill -9"
k=$(jq .summary.flows <<<"$q")
[ "$k" -gt 8000 ] || fail "only $k records stored before the crash"
check_eq "stored records are distinct" "$(jq .summary.groups <<<"$q")" "$k"
check_eq "first record stored" "$(jq '[.groups[].inif] | min' <<<"$q")" 0
maxn=$(jq '[.groups[].inif] | max' <<<"$q")
check_eq "stored records are a prefix (0..K-1, no hole)" "$((maxn + 1))" "$k"
last=$(jq '[.groups[].last_ms] | max' <<<"$q")
gap=$((t_kill - last))
echo "     the newest stored record was sent $gap ms before kill -9 (flush interval $FLUSH_MS ms)"
[ "$gap" -le $((FLUSH_MS + SLACK_MS)) ] ||
	fail "lost $gap ms of records before the crash: more than one flush interval ($FLUSH_MS ms + $SLACK_MS ms)"
lost=$(( (gap * RATE + 999) / 1000 ))
echo "ok   loss bounded: about $lost records ($gap ms at $RATE/s) <= one flush interval"

# the collector restarts on the same store and directory and appends
coll_start c "${OPTS[@]}"
st=$(coll_api api/v1/status)
check_eq "restarted collector sees the stored rows" "$(jq .store.rows <<<"$st")" "$k"
"$VTAP" flowgen --to "127.0.0.1:$P" -n 100 --record-start 500000 >/dev/null
coll_settle
qa=$(coll_api "api/v1/flows?aggregate=proto&limit=0")
check_eq "query through the API after the restart" "$(jq .summary.flows <<<"$qa")" "$((k + 100))"
coll_stop
check_eq "rows after the restart" "$("$VTAP" flows -d "$COLL_DIR/store" -A proto -j | jq .summary.flows)" "$((k + 100))"
