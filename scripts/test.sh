#!/usr/bin/env bash
# test.sh — the whole vtap test suite (the README's test command).
#
#   scripts/test.sh [-k PATTERN] [--no-fuzz] [--no-integration]
#
# 1. installs missing Debian packages (scripts/deps.sh);
# 2. builds the ASan+UBSan build (build/asan) and the libFuzzer build
#    (build/fuzz, clang);
# 3. runs every unit test binary, replays every fuzz seed and runs each
#    fuzz target for FUZZ_SECONDS (default 15; FUZZ_JOBS of them at a time,
#    default one per CPU), runs every integration test
#    in tests/integration/ (each builds and removes its own namespaces);
# 4. prints "N passed, N failed, N skipped" and exits non-zero on failure.
#
# An integration test exits 0 (pass), 77 (skipped, with the reason on its
# last output line) or anything else (fail). Logs: build/test-logs/.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PATTERN=""
DO_FUZZ=1
DO_INTEG=1
while [ $# -gt 0 ]; do
	case "$1" in
	-k) PATTERN="$2"; shift 2 ;;
	--no-fuzz) DO_FUZZ=0; shift ;;
	--no-integration) DO_INTEG=0; shift ;;
	*) echo "usage: $0 [-k PATTERN] [--no-fuzz] [--no-integration]" >&2; exit 2 ;;
	esac
done

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
LOGDIR=$ROOT/build/test-logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export VTAP_ROOT=$ROOT
# The shared capture corpus (read-only, used in place): next to the checkout,
# or where VTAP_CORPUS points. Tests that need it fail when it is missing.
if [ -z "${VTAP_CORPUS:-}" ]; then
	for c in "$ROOT/../shared/corpus" /work/shared/corpus; do
		[ -f "$c/MANIFEST.tsv" ] && { VTAP_CORPUS=$(cd "$c" && pwd); break; }
	done
fi
export VTAP_CORPUS=${VTAP_CORPUS:-$ROOT/../shared/corpus}

scripts/deps.sh || { echo "0 passed, 1 failed, 0 skipped (dependencies missing)"; exit 1; }

build() { # build DIR [meson options...]
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$LOGDIR/setup-$(basename "$dir").log" 2>&1 ||
			{ cat "$LOGDIR/setup-$(basename "$dir").log"; return 1; }
	fi
	ninja -C "$dir" >"$LOGDIR/build-$(basename "$dir").log" 2>&1 ||
		{ tail -50 "$LOGDIR/build-$(basename "$dir").log"; return 1; }
}

mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/*.log "$LOGDIR"/*.rc
if ! build build/asan -Db_sanitize=address,undefined -Db_lundef=false; then
	echo "build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
export VTAP=$ROOT/build/asan/vtap
if [ $DO_FUZZ = 1 ] && ! CC=clang build build/fuzz -Dfuzzing=true -Db_lundef=false; then
	echo "fuzz build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi

pass=0 fail=0 skip=0
failed_names=()

# exec_case NAME TIMEOUT CMD... : runs one test, its output in
# $LOGDIR/NAME.log, its exit code and duration in $LOGDIR/NAME.rc (so that
# it can run in the background); report NAME counts and prints the result.
selected() { [ -z "$PATTERN" ] || [[ "$1" == *$PATTERN* ]]; }
exec_case() {
	local name=$1 tmo=$2; shift 2
	local log=$LOGDIR/${name//\//_}.log start=$SECONDS rc
	timeout --kill-after=10 "$tmo" "$@" >"$log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "timed out after $tmo" >>"$log"
	echo "$rc $((SECONDS - start))" >"${log%.log}.rc"
}
report() {
	local name=$1 log=$LOGDIR/${1//\//_}.log rc took
	# no .rc file: the test's shell was killed before it wrote one
	if ! read -r rc took 2>/dev/null <"${log%.log}.rc"; then
		rc=1 took=0
		echo "no exit status recorded" >>"$log"
	fi
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); printf 'PASS  %-50s %4ds\n' "$name" "$took"
	elif [ "$rc" -eq 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP  %-50s %s\n' "$name" "$(grep -i 'skipped' "$log" | tail -1)"
	else
		fail=$((fail + 1)); failed_names+=("$name")
		printf 'FAIL  %-50s %4ds (rc %d)\n' "$name" "$took" "$rc"
		# the reasons first: a report cut short (CI shows the start of
		# this) still says what failed
		grep -a -m 5 '^FAIL[: ]' "$log" | sed 's/^/      > /'
		sed 's/^/      | /' "$log" | tail -40
	fi
}
# run NAME TIMEOUT CMD... : one test, in the foreground
run() {
	selected "$1" || return 0
	exec_case "$@"
	report "$1"
}

echo "== static checks"
for t in tests/static/*.sh; do
	[ -f "$t" ] || continue
	run "static/$(basename "$t" .sh)" 120 bash "$t"
done

# The demo runs the release build (-O3): its warnings (truncation, null
# dereference analysis) differ from the ASan build's, so it must compile too.
echo "== release build"
run build/release 1800 scripts/build_release.sh

echo "== unit tests"
for t in build/asan/tests/unit/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	run "unit/$(basename "$t")" 300 "$t"
done

if [ $DO_FUZZ = 1 ]; then
	echo "== fuzz targets (seed replay + ${FUZZ_SECONDS}s each)"
	# FUZZ_JOBS targets at a time (default: one per CPU): each fuzzes for
	# FUZZ_SECONDS of wall time on a CPU of its own, so running them side
	# by side keeps every target's effort and divides the suite's time
	targets=()
	for t in build/fuzz/tests/fuzz/fuzz_*; do
		[ -f "$t" ] && [ -x "$t" ] && selected "fuzz/$(basename "$t")" && targets+=("$t")
	done
	jobs=${FUZZ_JOBS:-$(nproc)}
	[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || jobs=1
	for ((i = 0; i < ${#targets[@]}; i += jobs)); do
		batch=("${targets[@]:i:jobs}")
		for t in "${batch[@]}"; do
			exec_case "fuzz/$(basename "$t")" $((FUZZ_SECONDS * 3 + 300)) \
				tests/fuzz/run-target.sh "$t" "$FUZZ_SECONDS" &
		done
		wait
		for t in "${batch[@]}"; do
			report "fuzz/$(basename "$t")"
		done
	done
fi

if [ $DO_INTEG = 1 ]; then
	echo "== integration tests"
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		tmo=$(sed -n 's/^# timeout: *\([0-9]*\).*/\1/p' "$t" | head -1)
		run "integration/$(basename "$t" .sh)" "${tmo:-300}" bash "$t"
	done
fi

echo
[ ${#failed_names[@]} -gt 0 ] && printf 'failed: %s\n' "${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
