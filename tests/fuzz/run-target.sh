#!/usr/bin/env bash
# run-target.sh TARGET SECONDS [CORPUS_DIR] — replays every seed of a fuzz
# target (its own seeds/NAME/ directory plus the globs listed in
# seeds/NAME.list, which are relative to the shared capture corpus
# $VTAP_CORPUS), then fuzzes it for SECONDS (0: replay only) into
# CORPUS_DIR (kept; default a scratch directory). Fails on the first crash,
# leak or sanitizer report, and when a listed glob matches nothing.
set -euo pipefail
target=$1
secs=$2
name=$(basename "$target")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seeds=()
scratch=$(mktemp -d)
listed=$(mktemp -d)
trap 'rm -rf "$scratch" "$listed"' EXIT
work=${3:-$scratch}
log=$scratch/log
[ -d "$here/seeds/$name" ] && seeds+=("$here/seeds/$name")
if [ -f "$here/seeds/$name.list" ]; then
	# libFuzzer takes corpus directories, not files: the listed corpus
	# files are linked into one directory
	while IFS= read -r line; do
		case "$line" in ''|'#'*) continue ;; esac
		: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
		n=0
		for p in $VTAP_CORPUS/$line; do
			[ -f "$p" ] || continue
			ln -sf "$p" "$listed/$(echo "$p" | md5sum | cut -c1-16)-$(basename "$p")"
			n=$((n + 1))
		done
		[ $n -gt 0 ] || { echo "seed glob '$line' matches nothing in $VTAP_CORPUS"; exit 1; }
	done <"$here/seeds/$name.list"
	seeds+=("$listed")
fi
[ ${#seeds[@]} -gt 0 ] || { echo "no seeds for $name"; exit 1; }
files=$(find -L "${seeds[@]}" -type f | wc -l)
echo "replaying $files seeds"
art=$root/build/fuzz-artifacts/$name
mkdir -p "$art"
"$target" -runs=0 -artifact_prefix="$art/" "${seeds[@]}" >"$log" 2>&1 ||
	{ tail -40 "$log"; exit 1; }
tail -3 "$log"
# libFuzzer reads -max_total_time=0 as "no limit"
[ "$secs" -gt 0 ] || exit 0
echo "fuzzing for ${secs}s"
"$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$art/" "$work" "${seeds[@]}" >"$log" 2>&1 ||
	{ tail -60 "$log"; echo "crash input kept in $art"; exit 1; }
tail -8 "$log"
