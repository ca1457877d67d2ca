/* Unit tests: lib/wire/ipfix_dec + the shared template/data logic in
 * flowdec — byte-exact hand-built IPFIX messages for each edge case. */
#include <stdlib.h>

#include "wire/ie_table.h"
#include "wire/ipfix_dec.h"
#include "wire/ipfix_ie.h"

#include "fd_test.h"
#include "vt_test.h"

#define EXPT 1700000000u
#define EMS (1700000000ull * 1000)

static struct vt_addr EXP1;

/* template 256: src, dst, sport, dport, proto, bytes, packets, start/end ms */
static void tmpl256(struct mb *m)
{
	mb_set(m, 2);
	wr_u16(&m->w, 256);
	wr_u16(&m->w, 9);
	mb_field(m, 8, 4, 0);
	mb_field(m, 12, 4, 0);
	mb_field(m, 7, 2, 0);
	mb_field(m, 11, 2, 0);
	mb_field(m, 4, 1, 0);
	mb_field(m, 1, 8, 0);
	mb_field(m, 2, 4, 0);   /* reduced-size encoding */
	mb_field(m, 152, 8, 0);
	mb_field(m, 153, 8, 0);
	mb_set_end(m, 0);
}

static void rec256(struct mb *m, uint8_t last_octet, uint16_t sport, uint64_t bytes)
{
	mb_v4(m, 198, 18, 0, last_octet);
	mb_v4(m, 198, 19, 1, 2);
	wr_u16(&m->w, sport);
	wr_u16(&m->w, 443);
	wr_u8(&m->w, 6);
	wr_u64(&m->w, bytes);
	wr_u32(&m->w, 7);
	wr_u64(&m->w, EMS - 5000);
	wr_u64(&m->w, EMS - 1000);
}

static void t_template_and_data(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;
	char buf[64];

	mb_ipfix(&m, EXPT, 0, 42);
	tmpl256(&m);
	mb_set(&m, 256);
	rec256(&m, 10, 50000, 1500);
	rec256(&m, 11, 50001, 3000);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 77), 2);
	CHECK_EQ(c.n, 2);
	CHECK_STR(addr_fmt(&c.r[0].src, buf, sizeof(buf)), "198.18.0.10");
	CHECK_STR(addr_fmt(&c.r[0].dst, buf, sizeof(buf)), "198.19.1.2");
	CHECK_EQ(c.r[0].sport, 50000);
	CHECK_EQ(c.r[0].dport, 443);
	CHECK_EQ(c.r[0].proto, 6);
	CHECK_EQ(c.r[0].ipver, 4);
	CHECK_EQ_U64(c.r[0].bytes, 1500);
	CHECK_EQ_U64(c.r[0].packets, 7);
	CHECK_EQ_U64(c.r[0].first_ms, EMS - 5000);
	CHECK_EQ_U64(c.r[0].last_ms, EMS - 1000);
	CHECK_EQ(c.r[0].obs_domain, 42);
	CHECK_EQ(c.r[0].exp_version, 10);
	CHECK_EQ(c.r[0].sampling, 1);
	CHECK_EQ(c.r[0].direction, FLOW_DIR_UNKNOWN);
	CHECK_EQ(c.r[0].dec_flags, 0);
	CHECK(addr_cmp(&c.r[0].exporter, &EXP1) == 0);
	CHECK_EQ(c.s[0].tag, 77);
	CHECK_EQ(c.s[0].set, 2);
	CHECK_EQ(c.s[1].rec, 2);
	CHECK_EQ_U64(c.r[1].bytes, 3000);
	struct fd_exporter_stats st = exp_stats(fd, EXP1);
	CHECK_EQ(st.templates, 1);
	CHECK_EQ(st.records, 2);
	CHECK_EQ(st.errors, 0);
	CHECK_EQ(st.packets_ipfix, 1);
	flowdec_free(fd);
}

/* Records of one set decode independently: a fixed-length template
 * zeroes the accumulator once per set (struct tmpl's reuse_acc), so each
 * record's values, including two precisions of one time, must be its
 * own; repeated virtual-station elements (observing VM, then peer) count
 * their occurrences, so their template must not reuse it. */
static void t_set_records_independent(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;
	uint8_t u[4][16];

	for (int k = 0; k < 4; k++)
		memset(u[k], 0x11 * (k + 1), 16);
	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 300);
	wr_u16(&m.w, 7);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 1, 8, 0);
	mb_field(&m, 150, 4, 0);    /* flowStartSeconds */
	mb_field(&m, 152, 8, 0);    /* flowStartMilliseconds: the finer wins */
	mb_field(&m, 153, 8, 0);
	mb_field(&m, IE_VIRTUAL_STATION_UUID, 16, 0);
	mb_field(&m, IE_VIRTUAL_STATION_UUID, 16, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 300);
	for (int r = 0; r < 2; r++) {
		mb_v4(&m, 198, 18, 0, (uint8_t)(10 + r));
		wr_u64(&m.w, 1000u * (r + 1));
		wr_u32(&m.w, EXPT - 60 * (r + 1));
		wr_u64(&m.w, EMS - 5000 * (r + 1));
		wr_u64(&m.w, EMS - 1000 * (r + 1));
		wr_bytes(&m.w, u[2 * r], 16);
		wr_bytes(&m.w, u[2 * r + 1], 16);
	}
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 2);
	CHECK_EQ(c.n, 2);
	for (int r = 0; r < 2; r++) {
		CHECK_EQ_U64(c.r[r].bytes, 1000u * (r + 1));
		CHECK_EQ_U64(c.r[r].first_ms, EMS - 5000 * (r + 1));
		CHECK_EQ_U64(c.r[r].last_ms, EMS - 1000 * (r + 1));
		CHECK(memcmp(c.r[r].vm.uuid, u[2 * r], 16) == 0);
		CHECK(memcmp(c.r[r].peer.uuid, u[2 * r + 1], 16) == 0);
	}
	flowdec_free(fd);
}

