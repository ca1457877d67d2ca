/* Unit tests: lib/wire/sflow_dec — hand-built sFlow v5 datagrams: compact
 * and expanded flow samples with sampled headers (VLAN, QinQ, VXLAN, raw
 * IPv4, non-IP), data records without a header, extended switch / router
 * / gateway records, counter samples and their bound, malformed lengths,
 * sequence numbers. */
#include "wire/sflow_dec.h"

#include "fd_test.h"
#include "vt_test.h"

#define NOW 1700000000123ull

static struct vt_addr EXP;

struct sf {
	uint8_t b[4096];
	struct vt_wr w;
	uint8_t *nsamples, *sample_len, *nrec, *rec_len;
	uint8_t *sample_start, *rec_start;
	uint32_t samples, recs;
};

static void sf_begin(struct sf *s, uint32_t sub_agent, uint32_t seq)
{
	s->w = wr_init(s->b, sizeof(s->b));
	wr_u32(&s->w, 5);
	wr_u32(&s->w, 1);
	wr_u32(&s->w, 0xc0000201);      /* agent 192.0.2.1 */
	wr_u32(&s->w, sub_agent);
	wr_u32(&s->w, seq);
	wr_u32(&s->w, 123456);
	s->nsamples = wr_reserve(&s->w, 4);
	s->samples = 0;
}

/* A compact (1) or expanded (3) flow sample header. */
static void sf_flow(struct sf *s, bool expanded, uint32_t rate, uint32_t in, uint32_t out)
{
	wr_u32(&s->w, expanded ? 3 : 1);
	s->sample_len = wr_reserve(&s->w, 4);
	s->sample_start = s->w.p;
	wr_u32(&s->w, 77);              /* sequence */
	if (expanded) {
		wr_u32(&s->w, 0);
		wr_u32(&s->w, 5);
	} else {
		wr_u32(&s->w, 5);
	}
	wr_u32(&s->w, rate);
	wr_u32(&s->w, 1000);            /* pool */
	wr_u32(&s->w, 0);               /* drops */
	if (expanded) {
		wr_u32(&s->w, in >> 30);
		wr_u32(&s->w, in & 0x3fffffff);
		wr_u32(&s->w, out >> 30);
		wr_u32(&s->w, out & 0x3fffffff);
	} else {
		wr_u32(&s->w, in);
		wr_u32(&s->w, out);
	}
	s->nrec = wr_reserve(&s->w, 4);
	s->recs = 0;
	s->samples++;
}

static void sf_rec(struct sf *s, uint32_t fmt)
{
	wr_u32(&s->w, fmt);
	s->rec_len = wr_reserve(&s->w, 4);
	s->rec_start = s->w.p;
	s->recs++;
}

static void sf_rec_end(struct sf *s)
{
	while ((s->w.p - s->rec_start) % 4)
		wr_u8(&s->w, 0);
	st_be32(s->rec_len, (uint32_t)(s->w.p - s->rec_start));
}

static void sf_sample_end(struct sf *s)
{
	st_be32(s->nrec, s->recs);
	st_be32(s->sample_len, (uint32_t)(s->w.p - s->sample_start));
}

static size_t sf_end(struct sf *s)
{
	st_be32(s->nsamples, s->samples);
	return wr_len(&s->w);
}

