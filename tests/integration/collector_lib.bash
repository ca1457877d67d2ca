# collector_lib.bash — helpers for the collector's integration tests
# (source after lib.sh; not a test: scripts/test.sh runs *.sh only).
#
#   coll_start NAME [-o KEY=VALUE ...]   start `vtap collector` with its store,
#                    state and ready file under $TMPDIR_T/NAME; sets
#                    COLL_PID, COLL_API (host:port), COLL_UDP, COLL_TCP,
#                    COLL_DIR; stopped on exit
#                    With COLL_NS set (a lab member: mgmt), it runs there and
#                    coll_api reaches it there.
#   coll_stop        SIGTERM and wait (a clean stop stores everything)
#   coll_api PATH    GET http://$COLL_API/PATH (fails on a non-2xx answer)
#   coll_settle      wait until the collector has decoded and written
#                    everything it received (counters stable for 1 s)
#   nf_start DIR PORT [ARGS]  start nfcapd writing DIR on 127.0.0.1:PORT; NF_PID
#   nf_drain PORT    wait until nfcapd has read everything queued for it
#   nf_stop          SIGTERM nfcapd and wait (it writes its file then)
#   wait_udp_port PORT    wait until something listens on UDP PORT
#   peer_phase NAME CMD...   CMD exports to nfcapd, which repeats to a fresh
#                    collector; then peer_compare
#   peer_compare NAME NFDIR STORE   totals and three top-10 queries of the
#                    store equal nfcapd's files / nfdump's answers

COLL_PID=""
NF_PID=""

coll_start() {
	local name=$1
	shift
	COLL_DIR=$TMPDIR_T/$name
	mkdir -p "$COLL_DIR"
	rm -f "$COLL_DIR/ready.json"
	local pre=()
	[ -n "${COLL_NS:-}" ] && pre=("$VTAP" lab exec "$COLL_NS" --)
	# COLL_CPUS: the collector confined to these CPUs (one: its producers
	# process batches themselves, sink.c)
	[ -n "${COLL_CPUS:-}" ] && pre+=(taskset -c "$COLL_CPUS")
	"${pre[@]}" "$VTAP" collector -o "store.dir=$COLL_DIR/store" -o "collector.state_dir=$COLL_DIR/state" \
		-o "api.listen=127.0.0.1:0" --ready-file "$COLL_DIR/ready.json" "$@" \
		>>"$COLL_DIR/collector.log" 2>&1 &
	COLL_PID=$!
	on_exit "kill -9 $COLL_PID 2>/dev/null"
	if ! wait_until 30 test -s "$COLL_DIR/ready.json"; then
		cat "$COLL_DIR/collector.log" >&2
		fail "collector $name did not start"
	fi
	COLL_API=$(jq -r .api "$COLL_DIR/ready.json")
	COLL_UDP=$(jq -r '.udp[0] // ""' "$COLL_DIR/ready.json")
	COLL_TCP=$(jq -r '.tcp[0] // ""' "$COLL_DIR/ready.json")
}

coll_stop() {
	[ -n "$COLL_PID" ] || return 0
	kill -TERM "$COLL_PID" 2>/dev/null
	if ! wait "$COLL_PID"; then
		cat "$COLL_DIR/collector.log" >&2
		fail "collector exited with an error"
	fi
	COLL_PID=""
}

coll_api() {
	local pre=()
	[ -n "${COLL_NS:-}" ] && pre=("$VTAP" lab exec "$COLL_NS" --)
	"${pre[@]}" curl -sf --max-time 30 "http://$COLL_API/$1"
}

_coll_counts() {
	coll_api api/v1/status | jq -c '[.ingest.datagrams, (.ingest.tcp.messages // 0),
		.writer.rows_in + .writer.rows_dropped, .ingest.records + (.ingest.tcp.records // 0),
		.writer.rows_written + .writer.rows_lost, .writer.queued]'
}

