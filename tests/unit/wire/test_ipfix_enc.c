/* Unit tests: lib/wire/ipfix_enc (+ the shared field model in flowenc) —
 * byte-exact messages, templates, varlen encoding, the peer VM as a second
 * occurrence of 347-350, MTU packing (all-or-nothing adds), set grouping,
 * the options record. Expected bytes were produced independently of this
 * code (python3 struct.pack from docs/wire/ipfix.md). */
#include <errno.h>

#include "core/compiler.h"
#include "wire/ipfix_enc.h"
#include "wire/ipfix_ie.h"

#include "vt_test.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (h[0] && h[1] && n < cap) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static struct flow_rec rec_v4(void)
{
	struct flow_rec r;

	memset(&r, 0, sizeof(r));
	r.first_ms = 1700000000000ull;
	r.last_ms = 1700000001500ull;
	addr_parse("198.18.0.1", &r.src);
	addr_parse("198.18.0.2", &r.dst);
	r.ipver = 4;
	r.sport = 40000;
	r.dport = 443;
	r.proto = 6;
	r.tcp_flags = 0x1b;
	r.tos = 0x10;
	r.in_if = 3;
	r.direction = FLOW_DIR_INGRESS;
	r.end_reason = FLOW_END_IDLE;
	r.bytes = 2312;
	r.packets = 4;
	mac_parse("52:54:00:00:00:01", r.src_mac);
	mac_parse("52:54:00:00:00:02", r.dst_mac);
	return r;
}

static struct flow_rec rec_v6_vm_peer(void)
{
	struct flow_rec r = rec_v4();

	addr_parse("2001:db8::1", &r.src);
	addr_parse("2001:db8::2", &r.dst);
	r.ipver = 6;
	r.proto = 58;
	r.sport = 0;
	r.dport = 0x8000; /* echo request */
	r.tcp_flags = 0;
	r.tos = 0;
	r.vlan = 100;
	r.in_if = 0;
	r.out_if = 18;
	r.direction = FLOW_DIR_EGRESS;
	r.end_reason = FLOW_END_FORCED;
	r.bytes = 1000;
	r.packets = 10;
	r.scope = FLOW_SCOPE_LOCAL;
	r.vm.ifindex = 18;
	snprintf(r.vm.ifname, sizeof(r.vm.ifname), "tp-db-1");
	uuid_parse("11111111-2222-3333-4444-555555555555", r.vm.uuid);
	snprintf(r.vm.name, sizeof(r.vm.name), "db-1");
	r.peer.ifindex = 17;
	snprintf(r.peer.ifname, sizeof(r.peer.ifname), "vp-web-1");
	uuid_parse("6695eb01-f6a4-8304-79aa-97f2502e193f", r.peer.uuid);
	snprintf(r.peer.name, sizeof(r.peer.name), "web-1");
	return r;
}

