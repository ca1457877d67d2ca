#!/usr/bin/env bash
# bench/collector/ingest.sh — the highest record rate with zero loss for
# `vtap collector` and for nfcapd, on the same generated streams (IPFIX
# and NetFlow v9, same record mix from `vtap flowgen`), the same socket
# receive buffer, in the same run. Prints a Markdown table (paste it into
# docs/collector.md).
#
# The generator sends with UDP GSO (flowgen --gso): the collectors still
# get one 1400-byte datagram per message, but the sender's kernel passes
# each run of messages through IP and loopback once. Without it, one core
# of sendmsg (about 6 us per datagram on a slow VM) caps the offered rate
# below what a collector can take. A trial whose generator fell more than
# 5 % short of the rate asked counts as a loss, and the result is then
# printed as ">= R (generator-bound)": a zero-loss rate is only claimed
# for a rate that was really offered. With one core each, the generator
# paces by spinning (flowgen --spin): sleeping, it wakes up to tens of ms
# late on a virtual machine and then sends the debt as a burst.
#
#   bench/collector/ingest.sh [VTAP]          (default build/release/vtap)
#   bench/collector/ingest.sh 2>trials.log    (every trial's loss apart)
#   SECONDS_PER_TRIAL=3 CPU_GEN=0 CPU_COLL=1 bench/collector/ingest.sh
#
# Runs inside a private network namespace (root: unshare -n). The
# generator is pinned to CPU_GEN and the collector under test to CPU_COLL
# ("one core"); a last row runs vtap with 2 workers unpinned (on a 2-core
# machine the generator competes with it). A trial sends rate x
# SECONDS_PER_TRIAL records paced at rate; zero loss = every record
# stored (vtap: the API's decoded records; nfcapd: nfdump -I after it
# drained its socket). The rate is doubled until a loss, then bisected
# to 5 %. The machine is shared: each search runs twice, interleaved
# (nfcapd, vtap, nfcapd, vtap) and the better result of each counts; a
# trial the generator could not pace is run again (up to 3 times).
# A second table gives CPU time per record (utime + stime of the whole
# process over 2 M records at 200 k/s), which load affects much less; a
# third the capacity of one core: 10 M records offered at the
# generator's full speed, the records each collector stored per second
# of its CPU (the socket drops what it cannot take; a stall of the
# machine costs records, not CPU).
# A last search runs vtap with a 1,000-VM inventory that attributes every
# record to a VM (lib.bash inventory).
# Two lines give the floor: the generator at full speed against a
# receiver that only reads (bench/collector/discard.c), one datagram per
# receive and with UDP_GRO. vtap asks for UDP_GRO (collector.udp_gro):
# the runs the generator sends with GSO then reach it whole, as a NIC's
# GRO would merge an exporter's equal-sized datagrams; nfcapd gets the
# same stream cut into datagrams.
set -u
cd "$(dirname "$0")/../.."
VTAP=$(realpath "${1:-build/release/vtap}")
T=${SECONDS_PER_TRIAL:-3}
CPU_GEN=${CPU_GEN:-0}
CPU_COLL=${CPU_COLL:-1}
. bench/collector/lib.bash
in_netns "$0" "$@"
W=$(mktemp -d /tmp/vtap-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
command -v nfcapd >/dev/null || { echo "needs nfcapd (scripts/deps.sh)"; exit 1; }

backlog() { ss -Hlun "sport = :$1" | awk '{s += $2} END {print s + 0}'; }

drain() { # PORT : wait for the socket to be empty for 0.5 s
	local n=0 i
	for i in $(seq 600); do
		if [ "$(backlog "$1")" -eq 0 ]; then n=$((n + 1)); [ $n -ge 5 ] && return; else n=0; fi
		sleep 0.1
	done
}

# gen FMT N RATE [--spin] : sends N records at RATE; true when the
# generator kept within 5 % of RATE (else it, not the collector, set the
# pace). --spin paces by busy-waiting on the generator's own core: on a
# virtual machine a sleeping sender wakes milliseconds late and then
# catches up in a burst far above RATE.
gen() {
	local rps
	rps=$(taskset -c "$CPU_GEN" "$VTAP" flowgen --gso ${4:-} --to 127.0.0.1:4739 -f "$1" -n "$2" \
		-r "$3" | jq .records_per_s)
	awk -v a="${rps:-0}" -v r="$3" 'BEGIN { exit !(a >= 0.95 * r) }'
}

# trial_vtap FMT RATE WORKERS PIN : prints records lost, or "gen" when the
# generator could not offer RATE
trial_vtap() {
	local fmt=$1 rate=$2 workers=$3 pin=$4 n=$(($2 * T)) got ok=1 cpu= spin=
	# unpinned, the workers need the generator's core too: no spinning
	[ "$pin" = 1 ] && cpu=$CPU_COLL spin=--spin
	vtap_start "$VTAP" "$W/v" "$workers" "$cpu"
	gen "$fmt" "$n" "$rate" $spin || ok=0
	drain 4739
	got=$(vtap_wait_stored)
	vtap_stop
	[ $ok = 1 ] && echo $((n - got)) || echo gen
}

trial_nfcapd() {
	local fmt=$1 rate=$2 n=$(($2 * T))
	rm -rf "$W/n"
	mkdir -p "$W/n"
	taskset -c "$CPU_COLL" nfcapd -w "$W/n" -p 4739 -b 127.0.0.1 -t 3600 -B $BUF >/dev/null 2>&1 &
	local pid=$!
	for i in $(seq 50); do ss -Hlun 'sport = :4739' | grep -q . && break; sleep 0.1; done
	local ok=1 got
	gen "$fmt" "$n" "$rate" --spin || ok=0
	drain 4739
	kill "$pid"
	wait "$pid"
	got=$(nfdump -R "$W/n" -I 2>/dev/null | awk '/^Flows:/ {print $2}')
	[ $ok = 1 ] && echo $((n - ${got:-0})) || echo gen
}

# try CMD... RATE : one trial, repeated up to twice while the generator
# could not offer RATE (a machine's stall, not a result); each outcome
# goes to stderr ("trial v_nfv9_1 3200000/s: lost 0"), so a search that
# stopped early shows how many records it lost where
try() {
	local lost k
	for k in 1 2 3; do
		lost=$("$@")
		echo "trial $1 ${*: -1}/s: lost $lost" >&2
		[ "$lost" = gen ] || break
	done
	echo "$lost"
}

# search CMD... : the highest zero-loss rate; "gen:RATE" when a trial at a
# higher rate was cut short by the generator (RATE is then a lower bound)
search() {
	local lo=0 hi=0 r=100000 lost capped=0
	while :; do
		lost=$(try "$@" "$r")
		[ "$lost" = gen ] && capped=1
		if [ "$lost" = 0 ]; then lo=$r; r=$((r * 2)); else hi=$r; break; fi
		[ $r -gt 16000000 ] && { echo $lo; return; }
	done
	while [ $((hi - lo)) -gt $((lo / 20 + 1000)) ]; do
		r=$(((lo + hi) / 2))
		lost=$(try "$@" "$r")
		[ "$lost" = gen ] && capped=1
		if [ "$lost" = 0 ]; then lo=$r; else hi=$r; fi
	done
	[ $capped = 1 ] && echo "gen:$lo" || echo $lo
}

v_ipfix_1() { trial_vtap ipfix "$1" 1 1; }
v_nfv9_1() { trial_vtap nfv9 "$1" 1 1; }
v_ipfix_2() { trial_vtap ipfix "$1" 2 0; }
n_ipfix() { trial_nfcapd ipfix "$1"; }
n_nfv9() { trial_nfcapd nfv9 "$1"; }

# best A B : the higher of two search results (a "gen:" mark stays with
# its number); show R : "R records/s", or ">= R records/s (generator-bound)"
best() { [ "${1#gen:}" -gt "${2#gen:}" ] && echo "$1" || echo "$2"; }
show() {
	case $1 in
	gen:*) echo ">= ${1#gen:} records/s (generator-bound)" ;;
	*) echo "$1 records/s" ;;
	esac
}

