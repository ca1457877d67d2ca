/* Unit tests: lib/pkt/pkt.c — the packet decoder, layer by layer, on
 * hand-built frames (tests/unit/pkt/frames.h). Every case is decoded from
 * a heap copy of exactly caplen bytes, so ASan fails the test on any read
 * past the captured data. */
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
static int decode_exact(struct pkt_info *pi, int link, const uint8_t *data, uint32_t caplen,
			uint32_t wirelen)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	int r;

	memcpy(copy, data, caplen);
	r = pkt_decode_frame(pi, link, copy, caplen, wirelen);
	free(copy);
	return r;
}

static void check_want(const struct pkt_info *pi, int r, const struct want *w)
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

static void run_cases(const struct dcase *c, size_t n)
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

/* ---- link layer and tag stacks ----------------------------------------- */

static void b_eth_ipv4_tcp(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 40, 0x4000, 6);
	put_tcp(f, 1234, 80, 5, 0x12);
}
static void b_eth_ipv4_udp(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 53, 5353, 8);
}
static void b_eth_arp(struct fb *f)
{
	put_eth(f, 0x0806);
	put_zero(f, 28);
}
static void b_eth_llc_stp(struct fb *f)
{
	static const uint8_t llc[3] = { 0x42, 0x42, 0x03 };
	put_eth(f, 38);
	put_bytes(f, llc, 3);
	put_zero(f, 35);
}
static void b_eth_snap_ipv4(struct fb *f)
{
	static const uint8_t snap[8] = { 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00 };
	put_eth(f, 36);
	put_bytes(f, snap, 8);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}
static void b_vlan1(struct fb *f)
{
	put_eth(f, 0x8100);
	put_vlan(f, 0x2064, 0x0800); /* PCP 1, VID 100 */
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 53, 5353, 8);
}
static void b_qinq(struct fb *f)
{
	put_eth(f, 0x88a8);
	put_vlan(f, 200, 0x8100);
	put_vlan(f, 0xf00a, 0x86dd); /* PCP 7, DEI set, VID 10 */
	put_ipv6(f, 8, 17);
	put_udp(f, 4000, 4001, 8);
}
static void b_vlan4(struct fb *f)
{
	put_eth(f, 0x9100);
	put_vlan(f, 1, 0x88a8);
	put_vlan(f, 2, 0x8100);
	put_vlan(f, 3, 0x8100);
	put_vlan(f, 4, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}
static void b_vlan5(struct fb *f)
{
	put_eth(f, 0x8100);
	for (uint16_t i = 1; i <= 5; i++)
		put_vlan(f, i, i < 5 ? 0x8100 : 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}
static void b_mpls1(struct fb *f)
{
	put_eth(f, 0x8847);
	put_mpls(f, 100, 1);
	put_ipv4(f, 5, 40, 0, 6);
	put_tcp(f, 1, 2, 5, 0x10);
}
static void b_mpls3(struct fb *f)
{
	put_eth(f, 0x8847);
	put_mpls(f, 100, 0);
	put_mpls(f, 200, 0);
	put_mpls(f, 300, 1);
	put_ipv6(f, 8, 17);
	put_udp(f, 7, 9, 8);
}
static void b_mpls17(struct fb *f)
{
	put_eth(f, 0x8847);
	for (int i = 0; i < 17; i++)
		put_mpls(f, 16u + (uint32_t)i, i == 16);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}
static void b_mpls_pw(struct fb *f)
{
	put_eth(f, 0x8847);
	put_mpls(f, 100, 1);
	put_u32(f, 0); /* control word */
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}
static void b_mpls_nonip(struct fb *f)
{
	put_eth(f, 0x8847);
	put_mpls(f, 100, 1);
	put_u32(f, 0x51000000);
}
static void b_mpls_trunc(struct fb *f)
{
	put_eth(f, 0x8847);
	put_mpls(f, 100, 0);
}
static void b_pppoe(struct fb *f, uint16_t ppp)
{
	put_eth(f, 0x8864);
	put_u16(f, 0x1100);
	put_u16(f, 0x0001);
	put_u16(f, 42);
	put_u16(f, ppp);
}
static void b_pppoe_ipv4(struct fb *f)
{
	b_pppoe(f, 0x0021);
	put_ipv4(f, 5, 40, 0, 6);
	put_tcp(f, 1, 2, 5, 0x02);
}
static void b_pppoe_ipv6(struct fb *f)
{
	b_pppoe(f, 0x0057);
	put_ipv6(f, 8, 58);
	put_icmp(f, 128, 0);
}
static void b_pppoe_lcp(struct fb *f)
{
	b_pppoe(f, 0xc021);
	put_zero(f, 10);
}
static void b_vlan_pppoe(struct fb *f)
{
	put_eth(f, 0x8100);
	put_vlan(f, 7, 0x8864);
	put_u16(f, 0x1100);
	put_u16(f, 1);
	put_u16(f, 30);
	put_u16(f, 0x0021);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}

static const struct dcase l2_cases[] = {
	{ "eth_ipv4_tcp", b_eth_ipv4_tcp, E, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true, .sport = 1234, .dport = 80,
	    .flags = 0x12, .etype = 0x0800, .l3_off = 14, .l4_off = 34 } },
	{ "eth_ipv4_udp", b_eth_ipv4_udp, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 53, .dport = 5353 } },
	{ "eth_arp", b_eth_arp, E, 0, 0, { .ret = 1, .etype = 0x0806 } },
	{ "eth_llc_stp", b_eth_llc_stp, E, 0, 0, { .ret = 1, .etype = 38 } },
	{ "eth_snap_ipv4", b_eth_snap_ipv4, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2,
	    .etype = 0x0800, .l3_off = 22 } },
	{ "eth_short", b_eth_ipv4_tcp, E, 13, 0, { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "vlan1", b_vlan1, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 53, .dport = 5353,
	    .nvlan = 1, .vlan = { 100 }, .etype = 0x0800, .l3_off = 18 } },
	{ "vlan_tag_cut", b_vlan1, E, 16, 0,
	  { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "qinq_pcp_dei", b_qinq, E, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 48, .l4 = true, .sport = 4000, .dport = 4001,
	    .nvlan = 2, .vlan = { 200, 10 }, .etype = 0x86dd } },
	{ "vlan4_max", b_vlan4, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2,
	    .nvlan = 4, .vlan = { 1, 2, 3, 4 } } },
	{ "vlan5_depth", b_vlan5, E, 0, 0,
	  { .ret = -1, .err = PKT_ERR_VLAN_DEPTH, .nvlan = 4, .vlan = { 1, 2, 3, 4 } } },
	{ "mpls1", b_mpls1, E, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true, .sport = 1, .dport = 2,
	    .flags = 0x10, .nmpls = 1, .etype = 0x8847, .l3_off = 18 } },
	{ "mpls3_ipv6", b_mpls3, E, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 48, .l4 = true, .sport = 7, .dport = 9,
	    .nmpls = 3 } },
	{ "mpls17_depth", b_mpls17, E, 0, 0,
	  { .ret = -1, .err = PKT_ERR_VLAN_DEPTH, .nmpls = PKT_MAX_MPLS } },
	{ "mpls_pw_eth", b_mpls_pw, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2,
	    .nmpls = 1, .etype = 0x8847, .l3_off = 36 } },
	{ "mpls_nonip", b_mpls_nonip, E, 0, 0, { .ret = 1, .nmpls = 1 } },
	{ "mpls_no_bos", b_mpls_trunc, E, 0, 0,
	  { .ret = -1, .err = PKT_ERR_L2_TRUNC, .nmpls = 1 } },
	{ "pppoe_ipv4", b_pppoe_ipv4, E, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true, .sport = 1, .dport = 2,
	    .flags = 0x02, .etype = 0x8864, .l3_off = 22 } },
	{ "pppoe_ipv6", b_pppoe_ipv6, E, 0, 0,
	  { .ipver = 6, .proto = 58, .ip_len = 48, .l4 = true, .itype = 128 } },
	{ "pppoe_lcp", b_pppoe_lcp, E, 0, 0, { .ret = 1, .etype = 0x8864 } },
	{ "pppoe_cut", b_pppoe_ipv4, E, 20, 0, { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "vlan_pppoe", b_vlan_pppoe, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2,
	    .nvlan = 1, .vlan = { 7 }, .etype = 0x8864 } },
};