static void t_message_bytes(void)
{
	static const struct {
		const char *name;
		int which;
		uint32_t seq, domain;
		const char *hex;
	} cases[] = {
		{ "v4 plain", 0, 42, 7,
		  "000a005c6553f1010000002a000000070100004c0000018bcfe568000000018bcfe56ddc0000000000"
		  "0009080000000000000004c6120001c61200029c4001bb06001b1000000000000300000000000152"
		  "5400000001525400000002" },
		{ "v6 vm+peer", 1, 0, 1,
		  "000a00b86553f1010000000000000001010700a80000018bcfe568000000018bcfe56ddc0000000000"
		  "0003e8000000000000000a20010db800000000000000000000000120010db80000000000000000000000"
		  "02000080003a000000006400000000000000120104525400000001525400000002000000120774702d"
		  "64622d31111111112222333344445555555555550464622d31000000110876702d7765622d316695eb"
		  "01f6a4830479aa97f2502e193f057765622d31" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t buf[1500], want[1500];
		struct fe_msg m;
		struct fe_hdr h = { .now_ms = 1700000001999ull, .seq = cases[i].seq,
				    .domain = cases[i].domain };
		struct flow_rec r = cases[i].which ? rec_v6_vm_peer() : rec_v4();
		size_t wl = unhex(cases[i].hex, want, sizeof(want)), len;

		vt_test_case = cases[i].name;
		ipfix_begin(&m, buf, sizeof(buf), &h);
		CHECK_EQ(ipfix_add_flow(&m, &r), 0);
		len = ipfix_end(&m);
		CHECK_EQ(len, wl);
		CHECK_MEM(buf, want, wl);
		CHECK_EQ(m.data_records, 1);
		CHECK_EQ(ipfix_flow_size(&r), wl - IPFIX_HDR_LEN);
	}
}

/* Every template: id, field list (ie, length) in order. */
static void t_templates(void)
{
	static const uint16_t base4[][2] = {
		{ 152, 8 }, { 153, 8 }, { 1, 8 }, { 2, 8 }, { 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 },
		{ 4, 1 }, { 6, 2 }, { 5, 1 }, { 58, 2 }, { 10, 4 }, { 14, 4 }, { 61, 1 },
		{ 136, 1 }, { 56, 6 }, { 80, 6 },
	};
	static const uint16_t vm[][2] = { { 347, 4 }, { 348, 65535 }, { 349, 16 }, { 350, 65535 } };
	uint8_t buf[1500];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 1000, .seq = 0, .domain = 9 };
	struct vt_rd r, set;
	size_t len;

	ipfix_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(ipfix_add_templates(&m), 0);
	len = ipfix_end(&m);
	CHECK_EQ(m.data_records, 0);
	CHECK(!fe_msg_empty(&m));
	r = rd_init(buf, len);
	rd_skip(&r, IPFIX_HDR_LEN);
	CHECK_EQ(rd_u16(&r), IPFIX_SET_TEMPLATE);
	set = rd_sub(&r, rd_u16(&r) - 4u);
	for (unsigned k = 0; k < FE_KINDS; k++) {
		if (k == FE_PEER || k == (FE_PEER | FE_V6))
			continue; /* never used: a peer comes with the observer's block */
		unsigned want_n = 18 + (k & FE_VM ? 4 : 0) + (k & FE_PEER ? 4 : 0);
		unsigned nf;
		CHECK_EQ(rd_u16(&set), 256 + k);
		nf = rd_u16(&set);
		CHECK_EQ(nf, want_n);
		for (unsigned f = 0; f < nf; f++) {
			uint16_t ie = rd_u16(&set), l = rd_u16(&set);
			uint16_t wie, wl;
			if (f < 18) {
				wie = base4[f][0];
				wl = base4[f][1];
				if (k & FE_V6) { /* v6 swaps the address elements */
					if (wie == 8) { wie = 27; wl = 16; }
					if (wie == 12) { wie = 28; wl = 16; }
				}
			} else {
				wie = vm[(f - 18) % 4][0];
				wl = vm[(f - 18) % 4][1];
			}
			CHECK_EQ(ie, wie);
			CHECK_EQ(l, wl);
		}
	}
	CHECK_EQ(rd_left(&set), 0);
	CHECK(!rd_failed(&set));
	/* options template: id 264, 10 fields, 1 scope field (149) */
	CHECK_EQ(rd_u16(&r), IPFIX_SET_OPTIONS_TEMPLATE);
	CHECK_EQ(rd_u16(&r), 4 + 6 + 10 * 4);
	CHECK_EQ(rd_u16(&r), FE_TMPL_OPTIONS);
	CHECK_EQ(rd_u16(&r), 10);
	CHECK_EQ(rd_u16(&r), 1);
	CHECK_EQ(rd_u16(&r), IE_OBSERVATION_DOMAIN_ID);
	CHECK_EQ(rd_u16(&r), 4);
	CHECK_EQ(rd_u16(&r), IE_EXPORTED_MESSAGE_TOTAL_COUNT);
	rd_skip(&r, 2 + 8 * 4);
	CHECK_EQ(rd_left(&r), 0);
	CHECK(!rd_failed(&r));
}

