/* Unit tests: lib/store/flowcsv — our CSV round-trips every field;
 * nfdump's `-o csv` is read as nfdump means it (times, durations,
 * protocol names, flag strings, tunnel lines, the summary); bad input is
 * refused with the file, line and column. */
#include "store/flowcsv.h"

#include <stdlib.h>

#include "store/test_rows.h"
#include "vt_test.h"

static struct flowcsv *open_text(const char *text, FILE **fp, struct vt_err *err)
{
	*fp = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	return flowcsv_open(*fp, "t.csv", err);
}

/* Every field of every row, through our CSV and back; names with commas,
 * quotes and spaces; zone names. */
static void t_roundtrip(void)
{
	struct flow_row rows[300];
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	for (int i = 0; i < 300; i++)
		tr_row(31, (uint64_t)i, 1700000000000ull, 86400000, &rows[i]);
	snprintf(rows[0].attr.src_vm.name, VT_NAME_MAX, "db, \"primary\"");
	snprintf(rows[1].rec.vm.ifname, VT_IFNAME_MAX, "tp-a b");
	flowcsv_header(out);
	for (int i = 0; i < 300; i++) {
		uint16_t sz = rows[i].attr.src_zone, dz = rows[i].attr.dst_zone;
		flowcsv_write(out, &rows[i], sz ? tr_zones[sz - 1] : NULL, dz ? tr_zones[dz - 1] : NULL);
	}
	fclose(out);

	struct vt_err err = { 0 };
	FILE *in = fmemopen(buf, len, "r");
	struct flowcsv *r = flowcsv_open(in, "rt", &err);
	CHECK(r != NULL);
	CHECK_EQ(flowcsv_dialect(r), FLOWCSV_VTAP);
	int n = 0, bad = 0;
	struct flow_row got;
	while (r && flowcsv_next(r, &got, &err) == 1) {
		const char *d = n < 300 ? tr_diff(&rows[n], &got) : "extra row";
		if (d && bad++ < 3)
			fprintf(stderr, "  row %d: %s differs\n", n, d);
		n++;
	}
	CHECK_EQ(n, 300);
	CHECK_EQ(bad, 0);
	struct fc_zonemap zm;
	flowcsv_zones(r, &zm);
	CHECK_EQ(zm.n, 3);
	for (size_t z = 0; z < zm.n; z++)
		CHECK_STR(zm.names[z], tr_zones[z]);
	flowcsv_close(r);
	fclose(in);
	free(buf);
}

