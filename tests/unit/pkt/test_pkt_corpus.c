/* Unit tests: lib/pkt reader + decoder on real captures from the shared
 * corpus, with exact counts. The traffic/ numbers are the ones tshark
 * reports for the same files (tests/integration/decode_tshark.sh checks
 * that frame by frame); the malformed/ numbers pin down the behaviour
 * docs/decoder.md describes for each class of damage. */
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

#include "vt_test.h"

struct counts {
	uint64_t records, ip, non_ip, undecoded, ip_len, l4, tagged, frags, v6;
	uint64_t err[PKT_ERR__COUNT];
};

struct ccase {
	const char *file;
	const char *format;
	struct counts c;          /* err[] only for the reasons listed below */
	enum pkt_err e1, e2;      /* reasons whose counts are checked */
	uint64_t n1, n2;
	const char *read_error;   /* substring, or NULL for a clean end */
};

static int tally(const char *rel, struct counts *c, char *fmt, size_t fmtlen, struct vt_err *err)
{
	struct pcapfile *pf = pcapfile_open(vt_corpus(rel), err);
	struct pcap_rec rec;
	struct pkt_info pi;
	int r;

	memset(c, 0, sizeof(*c));
	if (!pf)
		return -1;
	snprintf(fmt, fmtlen, "%s", pcapfile_format(pf));
	while ((r = pcapfile_next(pf, &rec, err)) == 1) {
		int d = pkt_decode_frame(&pi, rec.link, rec.data, rec.caplen, rec.wirelen);

		c->records++;
		c->ip += d == 0;
		c->non_ip += d == 1;
		c->undecoded += d < 0;
		if (d == 0) {
			c->ip_len += pi.ip_len;
			c->l4 += pi.has_l4;
			c->v6 += pi.ipver == 6;
		}
		c->tagged += pi.nvlan > 0;
		c->frags += pi.is_frag;
		c->err[pi.err]++;
	}
	pcapfile_close(pf);
	return r;
}

