/* Unit tests: lib/query/filter — parsing to a canonical form, exact error
 * messages, a truth table evaluated both per batch and per row, and the
 * soundness of block-summary answers. */
#include "query/filter.h"

#include <stdlib.h>

#include "core/timeutil.h"
#include "store/segenc.h"
#include "store/test_rows.h"
#include "vt_test.h"

static void t_parse_canonical(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "any" },
		{ "   ", "any" },
		{ "any", "any" },
		{ "proto tcp", "proto 6" },
		{ "PROTO TCP AND DST PORT 443", "(proto 6 and dst port 443)" },
		{ "proto 47", "proto 47" },
		{ "proto icmp6", "proto 58" },
		{ "src port 80", "src port 80" },
		{ "port 1-1024", "port 1-1024" },
		{ "dst port 0-65535", "dst port 0-65535" },
		{ "dst ip 10.0.0.1", "dst ip 10.0.0.1/32" },
		{ "host 2001:db8::1", "ip 2001:db8::1/128" },
		{ "src net 10.1.2.3/8", "src net 10.0.0.0/8" },
		{ "net 2001:db8::/32", "net 2001:db8::/32" },
		{ "net 0.0.0.0/0", "net 0.0.0.0/0" },
		{ "exporter 198.18.0.1", "exporter 198.18.0.1/32" },
		{ "exporter 198.18.0.0/15", "exporter 198.18.0.0/15" },
		{ "vm web-*", "vm web-*" },
		{ "src vm \"my vm\"", "src vm my vm" },
		{ "dst vm '6e000000-0000-0000-0000-000000000001'",
		  "dst vm 6e000000-0000-0000-0000-000000000001" },
		{ "zone db", "zone db" },
		{ "src zone 'web*'", "src zone web*" },
		{ "bytes > 1k", "bytes 1001-max" },
		{ "bytes>100", "bytes 101-max" },
		{ "bytes < 100", "bytes 0-99" },
		{ "bytes <= 100", "bytes 0-100" },
		{ "bytes >= 1M", "bytes 1000000-max" },
		{ "bytes = 5", "bytes 5" },
		{ "bytes == 5", "bytes 5" },
		{ "bytes 5", "bytes 5" },
		{ "bytes != 5", "not bytes 5" },
		{ "bytes!=5", "not bytes 5" },
		{ "packets!=0 and vm web-[!0-9]*", "(not packets 0 and vm web-[!0-9]*)" },
		{ "packets > 2G", "packets 2000000001-max" },
		{ "vlan 100", "vlan 100" },
		{ "locality same-host", "locality 1" },
		{ "locality cross-host", "locality 2" },
		{ "locality outside", "locality 0" },
		{ "ipv6", "ipver 6" },
		{ "inet", "ipver 4" },
		{ "proto tcp and port 22 or port 23", "((proto 6 and port 22) or port 23)" },
		{ "proto tcp or port 22 and port 23", "(proto 6 or (port 22 and port 23))" },
		{ "not proto tcp and port 22", "(not proto 6 and port 22)" },
		{ "not (proto tcp or port 22)", "not (proto 6 or port 22)" },
		{ "((proto tcp))", "proto 6" },
		{ "! proto udp && port 53 || vm x", "((not proto 17 and port 53) or vm x)" },
		{ "not not proto 6", "not not proto 6" },
		{ "dup", "dup" },
		{ "not dup", "not dup" },
		{ "DUP and locality cross-host", "(dup and locality 2)" },
		{ "vm web-1 and !dup", "(vm web-1 and not dup)" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_err err = { 0 };
		struct filter *f = filter_compile(cases[i].in, &err);
		char buf[512];
		if (!f) {
			fprintf(stderr, "  '%s': %s\n", cases[i].in, err.msg);
			CHECK(f != NULL);
			continue;
		}
		CHECK_STR(filter_dump(f, buf, sizeof(buf)), cases[i].out);
		CHECK_STR(filter_text(f), cases[i].in);
		filter_free(f);
	}
}

