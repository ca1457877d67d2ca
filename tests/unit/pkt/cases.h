/* cases.h — the table machinery of the decoder unit tests: what a case
 * expects, how it is decoded (from an exact-size heap copy, so ASan fails
 * on any read past caplen) and checked field by field. Shared by
 * test_pkt.c (link layers) and test_pkt_ip.c (IPv4, IPv6, transport). */
#ifndef VT_TEST_PKT_CASES_H
#define VT_TEST_PKT_CASES_H

#include <stdlib.h>

#include "pkt/pkt.h"

#include "frames.h"
#include "vt_test.h"

struct want {
	int ret;
	enum pkt_err err;
	uint8_t ipver, proto;
	uint32_t ip_len;
	bool from_frame;
	bool l4;
	uint16_t sport, dport;
	uint8_t flags, itype, icode;
	uint8_t nvlan;
	uint16_t vlan[PKT_MAX_VLANS];
	uint8_t nmpls;
	bool frag, first;
	uint16_t frag_off;
	uint16_t etype;   /* checked when non-zero */
	uint16_t l4_off;  /* checked when non-zero */
	uint16_t l3_off;  /* checked when non-zero */
};

struct dcase {
	const char *name;
	void (*build)(struct fb *f);
	int link;
	uint32_t cut;      /* caplen when non-zero (else the whole frame) */
	uint32_t wirelen;  /* passed to pkt_decode_frame */
	struct want w;
};

/* Decodes <data>[0..caplen) from an exact-size heap copy. */
static inline int decode_exact(struct pkt_info *pi, int link, const uint8_t *data, uint32_t caplen,
			uint32_t wirelen)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	int r;

	memcpy(copy, data, caplen);
	r = pkt_decode_frame(pi, link, copy, caplen, wirelen);
	free(copy);
	return r;
}

static inline void check_want(const struct pkt_info *pi, int r, const struct want *w)
{
	static const uint8_t v4s[4] = { 198, 18, 0, 1 }, v4d[4] = { 198, 18, 0, 2 };
	static const uint8_t v6s[16] = { 0x20, 1, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t v6d[16] = { 0x20, 1, 0x0d, 0xb8, [15] = 2 };
	struct vt_addr s = { { 0 } }, d = { { 0 } };

	CHECK_EQ(r, w->ret);
	CHECK_STR(pkt_err_name(pi->err), pkt_err_name(w->err));
	CHECK_EQ(pi->ipver, w->ipver);
	CHECK_EQ(pi->proto, w->proto);
	CHECK_EQ(pi->ip_len, w->ip_len);
	CHECK_EQ(pi->ip_len_from_frame, w->from_frame);
	CHECK_EQ(pi->has_l4, w->l4);
	CHECK_EQ(pi->sport, w->sport);
	CHECK_EQ(pi->dport, w->dport);
	CHECK_EQ(pi->tcp_flags, w->flags);
	CHECK_EQ(pi->icmp_type, w->itype);
	CHECK_EQ(pi->icmp_code, w->icode);
	CHECK_EQ(pi->nvlan, w->nvlan);
	for (unsigned i = 0; i < PKT_MAX_VLANS; i++)
		CHECK_EQ(pi->vlan[i], w->vlan[i]);
	CHECK_EQ(pi->nmpls, w->nmpls);
	CHECK_EQ(pi->is_frag, w->frag);
	CHECK_EQ(pi->frag_first, w->first);
	CHECK_EQ(pi->frag_off, w->frag_off);
	if (w->etype)
		CHECK_EQ(pi->ethertype, w->etype);
	if (w->l4_off)
		CHECK_EQ(pi->l4_off, w->l4_off);
	if (w->l3_off)
		CHECK_EQ(pi->l3_off, w->l3_off);
	/* every builder uses the same addresses, TOS and TTL */
	if (w->ipver == 4) {
		addr_set_v4(&s, v4s);
		addr_set_v4(&d, v4d);
		CHECK_EQ(pi->tos, 0x10);
		CHECK_EQ(pi->ttl, 64);
	} else if (w->ipver == 6) {
		addr_set_v6(&s, v6s);
		addr_set_v6(&d, v6d);
		CHECK_EQ(pi->tos, 0xb8);
		CHECK_EQ(pi->ttl, 63);
	} else {
		CHECK_EQ(pi->tos, 0);
		CHECK_EQ(pi->ttl, 0);
	}
	CHECK_MEM(pi->src.b, s.b, 16);
	CHECK_MEM(pi->dst.b, d.b, 16);
	if (!w->l4) {
		CHECK_EQ(pi->sport, 0);
		CHECK_EQ(pi->dport, 0);
	}
	if (w->ipver == 0)
		CHECK_EQ(pi->l4_off, 0);
}

static inline void run_cases(const struct dcase *c, size_t n)
{
	const char *outer = vt_test_case;

	for (size_t i = 0; i < n; i++) {
		struct fb f = { .n = 0 };
		struct pkt_info pi;
		uint32_t caplen;
		int r;

		c[i].build(&f);
		caplen = c[i].cut ? c[i].cut : f.n;
		vt_test_case = c[i].name;
		r = decode_exact(&pi, c[i].link, f.b, caplen, c[i].wirelen);
		check_want(&pi, r, &c[i].w);
		/* pkt_decode() is pkt_decode_frame() without a wire length */
		if (!c[i].wirelen) {
			struct pkt_info p2;
			int r2 = pkt_decode(&p2, c[i].link, f.b, caplen);
			CHECK_EQ(r2, r);
			CHECK_MEM(&p2, &pi, sizeof(pi));
		}
	}
	vt_test_case = outer;
}

#define E PKT_LINK_ETHERNET

/* Frames both test files use. */
static inline void b_eth_ipv4_tcp(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 40, 0x4000, 6);
	put_tcp(f, 1234, 80, 5, 0x12);
}

static inline void b_vlan1(struct fb *f)
{
	put_eth(f, 0x8100);
	put_vlan(f, 0x2064, 0x0800); /* PCP 1, VID 100 */
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 53, 5353, 8);
}

static inline void b_mpls_pw(struct fb *f)
{
	put_eth(f, 0x8847);
	put_mpls(f, 100, 1);
	put_u32(f, 0); /* control word */
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}

#endif
