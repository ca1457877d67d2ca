/* Unit tests: lib/wire/nfv9_dec — hand-built NetFlow v9 datagrams: uptime
 * timestamps (and their wrap), options templates and sampler tables,
 * zero-length fields, the H3C variable-length field, the Palo Alto
 * zero-filled tail, malformed flowsets, sequence numbers. */
#include "wire/nfv9_dec.h"

#include "fd_test.h"
#include "vt_test.h"

#define SECS 1700000000u
#define EMS (1700000000ull * 1000)

static struct vt_addr EXP;

/* template 256: src, dst, bytes, packets, FIRST, LAST, in_if, sampler id */
static void tmpl(struct mb *m)
{
	mb_set(m, 0);
	wr_u16(&m->w, 256);
	wr_u16(&m->w, 8);
	mb_field(m, 8, 4, 0);
	mb_field(m, 12, 4, 0);
	mb_field(m, 1, 4, 0);
	mb_field(m, 2, 4, 0);
	mb_field(m, 22, 4, 0);
	mb_field(m, 21, 4, 0);
	mb_field(m, 10, 2, 0);
	mb_field(m, 48, 1, 0);
	mb_set_end(m, 0);
}

static void rec(struct mb *m, uint32_t bytes, uint32_t first, uint32_t last, uint16_t in_if,
		uint8_t sampler)
{
	mb_v4(m, 10, 1, 1, 1);
	mb_v4(m, 10, 2, 2, 2);
	wr_u32(&m->w, bytes);
	wr_u32(&m->w, 3);
	wr_u32(&m->w, first);
	wr_u32(&m->w, last);
	wr_u16(&m->w, in_if);
	wr_u8(&m->w, sampler);
}

static void t_uptime_times(void)
{
	static const struct {
		const char *what;
		uint32_t uptime, first, last;
		uint64_t want_first, want_last;
		uint8_t flags;
	} cases[] = {
		{ "plain", 100000, 90000, 95000, EMS - 10000, EMS - 5000, 0 },
		/* the uptime wrapped (49.7 days) after the flow started */
		{ "uptime wrapped", 2000, 0xffffff00u, 1000, EMS - 2000 - 256, EMS - 1000, 0 },
		{ "zero times", 100000, 0, 0, EMS, EMS, FLOWREC_F_TIME_ESTIMATED },
		{ "last before first", 100000, 95000, 90000, EMS - 10000, EMS - 5000,
		  FLOWREC_F_TIME_SWAPPED },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;

		vt_test_case = cases[i].what;
		mb_v9(&m, 2, cases[i].uptime, SECS, 0, 0);
		tmpl(&m);
		mb_set(&m, 256);
		rec(&m, 100, cases[i].first, cases[i].last, 3, 0);
		mb_set_end(&m, 1);
		CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 1);
		CHECK_EQ_U64(c.r[0].first_ms, cases[i].want_first);
		CHECK_EQ_U64(c.r[0].last_ms, cases[i].want_last);
		CHECK_EQ(c.r[0].dec_flags, cases[i].flags);
		CHECK_EQ(c.r[0].exp_version, 9);
		CHECK_EQ(c.r[0].in_if, 3);
		flowdec_free(fd);
	}
	vt_test_case = "t_uptime_times";
}

/* Options template (flowset 1) carrying a sampler table: sampler id ->
 * random interval, plus a System-scope SAMPLING_INTERVAL for the rest. */