static void t_parse_errors(void)
{
	static const struct { const char *in; int code; const char *msg; } cases[] = {
		{ "proto", -EINVAL,
		  "column 6: expected a protocol (tcp, udp, icmp, ... or 0-255) after 'proto', got end of filter" },
		{ "proto tcpx", -EINVAL,
		  "column 7: 'tcpx' is not a protocol (tcp, udp, icmp, icmp6, gre, esp, sctp, ... or 0-255)" },
		{ "proto 256", -EINVAL,
		  "column 7: '256' is not a protocol (tcp, udp, icmp, icmp6, gre, esp, sctp, ... or 0-255)" },
		{ "port http", -EINVAL, "column 6: 'http' is not a port or range (0-65535, N-M)" },
		{ "dst port 70000", -EINVAL, "column 10: '70000' is not a port or range (0-65535, N-M)" },
		{ "port 80-", -EINVAL, "column 6: '80-' is not a port or range (0-65535, N-M)" },
		{ "port 90-80", -EINVAL, "column 6: port range '90-80' is empty (start above end)" },
		{ "src proto tcp", -EINVAL,
		  "column 5: expected vm, zone, ip, net or port after 'src', got 'proto'" },
		{ "dst", -EINVAL,
		  "column 4: expected vm, zone, ip, net or port after 'dst', got end of filter" },
		{ "foo", -EINVAL,
		  "column 1: unknown filter term 'foo' (expected vm, zone, ip, net, port, proto, "
		  "exporter, bytes, packets, vlan, locality, dup, ipv4, ipv6, any)" },
		{ "dup 1", -EINVAL, "column 5: expected 'and' or 'or' before '1'" },
		{ "src dup", -EINVAL,
		  "column 5: expected vm, zone, ip, net or port after 'src', got 'dup'" },
		{ "proto tcp port 80", -EINVAL, "column 11: expected 'and' or 'or' before 'port'" },
		{ "(proto tcp", -EINVAL,
		  "column 11: expected ')' to close '(' at column 1, got end of filter" },
		{ "proto tcp)", -EINVAL, "column 10: unexpected ')'" },
		{ ")", -EINVAL, "column 1: unexpected ')'" },
		{ "and proto tcp", -EINVAL, "column 1: expected a filter term, got 'and'" },
		{ "proto tcp and", -EINVAL, "column 14: expected a filter term, got end of filter" },
		{ "proto tcp and or port 1", -EINVAL, "column 15: expected a filter term, got 'or'" },
		{ "= 5", -EINVAL, "column 1: expected a filter term, got '='" },
		{ "ip 10.0.0.256", -EINVAL, "column 4: '10.0.0.256' is not an IPv4 or IPv6 address" },
		{ "net 10.0.0.0", -EINVAL,
		  "column 5: '10.0.0.0' is not a network (e.g. 198.18.0.0/15 or 2001:db8::/32)" },
		{ "net 10.0.0.0/33", -EINVAL,
		  "column 5: '10.0.0.0/33' is not a network (e.g. 198.18.0.0/15 or 2001:db8::/32)" },
		{ "exporter x", -EINVAL, "column 10: 'x' is not an IP address or network" },
		{ "bytes > x", -EINVAL,
		  "column 9: 'x' is not a number (digits with an optional k, M, G or T suffix)" },
		{ "bytes >", -EINVAL,
		  "column 8: expected a number (e.g. 1500, 10k, 2M) after 'bytes', got end of filter" },
		{ "bytes < 0", -EINVAL, "column 9: 'bytes < 0' never matches" },
		{ "bytes > 99999999999999999999", -EINVAL,
		  "column 9: '99999999999999999999' is not a number (digits with an optional k, M, G or T suffix)" },
		{ "vm \"abc", -EINVAL, "column 4: unterminated quoted string" },
		{ "vm", -EINVAL, "column 3: expected a VM name, glob or UUID after 'vm', got end of filter" },
		{ "zone (", -EINVAL, "column 6: expected a zone name or glob after 'zone', got '('" },
		{ "proto tcp & port 80", -EINVAL, "column 11: unexpected '&' (use '&&' or 'and')" },
		{ "proto tcp | port 80", -EINVAL, "column 11: unexpected '|' (use '||' or 'or')" },
		{ "vlan 5000", -EINVAL, "column 6: '5000' is not a VLAN id (0-4095)" },
		{ "vlan > 5", -EINVAL,
		  "column 6: expected a VLAN id (0-4095) after 'vlan', got '>'" },
		{ "locality far", -EINVAL,
		  "column 10: 'far' is not a locality (same-host, cross-host, outside)" },
		{ "\"proto\" tcp", -EINVAL, "column 1: expected a filter term, got 'proto'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_err err = { 0 };
		struct filter *f = filter_compile(cases[i].in, &err);
		CHECK(f == NULL);
		filter_free(f);
		if (err.code != cases[i].code || strcmp(err.msg, cases[i].msg))
			fprintf(stderr, "  input: %s\n", cases[i].in);
		CHECK_EQ(err.code, cases[i].code);
		CHECK_STR(err.msg, cases[i].msg);
	}
}

static void t_limits(void)
{
	struct vt_err err = { 0 };
	char buf[8192];
	size_t n = 0;

	/* nesting */
	for (int i = 0; i < 40; i++)
		buf[n++] = '(';
	snprintf(buf + n, sizeof(buf) - n, "any");
	CHECK(filter_compile(buf, &err) == NULL);
	CHECK_EQ(err.code, -E2BIG);
	CHECK_STR(err.msg, "column 33: filter nested more than 32 levels deep");
	/* length */
	memset(buf, ' ', 5000);
	buf[5000] = '\0';
	CHECK(filter_compile(buf, &err) == NULL);
	CHECK_STR(err.msg, "column 4097: filter longer than 4096 characters");
	/* terms */
	n = 0;
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sport %d", i ? " or " : "", i);
	CHECK(filter_compile(buf, &err) == NULL);
	CHECK_EQ(err.code, -E2BIG);
	CHECK_CONTAINS(err.msg, "filter has more than 256 terms and operators");
	/* a long and-chain stays within the evaluation scratch */
	n = 0;
	for (int i = 0; i < 80; i++)   /* 80 leaves, 80 nots, 79 ands */
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%snot port %d", i ? " and " : "", i);
	struct filter *f = filter_compile(buf, &err);
	CHECK(f != NULL);
	if (f) {
		struct flow_row row;
		memset(&row, 0, sizeof(row));
		row.rec.sport = row.rec.dport = 500;
		CHECK(filter_match_row(f, &row, NULL));
		row.rec.dport = 79;
		CHECK(!filter_match_row(f, &row, NULL));
		filter_free(f);
	}
	/* the longest and-chain the limits allow compiles at once (the depth
	 * computation used to be exponential in its length) */
	n = 0;
	for (int i = 0; i < 128; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sport %d", i ? " and " : "", i);
	uint64_t t0 = mono_ms();
	f = filter_compile(buf, &err);
	CHECK(f != NULL);
	CHECK(mono_ms() - t0 < 1000);
	filter_free(f);
	/* a right-leaning chain of parentheses needs one scratch unit per level */
	n = 0;
	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "port %d or (", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "port 1000");
	for (int i = 0; i < 30; i++)
		buf[n++] = ')';
	buf[n] = '\0';
	f = filter_compile(buf, &err);
	CHECK(f != NULL);
	if (f) {
		struct flow_row row;
		memset(&row, 0, sizeof(row));
		row.rec.dport = 1000;
		row.rec.sport = 999;
		CHECK(filter_match_row(f, &row, NULL));
		row.rec.dport = 998;
		CHECK(!filter_match_row(f, &row, NULL));
		filter_free(f);
	}
	/* argv joining keeps columns */
	char *argv[] = { "proto", "tcp", "and", "port", "http" };
	CHECK(filter_compile_argv(5, argv, &err) == NULL);
	CHECK_STR(err.msg, "column 20: 'http' is not a port or range (0-65535, N-M)");
}

/* ---- truth table ------------------------------------------------------- */

static void vm(struct vm_ident *v, const char *name, uint8_t id)
{
	memset(v, 0, sizeof(*v));
	v->uuid[0] = 0x6e;
	v->uuid[15] = id;
	if (name)
		snprintf(v->name, sizeof(v->name), "%s", name);
}

static void v4(struct vt_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t b[4] = { x, y, z, w };
	addr_set_v4(a, b);
}

#define NROWS 5
static void truth_rows(struct flow_row r[NROWS])
{
	memset(r, 0, sizeof(struct flow_row) * NROWS);
	/* R0: tcp web-1 -> outside https */
	r[0].rec.proto = 6; v4(&r[0].rec.src, 10, 0, 0, 1); v4(&r[0].rec.dst, 198, 18, 0, 5);
	r[0].rec.sport = 40000; r[0].rec.dport = 443; r[0].rec.bytes = 1500; r[0].rec.packets = 3;
	r[0].rec.ipver = 4; v4(&r[0].rec.exporter, 198, 18, 255, 1);
	vm(&r[0].attr.src_vm, "web-1", 1); r[0].attr.src_zone = 1;
	/* R1: udp db-1 -> web-1, same host, vlan 100 */
	r[1].rec.proto = 17; v4(&r[1].rec.src, 10, 0, 0, 2); v4(&r[1].rec.dst, 10, 0, 0, 1);
	r[1].rec.sport = 53; r[1].rec.dport = 5353; r[1].rec.bytes = 80; r[1].rec.packets = 1;
	r[1].rec.ipver = 4; r[1].rec.vlan = 100; v4(&r[1].rec.exporter, 198, 18, 255, 2);
	vm(&r[1].attr.src_vm, "db-1", 2); r[1].attr.src_zone = 2;
	vm(&r[1].attr.dst_vm, "web-1", 1); r[1].attr.dst_zone = 1;
	r[1].attr.locality = FLOW_LOC_SAME_HOST;
	/* R2: icmpv4-style echo over IPv6, no VMs */
	r[2].rec.proto = 1; r[2].rec.ipver = 6;
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	addr_set_v6(&r[2].rec.src, a6);
	a6[15] = 2;
	addr_set_v6(&r[2].rec.dst, a6);
	a6[15] = 0xff;
	addr_set_v6(&r[2].rec.exporter, a6);
	r[2].rec.dport = 0x0800; r[2].rec.bytes = 84; r[2].rec.packets = 1;
	/* R3: ssh from outside to db-1, a big flow */
	r[3].rec.proto = 6; v4(&r[3].rec.src, 192, 0, 2, 7); v4(&r[3].rec.dst, 10, 0, 0, 2);
	r[3].rec.sport = 22; r[3].rec.dport = 60000; r[3].rec.bytes = 1000000; r[3].rec.packets = 700;
	r[3].rec.ipver = 4; r[3].rec.vlan = 100; v4(&r[3].rec.exporter, 198, 18, 255, 3);
	vm(&r[3].attr.dst_vm, "db-1", 2); r[3].attr.dst_zone = 2;
	/* R4: gre between VMs on two hosts; the source VM has no name */
	r[4].rec.proto = 47; v4(&r[4].rec.src, 10, 0, 1, 1); v4(&r[4].rec.dst, 10, 0, 2, 1);
	r[4].rec.bytes = 1001; r[4].rec.packets = 2; r[4].rec.ipver = 4;
	v4(&r[4].rec.exporter, 198, 18, 255, 3);
	vm(&r[4].attr.src_vm, NULL, 9); vm(&r[4].attr.dst_vm, "batch-7", 7);
	r[4].attr.src_zone = r[4].attr.dst_zone = 3;
	r[4].attr.locality = FLOW_LOC_CROSS_HOST;
	r[4].attr.dup = 1;    /* the receiver's observation, not counted */
}

static void t_truth_table(void)
{
	static const char *const zn[] = { "web", "db", "infra" };
	static const struct fc_zonemap zm = { zn, 3 };
	static const struct { const char *f; const char *want; } cases[] = {
		/* want[i] = '1' when row i matches */
		{ "", "11111" },
		{ "proto tcp", "10010" },
		{ "proto 47", "00001" },
		{ "proto udp or proto icmp", "01100" },
		{ "not proto tcp", "01101" },
		{ "src port 53", "01000" },
		{ "port 53", "01000" },
		{ "dst port 443", "10000" },
		{ "port 5000-6000", "01000" },
		{ "dst port 0-1024", "10001" },
		{ "src ip 10.0.0.1", "10000" },
		{ "ip 10.0.0.1", "11000" },
		{ "net 10.0.0.0/24", "11010" },
		{ "dst net 10.0.0.0/8", "01011" },
		{ "net 2001:db8::/32", "00100" },
		{ "src ip 2001:db8::1", "00100" },
		{ "ipv6", "00100" },
		{ "ipv4", "11011" },
		{ "exporter 198.18.255.0/24", "11011" },
		{ "exporter 198.18.255.3", "00011" },
		{ "bytes > 1000", "10011" },
		{ "bytes >= 1M", "00010" },
		{ "bytes < 100", "01100" },
		{ "bytes != 80", "10111" },
		{ "packets > 2", "10010" },
		{ "vlan 100", "01010" },
		{ "vm web-1", "11000" },
		{ "src vm web-*", "10000" },
		{ "dst vm db-*", "00010" },
		{ "vm *", "11011" },
		{ "vm 6e000000-0000-0000-0000-000000000009", "00001" },
		{ "dst vm 6e000000-0000-0000-0000-000000000009", "00000" },
		{ "zone web", "11000" },
		{ "src zone db", "01000" },
		{ "zone outside", "10110" },
		{ "zone infra", "00001" },
		{ "zone *", "11111" },
		{ "locality same-host", "01000" },
		{ "locality outside", "10110" },
		{ "locality cross-host", "00001" },
		{ "proto tcp and dst port 443", "10000" },
		{ "proto tcp and (dst port 443 or src port 22)", "10010" },
		{ "not (vm web-1 or zone db)", "00101" },
		{ "any and not any", "00000" },
		{ "dup", "00001" },
		{ "not dup", "11110" },
		{ "locality cross-host and not dup", "00000" },
		{ "dup or proto tcp", "10011" },
	};
	struct flow_row rows[NROWS];
	struct flow_cols c;
	struct filter_ctx x = { 0 };
	uint8_t sel[NROWS];

	truth_rows(rows);
	cols_init(&c);
	CHECK_EQ(cols_from_rows(&c, rows, NROWS, &zm), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_err err = { 0 };
		struct filter *f = filter_compile(cases[i].f, &err);
		char got[NROWS + 1], got_row[NROWS + 1];
		if (!f) {
			fprintf(stderr, "  '%s': %s\n", cases[i].f, err.msg);
			CHECK(f != NULL);
			continue;
		}
		memset(sel, 0xee, sizeof(sel));
		CHECK_EQ(filter_eval(f, &c, sel, &x), 0);
		for (int r = 0; r < NROWS; r++) {
			got[r] = sel[r] == 1 ? '1' : sel[r] == 0 ? '0' : '?';
			got_row[r] = filter_match_row(f, &rows[r], &zm) ? '1' : '0';
		}
		got[NROWS] = got_row[NROWS] = '\0';
		if (strcmp(got, cases[i].want) || strcmp(got_row, cases[i].want))
			fprintf(stderr, "  filter '%s'\n", cases[i].f);
		CHECK_STR(got, cases[i].want);
		CHECK_STR(got_row, cases[i].want);
		filter_free(f);
	}
	filter_ctx_free(&x);
	cols_free(&c);
}

/* The columns a filter declares are the ones it reads: evaluating on a
 * batch that has only those columns gives the same answer. */
static void t_columns(void)
{
	struct vt_err err = { 0 };
	struct filter *f = filter_compile("proto tcp and (dst port 443 or vm web-1)", &err);
	CHECK(f != NULL);
	CHECK_EQ_U64(filter_columns(f), FC_BIT(FC_PROTO) | FC_BIT(FC_DPORT) | FC_BIT(FC_SRC_VM) |
					FC_BIT(FC_DST_VM));
	filter_free(f);
	f = filter_compile("", &err);
	CHECK(filter_is_true(f));
	CHECK_EQ_U64(filter_columns(f), 0);
	filter_free(f);
}

/* ---- block summaries --------------------------------------------------- */

/* For blocks of random rows with per-block constraints (one port, one
 * subnet, one VM...), the summary answer is never wrong: NONE means no row
 * matches, ALL means every row does. And it decides often. */
static void t_summary_sound(void)
{
	static const char *const filters[] = {
		"dst port 443", "not dst port 443", "port 22", "proto udp", "proto tcp",
		"src net 10.0.1.0/24", "net 10.0.0.0/8", "src ip 10.0.1.5", "dst ip 198.18.3.77",
		"vm db-*", "src vm web-1", "dst vm cache", "zone web", "src zone db",
		"zone outside", "bytes > 500000", "bytes < 100", "ipv6", "vlan 101",
		"exporter 198.18.255.2", "proto tcp and dst port 53", "vm x or dst port 5432",
		"not (proto tcp or proto udp)", "dst port 1000-2000 and not src net 10.0.0.0/16",
		"dup", "not dup", "dup and vm db-*",
	};
	static const struct fc_zonemap zm = { tr_zones, 3 };
	struct seg_enc *e = seg_enc_new(SEG_COMP_ZSTD, 1);
	struct filter *f[ARRAY_SIZE(filters)];
	struct filter_ctx x = { 0 };
	uint64_t none = 0, all = 0, wrong = 0;

	for (size_t k = 0; k < ARRAY_SIZE(filters); k++) {
		struct vt_err err = { 0 };
		f[k] = filter_compile(filters[k], &err);
		CHECK(f[k] != NULL);
	}
	for (uint64_t b = 0; b < 300; b++) {
		struct flow_row rows[64];
		uint64_t s = b;
		size_t n = 1 + tr_next(&s) % 64;
		uint64_t knob = tr_next(&s);
		for (size_t i = 0; i < n; i++) {
			tr_row(b, i, 1700000000000ull, 60000, &rows[i]);
			if (knob & 1)
				rows[i].rec.dport = (uint16_t)(knob >> 8 & 1 ? 443 : 53);
			if (knob & 2)
				rows[i].rec.proto = (uint8_t)(knob >> 9 & 1 ? 6 : 17);
			if (knob & 4) {
				uint8_t a[4] = { 10, 0, (uint8_t)(knob >> 10 & 3), (uint8_t)i };
				addr_set_v4(&rows[i].rec.src, a);
				rows[i].rec.ipver = 4;
			}
			if (knob & 16)   /* all counted, or (with 32) all duplicates */
				rows[i].attr.dup = (uint8_t)(knob >> 5 & 1);
			if (knob & 8) {
				memset(&rows[i].attr.src_vm, 0, sizeof(rows[i].attr.src_vm));
				memset(&rows[i].attr.dst_vm, 0, sizeof(rows[i].attr.dst_vm));
				rows[i].attr.src_zone = rows[i].attr.dst_zone = 0;
			}
		}
		struct flow_cols c;
		const uint8_t *blk;
		size_t len;
		struct seg_blkhdr h;
		struct seg_meta m;
		cols_init(&c);
		CHECK_EQ(cols_from_rows(&c, rows, n, &zm), 0);
		CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
		CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
		CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, h.nrows, &m, NULL), 0);
		for (size_t k = 0; k < ARRAY_SIZE(filters); k++) {
			uint8_t sel[64];
			size_t hits = 0;
			enum fmatch fm = filter_summary(f[k], &m.sum);
			CHECK_EQ(filter_eval(f[k], &c, sel, &x), 0);
			for (size_t i = 0; i < n; i++)
				hits += sel[i];
			if ((fm == FM_NONE && hits) || (fm == FM_ALL && hits != n)) {
				if (wrong++ < 5)
					fprintf(stderr, "  block %llu filter '%s': summary %d, %zu of %zu match\n",
						(unsigned long long)b, filters[k], fm, hits, n);
			}
			none += fm == FM_NONE;
			all += fm == FM_ALL;
		}
		seg_meta_free(&m);
		cols_free(&c);
	}
	CHECK_EQ_U64(wrong, 0);
	/* the summaries decide a good share of the cases, not only SOME */
	CHECK(none > 1000);
	CHECK(all > 300);
	for (size_t k = 0; k < ARRAY_SIZE(filters); k++)
		filter_free(f[k]);
	filter_ctx_free(&x);
	seg_enc_free(e);
}

