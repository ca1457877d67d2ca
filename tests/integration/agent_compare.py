#!/usr/bin/env python3
"""agent_compare.py — the exported flows of the lab's agents against the
ground truth captured on every VM's own interface (tests/integration/
agent_live.sh, agent_hotplug.sh).

Inputs:
  --inventory FILE      the lab's inventory.json
  --vm-pcap NAME=FILE   a capture taken on VM NAME's eth0 (repeat for each VM)
  --nfdump FILE         `nfdump -o json` of everything the collector stored
  --ipfix FILE          the IPFIX datagrams as captured at the collector (for
                        the virtual-station elements tshark decodes)
  --host-ip HOST=IP     the source address of HOST's agent's export (repeat)
  --host-ifindex HOST:PORT=IFINDEX   the ifindex of a VM port on its host
  --receiver-truth PORT  flows to or from this L4 port are checked against
                        the receiver's capture (GSO: the sender's own capture
                        shows super-frames) (repeatable)
  --only-port PORT      check only flows with this L4 port (repeatable)
  --ignore-port PORT    ignore flows with this L4 port (repeatable)

Ground truth, per unidirectional flow (addresses, protocol, ports, ICMP
type/code) and per VM, from tshark: frames the VM sent (source MAC = its
MAC) and frames it received, with their IP bytes. The rules (count once,
ARCHITECTURE.md decision 2):
  * a flow a VM sent is exported by the agent of its host, on its port,
    direction ingress (0), with exactly the packets and bytes it sent;
  * a flow a VM received from another host (or from outside) is exported by
    the agent of the receiver's host, on the receiver's port, direction
    egress (1), with exactly what it received; from a VM of the same host:
    not at all (the sender's port counted it);
  * a broadcast/multicast flow received from elsewhere is exported once per
    host that received it, whichever VM port saw the first copy;
  * nothing else is exported.
The identity check (with --ipfix): every IPFIX data record names the VM
whose port observed it (virtualStationName/UUID, from the inventory by the
port name in virtualStationInterfaceName) and, for same-host flows, the
peer VM in the second occurrence of the elements.

Prints one line per mismatch and a summary; exits 1 on any mismatch.
"""
import argparse
import collections
import ipaddress
import json
import subprocess
import sys

FIELDS = ["eth.src", "eth.dst", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.len",
          "ipv6.plen", "ip.proto", "tcp.srcport", "tcp.dstport", "udp.srcport",
          "udp.dstport", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
          "ip.frag_offset", "ip.flags.mf", "frame.len", "ipv6.nxt"]


def norm_ip(s):
    return str(ipaddress.ip_address(s))


def tshark_flows(pcap, vm_mac):
    """{(key, 'out'|'in'): [packets, bytes, max_frame, group]} for one VM capture."""
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=|", "-E",
           "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flows = collections.defaultdict(lambda: [0, 0, 0, False, ""])
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("|")))
        if v["ip.src"]:
            src, dst, ln = v["ip.src"], v["ip.dst"], int(v["ip.len"])
        elif v["ipv6.src"]:
            src, dst, ln = v["ipv6.src"], v["ipv6.dst"], int(v["ipv6.plen"]) + 40
        else:
            continue   # not IP: not metered
        sport = dport = 0
        first_frag = not v["ip.frag_offset"] or int(v["ip.frag_offset"]) == 0
        # the packet's own protocol (first occurrence: the outer header).
        # An ICMP error quotes the datagram it answers, and tshark then
        # fills udp.*/tcp.* from the quote: a port unreachable from a
        # receiver that had stopped must count as ICMP, not as UDP with
        # the quoted ports.
        outer = int((v["ip.proto"] if v["ip.src"] else v["ipv6.nxt"]) or 0)
        if outer == 1 and v["icmp.type"] and first_frag:
            proto, dport = 1, int(v["icmp.type"]) << 8 | int(v["icmp.code"])
        elif v["icmpv6.type"] and (outer == 58 or not (v["tcp.srcport"] or v["udp.srcport"])):
            # (an extension header may come first: MLD's hop-by-hop)
            proto, dport = 58, int(v["icmpv6.type"]) << 8 | int(v["icmpv6.code"])
        elif v["tcp.srcport"] and first_frag:
            proto, sport, dport = 6, int(v["tcp.srcport"]), int(v["tcp.dstport"])
        elif v["udp.srcport"] and first_frag:
            proto, sport, dport = 17, int(v["udp.srcport"]), int(v["udp.dstport"])
        else:
            proto = int(v["ip.proto"] or 0)
        key = (norm_ip(src), norm_ip(dst), proto, sport, dport)
        group = (int(v["eth.dst"].split(":")[0], 16) & 1) == 1
        if v["eth.src"].lower() == vm_mac:
            way = "out"
        elif group or v["eth.dst"].lower() == vm_mac:
            way = "in"
        else:
            continue   # a flooded frame for another MAC: the VM drops it
        f = flows[(key, way)]
        f[0] += 1
        f[1] += ln
        f[2] = max(f[2], int(v["frame.len"]))
        f[3] = f[3] or group
        f[4] = v["eth.src"].lower()
    return flows