# cpu_vtap FMT N RATE [CPU] : "µs-per-record records" of collector CPU
# (all threads) over N records sent at RATE (0: the generator's full
# speed, more than either collector takes: the socket drops the excess,
# and stored records per CPU-second are one core's capacity, whatever
# the machine's stalls cost in loss)
cpu_vtap() {
	local pid t0 t1 got
	vtap_start "$VTAP" "$W/c" 1 "${4:-}"
	pid=$VTAP_PID
	t0=$(cpu_ticks $pid)
	taskset -c "$CPU_GEN" "$VTAP" flowgen --gso --to 127.0.0.1:4739 -f "$1" -n "$2" -r "$3" >/dev/null
	drain 4739
	sleep 1.5   # the writer and the store's flush
	got=$(vtap_wait_stored)
	t1=$(cpu_ticks $pid)
	vtap_stop
	awk -v t=$((t1 - t0)) -v n="$got" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f %d", t / hz * 1e6 / n, n }'
}
cpu_nfcapd() {
	rm -rf "$W/d"; mkdir -p "$W/d"
	local pre=()
	[ -n "${4:-}" ] && pre=(taskset -c "$4")
	"${pre[@]}" nfcapd -w "$W/d" -p 4739 -b 127.0.0.1 -t 3600 -B $BUF >/dev/null 2>&1 &
	local pid=$! t0 t1 got
	for i in $(seq 50); do ss -Hlun 'sport = :4739' | grep -q . && break; sleep 0.1; done
	t0=$(cpu_ticks $pid)
	taskset -c "$CPU_GEN" "$VTAP" flowgen --gso --to 127.0.0.1:4739 -f "$1" -n "$2" -r "$3" >/dev/null
	drain 4739
	t1=$(cpu_ticks $pid)
	kill $pid; wait $pid
	got=$(nfdump -R "$W/d" -I 2>/dev/null | awk '/^Flows:/ {print $2}')
	awk -v t=$((t1 - t0)) -v n="$got" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f %d", t / hz * 1e6 / n, n }'
}

