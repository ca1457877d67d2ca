#!/usr/bin/env bash
# fuzz.sh [SECONDS [TARGET...]] — builds the libFuzzer targets and runs each
# (or only the TARGETs named, e.g. fuzz_json) for SECONDS (default:
# $FUZZ_SECONDS or 300), with the seeds the suite uses (run-target.sh: the
# target's seeds/ directory and its corpus globs), keeping the grown corpus
# in ${FUZZ_CORPUS:-build/fuzz-corpus}/NAME so later runs start where this
# one stopped. Every target runs even when one fails; exits 1 if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-300}}
[ $# -gt 0 ] && shift
corpus=${FUZZ_CORPUS:-build/fuzz-corpus}
# the shared capture corpus, found as scripts/test.sh finds it
if [ -z "${VTAP_CORPUS:-}" ]; then
	for c in "$PWD/../shared/corpus" /work/shared/corpus; do
		[ -f "$c/MANIFEST.tsv" ] && { VTAP_CORPUS=$(cd "$c" && pwd); break; }
	done
fi
export VTAP_CORPUS=${VTAP_CORPUS:-$PWD/../shared/corpus}
if [ ! -f build/fuzz/build.ninja ]; then
	CC=clang meson setup build/fuzz -Dfuzzing=true -Db_lundef=false || exit 1
fi
ninja -C build/fuzz || exit 1
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for t in build/fuzz/tests/fuzz/fuzz_*; do
		[ -f "$t" ] && [ -x "$t" ] && targets+=("$(basename "$t")")
	done
fi
failed=()
for name in "${targets[@]}"; do
	t=build/fuzz/tests/fuzz/$name
	echo "== $name (${secs}s)"
	if [ ! -x "$t" ]; then
		echo "no fuzz target $t"
		failed+=("$name")
		continue
	fi
	mkdir -p "$corpus/$name"
	tests/fuzz/run-target.sh "$t" "$secs" "$corpus/$name" || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