/* A raw-header record: Ethernet, <ntags> 802.1Q tags, IPv4 TCP. */
static void hdr_eth_tcp(struct sf *s, int ntags)
{
	uint8_t f[128];
	struct vt_wr w = wr_init(f, sizeof(f));
	static const uint8_t dmac[6] = { 2, 0, 0, 0, 0, 0xd }, smac[6] = { 2, 0, 0, 0, 0, 0x5 };

	wr_bytes(&w, dmac, 6);
	wr_bytes(&w, smac, 6);
	for (int i = 0; i < ntags; i++) {
		wr_u16(&w, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
		wr_u16(&w, (uint16_t)(100 + i));
	}
	wr_u16(&w, 0x0800);
	wr_u8(&w, 0x45);
	wr_u8(&w, 0x28);                /* ToS */
	wr_u16(&w, 1500);               /* total length */
	wr_u32(&w, 0);
	wr_u8(&w, 64);
	wr_u8(&w, 6);
	wr_u16(&w, 0);
	wr_u32(&w, 0x0a000001);
	wr_u32(&w, 0x0a000002);
	wr_u16(&w, 33000);
	wr_u16(&w, 443);
	wr_u32(&w, 1);
	wr_u32(&w, 0);
	wr_u8(&w, 0x50);
	wr_u8(&w, 0x18);                /* PSH ACK */
	wr_u16(&w, 1000);
	wr_u32(&w, 0);
	sf_rec(s, 1);
	wr_u32(&s->w, 1);               /* Ethernet */
	wr_u32(&s->w, (uint32_t)(14 + 4 * ntags + 1500 + 4));   /* frame length */
	wr_u32(&s->w, 4);               /* stripped (FCS) */
	wr_u32(&s->w, (uint32_t)wr_len(&w));
	wr_bytes(&s->w, f, wr_len(&w));
	sf_rec_end(s);
}

static void t_compact_flow_sample(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct sf s;
	char buf[64];

	sf_begin(&s, 3, 10);
	sf_flow(&s, false, 512, 7, 9);
	hdr_eth_tcp(&s, 1);
	sf_sample_end(&s);
	size_t n = sf_end(&s);
	CHECK_EQ(flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 1), 1);
	const struct flow_rec *r = &c.r[0];
	CHECK_STR(addr_fmt(&r->src, buf, sizeof(buf)), "10.0.0.1");
	CHECK_STR(addr_fmt(&r->dst, buf, sizeof(buf)), "10.0.0.2");
	CHECK_EQ(r->sport, 33000);
	CHECK_EQ(r->dport, 443);
	CHECK_EQ(r->proto, 6);
	CHECK_EQ(r->tcp_flags, 0x18);
	CHECK_EQ(r->tos, 0x28);
	CHECK_EQ(r->vlan, 100);
	CHECK_STR(mac_fmt(r->src_mac, buf, sizeof(buf)), "02:00:00:00:00:05");
	CHECK_EQ(r->in_if, 7);
	CHECK_EQ(r->out_if, 9);
	CHECK_EQ(r->sampling, 512);
	CHECK_EQ_U64(r->packets, 512);
	CHECK_EQ_U64(r->bytes, 1500ull * 512);
	CHECK_EQ_U64(r->first_ms, NOW);
	CHECK_EQ_U64(r->last_ms, NOW);
	CHECK_EQ(r->exp_version, SFLOW_VERSION_CODE);
	CHECK_EQ(r->obs_domain, 3);
	CHECK_EQ(c.s[0].set, 1);
	struct fd_exporter_stats st = exp_stats(fd, EXP);
	CHECK_EQ(st.sflow_flow_samples, 1);
	CHECK_EQ(st.packets_sflow, 1);
	CHECK_EQ(st.errors, 0);
	flowdec_free(fd);
}

/* Expanded samples; QinQ keeps the outer tag; interface formats other
 * than 0 (discarded, several interfaces) give no ifIndex. */
static void t_expanded_qinq_interfaces(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct sf s;

	sf_begin(&s, 0, 1);
	sf_flow(&s, true, 1, 0x40000001, 0x80000003);   /* discarded / multiple */
	hdr_eth_tcp(&s, 2);
	sf_sample_end(&s);
	sf_flow(&s, false, 2, 0x80000002, 4);
	hdr_eth_tcp(&s, 0);
	sf_sample_end(&s);
	size_t n = sf_end(&s);
	CHECK_EQ(flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 1), 2);
	CHECK_EQ(c.r[0].vlan, 100);
	CHECK_EQ(c.r[0].in_if, 0);
	CHECK_EQ(c.r[0].out_if, 0);
	CHECK_EQ(c.r[0].sampling, 1);
	CHECK_EQ(c.r[1].vlan, 0);
	CHECK_EQ(c.r[1].in_if, 0);
	CHECK_EQ(c.r[1].out_if, 4);
	CHECK_EQ(c.s[1].set, 2);
	flowdec_free(fd);
}

/* A header sampled from an IP link (protocol 11), data records without a
 * header, extended switch/router/gateway records, a non-IP frame. */
