/* Unit tests: src/agent/tap/tap_session — session JSON parsing and the
 * errors that name the field, JSON round trips, rule compilation into the
 * map entries, and the shared frame parser + matcher the eBPF program runs
 * (bpf/tap_shared.h) on frames built here. */
#include <errno.h>
#include <stdlib.h>

#include "core/be.h"
#include "core/json.h"

/* the user-space TAP_LOAD: bounds-checked copy from a frame buffer */
struct frame {
	const uint8_t *p;
	uint32_t len;
};
static int frame_load(const struct frame *f, uint32_t off, void *dst, uint32_t n)
{
	if (off > f->len || n > f->len - off)
		return -1;
	memcpy(dst, f->p + off, n);
	return 0;
}
#define TAP_LOAD(ctx, off, dst, len) frame_load((const struct frame *)(ctx), (off), (dst), (len))

#include "agent/tap/tap_session.h"
#include "vt_test.h"

static const char full_json[] =
	"{\"id\": 7, \"name\": \"web-tls\", \"target\": {\"vms\": [\"web-1\","
	" \"6695eb01-f6a4-8304-79aa-97f2502e193f\"]}, \"direction\": \"to_vm\","
	" \"rules\": [{\"action\": \"reject\", \"src\": \"198.18.9.0/24\"},"
	"  {\"action\": \"accept\", \"proto\": \"tcp\", \"dst\": \"198.18.1.1\", \"dport\": 443},"
	"  {\"action\": \"accept\", \"proto\": 17, \"sport\": \"1000-2000\", \"bidir\": true, \"ip\": 6}],"
	" \"slice\": 128, \"sample\": 10, \"rate_limit\": {\"pps\": 1000, \"bps\": \"100M\"},"
	" \"destination\": {\"type\": \"erspan3\", \"remote\": \"198.19.0.2\", \"session_id\": 300,"
	"  \"mtu\": 1500, \"mtu_policy\": \"slice\", \"hw_id\": 5}}";

static void t_parse_full(void)
{
	struct tap_session_def *v = NULL;
	struct vt_err err = { 0 };
	int n = tap_sessions_parse(full_json, sizeof(full_json) - 1, &v, &err);
	const struct tap_session_def *s;

	CHECK_EQ(n, 1);
	if (n != 1) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	s = &v[0];
	CHECK_EQ(s->id, 7);
	CHECK_STR(s->name, "web-tls");
	CHECK(!s->all_vms);
	CHECK_EQ(s->ntargets, 2);
	CHECK_STR(s->targets[1], "6695eb01-f6a4-8304-79aa-97f2502e193f");
	CHECK_EQ(s->direction, TAP_DIRECTION_TO_VM);
	CHECK_EQ(s->nrules, 3);
	CHECK_EQ(s->dflt, TAP_ACT_REJECT);   /* rules given: reject by default */
	CHECK_EQ(s->rules[0].action, TAP_ACT_REJECT);
	CHECK_EQ(s->rules[0].src_plen, 96 + 24);
	CHECK_EQ(s->rules[1].proto, 6);
	CHECK_EQ(s->rules[1].dst_plen, 128);
	CHECK(s->rules[1].has_dport && s->rules[1].dport_lo == 443 && s->rules[1].dport_hi == 443);
	CHECK_EQ(s->rules[2].sport_lo, 1000);
	CHECK_EQ(s->rules[2].sport_hi, 2000);
	CHECK(s->rules[2].bidir);
	CHECK_EQ(s->rules[2].ipver, 6);
	CHECK_EQ(s->slice, 128);
	CHECK_EQ(s->sample, 10);
	CHECK_EQ_U64(s->rate_pps, 1000);
	CHECK_EQ_U64(s->rate_bps, 100000000);
	CHECK_EQ(s->dest.type, TAP_DEST_ERSPAN3);
	CHECK_EQ(s->dest.key, 300);
	CHECK_EQ(s->dest.mtu, 1500);
	CHECK_EQ(s->dest.mtu_policy, TAP_MTU_SLICE);
	CHECK_EQ(s->dest.hw_id, 5);
	CHECK_EQ(s->dest.ttl, 64);
	CHECK_EQ(tap_dest_overhead(&s->dest), 40);
	tap_sessions_free(v, 1);
}

