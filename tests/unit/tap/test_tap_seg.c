/* Unit tests: src/agent/tap/tap_seg — user-space segmentation against the
 * kernel's own GSO output (golden captures, tests/data/tap/README.md),
 * UDP segmentation, re-segmentation to a smaller size, cut records, and
 * the checksum. */
#include <stdlib.h>

#include "core/be.h"
#include "core/compiler.h"

struct frame {
	const uint8_t *p;
	uint32_t len;
};
static int frame_load(const struct frame *f, uint32_t off, void *dst, uint32_t n)
{
	if (off > f->len || n > f->len - off)
		return -1;
	memcpy(dst, f->p + off, n);
	return 0;
}
#define TAP_LOAD(ctx, off, dst, len) frame_load((const struct frame *)(ctx), (off), (dst), (len))

#include "agent/tap/tap_seg.h"
#include "bpf/tap_shared.h"
#include "pcap_min.h"
#include "vt_test.h"

static const char *data_path(const char *name)
{
	static char p[4096];
	const char *root = getenv("VTAP_ROOT");

	if (root)
		snprintf(p, sizeof(p), "%s/tests/data/tap/%s", root, name);
	else   /* run from the build directory: __FILE__ is relative to it */
		snprintf(p, sizeof(p), "%.*s/../../data/tap/%s",
			 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name);
	return p;
}

/* A frame as the engine builds it from a ring record: parser fields. */
static void mkframe(struct tap_frame *tf, const uint8_t *d, uint32_t len, uint16_t gso)
{
	struct frame fr = { d, len };
	struct tap_pkt pk;

	memset(&pk, 0, sizeof(pk));
	tap_parse(&fr, &pk);
	memset(tf, 0, sizeof(*tf));
	tf->data = d;
	tf->cap_len = tf->len = len;
	tf->gso_size = gso;
	tf->hdr_len = (uint16_t)pk.hdr_len;
	tf->l3_off = pk.l3_off;
	tf->l4_off = pk.l4_off;
	tf->ipver = pk.ipver;
	tf->l4_proto = pk.proto;
}

/* Cut every super-frame VM A sent (source 198.18.1.1) at MSS 1448; the
 * result must be the kernel's wire frames, in order, byte for byte. Frames
 * that were not super-frames pass whole, with the checksum the VM's stack
 * left for offload completed as the kernel completed it on the
 * checksum-less link: also byte for byte. */
static void t_golden_kernel_gso(void)
{
	struct pcap_min sup, ker;
	const uint8_t *d, *k;
	uint32_t cl, wl, kcl, kwl;
	unsigned nsuper = 0, nseg = 0, nk = 0, bad = 0;
	static uint8_t out[65536];

	CHECK_EQ(pm_open(&sup, data_path("gso_tcp_super.pcap")), 0);
	CHECK_EQ(pm_open(&ker, data_path("gso_tcp_kernel.pcap")), 0);
	if (!sup.buf || !ker.buf)
		return;
	while (pm_next(&sup, &d, &cl, &wl) == 1) {
		struct tap_frame tf;
		struct tap_seg_iter it;
		uint32_t n, w, segs;

		CHECK_EQ(cl, wl);
		if (cl < 34 || ld_be32(d + 26) != 0xc6120101u)
			continue;   /* the mirror carried A's direction only */
		mkframe(&tf, d, cl, cl > 1514 ? 1448 : 0);
		segs = tap_seg_init(&it, &tf, 0);
		nsuper += segs > 1;
		while ((n = tap_seg_next(&it, out, sizeof(out), &w)) > 0) {
			nseg++;
			CHECK_EQ(n, w);
			if (pm_next(&ker, &k, &kcl, &kwl) != 1) {
				CHECK(0);
				break;
			}
			nk++;
			if (kcl != n) {
				bad++;
				continue;
			}
			if (memcmp(out, k, n) != 0)
				bad++;
		}
	}
	CHECK(pm_next(&ker, &k, &kcl, &kwl) == 0);   /* nothing left over */
	CHECK_EQ(bad, 0);
	CHECK(nsuper >= 5);
	CHECK_EQ(nseg, nk);
	CHECK(nk > 50);
	pm_close(&sup);
	pm_close(&ker);
}