/* Real nfdump 1.7.1 -o csv lines (TZ=UTC), with what they mean. */
static void t_nfdump(void)
{
	static const char *text =
		"ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n"
		"2015-01-03 13:04:59,2015-01-03 13:05:01,1.291,10.0.0.1,31.13.93.3,55232,443,TCP,...AP.S.,0,0,17,3905,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,0.0.0.0,17/1,0,2026-11-21 23:35:21.633\n"
		"2010-06-29 19:41:35,2010-06-29 19:41:35,0.000,10.118.10.1,10.118.10.2,0,2048,ICMP,........,0,0,1,100,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,198.18.0.1,17/1,0,2026-11-21 23:35:21.627\n"
		/* a tunnel's outer header: not a flow */
		"2012-04-23 17:08:41,2012-04-23 17:08:41,0.000,::,::,0,0,IPIP,........,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,0.0.0.0,0/0,0,2026-11-22 00:13:24.855\n"
		"2012-04-23 17:08:41,2012-04-23 17:08:41,0.000,dead::beef,cafe::babe,30000,13000,UDP,........,0,0,1,52,0,0,3,4,64512,64513,64,48,0,1,0.0.0.0,0.0.0.0,100,0,52:54:00:12:34:56,52:54:00:ab:cd:ef,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,0.0.0.0,0/0,0,2026-11-22 00:13:24.855\n"
		"Summary\n"
		"flows,bytes,packets,avg_bps,avg_pps,avg_bpp\n"
		"3,4057,19,0,0,0\n";
	struct vt_err err = { 0 };
	struct flow_row r;
	FILE *fp;
	struct flowcsv *c = open_text(text, &fp, &err);
	char a[VT_ADDRSTRLEN], m[VT_MACSTRLEN];

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(flowcsv_dialect(c), FLOWCSV_NFDUMP);
	CHECK_EQ(flowcsv_next(c, &r, &err), 1);
	CHECK_EQ_U64(r.rec.first_ms, 1420290299000ull);           /* 2015-01-03 13:04:59 UTC */
	CHECK_EQ_U64(r.rec.last_ms, 1420290299000ull + 1291);     /* ts + td, not te */
	CHECK_STR(addr_fmt(&r.rec.src, a, sizeof(a)), "10.0.0.1");
	CHECK_STR(addr_fmt(&r.rec.dst, a, sizeof(a)), "31.13.93.3");
	CHECK_EQ(r.rec.sport, 55232);
	CHECK_EQ(r.rec.dport, 443);
	CHECK_EQ(r.rec.proto, 6);
	CHECK_EQ(r.rec.tcp_flags, 0x1a);                          /* ...AP.S. = ACK PSH SYN */
	CHECK_EQ_U64(r.rec.packets, 17);
	CHECK_EQ_U64(r.rec.bytes, 3905);
	CHECK_EQ(r.rec.ipver, 4);
	CHECK_EQ(flowcsv_next(c, &r, &err), 1);
	CHECK_EQ(r.rec.proto, 1);
	CHECK_EQ(r.rec.dport, 2048);                              /* ICMP echo: type 8 << 8 */
	CHECK_STR(addr_fmt(&r.rec.exporter, a, sizeof(a)), "198.18.0.1");
	CHECK_EQ(flowcsv_next(c, &r, &err), 1);                   /* the IPIP line is skipped */
	CHECK_STR(addr_fmt(&r.rec.src, a, sizeof(a)), "dead::beef");
	CHECK_EQ(r.rec.ipver, 6);
	CHECK_EQ(r.rec.proto, 17);
	CHECK_EQ(r.rec.in_if, 3);
	CHECK_EQ(r.rec.out_if, 4);
	CHECK_EQ(r.rec.src_as, 64512);
	CHECK_EQ(r.rec.dst_as, 64513);
	CHECK_EQ(r.rec.src_mask, 64);
	CHECK_EQ(r.rec.dst_mask, 48);
	CHECK_EQ(r.rec.direction, 1);
	CHECK_EQ(r.rec.vlan, 100);
	CHECK_STR(mac_fmt(r.rec.src_mac, m, sizeof(m)), "52:54:00:12:34:56");
	CHECK_STR(mac_fmt(r.rec.dst_mac, m, sizeof(m)), "52:54:00:ab:cd:ef");
	CHECK_EQ(flowcsv_next(c, &r, &err), 0);                   /* the summary ends it */
	CHECK_EQ_U64(flowcsv_skipped(c), 1);
	flowcsv_close(c);
	fclose(fp);

	/* nfdump's protocol names both ways, numbers beyond its table */
	uint8_t p;
	CHECK_STR(flowcsv_proto_name(58), "ICMP6");
	CHECK(flowcsv_proto_name(200) == NULL);
	CHECK_EQ(flowcsv_proto_parse("gre", &p), 0);
	CHECK_EQ(p, 47);
	CHECK_EQ(flowcsv_proto_parse("200", &p), 0);
	CHECK_EQ(p, 200);
	CHECK_EQ(flowcsv_proto_parse("tcpx", &p), -EINVAL);
}