static void t_sampler_table(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_v9(&m, 6, 100000, SECS, 0, 5);
	mb_set(&m, 1);                 /* options template 300: sampler table */
	wr_u16(&m.w, 300);
	wr_u16(&m.w, 4);               /* scope length: one field */
	wr_u16(&m.w, 8);               /* option length: two fields */
	mb_field(&m, 1, 4, 0);         /* scope System */
	mb_field(&m, 48, 1, 0);        /* FLOW_SAMPLER_ID */
	mb_field(&m, 50, 4, 0);        /* FLOW_SAMPLER_RANDOM_INTERVAL */
	mb_set_end(&m, 2);
	mb_set(&m, 300);
	wr_u32(&m.w, 0);
	wr_u8(&m.w, 1);
	wr_u32(&m.w, 1000);
	wr_u32(&m.w, 0);
	wr_u8(&m.w, 2);
	wr_u32(&m.w, 64);
	mb_set_end(&m, 2);
	mb_set(&m, 1);                 /* options template 301: system rate */
	wr_u16(&m.w, 301);
	wr_u16(&m.w, 4);
	wr_u16(&m.w, 4);
	mb_field(&m, 1, 0, 0);         /* scope System of length 0 */
	mb_field(&m, 34, 4, 0);
	mb_set_end(&m, 2);
	mb_set(&m, 301);
	wr_u32(&m.w, 7);
	mb_set_end(&m, 0);
	tmpl(&m);
	mb_set(&m, 256);
	rec(&m, 100, 90000, 95000, 1, 1);
	rec(&m, 100, 90000, 95000, 1, 2);
	rec(&m, 100, 90000, 95000, 1, 9);   /* unknown sampler: system rate */
	mb_set_end(&m, 1);
	CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 3);
	CHECK_EQ(c.r[0].sampling, 1000);
	CHECK_EQ_U64(c.r[0].bytes, 100000);
	CHECK_EQ_U64(c.r[0].packets, 3000);
	CHECK_EQ(c.r[1].sampling, 64);
	CHECK_EQ(c.r[2].sampling, 7);
	CHECK_EQ(c.r[0].obs_domain, 5);
	struct fd_exporter_stats st = exp_stats(fd, EXP);
	CHECK_EQ(st.options_records, 3);
	CHECK_EQ(st.errors, 0);
	CHECK_EQ(st.templates, 3);
	flowdec_free(fd);
}

/* Interface-scoped sampling (scope type 2). */
static void t_interface_sampling(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_v9(&m, 3, 100000, SECS, 0, 0);
	mb_set(&m, 1);
	wr_u16(&m.w, 310);
	wr_u16(&m.w, 4);
	wr_u16(&m.w, 4);
	mb_field(&m, 2, 2, 0);         /* scope Interface, 2 bytes */
	mb_field(&m, 34, 4, 0);
	mb_set_end(&m, 2);
	mb_set(&m, 310);
	wr_u16(&m.w, 3);
	wr_u32(&m.w, 256);
	mb_set_end(&m, 2);
	tmpl(&m);
	mb_set(&m, 256);
	rec(&m, 10, 90000, 95000, 3, 0);
	rec(&m, 10, 90000, 95000, 4, 0);
	mb_set_end(&m, 1);
	CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 2);
	CHECK_EQ(c.r[0].sampling, 256);
	CHECK_EQ(c.r[1].sampling, 1);
	flowdec_free(fd);
}

/* Fields of length 0 (logstash's 0length sample): skipped, others fine. */
static void t_zero_length_field(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_v9(&m, 2, 100000, SECS, 0, 0);
	mb_set(&m, 0);
	wr_u16(&m.w, 257);
	wr_u16(&m.w, 3);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 0, 0, 0);
	mb_field(&m, 2, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 257);
	mb_v4(&m, 172, 16, 0, 1);
	wr_u32(&m.w, 9);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 1);
	CHECK_EQ(addr_v4(&c.r[0].src), 0xac100001u);
	CHECK_EQ_U64(c.r[0].packets, 9);
	flowdec_free(fd);
}

