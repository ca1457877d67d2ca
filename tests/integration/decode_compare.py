#!/usr/bin/env python3
"""decode_compare.py — compares `vtap decode -j` with tshark, frame by frame.

    decode_compare.py VTAP FILE...

For every frame, the fields of the OUTERMOST IP header and of its
transport header must agree: IP version, src, dst, protocol (after IPv6
extension headers), ip_len (IPv4 total length; IPv6 40 + payload length or
40 + jumbo length), VLAN IDs before that header, fragment flag, TCP/UDP/SCTP/
DCCP ports, TCP flags, ICMP/ICMPv6 type and code. Per file, the number of
frames, of IP frames and the sum of ip_len must agree exactly.

tshark is run with IP reassembly off (each fragment is its own frame, the
first one dissected as its transport) and TCP reassembly off.

Exceptions are listed in EXCEPTIONS below with the reason; an exception
that no longer matches a difference is itself reported as a failure, so
the list cannot rot. Exits 0 when everything agrees, 1 otherwise.
"""
import concurrent.futures
import json
import os
import subprocess
import sys

# (file basename, frame number or None for all frames, field) -> why.
# Kept deliberately short: each one is a frame tshark itself flags or a
# documented decoder choice (docs/decoder.md).
EXCEPTIONS = {
}