echo "| stream | nfcapd (1 core) | vtap collector, 1 worker (1 core) | ratio |"
echo "|---|---|---|---|"
for fmt in ipfix nfv9; do
	nf1=$(search "n_$fmt"); vt1=$(search "v_${fmt}_1")
	nf2=$(search "n_$fmt"); vt2=$(search "v_${fmt}_1")
	nf=$(best "$nf1" "$nf2"); vt=$(best "$vt1" "$vt2")
	nf_n=${nf#gen:}; vt_n=${vt#gen:}
	[ "$fmt" = ipfix ] && nf_ipfix=$nf_n
	ratio=$(awk -v a="$vt_n" -v b="$nf_n" 'BEGIN { printf "%.1fx", b ? a / b : 0 }')
	[ "$vt" != "$vt_n" ] && ratio=">= $ratio"
	echo "| $fmt | $(show "$nf") | $(show "$vt") | $ratio |"
done
echo
echo "| stream | nfcapd CPU per record | vtap collector CPU per record (all threads) |"
echo "|---|---|---|"
for fmt in ipfix nfv9; do
	read -r nc _ <<<"$(cpu_nfcapd "$fmt" 2000000 200000)"
	read -r vc _ <<<"$(cpu_vtap "$fmt" 2000000 200000)"
	echo "| $fmt | $nc µs | $vc µs |"
done
echo
echo "At saturation (10 M records at the generator's full speed, collector pinned to one core):"
echo
echo "| stream | nfcapd: records stored, per CPU-second | vtap: records stored, per CPU-second | ratio |"
echo "|---|---|---|---|"
for fmt in ipfix nfv9; do
	read -r nc ng <<<"$(cpu_nfcapd "$fmt" 10000000 0 "$CPU_COLL")"
	read -r vc vg <<<"$(cpu_vtap "$fmt" 10000000 0 "$CPU_COLL")"
	awk -v nc="$nc" -v ng="$ng" -v vc="$vc" -v vg="$vg" -v f="$fmt" 'BEGIN {
		printf "| %s | %d, %.2f M | %d, %.2f M | %.1fx |\n", f, ng, 1 / nc, vg, 1 / vc, nc / vc }'
done
# floor: the generator at full speed against a receiver that only reads
# (bench/collector/discard.c): the most this machine's bench can offer on
# one core, and what the kernel's receive path costs any collector; once
# one datagram per receive (nfcapd's way), once with UDP_GRO (vtap's
# default, collector.udp_gro), where the generator's GSO runs arrive whole
floor() { # MODE ("" or gro) NFCAPD_RATE
	local n=10000000 pid t0 t1 c0 c1 sent got
	[ -x "$W/discard" ] || cc -O2 -o "$W/discard" bench/collector/discard.c || return
	taskset -c "$CPU_COLL" "$W/discard" 4739 "$BUF" $1 >"$W/discard.out" &
	pid=$!
	for i in $(seq 50); do ss -Hlun 'sport = :4739' | grep -q . && break; sleep 0.1; done
	c0=$(cpu_ticks $pid)
	t0=$(date +%s%N)
	sent=$(taskset -c "$CPU_GEN" "$VTAP" flowgen --gso --to 127.0.0.1:4739 -f ipfix -n $n -r 0 | jq .messages)
	t1=$(date +%s%N)
	drain 4739
	c1=$(cpu_ticks $pid)
	kill $pid
	wait $pid
	read -r got _ <"$W/discard.out"
	awk -v n=$n -v ns=$((t1 - t0)) -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="$sent" \
		-v g="$got" -v nf="$2" -v m="${1:-one datagram per receive}" 'BEGIN {
		rate = n / (ns / 1e9); k = c / hz * 1e6 / n
		printf "Floor (IPFIX, %s): the generator alone reaches %.0f records/s on its core; a receiver that only reads got %d of %d datagrams and spent %.3f µs of CPU per record in the kernel.", m, rate, g, s, k
		if (nf > 0) printf " 3x nfcapd (%d records/s) leaves %.3f µs per record for everything else.", 3 * nf, 1e6 / (3 * nf) - k
		printf "\n" }'
}
floor "" "$nf_ipfix"
echo
floor gro "$nf_ipfix"
v2=$(search v_ipfix_2)
echo
echo "vtap collector, 2 workers, unpinned (the generator shares the 2 CPUs): $(show "$v2") (IPFIX)"
# attribution: the same one-core search with an inventory that makes
# every record a VM's (per-VM statistics, services, peers); nfcapd has no
# equivalent, its figure above is the reference
inventory "$W/inv.json" 1000 250
va=$(VTAP_INVENTORY="$W/inv.json" search v_ipfix_1)
echo
echo "vtap collector, 1 worker (1 core), every record attributed to one of 1,000 inventory VMs: $(show "$va") (IPFIX; nfcapd above: $nf_ipfix records/s)"
echo "(records of 54-55 bytes, ~25 per 1400-byte datagram; socket buffer $BUF bytes; $T s per trial)"