/* H3C NetStream: a v9 field of length 65535 carried like IPFIX varlen. */
static void t_h3c_varlen(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_v9(&m, 2, 100000, SECS, 0, 0);
	mb_set(&m, 0);
	wr_u16(&m.w, 3281);
	wr_u16(&m.w, 3);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 236, 65535, 0);   /* VRFname */
	mb_field(&m, 2, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 3281);
	mb_v4(&m, 20, 20, 20, 20);
	mb_varlen(&m, "vrf-blue", 8, false);
	wr_u32(&m.w, 4);
	mb_v4(&m, 20, 20, 20, 21);
	mb_varlen(&m, "x", 1, true);
	wr_u32(&m.w, 5);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 2);
	CHECK_EQ_U64(c.r[0].packets, 4);
	CHECK_EQ_U64(c.r[1].packets, 5);
	CHECK_EQ(addr_v4(&c.r[1].src), 0x14141415u);
	flowdec_free(fd);
}

/* Palo Alto: one flowset, then zeros to the end of the datagram. Zeros
 * are padding; a length-0 flowset followed by anything else is an error. */
static void t_zero_filled_tail(void)
{
	for (int garbage = 0; garbage < 2; garbage++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;

		mb_v9(&m, 1, 100000, SECS, 0, 0);
		tmpl(&m);
		mb_set(&m, 256);
		rec(&m, 10, 90000, 95000, 1, 0);
		mb_set_end(&m, 1);
		wr_zero(&m.w, 200);
		if (garbage)
			m.w.p[-3] = 1;
		CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 1);
		CHECK_EQ(exp_stats(fd, EXP).error[FD_ERR_SET_LENGTH], garbage);
		flowdec_free(fd);
	}
}

static void t_malformed(void)
{
	static const struct {
		const char *what;
		uint16_t set_id;
		uint8_t body[16];
		size_t blen;
		int err;
	} cases[] = {
		/* template id below 256 */
		{ "template id 5", 0, { 0, 5, 0, 1, 0, 8, 0, 4 }, 8, FD_ERR_TMPL_INVALID },
		/* 3 fields announced, 1 present */
		{ "field count overflow", 0, { 1, 0, 0, 3, 0, 8, 0, 4 }, 8, FD_ERR_TMPL_LENGTH },
		/* scope length not a multiple of 4 */
		{ "scope length 3", 1, { 1, 0, 0, 3, 0, 4, 0, 1, 0, 4, 0, 34, 0, 4 }, 14,
		  FD_ERR_TMPL_INVALID },
		/* option lengths beyond the flowset */
		{ "option length overflow", 1, { 1, 0, 0, 4, 0, 40, 0, 1, 0, 4, 0, 34, 0, 4 }, 14,
		  FD_ERR_TMPL_LENGTH },
		{ "reserved flowset id", 7, { 1, 2, 3, 4 }, 4, FD_ERR_SET_ID },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;

		vt_test_case = cases[i].what;
		mb_v9(&m, 1, 100000, SECS, 0, 0);
		mb_set(&m, cases[i].set_id);
		wr_bytes(&m.w, cases[i].body, cases[i].blen);
		mb_set_end(&m, 0);
		CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 0);
		CHECK_EQ(exp_stats(fd, EXP).error[cases[i].err], 1);
		CHECK_EQ(exp_stats(fd, EXP).templates, 0);
		flowdec_free(fd);
	}
	vt_test_case = "t_malformed";
	/* a header shorter than 20 bytes */
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	uint8_t b[19] = { 0, 9 };
	CHECK_EQ(flowdec_input(fd, &EXP, 1, 0, b, sizeof(b), 1), -EBADMSG);
	CHECK_EQ(exp_stats(fd, EXP).error[FD_ERR_SHORT], 1);
	flowdec_free(fd);
}

