/* Unit tests: lib/wire/nfv9_enc — byte-exact packets (uptime-relative
 * times, 1-byte TCP flags, 4-byte flowset padding, the count field),
 * templates with fixed-length VM names, options template layout, MTU
 * packing including the padding. Expected bytes were produced
 * independently (python3 struct.pack from docs/wire/ipfix.md). */
#include <errno.h>

#include "core/compiler.h"
#include "wire/ipfix_ie.h"
#include "wire/nfv9_enc.h"

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

static void t_packet_bytes(void)
{
	uint8_t buf[1500], want[200];
	struct fe_msg m;
	/* boot 1699999990.500 s: the encoder uses the whole second below */
	struct fe_hdr h = { .now_ms = 1700000001777ull, .seq = 5, .domain = 7,
			    .boot_ms = 1699999990500ull };
	struct flow_rec r = rec_v4();
	size_t wl = unhex("0009000100002af86553f1010000000500000007010000480000271000002cec00000000"
			  "000009080000000000000004c6120001c61200029c4001bb061b1000000000000000"
			  "03000000000001525400000001525400000002000000",
			  want, sizeof(want));

	nfv9_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(nfv9_add_flow(&m, &r), 0);
	CHECK_EQ(nfv9_end(&m), wl);
	CHECK_MEM(buf, want, wl);
	CHECK_EQ(m.items, 1);
	/* a collector rebuilding absolute time gets the exact ms back:
	 * unix_secs*1000 - sysUpTime + FIRST_SWITCHED */
	CHECK_EQ_U64((uint64_t)ld_be32(buf + 8) * 1000 - ld_be32(buf + 4) + ld_be32(buf + 24),
		     r.first_ms);
	CHECK_EQ_U64((uint64_t)ld_be32(buf + 8) * 1000 - ld_be32(buf + 4) + ld_be32(buf + 28),
		     r.last_ms);
}

static void t_templates(void)
{
	uint8_t buf[1500];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 1000, .domain = 3 };
	struct vt_rd r, set;
	size_t len;

	nfv9_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(nfv9_add_templates(&m), 0);
	len = nfv9_end(&m);
	CHECK_EQ(ld_be16(buf + 2), 6 + 1); /* count: 6 templates + 1 options template */
	r = rd_init(buf + NFV9_HDR_LEN, len - NFV9_HDR_LEN);
	CHECK_EQ(rd_u16(&r), NFV9_FLOWSET_TEMPLATE);
	{
		uint16_t sl = rd_u16(&r);
		CHECK_EQ(sl % 4, 0);
		set = rd_sub(&r, sl - 4u);
	}
	for (unsigned k = 0; k < FE_KINDS; k++) {
		uint16_t nf;
		if (k == FE_PEER || k == (FE_PEER | FE_V6))
			continue;
		CHECK_EQ(rd_u16(&set), 256 + k);
		nf = rd_u16(&set);
		CHECK_EQ(nf, 19 + (k & FE_VM ? 4 : 0) + (k & FE_PEER ? 4 : 0));
		/* FIRST_SWITCHED, LAST_SWITCHED, IN_BYTES(8), IN_PKTS(8) */
		CHECK_EQ(rd_u16(&set), IE_FLOW_START_SYS_UP_TIME);
		CHECK_EQ(rd_u16(&set), 4);
		CHECK_EQ(rd_u16(&set), IE_FLOW_END_SYS_UP_TIME);
		CHECK_EQ(rd_u16(&set), 4);
		for (unsigned f = 2; f < nf; f++) {
			uint16_t ie = rd_u16(&set), l = rd_u16(&set);
			if (ie == IE_TCP_CONTROL_BITS)
				CHECK_EQ(l, 1);
			if (f == 11) /* ICMP_TYPE after the ToS, in v6 templates too */
				CHECK_EQ(ie, IE_ICMP_TYPE_CODE_IPV4);
			if (ie == IE_VIRTUAL_STATION_INTERFACE_NAME)
				CHECK_EQ(l, FE_V9_IFNAME_LEN);
			if (ie == IE_VIRTUAL_STATION_NAME)
				CHECK_EQ(l, FE_V9_NAME_LEN);
			CHECK(l != FE_VARLEN);
		}
	}
	/* the rest of the flowset is padding */
	while (rd_left(&set))
		CHECK_EQ(rd_u8(&set), 0);
	/* options template: id, scope length 4, option length 36, scope System/4 */
	CHECK_EQ(rd_u16(&r), NFV9_FLOWSET_OPTIONS_TEMPLATE);
	CHECK_EQ(rd_u16(&r), 52);
	CHECK_EQ(rd_u16(&r), FE_TMPL_OPTIONS);
	CHECK_EQ(rd_u16(&r), 4);
	CHECK_EQ(rd_u16(&r), 36);
	CHECK_EQ(rd_u16(&r), 1);
	CHECK_EQ(rd_u16(&r), 4);
	CHECK_EQ(rd_u16(&r), IE_EXPORTED_MESSAGE_TOTAL_COUNT);
	CHECK_EQ(rd_u16(&r), 8);
	rd_skip(&r, 8 * 4 + 2);
	CHECK_EQ(rd_left(&r), 0);
	CHECK(!rd_failed(&r));
}