/* Variable-length fields in both encodings, RFC 7011 §7. */
static void t_varlen_forms(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;
	char longname[300];

	memset(longname, 'x', sizeof(longname));
	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 300);
	wr_u16(&m.w, 3);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, IE_VIRTUAL_STATION_NAME, IPFIX_VARLEN, 0);
	mb_field(&m, IE_VIRTUAL_STATION_INTERFACE_NAME, IPFIX_VARLEN, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 300);
	mb_v4(&m, 10, 0, 0, 1);
	mb_varlen(&m, "web-1", 5, false);
	mb_varlen(&m, "tp-web1", 7, true);          /* short value, long form */
	mb_v4(&m, 10, 0, 0, 2);
	mb_varlen(&m, longname, sizeof(longname), false); /* 255 + 2 bytes */
	mb_varlen(&m, "", 0, false);                /* zero-length value */
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 2);
	CHECK_STR(c.r[0].vm.name, "web-1");
	CHECK_STR(c.r[0].vm.ifname, "tp-web1");
	CHECK_EQ(strlen(c.r[1].vm.name), VT_NAME_MAX - 1);   /* truncated, terminated */
	CHECK_STR(c.r[1].vm.ifname, "");
	CHECK_EQ(exp_stats(fd, EXP1).errors, 0);

	/* a varlen length running past the set: record_length, set dropped */
	mb_ipfix(&m, EXPT, 2, 1);
	mb_set(&m, 300);
	mb_v4(&m, 10, 0, 0, 3);
	wr_u8(&m.w, 255);
	wr_u16(&m.w, 1000);
	wr_bytes(&m.w, "abc", 3);
	mb_set_end(&m, 0);
	c.n = 0;
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 2), 0);
	CHECK_EQ(c.n, 0);
	CHECK_EQ(exp_stats(fd, EXP1).error[FD_ERR_RECORD_LENGTH], 1);
	flowdec_free(fd);
}

/* An enterprise element with a standard id must not be taken for the
 * standard element; its PEN is skipped correctly. */
static void t_enterprise_fields(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 400);
	wr_u16(&m.w, 4);
	mb_field(&m, 1, 4, 2636);       /* Juniper's id 1: not octetDeltaCount */
	mb_field(&m, 1, 4, 0);
	mb_field(&m, 8, 4, 9999);       /* some vendor's id 8 */
	mb_field(&m, 8, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 400);
	wr_u32(&m.w, 999999);
	wr_u32(&m.w, 1234);
	mb_v4(&m, 1, 1, 1, 1);
	mb_v4(&m, 10, 9, 8, 7);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 1);
	CHECK_EQ_U64(c.r[0].bytes, 1234);
	CHECK_EQ(addr_v4(&c.r[0].src), 0x0a090807u);
	flowdec_free(fd);
}

/* The IP version decides the address family even without addresses
 * (found by fuzz_nfv9): an IPv4 record holds IPv4-mapped 0.0.0.0. And the
 * family of the addresses present wins over a contradicting ipVersion. */
static void t_ip_version(void)
{
	static const struct {
		const char *what;
		uint8_t ipver;
		bool v4, v6;
		uint8_t want_ver;
		bool want_mapped;
	} cases[] = {
		{ "ipVersion 4, no address", 4, false, false, 4, true },
		{ "ipVersion 6, no address", 6, false, false, 6, false },
		{ "ipVersion 6, IPv4 addresses", 6, true, false, 4, true },
		{ "ipVersion 4, IPv6 addresses", 4, false, true, 6, false },
		{ "no ipVersion, both families", 0, true, true, 4, true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;
		uint16_t nf = (uint16_t)(1 + (cases[i].ipver ? 1 : 0) + (cases[i].v4 ? 1 : 0) +
					 (cases[i].v6 ? 1 : 0));
		static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

		vt_test_case = cases[i].what;
		mb_ipfix(&m, EXPT, 0, 1);
		mb_set(&m, 2);
		wr_u16(&m.w, 256);
		wr_u16(&m.w, nf);
		mb_field(&m, 1, 4, 0);
		if (cases[i].ipver)
			mb_field(&m, 60, 1, 0);
		if (cases[i].v4)
			mb_field(&m, 8, 4, 0);
		if (cases[i].v6)
			mb_field(&m, 27, 16, 0);
		mb_set_end(&m, 0);
		mb_set(&m, 256);
		wr_u32(&m.w, 10);
		if (cases[i].ipver)
			wr_u8(&m.w, cases[i].ipver);
		if (cases[i].v4)
			mb_v4(&m, 10, 0, 0, 1);
		if (cases[i].v6)
			wr_bytes(&m.w, a6, 16);
		mb_set_end(&m, 0);
		CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 1);
		CHECK_EQ(c.r[0].ipver, cases[i].want_ver);
		CHECK_EQ(addr_is_v4(&c.r[0].src), cases[i].want_mapped);
		CHECK_EQ(addr_is_v4(&c.r[0].dst), cases[i].want_mapped);
		flowdec_free(fd);
	}
	vt_test_case = "t_ip_version";
}

/* RFC 5103: reverse elements (PEN 29305) become a second record. */
static void t_biflow(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 500);
	wr_u16(&m.w, 11);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 12, 4, 0);
	mb_field(&m, 7, 2, 0);
	mb_field(&m, 11, 2, 0);
	mb_field(&m, 4, 1, 0);
	mb_field(&m, 1, 8, 0);
	mb_field(&m, 1, 8, IPFIX_PEN_REVERSE);
	mb_field(&m, 2, 8, 0);
	mb_field(&m, 2, 8, IPFIX_PEN_REVERSE);
	mb_field(&m, 6, 1, 0);
	mb_field(&m, 6, 1, IPFIX_PEN_REVERSE);
	mb_set_end(&m, 0);
	mb_set(&m, 500);
	for (int i = 0; i < 2; i++) {
		mb_v4(&m, 10, 0, 0, 1);
		mb_v4(&m, 10, 0, 0, 2);
		wr_u16(&m.w, 40000);
		wr_u16(&m.w, 80);
		wr_u8(&m.w, 6);
		wr_u64(&m.w, 500);
		wr_u64(&m.w, i == 0 ? 9000 : 0);   /* 2nd: nothing came back */
		wr_u64(&m.w, 5);
		wr_u64(&m.w, i == 0 ? 7 : 0);
		wr_u8(&m.w, 0x02);
		wr_u8(&m.w, 0x12);
	}
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 3);
	CHECK_EQ(c.n, 3);
	CHECK_EQ(c.r[0].dec_flags & FLOWREC_F_REVERSE, 0);
	CHECK_EQ(c.r[1].dec_flags & FLOWREC_F_REVERSE, FLOWREC_F_REVERSE);
	CHECK_EQ(addr_v4(&c.r[1].src), 0x0a000002u);
	CHECK_EQ(addr_v4(&c.r[1].dst), 0x0a000001u);
	CHECK_EQ(c.r[1].sport, 80);
	CHECK_EQ(c.r[1].dport, 40000);
	CHECK_EQ_U64(c.r[1].bytes, 9000);
	CHECK_EQ_U64(c.r[1].packets, 7);
	CHECK_EQ(c.r[1].tcp_flags, 0x12);
	CHECK_EQ(c.r[0].tcp_flags, 0x02);
	CHECK_EQ(c.s[0].rec, c.s[1].rec);
	CHECK_EQ(c.r[2].dec_flags & FLOWREC_F_REVERSE, 0);   /* no reverse half */
	flowdec_free(fd);
}

