#!/usr/bin/env bash
# The command reference and the config key references in docs/ are
# generated from the option and key tables; this fails when they drift.
# Regenerate with `make docs`.
set -eu
cd "$(dirname "$0")/../.."
VTAP=${VTAP:-build/asan/vtap}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/gen-docs.sh "$VTAP" "$tmp" >/dev/null
status=0
for f in "$tmp"/*.md; do
	name=$(basename "$f")
	if ! diff -u "docs/reference/$name" "$f"; then
		echo "docs/reference/$name is out of date: run 'make docs'"
		status=1
	fi
done
# every man page can be generated and is valid troff
mkdir "$tmp/man"
"$VTAP" man "$tmp/man"
n=$(ls "$tmp/man" | wc -l)
[ "$n" -ge 3 ] || { echo "only $n man pages generated"; exit 1; }
for m in "$tmp"/man/*.1; do
	head -1 "$m" | grep -q '^\.TH ' || { echo "$m: not a man page"; status=1; }
done
[ $status -eq 0 ] && echo "docs/reference in sync; $n man pages"
exit $status