/* A VM record: names fixed-length and NUL-padded; a name longer than the
 * field is cut, never overflowing into the next field. */
static void t_vm_fixed_names(void)
{
	uint8_t buf[1500];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 1700000001000ull, .boot_ms = 1700000000000ull };
	struct flow_rec r = rec_v4();
	const uint8_t *vm;
	size_t len;

	r.vm.ifindex = 17;
	snprintf(r.vm.ifname, sizeof(r.vm.ifname), "vp-web-1");
	uuid_parse("6695eb01-f6a4-8304-79aa-97f2502e193f", r.vm.uuid);
	memset(r.vm.name, 'w', VT_NAME_MAX - 1);
	r.vm.name[VT_NAME_MAX - 1] = '\0';
	nfv9_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(nfv9_add_flow(&m, &r), 0);
	len = nfv9_end(&m);
	/* header 20, flowset header 4, 65 bytes of base record, then the VM */
	CHECK_EQ(ld_be16(buf + 20), 256 + FE_VM);
	vm = buf + 20 + 4 + 65;
	CHECK_EQ(ld_be32(vm), 17);
	CHECK_MEM(vm + 4, "vp-web-1\0\0\0\0\0\0\0\0", 16);
	CHECK_EQ(vm[20], 0x66);
	CHECK_EQ(vm[35], 0x3f);
	CHECK_EQ(vm[36], 'w');
	CHECK_EQ(vm[36 + 62], 'w');
	CHECK_EQ(vm[36 + 63], 0);
	CHECK_EQ(len, 20 + 4 + 65 + 4 + 16 + 16 + 64 + 3);
	CHECK_EQ(ld_be16(buf + 22), 4 + 65 + 100 + 3);
}

static void t_mtu_packing(void)
{
	static const size_t caps[] = { 120, 300, 1000, 1472 };
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		uint8_t buf[1500];
		struct fe_msg m;
		struct fe_hdr h = { .now_ms = 1000 };
		struct flow_rec r = rec_v4();
		unsigned n = 0;
		size_t len;

		nfv9_begin(&m, buf, caps[i], &h);
		while (nfv9_add_flow(&m, &r) == 0)
			n++;
		len = nfv9_end(&m);
		CHECK(len <= caps[i]);
		CHECK_EQ(len % 4, 0);
		CHECK_EQ(ld_be16(buf + 2), n);
		CHECK_EQ(n, (caps[i] - 20 - 4 - 3) / 65);
		CHECK_EQ(ld_be16(buf + 22), len - 20);
	}
}

static void t_options_record(void)
{
	uint8_t buf[1500];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 5000, .seq = 3, .domain = 77 };
	struct fe_counters c = { .messages = 10, .records = 200, .octets = 14000, .notsent_flows = 2,
				 .active_timeout_s = 60, .idle_timeout_s = 15 };
	size_t len;

	nfv9_begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(nfv9_add_options(&m, &c, 77), 0);
	len = nfv9_end(&m);
	CHECK_EQ(len, 20 + 4 + 64);
	CHECK_EQ(ld_be16(buf + 20), FE_TMPL_OPTIONS);
	CHECK_EQ(ld_be16(buf + 22), 68);
	CHECK_EQ(ld_be32(buf + 24), 77);
	CHECK_EQ_U64(ld_be64(buf + 28), 10);
	CHECK_EQ_U64(ld_be64(buf + 36), 200);
	CHECK_EQ_U64(ld_be64(buf + 44), 14000);
	CHECK_EQ_U64(ld_be64(buf + 60), 2);
	CHECK_EQ(ld_be16(buf + 84), 60);
	CHECK_EQ(ld_be16(buf + 86), 15);
}

VT_TEST_MAIN(VT_T(t_packet_bytes), VT_T(t_templates), VT_T(t_vm_fixed_names),
	     VT_T(t_mtu_packing), VT_T(t_options_record))
