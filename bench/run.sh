#!/usr/bin/env bash
# bench/run.sh [NAME...] — runs the benchmarks against the peers, each
# measuring vtap and its peer in the same run (see bench/README.md):
#   decode    packet decoder vs tcpdump and tshark
#   meter     offline metering vs softflowd and nfpcapd
#   flowdec   collector decoders vs tshark
#   store     store ingest and top-N queries vs nfcapd/nfdump
#   collector collector ingest vs nfcapd
#   agent     live metering vs softflowd
#   tap       tapped VM throughput vs untapped and tc mirred; small packets vs tcpdump
# With no NAME, all that exist. Output: bench/out/NAME/ and a log each.
# Benchmarks need the release build (make build) and root for the lab ones;
# run them on a quiet machine: they measure wall and CPU time.
set -uo pipefail
cd "$(dirname "$0")/.."
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for d in bench/*/; do
		[ -x "$d/run.sh" ] && names+=("$(basename "$d")")
	done
fi
mkdir -p bench/out
status=0
for n in "${names[@]}"; do
	[ -x "bench/$n/run.sh" ] || { echo "no benchmark '$n'"; status=2; continue; }
	echo "== bench/$n (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	start=$SECONDS
	if "bench/$n/run.sh" 2>&1 | tee "bench/out/$n.log"; then
		echo "== bench/$n done in $((SECONDS - start))s"
	else
		echo "== bench/$n FAILED (log: bench/out/$n.log)"; status=1
	fi
done
exit $status
