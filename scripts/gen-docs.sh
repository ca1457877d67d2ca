#!/usr/bin/env bash
# gen-docs.sh [VTAP] [OUTDIR] — regenerates the reference pages that come
# from code tables: the command reference and one page per config file.
set -eu
cd "$(dirname "$0")/.."
VTAP=${1:-build/release/vtap}
OUT=${2:-docs/reference}
mkdir -p "$OUT"
"$VTAP" docs-cli >"$OUT/cli.md"
comps=$("$VTAP" config-keys --list)   # a failing command must fail the docs build
for comp in $comps; do
	"$VTAP" config-keys "$comp" >"$OUT/$comp.conf.md"
done
echo "wrote $OUT"
