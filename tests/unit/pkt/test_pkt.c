/* Unit tests: lib/pkt/pkt.c — the packet decoder's link layers, tag and
 * label stacks, link types and names, on hand-built frames (frames.h),
 * table-driven (cases.h). IPv4, IPv6 and transport: test_pkt_ip.c. */
#include "cases.h"

/* ---- link layer and tag stacks ----------------------------------------- */

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

VT_TEST_MAIN(VT_T(t_l2), VT_T(t_links), VT_T(t_decode_l3), VT_T(t_err_names))