static void t_records(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct sf s;
	char buf[64];
	static const uint8_t ip[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 9,
					192, 0, 2, 10, 3, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
					 0x08, 0x06 };

	sf_begin(&s, 0, 1);
	/* 1: raw IPv4 header: ICMP port unreachable (type 3 code 1) */
	sf_flow(&s, false, 10, 1, 2);
	sf_rec(&s, 1);
	wr_u32(&s.w, 11);
	wr_u32(&s.w, 28);
	wr_u32(&s.w, 0);
	wr_u32(&s.w, sizeof(ip));
	wr_bytes(&s.w, ip, sizeof(ip));
	sf_rec_end(&s);
	sf_rec(&s, 1002);               /* router: next hop, masks */
	wr_u32(&s.w, 1);
	wr_u32(&s.w, 0xc6336401);
	wr_u32(&s.w, 24);
	wr_u32(&s.w, 16);
	sf_rec_end(&s);
	sf_rec(&s, 1003);               /* gateway: AS path 64500 64501 | 64502 */
	wr_u32(&s.w, 1);
	wr_u32(&s.w, 0xc6336401);
	wr_u32(&s.w, 65000);
	wr_u32(&s.w, 64999);
	wr_u32(&s.w, 64998);
	wr_u32(&s.w, 2);
	wr_u32(&s.w, 2);
	wr_u32(&s.w, 2);
	wr_u32(&s.w, 64500);
	wr_u32(&s.w, 64501);
	wr_u32(&s.w, 2);
	wr_u32(&s.w, 1);
	wr_u32(&s.w, 64502);
	wr_u32(&s.w, 0);                /* communities */
	wr_u32(&s.w, 0);                /* local pref */
	sf_rec_end(&s);
	sf_sample_end(&s);
	/* 2: no header: IPv4 data + Ethernet data + switch VLAN */
	sf_flow(&s, false, 1, 1, 2);
	sf_rec(&s, 3);
	wr_u32(&s.w, 800);
	wr_u32(&s.w, 17);
	wr_u32(&s.w, 0x0a000005);
	wr_u32(&s.w, 0x0a000006);
	wr_u32(&s.w, 5353);
	wr_u32(&s.w, 53);
	wr_u32(&s.w, 0);
	wr_u32(&s.w, 0x10);
	sf_rec_end(&s);
	sf_rec(&s, 2);
	wr_u32(&s.w, 814);
	wr_u32(&s.w, 0x02000000);
	wr_u32(&s.w, 0x00aa0000);
	wr_u32(&s.w, 0x02000000);
	wr_u32(&s.w, 0x00bb0000);
	wr_u32(&s.w, 0x0800);
	sf_rec_end(&s);
	sf_rec(&s, 1001);
	wr_u32(&s.w, 42);
	wr_u32(&s.w, 0);
	wr_u32(&s.w, 43);
	wr_u32(&s.w, 0);
	sf_rec_end(&s);
	sf_sample_end(&s);
	/* 3: ARP: L2 only, bytes = frame length - stripped */
	sf_flow(&s, false, 4, 1, 2);
	sf_rec(&s, 1);
	wr_u32(&s.w, 1);
	wr_u32(&s.w, 64);
	wr_u32(&s.w, 4);
	wr_u32(&s.w, sizeof(arp));
	wr_bytes(&s.w, arp, sizeof(arp));
	sf_rec_end(&s);
	sf_sample_end(&s);
	size_t n = sf_end(&s);
	CHECK_EQ(flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 1), 3);
	CHECK_EQ(c.r[0].proto, 1);
	CHECK_EQ(c.r[0].dport, 0x0301);
	CHECK_EQ_U64(c.r[0].bytes, 280);
	CHECK_STR(addr_fmt(&c.r[0].nexthop, buf, sizeof(buf)), "198.51.100.1");
	CHECK_EQ(c.r[0].src_mask, 24);
	CHECK_EQ(c.r[0].dst_mask, 16);
	CHECK_EQ(c.r[0].src_as, 64999);
	CHECK_EQ(c.r[0].dst_as, 64502);
	CHECK_STR(addr_fmt(&c.r[1].dst, buf, sizeof(buf)), "10.0.0.6");
	CHECK_EQ(c.r[1].proto, 17);
	CHECK_EQ(c.r[1].sport, 5353);
	CHECK_EQ(c.r[1].tos, 0x10);
	CHECK_EQ_U64(c.r[1].bytes, 800);
	CHECK_EQ(c.r[1].vlan, 42);
	CHECK_STR(mac_fmt(c.r[1].dst_mac, buf, sizeof(buf)), "02:00:00:00:00:bb");
	CHECK_EQ(c.r[2].ipver, 0);
	CHECK_EQ_U64(c.r[2].bytes, 60ull * 4);
	CHECK_EQ(exp_stats(fd, EXP).errors, 0);
	flowdec_free(fd);
}