static const struct ccase cases[] = {
	/* link types, tags, labels, tunnels of PPPoE */
	{ "traffic/zeek_vlan-qinqinq.pcap", "pcap",
	  { .records = 14, .ip = 14, .ip_len = 5891, .l4 = 14, .tagged = 14 } },
	{ "traffic/tcpdump_802.1ad_QinQ.pcap", "pcap",
	  { .records = 2, .non_ip = 2, .tagged = 2 } },
	{ "traffic/libtrace_vlan.pcap", "pcap",
	  { .records = 395, .ip = 230, .non_ip = 165, .ip_len = 113363, .l4 = 220, .tagged = 389,
	    .frags = 20 } },
	{ "traffic/zeek_pppoe-over-qinq.pcap", "pcap",
	  { .records = 86, .ip = 86, .ip_len = 38284, .l4 = 86, .tagged = 86 } },
	{ "traffic/libtrace_mpls.pcap", "pcap",
	  { .records = 10, .ip = 10, .ip_len = 1000, .l4 = 10 } },
	{ "traffic/zeek_mixed-vlan-mpls.pcap", "pcap",
	  { .records = 47, .ip = 47, .ip_len = 15327, .l4 = 47, .tagged = 14 } },
	{ "traffic/zeek_nflog-http.pcap", "pcap",
	  { .records = 13, .ip = 13, .ip_len = 2266, .l4 = 13 } },
	{ "traffic/zeek_linux_dlt_sll2.pcap", "pcap",
	  { .records = 6, .ip = 4, .non_ip = 2, .ip_len = 376, .l4 = 4, .v6 = 2 } },
	{ "traffic/pcapplusplus_sll.pcap", "pcap",
	  { .records = 518, .ip = 511, .non_ip = 7, .ip_len = 442984, .l4 = 511, .v6 = 1 } },
	{ "traffic/pcapplusplus_null_loopback.pcap", "pcap",
	  { .records = 3, .ip = 3, .ip_len = 912, .l4 = 3, .v6 = 1 } },
	{ "traffic/pcapplusplus_raw_ip.pcap", "pcap",
	  { .records = 100, .ip = 100, .ip_len = 31018, .l4 = 100, .v6 = 50 } },
	/* fragments, extension headers, big packets */
	{ "traffic/pcapplusplus_ip4_fragments.pcap", "pcap",
	  { .records = 53, .ip = 53, .ip_len = 71012, .l4 = 12, .frags = 50 } },
	{ "traffic/pcapplusplus_ip6_fragments.pcap", "pcap",
	  { .records = 36, .ip = 36, .ip_len = 5710, .l4 = 4, .frags = 36, .v6 = 36 } },
	{ "traffic/zeek_ipv6-http-atomic-frag.pcap", "pcap",
	  { .records = 38, .ip = 38, .ip_len = 2876, .l4 = 38, .v6 = 38 } },
	{ "traffic/zeek_ip6_esp.pcap", "pcap",
	  { .records = 121, .ip = 121, .ip_len = 16556, .l4 = 1, .v6 = 121 } },
	{ "traffic/tcpdump_bigtcp-ipv4.pcap", "pcap",
	  { .records = 1, .ip = 1, .ip_len = 80052, .l4 = 1 } },
	{ "traffic/tcpdump_ipv6_jumbogram_1.pcap", "pcap",
	  { .records = 1, .ip = 1, .ip_len = 65576, .l4 = 1, .v6 = 1 } },
	{ "traffic/zeek_sctp.pcap", "pcap",
	  { .records = 74, .ip = 74, .ip_len = 66780, .l4 = 74 } },
	{ "traffic/tcpdump_dccp_partial_csum_v4_longer.pcap", "pcap",
	  { .records = 15, .ip = 15, .ip_len = 1304, .l4 = 15 } },
	/* file formats: multi-interface pcapng, big-endian ns, a lying name */
	{ "traffic/pcapplusplus_many_interfaces-1.pcapng", "pcapng",
	  { .records = 64, .ip = 64, .ip_len = 15078, .l4 = 64 } },
	{ "traffic/pcapplusplus_nanosecs_big_endian.pcap", "pcap-ns-be",
	  { .records = 10, .ip = 10, .ip_len = 2058, .l4 = 10 } },
	{ "scans/ndpi_tcp_scan.pcapng", "pcap",
	  { .records = 30, .ip = 18, .non_ip = 12, .ip_len = 860, .l4 = 18 } },
	{ "malformed/ndpi_fuzz-2020-02-16-11740.pcap", "pcapng",
	  { .records = 366, .ip = 328, .non_ip = 27, .undecoded = 11, .ip_len = 150238, .l4 = 299,
	    .frags = 22 },
	  PKT_ERR_IPV4_VERSION, PKT_ERR_IP_WIRELEN, 11, 8 },
	/* malformed: decoded up to the damage, counted by reason */
	{ "malformed/ndpi_badpackets.pcap", "pcap",
	  { .records = 93, .ip = 93, .ip_len = 48224, .l4 = 93, .frags = 93 },
	  PKT_ERR_IP_WIRELEN, PKT_OK, 93, 0 },
	{ "malformed/ndpi_fuzz-2006-06-26-2594.pcap", "pcap-be",
	  { .records = 691, .ip = 606, .non_ip = 78, .undecoded = 7, .ip_len = 82807,
	    .frags = 29 },
	  PKT_ERR_IPV4_VERSION, PKT_ERR_UDP_LEN, 6, 25 },
	{ "malformed/tcpdump_ipv4_invalid_hdr_length.pcap", "pcap",
	  { .records = 1, .undecoded = 1 }, PKT_ERR_IPV4_IHL, PKT_OK, 1, 0 },
	{ "malformed/zeek_ipv4-truncated-broken-header.pcap", "pcap",
	  { .records = 1, .undecoded = 1 }, PKT_ERR_IPV4_LEN, PKT_OK, 1, 0 },
	{ "malformed/zeek_ip6-trunc.pcap", "pcap",
	  { .records = 1, .undecoded = 1 }, PKT_ERR_IPV6_TRUNC, PKT_OK, 1, 0 },
	{ "malformed/tcpdump_ipv6-too-long-jumbo.pcap", "pcap",
	  { .records = 1, .ip = 1, .ip_len = 476, .v6 = 1 }, PKT_ERR_IPV6_JUMBO, PKT_OK, 1, 0 },
	{ "malformed/tcpdump_ip6_frag_asan.pcap", "pcap",
	  { .records = 1, .ip = 1, .ip_len = 27176, .v6 = 1 }, PKT_ERR_IPV6_EXT, PKT_OK, 1, 0 },
	{ "malformed/suricataverify_udp-len-invalid.pcap", "pcap",
	  { .records = 1, .ip = 1, .ip_len = 100, .l4 = 1 }, PKT_ERR_UDP_LEN, PKT_OK, 1, 0 },
	{ "malformed/tcpdump_mpls-label-heapoverflow.pcap", "pcap",
	  { .records = 1, .undecoded = 1 }, PKT_ERR_L2_TRUNC, PKT_OK, 1, 0 },
	{ "malformed/tcpdump_timestamp_invalid_nano.pcap", "pcap-ns",
	  { .records = 3, .ip = 3, .ip_len = 172, .l4 = 3 } },
	{ "malformed/tcpdump_time_2106_overflow.pcapng", "pcapng",
	  { .records = 1, .ip = 1, .ip_len = 84, .l4 = 1 } },
	{ "malformed/pcapplusplus_too_many_interfaces.pcapng", "pcapng",
	  { .records = 1, .ip = 1, .ip_len = 64, .l4 = 1 } },
	{ "malformed/tcpdump_empty.pcap", "pcap", { 0 } },
	{ "malformed/tcpdump_empty.pcapng", "pcapng", { 0 } },
};