def nfdump_records(path):
    recs = json.load(open(path))
    out = collections.defaultdict(lambda: [0, 0, 0])   # packets, bytes, records
    for r in recs:
        if r.get("type") != "FLOW":
            continue
        src = r.get("src4_addr") or r.get("src6_addr")
        dst = r.get("dst4_addr") or r.get("dst6_addr")
        proto = int(r["proto"])
        if proto in (1, 58):
            sport, dport = 0, int(r.get("icmp_type", 0)) << 8 | int(r.get("icmp_code", 0))
        else:
            sport, dport = int(r.get("src_port", 0)), int(r.get("dst_port", 0))
        d = int(r.get("direction", 0))
        port = int(r.get("output_snmp", 0)) if d == 1 else int(r.get("input_snmp", 0))
        key = (norm_ip(src), norm_ip(dst), proto, sport, dport)
        o = out[(r.get("ip4_router") or r.get("ip6_router"), port, d, key)]
        o[0] += int(r["in_packets"])
        o[1] += int(r["in_bytes"])
        o[2] += 1
    return out


def ipfix_records(pcap):
    """Every IPFIX data record as a list of (name, value) pairs, repeated
    elements kept in order."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-d", "udp.port==4739,cflow", "-T",
                          "json"], check=True, capture_output=True, text=True).stdout
    pkts = json.loads(out, object_pairs_hook=lambda pairs: pairs)
    recs = []

    def walk(pairs, src_ip):
        for k, v in pairs:
            if isinstance(k, str) and k.startswith("Flow ") and isinstance(v, list):
                recs.append((src_ip, v))
            elif isinstance(v, list) and v and isinstance(v[0], tuple):
                walk(v, src_ip)
    for p in pkts:
        layers = dict(dict(p)["_source"])["layers"]
        layers = dict(layers)
        ip = dict(layers.get("ip", []))
        cf = layers.get("cflow")
        if cf:
            walk(cf, ip.get("ip.src"))
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--vm-pcap", action="append", default=[])
    ap.add_argument("--nfdump", required=True)
    ap.add_argument("--ipfix")
    ap.add_argument("--host-ip", action="append", default=[])
    ap.add_argument("--host-ifindex", action="append", default=[])
    ap.add_argument("--receiver-truth", action="append", type=int, default=[])
    ap.add_argument("--only-port", action="append", type=int, default=[])
    ap.add_argument("--ignore-port", action="append", type=int, default=[])
    ap.add_argument("--vm-host", action="append", default=[],
                    help="VM=HOST: where the VM's port was during the traffic "
                         "(overrides the inventory, e.g. after a migration)")
    a = ap.parse_args()

    inv = json.load(open(a.inventory))
    vms = {v["name"]: v for v in inv["vms"]}
    for vh in a.vm_host:
        n, h = vh.split("=")
        vms[n] = dict(vms[n], host=h)
    by_mac = {v["mac"].lower(): n for n, v in vms.items()}
    host_ip = dict(x.split("=") for x in a.host_ip)
    ifx = {}
    for x in a.host_ifindex:
        hp, i = x.split("=")
        ifx[tuple(hp.split(":"))] = int(i)
    by_ip = {}
    for n, v in vms.items():
        by_ip[norm_ip(v["ipv4"])] = n
        if v.get("ipv6"):
            by_ip[norm_ip(v["ipv6"])] = n

    truth = {}
    for x in a.vm_pcap:
        n, path = x.split("=", 1)
        truth[n] = tshark_flows(path, vms[n]["mac"].lower())

    def wanted(key):
        ports = {key[3], key[4]} if key[2] in (6, 17) else set()
        if a.only_port and not (ports & set(a.only_port)):
            return False
        return not (ports & set(a.ignore_port))

    # expected records: (exporter ip, port ifindex, direction, key) -> (packets, bytes)
    expect = {}
    errors = []
    keys = set()
    for n, fl in truth.items():
        for (key, way) in fl:
            if wanted(key):
                keys.add(key)
    for key in sorted(keys):
        receivers = [n for n in truth if (key, "in") in truth[n]]
        group = any(truth[n][(key, w)][3] for n in truth for w in ("out", "in")
                    if (key, w) in truth[n])
        # the sender: the VM owning the source MAC (captured or not)
        macs = {truth[n][(key, w)][4] for n in truth for w in ("out", "in")
                if (key, w) in truth[n]}
        senders = sorted({by_mac[m] for m in macs if m in by_mac})
        sender = senders[0] if senders else None
        if len(senders) > 1:
            errors.append(f"{key}: sent by several VMs {senders}: cannot tell")
            continue
        rtruth = any(p in a.receiver_truth for p in (key[3], key[4])) and key[2] in (6, 17)
        if sender and sender not in truth:
            rtruth = True   # no capture of the sender: the receiver's is the truth
        if sender:
            h = vms[sender]["host"]
            if rtruth and not group:
                dst_vm = by_ip.get(key[1])
                if dst_vm not in truth or (key, "in") not in truth[dst_vm]:
                    errors.append(f"{key}: no receiver capture for the GSO check")
                    continue
                pk, by = truth[dst_vm][(key, "in")][:2]
            elif (key, "out") not in truth[sender]:
                errors.append(f"{key}: others received it from {sender}, whose own capture "
                              "does not have it (sent before its capture started?)")
                continue
            else:
                pk, by = truth[sender][(key, "out")][:2]
            expect[(host_ip[h], ifx[(h, vms[sender]["port"])], 0, key)] = (pk, by)
        sender_host = vms[sender]["host"] if sender else None
        if group:
            per_host = collections.defaultdict(list)
            for r in receivers:
                per_host[vms[r]["host"]].append(tuple(truth[r][(key, "in")][:2]))
            for h, counts in per_host.items():
                if h == sender_host:
                    continue
                if len(set(counts)) != 1:
                    errors.append(f"{key}: VMs of {h} received different counts {counts}")
                expect[(host_ip[h], None, 1, key)] = counts[0]
        else:
            for r in receivers:
                h = vms[r]["host"]
                if h == sender_host:
                    continue    # same host: counted once, at the sender
                expect[(host_ip[h], ifx[(h, vms[r]["port"])], 1, key)] = truth[r][(key, "in")][:2]

    got = nfdump_records(a.nfdump)
    got_w = {k: v for k, v in got.items() if wanted(k[3])}
    matched = set()
    ok = 0
    for (ip, port, d, key), (pk, by) in sorted(expect.items(), key=str):
        if port is None:
            cands = [g for g in got_w if g[0] == ip and g[2] == d and g[3] == key]
            tot = [sum(got_w[g][0] for g in cands), sum(got_w[g][1] for g in cands)]
            matched.update(cands)
            where = f"{ip} (any port)"
        else:
            g = got_w.get((ip, port, d, key))
            tot = g[:2] if g else None
            if g:
                matched.add((ip, port, d, key))
            where = f"{ip} port {port}"
        if not tot or tot[0] == 0:
            errors.append(f"missing: {key} dir {d} at {where}: want {pk} packets {by} bytes")
        elif tot[0] != pk or tot[1] != by:
            errors.append(f"wrong counts: {key} dir {d} at {where}: got {tot[0]} packets "
                          f"{tot[1]} bytes, want {pk} / {by}")
        else:
            ok += 1
    for g in sorted(set(got_w) - matched, key=str):
        errors.append(f"unexpected record: {g[3]} dir {g[2]} at {g[0]} port {g[1]}: "
                      f"{got_w[g][0]} packets {got_w[g][1]} bytes ({got_w[g][2]} records)")

    ident_ok = data_recs = 0
    if a.ipfix:
        names = {(h, v["port"]): n for n, v in vms.items() for h in [v["host"]]}
        for src_ip, rec in ipfix_records(a.ipfix):
            el = collections.defaultdict(list)
            for k, v in rec:
                el[k].append(v)
            if "cflow.packets" not in el:
                continue   # the options record (exporter statistics)
            data_recs += 1
            host = [h for h, i in host_ip.items() if i == src_ip]
            port = el.get("cflow.virtual_station_interface_name", [None])[0]
            key = "%s %s" % (el.get("cflow.srcaddr", el.get("cflow.srcaddrv6"))[0],
                             el.get("cflow.dstaddr", el.get("cflow.dstaddrv6"))[0])
            if not port or not host:
                errors.append(f"identity: record {key} from {src_ip} names no port")
                continue
            vm = names.get((host[0], port))
            if not vm:
                errors.append(f"identity: record {key} from {host[0]} on port {port}, "
                              "which is no lab VM's port there")
                continue
            nm = el.get("cflow.virtual_station_name", [])
            uu = el.get("cflow.virtual_station_uuid", [])
            want_uuid = vms[vm]["uuid"].replace("-", "")
            if not nm or nm[0] != vm or not uu or uu[0].replace(":", "") != want_uuid:
                errors.append(f"identity: record {key} on {host[0]}/{port}: name {nm[:1]} "
                              f"uuid {uu[:1]}, want {vm} {vms[vm]['uuid']}")
                continue
            # the peer of a same-host flow: the VM owning the destination
            src_vm = by_mac.get(el.get("cflow.srcmac", [""])[0].lower())
            dst_vm = by_mac.get(el.get("cflow.dstmac", [""])[0].lower())
            d = int(el.get("cflow.direction", ["0"])[0])
            if d == 0 and dst_vm and vms[dst_vm]["host"] == host[0] and dst_vm != vm:
                if len(nm) < 2 or nm[1] != dst_vm or len(uu) < 2 or \
                        uu[1].replace(":", "") != vms[dst_vm]["uuid"].replace("-", ""):
                    errors.append(f"identity: same-host record {key} on {port}: peer "
                                  f"{nm[1:2]} {uu[1:2]}, want {dst_vm}")
                    continue
            elif len(nm) > 1:
                errors.append(f"identity: record {key} on {port} names a peer {nm[1]} "
                              f"but is not a same-host flow ({src_vm}->{dst_vm})")
                continue
            ident_ok += 1
        if ident_ok == 0 or ident_ok != data_recs:
            errors.append(f"identity: {ident_ok} of {data_recs} IPFIX data records checked")

    for e in errors:
        print("MISMATCH " + e)
    nrec = sum(v[2] for v in got.values())
    print(f"flows checked: {len(keys)}; expected records matched: {ok}/{len(expect)} "
          f"({nrec} records from nfdump); IPFIX data records with the right identity: "
          f"{ident_ok}/{data_recs}; mismatches: {len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
