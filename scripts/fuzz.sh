#!/usr/bin/env bash
# fuzz.sh [SECONDS] — builds the libFuzzer targets and runs each for
# SECONDS (default: $FUZZ_SECONDS or 300), keeping the grown corpus in
# build/fuzz-corpus/NAME so later runs start where this one stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-300}}
[ -f build/fuzz/build.ninja ] || CC=clang meson setup build/fuzz -Dfuzzing=true -Db_lundef=false
ninja -C build/fuzz
for t in build/fuzz/tests/fuzz/fuzz_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	mkdir -p "build/fuzz-corpus/$name"
	echo "== $name (${secs}s)"
	tests/fuzz/run-target.sh "$t" 0 >/dev/null
	"$t" -max_total_time="$secs" -timeout=10 "build/fuzz-corpus/$name" \
		tests/fuzz/seeds/"$name" 2>&1 | tail -5
done
