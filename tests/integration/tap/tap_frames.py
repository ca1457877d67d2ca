#!/usr/bin/env python3
"""tap_frames.py — ground truth vs mirror, for the tap integration tests.

  tap_frames.py compare --truth A.pcap --mirror M.pcap --encap TYPE [--mtu 1500]
                        [--vm-mac MAC] [--key N] [--slice N] [--truth-filter EXPR]
  tap_frames.py count --truth A.pcap [--mtu 1500] [--truth-filter EXPR]

The truth is what tcpdump saw on VM A's own interface inside A's namespace.
It is normalised to wire frames, as a NIC would have sent them:

  * TSO/GSO super-frames (IP length above the VM's MTU) are cut into
    segments exactly as the kernel's GSO does: payload MSS = MTU - IP
    header - TCP header, IPv4 id + i, sequence + offset, CWR only on the
    first, PSH/FIN only on the last segment;
  * TCP/UDP checksums are computed (the VM's stack left CHECKSUM_PARTIAL
    placeholders for the NIC to fill).

Windows: the tap may run before and after the truth capture. With
--window only the copies taken between 5 ms before the truth's first frame
and 200 ms after its last are compared (copies arrive at the analyzer a
little later than the VM sees the frame); inside, equality is exact.

The mirror side is *not* normalised: each copy is taken out of its tunnel
(TYPE vxlan = the analyzer's VXLAN device already did; gre, erspan2,
erspan3, tzsp: decapsulated here; pcapng: the files) and must already be a
wire frame with valid checksums (counted, must be 0 invalid). Then the two
multisets of frames must be equal, byte for byte. With --slice N, each
truth frame is cut to N bytes before comparing and the mirror must mark
every cut copy as truncated.

Tunnel headers are checked too: the id (--key), gap-free sequence numbers
per direction stream, and the direction of every copy against the frame's
source MAC (--vm-mac: frames from that MAC were sent by the VM).
Exit status 0 when everything matches; a JSON summary goes to stdout.
"""
import argparse
import collections
import json
import struct
import sys


