#!/usr/bin/env bash
# timeout: 120
# flowdecode_tcp_seq.sh — `vtap flowdecode --tcp` reassembles IPFIX over
# TCP from a capture by sequence number; captures are untrusted input, so
# every sequence distance must be handled, including one of exactly 2^31
# (neither ahead nor behind: its negation does not fit an int32). A
# hand-built capture: SYN, one IPFIX message, a segment 2^31 away (a
# stale or forged one: skipped), then the next message in order. Both
# messages must decode, under ASan+UBSan, with no gap counted.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VTAP=${VTAP:-$root/build/asan/vtap}
[ -x "$VTAP" ] || { echo "$VTAP not built"; exit 1; }
command -v python3 >/dev/null || { echo "skipped: needs python3"; exit 77; }
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=87"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/tcp.pcap" <<'EOF'
import struct, sys

def ipfix(seq, src_last_octet):
    tmpl = struct.pack(">HHHH", 2, 4 + 4 + 8, 256, 2) + struct.pack(">HHHH", 8, 4, 2, 4)
    data = struct.pack(">HH", 256, 4 + 8) + bytes([10, 0, 0, src_last_octet]) + struct.pack(">I", 7)
    body = tmpl + data
    return struct.pack(">HHIII", 10, 16 + len(body), 1700000000, seq, 1) + body

def frame(seq, flags, payload):
    tcp = struct.pack(">HHIIBBHHH", 40000, 4739, seq, 0, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                     bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp + payload

m1, m2 = ipfix(0, 1), ipfix(1, 2)
isn = 1000
frames = [
    frame(isn, 0x02, b""),                                  # SYN
    frame(isn + 1, 0x18, m1),                               # message 1
    frame((isn + 1 + len(m1) + (1 << 31)) & 0xffffffff, 0x18, m1),  # 2^31 away
    frame(isn + 1 + len(m1), 0x18, m2),                     # message 2, in order
]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr)
EOF

out=$("$VTAP" flowdecode --tcp -j -r "$tmp/tcp.pcap" 2>"$tmp/err")
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: vtap flowdecode --tcp exited $rc"
	cat "$tmp/err"
	exit 1
fi
python3 - <<EOF
import json, sys
lines = [json.loads(l) for l in '''$out'''.splitlines()]
recs = [l["src"] for l in lines if l["type"] == "flow"]
summ = [l for l in lines if l["type"] == "summary"][0]
problems = []
if recs != ["10.0.0.1", "10.0.0.2"]:
    problems.append(f"records from {recs}, want 10.0.0.1 then 10.0.0.2")
if summ["tcp_messages"] != 2 or summ["tcp_gaps"] != 0 or summ["tcp_desync"] != 0:
    problems.append(f"tcp messages {summ['tcp_messages']}, gaps {summ['tcp_gaps']}, "
                    f"desync {summ['tcp_desync']} (want 2, 0, 0)")
print(("FAIL: " + "; ".join(problems)) if problems else
      "ok: both messages decoded; the segment 2^31 away was skipped")
sys.exit(1 if problems else 0)
EOF