static void t_l2(void)
{
	run_cases(l2_cases, ARRAY_SIZE(l2_cases));
}

/* ---- IPv4 ----------------------------------------------------------------- */

static void b_v4_ihl4(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 4, 40, 0, 6);
	put_zero(f, 20);
}
static void b_v4_version6(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv6(f, 0, 59);
}
static void b_v4_totlen_small(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 10, 0, 6);
	put_zero(f, 20);
}
static void b_v4_tso(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 0, 0x4000, 6);
	put_tcp(f, 5000, 443, 5, 0x18);
	put_zero(f, 100);
}
static void b_v4_options(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 6, 44, 0, 6);
	put_tcp(f, 22, 50000, 5, 0x10);
}
static void b_v4_opts_cut(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 15, 80, 0, 6);
	put_tcp(f, 1, 2, 5, 0x10);
}
static void b_v4_frag_first(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 44, 0x2000, 17);
	put_udp(f, 5000, 53, 3000); /* the whole datagram's length */
	put_zero(f, 16);
}
static void b_v4_frag_later(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 60, 185, 17); /* offset 1480, last */
	put_zero(f, 40);
}
static void b_v4_udp_len4(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 4);
}
static void b_v4_udp_len_long(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 100);
}
static void b_v4_tcp_doff4(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 40, 0, 6);
	put_tcp(f, 80, 81, 4, 0x04);
}
static void b_v4_tcp_doff15(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 40, 0, 6);
	put_tcp(f, 80, 81, 5, 0x11);
	f->b[14 + 20 + 12] = 0xf0;
}
static void b_v4_icmp(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 1);
	put_icmp(f, 3, 13);
}
static void b_v4_sctp(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 32, 0, 132);
	put_u16(f, 2905);
	put_u16(f, 2906);
	put_zero(f, 8);
}
static void b_v4_dccp(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 36, 0, 33);
	put_u16(f, 5001);
	put_u16(f, 5002);
	put_zero(f, 12);
}
static void b_v4_ah(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 20 + 24 + 20, 0, 51);
	put_ah(f, 6, 4);
	put_tcp(f, 443, 1024, 5, 0x12);
}
static void b_v4_padded(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
	put_zero(f, 18); /* Ethernet minimum frame padding */
}
static void b_v4_l4_in_padding(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 24, 0, 17); /* 4 bytes of UDP per the header */
	put_udp(f, 1, 2, 8);
	put_zero(f, 14);
}
static void b_v4_big(struct fb *f)
{
	put_eth(f, 0x0800);
	put_ipv4(f, 5, 1500, 0x4000, 6);
	put_tcp(f, 1, 2, 8, 0x18); /* 12 bytes of options */
	put_zero(f, 100);
}