static void define_small(struct mb *m, uint16_t id)
{
	mb_set(m, 2);
	wr_u16(&m->w, id);
	wr_u16(&m->w, 1);
	mb_field(m, 8, 4, 0);
	mb_set_end(m, 0);
}

static void data_small(struct mb *m, uint16_t id)
{
	mb_set(m, id);
	mb_v4(m, 1, 2, 3, 4);
	mb_set_end(m, 0);
}

static void t_withdrawal(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 7);
	define_small(&m, 256);
	define_small(&m, 257);
	mb_set(&m, 3);                  /* an options template 258 */
	wr_u16(&m.w, 258);
	wr_u16(&m.w, 2);
	wr_u16(&m.w, 1);
	mb_field(&m, 302, 4, 0);
	mb_field(&m, 305, 4, 0);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 1);
	CHECK_EQ(exp_stats(fd, EXP1).templates, 3);

	/* withdraw 256 only */
	mb_ipfix(&m, EXPT, 0, 7);
	mb_set(&m, 2);
	wr_u16(&m.w, 256);
	wr_u16(&m.w, 0);
	mb_set_end(&m, 0);
	data_small(&m, 256);
	data_small(&m, 257);
	c.n = 0;
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 2), 1);
	CHECK_EQ(c.s[0].set, 3);
	struct fd_exporter_stats st = exp_stats(fd, EXP1);
	CHECK_EQ(st.templates, 2);
	CHECK_EQ(st.templates_withdrawn, 1);
	CHECK_EQ(st.held_now, 1);          /* 256's data waits */

	/* "withdraw all" of set 2 (template id 2) keeps options templates */
	mb_ipfix(&m, EXPT, 1, 7);
	mb_set(&m, 2);
	wr_u16(&m.w, 2);
	wr_u16(&m.w, 0);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 3);
	st = exp_stats(fd, EXP1);
	CHECK_EQ(st.templates, 1);
	CHECK_EQ(st.templates_withdrawn, 2);
	/* and "withdraw all" of set 3 removes the options template */
	mb_ipfix(&m, EXPT, 1, 7);
	mb_set(&m, 3);
	wr_u16(&m.w, 3);
	wr_u16(&m.w, 0);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 4);
	CHECK_EQ(exp_stats(fd, EXP1).templates, 0);
	CHECK_EQ(exp_stats(fd, EXP1).errors, 0);
	flowdec_free(fd);
}

/* Fields of length 0 and trailing set padding. */
static void t_zero_length_and_padding(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 600);
	wr_u16(&m.w, 3);
	mb_field(&m, 5, 0, 0);      /* ToS of length 0: nothing */
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 2, 2, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 600);
	mb_v4(&m, 9, 9, 9, 9);
	wr_u16(&m.w, 3);
	mb_set_end(&m, 3);          /* 3 bytes of padding < record length 6 */
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 1);
	CHECK_EQ(addr_v4(&c.r[0].src), 0x09090909u);
	CHECK_EQ_U64(c.r[0].packets, 3);
	CHECK_EQ(exp_stats(fd, EXP1).errors, 0);

	/* a template whose records would be 0 bytes long is refused */
	mb_ipfix(&m, EXPT, 1, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 601);
	wr_u16(&m.w, 1);
	mb_field(&m, 5, 0, 0);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 2);
	CHECK_EQ(exp_stats(fd, EXP1).error[FD_ERR_TMPL_INVALID], 1);
	CHECK_EQ(exp_stats(fd, EXP1).templates, 1);
	flowdec_free(fd);
}

static void t_bad_lengths(void)
{
	static const struct {
		const char *what;
		uint16_t set_len;        /* written into the 2nd set */
		int err;
		int records;             /* from the valid first set */
	} cases[] = {
		{ "set length 3", 3, FD_ERR_SET_LENGTH, 1 },
		{ "set length past the message", 200, FD_ERR_SET_LENGTH, 1 },
		{ "set length 0", 0, FD_ERR_SET_LENGTH, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;

		mb_ipfix(&m, EXPT, 0, 1);
		define_small(&m, 256);
		data_small(&m, 256);
		mb_set(&m, 256);
		mb_v4(&m, 5, 5, 5, 5);
		mb_set_end(&m, 0);
		st_be16(m.set_p + 2, cases[i].set_len);
		CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), cases[i].records);
		CHECK_EQ(exp_stats(fd, EXP1).error[cases[i].err], 1);
		flowdec_free(fd);
	}
	/* message length field larger than the datagram, or below 16 */
	uint16_t lens[] = { 2000, 15 };
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;
		mb_ipfix(&m, EXPT, 0, 1);
		define_small(&m, 256);
		size_t n = mb_end(&m);
		st_be16(m.b + 2, lens[i]);
		CHECK_EQ(flowdec_input(fd, &EXP1, 1, EMS, m.b, n, 1), -EBADMSG);
		CHECK_EQ(exp_stats(fd, EXP1).error[FD_ERR_MSG_LENGTH], 1);
		CHECK_EQ(exp_stats(fd, EXP1).templates, 0);
		flowdec_free(fd);
	}
}

/* A field count larger than the set can hold: the template is refused and
 * cannot poison the cache. */