/* Defaults of a minimal session, and the other accepted shapes. */
static void t_parse_defaults(void)
{
	static const char j[] =
		"[{\"id\": 3, \"target\": \"all\", \"destination\": {\"type\": \"vxlan\", \"remote\": \"2001:db8::2\"}},"
		" {\"id\": 2000, \"target\": [\"a\"], \"pcap_filter\": \"tcp port 443\","
		"  \"destination\": {\"type\": \"pcapng\", \"dir\": \"/tmp\", \"file_size\": \"16M\"}}]";
	struct tap_session_def *v = NULL;
	struct vt_err err = { 0 };
	int n = tap_sessions_parse(j, sizeof(j) - 1, &v, &err);

	CHECK_EQ(n, 2);
	if (n != 2) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK_STR(v[0].name, "session-3");
	CHECK(v[0].all_vms);
	CHECK_EQ(v[0].direction, TAP_DIRECTION_BOTH);
	CHECK_EQ(v[0].dflt, TAP_ACT_ACCEPT);
	CHECK_EQ(v[0].dest.key, 3);            /* VNI defaults to the id */
	CHECK_EQ(v[0].dest.port, 4789);
	CHECK_EQ(v[0].dest.mtu_policy, TAP_MTU_SEGMENT);
	CHECK(!v[0].dest.user_space);
	CHECK_EQ(tap_dest_overhead(&v[0].dest), 56);
	CHECK_STR(v[1].pcap_filter, "tcp port 443");
	CHECK_STR(v[1].dest.prefix, "session-2000");
	CHECK_EQ_U64(v[1].dest.file_size, 16ull << 20);
	CHECK_EQ(v[1].dest.file_count, 8);
	CHECK_EQ(tap_dest_overhead(&v[1].dest), 0);
	tap_sessions_free(v, 2);
}

struct bad {
	const char *json;
	const char *want;   /* substring of the message */
};