static void t_varlen(void)
{
	static const struct {
		size_t n;
		const char *prefix;
		size_t plen;
	} c[] = {
		{ 0, "\x00", 1 }, { 1, "\x01", 1 }, { 254, "\xfe", 1 },
		{ 255, "\xff\x00\xff", 3 }, { 300, "\xff\x01\x2c", 3 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		uint8_t data[300], out[310];
		struct vt_wr w = wr_init(out, sizeof(out));
		memset(data, 'x', sizeof(data));
		fe_put_varlen(&w, data, c[i].n);
		CHECK(!wr_failed(&w));
		CHECK_EQ(wr_len(&w), c[i].plen + c[i].n);
		CHECK_MEM(out, c[i].prefix, c[i].plen);
		CHECK(c[i].n == 0 || out[c[i].plen + c[i].n - 1] == 'x');
	}
	/* a name of 63 bytes (the longest a vm_ident holds) uses one length
	 * byte; the record length accounts for it */
	{
		struct flow_rec r = rec_v6_vm_peer();
		size_t base = fe_record_len(fe_tmpl(FE_FMT_IPFIX, FE_V6 | FE_VM | FE_PEER), &r);
		memset(r.vm.name, 'n', 63);
		r.vm.name[63] = '\0';
		CHECK_EQ(fe_record_len(fe_tmpl(FE_FMT_IPFIX, FE_V6 | FE_VM | FE_PEER), &r),
			 base + 63 - 4);
	}
}

/* Records never split; a failed add leaves the message byte-identical. */
static void t_mtu_packing(void)
{
	static const size_t caps[] = { 100, 200, 1000, 1472 };
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		uint8_t buf[1500], copy[1500];
		struct fe_msg m;
		struct fe_hdr h = { .now_ms = 1000 };
		struct flow_rec a = rec_v4(), b = rec_v6_vm_peer();
		unsigned n = 0;
		size_t before, len;

		ipfix_begin(&m, buf, caps[i], &h);
		for (;;) {
			const struct flow_rec *r = n % 3 == 2 ? &b : &a;
			before = wr_len(&m.w);
			memcpy(copy, buf, before);
			if (ipfix_add_flow(&m, r) != 0)
				break;
			n++;
		}
		CHECK_EQ(wr_len(&m.w), before);
		CHECK_MEM(buf, copy, before);
		len = ipfix_end(&m);
		CHECK(len <= caps[i]);
		CHECK_EQ(m.data_records, n);
		/* the next record would not have fit */
		CHECK(len + ipfix_flow_size(n % 3 == 2 ? &b : &a) > caps[i] ||
		      (n % 3 != 0 && len + ipfix_flow_size(n % 3 == 2 ? &b : &a) - 4 > caps[i]));
		/* walk the sets: lengths add up to the message */
		{
			struct vt_rd r = rd_init(buf, len);
			unsigned recs = 0;
			rd_skip(&r, 4);
			rd_skip(&r, 12);
			CHECK_EQ(ld_be16(buf + 2), len);
			while (rd_left(&r) >= 4) {
				uint16_t id = rd_u16(&r), sl = rd_u16(&r);
				size_t rl = id == 256 ? 72 : 164;
				CHECK(sl >= 4);
				CHECK_EQ((sl - 4) % rl, 0);
				recs += (unsigned)((sl - 4) / rl);
				rd_skip(&r, sl - 4u);
			}
			CHECK(!rd_failed(&r));
			CHECK_EQ(rd_left(&r), 0);
			CHECK_EQ(recs, n);
		}
	}
	/* a message too small for the templates refuses them intact */
	{
		uint8_t buf[600];
		struct fe_msg m;
		struct fe_hdr h = { .now_ms = 1000 };
		ipfix_begin(&m, buf, sizeof(buf), &h);
		CHECK_EQ(ipfix_add_templates(&m), -ENOSPC);
		CHECK_EQ(ipfix_end(&m), IPFIX_HDR_LEN);
		CHECK(fe_msg_empty(&m));
	}
}