static void t_template_count_overflow(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 700);
	wr_u16(&m.w, 100);          /* 100 fields announced ... */
	mb_field(&m, 8, 4, 0);      /* ... 2 present */
	mb_field(&m, 12, 4, 0);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 1);
	CHECK_EQ(exp_stats(fd, EXP1).error[FD_ERR_TMPL_LENGTH], 1);
	CHECK_EQ(exp_stats(fd, EXP1).templates, 0);

	/* an enterprise bit on the last field whose PEN is missing */
	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 701);
	wr_u16(&m.w, 2);
	mb_field(&m, 8, 4, 0);
	wr_u16(&m.w, 0x8001);
	wr_u16(&m.w, 4);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 2);
	CHECK_EQ(exp_stats(fd, EXP1).error[FD_ERR_TMPL_LENGTH], 2);
	CHECK_EQ(exp_stats(fd, EXP1).templates, 0);

	/* options template whose scope count exceeds its field count */
	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 3);
	wr_u16(&m.w, 702);
	wr_u16(&m.w, 1);
	wr_u16(&m.w, 2);
	mb_field(&m, 302, 4, 0);
	mb_set_end(&m, 0);
	feed(fd, EXP1, EMS, &m, 3);
	CHECK_EQ(exp_stats(fd, EXP1).error[FD_ERR_TMPL_INVALID], 1);
	CHECK_EQ(exp_stats(fd, EXP1).templates, 0);
	flowdec_free(fd);
}

static void t_data_before_template(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	data_small(&m, 800);
	data_small(&m, 800);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 11), 0);
	struct fd_exporter_stats st = exp_stats(fd, EXP1);
	CHECK_EQ(st.held_sets, 2);
	CHECK_EQ(st.held_now, 2);
	CHECK_EQ(st.errors, 0);
	/* the template arrives 5 s later: both sets decode, tagged with the
	 * datagram they came in, marked late */
	mb_ipfix(&m, EXPT + 5, 2, 1);
	define_small(&m, 800);
	CHECK_EQ(feed(fd, EXP1, EMS + 5000, &m, 12), 2);
	CHECK_EQ(c.n, 2);
	CHECK_EQ(c.s[0].tag, 11);
	CHECK_EQ(c.s[0].set, 1);
	CHECK_EQ(c.s[1].set, 2);
	CHECK(c.r[0].dec_flags & FLOWREC_F_LATE);
	/* times of held data come from the message they arrived in */
	CHECK_EQ_U64(c.r[0].first_ms, EMS);
	st = exp_stats(fd, EXP1);
	CHECK_EQ(st.held_now, 0);
	CHECK_EQ(st.late_sets, 2);
	CHECK_EQ(st.no_template_sets, 0);
	/* data for another domain is not decoded with this template */
	mb_ipfix(&m, EXPT, 3, 2);
	data_small(&m, 800);
	c.n = 0;
	CHECK_EQ(feed(fd, EXP1, EMS + 6000, &m, 13), 0);
	CHECK_EQ(exp_stats(fd, EXP1).held_now, 1);
	flowdec_free(fd);
}

static void t_hold_expiry_and_bounds(void)
{
	struct cap c;
	struct flowdec_conf conf;
	struct mb m;

	/* what one held 4-byte set body costs (its bytes and bookkeeping) */
	struct flowdec *probe = fd_cap_new(&c, NULL);
	mb_ipfix(&m, EXPT, 0, 1);
	data_small(&m, 900);
	feed(probe, EXP1, 10000, &m, 1);
	uint64_t cost = exp_stats(probe, EXP1).held_bytes_now;
	CHECK(cost > 4 && cost < 4 + 256);
	flowdec_free(probe);

	flowdec_conf_defaults(&conf);
	conf.hold_ms = 1000;
	conf.hold_bytes_per_exporter = 5 * cost;   /* five 4-byte set bodies */
	struct flowdec *fd = fd_cap_new(&c, &conf);

	mb_ipfix(&m, EXPT, 0, 1);
	data_small(&m, 900);
	feed(fd, EXP1, 10000, &m, 1);
	flowdec_expire(fd, 10999);
	CHECK_EQ(exp_stats(fd, EXP1).held_now, 1);
	flowdec_expire(fd, 11000);
	struct fd_exporter_stats st = exp_stats(fd, EXP1);
	CHECK_EQ(st.held_now, 0);
	CHECK_EQ(st.no_template_sets, 1);
	CHECK_EQ(st.no_template_bytes, 4);
	CHECK_EQ(st.errors, 0);
	/* its template now comes too late: nothing */
	mb_ipfix(&m, EXPT, 0, 1);
	define_small(&m, 900);
	CHECK_EQ(feed(fd, EXP1, 11001, &m, 2), 0);
	CHECK_EQ(c.n, 0);

	/* the per-exporter byte bound pushes the oldest out, counted */
	for (int i = 0; i < 7; i++) {
		mb_ipfix(&m, EXPT, 0, 1);
		data_small(&m, 901);
		feed(fd, EXP1, 12000, &m, (uint64_t)(10 + i));
	}
	st = exp_stats(fd, EXP1);
	CHECK_EQ(st.held_now, 5);            /* 5 x cost */
	CHECK_EQ_U64(st.held_bytes_now, 5 * cost);
	CHECK_EQ(st.no_template_sets, 3);
	mb_ipfix(&m, EXPT, 0, 1);
	define_small(&m, 901);
	CHECK_EQ(feed(fd, EXP1, 12001, &m, 20), 5);
	CHECK_EQ(c.s[0].tag, 12);            /* the oldest kept */
	flowdec_expire(fd, UINT64_MAX);
	CHECK_EQ(exp_stats(fd, EXP1).no_template_sets, 3);
	flowdec_free(fd);
}