/* v9 sequence numbers count export packets. */
static void t_sequence(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;
	uint32_t seqs[] = { 0xfffffffeu, 0xffffffffu, 0, 3, 4, 2 };

	for (size_t i = 0; i < ARRAY_SIZE(seqs); i++) {
		mb_v9(&m, 1, 100000, SECS, seqs[i], 9);
		tmpl(&m);
		feed(fd, EXP, EMS, &m, i);
	}
	struct fd_exporter_stats st = exp_stats(fd, EXP);
	CHECK_EQ_U64(st.seq_gaps, 1);
	CHECK_EQ_U64(st.seq_lost, 2);
	CHECK_EQ_U64(st.seq_resets, 1);
	CHECK_EQ_U64(st.seq_quirks, 0);
	/* another source id has its own counter */
	mb_v9(&m, 1, 100000, SECS, 77, 10);
	tmpl(&m);
	feed(fd, EXP, EMS, &m, 9);
	CHECK_EQ_U64(exp_stats(fd, EXP).seq_gaps, 1);
	flowdec_free(fd);
}

/* Data before template, then the template in the next packet. */
static void t_data_before_template(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_v9(&m, 1, 100000, SECS, 0, 0);
	mb_set(&m, 256);
	rec(&m, 10, 90000, 95000, 1, 0);
	mb_set_end(&m, 1);
	CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 0);
	mb_v9(&m, 1, 200000, SECS + 100, 1, 0);
	tmpl(&m);
	CHECK_EQ(feed(fd, EXP, EMS + 100000, &m, 2), 1);
	/* the times come from the datagram the data arrived in */
	CHECK_EQ_U64(c.r[0].first_ms, EMS - 10000);
	CHECK(c.r[0].dec_flags & FLOWREC_F_LATE);
	CHECK_EQ(c.s[0].tag, 1);
	flowdec_free(fd);
}

/* The per-domain sampler table (16) and the domains per exporter are
 * bounded; what they push out is counted. */
static void t_state_bounds(void)
{
	struct cap c;
	struct flowdec_conf conf;
	flowdec_conf_defaults(&conf);
	conf.max_domains_per_exporter = 4;
	struct flowdec *fd = fd_cap_new(&c, &conf);
	struct mb m;

	mb_v9(&m, 18, 100000, SECS, 0, 1);
	mb_set(&m, 1);
	wr_u16(&m.w, 300);
	wr_u16(&m.w, 4);
	wr_u16(&m.w, 8);
	mb_field(&m, 1, 4, 0);
	mb_field(&m, 48, 1, 0);
	mb_field(&m, 50, 4, 0);
	mb_set_end(&m, 2);
	mb_set(&m, 300);
	for (uint8_t i = 1; i <= 17; i++) {   /* 17 samplers: the first goes */
		wr_u32(&m.w, 0);
		wr_u8(&m.w, i);
		wr_u32(&m.w, 100u + i);
	}
	mb_set_end(&m, 0);
	tmpl(&m);
	mb_set(&m, 256);
	rec(&m, 10, 90000, 95000, 1, 1);
	rec(&m, 10, 90000, 95000, 1, 17);
	mb_set_end(&m, 1);
	CHECK_EQ(feed(fd, EXP, EMS, &m, 1), 2);
	CHECK_EQ(c.r[0].sampling, 1);         /* sampler 1 was pushed out */
	CHECK_EQ(c.r[1].sampling, 117);
	CHECK_EQ(exp_stats(fd, EXP).samplers_dropped, 1);
	for (uint32_t dom = 10; dom < 15; dom++) {   /* 6 domains in all, 4 kept */
		mb_v9(&m, 1, 100000, SECS, 0, dom);
		tmpl(&m);
		feed(fd, EXP, EMS + dom, &m, dom);
	}
	CHECK_EQ(exp_stats(fd, EXP).domains_dropped, 2);
	flowdec_free(fd);
}

static void t_setup(void)
{
	EXP = ip4(203, 0, 113, 9);
}

VT_TEST_MAIN(VT_T(t_setup), VT_T(t_uptime_times), VT_T(t_sampler_table),
	     VT_T(t_interface_sampling), VT_T(t_zero_length_field), VT_T(t_h3c_varlen),
	     VT_T(t_zero_filled_tail), VT_T(t_malformed), VT_T(t_sequence),
	     VT_T(t_data_before_template), VT_T(t_state_bounds))
