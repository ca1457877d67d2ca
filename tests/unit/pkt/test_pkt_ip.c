/* Unit tests: lib/pkt/pkt.c — IPv4 (options, fragments, AH, lengths),
 * IPv6 (extension-header chains, fragments, jumbograms) and the transport
 * headers, on hand-built frames; truncation at every header boundary and
 * the extension-header bound. */
#include "cases.h"

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

VT_TEST_MAIN(VT_T(t_ipv4), VT_T(t_ipv6), VT_T(t_truncation_sweep), VT_T(t_ext_chain_bound))
