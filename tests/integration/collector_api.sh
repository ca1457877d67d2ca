#!/usr/bin/env bash
# timeout: 200
# collector_api.sh — the collector's listeners over IPv6 (UDP and TCP),
# its HTTP API and /metrics, and its configuration errors:
#  - IPFIX from [::1] over UDP and TCP, exporter statistics per session;
#  - every endpoint answers, with the numbers the exporters sent;
#  - bad parameters are 400 naming the parameter, unknown things 404;
#  - /metrics is valid Prometheus text (promtool-free check: every sample
#    belongs to a declared family) with the per-exporter series;
#  - bad configuration values are refused with the key named.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_cmd jq curl ss

if ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	echo "skipped: no IPv6 loopback"
	exit 77
fi

# ---- configuration errors name the key --------------------------------
bad() { # EXPECTED-TEXT ARGS...
	local want=$1 out
	shift
	out=$("$VTAP" collector --check "$@" 2>&1) && fail "accepted: $*"
	grep -qF -- "$want" <<<"$out" || fail "'$*': message '$out' does not say '$want'"
	echo "ok   refused: $* -> $out"
}
bad "[collector] workers: 0 is out of range" -o collector.workers=0
bad "not ADDRESS:PORT" -o "collector.listen=localhost:4739"
bad "[collector] receive_buffer" -o collector.receive_buffer=1k
bad "both empty" -o collector.listen= -o collector.tcp_listen=
printf '[zone a]\nnet = 10.0.0.0/33\n' >"$TMPDIR_T/z.conf"
bad "zone 'a': net '10.0.0.0/33' is not a prefix" -c "$TMPDIR_T/z.conf"
printf '[zone a]\n' >"$TMPDIR_T/z2.conf"
bad "zone 'a' has no vm, attr or net rule" -c "$TMPDIR_T/z2.conf"
printf '[collector]\nworkerz = 3\n' >"$TMPDIR_T/k.conf"
bad "workerz" -c "$TMPDIR_T/k.conf"

# ---- IPv6 listeners ------------------------------------------------------
coll_start a -o "collector.listen=[::1]:0" -o "collector.tcp_listen=[::1]:0"
case "$COLL_UDP" in \[::1\]:*) ;; *) fail "UDP not on [::1]: $COLL_UDP" ;; esac
# --gso: runs of messages leave in one UDP GSO send, each still arrives
# as one datagram (the benchmarks' generator; counted below)
g1=$("$VTAP" flowgen --gso --to "$COLL_UDP" -n 3000 --src-base ::1 -r 50000)
g2=$("$VTAP" flowgen --tcp "$COLL_TCP" -n 2000 --src-base ::1)
coll_settle
ex=$(coll_api api/v1/exporters/::1)
check_eq "exporter ::1 sessions (UDP worker + TCP)" "$(jq '.sessions | length' <<<"$ex")" 2
check_eq "::1 over UDP: records" "$(jq '[.sessions[] | select(.worker != "tcp")][0].records' <<<"$ex")" 3000
check_eq "::1 over TCP: records" "$(jq '[.sessions[] | select(.worker == "tcp")][0].records' <<<"$ex")" 2000
check_eq "::1 over UDP (GSO): one datagram per message" \
	"$(jq '[.sessions[] | select(.worker != "tcp")][0].packets' <<<"$ex")" "$(jq .messages <<<"$g1")"
# ... and GSO was used: paced runs of up to 8 messages, not a send each
check_eq "::1 over UDP (GSO): $(jq -r '"\(.sends) sends for \(.messages) messages"' <<<"$g1"), 4 or more per send" \
	"$(jq '.sends > 0 and .sends * 4 <= .messages' <<<"$g1")" true
# ... and with udp_gro (on by default) a run arrives merged, one receive
# for its messages: at least one such receive, at most one per send
gro=$(coll_api api/v1/status | jq '[.ingest.workers[].gro_receives] | add')
check_eq "::1 over UDP (GSO): $gro merged receives for $(jq .sends <<<"$g1") sends" \
	"$(jq --argjson g "$gro" '$g > 0 and $g <= .sends' <<<"$g1")" true
check_eq "::1 templates listed" "$(jq '.templates | length' <<<"$ex")" 1

# ---- the endpoints ---------------------------------------------------------
st=$(coll_api api/v1/status)
check_eq "status: UDP records" "$(jq .ingest.records <<<"$st")" 3000
check_eq "status: TCP records" "$(jq .ingest.tcp.records <<<"$st")" 2000
check_eq "status: writer rows" "$(jq .writer.rows_written <<<"$st")" 5000
# 3,000 records at 50 k/s keep a worker far below busy (70 % of its CPU
# in a 20 ms window): it sleeps between datagrams. A slow window (first
# use, a template save, ASan) may spin once or twice; a busy measure that
# is wrong spins at every one of the ~120 datagrams
check_eq "status: workers spun at most twice at 50 k records/s" \
	"$(jq '[.ingest.workers[].spin_waits] | add <= 2' <<<"$st")" true
