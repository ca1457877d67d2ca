/* Unit tests: lib/wire/nfv5_dec — hand-built NetFlow v5 datagrams: the
 * fixed record layout, count vs length, sampling, sequence numbers, and
 * splitting a file of concatenated datagrams. */
#include "wire/nfv5_dec.h"

#include "fd_test.h"
#include "vt_test.h"

#define SECS 1700000000u

static struct vt_addr EXP;

static size_t v5(uint8_t *b, size_t cap, uint16_t count, uint16_t nrec, uint32_t seq,
		 uint16_t sampling)
{
	struct vt_wr w = wr_init(b, cap);

	wr_u16(&w, 5);
	wr_u16(&w, count);
	wr_u32(&w, 600000);             /* sysUptime */
	wr_u32(&w, SECS);
	wr_u32(&w, 250000000);          /* unix_nsecs: .25 s */
	wr_u32(&w, seq);
	wr_u8(&w, 1);                   /* engine type */
	wr_u8(&w, 2);                   /* engine id */
	wr_u16(&w, sampling);
	for (uint16_t i = 0; i < nrec; i++) {
		uint8_t s[4] = { 10, 0, 0, (uint8_t)(i + 1) }, d[4] = { 192, 0, 2, 7 };
		uint8_t nh[4] = { 10, 0, 0, 254 };
		wr_bytes(&w, s, 4);
		wr_bytes(&w, d, 4);
		wr_bytes(&w, nh, 4);
		wr_u16(&w, 3);          /* input */
		wr_u16(&w, 4);          /* output */
		wr_u32(&w, 10);         /* packets */
		wr_u32(&w, 1400);       /* octets */
		wr_u32(&w, 590000);     /* First */
		wr_u32(&w, 599000);     /* Last */
		wr_u16(&w, 1234);
		wr_u16(&w, i == 1 ? 0x0800 : 53);   /* 2nd: ICMP echo in dport */
		wr_u8(&w, 0);
		wr_u8(&w, 0x1b);
		wr_u8(&w, i == 1 ? 1 : 17);
		wr_u8(&w, 0xb8);
		wr_u16(&w, 64500);
		wr_u16(&w, 64501);
		wr_u8(&w, 24);
		wr_u8(&w, 32);
		wr_u16(&w, 0);
	}
	BUG_ON(wr_failed(&w));
	return wr_len(&w);
}

static void t_records(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	uint8_t b[2048];
	size_t n = v5(b, sizeof(b), 2, 2, 1000, 0);
	char buf[64];

	CHECK_EQ(n, 24 + 2 * 48);
	CHECK_EQ(flowdec_input(fd, &EXP, 2055, 0, b, n, 5), 2);
	const struct flow_rec *r = &c.r[0];
	CHECK_STR(addr_fmt(&r->src, buf, sizeof(buf)), "10.0.0.1");
	CHECK_STR(addr_fmt(&r->dst, buf, sizeof(buf)), "192.0.2.7");
	CHECK_STR(addr_fmt(&r->nexthop, buf, sizeof(buf)), "10.0.0.254");
	CHECK_EQ(r->in_if, 3);
	CHECK_EQ(r->out_if, 4);
	CHECK_EQ_U64(r->packets, 10);
	CHECK_EQ_U64(r->bytes, 1400);
	/* export time = SECS.250; First/Last are 10 s and 1 s before */
	CHECK_EQ_U64(r->first_ms, SECS * 1000ull + 250 - 10000);
	CHECK_EQ_U64(r->last_ms, SECS * 1000ull + 250 - 1000);
	CHECK_EQ(r->sport, 1234);
	CHECK_EQ(r->dport, 53);
	CHECK_EQ(r->tcp_flags, 0x1b);
	CHECK_EQ(r->proto, 17);
	CHECK_EQ(r->tos, 0xb8);
	CHECK_EQ(r->src_as, 64500);
	CHECK_EQ(r->dst_as, 64501);
	CHECK_EQ(r->src_mask, 24);
	CHECK_EQ(r->dst_mask, 32);
	CHECK_EQ(r->ipver, 4);
	CHECK_EQ(r->exp_version, 5);
	CHECK_EQ(r->obs_domain, 0x0102);
	CHECK_EQ(r->sampling, 1);
	CHECK_EQ(c.r[1].dport, 0x0800);     /* ICMP type/code stay in dport */
	CHECK_EQ(c.s[1].rec, 2);
	flowdec_free(fd);
}