static const struct dcase v4_cases[] = {
	{ "ihl4", b_v4_ihl4, E, 0, 0, { .ret = -1, .err = PKT_ERR_IPV4_IHL } },
	{ "version6_in_0800", b_v4_version6, E, 0, 0, { .ret = -1, .err = PKT_ERR_IPV4_VERSION } },
	{ "version_short", b_v4_version6, E, 15, 0, { .ret = -1, .err = PKT_ERR_IPV4_VERSION } },
	{ "totlen_below_ihl", b_v4_totlen_small, E, 0, 0, { .ret = -1, .err = PKT_ERR_IPV4_LEN } },
	{ "hdr_cut", b_eth_ipv4_tcp, E, 33, 0, { .ret = -1, .err = PKT_ERR_IPV4_TRUNC } },
	{ "tso_totlen0", b_v4_tso, E, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 140, .from_frame = true, .l4 = true,
	    .sport = 5000, .dport = 443, .flags = 0x18 } },
	{ "tso_totlen0_wirelen", b_v4_tso, E, 54, 1514,
	  { .ipver = 4, .proto = 6, .ip_len = 1500, .from_frame = true, .l4 = true,
	    .sport = 5000, .dport = 443, .flags = 0x18 } },
	{ "options", b_v4_options, E, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 44, .l4 = true, .sport = 22, .dport = 50000,
	    .flags = 0x10, .l4_off = 38 } },
	{ "options_cut", b_v4_opts_cut, E, 14 + 30, 0,
	  { .err = PKT_ERR_IPV4_TRUNC, .ipver = 4, .proto = 6, .ip_len = 80 } },
	{ "frag_first", b_v4_frag_first, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 44, .l4 = true, .sport = 5000, .dport = 53,
	    .frag = true, .first = true } },
	{ "frag_later", b_v4_frag_later, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 60, .frag = true, .frag_off = 1480 } },
	{ "udp_len_below_8", b_v4_udp_len4, E, 0, 0,
	  { .err = PKT_ERR_UDP_LEN, .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true,
	    .sport = 1, .dport = 2 } },
	{ "udp_len_beyond_ip", b_v4_udp_len_long, E, 0, 0,
	  { .err = PKT_ERR_UDP_LEN, .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true,
	    .sport = 1, .dport = 2 } },
	{ "tcp_doff4", b_v4_tcp_doff4, E, 0, 0,
	  { .err = PKT_ERR_TCP_DOFF, .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true,
	    .sport = 80, .dport = 81, .flags = 0x04 } },
	{ "tcp_doff_beyond_ip", b_v4_tcp_doff15, E, 0, 0,
	  { .err = PKT_ERR_TCP_DOFF, .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true,
	    .sport = 80, .dport = 81, .flags = 0x11 } },
	{ "tcp_cut_16", b_eth_ipv4_tcp, E, 34 + 16, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true,
	    .sport = 1234, .dport = 80, .flags = 0x12 } },
	{ "tcp_cut_10", b_eth_ipv4_tcp, E, 34 + 10, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true,
	    .sport = 1234, .dport = 80 } },
	{ "tcp_cut_3", b_eth_ipv4_tcp, E, 34 + 3, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 6, .ip_len = 40 } },
	{ "icmp", b_v4_icmp, E, 0, 0,
	  { .ipver = 4, .proto = 1, .ip_len = 28, .l4 = true, .itype = 3, .icode = 13 } },
	{ "icmp_cut_2", b_v4_icmp, E, 34 + 2, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 1, .ip_len = 28, .l4 = true,
	    .itype = 3, .icode = 13 } },
	{ "sctp", b_v4_sctp, E, 0, 0,
	  { .ipver = 4, .proto = 132, .ip_len = 32, .l4 = true, .sport = 2905, .dport = 2906 } },
	{ "dccp", b_v4_dccp, E, 0, 0,
	  { .ipver = 4, .proto = 33, .ip_len = 36, .l4 = true, .sport = 5001, .dport = 5002 } },
	{ "ah_then_tcp", b_v4_ah, E, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 64, .l4 = true, .sport = 443, .dport = 1024,
	    .flags = 0x12, .l4_off = 14 + 20 + 24 } },
	{ "ah_cut", b_v4_ah, E, 14 + 20 + 10, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 51, .ip_len = 64 } },
	{ "ethernet_padding", b_v4_padded, E, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "l4_in_padding", b_v4_l4_in_padding, E, 0, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 17, .ip_len = 24, .l4 = true,
	    .sport = 1, .dport = 2 } },
	/* ip_len rules: snapped frames keep the header's length; a length
	 * beyond the wire frame is clamped to it and flagged */
	{ "snapped", b_v4_big, E, 80, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 1500, .l4 = true, .sport = 1, .dport = 2,
	    .flags = 0x18 } },
	{ "snapped_wirelen_ok", b_v4_big, E, 80, 1514,
	  { .ipver = 4, .proto = 6, .ip_len = 1500, .l4 = true, .sport = 1, .dport = 2,
	    .flags = 0x18 } },
	{ "len_beyond_wire", b_v4_big, E, 0, 14 + 20 + 32 + 100,
	  { .err = PKT_ERR_IP_WIRELEN, .ipver = 4, .proto = 6, .ip_len = 152, .l4 = true,
	    .sport = 1, .dport = 2, .flags = 0x18 } },
};