static void t_corpus_counts(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct ccase *k = &cases[i];
		struct counts c;
		struct vt_err err = { 0 };
		char fmt[32] = "";
		int r;

		vt_test_case = k->file;
		r = tally(k->file, &c, fmt, sizeof(fmt), &err);
		if (k->read_error) {
			CHECK(r < 0);
			CHECK_CONTAINS(err.msg, k->read_error);
		} else {
			CHECK_EQ(r, 0);
			if (r)
				fprintf(stderr, "  %s: %s\n", k->file, err.msg);
		}
		CHECK_STR(fmt, k->format);
		CHECK_EQ_U64(c.records, k->c.records);
		CHECK_EQ_U64(c.ip, k->c.ip);
		CHECK_EQ_U64(c.non_ip, k->c.non_ip);
		CHECK_EQ_U64(c.undecoded, k->c.undecoded);
		CHECK_EQ_U64(c.ip_len, k->c.ip_len);
		if (k->c.l4 || !k->e1) /* for damaged files only where pinned */
			CHECK_EQ_U64(c.l4, k->c.l4);
		CHECK_EQ_U64(c.tagged, k->c.tagged);
		CHECK_EQ_U64(c.frags, k->c.frags);
		CHECK_EQ_U64(c.v6, k->c.v6);
		if (k->e1)
			CHECK_EQ_U64(c.err[k->e1], k->n1);
		if (k->e2)
			CHECK_EQ_U64(c.err[k->e2], k->n2);
		if (!k->e1 && !k->e2)
			CHECK_EQ_U64(c.err[PKT_OK], c.records); /* clean file: no reason at all */
	}
	vt_test_case = "t_corpus_counts";
}