static void t_count_vs_length(void)
{
	static const struct {
		const char *what;
		uint16_t count, nrec;
		size_t cut;          /* bytes removed from the end */
		int records, errors;
	} cases[] = {
		{ "consistent", 3, 3, 0, 3, 0 },
		{ "count larger than the datagram", 30, 3, 0, 3, 1 },
		{ "count smaller than the datagram", 2, 3, 0, 2, 1 },
		{ "a partial last record", 3, 3, 10, 2, 1 },
		{ "count 0", 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		uint8_t b[4096];
		size_t n = v5(b, sizeof(b), cases[i].count, cases[i].nrec, 0, 0) - cases[i].cut;

		vt_test_case = cases[i].what;
		CHECK_EQ(flowdec_input(fd, &EXP, 2055, 0, b, n, 1), cases[i].records);
		CHECK_EQ(exp_stats(fd, EXP).error[FD_ERR_V5_LENGTH], cases[i].errors);
		flowdec_free(fd);
	}
	vt_test_case = "t_count_vs_length";
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	uint8_t b[23] = { 0, 5 };
	CHECK_EQ(flowdec_input(fd, &EXP, 2055, 0, b, sizeof(b), 1), -EBADMSG);
	CHECK_EQ(exp_stats(fd, EXP).error[FD_ERR_SHORT], 1);
	flowdec_free(fd);
}

static void t_sampling(void)
{
	static const struct { uint16_t field; uint32_t want; } cases[] = {
		{ 0, 1 }, { 1, 1 }, { 0x4000 | 100, 100 }, { 0x8000 | 512, 512 }, { 50, 50 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		uint8_t b[256];
		size_t n = v5(b, sizeof(b), 1, 1, 0, cases[i].field);

		CHECK_EQ(flowdec_input(fd, &EXP, 2055, 0, b, n, 1), 1);
		CHECK_EQ(c.r[0].sampling, cases[i].want);
		CHECK_EQ_U64(c.r[0].packets, 10ull * cases[i].want);
		CHECK_EQ_U64(c.r[0].bytes, 1400ull * cases[i].want);
		flowdec_free(fd);
	}
}

/* v5 sequence numbers count flows. */
static void t_sequence(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	uint8_t b[1024];
	uint32_t seqs[] = { 100, 102, 104, 110, 112 };

	for (size_t i = 0; i < ARRAY_SIZE(seqs); i++) {
		size_t n = v5(b, sizeof(b), 2, 2, seqs[i], 0);
		flowdec_input(fd, &EXP, 2055, 0, b, n, i);
	}
	struct fd_exporter_stats st = exp_stats(fd, EXP);
	CHECK_EQ_U64(st.seq_gaps, 1);
	CHECK_EQ_U64(st.seq_lost, 4);
	CHECK_EQ_U64(st.seq_resets, 0);
	CHECK_EQ_U64(st.records, 10);
	flowdec_free(fd);
}

/* flowdec_frame_len() splits concatenated datagrams (logstash's
 * netflow5.dat holds 12). */
static void t_frame_len(void)
{
	uint8_t b[4096];
	size_t a = v5(b, sizeof(b), 2, 2, 0, 0);
	size_t n = a + v5(b + a, sizeof(b) - a, 3, 3, 2, 0);

	CHECK_EQ(flowdec_frame_len(b, n), a);
	CHECK_EQ(flowdec_frame_len(b + a, n - a), n - a);
	/* a count beyond the buffer: the rest of the buffer */
	st_be16(b + 2, 99);
	CHECK_EQ(flowdec_frame_len(b, n), n);
	/* IPFIX: the header length */
	uint8_t ip[40] = { 0, 10, 0, 20 };
	CHECK_EQ(flowdec_frame_len(ip, sizeof(ip)), 20);
	ip[3] = 2;
	CHECK_EQ(flowdec_frame_len(ip, sizeof(ip)), sizeof(ip));
	/* v9: no length in the header */
	uint8_t v9[40] = { 0, 9, 0, 1 };
	CHECK_EQ(flowdec_frame_len(v9, sizeof(v9)), sizeof(v9));
}

static void t_setup(void)
{
	EXP = ip4(198, 51, 100, 1);
}

VT_TEST_MAIN(VT_T(t_setup), VT_T(t_records), VT_T(t_count_vs_length), VT_T(t_sampling),
	     VT_T(t_sequence), VT_T(t_frame_len))