/* IPFIX sequence numbers count data records sent before the message. */
static void t_sequence(void)
{
	static const struct {
		const char *what;
		uint32_t seq[5];
		uint8_t recs[5];
		uint16_t port[5];
		uint64_t gaps, lost, resets, quirks;
	} cases[] = {
		{ "in order", { 100, 103, 103, 104, 110 }, { 3, 0, 1, 6, 1 }, { 1, 1, 1, 1, 1 },
		  0, 0, 0, 0 },
		{ "one gap", { 100, 103, 110, 112, 113 }, { 3, 2, 2, 1, 1 }, { 1, 1, 1, 1, 1 },
		  1, 5, 0, 0 },
		{ "wraps around 2^32", { 0xfffffffeu, 1, 2, 3, 4 }, { 3, 1, 1, 1, 1 },
		  { 1, 1, 1, 1, 1 }, 0, 0, 0, 0 },
		{ "gap across the wrap", { 0xfffffffeu, 5, 6, 7, 8 }, { 3, 1, 1, 1, 1 },
		  { 1, 1, 1, 1, 1 }, 1, 4, 0, 0 },
		{ "backwards", { 500, 502, 10, 11, 12 }, { 2, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1 },
		  0, 0, 1, 0 },
		/* softflowd 1.1.0: number = records before + records in it */
		{ "softflowd counter", { 3, 5, 10, 11, 14 }, { 3, 2, 5, 1, 3 },
		  { 1, 1, 1, 1, 1 }, 0, 0, 0, 4 },
		/* an RFC exporter proven by a message with differing counts:
		 * a gap that looks like the quirk is a gap */
		{ "real gap after RFC proof", { 100, 103, 104, 108, 112 }, { 3, 1, 3, 4, 1 },
		  { 1, 1, 1, 1, 1 }, 1, 1, 0, 0 },
		{ "new transport session", { 100, 103, 9000, 9001, 9002 }, { 3, 1, 1, 1, 1 },
		  { 1, 1, 2, 2, 2 }, 0, 0, 1, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;

		vt_test_case = cases[i].what;
		for (int k = 0; k < 5; k++) {
			mb_ipfix(&m, EXPT, cases[i].seq[k], 3);
			if (k == 0)
				define_small(&m, 256);
			for (int r = 0; r < cases[i].recs[k]; r++)
				data_small(&m, 256);
			size_t n = mb_end(&m);
			flowdec_input(fd, &EXP1, cases[i].port[k], EMS, m.b, n, 1);
		}
		struct fd_exporter_stats st = exp_stats(fd, EXP1);
		CHECK_EQ_U64(st.seq_gaps, cases[i].gaps);
		CHECK_EQ_U64(st.seq_lost, cases[i].lost);
		CHECK_EQ_U64(st.seq_resets, cases[i].resets);
		CHECK_EQ_U64(st.seq_quirks, cases[i].quirks);
		flowdec_free(fd);
	}
	vt_test_case = "t_sequence";
}

/* Exporters that leave options data records out of the count, in either
 * counting style (softflowd 1.1.0 does both: its own records, no options). */
static void t_sequence_options(void)
{
	static const struct {
		const char *what;
		uint32_t seq[3];
		uint64_t quirks;
	} cases[] = {
		{ "softflowd: own records, options left out", { 24, 56, 81 }, 2 },
		{ "RFC counting, options left out", { 0, 24, 56 }, 0 },
		{ "RFC counting, options counted", { 0, 25, 57 }, 0 },
	};
	static const uint8_t opts[3] = { 1, 0, 1 }, recs[3] = { 24, 32, 25 };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;

		vt_test_case = cases[i].what;
		for (int k = 0; k < 3; k++) {
			mb_ipfix(&m, EXPT, cases[i].seq[k], 1);
			if (k == 0) {
				define_small(&m, 256);
				mb_set(&m, 3);
				wr_u16(&m.w, 300);
				wr_u16(&m.w, 2);
				wr_u16(&m.w, 1);
				mb_field(&m, 149, 4, 0);
				mb_field(&m, 34, 4, 0);
				mb_set_end(&m, 0);
			}
			if (opts[k]) {
				mb_set(&m, 300);
				wr_u32(&m.w, 1);
				wr_u32(&m.w, 1);
				mb_set_end(&m, 0);
			}
			for (int r = 0; r < recs[k]; r++)
				data_small(&m, 256);
			feed(fd, EXP1, EMS, &m, 1);
		}
		struct fd_exporter_stats st = exp_stats(fd, EXP1);
		CHECK_EQ_U64(st.seq_gaps, 0);
		CHECK_EQ_U64(st.seq_resets, 0);
		CHECK_EQ_U64(st.seq_quirks, cases[i].quirks);
		flowdec_free(fd);
	}
	vt_test_case = "t_sequence_options";
}

