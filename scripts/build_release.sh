#!/usr/bin/env bash
# build_release.sh — the release build, build/release: -O3, link-time
# optimization and profile-guided optimization (docs/design.md). The first
# call sets the tree up instrumented, builds vtap, trains it
# (scripts/pgo_train.sh) and switches the tree to use the profile; every
# call then builds. PGO=0 sets a new tree up without a profile; a failed
# training run does the same, with a warning. An edited source file is
# rebuilt with what is left of its profile (GCC drops the functions that
# changed); `rm -rf build/release` trains again.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/release
# untrained code (the agent, the lab, most of the CLI) is optimized as
# without a profile, not for size; files the training never ran have no
# profile at all
PGO_ARGS="-fprofile-partial-training -Wno-missing-profile -Wno-error=coverage-mismatch"

if [ ! -f "$B/build.ninja" ]; then
	if [ "${PGO:-1}" = 1 ]; then
		meson setup "$B" --buildtype=release -Db_lto=true -Db_pgo=generate \
			-Dc_args="$PGO_ARGS"
	else
		meson setup "$B" --buildtype=release -Db_lto=true
	fi
fi
if grep -q -- -fprofile-generate "$B/build.ninja"; then
	ninja -C "$B" vtap
	find "$B" -name '*.gcda' -delete
	if scripts/pgo_train.sh "$B/vtap"; then
		meson configure "$B" -Db_pgo=use
	else
		echo "build_release: the training run failed; building without a profile" >&2
		meson configure "$B" -Db_pgo=off
	fi
fi
ninja -C "$B"
