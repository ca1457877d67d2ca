#!/usr/bin/env bash
# timeout: 240
# `make fuzz` (scripts/fuzz.sh) and the suite's per-target runner
# (tests/fuzz/run-target.sh): a bounded run of named targets ends, grows a
# kept corpus from the same seeds the suite uses (including the corpus
# globs of a .list), replay-only (0 s) means replay only, and an unknown
# target fails the run.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
for t in fuzz_json fuzz_pcapfile; do
	[ -x "build/fuzz/tests/fuzz/$t" ] ||
		{ echo "skipped: needs the fuzzing build (build/fuzz, made by scripts/test.sh)"; exit 77; }
done

# 0 seconds: the seeds are replayed and nothing is fuzzed
out=$(timeout 120 tests/fuzz/run-target.sh build/fuzz/tests/fuzz/fuzz_json 0 2>&1); rc=$?
check_eq "run-target.sh TARGET 0 exits" "$rc" 0
echo "$out" | grep -q "^replaying [1-9][0-9]* seeds" || fail "no replay: $out"
echo "$out" | grep -q "fuzzing for" && fail "run-target.sh fuzzed with 0 seconds: $out"
echo "ok   run-target.sh with 0 seconds only replays"

# two targets for 2 s each, into a corpus of our own
export FUZZ_CORPUS=$TMPDIR_T/corpus
t0=$SECONDS
timeout 180 scripts/fuzz.sh 2 fuzz_json fuzz_pcapfile >"$TMPDIR_T/fuzz.log" 2>&1; rc=$?
[ $rc -eq 0 ] || { tail -30 "$TMPDIR_T/fuzz.log"; fail "scripts/fuzz.sh 2 fuzz_json fuzz_pcapfile: rc $rc"; }
echo "ok   scripts/fuzz.sh 2 fuzz_json fuzz_pcapfile ended in $((SECONDS - t0)) s"
check_eq "targets run" "$(grep -c '^fuzzing for 2s' "$TMPDIR_T/fuzz.log")" 2
for t in fuzz_json fuzz_pcapfile; do
	n=$(find "$FUZZ_CORPUS/$t" -type f | wc -l)
	[ "$n" -gt 0 ] || fail "$t: nothing kept in $FUZZ_CORPUS/$t"
	echo "ok   $t: $n inputs kept"
done
# fuzz_pcapfile has no seeds/ directory, only corpus globs: they were used
n=$(grep -o '^replaying [0-9]* seeds' "$TMPDIR_T/fuzz.log" | sed -n 2p | awk '{print $2}')
[ "${n:-0}" -ge 50 ] || fail "fuzz_pcapfile replayed ${n:-0} seeds (its corpus globs were not used)"
echo "ok   fuzz_pcapfile replayed its $n corpus seeds"

out=$(timeout 60 scripts/fuzz.sh 1 fuzz_nope 2>&1); rc=$?
check_eq "an unknown target fails" "$rc" 1
echo "$out" | grep -q "failed: fuzz_nope" || fail "unexpected: $out"
echo "PASS"