/* Timestamps: every encoding the decoder accepts. */
static void t_timestamps(void)
{
	enum { T_S4, T_MS8, T_US8, T_NS8, T_DUS4, T_UP4, T_UP8, T_INIT8 };
	static const struct {
		const char *what;
		uint16_t ie_start, ie_end;
		uint8_t kind;
		uint64_t vstart, vend;
		bool with_init;
		uint64_t want_first, want_last;
		uint8_t flags;
	} cases[] = {
		{ "seconds", 150, 151, T_S4, 1699999990, 1699999995, false,
		  1699999990000ull, 1699999995000ull, 0 },
		{ "milliseconds", 152, 153, T_MS8, 1699999990123ull, 1699999995456ull, false,
		  1699999990123ull, 1699999995456ull, 0 },
		/* NTP: 1699999990 + 2208988800 s, fraction 0x80000000 = .5 s */
		{ "microseconds (NTP)", 154, 155, T_US8,
		  (3908988790ull << 32) | 0x80000000u, (3908988795ull << 32) | 0x40000000u, false,
		  1699999990500ull, 1699999995250ull, 0 },
		{ "nanoseconds (NTP)", 156, 157, T_NS8,
		  (3908988790ull << 32) | 0x10000000u, (3908988795ull << 32), false,
		  1699999990062ull, 1699999995000ull, 0 },
		{ "delta microseconds", 158, 159, T_DUS4, 9000000, 2500000, false,
		  EMS - 9000, EMS - 2500, 0 },
		{ "uptime with systemInitTime", 22, 21, T_UP4, 5000, 8000, true,
		  1699999000000ull + 5000, 1699999000000ull + 8000, 0 },
		{ "uptime without reference", 22, 21, T_UP4, 5000, 8000, false,
		  EMS - 3000, EMS, FLOWREC_F_TIME_ESTIMATED },
		/* the uptime wrapped between start and end: a 356 ms flow */
		{ "uptime without reference, wrapped", 22, 21, T_UP4, 0xffffff00u, 100, false,
		  EMS - 356, EMS, FLOWREC_F_TIME_ESTIMATED },
		/* end before start: 3 s, not 2^32 - 3000 ms (49.7 days) */
		{ "uptime without reference, end before start", 22, 21, T_UP4, 8000, 5000, false,
		  EMS - 3000, EMS, FLOWREC_F_TIME_ESTIMATED | FLOWREC_F_TIME_SWAPPED },
		{ "8-byte uptime = absolute ms", 22, 21, T_UP8, 1699999990123ull, 1699999995456ull,
		  false, 1699999990123ull, 1699999995456ull, 0 },
		{ "zero absolute times", 152, 153, T_MS8, 0, 0, false, EMS, EMS,
		  FLOWREC_F_TIME_ESTIMATED },
		{ "end before start", 152, 153, T_MS8, 1699999995000ull, 1699999990000ull, false,
		  1699999990000ull, 1699999995000ull, FLOWREC_F_TIME_SWAPPED },
		{ "only an end", 0, 153, T_MS8, 0, 1699999995000ull, false,
		  1699999995000ull, 1699999995000ull, FLOWREC_F_TIME_ESTIMATED },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;
		uint16_t len = cases[i].kind == T_S4 || cases[i].kind == T_DUS4 ||
					       cases[i].kind == T_UP4 ? 4 : 8;

		vt_test_case = cases[i].what;
		mb_ipfix(&m, EXPT, 0, 1);
		mb_set(&m, 2);
		wr_u16(&m.w, 256);
		wr_u16(&m.w, (uint16_t)(1 + (cases[i].ie_start ? 1 : 0) + 1 + cases[i].with_init));
		mb_field(&m, 8, 4, 0);
		if (cases[i].ie_start)
			mb_field(&m, cases[i].ie_start, len, 0);
		mb_field(&m, cases[i].ie_end, len, 0);
		if (cases[i].with_init)
			mb_field(&m, 160, 8, 0);
		mb_set_end(&m, 0);
		mb_set(&m, 256);
		mb_v4(&m, 1, 1, 1, 1);
		if (cases[i].ie_start)
			wr_uint(&m.w, cases[i].vstart, len);
		wr_uint(&m.w, cases[i].vend, len);
		if (cases[i].with_init)
			wr_u64(&m.w, 1699999000000ull);
		mb_set_end(&m, 0);
		CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 1);
		CHECK_EQ_U64(c.r[0].first_ms, cases[i].want_first);
		CHECK_EQ_U64(c.r[0].last_ms, cases[i].want_last);
		CHECK_EQ(c.r[0].dec_flags, cases[i].flags);
		flowdec_free(fd);
	}
	vt_test_case = "t_timestamps";
}

/* systemInitTimeMilliseconds from an options record serves later data. */
static void t_sysinit_from_options(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 3);
	wr_u16(&m.w, 256);
	wr_u16(&m.w, 2);
	wr_u16(&m.w, 1);
	mb_field(&m, 144, 4, 0);     /* scope: exportingProcessId */
	mb_field(&m, 160, 8, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 256);
	wr_u32(&m.w, 1);
	wr_u64(&m.w, 1699990000000ull);
	mb_set_end(&m, 0);
	mb_set(&m, 2);
	wr_u16(&m.w, 257);
	wr_u16(&m.w, 2);
	mb_field(&m, 22, 4, 0);
	mb_field(&m, 21, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 257);
	wr_u32(&m.w, 1000);
	wr_u32(&m.w, 2000);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 1);
	CHECK_EQ_U64(c.r[0].first_ms, 1699990001000ull);
	CHECK_EQ_U64(c.r[0].last_ms, 1699990002000ull);
	CHECK_EQ(c.r[0].dec_flags, 0);
	CHECK_EQ(exp_stats(fd, EXP1).options_records, 1);
	flowdec_free(fd);
}

/* flowStart/EndSysUpTime are 32-bit milliseconds since
 * systemInitTimeMilliseconds: on an exporter up for longer than 49.7
 * days they have wrapped, and the time is the one nearest the export. */
static void t_sysinit_uptime_wrap(void)
{
	static const struct {
		const char *what;
		uint64_t up_ms;          /* exporter uptime at export */
	} cases[] = {
		{ "up 1 hour", 3600000ull },
		{ "up 30 days", 30 * 86400000ull },
		{ "up 60 days (wrapped once)", 60 * 86400000ull },
		{ "up 400 days (wrapped 8 times)", 400 * 86400000ull },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap c;
		struct flowdec *fd = fd_cap_new(&c, NULL);
		struct mb m;
		uint64_t init = EMS - cases[i].up_ms;

		vt_test_case = cases[i].what;
		mb_ipfix(&m, EXPT, 0, 1);
		mb_set(&m, 2);
		wr_u16(&m.w, 256);
		wr_u16(&m.w, 4);
		mb_field(&m, 8, 4, 0);
		mb_field(&m, 22, 4, 0);
		mb_field(&m, 21, 4, 0);
		mb_field(&m, 160, 8, 0);
		mb_set_end(&m, 0);
		mb_set(&m, 256);
		mb_v4(&m, 1, 1, 1, 1);
		wr_u32(&m.w, (uint32_t)(cases[i].up_ms - 10000));   /* started 10 s ago */
		wr_u32(&m.w, (uint32_t)(cases[i].up_ms - 2000));    /* ended 2 s ago */
		wr_u64(&m.w, init);
		mb_set_end(&m, 0);
		CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 1);
		CHECK_EQ_U64(c.r[0].first_ms, EMS - 10000);
		CHECK_EQ_U64(c.r[0].last_ms, EMS - 2000);
		CHECK_EQ(c.r[0].dec_flags, 0);
		flowdec_free(fd);
	}
	vt_test_case = "t_sysinit_uptime_wrap";
}

/* Sampling from options records: selector id -> packet interval/space,
 * and a domain-wide samplingInterval. */