/* Consecutive records of one template share a set. */
static void t_set_grouping(void)
{
	uint8_t buf[1500];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 1000 };
	struct flow_rec a = rec_v4(), b = rec_v6_vm_peer();
	const struct flow_rec *seq[] = { &a, &a, &b, &b, &a };
	static const uint16_t want_ids[] = { 256, 263, 256 };
	static const uint16_t want_len[] = { 4 + 2 * 72, 4 + 2 * 164, 4 + 72 };
	struct vt_rd r;
	size_t len;

	ipfix_begin(&m, buf, sizeof(buf), &h);
	for (size_t i = 0; i < ARRAY_SIZE(seq); i++)
		CHECK_EQ(ipfix_add_flow(&m, seq[i]), 0);
	len = ipfix_end(&m);
	r = rd_init(buf + IPFIX_HDR_LEN, len - IPFIX_HDR_LEN);
	for (size_t i = 0; i < ARRAY_SIZE(want_ids); i++) {
		uint16_t sl;
		CHECK_EQ(rd_u16(&r), want_ids[i]);
		sl = rd_u16(&r);
		CHECK_EQ(sl, want_len[i]);
		rd_skip(&r, sl - 4u);
	}
	CHECK_EQ(rd_left(&r), 0);
	CHECK_EQ(m.flows, 5);
	CHECK_EQ_U64(m.packets, 4 * 3 + 10 * 2);
	CHECK_EQ_U64(m.octets, 2312 * 3 + 1000 * 2);
}

static void t_options_record(void)
{
	uint8_t buf[1500], want[100];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 5000, .seq = 3, .domain = 77 };
	struct fe_counters c = { .messages = 10, .records = 200, .octets = 14000,
				 .ignored_packets = 5, .notsent_flows = 2, .notsent_packets = 9,
				 .notsent_octets = 1234, .active_timeout_s = 60, .idle_timeout_s = 15 };
	size_t wl = unhex("010800440000004d000000000000000a00000000000000c800000000000036b0"
			  "00000000000000050000000000000002000000000000000900000000000004d2"
			  "003c000f", want, sizeof(want));

	ipfix_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(ipfix_add_options(&m, &c, 77), 0);
	CHECK_EQ(ipfix_end(&m), IPFIX_HDR_LEN + wl);
	CHECK_MEM(buf + IPFIX_HDR_LEN, want, wl);
	CHECK_EQ(m.data_records, 1);
	CHECK_EQ(m.flows, 0);
}

/* A local peer whose observing port has no known VM: the observer's block
 * is still there (empty) so the first occurrence of 347-350 always means
 * the observing VM. */
static void t_peer_without_vm(void)
{
	uint8_t buf[1500];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 1000 };
	struct flow_rec r = rec_v6_vm_peer();
	static const uint8_t empty_vm[4 + 1 + 16 + 1] = { 0 };
	const uint8_t *rec;

	r.ipver = 4;
	addr_parse("198.18.0.1", &r.src);
	addr_parse("198.18.0.2", &r.dst);
	memset(&r.vm, 0, sizeof(r.vm));
	CHECK_EQ(fe_kind(&r), FE_VM | FE_PEER);
	ipfix_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(ipfix_add_flow(&m, &r), 0);
	CHECK_EQ(ipfix_end(&m), IPFIX_HDR_LEN + 4 + 72 + sizeof(empty_vm) + 4 + 1 + 8 + 16 + 1 + 5);
	CHECK_EQ(ld_be16(buf + IPFIX_HDR_LEN), 262);
	rec = buf + IPFIX_HDR_LEN + 4;
	CHECK_MEM(rec + 72, empty_vm, sizeof(empty_vm));
	CHECK_EQ(ld_be32(rec + 72 + sizeof(empty_vm)), 17); /* then the peer: web-1 */
	CHECK_MEM(rec + 72 + sizeof(empty_vm) + 4, "\x08vp-web-1", 9);
	/* without local scope the peer is not exported at all */
	r.scope = FLOW_SCOPE_REMOTE;
	CHECK_EQ(fe_kind(&r), 0);
}

VT_TEST_MAIN(VT_T(t_message_bytes), VT_T(t_templates), VT_T(t_varlen), VT_T(t_mtu_packing),
	     VT_T(t_set_grouping), VT_T(t_options_record), VT_T(t_peer_without_vm))
