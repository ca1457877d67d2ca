#!/usr/bin/env python3
"""flowdecode_tshark.py — decoder agreement between `vtap flowdecode` and
tshark over the flowexport corpus (issue 4, Done-when 1).

For every capture in $VTAP_CORPUS/flowexport (template captures merged in
front of the data captures that need them) and every raw payload in
flowexport/raw-payloads (split into datagrams and wrapped into a pcap),
both tools decode the same packets:

  tshark -2 -T pdml   (two passes: a template anywhere in the capture is
                       known, like our hold-until-the-template-comes)
  vtap flowdecode -r CAPTURE -j

and every record is compared field by field for every element we map into
flow_rec (addresses, ports, protocol, ToS, TCP flags, interfaces, AS,
masks, next hop, MACs, VLAN, direction, end reason, packets, bytes, start
and end times), record by record (frame, set index, record index), plus the
sampling factor we applied and the RFC 5103 reverse halves. Data sets whose
template never appears must be counted by us as "no template" exactly as
often as tshark says "no template found". sFlow flow samples are compared
with tshark's decode of the sampled header.

Usage: flowdecode_tshark.py VTAP WORKDIR [NAME=CAPTURE ...]   (exit 0 = all agree)
With captures given, only those are compared (other tests use it for
captures of real exporters); without, the whole corpus, whose totals must
be exactly the ones tshark gives today (EXPECT).
"""
import collections
import concurrent.futures
import datetime
import glob
import hashlib
import ipaddress
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

VTAP, WORK = sys.argv[1], sys.argv[2]
GIVEN = [a.split("=", 1) for a in sys.argv[3:]]
# what tshark 4.0.17 finds in the corpus: a drop means records went missing
EXPECT = {"cases": 45, "records": 1257, "sflow": 22, "no_template": 28}
CORPUS = os.environ["VTAP_CORPUS"]
FE = os.path.join(CORPUS, "flowexport")
RAW = os.path.join(FE, "raw-payloads")
CFLOW_PORTS = [2055, 2057, 2100, 4739, 9990, 9991, 9992, 9995, 9996]

failures = []
totals = {"cases": 0, "records": 0, "fields": 0, "no_template": 0, "sflow": 0}


def fail(case, msg):
    failures.append(f"{case}: {msg}")


# ---- building the cases ----------------------------------------------------

def mergecap(out, files):
    subprocess.run(["mergecap", "-F", "pcap", "-a", "-w", out] + files, check=True)
    return out


def raw_frames(data):
    """Splits concatenated datagrams like flowdec_frame_len()."""
    out, off = [], 0
    while off < len(data):
        rest = data[off:]
        n = len(rest)
        if len(rest) >= 4:
            v = struct.unpack(">H", rest[:2])[0]
            if v == 5 and len(rest) >= 24:
                n = 24 + struct.unpack(">H", rest[2:4])[0] * 48
            elif v == 10:
                n = struct.unpack(">H", rest[2:4])[0]
            if n < 4 or n > len(rest):
                n = len(rest)
        out.append(rest[:n])
        off += n
    return out


def wrap_pcap(out, payloads, port=2055):
    """Ethernet/IPv4/UDP from 127.0.0.1 (what --raw attributes them to)."""
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, p in enumerate(payloads):
            udp = struct.pack(">HHHH", 40000, port, 8 + len(p), 0) + p
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])) + udp
            eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(eth), len(eth)) + eth)
    return out


def cases():
    A = lambda n: os.path.join(FE, "akvorado_nf_" + n + ".pcap")
    pairs = {
        "akvorado-nf": [A("options-template"), A("options-data"), A("template"), A("data")],
        "akvorado-msr": [A("multiplesamplingrates-options-template"),
                         A("multiplesamplingrates-options-data"),
                         A("multiplesamplingrates-template"), A("multiplesamplingrates-data")],
    }
    for p in ["datalink", "icmp", "ipfix-srv6", "juniper-cpid"]:
        pairs["akvorado-" + p] = [A(p + "-template"), A(p + "-data")]
    pairs["akvorado-ipfixprobe"] = [A("ipfixprobe-templates"), A("ipfixprobe-data")]
    used = {f for fs in pairs.values() for f in fs}
    out = []
    for name, files in sorted(pairs.items()):
        out.append((name, mergecap(os.path.join(WORK, name + ".pcap"), files)))
    for f in sorted(glob.glob(os.path.join(FE, "*.pcap"))):
        if f not in used:
            out.append((os.path.basename(f), f))
    # raw payloads: one pcap per vendor group (templates before data)
    R = lambda n: os.path.join(RAW, "logstash_" + n + ".dat")
    groups = {
        "raw-ixia": [R("ipfix_test_ixia_tpldata256")],
        "raw-juniper-mx240": [R("ipfix_test_juniper_mx240_junos151r6s3_opttpl512"),
                              R("ipfix_test_juniper_mx240_junos151r6s3_data512")],
        "raw-netscaler": [R("ipfix_test_netscaler_tpl"), R("ipfix_test_netscaler_data")],
        "raw-yaf": [R("ipfix_test_yaf_tpls_option_tpl")],
        "raw-netflow5": [R("netflow5")],
        "raw-netflow5-invalid01": [R("netflow5_test_invalid01")],
        "raw-netflow5-invalid02": [R("netflow5_test_invalid02")],
        "raw-nf9-0length": [R("netflow9_test_0length_fields_tpl_data")],
        "raw-nf9-asa": [R("netflow9_test_cisco_asa_1_tpl"), R("netflow9_test_cisco_asa_1_data")],
        "raw-nf9-nbar": [R("netflow9_test_cisco_nbar_opttpl260"), R("netflow9_test_cisco_nbar_tpl262"),
                         R("netflow9_test_cisco_nbar_data262")],
        "raw-nf9-h3c": [R("netflow9_test_h3c_netstream_varstring_tpl3281"),
                        R("netflow9_test_h3c_netstream_varstring_data3281")],
        "raw-nf9-invalid01": [R("netflow9_test_invalid01")],
        "raw-nf9-juniper-srx": [R("netflow9_test_juniper_srx_tplopt")],
        "raw-nf9-paloalto": [R("netflow9_test_paloalto_81_tpl256-263"),
                             R("netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet")],
    }
    listed = {f for fs in groups.values() for f in fs}
    every = set(glob.glob(os.path.join(RAW, "*.dat")))
    if every != listed:
        fail("raw-payloads", f"not covered by a group: {sorted(every - listed)}")
    for name, files in sorted(groups.items()):
        payloads = []
        for f in files:
            payloads += raw_frames(open(f, "rb").read())
        out.append((name, wrap_pcap(os.path.join(WORK, name + ".pcap"), payloads)))
    return out


