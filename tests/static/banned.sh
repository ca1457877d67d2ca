#!/usr/bin/env bash
# Banned C functions (curl's rule): unbounded copies and formatting, and
# number parsing without error reporting. Use the bounded helpers in
# lib/core (vbuf, snprintf, parse_u64, strtok_r) instead.
set -eu
cd "$(dirname "$0")/../.."
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok|strncpy)[[:space:]]*\('
if grep -rnE "$pattern" --include='*.c' --include='*.h' lib src lab bpf tests bench 2>/dev/null |
	grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)'; then
	echo "banned functions used (see above)"
	exit 1
fi
echo "no banned functions"