q=$(coll_api "api/v1/flows?aggregate=dstport&sort=flows&limit=3")
check_eq "flows: total" "$(jq .summary.flows <<<"$q")" 5000
# (the rows are in blocks now.) Busy for the store takes three busy
# windows in a row: none here, so every block has the store's own
# compression
check_eq "status: no worker busy at 50 k records/s, no busy blocks" \
	"$(coll_api api/v1/status | jq '([.ingest.workers[].busy_on] | add) == 0 and .store.blocks_busy == 0 and .store.blocks_written > 0')" true
check_eq "flows: bytes" "$(jq .summary.bytes <<<"$q")" "$(jq -s 'map(.bytes) | add' <<<"$g1 $g2")"
check_eq "flows: top port" "$(jq '.groups[0].dstport' <<<"$q")" 80
q=$(coll_api "api/v1/flows?filter=dst%20port%20443%20and%20ipv4&limit=0")
check_eq "flows: filter" "$(jq .summary.flows <<<"$q")" 500
# no VMs, no agents: every row is counted, so count-once changes nothing
q=$(coll_api "api/v1/flows?filter=dst%20port%20443%20and%20ipv4&limit=0&once=1")
check_eq "flows: filter, count once" "$(jq .summary.flows <<<"$q")" 500
q=$(coll_api "api/v1/flows?aggregate=dup&once=0")
check_eq "flows: all counted (dup 0)" "$(jq -c '[.groups[] | [.dup, .flows]]' <<<"$q")" "[[0,5000]]"
c=$(coll_api "api/v1/flows?aggregate=proto&format=csv" | head -1)
check_eq "flows: csv header" "$c" "proto,flows,packets,bytes,first,last"
coll_api "api/v1/vms" | jq -e '.vms == [] and .totals.flows == 5000' >/dev/null ||
	fail "vms without an inventory"
coll_api "api/v1/zones" | jq -e '.zones == []' >/dev/null || fail "zones"
coll_api "api/v1/inventory" | jq -e '.vms == 0' >/dev/null || fail "inventory"

code() { curl -s -o "$TMPDIR_T/body" -w '%{http_code}' "http://$COLL_API/$1"; }
err_is() { # PATH CODE TEXT
	local c
	c=$(code "$1")
	[ "$c" == "$2" ] || fail "$1: HTTP $c, want $2: $(cat "$TMPDIR_T/body")"
	jq -e --arg t "$3" '(.error + " " + .detail) | contains($t)' "$TMPDIR_T/body" >/dev/null ||
		fail "$1: $(cat "$TMPDIR_T/body") does not say '$3'"
	echo "ok   $1 -> $2 $(jq -c . "$TMPDIR_T/body")"
}
err_is "api/v1/flows?filter=dst%20port%2099999" 400 "not a port"
err_is "api/v1/flows?since=yesterday" 400 "since:"
err_is "api/v1/flows?once=yes" 400 "once:"
err_is "api/v1/flows?aggregate=color" 400 "aggregate:"
err_is "api/v1/flows?sort=speed" 400 "sort:"
err_is "api/v1/flows?limit=x" 400 "limit:"
err_is "api/v1/vms?window=0" 400 "window:"
err_is "api/v1/vms/nope" 404 "nope"
err_is "api/v1/exporters/192.0.2.99" 404 "192.0.2.99"
err_is "api/v1/exporters/not-an-address" 400 "not an IP address"

# ---- /metrics --------------------------------------------------------------
coll_api metrics >"$TMPDIR_T/m.txt"
awk '/^# TYPE/ {fam[$3] = 1; next} /^#/ {next} NF {
	name = $1; sub(/\{.*/, "", name); base = name
	sub(/_(bucket|sum|count)$/, "", base)
	if (!(name in fam) && !(base in fam)) { print "undeclared: " $0; bad = 1 } }
	END { exit bad }' "$TMPDIR_T/m.txt" || fail "/metrics has samples outside their family"
grep -q '^vtap_exporter_records_total{exporter="::1",worker="tcp"} 2000$' "$TMPDIR_T/m.txt" &&
	grep -q '^vtap_exporter_records_total{exporter="::1",worker="udp-[0-9]"} 3000$' "$TMPDIR_T/m.txt" ||
	{ grep exporter_records "$TMPDIR_T/m.txt"; fail "per-exporter records in /metrics"; }
grep -q '^vtap_tcp_records_total 2000$' "$TMPDIR_T/m.txt" || fail "TCP records in /metrics"
grep -q '^vtap_writer_rows_total 5000$' "$TMPDIR_T/m.txt" || fail "writer rows in /metrics"
grep -q '^vtap_http_' "$TMPDIR_T/m.txt" || fail "HTTP server metrics missing"
echo "ok   /metrics: $(grep -c '^# TYPE' "$TMPDIR_T/m.txt") families, per-exporter series"
coll_stop