def read_pcap(path):
    """(linktype, [frame bytes]) of a classic pcap, or the EPBs of a pcapng
    (with interface names and epb_flags, for --encap pcapng)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return 1, []
    magic = struct.unpack('<I', data[:4])[0]
    if magic == 0x0A0D0D0A:
        return read_pcapng(data)
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = '<'
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = '>'
    else:
        raise SystemExit(f'{path}: not a capture')
    link = struct.unpack(e + 'I', data[20:24])[0] & 0x0FFFFFFF
    div = 1e9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e6
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + 'IIII', data[off:off + 16])
        out.append({'data': data[off + 16:off + 16 + incl], 'orig': orig, 'ts': sec + frac / div})
        off += 16 + incl
    return link, out


def read_pcapng(data):
    off, ifs, out = 0, [], []
    while off + 12 <= len(data):
        btype, blen = struct.unpack('<II', data[off:off + 8])
        body = data[off + 8:off + blen - 4]
        if btype == 0x0A0D0D0A:
            ifs = []
        elif btype == 1:
            link = struct.unpack('<H', body[:2])[0]
            name, desc, o, res = '', '', 8, 1e6
            while o + 4 <= len(body):
                code, ln = struct.unpack('<HH', body[o:o + 4])
                val = body[o + 4:o + 4 + ln]
                if code == 0:
                    break
                if code == 2:
                    name = val.decode()
                if code == 3:
                    desc = val.decode()
                if code == 9 and ln >= 1:
                    res = 2.0 ** (val[0] & 0x7F) if val[0] & 0x80 else 10.0 ** val[0]
                o += 4 + ((ln + 3) & ~3)
            ifs.append({'link': link, 'name': name, 'desc': desc, 'res': res})
        elif btype == 6:
            ifid, hi, lo, cap, orig = struct.unpack('<IIIII', body[:20])
            frame = body[20:20 + cap]
            o, flags = 20 + ((cap + 3) & ~3), 0
            while o + 4 <= len(body):
                code, ln = struct.unpack('<HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 2 and ln == 4:
                    flags = struct.unpack('<I', body[o + 4:o + 8])[0]
                o += 4 + ((ln + 3) & ~3)
            out.append({'data': frame, 'orig': orig, 'if': ifs[ifid], 'flags': flags,
                        'ts': ((hi << 32) | lo) / ifs[ifid]['res']})
        off += blen
    return 1, out


def csum(b, s=0):
    if len(b) % 2:
        b += b'\0'
    s += sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def parse(f):
    """offsets of an Ethernet frame: (l3, ipver, proto, l4, hdr_end) or None."""
    if len(f) < 14:
        return None
    o, et = 14, struct.unpack('!H', f[12:14])[0]
    while et in (0x8100, 0x88A8) and len(f) >= o + 4:
        et = struct.unpack('!H', f[o + 2:o + 4])[0]
        o += 4
    if et == 0x0800 and len(f) >= o + 20:
        ihl = (f[o] & 15) * 4
        frag = struct.unpack('!H', f[o + 6:o + 8])[0]
        if frag & 0x3FFF:
            return (o, 4, f[o + 9], None, None)
        l4 = o + ihl
        proto = f[o + 9]
    elif et == 0x86DD and len(f) >= o + 40:
        proto, l4 = f[o + 6], o + 40
        while proto in (0, 43, 60) and len(f) >= l4 + 2:
            proto, l4 = f[l4], l4 + (f[l4 + 1] + 1) * 8
        if proto == 44:
            return (o, 6, proto, None, None)
    else:
        return None
    if proto == 6 and len(f) >= l4 + 20:
        return (o, 4 if et == 0x0800 else 6, proto, l4, l4 + (f[l4 + 12] >> 4) * 4)
    if proto == 17 and len(f) >= l4 + 8:
        return (o, 4 if et == 0x0800 else 6, proto, l4, l4 + 8)
    return (o, 4 if et == 0x0800 else 6, proto, None, None)


def l4_sum(f, p):
    l3, ver, proto, l4, _ = p
    seg = f[l4:]
    if ver == 4:
        tot = struct.unpack('!H', f[l3 + 2:l3 + 4])[0]
        seg = f[l4:l3 + tot]
        ph = f[l3 + 12:l3 + 20] + struct.pack('!BBH', 0, proto, len(seg))
    else:
        plen = struct.unpack('!H', f[l3 + 4:l3 + 6])[0]
        seg = f[l4:l3 + 40 + plen]
        ph = f[l3 + 8:l3 + 40] + struct.pack('!IxxxB', len(seg), proto)
    return ph, seg


def fix_csum(f):
    """the frame with correct TCP/UDP checksums (as a NIC fills them)."""
    p = parse(f)
    if not p or p[3] is None:
        return f
    l3, ver, proto, l4, _ = p
    ph, seg = l4_sum(f, p)
    co = l4 + (16 if proto == 6 else 6)
    if proto == 17 and ver == 4 and f[co:co + 2] == b'\0\0':
        return f  # no UDP checksum: stays none
    seg = seg[:co - l4] + b'\0\0' + seg[co - l4 + 2:]
    c = 0xFFFF - csum(ph + seg)
    if proto == 17 and c == 0:
        c = 0xFFFF
    return f[:co] + struct.pack('!H', c) + f[co + 2:]


def tcp_zero(f):
    """the frame with a TCP checksum of 0xFFFF written as 0x0000. When the
    sum folds to zero both are valid (ones' complement -0 and +0) and the
    kernel writes either: skb_checksum_help() 0xFFFF (CSUM_MANGLED_0), the
    GSO path 0x0000; a NIC and fix_csum() 0x0000. One frame in 65,536."""
    p = parse(f)
    if not p or p[2] != 6 or p[3] is None:
        return f
    co = p[3] + 16
    if f[co:co + 2] != b'\xff\xff':
        return f
    return f[:co] + b'\0\0' + f[co + 2:]


def csum_ok(f):
    p = parse(f)
    if not p or p[3] is None:
        return True
    l3, ver, proto, l4, _ = p
    if proto == 17 and ver == 4 and f[l4 + 6:l4 + 8] == b'\0\0':
        return True
    ph, seg = l4_sum(f, p)
    return csum(ph + seg) == 0xFFFF


def segment(f, mtu):
    """GSO as the kernel does it, for frames whose IP packet exceeds mtu."""
    p = parse(f)
    if not p or p[2] != 6 or p[3] is None:
        return [f]
    l3, ver, proto, l4, hl = p
    iplen = len(f) - l3
    if iplen <= mtu:
        return [f]
    mss = mtu - (hl - l3)
    payload = f[hl:]
    segs, n = [], (len(payload) + mss - 1) // mss
    seq = struct.unpack('!I', f[l4 + 4:l4 + 8])[0]
    flags = f[l4 + 13]
    ipid = struct.unpack('!H', f[l3 + 4:l3 + 6])[0] if ver == 4 else 0
    for i in range(n):
        pl = payload[i * mss:(i + 1) * mss]
        h = bytearray(f[:hl])
        if ver == 4:
            struct.pack_into('!H', h, l3 + 2, hl - l3 + len(pl))
            struct.pack_into('!H', h, l3 + 4, (ipid + i) & 0xFFFF)
            struct.pack_into('!H', h, l3 + 10, 0)
            struct.pack_into('!H', h, l3 + 10, 0xFFFF - csum(bytes(h[l3:l4])))
        else:
            struct.pack_into('!H', h, l3 + 4, hl - l3 - 40 + len(pl))
        struct.pack_into('!I', h, l4 + 4, (seq + i * mss) & 0xFFFFFFFF)
        fl = flags
        if i > 0:
            fl &= ~0x80
        if i < n - 1:
            fl &= ~0x09
        h[l4 + 13] = fl
        segs.append(bytes(h) + pl)
    return segs


def decap(pkt, encap):
    """(inner frame, meta) of one analyzer packet, or None if not a copy."""
    f = pkt['data']
    if encap == 'none':
        return f, {}
    if encap == 'pcapng':
        return f, {'if': pkt['if'], 'flags': pkt['flags'], 'orig': pkt['orig']}
    p = parse(f)
    if not p:
        return None
    l3, ver, proto, l4, _ = p
    df = ver == 6 or bool(struct.unpack('!H', f[l3 + 6:l3 + 8])[0] & 0x4000)
    iplen = len(f) - l3
    if proto == 17 and l4 is not None and encap == 'tzsp':
        if struct.unpack('!H', f[l4 + 2:l4 + 4])[0] != 37008:
            return None
        o = l4 + 8
        ver_, typ, enc = f[o], f[o + 1], struct.unpack('!H', f[o + 2:o + 4])[0]
        o += 4
        meta = {'dir': typ, 'df': df, 'iplen': iplen, 'ver': ver_, 'enc': enc}
        while True:
            tag = f[o]
            o += 1
            if tag == 1:
                break
            if tag == 0:
                continue
            ln = f[o]
            val = f[o + 1:o + 1 + ln]
            if tag == 40:
                meta['seq'] = struct.unpack('!I', val)[0]
            if tag == 41:
                meta['orig'] = struct.unpack('!H', val)[0]
            o += 1 + ln
        meta['trunc'] = meta.get('orig', 0) > len(f) - o
        return f[o:], meta
    if proto != 47:
        return None
    o = l3 + (f[l3] & 15) * 4 if ver == 4 else l3 + 40
    flags, gproto = struct.unpack('!HH', f[o:o + 4])
    o += 4
    meta = {'df': df, 'iplen': iplen, 'gproto': gproto}
    if flags & 0x8000:
        o += 4
    if flags & 0x2000:
        meta['key'] = struct.unpack('!I', f[o:o + 4])[0]
        o += 4
    if flags & 0x1000:
        meta['seq'] = struct.unpack('!I', f[o:o + 4])[0]
        o += 4
    if gproto == 0x6558 and encap == 'gre':
        return f[o:], meta
    if gproto == 0x88BE and encap == 'erspan2':
        w0 = struct.unpack('!I', f[o:o + 4])[0]
        meta.update(ver=w0 >> 28, key=w0 & 0x3FF, trunc=bool(w0 >> 10 & 1),
                    index=struct.unpack('!I', f[o + 4:o + 8])[0] & 0xFFFFF)
        return f[o + 8:], meta
    if gproto == 0x22EB and encap == 'erspan3':
        w0, ts, w2 = struct.unpack('!III', f[o:o + 12])
        meta.update(ver=w0 >> 28, key=w0 & 0x3FF, trunc=bool(w0 >> 10 & 1), ts=ts,
                    dir=w2 >> 3 & 1, gra=w2 >> 1 & 3, o=w2 & 1)
        return f[o + 12 + (8 if w2 & 1 else 0):], meta
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd', choices=['compare', 'count'])
    ap.add_argument('--truth', required=True)
    ap.add_argument('--mirror', nargs='+', default=[])
    ap.add_argument('--encap', default='none',
                    choices=['none', 'vxlan', 'gre', 'erspan2', 'erspan3', 'tzsp', 'pcapng'])
    ap.add_argument('--mtu', type=int, default=1500)
    ap.add_argument('--vm-mac')
    ap.add_argument('--key', type=int)
    ap.add_argument('--slice', type=int, default=0)
    ap.add_argument('--truth-filter', default='', help='python expr on parse tuple p and frame f')
    ap.add_argument('--mirror-filter', default='', help='like --truth-filter, on the copies')
    ap.add_argument('--ifname', help='pcapng: only copies of this interface (VM) name')
    ap.add_argument('--window', action='store_true',
                    help='compare only copies taken while the truth was captured (from '
                         '5 ms before its first frame to 200 ms after its last): the '
                         'mirror may have been running before and after')
    a = ap.parse_args()

    _, truth = read_pcap(a.truth)
    t_lo = min((t['ts'] for t in truth), default=0) - 0.005
    t_hi = max((t['ts'] for t in truth), default=0) + 0.2
    want = collections.Counter()
    want_ts, got_ts = {}, {}
    for t in truth:
        for s in segment(t['data'], a.mtu):
            s = fix_csum(s)
            if a.truth_filter:
                p = parse(s)
                if not eval(a.truth_filter, {}, {'p': p, 'f': s}):
                    continue
            k = s[:a.slice] if a.slice else s
            want[k] += 1
            want_ts.setdefault(k, t['ts'])
    if a.cmd == 'count':
        print(sum(want.values()))
        return

    got = collections.Counter()
    problems = collections.Counter()
    seqs = collections.defaultdict(list)
    ifnames, n_dir = collections.Counter(), collections.Counter()
    mirror_all = 0
    dir_all = collections.Counter()
    for path in a.mirror:
        _, pkts = read_pcap(path)
        for pkt in pkts:
            r = decap(pkt, a.encap if a.encap != 'vxlan' else 'none')
            if r is None:
                continue
            inner, meta = r
            if a.ifname and meta.get('if', {}).get('name') != a.ifname:
                continue
            if a.mirror_filter and not eval(a.mirror_filter, {}, {'p': parse(inner), 'f': inner}):
                continue
            mirror_all += 1
            if a.vm_mac:
                mine = inner[6:12] == bytes.fromhex(a.vm_mac.replace(':', ''))
                dir_all['from_vm' if mine else 'to_vm'] += 1
            if a.window and not t_lo <= pkt['ts'] <= t_hi:
                continue
            if not a.slice and not csum_ok(inner):
                problems['bad_checksum'] += 1
            if a.encap not in ('none', 'vxlan', 'pcapng') and not meta.get('df'):
                problems['outer_not_df'] += 1
            if a.key is not None and a.encap in ('gre', 'erspan2', 'erspan3') and meta.get('key') != a.key:
                problems['wrong_key'] += 1
            if a.encap in ('erspan2', 'erspan3') and meta.get('ver') != (1 if a.encap == 'erspan2' else 2):
                problems['erspan_version'] += 1
            if a.slice and len(inner) == a.slice and a.encap in ('erspan2', 'erspan3', 'tzsp', 'pcapng'):
                cut = meta.get('trunc') if a.encap != 'pcapng' else meta['orig'] > len(inner)
                if not cut and meta.get('orig', a.slice + 1) > a.slice:
                    problems['slice_not_marked'] += 1
            from_vm = a.vm_mac and inner[6:12] == bytes.fromhex(a.vm_mac.replace(':', ''))
            if a.vm_mac and 'dir' in meta:
                # ERSPAN III: D=0 ingress on the port = from the VM; TZSP: 0 rx = from the VM
                if meta['dir'] != (0 if from_vm else 1):
                    problems['wrong_direction'] += 1
            if a.vm_mac and a.encap == 'pcapng':
                if meta['flags'] & 3 != (2 if from_vm else 1):
                    problems['wrong_direction'] += 1
                ifnames[meta['if']['name']] += 1
            if a.vm_mac:
                n_dir['from_vm' if from_vm else 'to_vm'] += 1
            if 'seq' in meta:
                seqs[meta.get('key', 0)].append(meta['seq'])
            inner = tcp_zero(inner)
            got[inner] += 1
            got_ts.setdefault(inner, pkt['ts'])
    for k, v in seqs.items():
        for x, y in zip(v, v[1:]):
            if y != (x + 1) & 0xFFFFFFFF:
                problems['seq_gap'] += 1

    missing = want - got
    extra = got - want
    summary = {
        'truth_frames': sum(want.values()), 'mirror_frames': sum(got.values()),
        'mirror_all': mirror_all, 'directions_all': dict(dir_all),
        'missing': sum(missing.values()), 'extra': sum(extra.values()),
        'problems': dict(problems), 'directions': dict(n_dir), 'interfaces': dict(ifnames),
    }

    def desc(f):
        p = parse(f)
        return f'{len(f)}B ' + (f'ip{p[1]} proto {p[2]}' if p else f'type {f[12:14].hex()}')
    summary['missing_sample'] = [desc(f) for f in list(missing)[:5]]
    summary['extra_sample'] = [desc(f) for f in list(extra)[:5]]
    # the frames themselves, for a diagnosis when they are few
    if 0 < len(missing) + len(extra) <= 4:
        summary['missing_frames'] = [{'ts': want_ts.get(f), 'hex': f[:128].hex()} for f in missing]
        summary['extra_frames'] = [{'ts': got_ts.get(f), 'hex': f[:128].hex()} for f in extra]
    print(json.dumps(summary))
    ok = not missing and not extra and not problems and summary['truth_frames'] > 0
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
