#!/usr/bin/env bash
# bench/collector/pipeline.sh — the collector's user-space CPU per record,
# without sockets (pipeline.c): decode, attribution, writer, store.
#
#   bench/collector/pipeline.sh [ROUNDS] [TREE...]     (default 5 rounds, this tree)
#
# Each TREE (a source checkout with a release build, scripts/build_release.sh;
# default: this one) gets its own pipeline binary, compiled from that tree's
# collector sources against its libvtap.a, so two trees compare two versions
# of the code on the same captures. The captures are made once here:
# `vtap flowgen` (IPFIX, then NetFlow v9; the same record mix as ingest.sh)
# captured by tcpdump on the loopback of a private network namespace
# (root), 600 k records each. Every round runs each binary, pinned to CPU
# (default 1), on each capture replayed 10 times (~6 M records), both with
# no inventory and with one of 1,000 VMs that owns every destination address
# of the stream (each record attributed to a VM, per-VM statistics kept).
# Prints ns of CPU per record (the process's every thread, store closed),
# every round's value then the median, one row per tree x case. Runs are
# interleaved: the machine's speed drifts during a run, and a median of
# interleaved rounds is what two versions can be compared on.
#
#   WORKERS="1 2" bench/collector/pipeline.sh [ROUNDS] [TREE]
#
# instead measures scaling with workers (the first tree only, no
# inventory): N threads each feed the whole capture through a decode path
# of their own into the one writer and store, as N collector workers each
# with its own exporters (PIPELINE_WORKERS in pipeline.c), on every CPU
# (no pinning: the writer and the store's flusher take their share);
# prints records per wall-second, every round then the median. Without
# sockets and without a generator, it shows what workers add where a
# 2-core machine cannot (ingest.sh's generator needs a core of its own).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
shift || true
TREES=("$@")
[ ${#TREES[@]} -gt 0 ] || TREES=("$PWD")
CPU=${CPU:-1}
[ "$(id -u)" = 0 ] || { echo "pipeline.sh: needs root (a network namespace for the capture)" >&2; exit 2; }
W=$(mktemp -d /tmp/vtap-pipeline.XXXXXX)
trap 'rm -rf "$W"' EXIT

bins=()
for t in "${TREES[@]}"; do
	t=$(realpath "$t")
	[ -f "$t/build/release/libvtap.a" ] || (cd "$t" && scripts/build_release.sh >/dev/null)
	b="$W/pipeline.${#bins[@]}"
	C="$t/src/collector"
	cc -O2 -flto=auto -std=gnu11 -D_GNU_SOURCE -I"$t/lib" -I"$t/src" -o "$b" \
		bench/collector/pipeline.c "$C/ingest.c" "$C/sink.c" "$C/enrich.c" "$C/inventory.c" \
		"$C/vmstats.c" "$C/udpsock.c" "$C/xcall.c" "$t/build/release/libvtap.a" \
		-lzstd -llz4 -lm -lpthread 2> >(grep -v -e profile -e coverage >&2 || true)
	bins+=("$b")
done

VTAP=$(realpath "${TREES[0]}")/build/release/vtap
unshare -n bash -s "$VTAP" "$W" <<'EOF'
set -e
ip link set lo up
for f in ipfix nfv9; do
	tcpdump -i lo -w "$2/$f.pcap" -s 0 -B 262144 udp port 4739 2>/dev/null &
	tp=$!
	sleep 1
	"$1" flowgen --to 127.0.0.1:4739 -f $f -n 600000 -r 300000 >/dev/null
	sleep 0.5
	kill $tp
	wait $tp || true
done
EOF

. bench/collector/lib.bash
inventory "$W/inv.json" 1000 250

# medians NK : lines "K1 .. KNK VALUE" (rounds of each key) as
# "K1 .. KNK;VALUES;MEDIAN", a line per key, in key order
medians() {
	awk -v nk="$1" '
		{ k = $1; for (i = 2; i <= nk; i++) k = k " " $i
		  v[k] = v[k] " " $(nk + 1); n[k]++; x[k, n[k]] = $(nk + 1) }
		END {
			for (k in v) {
				m = n[k]
				for (i = 1; i <= m; i++) s[i] = x[k, i]
				for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (s[j] < s[i]) { y = s[i]; s[i] = s[j]; s[j] = y }
				printf "%s;%s;%s\n", k, v[k], m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
			}
		}' | sort
}

if [ -n "${WORKERS:-}" ]; then
	echo "| stream | workers | records per wall-second, each round | median |"
	echo "|---|---|---|---|"
	for r in $(seq "$ROUNDS"); do
		for f in ipfix nfv9; do
			for w in $WORKERS; do
				rm -rf "$W/store"
				rps=$(PIPELINE_WORKERS=$w "${bins[0]}" "$W/$f.pcap" "$W/store" 10 |
					sed -n 's/.*"records_per_s":\([0-9]*\).*/\1/p')
				echo "$f $w $rps"
			done
		done
	done | medians 2 | awk -F';' '{
		split($1, p, " "); n = split($2, a, " "); r = ""
		for (i = 1; i <= n; i++) r = r sprintf(" %.2f M", a[i] / 1e6)
		printf "| %s | %s |%s | %.2f M |\n", p[1], p[2], r, $3 / 1e6 }'
	exit 0
fi

echo "| tree | stream | inventory | ns/record, each round | median |"
echo "|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
	for f in ipfix nfv9; do
		for inv in none 1000; do
			for i in "${!bins[@]}"; do
				rm -rf "$W/store"
				a=("${bins[$i]}" "$W/$f.pcap" "$W/store" 10)
				[ $inv = none ] || a+=("$W/inv.json")
				ns=$(taskset -c "$CPU" "${a[@]}" | sed -n 's/.*"ns_per_record":\([0-9.]*\).*/\1/p')
				echo "$i $f $inv $ns"
			done
		done
	done
done | medians 3 | awk -F';' -v trees="${TREES[*]}" '
	BEGIN { split(trees, t, " ") }
	{ split($1, p, " ")
	  printf "| %s | %s | %s |%s | %s |\n", t[p[1] + 1], p[2], p[3] == "none" ? "none" : "1,000 VMs", $2, $3 }'
