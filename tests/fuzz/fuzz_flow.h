/* fuzz_flow.h — the harness shared by the collector-decoder fuzz targets
 * (fuzz_nfv5, fuzz_nfv9, fuzz_ipfix, fuzz_sflow).
 *
 * One input is a sequence of datagrams fed to one struct flowdec, so that
 * templates, options and held data interact as on a real socket. The
 * input is split at the 4-byte separator "FZ\xfe\xed"; each piece is one
 * datagram, further split like a raw file (flowdec_frame_len) so the
 * corpus' raw payloads (one or several datagrams) are good seeds. A target
 * may force the version field so mutations stay in its decoder.
 *
 * An input that is a capture file (pcap or pcapng magic) is read with
 * lib/pkt instead and its UDP payloads are the datagrams, unchanged: the
 * corpus' flow captures and malformed captures (the sFlow crasher) are
 * seeds that way.
 *
 * Every record must satisfy the decoder's invariants; a violation traps
 * (a logic bug is a crash for the fuzzer). */
#ifndef VT_FUZZ_FLOW_H
#define VT_FUZZ_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/be.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"
#include "wire/flowdec.h"

static void fz_check(void *arg, const struct flow_rec *r, const struct flowdec_src *src)
{
	uint64_t *n = arg;

	(*n)++;
	if (r->first_ms > r->last_ms || r->sampling < 1 || src->set == 0 ||
	    (r->ipver != 0 && r->ipver != 4 && r->ipver != 6) ||
	    r->vm.name[VT_NAME_MAX - 1] != '\0' || r->vm.ifname[VT_IFNAME_MAX - 1] != '\0' ||
	    r->peer.name[VT_NAME_MAX - 1] != '\0')
		__builtin_trap();
	if (r->ipver == 4 && (!addr_is_v4(&r->src) || !addr_is_v4(&r->dst)))
		__builtin_trap();
}

static void fz_ifc(void *arg, const struct vt_addr *a, const struct sflow_ifcounters *c)
{
	(void)arg;
	(void)a;
	(void)c;
}

/* Records are built in place (flowdec_ops.room), as in the collector,
 * over garbage: fz_check() then also sees whether the decoder sets every
 * field it promises. */
static struct flow_rec *fz_room(void *arg)
{
	static struct flow_rec slot;

	(void)arg;
	memset(&slot, 0xa5, sizeof(slot));
	return &slot;
}

static bool fz_is_capture(const uint8_t *d, size_t n)
{
	if (n < 4)
		return false;
	uint32_t m = ld_be32(d);
	return m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1 ||
	       m == 0x0a0d0d0a;
}

/* The UDP payloads of a capture, each one datagram. */
static void fz_capture(struct flowdec *fd, const uint8_t *data, size_t size)
{
	struct vt_err err;
	struct pcapfile *pf = pcapfile_open_mem(data, size, &err);
	struct pcap_rec rec;
	uint64_t n = 0;

	if (!pf)
		return;
	while (pcapfile_next(pf, &rec, &err) == 1 && n++ < 100000) {
		struct pkt_info pi;
		if (pkt_decode(&pi, rec.link, rec.data, rec.caplen) != 0 || pi.proto != 17 ||
		    !pi.has_l4 || pi.is_frag || pi.l4_off + 8u > rec.caplen)
			continue;
		size_t len = rec.caplen - (pi.l4_off + 8u);
		uint16_t ulen = ld_be16(rec.data + pi.l4_off + 4);
		if (ulen >= 8 && ulen - 8u < len)
			len = ulen - 8u;
		flowdec_input(fd, &pi.src, pi.sport, rec.ts_ns / 1000000,
			      rec.data + pi.l4_off + 8, len, n);
		flowdec_expire(fd, rec.ts_ns / 1000000);
	}
	pcapfile_close(pf);
}

/* fz_run() : feeds <data> as datagrams; <force> (0 = none) is written
 * into the version field of each datagram (16 bits; 5 for sFlow writes the
 * 32-bit version). Small bounds make eviction paths reachable. */
static inline void fz_run(const uint8_t *data, size_t size, uint16_t force, bool fix_ipfix_len)
{
	static const uint8_t sep[4] = { 'F', 'Z', 0xfe, 0xed };
	struct flowdec_ops ops = { fz_check, fz_ifc, fz_room };
	struct flowdec_conf conf;
	uint64_t n = 0, now = 1700000000000ull;
	struct vt_addr exp = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 } };

	flowdec_conf_defaults(&conf);
	conf.max_templates_per_exporter = 8;
	conf.max_template_bytes_per_exporter = 4096;
	conf.hold_bytes_per_exporter = 2048;
	conf.max_exporters = 2;
	struct flowdec *fd = flowdec_new(&conf, &ops, &n);
	if (!fd)
		return;
	if (fz_is_capture(data, size)) {
		fz_capture(fd, data, size);
		flowdec_expire(fd, UINT64_MAX);
		flowdec_free(fd);
		return;
	}
	uint8_t *buf = malloc(size + 4);
	if (!buf) {
		flowdec_free(fd);
		return;
	}
	size_t off = 0;
	while (off < size) {
		const uint8_t *s = memmem(data + off, size - off, sep, 4);
		size_t piece = s ? (size_t)(s - (data + off)) : size - off;
		/* a private copy: the decoder must not depend on the bytes
		 * staying alive (held data is copied) */
		memcpy(buf, data + off, piece);
		for (size_t p = 0; p < piece;) {
			size_t dl = piece - p;
			uint8_t *d = buf + p;
			if (force == 5 && dl >= 4) {
				st_be32(d, 5);
			} else if (force && dl >= 2) {
				st_be16(d, force);
				if (fix_ipfix_len && force == 10 && dl >= 4)
					st_be16(d + 2, (uint16_t)(dl > 65535 ? 65535 : dl));
			}
			dl = flowdec_frame_len(d, dl);
			/* the second exporter address sees every other datagram */
			exp.b[15] = (uint8_t)(1 + (p & 1));
			flowdec_input(fd, &exp, (uint16_t)(p & 3), now, d, dl, n);
			now += 700;
			flowdec_expire(fd, now);
			p += dl;
		}
		off += piece + (s ? 4 : 0);
	}
	flowdec_expire(fd, UINT64_MAX);
	struct flowdec_stats st;
	flowdec_stats(fd, &st);
	if (st.held_sets_now || st.held_bytes_now)
		__builtin_trap();
	free(buf);
	flowdec_free(fd);
}

#endif