/* VXLAN inside the sample: the record is the outer packet. */
static void t_vxlan_outer(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct sf s;
	uint8_t f[128];
	struct vt_wr w = wr_init(f, sizeof(f));

	wr_zero(&w, 12);
	wr_u16(&w, 0x0800);
	wr_u8(&w, 0x45);
	wr_u8(&w, 0);
	wr_u16(&w, 98);
	wr_u32(&w, 0);
	wr_u8(&w, 64);
	wr_u8(&w, 17);
	wr_u16(&w, 0);
	wr_u32(&w, 0xc0a80001);
	wr_u32(&w, 0xc0a80002);
	wr_u16(&w, 50000);
	wr_u16(&w, 4789);
	wr_u16(&w, 78);
	wr_u16(&w, 0);
	wr_u32(&w, 0x08000000);
	wr_u32(&w, 100 << 8);
	wr_zero(&w, 12);                /* inner Ethernet */
	wr_u16(&w, 0x0800);
	wr_u8(&w, 0x45);
	wr_zero(&w, 11);
	wr_u32(&w, 0x0a0a0a0a);
	wr_u32(&w, 0x0b0b0b0b);
	sf_begin(&s, 0, 1);
	sf_flow(&s, false, 1, 1, 2);
	sf_rec(&s, 1);
	wr_u32(&s.w, 1);
	wr_u32(&s.w, 116);
	wr_u32(&s.w, 4);
	wr_u32(&s.w, (uint32_t)wr_len(&w));
	wr_bytes(&s.w, f, wr_len(&w));
	sf_rec_end(&s);
	sf_sample_end(&s);
	size_t n = sf_end(&s);
	CHECK_EQ(flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 1), 1);
	CHECK_EQ(addr_v4(&c.r[0].src), 0xc0a80001u);
	CHECK_EQ(c.r[0].dport, 4789);
	CHECK_EQ_U64(c.r[0].bytes, 98);
	flowdec_free(fd);
}

static void counters(struct sf *s, uint32_t ifindex, uint64_t in_octets)
{
	wr_u32(&s->w, 2);
	s->sample_len = wr_reserve(&s->w, 4);
	s->sample_start = s->w.p;
	wr_u32(&s->w, 1);
	wr_u32(&s->w, ifindex);
	s->nrec = wr_reserve(&s->w, 4);
	s->recs = 0;
	s->samples++;
	sf_rec(s, 2);                   /* Ethernet counters: skipped */
	wr_zero(&s->w, 52);
	sf_rec_end(s);
	sf_rec(s, 1);
	wr_u32(&s->w, ifindex);
	wr_u32(&s->w, 6);
	wr_u64(&s->w, 10000000000ull);
	wr_u32(&s->w, 1);
	wr_u32(&s->w, 3);
	wr_u64(&s->w, in_octets);
	for (int i = 0; i < 6; i++)
		wr_u32(&s->w, (uint32_t)(100 + i));
	wr_u64(&s->w, 777);
	for (int i = 0; i < 6; i++)
		wr_u32(&s->w, (uint32_t)(200 + i));
	sf_rec_end(s);
	sf_sample_end(s);
}

static void t_counter_samples(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct sf s;

	sf_begin(&s, 0, 1);
	counters(&s, 12, 1000);
	counters(&s, 13, 2000);
	size_t n = sf_end(&s);
	CHECK_EQ(flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 1), 0);
	CHECK_EQ(c.nc, 2);
	CHECK_EQ(c.c[0].ifindex, 12);
	CHECK_EQ(c.c[0].source_id, 12);
	CHECK_EQ_U64(c.c[0].ifspeed, 10000000000ull);
	CHECK_EQ_U64(c.c[0].in_octets, 1000);
	CHECK_EQ(c.c[0].in_ucast, 100);
	CHECK_EQ(c.c[0].in_unknown, 105);
	CHECK_EQ_U64(c.c[0].out_octets, 777);
	CHECK_EQ(c.c[0].out_errors, 204);
	CHECK_EQ(c.c[0].promisc, 205);
	/* the latest values are kept per interface */
	sf_begin(&s, 0, 2);
	counters(&s, 12, 5000);
	n = sf_end(&s);
	flowdec_input(fd, &EXP, 6343, NOW + 1, s.b, n, 2);
	struct sflow_ifcounters ic[FD_MAX_IFCOUNTERS];
	CHECK_EQ(flowdec_exporter_ifcounters(fd, &EXP, ic, FD_MAX_IFCOUNTERS), 2);
	CHECK_EQ_U64(ic[0].in_octets, 5000);
	CHECK_EQ_U64(ic[0].seen_ms, NOW + 1);
	/* bounded: interfaces past FD_MAX_IFCOUNTERS are counted, not kept */
	for (uint32_t i = 0; i < FD_MAX_IFCOUNTERS; i++) {
		sf_begin(&s, 0, 3 + i);
		counters(&s, 100 + i, 1);
		n = sf_end(&s);
		flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 3);
	}
	struct fd_exporter_stats st = exp_stats(fd, EXP);
	CHECK_EQ(st.ifcounters, FD_MAX_IFCOUNTERS);
	CHECK_EQ(st.ifcounters_dropped, 2);
	CHECK_EQ(st.sflow_counter_samples, 3 + FD_MAX_IFCOUNTERS);
	CHECK_EQ(st.seq_gaps, 0);
	flowdec_free(fd);
}

