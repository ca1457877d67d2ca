#!/usr/bin/env python3
"""meter_check.py — helpers for tests/integration/meter_*.sh.

  meter_check.py truth CAPTURE          ground truth from tshark (JSON)
  meter_check.py vtap SUMMARY.json      `vtap meter --flows -j` output
  meter_check.py nfdump NFDUMP.json     `nfdump -o json` output (TZ=UTC)
  meter_check.py compare A B LABEL      exit 1 (and say why) unless equal

Every view is {"ip_frames", "bytes", "flows": {KEY: [packets, bytes]},
"records": [[KEY, first_ms, last_ms, packets, bytes, tcp_flags], ...]}
where KEY is vtap's flow key (docs/meter.md) as a string:

  port|vlan|src|dst|proto|sport|dport

  port   observation port: the pcapng interface id (0 for classic pcap)
  vlan   VID of the outermost 802.1Q/802.1ad tag, 0 when untagged
  proto  IP protocol after the IPv6 extension-header chain
  ports  TCP, UDP, UDP-Lite, SCTP, DCCP ports; ICMP and ICMPv6: 0 and
         type<<8|code; 0 and 0 for non-first fragments and other protocols
  bytes  IP bytes from the outer IP header: IPv4 total length, IPv6 40 +
         payload length (40 + jumbo payload length for a jumbogram)

tshark's view has no "records" (it has no notion of flow boundaries);
compare only compares the parts both sides have.
"""
import ipaddress
import json
import subprocess
import sys
from datetime import datetime, timezone

FIELDS = [
    "frame.interface_id", "frame.protocols", "vlan.id",
    "ip.src", "ip.dst", "ip.proto", "ip.len", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt",
    "ipv6.hopopts.nxt", "ipv6.routing.nxt", "ipv6.dstopts.nxt", "ipv6.fraghdr.nxt",
    "ipv6.fraghdr.offset", "ipv6.opt.jumbo",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "sctp.srcport", "sctp.dstport", "dccp.srcport", "dccp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
]
EXT = {0: "ipv6.hopopts.nxt", 43: "ipv6.routing.nxt", 44: "ipv6.fraghdr.nxt",
       60: "ipv6.dstopts.nxt"}
PORTS = {6: "tcp", 17: "udp", 33: "dccp", 132: "sctp", 136: "udp"}


def first(v):
    return v.split(",")[0] if v else ""


def num(v):
    v = first(v)
    return int(v, 0) if v else 0


def addr(a):
    return str(ipaddress.ip_address(a))


def key(port, vlan, src, dst, proto, sport, dport):
    return "|".join(str(x) for x in (port, vlan, addr(src), addr(dst), proto, sport, dport))


def frame_key(f):
    """(key, ip_bytes) of one tshark frame, None when it has no IP."""
    layers = f["frame.protocols"].split(":")
    outer = next((l for l in layers if l in ("ip", "ipv6")), None)
    if outer is None:
        return None
    nonfirst = False
    if outer == "ip":
        src, dst = first(f["ip.src"]), first(f["ip.dst"])
        proto = num(f["ip.proto"])
        length = num(f["ip.len"])
        nonfirst = num(f["ip.frag_offset"]) > 0
    else:
        src, dst = first(f["ipv6.src"]), first(f["ipv6.dst"])
        plen = num(f["ipv6.plen"])
        length = 40 + (num(f["ipv6.opt.jumbo"]) if plen == 0 and f["ipv6.opt.jumbo"] else plen)
        # walk the extension headers: each type's "next header" values
        # are listed in order of appearance, consumed front to back
        pos = {k: 0 for k in EXT}
        proto = num(f["ipv6.nxt"])
        for _ in range(16):
            if proto not in EXT:
                break
            vals = f[EXT[proto]].split(",") if f[EXT[proto]] else []
            if pos[proto] >= len(vals):
                break
            if proto == 44 and pos[44] == 0:
                offs = f["ipv6.fraghdr.offset"].split(",")
                nonfirst = bool(offs and offs[0] and int(offs[0]) > 0)
            nxt = int(vals[pos[proto]], 0)
            pos[proto] += 1
            proto = nxt
    sport = dport = 0
    if not nonfirst:
        if proto in PORTS and f[PORTS[proto] + ".srcport"]:
            sport = num(f[PORTS[proto] + ".srcport"])
            dport = num(f[PORTS[proto] + ".dstport"])
        elif proto == 1 and outer == "ip" and f["icmp.type"]:
            dport = num(f["icmp.type"]) << 8 | num(f["icmp.code"])
        elif proto == 58 and f["icmpv6.type"]:
            dport = num(f["icmpv6.type"]) << 8 | num(f["icmpv6.code"])
    return key(num(f["frame.interface_id"]), num(f["vlan.id"]), src, dst, proto, sport,
               dport), length