coll_settle() {
	local prev="" cur stable=0 i
	for i in $(seq 300); do
		cur=$(_coll_counts) || fail "collector API not answering"
		# every decoded record handed over and written, nothing queued
		if [ "$cur" == "$prev" ] && jq -e '.[2] == .[3] and .[4] == .[2] and .[5] == 0' \
			<<<"$cur" >/dev/null; then
			stable=$((stable + 1))
			[ $stable -ge 5 ] && return 0
		else
			stable=0
		fi
		prev=$cur
		sleep 0.2
	done
	fail "collector did not settle: $cur"
}

wait_udp_port() {
	wait_until 10 sh -c "ss -Hlun 'sport = :$1' | grep -q ." || fail "nothing listens on UDP $1"
}

nf_start() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	nfcapd -w "$dir" -p "$port" -b 127.0.0.1 -t 3600 -B 4194304 "$@" >"$dir.log" 2>&1 &
	NF_PID=$!
	on_exit "kill -9 $NF_PID 2>/dev/null"
	wait_udp_port "$port"
}

# udp_backlog PORT : bytes waiting in the receive queue of the socket on PORT
udp_backlog() {
	ss -Hlun "sport = :$1" | awk '{s += $2} END {print s + 0}'
}

# nf_drain PORT : wait until nfcapd has read everything queued on PORT (it
# stops reading at SIGTERM: what is still queued then is lost to it)
nf_drain() {
	local i n=0
	for i in $(seq 600); do
		if [ "$(udp_backlog "$1")" -eq 0 ]; then
			n=$((n + 1))
			[ $n -ge 10 ] && return 0
		else
			n=0
		fi
		sleep 0.1
	done
	fail "nfcapd on port $1 does not drain its socket"
}

nf_stop() {
	[ -n "$NF_PID" ] || return 0
	kill -TERM "$NF_PID" 2>/dev/null
	wait "$NF_PID" 2>/dev/null
	NF_PID=""
}

# rss_kb PID : resident memory of a process in KiB
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# compare.py NFCSV VTAPJSON LABEL : nfdump's full statistic vs our top 10
_coll_compare_py() {
	cat >"$TMPDIR_T/compare.py" <<'EOF'
import csv, json, sys
nf_csv, vt_json, label, field, vkey = sys.argv[1:6]
col = {"bytes": "byt", "flows": "fl", "packets": "pkt"}[field]
nf = {}
with open(nf_csv) as f:
    rows = [r for r in csv.reader(f)]
hdr = rows[0]
for r in rows[1:]:
    if len(r) != len(hdr) or r[0] == "Summary" or not r[0] or r[0] == "flows":
        break
    d = dict(zip(hdr, r))
    nf[d["val"].strip()] = int(d[col])
vt = json.load(open(vt_json))["groups"]
ours = [(str(g[vkey]), g[field]) for g in vt]
errors = []
for k, v in ours:
    if nf.get(k) != v:
        errors.append("%s: %s=%s, nfdump says %s" % (label, k, v, nf.get(k)))
want = sorted(nf.values(), reverse=True)[:10]
got = sorted([v for _, v in ours], reverse=True)
if got != want:
    errors.append("%s: top values %s, nfdump's %s" % (label, got, want))
if len(ours) != min(10, len(nf)):
    errors.append("%s: %d groups, nfdump has %d" % (label, len(ours), len(nf)))
if errors:
    print("\n".join(errors)); sys.exit(1)
print("ok   %s: %d groups agree (top value %s)" % (label, len(ours), got[0] if got else "-"))
EOF
}