static void t_malformed(void)
{
	enum { SAMPLE_LONG, RECORD_LONG, AGENT_TYPE, SAMPLE_COUNT, SHORT, HDR_SHORT };
	static const struct {
		const char *what;
		int kind;
		int records;
		int err;
		int ret;
	} cases[] = {
		{ "sample length past the datagram", SAMPLE_LONG, 1, FD_ERR_SFLOW_SAMPLE, 1 },
		{ "record length past the sample", RECORD_LONG, 1, FD_ERR_SFLOW_RECORD, 1 },
		{ "agent address type 3", AGENT_TYPE, 0, FD_ERR_SFLOW_HEADER, -EBADMSG },
		{ "sample count beyond the bytes", SAMPLE_COUNT, 2, FD_ERR_SFLOW_HEADER, 2 },
		{ "header cut short", SHORT, 0, FD_ERR_SHORT, -EBADMSG },
		{ "sampled header of 10 bytes", HDR_SHORT, 1, FD_ERR_SFLOW_PACKET, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct sf s;
		size_t n;

		vt_test_case = cases[i].what;
		sf_begin(&s, 0, 1);
		sf_flow(&s, false, 1, 1, 2);
		if (cases[i].kind == HDR_SHORT) {
			sf_rec(&s, 1);
			wr_u32(&s.w, 1);
			wr_u32(&s.w, 64);
			wr_u32(&s.w, 4);
			wr_u32(&s.w, 10);
			wr_zero(&s.w, 10);
			sf_rec_end(&s);
		} else {
			hdr_eth_tcp(&s, 0);
		}
		sf_sample_end(&s);
		sf_flow(&s, false, 1, 1, 2);
		hdr_eth_tcp(&s, 0);
		sf_sample_end(&s);
		if (cases[i].kind == RECORD_LONG)
			st_be32(s.rec_len, 4000);
		n = sf_end(&s);
		if (cases[i].kind == SAMPLE_LONG)
			st_be32(s.sample_len, 4000);
		if (cases[i].kind == AGENT_TYPE)
			st_be32(s.b + 4, 3);
		if (cases[i].kind == SAMPLE_COUNT)
			st_be32(s.nsamples, 1000000);
		if (cases[i].kind == SHORT)
			n = 20;
		CHECK_EQ(flowdec_input(fd, &EXP, 6343, NOW, s.b, n, 1), cases[i].ret);
		CHECK_EQ(c.n, cases[i].records);
		CHECK_EQ(exp_stats(fd, EXP).error[cases[i].err], 1);
		flowdec_free(fd);
	}
	vt_test_case = "t_malformed";
}

/* sFlow sequence numbers count datagrams, per sub-agent. */
static void t_sequence(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct sf s;
	static const struct { uint32_t sub, seq; } d[] = {
		{ 0, 10 }, { 1, 500 }, { 0, 11 }, { 0, 14 }, { 1, 501 }, { 0, 15 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(d); i++) {
		sf_begin(&s, d[i].sub, d[i].seq);
		size_t n = sf_end(&s);
		flowdec_input(fd, &EXP, 6343, NOW, s.b, n, i);
	}
	struct fd_exporter_stats st = exp_stats(fd, EXP);
	CHECK_EQ_U64(st.seq_gaps, 1);
	CHECK_EQ_U64(st.seq_lost, 2);
	flowdec_free(fd);
}

static void t_setup(void)
{
	EXP = ip4(192, 0, 2, 1);
}

VT_TEST_MAIN(VT_T(t_setup), VT_T(t_compact_flow_sample), VT_T(t_expanded_qinq_interfaces),
	     VT_T(t_records), VT_T(t_vxlan_outer), VT_T(t_counter_samples), VT_T(t_malformed),
	     VT_T(t_sequence))
