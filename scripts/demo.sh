#!/usr/bin/env bash
# demo.sh — the README's first command: shows what vtap can do so far.
# Each component adds its act here as it lands; the demo must keep working.
set -euo pipefail
cd "$(dirname "$0")/.."
VTAP=${VTAP:-build/release/vtap}
echo "== vtap $("$VTAP" --version)"
"$VTAP" --help