# ---- tshark side ----------------------------------------------------------

def tshark_pdml_raw(pcap, extra=()):
    args = ["tshark", "-2", "-r", pcap, "-T", "pdml"]
    for p in list(CFLOW_PORTS) + list(extra):
        args += ["-d", f"udp.port=={p},cflow"]
    return subprocess.run(args, capture_output=True, check=True).stdout


def tshark_pdml(pcap, extra=()):
    return ET.fromstring(tshark_pdml_raw(pcap, extra))


def tshark_copy(pcap):
    """The copy of a capture tshark decodes. Two differences from what vtap
    reads, each aligning tshark with a documented rule of ours rather than
    changing any record byte:
      - UDP source ports and destination addresses are set to one value:
        tshark scopes templates by transport session (both addresses and
        ports), vtap by exporter address (templates survive an exporter
        restart on a new port, issue 4; pmacct_112 restarts towards another
        collector address);
      - the NetFlow v9 header count is raised to 65535: tshark stops after
        <count> records, vtap frames flowsets by their lengths (exporters
        get the count wrong: raw-payloads/netflow9_test_invalid01)."""
    data = bytearray(open(pcap, "rb").read())
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        return pcap
    link = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        pkt = off + 16
        end = pkt + caplen
        off = end
        if link == 1:
            l3, et = pkt + 14, struct.unpack(">H", data[pkt + 12:pkt + 14])[0]
            while et in (0x8100, 0x88A8) and l3 + 4 <= end:
                et = struct.unpack(">H", data[l3 + 2:l3 + 4])[0]
                l3 += 4
        elif link == 113:
            l3, et = pkt + 16, struct.unpack(">H", data[pkt + 14:pkt + 16])[0]
        else:
            continue
        if et == 0x0800 and data[l3 + 9] == 17:
            l4 = l3 + (data[l3] & 15) * 4
            data[l3 + 16:l3 + 20] = bytes([192, 0, 2, 1])
        elif et == 0x86DD and data[l3 + 6] == 17:
            l4 = l3 + 40
            data[l3 + 24:l3 + 40] = bytes.fromhex("20010db8000000000000000000000001")
        else:
            continue
        if l4 + 12 > end:
            continue
        data[l4:l4 + 2] = b"\x9c\x40"
        if data[l4 + 8:l4 + 10] == b"\x00\x09":
            data[l4 + 10:l4 + 12] = b"\xff\xff"
    # named after the whole path: captures are prepared side by side
    tag = hashlib.md5(pcap.encode()).hexdigest()[:12]
    out = os.path.join(WORK, f"tshark-{tag}-" + os.path.basename(pcap))
    open(out, "wb").write(data)
    return out


def tshark_decode(pcap, pdml=None):
    """Frames and templates (from <pdml> when the first pass was run
    already, by fetch()). A capture that has datagrams to the sFlow port
    is decoded a second time with that port as cflow: NetFlow sent to 6343
    (tcpdump_sflow_multiple_counter_30_pdus has five v5 datagrams there)
    replaces the frames tshark could not decode as sFlow."""
    pcap = tshark_copy(pcap)
    root = ET.fromstring(pdml) if pdml is not None else tshark_pdml(pcap)
    frames, templates = tshark_frames(root)
    if any(getattr(f, "sflow", None) is not None for f in frames):
        alt, alt_t = tshark_frames(tshark_pdml(pcap, [6343]))
        for i, f in enumerate(alt):
            if f.version in (5, 9, 10):
                frames[i] = f
        templates.update(alt_t)
    return frames, templates