IPV6_EXT = {0: 'ipv6.hopopts', 43: 'ipv6.routing', 44: 'ipv6.fraghdr', 60: 'ipv6.dstopts'}
PORT_LAYERS = {6: 'tcp', 17: 'udp', 132: 'sctp', 33: 'dccp'}


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def find_key(obj, key):
    """First value of <key> anywhere inside a tshark JSON object."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find_key(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def first_str(v):
    while isinstance(v, list):
        if not v:
            return None
        v = v[0]
    return v


def tshark_frames(path):
    cmd = ['tshark', '-n', '-r', path, '-T', 'json', '--no-duplicate-keys',
           '-J', 'frame vlan ieee8021ad ip ipv6 tcp udp icmp icmpv6 sctp dccp',
           '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE',
           '-o', 'tcp.desegment_tcp_streams:FALSE']
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 and not p.stdout.strip():
        raise RuntimeError('tshark failed on %s: %s' % (path, p.stderr.strip()))
    out = p.stdout.strip()
    return json.loads(out) if out else []


def expect(pkt):
    """What our decoder must report for one tshark frame."""
    layers = pkt['_source']['layers']
    protos = first_str(layers['frame']['frame.protocols']).split(':')
    e = {'ipver': 0, 'vlan': []}
    ip_at = next((i for i, t in enumerate(protos) if t in ('ip', 'ipv6')), len(protos))
    used = {'vlan': 0, 'ieee8021ad': 0}
    for t in protos[:ip_at]:
        if t in used:
            items = as_list(layers.get(t))
            if used[t] < len(items):
                vid = first_str(items[used[t]].get(t + '.id'))
                if vid is not None:
                    e['vlan'].append(int(vid))
            used[t] += 1
    if ip_at == len(protos):
        return e
    t = protos[ip_at]
    obj = as_list(layers.get(t))[0] if layers.get(t) else {}
    if t == 'ip':
        if 'ip.src' not in obj or 'ip.dst' not in obj or 'ip.len' not in obj:
            return e  # tshark gave up on the header (bogus length, cut short...)
        e['ipver'] = 4
        e['src'] = first_str(obj['ip.src'])
        e['dst'] = first_str(obj['ip.dst'])
        e['proto'] = int(first_str(obj['ip.proto']))
        e['ip_len'] = int(first_str(obj['ip.len']))
        mf = first_str(find_key(obj.get('ip.flags_tree', {}), 'ip.flags.mf')) == '1'
        off = int(first_str(obj.get('ip.frag_offset', '0')))
        e['frag'] = mf or off != 0
        nonfirst = off != 0
    else:
        if 'ipv6.src' not in obj or 'ipv6.dst' not in obj or 'ipv6.plen' not in obj:
            return e
        e['ipver'] = 6
        e['src'] = first_str(obj['ipv6.src'])
        e['dst'] = first_str(obj['ipv6.dst'])
        plen = int(first_str(obj['ipv6.plen']))
        jumbo = find_key(obj, 'ipv6.opt.jumbo')
        e['ip_len'] = 40 + (int(first_str(jumbo)) if plen == 0 and jumbo is not None else plen)
        nxt = int(first_str(obj['ipv6.nxt']))
        used = {}
        e['frag'] = False
        nonfirst = False
        while nxt in IPV6_EXT:
            key = IPV6_EXT[nxt]
            subs = as_list(obj.get(key))
            i = used.get(key, 0)
            if i >= len(subs):
                break  # truncated chain: tshark stopped here too
            used[key] = i + 1
            sub = subs[i]
            nv = first_str(sub.get(key + '.nxt'))
            if nv is None:
                break
            if nxt == 44:
                off = int(first_str(sub.get('ipv6.fraghdr.offset', '0')))
                more = first_str(sub.get('ipv6.fraghdr.more', '0')) == '1'
                if off or more:
                    e['frag'] = True
                if off:
                    nonfirst = True
                    nxt = int(nv)
                    break
            nxt = int(nv)
        e['proto'] = nxt
    if nonfirst:
        return e
    proto = e['proto']
    if proto in PORT_LAYERS:
        lay = PORT_LAYERS[proto]
        items = as_list(layers.get(lay))
        if items and first_str(items[0].get(lay + '.srcport')) is not None:
            e['sport'] = int(first_str(items[0][lay + '.srcport']))
            e['dport'] = int(first_str(items[0][lay + '.dstport']))
            if proto == 6 and items[0].get('tcp.flags') is not None:
                e['tcp_flags'] = int(first_str(items[0]['tcp.flags']), 16) & 0xff
    elif proto in (1, 58):
        lay = 'icmp' if proto == 1 else 'icmpv6'
        items = as_list(layers.get(lay))
        if items and first_str(items[0].get(lay + '.type')) is not None:
            e['icmp_type'] = int(first_str(items[0][lay + '.type']))
            e['icmp_code'] = int(first_str(items[0].get(lay + '.code', '0')))
    return e


FIELDS = ['ipver', 'src', 'dst', 'proto', 'ip_len', 'vlan', 'frag', 'sport', 'dport',
          'tcp_flags', 'icmp_type', 'icmp_code']


def ours_view(rec):
    v = {'ipver': rec['ipver'], 'vlan': rec['vlan']}
    if rec['ipver']:
        for k in ('src', 'dst', 'proto', 'ip_len', 'frag', 'sport', 'dport', 'tcp_flags',
                  'icmp_type', 'icmp_code'):
            if k in rec:
                v[k] = rec[k]
    return v


def compare_file(vtap, path, used_exc):
    name = os.path.basename(path)
    p = subprocess.run([vtap, 'decode', '-j', '-r', path], capture_output=True, text=True)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    if not lines or 'summary' not in lines[-1]:
        return ['%s: vtap decode produced no summary (rc %d): %s' % (name, p.returncode,
                                                                     p.stderr.strip())], None
    summary = lines[-1]['summary']
    ours = lines[:-1]
    theirs = tshark_frames(path)
    problems = []
    if p.returncode != 0:
        problems.append('%s: vtap decode exited %d: %s' % (name, p.returncode, p.stderr.strip()))
    if len(ours) != len(theirs):
        problems.append('%s: %d frames, tshark %d' % (name, len(ours), len(theirs)))
    ip_t = 0
    sum_t = 0
    diffs = 0
    for i, (o, t) in enumerate(zip(ours, theirs)):
        e = expect(t)
        if e['ipver']:
            ip_t += 1
            sum_t += e['ip_len']
        ov = ours_view(o)
        frame = i + 1
        for f in FIELDS:
            if ov.get(f) == e.get(f):
                continue
            key = next((k for k in ((name, frame, f), (name, None, f)) if k in EXCEPTIONS), None)
            if key:
                used_exc.add(key)
                continue
            diffs += 1
            if diffs <= 8:
                problems.append('%s frame %d: %s = %r, tshark %r' % (name, frame, f, ov.get(f),
                                                                     e.get(f)))
    if diffs > 8:
        problems.append('%s: %d more field differences' % (name, diffs - 8))
    counts = {'frames': len(theirs), 'ip': ip_t, 'ip_len_sum': sum_t}
    if summary['records'] != len(theirs) or summary['ip'] != ip_t or \
            summary['ip_len_sum'] != sum_t:
        exc = EXCEPTIONS.get((name, None, 'counts'))
        if exc:
            used_exc.add((name, None, 'counts'))
        else:
            problems.append('%s: totals records/ip/ip_len_sum %d/%d/%d, tshark %d/%d/%d' % (
                name, summary['records'], summary['ip'], summary['ip_len_sum'],
                len(theirs), ip_t, sum_t))
    return problems, counts


def main():
    vtap = sys.argv[1]
    files = sys.argv[2:]
    used_exc = set()
    failed = 0
    tot = {'frames': 0, 'ip': 0, 'ip_len_sum': 0}
    # one file per CPU at a time (tshark and the decoder are separate
    # processes); each result is reported as soon as the files before it
    # are, in file order, and a comparison that crashes fails its file
    def one(f):
        used = set()
        return compare_file(vtap, f, used), used
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = [pool.submit(one, f) for f in files]
        for f, fut in zip(files, futures):
            try:
                (problems, counts), used = fut.result()
            except Exception as e:  # a bug here must fail the file, loudly
                problems, counts, used = ['%s: comparison crashed: %r' % (
                    os.path.basename(f), e)], None, set()
            used_exc |= used
            if counts:
                for k in tot:
                    tot[k] += counts[k]
            if problems:
                failed += 1
                for p in problems:
                    print('DIFF ' + p, flush=True)
            else:
                print('ok   %s: %d frames, %d IP, ip_len sum %d' % (
                    os.path.basename(f), counts['frames'], counts['ip'], counts['ip_len_sum']),
                    flush=True)
    names = {os.path.basename(f) for f in files}
    stale = [k for k in EXCEPTIONS if k[0] in names and k not in used_exc]
    for k in stale:
        print('STALE exception %r: no longer needed (%s)' % (k, EXCEPTIONS[k]))
    print('%d files, %d frames, %d IP frames, ip_len sum %d; %d files differ, %d exceptions used' % (
        len(files), tot['frames'], tot['ip'], tot['ip_len_sum'], failed, len(used_exc)))
    return 1 if failed or stale else 0


if __name__ == '__main__':
    sys.exit(main())