/* builds Ethernet + IPv4/IPv6 + TCP/UDP with <plen> payload bytes */
static uint32_t build(uint8_t *f, int v6, uint8_t proto, uint32_t plen, uint8_t tcpflags)
{
	uint32_t l3 = 14, l4 = v6 ? 54 : 34, hl = l4 + (proto == 6 ? 20 : 8);

	memset(f, 0, hl);
	st_be16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[l3] = 0x60;
		st_be16(f + l3 + 4, (uint16_t)(hl - l4 + plen));
		f[l3 + 6] = proto;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0x20;
		f[l3 + 23] = 1;
		f[l3 + 24] = 0x20;
		f[l3 + 39] = 2;
	} else {
		f[l3] = 0x45;
		st_be16(f + l3 + 2, (uint16_t)(hl - l3 + plen));
		st_be16(f + l3 + 4, 0xfffe);   /* ids wrap */
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		st_be32(f + l3 + 12, 0xc6120101u);
		st_be32(f + l3 + 16, 0xc6120102u);
	}
	st_be16(f + l4, 1000);
	st_be16(f + l4 + 2, 2000);
	if (proto == 6) {
		st_be32(f + l4 + 4, 0xfffffff0u);   /* seq wraps */
		f[l4 + 12] = 0x50;
		f[l4 + 13] = tcpflags;
	} else {
		st_be16(f + l4 + 4, (uint16_t)(8 + plen));
	}
	for (uint32_t i = 0; i < plen; i++)
		f[hl + i] = (uint8_t)(i * 7 + 3);
	return hl + plen;
}

/* sum over pseudo header + L4 of a segment: 0 when the checksum is right */
static uint16_t l4_verify(const uint8_t *s, uint32_t len, int v6, uint8_t proto)
{
	uint32_t l4 = v6 ? 54 : 34, sum = 0;
	uint8_t ph[40];

	if (v6) {
		memcpy(ph, s + 22, 32);
		st_be32(ph + 32, len - l4);
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = proto;
		return tap_csum(s + l4, len - l4, (uint32_t)(0xffff - tap_csum(ph, 40, 0)));
	}
	memcpy(ph, s + 26, 8);
	ph[8] = 0;
	ph[9] = proto;
	st_be16(ph + 10, (uint16_t)(len - l4));
	sum = (uint32_t)(0xffff - tap_csum(ph, 12, 0));
	return tap_csum(s + l4, len - l4, sum);
}

static void t_segments(void)
{
	static const struct {
		int v6;
		uint8_t proto;
		uint32_t plen, gso, mss;
		uint8_t flags;
		uint32_t want_segs;
	} cases[] = {
		{ 0, 6, 10000, 1448, 0, 0x18 | 0x80 | 0x01, 7 },   /* PSH ACK CWR FIN */
		{ 1, 6, 2896, 1448, 0, 0x18, 2 },
		{ 0, 6, 9000, 0, 1000, 0x18, 9 },                  /* re-segment a jumbo frame */
		{ 0, 6, 20000, 8948, 1400, 0x10, 15 },             /* re-segment a GSO frame smaller */
		{ 0, 17, 5000, 1200, 0, 0, 5 },                    /* UDP GSO (USO) */
		{ 1, 17, 3000, 1000, 0, 0, 3 },
		{ 0, 17, 5000, 1200, 600, 0, 1 },                  /* UDP: boundaries fixed, whole */
		{ 0, 6, 1000, 1448, 0, 0x18, 1 },                  /* fits: whole */
	};
	static uint8_t f[32768], out[TAP_SEG_WHOLE_MAX];

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		uint32_t len = build(f, cases[c].v6, cases[c].proto, cases[c].plen, cases[c].flags);
		uint32_t hl = (cases[c].v6 ? 54u : 34u) + (cases[c].proto == 6 ? 20u : 8u);
		struct tap_frame tf;
		struct tap_seg_iter it;
		uint32_t n, w, total = 0, i = 0, segs;

		mkframe(&tf, f, len, (uint16_t)cases[c].gso);
		CHECK_EQ(tf.hdr_len, hl);
		segs = tap_seg_init(&it, &tf, cases[c].mss);
		CHECK_EQ(segs, cases[c].want_segs);
		while ((n = tap_seg_next(&it, out, sizeof(out), &w)) > 0) {
			uint32_t pl = n - hl;

			CHECK_EQ(n, w);
			if (segs == 1) {
				CHECK_EQ(n, len);
				CHECK_MEM(out, f, n);
				i++;
				continue;
			}
			/* payload bytes continue where the previous segment ended */
			CHECK_MEM(out + hl, f + hl + total, pl);
			if (cases[c].v6) {
				CHECK_EQ(ld_be16(out + 18), n - 54);
			} else {
				CHECK_EQ(ld_be16(out + 16), n - 14);
				CHECK_EQ(ld_be16(out + 18), (uint16_t)(0xfffe + i));
				CHECK_EQ(tap_csum(out + 14, 20, 0), 0);
			}
			if (cases[c].proto == 6) {
				uint8_t fl = out[hl - 20 + 13];
				CHECK_EQ_U64(ld_be32(out + hl - 20 + 4), (uint32_t)(0xfffffff0u + total));
				CHECK_EQ((fl & 0x80) != 0, i == 0 && (cases[c].flags & 0x80));
				CHECK_EQ((fl & 0x09) != 0, i + 1 == segs && (cases[c].flags & 0x09));
				CHECK_EQ(fl & 0x10, cases[c].flags & 0x10);
			} else {
				CHECK_EQ(ld_be16(out + hl - 4), n - (hl - 8));
			}
			CHECK_EQ(l4_verify(out, n, cases[c].v6, cases[c].proto), 0);
			total += pl;
			i++;
		}
		CHECK_EQ(i, segs);
		if (segs > 1)
			CHECK_EQ(total, cases[c].plen);
	}
}