def hdr_fields(proto):
    out = {}
    for f in proto:
        if f.get("name"):
            for g in f.iter("field"):
                if g.get("name"):
                    out.setdefault(g.get("name"), g.get("show"))
    return out


def parse_date_ms(s):
    # "Oct  5, 2009 06:06:07.492059999 UTC"
    s = " ".join(s.replace(" UTC", "").split())
    main, frac = (s.split(".") + ["0"])[:2]
    dt = datetime.datetime.strptime(main, "%b %d, %Y %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + int((frac + "000")[:3])


def num(s):
    s = s.strip().split(" ")[0]
    return int(s, 16) if s.startswith("0x") else int(s)


def norm_ip(s):
    return str(ipaddress.ip_address(s))


REV = 29305


def template_specs(tnode, version):
    """(template id, options?, [(ie, pen, length, scope)]) from tshark's
    decode of one template record: each field specifier's raw bytes."""
    tid = num(tnode.find("field[@name='cflow.template_id']").get("show"))
    specs = []
    for f in tnode:
        show = f.get("show", "")
        if f.get("name") != "" or not show.startswith("Field ("):
            continue
        raw = bytes.fromhex(f.get("value"))
        t, ln = struct.unpack(">HH", raw[:4])
        pen = 0
        if version == 10 and t & 0x8000:
            pen = struct.unpack(">I", raw[4:8])[0]
            t &= 0x7FFF
        specs.append((t, pen, ln, "[Scope]" in show))
    return tid, tnode.get("show", "").startswith("Options"), specs


TIME_ITEMS = {"cflow.abstimestart": (150, 152, 154, 156), "cflow.abstimeend": (151, 153, 155, 157),
              "cflow.timestart": (22,), "cflow.timeend": (21,)}


def record_ies(flow, specs):
    """tshark's interpreted values of one data record, keyed by element:
    (pen, id) or ("scope", type). The element of each tshark item is found
    by its byte position against the template's field layout."""
    pos0 = int(flow.get("pos"))
    data = bytes.fromhex(flow.get("value"))
    starts, off = {}, 0
    for i, (ie, pen, ln, scope) in enumerate(specs):
        if ln == 65535:
            if off >= len(data):
                break   # tshark's record item ends here (zero-length tail)
            n, h = data[off], 1
            if n == 255:
                n, h = struct.unpack(">H", data[off + 1:off + 3])[0], 3
            starts[pos0 + off + h] = i
            off += h + n
        else:
            if ln:
                starts[pos0 + off] = i
            off += ln
    out = {}

    def walk(node):
        for f in node:
            name = f.get("name")
            if not name or name == "cflow.timedelta":
                walk(f)
                continue
            if name.startswith("_ws.") or f.get("size") == "0":
                continue    # expert info, labels: not values
            i = starts.get(int(f.get("pos", "-1")))
            if i is None and name in TIME_ITEMS:
                # tshark 4.0 gives a wrong position to an end time that
                # precedes the start time in the template: find the field
                # by what the item can be
                cand = [k for k, sp in enumerate(specs)
                        if sp[0] in TIME_ITEMS[name] and sp[1] == 0 and not sp[3]]
                i = cand[0] if len(cand) == 1 else None
            if i is None:
                continue
            ie, pen, ln, scope = specs[i]
            key = ("scope", ie) if scope else (pen, ie)
            out.setdefault(key, []).append((f.get("show", ""), int(f.get("size", "0")), name))
    walk(flow)
    return out


V5_NAMES = {"srcaddr": 8, "dstaddr": 12, "nexthop": 15, "inputint": 10, "outputint": 14,
            "packets": 2, "octets": 1, "timestart": 22, "timeend": 21, "srcport": 7,
            "dstport": 11, "tcpflags": 6, "protocol": 4, "tos": 5, "srcas": 16, "dstas": 17,
            "srcmask": 9, "dstmask": 13}


def v5_ies(pdu):
    out = {}
    for f in pdu.iter("field"):
        n = (f.get("name") or "").replace("cflow.", "")
        if n in V5_NAMES:
            out.setdefault((0, V5_NAMES[n]), []).append((f.get("show"), int(f.get("size")), n))
    return out


class Frame:
    def __init__(self, frame, src):
        self.frame, self.src, self.version, self.hdr, self.sets = frame, src, None, {}, []


def tshark_frames(root):
    """Frames with their sets: (index, set id, kind, template key, flows)."""
    frames, templates = [], {}
    for pkt in root.iter("packet"):
        protos = [p for p in pkt.findall("proto")]
        names = {p.get("name"): p for p in protos}
        fr = Frame(int(names["frame"].find("field[@name='frame.number']").get("show")), None)
        for p in protos:
            if p.get("name") in ("ip", "ipv6") and fr.src is None:
                n = "ip.src" if p.get("name") == "ip" else "ipv6.src"
                fr.src = norm_ip(p.find(f"field[@name='{n}']").get("show"))
        frames.append(fr)
        cf = names.get("cflow")
        if cf is None:
            fr.sflow = names.get("sflow")
            continue
        fr.hdr = hdr_fields(cf)
        fr.version = num(fr.hdr.get("cflow.version", "0"))
        if fr.version == 5:
            pdus = [f for f in cf if f.get("name") == "" and f.get("show", "").startswith("pdu ")]
            fr.sets.append((1, 0, "v5", None, [v5_ies(p) for p in pdus]))
            continue
        idx = 0
        for fs in cf:
            show = fs.get("show", "")
            if fs.get("name") != "" or not (show.startswith("FlowSet") or show.startswith("Set ")):
                continue
            idx += 1
            sid = num(fs.find("field[@name='cflow.flowset_id']").get("show"))
            if sid in (0, 1, 2, 3):
                for t in fs:
                    if t.get("name") == "" and "Template (Id" in t.get("show", ""):
                        tid, opt, specs = template_specs(t, fr.version)
                        templates[(fr.frame, tid)] = (opt, specs, idx)
                fr.sets.append((idx, sid, "template", None, []))
                continue
            tf = fs.find("field[@name='cflow.template_frame']")
            flows = [f for f in fs if f.get("name") == "" and f.get("show", "").startswith("Flow ")]
            if tf is None:
                fr.sets.append((idx, sid, "notemplate", None, []))
                continue
            fr.sets.append((idx, sid, "data", (int(tf.get("show")), sid), flows))
    return frames, templates


# ---- our side --------------------------------------------------------------

def vtap_run(pcap):
    return subprocess.run([VTAP, "flowdecode", "-r", pcap, "-j"], capture_output=True, text=True)


def fetch(pcap):
    """The two processes of a case (our decoder, tshark's first pass), run
    ahead of the comparison on a pool: most of the test's time is theirs."""
    return vtap_run(pcap), tshark_pdml_raw(tshark_copy(pcap))


def vtap_decode(pcap, case, r=None):
    r = r if r is not None else vtap_run(pcap)
    if r.returncode != 0:
        fail(case, f"vtap flowdecode exited {r.returncode}: {r.stderr.strip()}")
        return [], [], {}
    recs, exps, summ = [], [], {}
    for line in r.stdout.splitlines():
        o = json.loads(line)
        if o["type"] == "flow":
            recs.append(o)
        elif o["type"] == "exporter":
            exps.append(o)
        else:
            summ = o
    return recs, exps, summ


# ---- expectations from tshark's values ----------------------------------------

class Domain:
    def __init__(self):
        self.samplers, self.default, self.sys_init = {}, 0, 0


def option_rate(g):
    if g(34):
        return g(34)
    if g(50):
        return g(50)
    if g(305):
        return (g(305) + (g(306) or 0)) // g(305)
    if g(309) and g(310):
        return g(310) // g(309)
    return 0


def getter(ies, pen=0):
    def g(ie):
        v = ies.get((pen, ie))
        return num(v[-1][0]) if v else None
    return g


def show(ies, ie, pen=0):
    v = ies.get((pen, ie))
    return v[-1][0] if v else None


def expect_times(ies, pen, hdr, version, sys_init):
    """(start, end, estimated, swapped) in absolute ms per flowdec's rules."""
    if version == 5:
        export_ms = num(hdr["cflow.unix_secs"]) * 1000 + num(hdr.get("cflow.unix_nsecs", "0")) // 1000000
    elif version == 9:
        export_ms = num(hdr["cflow.unix_secs"]) * 1000
    else:
        export_ms = num(hdr.get("cflow.exporttime", "0")) * 1000
    up = round(float(hdr["cflow.sysuptime"]) * 1000) if "cflow.sysuptime" in hdr else None

    def absolute(ids):
        # the finest precision present wins: ns, us, ms, s
        for ie in ids:
            v = show(ies, ie, pen)
            if v is not None:
                ms = parse_date_ms(v)
                return ms or None
        return None
    s = absolute([156, 154, 152, 150])
    e = absolute([157, 155, 153, 151])
    s_rel = e_rel = None
    for ie in (22, 21):
        v = ies.get((pen, ie))
        if not v:
            continue
        sh, size, _ = v[-1]
        if size == 8:   # 8-byte "uptime": absolute ms (vendor pitfall)
            ms = round(float(sh) * 1000)
            if ie == 22 and s is None:
                s = ms or None
            elif ie == 21 and e is None:
                e = ms or None
        elif ie == 22:
            s_rel = round(float(sh) * 1000)
        else:
            e_rel = round(float(sh) * 1000)
    if s is None and show(ies, 158, pen) is not None:
        s = max(0, export_ms - num(show(ies, 158, pen)) // 1000)
    if e is None and show(ies, 159, pen) is not None:
        e = max(0, export_ms - num(show(ies, 159, pen)) // 1000)
    est = False
    if s_rel == 0 and e_rel == 0:
        s_rel = e_rel = None

    def signed32(d):
        # a difference modulo 2^32 read as a signed 32-bit number
        d %= 1 << 32
        return d - (1 << 32) if d >= 1 << 31 else d

    def rel(x):
        if up is not None:
            return max(0, export_ms - signed32(up - x))
        if sys_init:
            # 32-bit uptime: the wrap count nearest the export time
            t = sys_init + x
            if export_ms > t:
                t += ((export_ms - t + (1 << 31)) >> 32) << 32
            return t
        return None
    if s is None and s_rel is not None:
        s = rel(s_rel)
        s_rel = None if s is not None else s_rel
    if e is None and e_rel is not None:
        e = rel(e_rel)
        e_rel = None if e is not None else e_rel
    inverted = False
    if s is None and e is None and s_rel is not None and e_rel is not None:
        e = export_ms
        d = signed32(e_rel - s_rel)
        s = max(0, e - abs(d))
        est, inverted = True, d < 0
    elif e is None and e_rel is not None:
        e, est = export_ms, True
    elif s is None and s_rel is not None and e is not None:
        s, est = e, True
    if s is None and e is None:
        s = e = export_ms
        est = True
    elif s is None:
        s, est = e, True
    elif e is None:
        e, est = s, True
    swapped = e < s
    if swapped:
        s, e = e, s
    return s, e, est, swapped or inverted


def expect_record(ies, hdr, version, dom):
    g = getter(ies)
    x = {}
    has4 = (0, 8) in ies or (0, 12) in ies
    has6 = (0, 27) in ies or (0, 28) in ies
    ipv = g(60) or 0
    if ipv == 6 and has6:
        v6 = True
    elif ipv == 4 and has4:
        v6 = False
    else:
        v6 = has6 and not has4
    if has4 or has6:
        x["ipver"] = 6 if v6 else 4
    else:
        x["ipver"] = ipv if ipv in (4, 6) else 0
    if v6:
        x["src"] = norm_ip(show(ies, 27) or "::")
        x["dst"] = norm_ip(show(ies, 28) or "::")
    elif has4:
        x["src"] = show(ies, 8) or "0.0.0.0"
        x["dst"] = show(ies, 12) or "0.0.0.0"
    else:
        x["src"] = x["dst"] = "0.0.0.0" if ipv == 4 else "::"
    six = x["ipver"] == 6
    x["src_mask"] = (g(29) if six else g(9)) or 0
    x["dst_mask"] = (g(30) if six else g(13)) or 0
    if (0, 62) in ies and (v6 or (0, 15) not in ies):
        x["nexthop"] = norm_ip(show(ies, 62))
    elif (0, 15) in ies:
        x["nexthop"] = show(ies, 15)
    else:
        x["nexthop"] = "::"
    x["proto"] = g(4) or 0
    x["sport"] = g(7) or 0
    x["dport"] = g(11) or 0
    if x["proto"] in (1, 58):
        if (0, 32) in ies or (0, 139) in ies:
            x["dport"], x["sport"] = g(32) if (0, 32) in ies else g(139), 0
        elif any((0, i) in ies for i in (176, 177, 178, 179)):
            t = g(176) if (0, 176) in ies else (g(178) or 0)
            c = g(177) if (0, 177) in ies else (g(179) or 0)
            x["dport"], x["sport"] = (t or 0) << 8 | (c or 0), 0
    x["tos"] = (g(5) or 0) & 0xFF
    x["tcp_flags"] = (g(6) or 0) & 0xFF
    x["in_if"] = g(10) or 0
    x["out_if"] = g(14) or 0
    x["src_as"] = g(16) or 0
    x["dst_as"] = g(17) or 0
    x["src_mac"] = show(ies, 56) or show(ies, 81) or "00:00:00:00:00:00"
    x["dst_mac"] = show(ies, 80) or show(ies, 57) or "00:00:00:00:00:00"
    x["vlan"] = (g(58) if (0, 58) in ies else (g(243) or 0)) & 0xFFF
    x["direction"] = g(61) if (0, 61) in ies else 255
    x["end_reason"] = g(136) or 0
    x["bytes_raw"] = next((g(i) for i in (1, 85, 23) if (0, i) in ies), 0)
    x["packets_raw"] = next((g(i) for i in (2, 86, 24) if (0, i) in ies), 0)
    # systemInitTimeMilliseconds in the record itself (Huawei) wins over
    # the one an options record announced
    own = parse_date_ms(show(ies, 160)) if show(ies, 160) else 0
    s, e, est, sw = expect_times(ies, 0, hdr, version, own or dom.sys_init)
    x["first_ms"], x["last_ms"], x["est"], x["swapped"] = s, e, est, sw
    gr = getter(ies, REV)
    x["rbytes"] = next((gr(i) for i in (1, 85, 23) if (REV, i) in ies), 0)
    x["rpackets"] = next((gr(i) for i in (2, 86, 24) if (REV, i) in ies), 0)
    x["rtcp_flags"] = (gr(6) or 0) & 0xFF
    return x


def data_rate(dom, ies):
    g = getter(ies)
    r = option_rate(g)
    if r:
        return r
    if (0, 48) in ies and dom.samplers.get(("s", g(48))):
        return dom.samplers[("s", g(48))]
    if (0, 302) in ies and dom.samplers.get(("x", g(302))):
        return dom.samplers[("x", g(302))]
    if dom.samplers.get(("i", g(10) or 0)):
        return dom.samplers[("i", g(10) or 0)]
    return dom.default or 1


def options_record(dom, ies):
    g = getter(ies)
    if show(ies, 160):
        dom.sys_init = parse_date_ms(show(ies, 160)) or dom.sys_init
    r = option_rate(g)
    if not r:
        return
    if (0, 48) in ies:
        dom.samplers[("s", g(48))] = r
    elif (0, 302) in ies:
        dom.samplers[("x", g(302))] = r
    elif ("scope", 2) in ies:       # NetFlow v9 scope type Interface
        dom.samplers[("i", num(ies[("scope", 2)][-1][0]))] = r
    elif ("scope", 10) in ies:      # IPFIX scope ingressInterface
        dom.samplers[("i", num(ies[("scope", 10)][-1][0]))] = r
    else:
        dom.default = r


# ---- comparing ------------------------------------------------------------

KEYS = ["src", "dst", "ipver", "src_mask", "dst_mask", "nexthop", "proto", "sport", "dport",
        "tos", "tcp_flags", "in_if", "out_if", "src_as", "dst_as", "src_mac", "dst_mac", "vlan",
        "direction", "end_reason", "first_ms", "last_ms"]


def cmp_rec(case, where, x, o):
    n = 0
    for k in KEYS:
        want, got = x[k], o[k]
        if k in ("src", "dst", "nexthop"):
            got, want = norm_ip(got), norm_ip(want)
        if want != got:
            fail(case, f"{where}: {k} = {got!r}, tshark says {want!r}")
        n += 1
    samp = o["sampling"] or 1
    if o["bytes"] != x["bytes_raw"] * samp:
        fail(case, f"{where}: bytes = {o['bytes']}, tshark {x['bytes_raw']} x sampling {samp}")
    if o["packets"] != x["packets_raw"] * samp:
        fail(case, f"{where}: packets = {o['packets']}, tshark {x['packets_raw']} x sampling {samp}")
    if bool(o["dec_flags"] & 2) != x["est"]:
        fail(case, f"{where}: time-estimated flag {bool(o['dec_flags'] & 2)}, expected {x['est']}")
    if bool(o["dec_flags"] & 4) != x["swapped"]:
        fail(case, f"{where}: time-swapped flag wrong")
    return n + 2


def compare_cflow(case, frames, templates, recs, exps):
    by_key = {}
    for o in recs:
        by_key.setdefault((o["frame"], o["set"], o["rec"], o["reverse"]), []).append(o)
    seen, doms, notemplate = set(), {}, 0
    # Events in the order our decoder sees them: a data set whose template
    # comes later is decoded right after that template's set (held data).
    events = []
    for fr in frames:
        if fr.version not in (5, 9, 10):
            continue
        if fr.version == 5:
            dom = num(fr.hdr.get("cflow.engine_type", "0").split()[0]) << 8 | \
                num(fr.hdr.get("cflow.engine_id", "0"))
        else:
            dom = num(fr.hdr.get("cflow.source_id", fr.hdr.get("cflow.od_id", "0")))
        for idx, sid, kind, tkey, flows in fr.sets:
            pos, late = (fr.frame, idx, 0), False
            if kind == "data":
                t = templates.get(tkey)
                if t is None:
                    fail(case, f"frame {fr.frame} set {idx}: template frame {tkey} not found")
                    continue
                tpos = (tkey[0], t[2], 1)
                if tpos > pos:
                    pos, late = tpos, True
            events.append((pos, fr, dom, idx, sid, kind, tkey, flows, late))
    events.sort(key=lambda e: e[0])
    for pos, fr, dom, idx, sid, kind, tkey, flows, late in events:
        d = doms.setdefault((fr.src, fr.version, dom), Domain())
        if kind == "notemplate":
            notemplate += 1
            continue
        if kind == "template":
            continue
        if kind == "data":
            opt, specs, _ = templates[tkey]
            recs_ies = [record_ies(fl, specs) for fl in flows]
        else:
            opt, recs_ies = False, flows
        if opt:
            for ies in recs_ies:
                options_record(d, ies)
            continue
        for i, ies in enumerate(recs_ies, 1):
            x = expect_record(ies, fr.hdr, fr.version, d)
            where = f"frame {fr.frame} set {idx} record {i}"
            got = by_key.get((fr.frame, idx, i, False), [])
            if len(got) != 1:
                fail(case, f"{where}: {len(got)} records from vtap, tshark has 1")
                continue
            o = got[0]
            seen.add((fr.frame, idx, i, False))
            totals["fields"] += cmp_rec(case, where, x, o)
            totals["records"] += 1
            if norm_ip(o["exporter"]) != fr.src:
                fail(case, f"{where}: exporter {o['exporter']} != {fr.src}")
            if o["late"] != late:
                fail(case, f"{where}: late flag {o['late']}, template position says {late}")
            if fr.version == 5:
                want_rate = num(fr.hdr.get("cflow.samplerate", "0")) & 0x3FFF
                want_rate = want_rate if want_rate > 1 else 1
            else:
                want_rate = data_rate(d, ies)
            if (o["sampling"] or 1) != want_rate:
                fail(case, f"{where}: sampling {o['sampling']}, options records say {want_rate}")
            # RFC 5103: the reverse half, when it carried traffic
            got = by_key.get((fr.frame, idx, i, True), [])
            if x["rbytes"] or x["rpackets"]:
                if len(got) != 1:
                    fail(case, f"{where}: reverse half missing")
                    continue
                r = got[0]
                seen.add((fr.frame, idx, i, True))
                samp = r["sampling"] or 1
                if not (r["src"] == o["dst"] and r["dst"] == o["src"] and
                        r["bytes"] == x["rbytes"] * samp and
                        r["packets"] == x["rpackets"] * samp and
                        r["tcp_flags"] == x["rtcp_flags"]):
                    fail(case, f"{where}: reverse half {r} disagrees with tshark")
                totals["records"] += 1
            elif got:
                fail(case, f"{where}: reverse half emitted without reverse traffic")
    for k in by_key:
        if k not in seen and by_key[k][0]["exp_version"] in (5, 9, 10):
            fail(case, f"record {k} from vtap has no counterpart in tshark")
    ours = sum(e["no_template_sets"] for e in exps)
    if ours != notemplate:
        fail(case, f"no-template sets: vtap counts {ours}, tshark shows {notemplate}")
    totals["no_template"] += notemplate


# ---- sFlow -------------------------------------------------------------------

def first_field(node, name):
    for f in node.iter("field"):
        if f.get("name") == name:
            return f
    return None


def first_proto(node, names):
    for p in node.iter("proto"):
        if p.get("name") in names:
            return p
    return None


def iface(sample, name):
    """(in or out) interface: an ifIndex when the format is 0, else 0."""
    fmt = first_field(sample, f"sflow.flow_sample.{name}_interface_format")
    if fmt is None:
        fmt = first_field(sample, f"sflow.flow_sample.{name}_interface.format")
    val = first_field(sample, f"sflow.flow_sample.{name}_interface_value")
    if fmt is not None and val is not None:     # expanded, or compact split up
        return num(val.get("show")) if num(fmt.get("show")) == 0 else 0
    raw = first_field(sample, f"sflow.flow_sample.{name}_interface")
    v = int(raw.get("value"), 16)
    return 0 if v >> 30 else v


def sflow_expect(sample, frame_ms):
    """The record flowdec must make of one flow sample, from tshark's decode
    of the sample and of its sampled header."""
    rate = num(first_field(sample, "sflow.flow_sample.sampling_rate").get("show"))
    x = {"sampling": rate, "packets": rate, "in_if": iface(sample, "input"),
         "out_if": iface(sample, "output"), "first_ms": frame_ms, "last_ms": frame_ms}
    hdr = first_field(sample, "sflow_245.header")
    if hdr is None:
        return None     # no sampled header in the corpus' flow samples
    eth = first_proto(hdr, ("eth",))
    x["src_mac"] = first_field(eth, "eth.src").get("show") if eth is not None else "00:00:00:00:00:00"
    x["dst_mac"] = first_field(eth, "eth.dst").get("show") if eth is not None else "00:00:00:00:00:00"
    vlan = first_proto(hdr, ("vlan",))
    sw = first_field(sample, "sflow_245.vlan.in")
    # a switch record's VLAN above 4095 (0xffffffff: unknown) is no VLAN
    swv = num(sw.get("show")) if sw is not None else 0
    x["vlan"] = (num(first_field(vlan, "vlan.id").get("show")) if vlan is not None else
                 swv if swv <= 4095 else 0)
    ip = first_proto(hdr, ("ip", "ipv6"))
    if ip is None:
        x["ipver"] = 0
        fl = num(first_field(sample, "sflow_245.header.frame_length").get("show"))
        st = num(first_field(sample, "sflow_245.header.payload_stripped").get("show"))
        x["bytes"] = (fl - st) * rate
        return x
    v6 = ip.get("name") == "ipv6"
    pre = "ipv6" if v6 else "ip"
    x["ipver"] = 6 if v6 else 4
    x["src"] = norm_ip(first_field(ip, pre + ".src").get("show"))
    x["dst"] = norm_ip(first_field(ip, pre + ".dst").get("show"))
    x["proto"] = num(first_field(ip, "ipv6.nxt" if v6 else "ip.proto").get("show"))
    x["tos"] = num(first_field(ip, "ipv6.tclass" if v6 else "ip.dsfield").get("show")) & 0xFF
    ln = num(first_field(ip, "ipv6.plen").get("show")) + 40 if v6 else \
        num(first_field(ip, "ip.len").get("show"))
    x["bytes"] = ln * rate
    l4 = first_proto(hdr, ("tcp", "udp", "icmp", "icmpv6", "sctp"))
    x["sport"] = x["dport"] = x["tcp_flags"] = 0
    if l4 is not None:
        n = l4.get("name")
        if n in ("icmp", "icmpv6"):
            x["dport"] = num(first_field(l4, n + ".type").get("show")) << 8 | \
                num(first_field(l4, n + ".code").get("show"))
            x["proto_l4"] = n
        else:
            x["sport"] = num(first_field(l4, n + ".srcport").get("show"))
            x["dport"] = num(first_field(l4, n + ".dstport").get("show"))
            if n == "tcp":
                x["tcp_flags"] = num(first_field(l4, "tcp.flags").get("show")) & 0xFF
    return x


def compare_sflow(case, frames, recs, exps, pcap):
    times = {}
    out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.number",
                          "-e", "frame.time_epoch"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fno, t = line.split("\t")
        sec, frac = (t.split(".") + ["0"])[:2]
        times[int(fno)] = int(sec) * 1000 + int((frac + "000")[:3])
    by_key = {(o["frame"], o["set"]): o for o in recs if o["exp_version"] == 105}
    seen, counters = set(), {}
    for fr in frames:
        sf = getattr(fr, "sflow", None)
        if sf is None or fr.version is not None:
            continue
        idx = 0
        for smp in sf:
            show = smp.get("show", "")
            if smp.get("name") != "" or "sample, seq" not in show:
                continue
            idx += 1
            if "counters sample" in show.lower():
                for rec in smp:
                    if rec.get("name") == "" and rec.get("show") == "Generic interface counters":
                        g = {f.get("name"): f.get("show") for f in rec.iter("field")}
                        if "sflow_245.ifoutoct" in g:   # complete record only
                            counters[(fr.src, num(g["sflow_245.ifindex"]))] = g
                continue
            x = sflow_expect(smp, times[fr.frame])
            where = f"frame {fr.frame} sample {idx}"
            o = by_key.get((fr.frame, idx))
            if x is None:
                continue
            if o is None:
                fail(case, f"{where}: no record from vtap")
                continue
            seen.add((fr.frame, idx))
            totals["sflow"] += 1
            totals["records"] += 1
            for k, want in x.items():
                if k == "proto_l4":
                    continue
                got = o[k]
                if k in ("src", "dst"):
                    got = norm_ip(got)
                if got != want:
                    fail(case, f"{where}: {k} = {got!r}, tshark says {want!r}")
                totals["fields"] += 1
            if norm_ip(o["exporter"]) != fr.src:
                fail(case, f"{where}: exporter {o['exporter']} != {fr.src}")
    for k in by_key:
        if k not in seen:
            fail(case, f"sFlow record {k} from vtap has no counterpart in tshark")
    # the last generic interface counters of each interface
    ours = {}
    for e in exps:
        for c in e["ifcounters"]:
            ours[(norm_ip(e["exporter"]), c["ifindex"])] = c
    for key, g in counters.items():
        c = ours.get(key)
        if c is None:
            fail(case, f"interface counters {key}: missing in vtap's stats")
            continue
        for ours_k, ts_k in (("in_octets", "sflow_245.ifinoct"), ("out_octets", "sflow_245.ifoutoct"),
                             ("in_ucast", "sflow_245.ifinpkt"), ("out_ucast", "sflow_245.ifoutpkt"),
                             ("in_errors", "sflow_245.ifinerr"), ("out_discards", "sflow_245.ifoutdisc"),
                             ("ifspeed", "sflow_245.ifspeed"), ("iftype", "sflow_245.iftype")):
            if c[ours_k] != num(g[ts_k]):
                fail(case, f"interface counters {key}: {ours_k} = {c[ours_k]}, tshark {g[ts_k]}")
            totals["fields"] += 1


def ahead(todo, jobs):
    """(case, pcap, future of fetch(pcap)) in order, at most <jobs> fetched
    ahead of the one being compared."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        queue = collections.deque()
        for case, pcap in todo:
            queue.append((case, pcap, pool.submit(fetch, pcap)))
            if len(queue) > jobs:
                yield queue.popleft()
        while queue:
            yield queue.popleft()


def main():
    os.makedirs(WORK, exist_ok=True)
    for case, pcap, fut in ahead(GIVEN or cases(), os.cpu_count() or 1):
        totals["cases"] += 1
        before = len(failures)
        records_before = totals["records"]
        try:
            vr, pdml = fut.result()
        except Exception:   # tshark refused it, or preparing it failed: both run
            # again below, where a failure is reported against this case
            vr, pdml = vtap_run(pcap), None
        recs, exps, summ = vtap_decode(pcap, case, vr)
        try:
            frames, templates = tshark_decode(pcap, pdml)
            compare_cflow(case, frames, templates, recs, exps)
            compare_sflow(case, frames, recs, exps, pcap)
        except Exception as e:  # a bug in this script must fail the test, loudly
            import traceback
            fail(case, "comparison crashed: " + traceback.format_exc())
        n = sum(1 for r in recs)
        if GIVEN and totals["records"] == records_before:
            fail(case, "no record was compared: nothing decoded on either side")
        status = "ok" if len(failures) == before else "MISMATCH"
        errs = {k: v for e in exps for k, v in e["error"].items()}
        print(f"{status:8} {case}: {n} records, errors {errs or 'none'}, "
              f"no-template {sum(e['no_template_sets'] for e in exps)}")
        for f in failures[before:before + 20]:
            print("    " + f)
        if len(failures) - before > 20:
            print(f"    ... and {len(failures) - before - 20} more")
    if not GIVEN:
        for k, v in EXPECT.items():
            if totals[k] != v:
                failures.append(f"corpus total {k} = {totals[k]}, expected {v}")
                print(f"FAIL corpus total {k} = {totals[k]}, expected {v}")
    print(f"{totals['cases']} captures, {totals['records']} records ({totals['sflow']} sFlow) "
          f"and {totals['fields']} fields compared with tshark, "
          f"{totals['no_template']} no-template sets; "
          f"{len(failures)} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