static void t_errors(void)
{
	static const struct { const char *text; int open_ok; const char *msg; } cases[] = {
		{ "", 0, "t.csv: empty input (expected a CSV header line)" },
		{ "a,b\n", 0, "t.csv:1: the header names no source address column (expected the "
			      "columns of `vtap flows --csv` or `nfdump -o csv`)" },
		{ "first,src,src,dst\n", 0, "t.csv:1: column 'src' appears twice" },
		{ "first,src\n", 0, "t.csv:1: the header names no destination address column "
				   "(expected the columns of `vtap flows --csv` or `nfdump -o csv`)" },
		{ "first,src,dst,bytes\n2026-01-01T00:00:00Z,10.0.0.1,10.0.0.2,12x\n", 1,
		  "t.csv:2: column 'bytes': '12x' is not a number (0-18446744073709551615)" },
		{ "first,src,dst\nyesterday,10.0.0.1,10.0.0.2\n", 1,
		  "t.csv:2: column 'first': 'yesterday' is not a time" },
		{ "first,src,dst\n99999-01-01T00:00:00Z,10.0.0.1,10.0.0.2\n", 1,
		  "t.csv:2: column 'first': '99999-01-01T00:00:00Z' is not a time" },
		{ "first,src,dst\n1,10.0.0.300,10.0.0.2\n", 1,
		  "t.csv:2: column 'src': '10.0.0.300' is not an IP address" },
		{ "first,src,dst,sport\n1,10.0.0.1,10.0.0.2,65536\n", 1,
		  "t.csv:2: column 'sport': '65536' is not a number (0-65535)" },
		{ "first,src,dst\n1,10.0.0.1\n", 1, "t.csv:2: 2 columns, the header has 3" },
		{ "first,src,dst\n1,\"10.0.0.1,10.0.0.2\n", 1,
		  "t.csv:2: malformed CSV (quotes or more than 128 columns)" },
		{ "first,src,dst,src_mac\n1,10.0.0.1,10.0.0.2,52:54\n", 1,
		  "t.csv:2: column 'src_mac': '52:54' is not a MAC address" },
		{ "first,src,dst,vm_uuid\n1,10.0.0.1,10.0.0.2,xyz\n", 1,
		  "t.csv:2: column 'vm_uuid': 'xyz' is not a UUID" },
		{ "first,src,dst,src_zone,src_zone_name\n1,10.0.0.1,10.0.0.2,1,web\n"
		  "1,10.0.0.1,10.0.0.2,1,db\n", 1, "t.csv:3: zone 1 named both 'web' and 'db'" },
		{ "ts,td,sa,da,pr\n2026-01-01 00:00:00,1.5,10.0.0.1,10.0.0.2,FOO\n", 1,
		  "t.csv:2: column 'pr': 'FOO' is not a protocol" },
		{ "ts,td,sa,da\n2026-01-01 00:00:00,x,10.0.0.1,10.0.0.2\n", 1,
		  "t.csv:2: column 'td': 'x' is not a duration in seconds" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_err err = { 0 };
		struct flow_row r;
		FILE *fp;
		struct flowcsv *c = open_text(cases[i].text, &fp, &err);
		CHECK_EQ(c != NULL, cases[i].open_ok);
		if (c) {
			int k;
			while ((k = flowcsv_next(c, &r, &err)) == 1)
				;
			CHECK_EQ(k, -EINVAL);
		}
		CHECK_STR(err.msg, cases[i].msg);
		flowcsv_close(c);
		fclose(fp);
	}
	/* a line over the bound is refused, the next one read */
	size_t big = FLOWCSV_MAX_LINE + 100;
	char *text = malloc(big + 200);
	int n = snprintf(text, 200, "first,src,dst\n");
	memset(text + n, 'x', big);
	snprintf(text + n + big, 200, "\n1,10.0.0.1,10.0.0.2\n");
	struct vt_err err = { 0 };
	struct flow_row r;
	FILE *fp;
	struct flowcsv *c = open_text(text, &fp, &err);
	CHECK_EQ(flowcsv_next(c, &r, &err), -EINVAL);
	CHECK_STR(err.msg, "t.csv:2: line longer than 65536 bytes");
	CHECK_EQ(flowcsv_next(c, &r, &err), 1);
	CHECK_EQ_U64(r.rec.first_ms, 1);
	CHECK_EQ(flowcsv_next(c, &r, &err), 0);
	flowcsv_close(c);
	fclose(fp);
	free(text);
}

VT_TEST_MAIN(VT_T(t_roundtrip), VT_T(t_nfdump), VT_T(t_errors))