static void t_sampling(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 3);                  /* options: selectorId -> 1 of 100 */
	wr_u16(&m.w, 256);
	wr_u16(&m.w, 3);
	wr_u16(&m.w, 1);
	mb_field(&m, 302, 4, 0);
	mb_field(&m, 305, 4, 0);
	mb_field(&m, 306, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 256);
	wr_u32(&m.w, 5);
	wr_u32(&m.w, 1);
	wr_u32(&m.w, 99);
	mb_set_end(&m, 0);
	mb_set(&m, 2);                  /* data with selectorId */
	wr_u16(&m.w, 257);
	wr_u16(&m.w, 3);
	mb_field(&m, 302, 4, 0);
	mb_field(&m, 1, 4, 0);
	mb_field(&m, 2, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 257);
	wr_u32(&m.w, 5);
	wr_u32(&m.w, 1000);
	wr_u32(&m.w, 2);
	wr_u32(&m.w, 6);                /* unknown selector: no sampling yet */
	wr_u32(&m.w, 1000);
	wr_u32(&m.w, 2);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 2);
	CHECK_EQ(c.r[0].sampling, 100);
	CHECK_EQ_U64(c.r[0].bytes, 100000);
	CHECK_EQ_U64(c.r[0].packets, 200);
	CHECK_EQ(c.r[1].sampling, 1);
	CHECK_EQ_U64(c.r[1].bytes, 1000);
	/* a domain-wide rate (options record without selector) now applies to
	 * the unknown selector */
	mb_ipfix(&m, EXPT, 3, 1);
	mb_set(&m, 3);
	wr_u16(&m.w, 258);
	wr_u16(&m.w, 2);
	wr_u16(&m.w, 1);
	mb_field(&m, 149, 4, 0);
	mb_field(&m, 34, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 258);
	wr_u32(&m.w, 1);
	wr_u32(&m.w, 10);
	mb_set_end(&m, 0);
	mb_set(&m, 257);
	wr_u32(&m.w, 6);
	wr_u32(&m.w, 1000);
	wr_u32(&m.w, 2);
	mb_set_end(&m, 0);
	c.n = 0;
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 2), 1);
	CHECK_EQ(c.r[0].sampling, 10);
	CHECK_EQ_U64(c.r[0].bytes, 10000);
	CHECK_EQ(exp_stats(fd, EXP1).sampling, 10);
	flowdec_free(fd);
}

/* Options records scoped to an interface (scope ingressInterface):
 * each rate holds for its interface only, as NetFlow v9's Interface
 * scope does, never for the whole domain. */
static void t_interface_sampling(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 3);
	wr_u16(&m.w, 256);
	wr_u16(&m.w, 2);
	wr_u16(&m.w, 1);
	mb_field(&m, 10, 4, 0);         /* scope: ingressInterface */
	mb_field(&m, 34, 4, 0);         /* samplingInterval */
	mb_set_end(&m, 0);
	mb_set(&m, 256);
	wr_u32(&m.w, 1);
	wr_u32(&m.w, 100);
	wr_u32(&m.w, 2);
	wr_u32(&m.w, 10);
	mb_set_end(&m, 0);
	mb_set(&m, 2);
	wr_u16(&m.w, 257);
	wr_u16(&m.w, 3);
	mb_field(&m, 10, 4, 0);
	mb_field(&m, 1, 4, 0);
	mb_field(&m, 2, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 257);
	static const uint32_t ifs[] = { 1, 2, 3 }, want[] = { 100, 10, 1 };
	for (size_t i = 0; i < ARRAY_SIZE(ifs); i++) {
		wr_u32(&m.w, ifs[i]);
		wr_u32(&m.w, 1000);
		wr_u32(&m.w, 2);
	}
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 3);
	for (size_t i = 0; i < ARRAY_SIZE(ifs); i++) {
		CHECK_EQ(c.r[i].in_if, ifs[i]);
		CHECK_EQ(c.r[i].sampling, want[i]);
		CHECK_EQ_U64(c.r[i].bytes, 1000ull * want[i]);
	}
	CHECK_EQ(exp_stats(fd, EXP1).options_records, 2);
	flowdec_free(fd);
}

/* A template id first used for an options template, then re-assigned to
 * a data template (pmacct test 112): the new definition wins. */
static void t_template_reassignment(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct mb m;

	mb_ipfix(&m, EXPT, 0, 1);
	mb_set(&m, 3);
	wr_u16(&m.w, 260);
	wr_u16(&m.w, 2);
	wr_u16(&m.w, 1);
	mb_field(&m, 302, 4, 0);
	mb_field(&m, 34, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 260);
	wr_u32(&m.w, 1);
	wr_u32(&m.w, 50);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 1), 0);
	mb_ipfix(&m, EXPT, 1, 1);
	mb_set(&m, 2);
	wr_u16(&m.w, 260);
	wr_u16(&m.w, 2);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 1, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 260);
	mb_v4(&m, 4, 4, 4, 4);
	wr_u32(&m.w, 64);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, EXP1, EMS, &m, 2), 1);
	CHECK_EQ_U64(c.r[0].bytes, 64);
	struct fd_exporter_stats st = exp_stats(fd, EXP1);
	CHECK_EQ(st.templates_redefined, 1);
	CHECK_EQ(st.templates, 1);
	flowdec_free(fd);
}

/* ---- IPFIX over TCP framing ----------------------------------------------- */

struct frames {
	size_t n;
	size_t len[8];
	uint8_t first[8];
};

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct frames *f = arg;
	if (f->n < 8) {
		f->len[f->n] = len;
		f->first[f->n] = msg[IPFIX_HDR_LEN];
	}
	f->n++;
}

static void t_stream(void)
{
	uint8_t s[3 * 40];
	size_t lens[3] = { 40, 16, 64 };
	size_t off = 0;

	/* three messages back to back, 40 + 16 + 64 bytes */
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3; i++) {
		st_be16(s + off, 10);
		st_be16(s + off + 2, (uint16_t)lens[i]);
		if (lens[i] > IPFIX_HDR_LEN)
			s[off + IPFIX_HDR_LEN] = (uint8_t)(0xa0 + i);
		off += lens[i];
	}
	/* every split point of the byte stream delivers the same messages */
	for (size_t cut = 0; cut <= off; cut++) {
		struct ipfix_stream st;
		struct frames f = { 0 };
		ipfix_stream_init(&st);
		CHECK_EQ(ipfix_stream_feed(&st, s, cut, on_msg, &f), 0);
		CHECK_EQ(ipfix_stream_feed(&st, s + cut, off - cut, on_msg, &f), 0);
		CHECK_EQ(f.n, 3);
		CHECK_EQ(f.len[0], 40);
		CHECK_EQ(f.len[1], 16);
		CHECK_EQ(f.len[2], 64);
		CHECK_EQ(f.first[2], 0xa2);
		CHECK_EQ(ipfix_stream_pending(&st), 0);
		ipfix_stream_free(&st);
	}
	/* byte by byte */
	struct ipfix_stream st;
	struct frames f = { 0 };
	ipfix_stream_init(&st);
	for (size_t i = 0; i < off; i++)
		CHECK_EQ(ipfix_stream_feed(&st, s + i, 1, on_msg, &f), 0);
	CHECK_EQ(f.n, 3);
	/* a header that is not IPFIX desynchronises the stream */
	uint8_t bad[20] = { 0, 9, 0, 20 };
	CHECK_EQ(ipfix_stream_feed(&st, bad, sizeof(bad), on_msg, &f), -EBADMSG);
	ipfix_stream_free(&st);
	uint8_t shortlen[4] = { 0, 10, 0, 8 };
	ipfix_stream_init(&st);
	CHECK_EQ(ipfix_stream_feed(&st, shortlen, 4, on_msg, &f), -EBADMSG);
	ipfix_stream_free(&st);
	/* a partial message is bounded by the 64 KiB maximum */
	uint8_t big[4] = { 0, 10, 0xff, 0xff };
	ipfix_stream_init(&st);
	CHECK_EQ(ipfix_stream_feed(&st, big, 4, on_msg, &f), 0);
	CHECK_EQ(ipfix_stream_pending(&st), 4);
	ipfix_stream_free(&st);
}