static void t_ipv4(void)
{
	run_cases(v4_cases, ARRAY_SIZE(v4_cases));
}

/* ---- IPv6 ----------------------------------------------------------------- */

static void b_v6_tcp(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 20, 6);
	put_tcp(f, 1111, 443, 5, 0x02);
}
static void b_v6_chain(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 8 + 24 + 16 + 20, 0);
	put_ext(f, 43, 0);
	put_ext(f, 60, 2);  /* routing, 24 bytes */
	put_ext(f, 6, 1);   /* destination options, 16 bytes */
	put_tcp(f, 1, 2, 5, 0x01);
}
static void b_v6_frag_first(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 8 + 8 + 16, 44);
	put_frag6(f, 17, 0, 1, 0xabcdef01);
	put_udp(f, 53, 5353, 3000);
	put_zero(f, 16);
}
static void b_v6_frag_later(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 8 + 32, 44);
	put_frag6(f, 17, 1448, 1, 0xabcdef01);
	put_zero(f, 32);
}
static void b_v6_atomic(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 8 + 20, 44);
	put_frag6(f, 6, 0, 0, 7);
	put_tcp(f, 80, 8080, 5, 0x10);
}
static void b_v6_ah(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 24 + 8, 51);
	put_ah(f, 17, 4);
	put_udp(f, 500, 4500, 8);
}
static void b_v6_esp(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 24, 50);
	put_zero(f, 24);
}
static void b_v6_nonext(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 0, 59);
}
static void b_v6_ext_beyond_plen(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 16, 60);
	put_ext(f, 6, 10); /* 88 bytes claimed by a 16-byte payload */
}
static void b_v6_jumbo(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 0, 0);
	put_hbh_jumbo(f, 17, 70000);
	put_udp(f, 9, 10, 0);
	put_zero(f, 32);
}
static void b_v6_jumbo_plen(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 16, 0);
	put_hbh_jumbo(f, 17, 70000);
	put_udp(f, 9, 10, 8);
}
static void b_v6_jumbo_small(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 0, 0);
	put_hbh_jumbo(f, 17, 1000);
	put_udp(f, 9, 10, 992);
}
static void b_v6_jumbo_frag(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 0, 0);
	put_hbh_jumbo(f, 44, 70000);
	put_frag6(f, 17, 0, 1, 1);
	put_udp(f, 9, 10, 0);
}
static void b_v6_jumbo_optlen(struct fb *f)
{
	b_v6_jumbo(f);
	f->b[14 + 40 + 3] = 3; /* the option says 3 bytes */
}
static void b_v6_plen0(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 0, 6);
	put_tcp(f, 1, 2, 5, 0x18);
	put_zero(f, 60);
}
static void b_v6_version4(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv4(f, 5, 60, 0, 6);
	put_zero(f, 40);
}
static void b_v6_icmp(struct fb *f)
{
	put_eth(f, 0x86dd);
	put_ipv6(f, 8, 58);
	put_icmp(f, 2, 0);
}