/* filter_once() : "(F) and not dup", in the tree, the text and the
 * columns; evaluated like the same filter typed out; refused (and the
 * filter left as it was) when the node limit leaves no room. */
static void t_once(void)
{
	static const struct { const char *in, *dump, *text, *want; } cases[] = {
		{ "", "not dup", "not dup", "11110" },
		{ "any", "not dup", "not dup", "11110" },
		{ "proto tcp", "(proto 6 and not dup)", "(proto tcp) and not dup", "10010" },
		{ "port 53 or proto 47", "((port 53 or proto 47) and not dup)",
		  "(port 53 or proto 47) and not dup", "01000" },
		{ "locality cross-host", "(locality 2 and not dup)",
		  "(locality cross-host) and not dup", "00000" },
		{ "dup", "(dup and not dup)", "(dup) and not dup", "00000" },
	};
	static const char *const zn[] = { "web", "db", "infra" };
	static const struct fc_zonemap zm = { zn, 3 };
	struct flow_row rows[NROWS];
	struct flow_cols c;
	struct filter_ctx x = { 0 };
	char buf[8192];

	truth_rows(rows);
	cols_init(&c);
	CHECK_EQ(cols_from_rows(&c, rows, NROWS, &zm), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_err err = { 0 };
		struct filter *f = filter_compile(cases[i].in, &err);
		uint8_t sel[NROWS];
		char got[NROWS + 1], got_row[NROWS + 1];
		CHECK(f != NULL);
		if (!f)
			continue;
		CHECK_EQ(filter_once(f, &err), 0);
		CHECK_STR(filter_dump(f, buf, sizeof(buf)), cases[i].dump);
		CHECK_STR(filter_text(f), cases[i].text);
		CHECK(filter_columns(f) & FC_BIT(FC_DUP));
		CHECK(!filter_is_true(f));
		CHECK_EQ(filter_eval(f, &c, sel, &x), 0);
		for (int r = 0; r < NROWS; r++) {
			got[r] = sel[r] ? '1' : '0';
			got_row[r] = filter_match_row(f, &rows[r], &zm) ? '1' : '0';
		}
		got[NROWS] = got_row[NROWS] = '\0';
		if (strcmp(got, cases[i].want))
			fprintf(stderr, "  once '%s'\n", cases[i].in);
		CHECK_STR(got, cases[i].want);
		CHECK_STR(got_row, cases[i].want);
		/* the text it now has compiles to the same tree */
		struct filter *g = filter_compile(filter_text(f), &err);
		char buf2[8192];
		CHECK(g != NULL);
		if (g)
			CHECK_STR(filter_dump(g, buf2, sizeof(buf2)), cases[i].dump);
		filter_free(g);
		filter_free(f);
	}
	/* the node limit: 127 ports and 126 ors (253 nodes) leave room for
	 * three more; 128 and 127 (255) do not */
	for (int leaves = 127; leaves <= 128; leaves++) {
		struct vt_err err = { 0 };
		size_t n = 0;
		for (int i = 0; i < leaves; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sport %d", i ? " or " : "", i);
		struct filter *f = filter_compile(buf, &err);
		CHECK(f != NULL);
		if (!f)
			continue;
		char before[8192], after[8192];
		filter_dump(f, before, sizeof(before));
		int r = filter_once(f, &err);
		filter_dump(f, after, sizeof(after));
		if (leaves == 127) {
			CHECK_EQ(r, 0);
			CHECK(strstr(after, " and not dup)") != NULL);
		} else {
			CHECK_EQ(r, -E2BIG);
			CHECK_STR(err.msg, "no room to add 'and not dup': the filter has more than 253 "
				  "terms and operators");
			CHECK_STR(after, before);
			CHECK_STR(filter_text(f), buf);
		}
		filter_free(f);
	}
	filter_ctx_free(&x);
	cols_free(&c);
}

static void t_bloom(void)
{
	uint8_t bits[128] = { 0 };
	struct fc_bloom b = { bits, 1024, 6 };

	for (uint32_t i = 0; i < 100; i++)
		fc_bloom_set(bits, 1024, 6, fc_bloom_hash(&i, 4));
	for (uint32_t i = 0; i < 100; i++)
		CHECK(fc_bloom_test(&b, fc_bloom_hash(&i, 4)));
	int fp = 0;
	for (uint32_t i = 1000; i < 11000; i++)
		fp += fc_bloom_test(&b, fc_bloom_hash(&i, 4));
	CHECK(fp < 300);   /* ~1% at 10 bits per value and 6 probes */
	/* the hash is part of the file format: pinned */
	CHECK_EQ_U64(fc_bloom_hash("\x01\xbb", 2), fc_bloom_hash("\x01\xbb", 2));
	struct fc_bloom none = { NULL, 0, 0 };
	CHECK(fc_bloom_test(&none, 12345));
}

VT_TEST_MAIN(VT_T(t_parse_canonical), VT_T(t_parse_errors), VT_T(t_limits),
	     VT_T(t_truth_table), VT_T(t_columns), VT_T(t_summary_sound), VT_T(t_once), VT_T(t_bloom))
