#!/usr/bin/env python3
"""nfv5gen.py — paced NetFlow v5 export of a synthetic flow set, for the
store benchmark: a real nfcapd receives it, so nfdump's files and (through
`nfdump -o csv | vtap store import`) our store hold the very same flows.

    nfv5gen.py --port 9995 --flows 10000000 --rate 200000 [--seed 1]

The set looks like a datacenter's export: source addresses skewed (a few
heavy talkers, a long tail over ~1M hosts), destinations over ~200k hosts,
service ports (443 most) and ephemeral ones, TCP/UDP/ICMP, heavy-tailed
packet counts, times spread over one hour. Deterministic for a seed.
NetFlow v5 format: Cisco's "NetFlow Export Datagram Format" (24-byte
header, 48-byte records, at most 30 per datagram).
"""
import argparse
import random
import socket
import struct
import sys
import time

HDR = struct.Struct(">HHIIIIBBH")
REC = struct.Struct(">IIIHHIIIIHHBBBBHHBBH")
SERVICES = [443] * 30 + [80] * 12 + [53] * 10 + [22, 25, 123, 3306, 5432, 6379, 8080, 8443,
                                                  9200, 27017, 1194, 3389, 5060, 161, 389]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--flows", type=int, default=1000000)
    ap.add_argument("--rate", type=int, default=200000, help="records per second")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=1790000000, help="unix seconds of the first flow")
    a = ap.parse_args()

    rnd = random.Random(a.seed)
    rr, rp = rnd.random, rnd.paretovariate
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    dst = (a.host, a.port)
    boot = a.start - 3600        # the exporter booted an hour before the first flow
    span = 3600                  # seconds of flow time
    buf = bytearray(24 + 30 * 48)
    sent = seq = 0
    t0 = time.monotonic()
    while sent < a.flows:
        n = min(30, a.flows - sent)
        now = a.start + span * sent // a.flows
        uptime = (now - boot) * 1000
        for i in range(n):
            u = rr()
            src = 0x0A000000 | int(1000000 * u * u * u)          # 10/8, skewed
            if rr() < 0.3:
                dsta = 0x0A000000 | int(rr() * 200000)
            else:
                dsta = 0xC0000000 | int(rr() * 200000) << 4      # outside
            r = rr()
            proto = 6 if r < 0.85 else 17 if r < 0.98 else 1
            if proto == 1:
                sport, dport = 0, (8 << 8)
            else:
                sport = 1024 + int(rr() * 64000)
                dport = SERVICES[int(rr() * len(SERVICES))] if rr() < 0.7 else 1024 + int(rr() * 64000)
            pk = min(int(rp(1.2)), 1000000)
            by = pk * (40 + int(rr() * 1460))
            dur = int(rr() * 60000)
            last = uptime - int(rr() * 1000)
            first = max(0, last - dur)
            flags = 0x1b if proto == 6 else 0
            REC.pack_into(buf, 24 + 48 * i, src, dsta, 0, 1, 2, pk, by, first, last,
                          sport, dport, 0, flags, proto, 0, 0, 0, 24, 16, 0)
        HDR.pack_into(buf, 0, 5, n, uptime, now, 0, seq, 0, 0, 0)
        sock.sendto(memoryview(buf)[:24 + 48 * n], dst)
        sent += n
        seq += n
        ahead = sent / a.rate - (time.monotonic() - t0)
        if ahead > 0.002:
            time.sleep(ahead)
    el = time.monotonic() - t0
    print(f"nfv5gen: sent {sent} flows in {el:.1f} s ({sent / el:.0f}/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
