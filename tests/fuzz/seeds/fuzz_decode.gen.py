#!/usr/bin/env python3
"""Regenerates seeds/fuzz_decode/: single frames in the target's input
format (a link-type index byte, then the frame), cut from corpus captures:
the first frames of every file of traffic/, tunnels/ and malformed/, so the
fuzzer starts from every link type, tag stack and IP variant we have.

    VTAP_CORPUS=... tests/fuzz/seeds/fuzz_decode.gen.py
"""
import glob
import hashlib
import os
import struct

LINKS = {1: 0, 101: 1, 113: 2, 276: 3, 0: 4, 108: 5, 228: 6, 229: 7, 239: 8, 12: 9}
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, 'fuzz_decode')
corpus = os.environ['VTAP_CORPUS']


def pcap_frames(d):
    magic = d[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        return pcapng_frames(d)
    link = struct.unpack_from(e + 'I', d, 20)[0] & 0xffff
    off = 24
    while off + 16 <= len(d):
        caplen = struct.unpack_from(e + 'I', d, off + 8)[0]
        yield link, d[off + 16:off + 16 + caplen]
        off += 16 + caplen


def pcapng_frames(d):
    if d[:4] != b'\x0a\x0d\x0d\x0a':
        return
    e = '<' if d[8:12] == b'\x4d\x3c\x2b\x1a' else '>'
    links = []
    off = 0
    while off + 12 <= len(d):
        t, l = struct.unpack_from(e + 'II', d, off)
        if l < 12:
            return
        if t == 1:
            links.append(struct.unpack_from(e + 'H', d, off + 8)[0])
        elif t == 6 and off + 28 <= len(d):
            ifid, _, _, caplen = struct.unpack_from(e + 'IIII', d, off + 8)
            if ifid < len(links):
                yield links[ifid], d[off + 28:off + 28 + caplen]
        off += l


os.makedirs(out, exist_ok=True)
n = 0
for pat in ('traffic/*', 'tunnels/*', 'malformed/*'):
    for f in sorted(glob.glob(os.path.join(corpus, pat))):
        frames = list(pcap_frames(open(f, 'rb').read()))
        pick = frames[:3] if 'malformed' not in f else frames[:8]
        for link, fr in pick:
            if link not in LINKS or len(fr) > 4096:
                continue
            data = bytes([LINKS[link]]) + fr
            name = hashlib.sha1(data).hexdigest()[:16]
            open(os.path.join(out, name), 'wb').write(data)
            n += 1
print('%d seeds in %s' % (n, out))