static const struct dcase v6_cases[] = {
	{ "tcp", b_v6_tcp, E, 0, 0,
	  { .ipver = 6, .proto = 6, .ip_len = 60, .l4 = true, .sport = 1111, .dport = 443,
	    .flags = 0x02, .l4_off = 54 } },
	{ "icmpv6_too_big", b_v6_icmp, E, 0, 0,
	  { .ipver = 6, .proto = 58, .ip_len = 48, .l4 = true, .itype = 2 } },
	{ "hbh_routing_dstopts", b_v6_chain, E, 0, 0,
	  { .ipver = 6, .proto = 6, .ip_len = 108, .l4 = true, .sport = 1, .dport = 2,
	    .flags = 0x01, .l4_off = 14 + 40 + 48 } },
	{ "chain_cut_in_routing", b_v6_chain, E, 14 + 40 + 8 + 10, 0,
	  { .err = PKT_ERR_IPV6_EXT, .ipver = 6, .proto = 43, .ip_len = 108 } },
	{ "frag_first", b_v6_frag_first, E, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 72, .l4 = true, .sport = 53, .dport = 5353,
	    .frag = true, .first = true } },
	{ "frag_later", b_v6_frag_later, E, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 80, .frag = true, .frag_off = 1448 } },
	{ "atomic_fragment", b_v6_atomic, E, 0, 0,
	  { .ipver = 6, .proto = 6, .ip_len = 68, .l4 = true, .sport = 80, .dport = 8080,
	    .flags = 0x10 } },
	{ "ah_skipped", b_v6_ah, E, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 72, .l4 = true, .sport = 500, .dport = 4500 } },
	{ "esp_ends_walk", b_v6_esp, E, 0, 0, { .ipver = 6, .proto = 50, .ip_len = 64 } },
	{ "no_next_header", b_v6_nonext, E, 0, 0, { .ipver = 6, .proto = 59, .ip_len = 40 } },
	{ "ext_beyond_plen", b_v6_ext_beyond_plen, E, 0, 0,
	  { .err = PKT_ERR_IPV6_EXT, .ipver = 6, .proto = 60, .ip_len = 56 } },
	{ "jumbo", b_v6_jumbo, E, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 70040, .l4 = true, .sport = 9, .dport = 10 } },
	{ "jumbo_beyond_wire", b_v6_jumbo, E, 0, 14 + 40 + 8 + 8 + 32,
	  { .err = PKT_ERR_IP_WIRELEN, .ipver = 6, .proto = 17, .ip_len = 88, .l4 = true,
	    .sport = 9, .dport = 10 } },
	{ "jumbo_with_plen", b_v6_jumbo_plen, E, 0, 0,
	  { .err = PKT_ERR_IPV6_JUMBO, .ipver = 6, .proto = 17, .ip_len = 56, .l4 = true,
	    .sport = 9, .dport = 10 } },
	{ "jumbo_below_64k", b_v6_jumbo_small, E, 0, 0,
	  { .err = PKT_ERR_IPV6_JUMBO, .ipver = 6, .proto = 17, .ip_len = 1040, .l4 = true,
	    .sport = 9, .dport = 10, .etype = 0x86dd } },
	{ "jumbo_and_fragment", b_v6_jumbo_frag, E, 0, 0,
	  { .err = PKT_ERR_IPV6_JUMBO, .ipver = 6, .proto = 17, .ip_len = 70040, .l4 = true,
	    .sport = 9, .dport = 10, .frag = true, .first = true } },
	{ "jumbo_option_len3", b_v6_jumbo_optlen, E, 0, 0,
	  { .err = PKT_ERR_IPV6_JUMBO, .ipver = 6, .proto = 17, .ip_len = 88, .from_frame = true,
	    .l4 = true, .sport = 9, .dport = 10 } },
	{ "plen0_big_tcp", b_v6_plen0, E, 0, 0,
	  { .ipver = 6, .proto = 6, .ip_len = 120, .from_frame = true, .l4 = true, .sport = 1,
	    .dport = 2, .flags = 0x18 } },
	{ "version4_in_86dd", b_v6_version4, E, 0, 0, { .ret = -1, .err = PKT_ERR_IPV6_VERSION } },
	{ "hdr_cut", b_v6_tcp, E, 14 + 39, 0, { .ret = -1, .err = PKT_ERR_IPV6_TRUNC } },
};

static void t_ipv6(void)
{
	run_cases(v6_cases, ARRAY_SIZE(v6_cases));
}

/* ---- other link types ------------------------------------------------------- */

