#!/usr/bin/env bash
# bench/collector/run.sh — collector ingest against nfcapd, same streams,
# same run (bench/run.sh collector). Writes bench/out/collector/results.md;
# the figures in docs/collector.md come from it. Needs root (a private
# network namespace) and the release build.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p bench/out/collector
{
	echo "# collector ingest vs nfcapd ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	bench/collector/ingest.sh "${1:-build/release/vtap}"
} | tee bench/out/collector/results.md