/* The four headers no reader can open: a message naming what is wrong. */
static void t_corpus_unreadable(void)
{
	static const struct {
		const char *file, *msg;
	} u[] = {
		{ "malformed/libpcap_linktype-reserved-field-not-zero.pcap",
		  "link-type field 0x00300000 has reserved bits set" },
		{ "malformed/libpcap_pcap-invalid-version-1.pcap", "pcap version 1.4 unsupported" },
		{ "malformed/libpcap_pcapng-invalid-vers-1.pcapng",
		  "section header at offset 0: version 0.1 unsupported" },
		{ "malformed/libpcap_shb-option-too-long.pcapng",
		  "section header at offset 0: option 12336 of length 12336 overruns the block" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(u); i++) {
		struct vt_err err = { 0 };
		struct pcapfile *pf = pcapfile_open(vt_corpus(u[i].file), &err);

		CHECK(pf == NULL);
		CHECK_CONTAINS(err.msg, u[i].msg);
		CHECK_CONTAINS(err.msg, u[i].file);
		pcapfile_close(pf);
	}
}

/* Reader statistics on the files that exercise them. */
static void t_corpus_reader_stats(void)
{
	struct vt_err err;
	struct pcap_rec rec;
	struct pcapfile *pf;

	pf = pcapfile_open(vt_corpus("malformed/tcpdump_timestamp_invalid_nano.pcap"), &err);
	CHECK(pf != NULL);
	while (pf && pcapfile_next(pf, &rec, &err) == 1)
		CHECK(rec.ts_ns % 1000000000u <= 999999999u);
	if (pf)
		CHECK_EQ_U64(pcapfile_stats(pf)->bad_timestamps, 2);
	pcapfile_close(pf);

	/* 2^32 seconds: past 2106, representable in ns since the epoch */
	pf = pcapfile_open(vt_corpus("malformed/tcpdump_time_2106_overflow.pcapng"), &err);
	CHECK(pf && pcapfile_next(pf, &rec, &err) == 1);
	if (pf) {
		CHECK_EQ_U64(rec.ts_ns, 4294967296ull * 1000000000u);
		CHECK_EQ_U64(pcapfile_stats(pf)->bad_timestamps, 0);
	}
	pcapfile_close(pf);

	/* orig_len far beyond caplen: delivered as recorded, nothing allocated */
	pf = pcapfile_open(vt_corpus("malformed/ndpi_fuzz-2021-06-07-c6c72a0a56.pcap"), &err);
	CHECK(pf && pcapfile_next(pf, &rec, &err) == 1);
	if (pf) {
		CHECK_EQ(rec.caplen, 48);
		CHECK_EQ_U64(rec.wirelen, 4093509168u);
		CHECK_EQ_U64(pcapfile_stats(pf)->snapped, 1);
		CHECK_EQ(pcapfile_next(pf, &rec, &err), 0);
	}
	pcapfile_close(pf);

	pf = pcapfile_open(vt_corpus("malformed/pcapplusplus_too_many_interfaces.pcapng"), &err);
	while (pf && pcapfile_next(pf, &rec, &err) == 1)
		;
	if (pf) {
		CHECK_EQ_U64(pcapfile_stats(pf)->interfaces, 95);
		CHECK_EQ_U64(pcapfile_stats(pf)->ifs_over_limit, 0);
	}
	pcapfile_close(pf);

	pf = pcapfile_open(vt_corpus("traffic/pcapplusplus_many_interfaces-1.pcapng"), &err);
	{
		int links[2] = { 0, 0 };
		while (pf && pcapfile_next(pf, &rec, &err) == 1)
			links[rec.link == 0]++;
		CHECK_EQ(links[0], 62); /* Ethernet */
		CHECK_EQ(links[1], 2);  /* NULL */
	}
	if (pf)
		CHECK_EQ_U64(pcapfile_stats(pf)->interfaces, 11);
	pcapfile_close(pf);
}

VT_TEST_MAIN(VT_T(t_corpus_counts), VT_T(t_corpus_unreadable), VT_T(t_corpus_reader_stats))