static void t_parse_errors(void)
{
#define D "\"destination\": {\"type\": \"gre\", \"remote\": \"198.19.0.2\"}"
	static const struct bad cases[] = {
		{ "{\"target\": \"all\", " D "}", "id: required" },
		{ "{\"id\": 0, \"target\": \"all\", " D "}", "id: 0 is out of range" },
		{ "{\"id\": 1, " D "}", "target: required" },
		{ "{\"id\": 1, \"target\": \"some\", " D "}", "target: 'some'" },
		{ "{\"id\": 1, \"target\": [], " D "}", "target.vms: expected a non-empty list" },
		{ "{\"id\": 1, \"target\": [1], " D "}", "target.vms[0]" },
		{ "{\"id\": 1, \"target\": \"all\"}", "destination: required" },
		{ "{\"id\": 1, \"target\": \"all\", \"destinaton\": {}}", "destinaton: unknown key" },
		{ "{\"id\": 1, \"target\": \"all\", \"direction\": \"in\", " D "}",
		  "direction: 'in' is not one of from_vm, to_vm, both" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [{\"proto\": \"tcp\"}], " D "}",
		  "rules[0].action: required" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [{\"action\": \"accept\", \"proto\": \"tcpp\"}], " D "}",
		  "rules[0].proto: 'tcpp'" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [{\"action\": \"accept\", \"dport\": \"9-1\"}], " D "}",
		  "rules[0].dport: expected a port" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [{\"action\": \"accept\", \"proto\": \"icmp\", \"dport\": 1}], " D "}",
		  "rules[0].proto: ports need tcp, udp or sctp" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [{\"action\": \"accept\", \"src\": \"198.18.0.0/33\"}], " D "}",
		  "rules[0].src: '198.18.0.0/33'" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [{\"action\": \"accept\", \"ip\": 5}], " D "}",
		  "rules[0].ip: expected 4 or 6" },
		{ "{\"id\": 1, \"target\": \"all\", \"rules\": [], \"pcap_filter\": \"tcp\", " D "}",
		  "pcap_filter: either pcap_filter or rules" },
		{ "{\"id\": 1, \"target\": \"all\", \"slice\": 10, " D "}", "slice: 10 is out of range 64..65535" },
		{ "{\"id\": 1, \"target\": \"all\", \"sample\": 0, " D "}", "sample: 0 is out of range" },
		{ "{\"id\": 1, \"target\": \"all\", \"rate_limit\": {}, " D "}", "rate_limit: give pps, bps" },
		{ "{\"id\": 1, \"target\": \"all\", \"rate_limit\": {\"bps\": \"200G\"}, " D "}",
		  "rate_limit.bps: 200000000000 is above the maximum" },
		{ "{\"id\": 1, \"target\": \"all\", \"rate_limit\": {\"bps\": \"fast\"}, " D "}",
		  "rate_limit.bps: expected a rate" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"geneve\"}}",
		  "destination.type: 'geneve' is not one of" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"gre\"}}",
		  "destination.remote: required" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"gre\", \"remote\": \"host\"}}",
		  "destination.remote: 'host'" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"vxlan\", \"remote\": \"198.19.0.2\", \"vni\": 16777216}}",
		  "destination.vni: 16777216 is out of range 0..16777215" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"vxlan\", \"remote\": \"198.19.0.2\", \"key\": 1}}",
		  "destination.key: not a field of vxlan" },
		{ "{\"id\": 5000, \"target\": \"all\", \"destination\": {\"type\": \"erspan2\", \"remote\": \"198.19.0.2\"}}",
		  "session 5000 'session-5000': destination.session_id: session id 5000 does not fit in 1023" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"gre\", \"remote\": \"198.19.0.2\", \"port\": 9}}",
		  "destination.port: only VXLAN and TZSP" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"gre\", \"remote\": \"198.19.0.2\", \"mtu\": 100}}",
		  "destination.mtu: 100 is out of range 576..65535" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"gre\", \"remote\": \"198.19.0.2\", \"mtu_policy\": \"frag\"}}",
		  "destination.mtu_policy: 'frag' is not one of segment, slice, drop" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"gre\", \"remote\": \"198.19.0.2\", \"encap\": \"user\"}}",
		  "destination.encap: only VXLAN" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"pcapng\"}}",
		  "destination.dir: required for pcapng" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"pcapng\", \"dir\": \"/tmp\", \"remote\": \"198.19.0.2\"}}",
		  "destination.remote: not used by pcapng" },
		{ "{\"id\": 1, \"target\": \"all\", \"destination\": {\"type\": \"pcapng\", \"dir\": \"/tmp\", \"file_size\": \"1k\"}}",
		  "destination.file_size: 1024 is out of range 4096" },
		{ "{\"id\": 1, \"name\": \"a/b\", \"target\": \"all\", " D "}", "name: no '/'" },
		{ "{\"id\": 1, \"name\": \"a\\u0001b\", \"target\": \"all\", " D "}", "name: not printable UTF-8" },
		{ "{\"id\": 1, \"target\": [\"vm\xf5\"], " D "}", "target.vms[0]: not printable UTF-8" },
		{ "[{\"id\": 1, \"target\": \"all\", " D "}, {\"id\": 1, \"target\": \"all\", " D "}]",
		  "session 1: id used twice" },
		{ "[1]", "session: expected an object" },
		{ "{\"id\": 1, ", "at byte 10" },
	};
#undef D
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tap_session_def *v = NULL;
		struct vt_err err = { 0 };
		int n = tap_sessions_parse(cases[i].json, strlen(cases[i].json), &v, &err);

		CHECK(n < 0);
		CHECK(v == NULL);
		if (!strstr(err.msg, cases[i].want))
			fprintf(stderr, "  case %zu: got \"%s\"\n", i, err.msg);
		CHECK_CONTAINS(err.msg, cases[i].want);
		if (n >= 0)
			tap_sessions_free(v, (size_t)n);
	}
}

/* to_json output parses back to the same definition (and the same JSON). */
static void t_roundtrip(void)
{
	struct tap_session_def *v = NULL, *w = NULL;
	struct vt_err err = { 0 };
	struct vbuf b1, b2;
	struct jw j1, j2;

	CHECK_EQ(tap_sessions_parse(full_json, sizeof(full_json) - 1, &v, &err), 1);
	vbuf_init(&b1, 1 << 16);
	vbuf_init(&b2, 1 << 16);
	jw_init(&j1, &b1, false);
	tap_session_to_json(&j1, NULL, &v[0]);
	CHECK_EQ(j1.err, 0);
	CHECK_EQ(tap_sessions_parse((const char *)b1.data, b1.len, &w, &err), 1);
	if (w) {
		jw_init(&j2, &b2, false);
		tap_session_to_json(&j2, NULL, &w[0]);
		CHECK_STR(vbuf_str(&b2), vbuf_str(&b1));
		CHECK_EQ(w[0].rules[0].src_plen, v[0].rules[0].src_plen);
		CHECK_MEM(&w[0].rules[1].dst, &v[0].rules[1].dst, sizeof(struct vt_addr));
	} else {
		fprintf(stderr, "  %s\n  %s\n", vbuf_str(&b1), err.msg);
	}
	CHECK_CONTAINS(vbuf_str(&b1), "\"src\":\"198.18.9.0/24\"");
	CHECK_CONTAINS(vbuf_str(&b1), "\"sport\":\"1000-2000\"");
	tap_sessions_free(v, 1);
	tap_sessions_free(w, w ? 1 : 0);
	vbuf_free(&b1);
	vbuf_free(&b2);
}

static void t_targets(void)
{
	struct tap_session_def s = { .ntargets = 2 };
	struct vm_ident a = { .name = "web-1" }, b = { .name = "db" }, c = { .name = "x" };

	snprintf(s.targets[0], sizeof(s.targets[0]), "web-1");
	snprintf(s.targets[1], sizeof(s.targets[1]), "6695EB01-F6A4-8304-79AA-97F2502E193F");
	CHECK_EQ(uuid_parse("6695eb01-f6a4-8304-79aa-97f2502e193f", b.uuid), 0);
	CHECK(tap_session_targets(&s, &a));
	CHECK(tap_session_targets(&s, &b));   /* by UUID, whatever the name */
	CHECK(!tap_session_targets(&s, &c));
	s.all_vms = true;
	CHECK(tap_session_targets(&s, &c));
}

/* ---- compilation and the shared parser/matcher -------------------------- */

static void t_rule_compile(void)
{
	struct tap_rule_def d = { .action = TAP_ACT_ACCEPT, .proto = 6, .has_src = true,
				  .has_dport = true, .dport_lo = 443, .dport_hi = 443 };
	struct tap_rule r;
	unsigned plen;

	CHECK_EQ(prefix_parse("198.18.0.0/15", &d.src, &plen), 0);
	d.src_plen = plen;
	tap_rule_compile(&d, &r);
	CHECK_EQ(r.action, TAP_ACT_ACCEPT);
	CHECK_EQ(r.proto, 6);
	CHECK_EQ(r.flags, TAP_RF_SRC | TAP_RF_DPORT);
	CHECK_EQ(r.dport_lo, 443);
	/* ::ffff:198.18.0.0/111: words 0,1 zero; word 2 0x0000ffff; word 3 /15 */
	CHECK_EQ_U64(r.src[2], __builtin_bswap32(0x0000ffffu));
	CHECK_EQ_U64(r.src[3], __builtin_bswap32(0xc6120000u));
	CHECK_EQ_U64(r.src_mask[0], 0xffffffffu);
	CHECK_EQ_U64(r.src_mask[2], 0xffffffffu);
	CHECK_EQ_U64(r.src_mask[3], __builtin_bswap32(0xfffe0000u));
	CHECK_EQ_U64(r.dst_mask[0], 0);

	/* session-level: kinds, rates turned into bytes, default bursts */
	struct tap_session_def s = { .id = 9, .nrules = 1, .dflt = TAP_ACT_REJECT, .slice = 100,
				     .sample = 4, .rate_bps = 80000000 };
	struct tap_session ks;
	struct tap_rule kr[TAP_MAX_RULES];

	s.rules[0] = d;
	s.dest.type = TAP_DEST_VXLAN;
	s.dest.key = 99;
	s.dest.ttl = 9;
	CHECK_EQ(addr_parse("198.19.0.2", &s.dest.remote), 0);
	tap_session_compile(&s, &ks, kr);
	CHECK_EQ(ks.kind, TAP_KIND_VXLAN);
	CHECK_EQ(ks.flags, TAP_SF_RULES);
	CHECK_EQ(ks.nrules, 1);
	CHECK_EQ(ks.vni, 99);
	CHECK_EQ_U64(ks.remote4, 0xc6130002u);
	CHECK_EQ_U64(ks.rate_Bps, 10000000);
	CHECK_EQ_U64(ks.burst_bytes, 1000000);
	CHECK_EQ_U64(ks.burst_pkts, 64);
	CHECK_EQ(ks.sample, 4);
	CHECK_EQ(ks.ttl, 9);
	CHECK_MEM(&kr[0], &r, sizeof(r));
	s.dest.user_space = true;
	tap_session_compile(&s, &ks, kr);
	CHECK_EQ(ks.kind, TAP_KIND_RING);
	s.dest.type = TAP_DEST_GRE;
	s.nrules = 0;
	s.pcap_filter = (char *)"tcp";
	tap_session_compile(&s, &ks, kr);
	CHECK_EQ(ks.flags, TAP_SF_USER_FILTER | TAP_SF_RULES);
	CHECK_EQ(ks.remote4, 0);
}

/* Frame builders */
static size_t eth(uint8_t *f, uint16_t type, int vlans)
{
	size_t o = 12;

	memset(f, 0, 12);
	for (int i = 0; i < vlans; i++) {
		st_be16(f + o, i == 0 && vlans == 2 ? 0x88a8 : 0x8100);
		st_be16(f + o + 2, (uint16_t)(100 + i));
		o += 4;
	}
	st_be16(f + o, type);
	return o + 2;
}

static size_t ipv4(uint8_t *f, size_t o, uint8_t proto, const char *src, const char *dst,
		   uint16_t frag, int opts)
{
	struct vt_addr a;
	size_t ihl = 20 + 4 * (size_t)opts;

	memset(f + o, 0, ihl);
	f[o] = (uint8_t)(0x40 | ihl / 4);
	st_be16(f + o + 6, frag);
	f[o + 9] = proto;
	addr_parse(src, &a);
	memcpy(f + o + 12, a.b + 12, 4);
	addr_parse(dst, &a);
	memcpy(f + o + 16, a.b + 12, 4);
	return o + ihl;
}

static size_t ipv6(uint8_t *f, size_t o, uint8_t nh, const char *src, const char *dst)
{
	struct vt_addr a;

	memset(f + o, 0, 40);
	f[o] = 0x60;
	f[o + 6] = nh;
	addr_parse(src, &a);
	memcpy(f + o + 8, a.b, 16);
	addr_parse(dst, &a);
	memcpy(f + o + 24, a.b, 16);
	return o + 40;
}

static size_t l4(uint8_t *f, size_t o, uint16_t sp, uint16_t dp, int tcp)
{
	memset(f + o, 0, 20);
	st_be16(f + o, sp);
	st_be16(f + o + 2, dp);
	if (tcp)
		f[o + 12] = 0x80;   /* data offset 8 words: 12 bytes of options */
	return o + (tcp ? 32 : 8);
}

static void parse(const uint8_t *f, size_t n, struct tap_pkt *p)
{
	struct frame fr = { f, (uint32_t)n };

	memset(p, 0, sizeof(*p));
	tap_parse(&fr, p);
}

static void t_parser(void)
{
	uint8_t f[256];
	struct tap_pkt p;
	size_t o;

	/* QinQ + IPv4 with options + TCP with options */
	o = ipv4(f, eth(f, 0x0800, 2), 6, "198.18.1.1", "198.18.1.2", 0x4000, 2);
	o = l4(f, o, 40000, 443, 1);
	parse(f, o + 10, &p);
	CHECK_EQ(p.ipver, 4);
	CHECK_EQ(p.proto, 6);
	CHECK_EQ(p.l3_off, 22);
	CHECK_EQ(p.l4_off, 22 + 28);
	CHECK_EQ(p.hdr_len, 22 + 28 + 32);
	CHECK(p.has_l4);
	CHECK_EQ(p.sport, 40000);
	CHECK_EQ(p.dport, 443);
	CHECK_EQ_U64(p.src[3], __builtin_bswap32(0xc6120101u));
	CHECK_EQ_U64(p.src[2], __builtin_bswap32(0x0000ffffu));
	/* a later fragment: addresses but no ports */
	o = ipv4(f, eth(f, 0x0800, 0), 17, "198.18.1.1", "198.18.1.2", 0x0010, 0);
	o = l4(f, o, 53, 53, 0);
	parse(f, o, &p);
	CHECK_EQ(p.ipver, 4);
	CHECK(!p.has_l4);
	CHECK_EQ(p.hdr_len, 0);
	/* IPv6 + hop-by-hop (8) + dstopts (16) + UDP */
	o = ipv6(f, eth(f, 0x86dd, 1), 0, "2001:db8::1", "2001:db8::2");
	memset(f + o, 0, 24);
	f[o] = 60;
	f[o + 8] = 17;
	f[o + 9] = 1;
	o = l4(f, o + 24, 5000, 6000, 0);
	parse(f, o, &p);
	CHECK_EQ(p.ipver, 6);
	CHECK_EQ(p.proto, 17);
	CHECK_EQ(p.l4_off, 18 + 40 + 24);
	CHECK_EQ(p.hdr_len, 18 + 40 + 24 + 8);
	CHECK_EQ(p.dport, 6000);
	CHECK_EQ_U64(p.dst[3], __builtin_bswap32(2));
	/* IPv6 first fragment carries ports; a later one does not */
	o = ipv6(f, eth(f, 0x86dd, 0), 44, "2001:db8::1", "2001:db8::2");
	memset(f + o, 0, 8);
	f[o] = 6;
	o = l4(f, o + 8, 1, 2, 1);
	parse(f, o, &p);
	CHECK(p.has_l4);
	CHECK_EQ(p.proto, 6);
	f[14 + 40 + 3] = 0x08;   /* offset 1 (8 bytes) */
	parse(f, o, &p);
	CHECK(!p.has_l4);
	CHECK_EQ(p.proto, 6);
	/* truncated inside the TCP header: IP found, no ports */
	o = ipv4(f, eth(f, 0x0800, 0), 6, "198.18.1.1", "198.18.1.2", 0, 0);
	parse(f, o + 10, &p);
	CHECK_EQ(p.ipver, 4);
	CHECK(!p.has_l4);
	/* ARP: not IP */
	eth(f, 0x0806, 0);
	parse(f, 60, &p);
	CHECK_EQ(p.ipver, 0);
	/* IHL 4 */
	o = ipv4(f, eth(f, 0x0800, 0), 6, "198.18.1.1", "198.18.1.2", 0, 0);
	f[14] = 0x44;
	parse(f, o + 20, &p);
	CHECK_EQ(p.ipver, 0);
	/* extension header chain longer than the frame */
	o = ipv6(f, eth(f, 0x86dd, 0), 60, "2001:db8::1", "2001:db8::2");
	f[o] = 6;
	f[o + 1] = 200;
	parse(f, o + 8, &p);
	CHECK_EQ(p.ipver, 6);
	CHECK(!p.has_l4);
}

struct mcase {
	const char *rule_json;
	int v6;                  /* frame: 0 IPv4 TCP 198.18.1.1:40000 -> 198.18.1.2:443 */
	int want;                /*        1 IPv6 UDP 2001:db8::1:1500 -> 2001:db8::2:53 */
};

/* A rule list compiled as the engine does, run through tap_rule_match. */
static void t_match(void)
{
	static const struct mcase cases[] = {
		{ "{\"action\":\"accept\"}", 0, 1 },
		{ "{\"action\":\"accept\",\"proto\":\"tcp\"}", 0, 1 },
		{ "{\"action\":\"accept\",\"proto\":\"udp\"}", 0, 0 },
		{ "{\"action\":\"accept\",\"proto\":\"tcp\",\"dport\":443}", 0, 1 },
		{ "{\"action\":\"accept\",\"proto\":\"tcp\",\"dport\":\"444-500\"}", 0, 0 },
		{ "{\"action\":\"accept\",\"proto\":\"tcp\",\"sport\":443}", 0, 0 },
		{ "{\"action\":\"accept\",\"proto\":\"tcp\",\"sport\":443,\"bidir\":true}", 0, 1 },
		{ "{\"action\":\"accept\",\"dst\":\"198.18.1.2\"}", 0, 1 },
		{ "{\"action\":\"accept\",\"dst\":\"198.18.1.0/31\"}", 0, 0 },
		{ "{\"action\":\"accept\",\"src\":\"198.18.0.0/15\",\"dst\":\"198.18.1.2/32\"}", 0, 1 },
		{ "{\"action\":\"accept\",\"src\":\"198.18.1.2\",\"bidir\":true}", 0, 1 },
		{ "{\"action\":\"accept\",\"src\":\"2001:db8::/32\"}", 0, 0 },
		{ "{\"action\":\"accept\",\"src\":\"2001:db8::/32\"}", 1, 1 },
		{ "{\"action\":\"accept\",\"ip\":4}", 1, 0 },
		{ "{\"action\":\"accept\",\"ip\":6,\"proto\":\"udp\",\"dport\":53}", 1, 1 },
		{ "{\"action\":\"accept\",\"dst\":\"2001:db8::2/128\",\"sport\":\"1024-65535\"}", 1, 1 },
		{ "{\"action\":\"reject\",\"proto\":\"tcp\"}", 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char js[512];
		struct tap_session_def *v = NULL;
		struct vt_err err = { 0 };
		struct tap_session ks;
		struct tap_rule kr[TAP_MAX_RULES];
		uint8_t f[128];
		struct tap_pkt p;
		size_t o;
		int got;

		snprintf(js, sizeof(js), "{\"id\":1,\"target\":\"all\",\"rules\":[%s],"
			 "\"destination\":{\"type\":\"gre\",\"remote\":\"198.19.0.2\"}}",
			 cases[i].rule_json);
		if (tap_sessions_parse(js, strlen(js), &v, &err) != 1) {
			fprintf(stderr, "  case %zu: %s\n", i, err.msg);
			CHECK(0);
			continue;
		}
		tap_session_compile(&v[0], &ks, kr);
		if (cases[i].v6) {
			o = ipv6(f, eth(f, 0x86dd, 0), 17, "2001:db8::1", "2001:db8::2");
			o = l4(f, o, 1500, 53, 0);
		} else {
			o = ipv4(f, eth(f, 0x0800, 0), 6, "198.18.1.1", "198.18.1.2", 0, 0);
			o = l4(f, o, 40000, 443, 1);
		}
		parse(f, o, &p);
		/* the kernel's walk: first match decides, else the default */
		got = ks.dflt == TAP_ACT_ACCEPT;
		for (unsigned r = 0; r < ks.nrules; r++) {
			if (tap_rule_match(&kr[r], &p)) {
				got = kr[r].action == TAP_ACT_ACCEPT;
				break;
			}
		}
		if (got != cases[i].want)
			fprintf(stderr, "  case %zu (%s): got %d\n", i, cases[i].rule_json, got);
		CHECK_EQ(got, cases[i].want);
		tap_sessions_free(v, 1);
	}
}

VT_TEST_MAIN(VT_T(t_parse_full), VT_T(t_parse_defaults), VT_T(t_parse_errors),
	     VT_T(t_roundtrip), VT_T(t_targets), VT_T(t_rule_compile), VT_T(t_parser),
	     VT_T(t_match))