static void b_sll(struct fb *f, uint16_t hatype, uint16_t proto)
{
	static const uint8_t mac[8] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0 };
	put_u16(f, 0);      /* to us */
	put_u16(f, hatype);
	put_u16(f, 6);
	put_bytes(f, mac, 8);
	put_u16(f, proto);
}
static void b_sll_ipv4(struct fb *f)
{
	b_sll(f, 1, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 67, 68, 8);
}
static void b_sll_netlink(struct fb *f)
{
	b_sll(f, 824, 0x0000);
	put_zero(f, 20);
}
static void b_sll_vlan(struct fb *f)
{
	b_sll(f, 1, 0x8100);
	put_vlan(f, 33, 0x0800);
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 67, 68, 8);
}
static void b_sll2_ipv6(struct fb *f)
{
	static const uint8_t mac[8] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0 };
	put_u16(f, 0x86dd);
	put_u16(f, 0);
	put_u32(f, 3);      /* ifindex */
	put_u16(f, 1);      /* ARPHRD_ETHER */
	put_u16(f, 0x0406); /* outgoing, 6-byte address */
	put_bytes(f, mac, 8);
	put_ipv6(f, 20, 6);
	put_tcp(f, 1, 2, 5, 0x02);
}
static void b_null(struct fb *f, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3, int v6)
{
	uint8_t h[4] = { b0, b1, b2, b3 };
	put_bytes(f, h, 4);
	if (v6) {
		put_ipv6(f, 8, 17);
	} else {
		put_ipv4(f, 5, 28, 0, 17);
	}
	put_udp(f, 1, 2, 8);
}
static void b_null_le4(struct fb *f) { b_null(f, 2, 0, 0, 0, 0); }
static void b_null_be4(struct fb *f) { b_null(f, 0, 0, 0, 2, 0); }
static void b_null_v6_darwin(struct fb *f) { b_null(f, 30, 0, 0, 0, 1); }
static void b_null_v6_bsd_be(struct fb *f) { b_null(f, 0, 0, 0, 24, 1); }
static void b_null_etype(struct fb *f) { b_null(f, 0x0f, 0, 0x08, 0, 0); }
static void b_null_af7(struct fb *f) { b_null(f, 7, 0, 0, 0, 0); }
static void b_loop4(struct fb *f) { b_null(f, 0, 0, 0, 2, 0); }
static void b_loop_le(struct fb *f) { b_null(f, 2, 0, 0, 0, 0); }
static void b_raw4(struct fb *f)
{
	put_ipv4(f, 5, 28, 0, 17);
	put_udp(f, 1, 2, 8);
}
static void b_raw6(struct fb *f)
{
	put_ipv6(f, 8, 17);
	put_udp(f, 1, 2, 8);
}
static void b_raw_bad(struct fb *f)
{
	put_u32(f, 0x55000000);
	put_zero(f, 30);
}
/* NFLOG: family, version, resource id, then TLVs (little-endian here). */
static void tlv(struct fb *f, bool be, uint16_t len, uint16_t type)
{
	if (be) {
		put_u16(f, len);
		put_u16(f, type);
	} else {
		uint8_t h[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)type,
				 (uint8_t)(type >> 8) };
		put_bytes(f, h, 4);
	}
}
static void b_nflog(struct fb *f, bool be, uint16_t hdr_len)
{
	static const uint8_t h[4] = { 2, 0, 0, 42 };
	put_bytes(f, h, 4);
	tlv(f, be, hdr_len, 1);      /* NFULA_PACKET_HDR */
	put_zero(f, 4);
	tlv(f, be, 7, 10);           /* NFULA_PREFIX "ab\0", padded */
	put_bytes(f, "ab\0", 4);
	tlv(f, be, 4 + 40, 9);       /* NFULA_PAYLOAD */
	put_ipv4(f, 5, 40, 0, 6);
	put_tcp(f, 49762, 80, 5, 0x02);
}
static void b_nflog_le(struct fb *f) { b_nflog(f, false, 8); }
static void b_nflog_be(struct fb *f) { b_nflog(f, true, 8); }
static void b_nflog_badtlv(struct fb *f) { b_nflog(f, false, 2); }
static void b_nflog_nopayload(struct fb *f)
{
	static const uint8_t h[4] = { 2, 0, 0, 42 };
	put_bytes(f, h, 4);
	tlv(f, false, 8, 1);
	put_zero(f, 4);
}

static const struct dcase link_cases[] = {
	{ "sll_ipv4", b_sll_ipv4, PKT_LINK_LINUX_SLL, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 67, .dport = 68,
	    .etype = 0x0800, .l3_off = 16 } },
	{ "sll_netlink", b_sll_netlink, PKT_LINK_LINUX_SLL, 0, 0, { .ret = 1 } },
	{ "sll_vlan", b_sll_vlan, PKT_LINK_LINUX_SLL, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 67, .dport = 68,
	    .nvlan = 1, .vlan = { 33 }, .l3_off = 20 } },
	{ "sll_short", b_sll_ipv4, PKT_LINK_LINUX_SLL, 15, 0,
	  { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "sll2_ipv6", b_sll2_ipv6, PKT_LINK_LINUX_SLL2, 0, 0,
	  { .ipver = 6, .proto = 6, .ip_len = 60, .l4 = true, .sport = 1, .dport = 2,
	    .flags = 0x02, .l3_off = 20 } },
	{ "sll2_short", b_sll2_ipv6, PKT_LINK_LINUX_SLL2, 19, 0,
	  { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "null_le_inet", b_null_le4, PKT_LINK_NULL, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "null_be_inet", b_null_be4, PKT_LINK_NULL, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "null_inet6_darwin", b_null_v6_darwin, PKT_LINK_NULL, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 48, .l4 = true, .sport = 1, .dport = 2 } },
	{ "null_inet6_bsd_be", b_null_v6_bsd_be, PKT_LINK_NULL, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 48, .l4 = true, .sport = 1, .dport = 2 } },
	{ "null_ethertype", b_null_etype, PKT_LINK_NULL, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "null_unknown_af", b_null_af7, PKT_LINK_NULL, 0, 0, { .ret = 1 } },
	{ "null_short", b_null_le4, PKT_LINK_NULL, 3, 0, { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "loop_inet", b_loop4, PKT_LINK_LOOP, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "loop_is_network_order", b_loop_le, PKT_LINK_LOOP, 0, 0, { .ret = 1 } },
	{ "raw_ipv4", b_raw4, PKT_LINK_RAW, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "raw_ipv6", b_raw6, PKT_LINK_RAW, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 48, .l4 = true, .sport = 1, .dport = 2 } },
	{ "raw_dlt12", b_raw4, PKT_LINK_RAW_BSD, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "raw_bad_version", b_raw_bad, PKT_LINK_RAW, 0, 0,
	  { .ret = -1, .err = PKT_ERR_IP_VERSION } },
	{ "link_ipv4", b_raw4, PKT_LINK_IPV4, 0, 0,
	  { .ipver = 4, .proto = 17, .ip_len = 28, .l4 = true, .sport = 1, .dport = 2 } },
	{ "link_ipv4_given_v6", b_raw6, PKT_LINK_IPV4, 0, 0,
	  { .ret = -1, .err = PKT_ERR_IPV4_VERSION } },
	{ "link_ipv6", b_raw6, PKT_LINK_IPV6, 0, 0,
	  { .ipver = 6, .proto = 17, .ip_len = 48, .l4 = true, .sport = 1, .dport = 2 } },
	{ "nflog_le", b_nflog_le, PKT_LINK_NFLOG, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true, .sport = 49762, .dport = 80,
	    .flags = 0x02, .l3_off = 24 } },
	{ "nflog_be", b_nflog_be, PKT_LINK_NFLOG, 0, 0,
	  { .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true, .sport = 49762, .dport = 80,
	    .flags = 0x02, .l3_off = 24 } },
	{ "nflog_snapped_payload", b_nflog_le, PKT_LINK_NFLOG, 24 + 30, 0,
	  { .err = PKT_ERR_L4_TRUNC, .ipver = 4, .proto = 6, .ip_len = 40, .l4 = true,
	    .sport = 49762, .dport = 80 } },
	{ "nflog_bad_tlv_len", b_nflog_badtlv, PKT_LINK_NFLOG, 0, 0,
	  { .ret = -1, .err = PKT_ERR_L2_BAD } },
	{ "nflog_no_payload", b_nflog_nopayload, PKT_LINK_NFLOG, 0, 0, { .ret = 1 } },
	{ "nflog_tlv_cut", b_nflog_le, PKT_LINK_NFLOG, 14, 0,
	  { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "nflog_first_tlv_cut", b_nflog_le, PKT_LINK_NFLOG, 10, 0,
	  { .ret = -1, .err = PKT_ERR_L2_TRUNC } },
	{ "nflog_cut_at_tlv_end", b_nflog_le, PKT_LINK_NFLOG, 12, 0, { .ret = 1 } },
	{ "nflog_cut_payload_hdr", b_nflog_le, PKT_LINK_NFLOG, 24, 0,
	  { .ret = -1, .err = PKT_ERR_IPV4_TRUNC } },
	{ "unsupported_link", b_raw4, 147, 0, 0, { .ret = -1, .err = PKT_ERR_LINK_UNSUPPORTED } },
};