# peer_phase NAME CMD... : CMD (an exporter) sends to nfcapd on $NFPORT,
# which repeats every datagram to a fresh collector; then totals and three
# top-10 queries of the collector's store must equal nfcapd's / nfdump's.
peer_phase() {
	local name=$1
	shift
	local d=$TMPDIR_T/$name
	mkdir -p "$d"
	coll_start "$name" -o "collector.listen=127.0.0.1:0" -o "collector.tcp_listen="
	local vport=${COLL_UDP##*:}
	NFPORT=$(free_port)
	[ -f "$TMPDIR_T/compare.py" ] || _coll_compare_py
	nf_start "$d/nf" "$NFPORT" -R "127.0.0.1/$vport"
	"$@" >"$d/exporter.log" 2>&1 || { cat "$d/exporter.log"; fail "$name: exporter failed"; }
	nf_drain "$NFPORT"
	coll_settle
	nf_stop
	local st
	st=$(coll_api api/v1/status)
	check_eq "$name: datagrams dropped by the kernel" "$(jq .ingest.kernel_drops <<<"$st")" 0
	check_eq "$name: datagrams rejected" "$(jq .ingest.rejected <<<"$st")" 0
	if [ -n "${COLL_CPUS:-}" ]; then
		# on one CPU the ingest threads write their batches themselves
		[ "$(jq .writer.batches_inline <<<"$st")" -gt 0 ] ||
			fail "$name: one CPU, but no batch processed inline: $(jq -c .writer <<<"$st")"
	fi
	coll_stop
	peer_compare "$name" "$d/nf" "$d/store"
}

# peer_compare NAME NFDIR STORE : the store's flow, packet and byte totals
# equal those of nfcapd's files in NFDIR, and the three top-10 queries
# (src IP by bytes, dst port by flows, `proto tcp and dst port 443` by src
# IP) give nfdump's answers. Scratch files go to $TMPDIR_T/NAME.
peer_compare() {
	local name=$1 nfdir=$2 store=$3 d=$TMPDIR_T/$1
	mkdir -p "$d"
	[ -f "$TMPDIR_T/compare.py" ] || _coll_compare_py

	# totals
	local nf_i vt
	nf_i=$(nfdump -R "$nfdir" -I)
	vt=$("$VTAP" flows -d "$store" -A proto -j -n 0)
	local nflows npkts nbytes
	nflows=$(awk '/^Flows:/ {print $2}' <<<"$nf_i")
	npkts=$(awk '/^Packets:/ {print $2}' <<<"$nf_i")
	nbytes=$(awk '/^Bytes:/ {print $2}' <<<"$nf_i")
	[ "${nflows:-0}" -gt 100 ] || fail "$name: nfcapd stored only '$nflows' flows: the phase did not run"
	check_eq "$name: flows" "$(jq .summary.flows <<<"$vt")" "$nflows"
	check_eq "$name: packets" "$(jq .summary.packets <<<"$vt")" "$npkts"
	check_eq "$name: bytes" "$(jq .summary.bytes <<<"$vt")" "$nbytes"

	# top 10s
	nfdump -R "$nfdir" -s srcip/bytes -n 0 -o csv >"$d/nf1.csv"
	"$VTAP" flows -d "$store" -A srcip -s bytes -n 10 -j >"$d/vt1.json"
	python3 "$TMPDIR_T/compare.py" "$d/nf1.csv" "$d/vt1.json" "$name: src IP by bytes" bytes srcip ||
		fail "$name: top 10 src IP by bytes differs"
	nfdump -R "$nfdir" -s dstport/flows -n 0 -o csv >"$d/nf2.csv"
	"$VTAP" flows -d "$store" -A dstport -s flows -n 10 -j >"$d/vt2.json"
	python3 "$TMPDIR_T/compare.py" "$d/nf2.csv" "$d/vt2.json" "$name: dst port by flows" flows dstport ||
		fail "$name: top 10 dst port by flows differs"
	nfdump -R "$nfdir" -s srcip -n 0 -o csv 'proto tcp and dst port 443' >"$d/nf3.csv"
	"$VTAP" flows -d "$store" -A srcip -s flows -n 10 -j proto tcp and dst port 443 >"$d/vt3.json"
	[ "$(jq '.groups | length' "$d/vt3.json")" -gt 0 ] || fail "$name: no tcp/443 flows: the check is empty"
	python3 "$TMPDIR_T/compare.py" "$d/nf3.csv" "$d/vt3.json" "$name: tcp/443 by src IP" flows srcip ||
		fail "$name: top 10 src IP of tcp/443 differs"
}

