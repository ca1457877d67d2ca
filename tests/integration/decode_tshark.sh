#!/usr/bin/env bash
# timeout: 900
# decode_tshark.sh — our decoder agrees with tshark on every capture of
# corpus traffic/, tunnels/, scans/ and flowexport/: per frame, the fields
# of the outermost IP header and its transport (src, dst, proto, ports or
# ICMP type/code, ip_len, VLAN IDs, TCP flags, fragment flag); per file, the
# number of frames, of IP frames and the sum of ip_len. The comparison and
# its (short, justified) exception list live in decode_compare.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
: "${VTAP_CORPUS:?VTAP_CORPUS must point at the shared capture corpus}"
command -v tshark >/dev/null || { echo "tshark missing: run scripts/deps.sh"; exit 1; }
[ -x "$VTAP" ] || { echo "$VTAP not built"; exit 1; }

files=()
for d in traffic tunnels scans flowexport; do
	for f in "$VTAP_CORPUS/$d"/*.pcap "$VTAP_CORPUS/$d"/*.pcapng; do
		[ -f "$f" ] && files+=("$f")
	done
done
# the corpus has 48 + 34 + 15 + 42 captures there; fewer means we are not
# testing what we claim
[ ${#files[@]} -ge 139 ] || { echo "only ${#files[@]} captures found in $VTAP_CORPUS"; exit 1; }
echo "comparing ${#files[@]} captures with $(tshark --version 2>/dev/null | head -1)"
python3 "$here/decode_compare.py" "$VTAP" "${files[@]}"