/* Slicing per segment, a cut record, and frames that cannot be cut. */
static void t_slices_and_cuts(void)
{
	static uint8_t f[16384], out[TAP_SEG_WHOLE_MAX];
	struct tap_frame tf;
	struct tap_seg_iter it;
	uint32_t len = build(f, 0, 6, 10000, 0x10), n, w, k = 0;

	mkframe(&tf, f, len, 1448);
	CHECK_EQ(tap_seg_init(&it, &tf, 0), 7);
	while ((n = tap_seg_next(&it, out, 128, &w)) > 0) {
		CHECK_EQ(n, 128);
		CHECK(w == 1502 || w == 10000 - 6 * 1448 + 54);
		k++;
	}
	CHECK_EQ(k, 7);
	/* the record holds only 5000 bytes: 3 full segments can be made */
	tf.cap_len = 5000;
	CHECK_EQ(tap_seg_init(&it, &tf, 0), 7);
	CHECK_EQ(it.navail, 3);
	k = 0;
	while (tap_seg_next(&it, out, sizeof(out), &w) > 0)
		k++;
	CHECK_EQ(k, 3);
	/* ICMP super-frame (impossible, but): whole */
	tf.cap_len = len;
	tf.l4_proto = 1;
	CHECK_EQ(tap_seg_init(&it, &tf, 0), 1);
	CHECK(!tap_seg_can_resegment(&tf));
	CHECK_EQ(tap_seg_next(&it, out, 100, &w), 100);
	CHECK_EQ(w, len);
	CHECK_EQ(tap_seg_next(&it, out, 100, &w), 0);
	/* unknown headers: whole */
	tf.l4_proto = 6;
	CHECK(tap_seg_can_resegment(&tf));
	tf.hdr_len = 0;
	CHECK(!tap_seg_can_resegment(&tf));
	CHECK_EQ(tap_seg_init(&it, &tf, 0), 1);
}

static void t_csum(void)
{
	/* RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2 */
	static const uint8_t v[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t odd[] = { 0x01, 0x02, 0x03 };

	CHECK_EQ(tap_csum(v, sizeof(v), 0), (uint16_t)~0xddf2);
	CHECK_EQ(tap_csum(odd, 3, 0), (uint16_t)~(0x0102 + 0x0300));
	CHECK_EQ(tap_csum(NULL, 0, 0), 0xffff);
}

VT_TEST_MAIN(VT_T(t_golden_kernel_gso), VT_T(t_segments), VT_T(t_slices_and_cuts), VT_T(t_csum))