def truth(path):
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for fld in FIELDS:
        cmd += ["-e", fld]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = {"frames": 0, "ip_frames": 0, "bytes": 0, "flows": {}}
    for line in out.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        res["frames"] += 1
        kb = frame_key(dict(zip(FIELDS, vals)))
        if kb is None:
            continue
        res["ip_frames"] += 1
        res["bytes"] += kb[1]
        pb = res["flows"].setdefault(kb[0], [0, 0])
        pb[0] += 1
        pb[1] += kb[1]
    return res


def aggregate(records):
    flows = {}
    for r in records:
        pb = flows.setdefault(r[0], [0, 0])
        pb[0] += r[3]
        pb[1] += r[4]
    return flows


def vtap(path):
    d = json.load(open(path))
    recs = [[key(r["port"], r["vlan"], r["src"], r["dst"], r["proto"], r["sport"], r["dport"]),
             r["first_ms"], r["last_ms"], r["packets"], r["bytes"], r["tcp_flags"]]
            for r in d["flow_list"]]
    return {"frames": d["frames"], "ip_frames": d["ip_frames"], "bytes": d["bytes"],
            "flows": aggregate(recs), "records": sorted(recs)}


def ms(t):
    dt = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


def flags(s):
    v = 0
    for i, c in enumerate(s):  # "CEUAPRSF", most significant first
        if c != ".":
            v |= 0x80 >> i
    return v


def nfdump(path):
    text = open(path).read().strip()
    recs = []
    # nfdump 1.7 prints "[\nNo matching flows\n]" when there are none
    for r in (json.loads(text) if "{" in text else []):
        if r.get("type") != "FLOW":
            continue
        src = r.get("src4_addr") or r.get("src6_addr")
        dst = r.get("dst4_addr") or r.get("dst6_addr")
        port = r["output_snmp"] if r.get("direction") == 1 else r["input_snmp"]
        sport, dport = r.get("src_port", 0), r.get("dst_port", 0)
        if "icmp_type" in r:
            sport, dport = 0, r["icmp_type"] << 8 | r["icmp_code"]
        recs.append([key(port, r.get("src_vlan", 0), src, dst, r["proto"], sport, dport),
                     ms(r["first"]), ms(r["last"]), r["in_packets"], r["in_bytes"],
                     flags(r.get("tcp_flags", "........"))])
    return {"ip_frames": sum(x[3] for x in recs), "bytes": sum(x[4] for x in recs),
            "flows": aggregate(recs), "records": sorted(recs)}


def compare(a, b, label):
    bad = []
    for k in ("ip_frames", "bytes"):
        if k in a and k in b and a[k] != b[k]:
            bad.append(f"{k}: {a[k]} != {b[k]}")
    fa, fb = a["flows"], b["flows"]
    for k in sorted(set(fa) - set(fb))[:5]:
        bad.append(f"key only in first: {k} {fa[k]}")
    for k in sorted(set(fb) - set(fa))[:5]:
        bad.append(f"key only in second: {k} {fb[k]}")
    for k in sorted(set(fa) & set(fb)):
        if fa[k] != fb[k]:
            bad.append(f"counts differ: {k} {fa[k]} != {fb[k]}")
            break
    if "records" in a and "records" in b and a["records"] != b["records"]:
        ra = {tuple(x) for x in a["records"]}
        rb = {tuple(x) for x in b["records"]}
        bad.append(f"records differ: {len(a['records'])} vs {len(b['records'])}; "
                   f"e.g. {sorted(ra - rb)[:1]} vs {sorted(rb - ra)[:1]}")
    if bad:
        print(f"FAIL {label}: " + "; ".join(bad))
        return 1
    print(f"ok   {label}: {a['ip_frames']} packets, {a['bytes']} bytes, {len(fa)} keys")
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "truth":
        json.dump(truth(sys.argv[2]), sys.stdout)
    elif cmd == "vtap":
        json.dump(vtap(sys.argv[2]), sys.stdout)
    elif cmd == "nfdump":
        json.dump(nfdump(sys.argv[2]), sys.stdout)
    elif cmd == "compare":
        sys.exit(compare(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])),
                         sys.argv[4]))
    else:
        sys.exit(f"usage: {sys.argv[0]} truth|vtap|nfdump|compare ...")


if __name__ == "__main__":
    main()