static void t_links(void)
{
	struct pkt_info pi;
	uint8_t one = 0x45;

	run_cases(link_cases, ARRAY_SIZE(link_cases));
	/* a cut of 0 means "whole frame" in the tables: empty frames here */
	CHECK_EQ(pkt_decode(&pi, PKT_LINK_RAW, &one, 0), -1);
	CHECK_EQ(pi.err, PKT_ERR_L2_TRUNC);
	CHECK_EQ(pkt_decode(&pi, PKT_LINK_RAW, &one, 1), -1);
	CHECK_EQ(pi.err, PKT_ERR_IPV4_TRUNC);
	CHECK_EQ(pkt_decode(&pi, PKT_LINK_ETHERNET, &one, 0), -1);
	CHECK_EQ(pi.err, PKT_ERR_L2_TRUNC);
	/* SLL source MAC */
	{
		struct fb f = { .n = 0 };
		static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
		b_sll_ipv4(&f);
		CHECK_EQ(pkt_decode(&pi, PKT_LINK_LINUX_SLL, f.b, f.n), 0);
		CHECK(pi.has_eth);
		CHECK_MEM(pi.src_mac, mac, 6);
	}
	/* Ethernet MACs */
	{
		struct fb f = { .n = 0 };
		static const uint8_t d[6] = { 2, 0, 0, 0, 0, 2 }, s[6] = { 2, 0, 0, 0, 0, 1 };
		b_eth_arp(&f);
		CHECK_EQ(pkt_decode(&pi, PKT_LINK_ETHERNET, f.b, f.n), 1);
		CHECK(pi.has_eth);
		CHECK_MEM(pi.dst_mac, d, 6);
		CHECK_MEM(pi.src_mac, s, 6);
	}
}

/* ---- cross-cutting properties -------------------------------------------- */

/* Cutting a frame at every length gives the reason of the layer the cut
 * falls in, and never reads past it (exact-size heap copies). */