static void t_dispatch_errors(void)
{
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	uint8_t b[32] = { 0, 7 };

	CHECK_EQ(flowdec_input(fd, &EXP1, 1, 0, b, 3, 1), -EBADMSG);
	CHECK_EQ(flowdec_input(fd, &EXP1, 1, 0, b, sizeof(b), 1), -EBADMSG);
	b[1] = 10;
	CHECK_EQ(flowdec_input(fd, &EXP1, 1, 0, b, 12, 1), -EBADMSG);
	struct fd_exporter_stats st = exp_stats(fd, EXP1);
	CHECK_EQ(st.error[FD_ERR_SHORT], 2);
	CHECK_EQ(st.error[FD_ERR_VERSION], 1);
	CHECK_EQ(st.packets, 3);
	CHECK_STR(flowdec_err_name(FD_ERR_SET_LENGTH), "set_length");
	CHECK_STR(flowdec_err_name(FD_ERR__COUNT), "unknown");
	flowdec_free(fd);
}

/* The exporter table is bounded: the least recently seen one goes. */
static void t_exporter_bound(void)
{
	struct cap c;
	struct flowdec_conf conf;
	flowdec_conf_defaults(&conf);
	conf.max_exporters = 3;
	struct flowdec *fd = fd_cap_new(&c, &conf);
	struct mb m;

	for (uint8_t i = 1; i <= 4; i++) {
		mb_ipfix(&m, EXPT, 0, 1);
		define_small(&m, 256);
		feed(fd, ip4(10, 0, 0, i), EMS + i, &m, i);
	}
	struct flowdec_stats st;
	flowdec_stats(fd, &st);
	CHECK_EQ(st.exporters, 3);
	CHECK_EQ(st.exporters_evicted, 1);
	CHECK_EQ(st.templates, 3);
	struct vt_addr gone = ip4(10, 0, 0, 1);
	struct fd_exporter_stats es;
	CHECK_EQ(flowdec_exporter_stats(fd, &gone, &es), -ENOENT);
	flowdec_free(fd);
}

/* The config keys and flowdec_conf_defaults() agree, and bad values are
 * refused with the key named. */
static void t_conf_keys(void)
{
	struct flowdec_conf a, b;
	struct conf_section sec = { "decode", "decoder bounds", flowdec_conf_keys,
				    flowdec_conf_nkeys, 0, NULL };
	struct vt_err err = { 0 };
	static const char text[] = "[decode]\nhold_time = 5s\nmax_exporters = 100\n";
	static const char bad[] = "[decode]\nhold_memory = lots\n";

	memset(&a, 0, sizeof(a));
	flowdec_conf_defaults(&b);
	CHECK_EQ(conf_defaults(&sec, 1, &a, &err), 0);
	CHECK_MEM(&a, &b, sizeof(a));
	CHECK_EQ(conf_parse(text, sizeof(text) - 1, "t.conf", &sec, 1, &a, &err), 0);
	CHECK_EQ_U64(a.hold_ms, 5000);
	CHECK_EQ_U64(a.max_exporters, 100);
	CHECK(conf_parse(bad, sizeof(bad) - 1, "t.conf", &sec, 1, &a, &err) < 0);
	CHECK_CONTAINS(err.msg, "hold_memory");
	a.max_domains_per_exporter = 0;
	struct cap c;
	CHECK(fd_cap_new(&c, &a) == NULL);
}

static void setup(void)
{
	EXP1 = ip4(192, 0, 2, 1);
}

static void t_setup(void)
{
	setup();
	CHECK(ie_lookup(0, 1) != NULL);
	CHECK_STR(ie_lookup(0, 152)->name, "flowStartMilliseconds");
	CHECK(ie_lookup(2636, 1) == NULL);
	CHECK(ie_lookup(IPFIX_PEN_REVERSE, 1) == ie_lookup(0, 1));
	CHECK_EQ(ie_field_map(ie_lookup(0, 8), 16), IEM_NONE);   /* wrong length */
	CHECK_EQ(ie_field_map(ie_lookup(0, 8), 4), IEM_SRC4);
}

VT_TEST_MAIN(VT_T(t_setup), VT_T(t_template_and_data), VT_T(t_set_records_independent),
	     VT_T(t_varlen_forms),
	     VT_T(t_enterprise_fields), VT_T(t_ip_version), VT_T(t_biflow), VT_T(t_withdrawal),
	     VT_T(t_zero_length_and_padding), VT_T(t_bad_lengths),
	     VT_T(t_template_count_overflow), VT_T(t_data_before_template),
	     VT_T(t_hold_expiry_and_bounds), VT_T(t_sequence), VT_T(t_sequence_options),
	     VT_T(t_timestamps),
	     VT_T(t_sysinit_from_options), VT_T(t_sysinit_uptime_wrap), VT_T(t_sampling), VT_T(t_interface_sampling), VT_T(t_template_reassignment),
	     VT_T(t_stream), VT_T(t_dispatch_errors), VT_T(t_exporter_bound),
	     VT_T(t_conf_keys))