static void t_truncation_sweep(void)
{
	struct {
		void (*build)(struct fb *f);
		int link;
		/* boundaries: caplen < b[i] gives err[i] (and ret[i]) */
		uint32_t b[6];
		enum pkt_err err[6];
		int ret[6];
	} sw[] = {
		{ b_vlan1, E, { 14, 18, 38, 42, 46, 0 },
		  { PKT_ERR_L2_TRUNC, PKT_ERR_L2_TRUNC, PKT_ERR_IPV4_TRUNC, PKT_ERR_L4_TRUNC,
		    PKT_ERR_L4_TRUNC },
		  { -1, -1, -1, 0, 0 } },
		{ b_v6_chain, E, { 14, 54, 62, 86, 102, 122 },
		  { PKT_ERR_L2_TRUNC, PKT_ERR_IPV6_TRUNC, PKT_ERR_IPV6_EXT, PKT_ERR_IPV6_EXT,
		    PKT_ERR_IPV6_EXT, PKT_ERR_L4_TRUNC },
		  { -1, -1, 0, 0, 0, 0 } },
		{ b_v4_ah, E, { 14, 34, 58, 78, 0 },
		  { PKT_ERR_L2_TRUNC, PKT_ERR_IPV4_TRUNC, PKT_ERR_L4_TRUNC, PKT_ERR_L4_TRUNC },
		  { -1, -1, 0, 0 } },
		{ b_mpls_pw, E, { 14, 18, 36, 56, 64, 0 },
		  { PKT_ERR_L2_TRUNC, PKT_ERR_L2_TRUNC, PKT_ERR_L2_TRUNC, PKT_ERR_IPV4_TRUNC,
		    PKT_ERR_L4_TRUNC },
		  { -1, -1, -1, -1, 0 } },
	};

	for (size_t s = 0; s < sizeof(sw) / sizeof(sw[0]); s++) {
		struct fb f = { .n = 0 };

		sw[s].build(&f);
		for (uint32_t cut = 0; cut <= f.n; cut++) {
			struct pkt_info pi;
			size_t k = 0;
			int r = decode_exact(&pi, sw[s].link, f.b, cut, 0);

			while (k < 6 && sw[s].b[k] && cut >= sw[s].b[k])
				k++;
			if (k < 6 && sw[s].b[k]) {
				CHECK_EQ(pi.err, sw[s].err[k]);
				CHECK_EQ(r, sw[s].ret[k]);
			} else {
				CHECK_EQ(pi.err, PKT_OK);
				CHECK_EQ(r, 0);
			}
			CHECK(pi.payload_off <= cut);
			CHECK(pi.l4_off <= cut);
		}
	}
}

/* The extension-header walk stops at PKT_MAX_IPV6_EXT headers, however
 * long the chain (a chain can be a loop of 8-byte headers in a jumbogram). */
static void t_ext_chain_bound(void)
{
	for (unsigned n = PKT_MAX_IPV6_EXT - 1; n <= PKT_MAX_IPV6_EXT + 1; n++) {
		struct fb f = { .n = 0 };
		struct pkt_info pi;

		put_eth(&f, 0x86dd);
		put_ipv6(&f, (uint16_t)(n * 8 + 8), 60);
		for (unsigned i = 0; i < n; i++)
			put_ext(&f, i + 1 < n ? 60 : 17, 0);
		put_udp(&f, 1, 2, 8);
		CHECK_EQ(decode_exact(&pi, E, f.b, f.n, 0), 0);
		if (n <= PKT_MAX_IPV6_EXT) {
			CHECK_EQ(pi.err, PKT_OK);
			CHECK_EQ(pi.proto, 17);
			CHECK(pi.has_l4);
		} else {
			CHECK_EQ(pi.err, PKT_ERR_IPV6_EXT);
			CHECK_EQ(pi.proto, 60);
			CHECK(!pi.has_l4);
		}
	}
}

static void t_decode_l3(void)
{
	struct fb f = { .n = 0 };
	struct pkt_info pi;

	b_raw6(&f);
	CHECK_EQ(pkt_decode_l3(&pi, f.b, f.n), 0);
	CHECK_EQ(pi.ipver, 6);
	CHECK_EQ(pi.dport, 2);
	f.b[0] = 0x20;
	CHECK_EQ(pkt_decode_l3(&pi, f.b, f.n), -1);
	CHECK_EQ(pi.err, PKT_ERR_IP_VERSION);
}

static void t_err_names(void)
{
	for (int i = 0; i < PKT_ERR__COUNT; i++) {
		const char *n = pkt_err_name((enum pkt_err)i);
		CHECK(n && *n && strcmp(n, "unknown") != 0);
		for (const char *p = n; *p; p++)
			CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
		for (int j = 0; j < i; j++)
			CHECK(strcmp(n, pkt_err_name((enum pkt_err)j)) != 0);
	}
	/* names are API: counters in exports and dashboards use them */
	CHECK_STR(pkt_err_name(PKT_OK), "ok");
	CHECK_STR(pkt_err_name(PKT_ERR_IPV4_IHL), "ipv4_ihl");
	CHECK_STR(pkt_err_name(PKT_ERR_IPV6_EXT), "ipv6_ext");
	CHECK_STR(pkt_err_name(PKT_ERR_UDP_LEN), "udp_len");
	CHECK_STR(pkt_err_name((enum pkt_err)PKT_ERR__COUNT), "unknown");
	CHECK_STR(pkt_link_name(PKT_LINK_LINUX_SLL2), "linux_sll2");
	CHECK(pkt_link_name(147) == NULL);
}

VT_TEST_MAIN(VT_T(t_l2), VT_T(t_ipv4), VT_T(t_ipv6), VT_T(t_links),
	     VT_T(t_truncation_sweep), VT_T(t_ext_chain_bound), VT_T(t_decode_l3),
	     VT_T(t_err_names))
