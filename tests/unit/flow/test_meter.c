/* Unit tests: lib/flow/meter — key rules, counters, GSO segments, the
 * count-once rule, VM identity and interfaces in the records, the port
 * table, decode-error accounting. Packets are hand-built pkt_info. */
#include <errno.h>

#include "core/compiler.h"
#include "flow/meter.h"

#include "vt_test.h"

#define MAXREC_BIG 1024
static struct flow_rec recs_big[MAXREC_BIG];
#define recs recs_big
static size_t nrec;

static void collect(void *arg, const struct flow_rec *r)
{
	(void)arg;
	if (nrec < MAXREC_BIG)
		recs[nrec++] = *r;
}

static struct meter *mk(const struct meter_ports *ports)
{
	struct meter_cfg c = { .active_ms = 60000, .idle_ms = 15000, .fin_ms = 0,
			       .max_flows = 1000, .seed = 7 };
	nrec = 0;
	return meter_new(&c, ports, collect, NULL);
}

static struct pkt_info v4(const char *src, const char *dst, uint8_t proto, uint16_t sp,
			  uint16_t dp, uint32_t len)
{
	struct pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.has_eth = true;
	memcpy(pi.src_mac, "\x52\x54\x00\x00\x00\x01", 6);
	memcpy(pi.dst_mac, "\x52\x54\x00\x00\x00\x02", 6);
	pi.ethertype = 0x0800;
	pi.ipver = addr_parse(src, &pi.src) == 0 && addr_is_v4(&pi.src) ? 4 : 6;
	addr_parse(dst, &pi.dst);
	pi.proto = proto;
	pi.ip_len = len;
	pi.l3_off = 14;
	pi.has_l4 = true;
	pi.sport = sp;
	pi.dport = dp;
	pi.l4_off = (uint16_t)(pi.ipver == 4 ? 34 : 54);
	pi.payload_off = (uint16_t)(pi.l4_off + (proto == 6 ? 20 : 8));
	return pi;
}

/* The key rules, one case per row: what the record must carry. */
static void t_key_rules(void)
{
	struct {
		const char *name;
		struct pkt_info pi;
		uint16_t sport, dport, vlan;
		uint8_t proto;
	} c[8];
	size_t n = 0;

	c[n] = (typeof(c[0])){ "tcp", v4("198.18.0.1", "198.18.0.2", 6, 40000, 443, 60), 40000, 443,
			       0, 6 };
	n++;
	c[n] = (typeof(c[0])){ "udp v6", v4("2001:db8::1", "2001:db8::2", 17, 5353, 53, 80), 5353,
			       53, 0, 17 };
	n++;
	c[n] = (typeof(c[0])){ "icmp echo", v4("198.18.0.1", "198.18.0.2", 1, 0, 0, 84), 0, 0x0800,
			       0, 1 };
	c[n].pi.icmp_type = 8;
	n++;
	c[n] = (typeof(c[0])){ "icmpv6 too big", v4("2001:db8::1", "2001:db8::2", 58, 0, 0, 1280),
			       0, 0x0200, 0, 58 };
	c[n].pi.icmp_type = 2;
	n++;
	c[n] = (typeof(c[0])){ "icmp unreach code 3", v4("198.18.0.9", "198.18.0.2", 1, 0, 0, 70),
			       0, 0x0303, 0, 1 };
	c[n].pi.icmp_type = 3;
	c[n].pi.icmp_code = 3;
	n++;
	/* a non-first fragment: the decoder has no ports */
	c[n] = (typeof(c[0])){ "non-first fragment", v4("198.18.0.1", "198.18.0.2", 17, 0, 0, 1500),
			       0, 0, 0, 17 };
	c[n].pi.has_l4 = false;
	c[n].pi.is_frag = true;
	c[n].pi.frag_off = 1480;
	n++;
	/* QinQ: the outermost VID is the key */
	c[n] = (typeof(c[0])){ "qinq outer vid", v4("198.18.0.1", "198.18.0.2", 17, 1, 2, 100), 1, 2,
			       100, 17 };
	c[n].pi.nvlan = 2;
	c[n].pi.vlan[0] = 100;
	c[n].pi.vlan[1] = 200;
	n++;
	c[n] = (typeof(c[0])){ "sctp", v4("198.18.0.1", "198.18.0.2", 132, 2905, 2906, 100), 2905,
			       2906, 0, 132 };
	n++;

	for (size_t i = 0; i < n; i++) {
		struct meter *m = mk(NULL);
		vt_test_case = c[i].name;
		CHECK_EQ(meter_packet(m, &c[i].pi, 1000, NULL), 0);
		meter_flush(m, FLOW_END_FORCED);
		CHECK_EQ(nrec, 1);
		CHECK_EQ(recs[0].sport, c[i].sport);
		CHECK_EQ(recs[0].dport, c[i].dport);
		CHECK_EQ(recs[0].vlan, c[i].vlan);
		CHECK_EQ(recs[0].proto, c[i].proto);
		CHECK_EQ(recs[0].ipver, c[i].pi.ipver);
		CHECK_EQ(recs[0].bytes, c[i].pi.ip_len);
		CHECK_EQ(recs[0].packets, 1);
		CHECK_EQ(recs[0].end_reason, FLOW_END_FORCED);
		CHECK(addr_cmp(&recs[0].src, &c[i].pi.src) == 0);
		CHECK(addr_cmp(&recs[0].dst, &c[i].pi.dst) == 0);
		CHECK_EQ(recs[0].direction, FLOW_DIR_UNKNOWN);
		CHECK_EQ(recs[0].in_if, 0);
		meter_free(m);
	}
}

/* Counters, first/last, the TCP flag union, FIN ending, and packets that
 * differ only in one key field going to different flows. */
static void t_counters(void)
{
	struct meter *m = mk(NULL);
	struct pkt_info p = v4("198.18.0.1", "198.18.0.2", 6, 40000, 80, 60);
	struct pkt_info other = p;
	uint64_t pk = 0, by = 0;

	p.tcp_flags = 0x02;
	meter_packet(m, &p, 1000, NULL);
	p.tcp_flags = 0x10;
	p.ip_len = 1500;
	meter_packet(m, &p, 1200, NULL);
	p.tcp_flags = 0x18;
	p.ip_len = 700;
	meter_packet(m, &p, 1100, NULL); /* out of order in time */
	other.dport = 81;
	meter_packet(m, &other, 1300, NULL);
	other.dport = 80;
	other.nvlan = 1;
	other.vlan[0] = 5;
	meter_packet(m, &other, 1300, NULL);
	p.tcp_flags = 0x11; /* FIN */
	p.ip_len = 52;
	meter_packet(m, &p, 1400, NULL);
	/* fin_ms 0: the flow ends at the next sweep */
	meter_tick(m, 1700);
	CHECK_EQ(nrec, 1);
	CHECK_EQ(recs[0].packets, 4);
	CHECK_EQ(recs[0].bytes, 60 + 1500 + 700 + 52);
	CHECK_EQ(recs[0].tcp_flags, 0x1b);
	CHECK_EQ_U64(recs[0].first_ms, 1000);
	CHECK_EQ_U64(recs[0].last_ms, 1400);
	CHECK_EQ(recs[0].end_reason, FLOW_END_EOF);
	meter_flush(m, FLOW_END_FORCED);
	CHECK_EQ(nrec, 3);
	for (size_t i = 0; i < nrec; i++) {
		pk += recs[i].packets;
		by += recs[i].bytes;
	}
	CHECK_EQ_U64(pk, meter_stats(m)->packets);
	CHECK_EQ_U64(by, meter_stats(m)->bytes);
	CHECK_EQ_U64(meter_stats(m)->records, 3);
	CHECK_EQ_U64(meter_stats(m)->ip_frames, 6);
	meter_free(m);
}

static void t_gso_split(void)
{
	static const struct {
		uint32_t ip_len, hdr, gso, segs;
		uint64_t pk, by;
	} c[] = {
		{ 1500, 52, 0, 0, 1, 1500 },                    /* not GSO */
		{ 1500, 52, 1448, 0, 1, 1500 },                 /* one segment */
		{ 52 + 2896, 52, 1448, 0, 2, 2 * 1500 },        /* exactly two */
		{ 52 + 2897, 52, 1448, 0, 3, 2949 + 2 * 52 },   /* a short third */
		{ 40 + 64000, 40, 1460, 0, 44, 64040 + 43 * 40 }, /* 64000/1460 = 43.8 */
		{ 40 + 64000, 40, 1460, 50, 50, 64040 + 49 * 40 }, /* the segs given win */
		{ 60, 60, 1448, 0, 1, 60 },                     /* no payload */
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t pk, by;
		meter_gso_split(c[i].ip_len, c[i].hdr, c[i].gso, c[i].segs, &pk, &by);
		CHECK_EQ_U64(pk, c[i].pk);
		CHECK_EQ_U64(by, c[i].by);
	}
	/* through meter_packet: a 3-segment TCP super-frame */
	{
		struct meter *m = mk(NULL);
		struct pkt_info p = v4("198.18.0.1", "198.18.0.2", 6, 1, 2, 40 + 4000);
		struct meter_obs o = { .port = 3, .dir = FLOW_DIR_INGRESS, .peer_port = FT_PORT_NONE,
				       .gso_size = 1448 };
		meter_packet(m, &p, 1000, &o);
		meter_flush(m, FLOW_END_FORCED);
		CHECK_EQ(nrec, 1);
		CHECK_EQ(recs[0].packets, 3);
		CHECK_EQ(recs[0].bytes, 4040 + 2 * 40);
		CHECK_EQ(meter_stats(m)->gso_frames, 1);
		CHECK_EQ(recs[0].in_if, 3);
		CHECK_EQ(recs[0].direction, FLOW_DIR_INGRESS);
		meter_free(m);
	}
}

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };

static struct meter_ports *two_vms(void)
{
	struct meter_ports *p = meter_ports_new(64);
	struct vm_ident a = { .ifindex = 17 }, b = { .ifindex = 18 };

	uuid_parse("6695eb01-f6a4-8304-79aa-97f2502e193f", a.uuid);
	snprintf(a.name, sizeof(a.name), "web-1");
	snprintf(a.ifname, sizeof(a.ifname), "vp-web-1");
	uuid_parse("11111111-2222-3333-4444-555555555555", b.uuid);
	snprintf(b.name, sizeof(b.name), "db-1");
	snprintf(b.ifname, sizeof(b.ifname), "tp-db-1");
	CHECK_EQ(meter_ports_set(p, 1, &a, mac_a), 0);
	CHECK_EQ(meter_ports_set(p, 2, &b, mac_b), 0);
	return p;
}

/* Count once (ARCHITECTURE.md decision 2): a VM-to-VM frame on one host
 * is seen leaving A's port (ingress) and reaching B's port (egress); only
 * the first is counted, and the record names both VMs. A frame from
 * outside reaching B is counted at B (egress, remote). */
static void t_count_once_and_identity(void)
{
	struct meter_ports *ports = two_vms();
	struct meter *m = mk(ports);
	struct pkt_info p = v4("198.18.0.1", "198.18.0.2", 17, 1000, 2000, 128);
	struct pkt_info ext = v4("203.0.113.5", "198.18.0.2", 17, 53, 2000, 90);
	struct meter_obs at_a = { .port = 1, .dir = FLOW_DIR_INGRESS, .scope = FLOW_SCOPE_LOCAL,
				  .peer_port = 2 };
	struct meter_obs at_b = { .port = 2, .dir = FLOW_DIR_EGRESS, .scope = FLOW_SCOPE_LOCAL,
				  .peer_port = 1 };
	struct meter_obs ext_b = { .port = 2, .dir = FLOW_DIR_EGRESS, .scope = FLOW_SCOPE_REMOTE,
				   .peer_port = FT_PORT_NONE };
	char u[VT_UUIDSTRLEN];

	for (int i = 0; i < 3; i++) {
		CHECK_EQ(meter_packet(m, &p, 1000 + (uint64_t)i, &at_a), 0);
		CHECK_EQ(meter_packet(m, &p, 1000 + (uint64_t)i, &at_b), 1);
	}
	CHECK_EQ(meter_packet(m, &ext, 1005, &ext_b), 0);
	meter_flush(m, FLOW_END_FORCED);
	CHECK_EQ(nrec, 2);
	CHECK_EQ(meter_stats(m)->local_dup, 3);
	for (size_t i = 0; i < nrec; i++) {
		const struct flow_rec *r = &recs[i];
		if (r->sport == 1000) {
			CHECK_EQ(r->packets, 3);
			CHECK_EQ(r->scope, FLOW_SCOPE_LOCAL);
			CHECK_EQ(r->direction, FLOW_DIR_INGRESS);
			CHECK_STR(r->vm.name, "web-1");
			CHECK_STR(r->vm.ifname, "vp-web-1");
			CHECK_STR(uuid_fmt(r->vm.uuid, u, sizeof(u)), "6695eb01-f6a4-8304-79aa-97f2502e193f");
			CHECK_STR(r->peer.name, "db-1");
			CHECK_STR(uuid_fmt(r->peer.uuid, u, sizeof(u)), "11111111-2222-3333-4444-555555555555");
			CHECK_EQ(r->in_if, 17); /* the port's ifindex */
			CHECK_EQ(r->out_if, 0);
		} else {
			CHECK_EQ(r->packets, 1);
			CHECK_EQ(r->scope, FLOW_SCOPE_REMOTE);
			CHECK_EQ(r->direction, FLOW_DIR_EGRESS);
			CHECK_STR(r->vm.name, "db-1");
			CHECK_STR(r->peer.name, "");
			CHECK(uuid_is_nil(r->peer.uuid));
			CHECK_EQ(r->in_if, 0);
			CHECK_EQ(r->out_if, 18);
		}
	}
	meter_free(m);
	meter_ports_free(ports);
}

static void t_ports_table(void)
{
	struct meter_ports *p = two_vms();
	struct vm_ident c = { .ifindex = 30 };
	uint8_t mac_c[6] = { 2, 0, 0, 0, 0, 0xc };

	CHECK_EQ(meter_ports_count(p), 2);
	CHECK_EQ(meter_ports_by_mac(p, mac_a), 1);
	CHECK_EQ(meter_ports_by_mac(p, mac_b), 2);
	CHECK_EQ(meter_ports_by_mac(p, mac_c), FT_PORT_NONE);
	CHECK_EQ(meter_ports_set(p, 3, &c, mac_a), -EEXIST); /* A's MAC is taken */
	CHECK_EQ(meter_ports_set(p, 64, &c, mac_c), -ERANGE);
	CHECK_EQ(meter_ports_set(p, 40, &c, mac_c), 0);
	CHECK_EQ(meter_ports_by_mac(p, mac_c), 40);
	CHECK_EQ(meter_ports_vm(p, 40)->ifindex, 30);
	CHECK(meter_ports_vm(p, 39) == NULL);
	CHECK(meter_ports_vm(p, 1000) == NULL);
	const struct vm_ident *web1 = meter_ports_vm(p, 1);
	BUG_ON(!web1);
	CHECK_STR(web1->name, "web-1");
	CHECK_EQ(meter_ports_del(p, 1), 0);
	CHECK_EQ(meter_ports_del(p, 1), -ENOENT);
	CHECK_EQ(meter_ports_by_mac(p, mac_a), FT_PORT_NONE);
	CHECK_EQ(meter_ports_count(p), 2);
	/* the same port may change MAC */
	CHECK_EQ(meter_ports_set(p, 40, &c, mac_a), 0);
	CHECK_EQ(meter_ports_by_mac(p, mac_a), 40);
	CHECK_EQ(meter_ports_by_mac(p, mac_c), FT_PORT_NONE);
	meter_ports_free(p);
	meter_ports_free(NULL);
	CHECK(meter_ports_new(0) == NULL);
}

/* Frames that are not IP or failed decoding are counted by reason and
 * never create flows; an IP packet with a transport error is metered
 * without ports. */
static void t_errors(void)
{
	struct meter *m = mk(NULL);
	struct pkt_info arp, bad, l4 = v4("198.18.0.1", "198.18.0.2", 6, 0, 0, 40);

	memset(&arp, 0, sizeof(arp));
	arp.has_eth = true;
	arp.ethertype = 0x0806;
	memset(&bad, 0, sizeof(bad));
	bad.err = PKT_ERR_IPV4_IHL;
	l4.has_l4 = false;
	l4.err = PKT_ERR_L4_TRUNC;
	CHECK_EQ(meter_packet(m, &arp, 1, NULL), 1);
	CHECK_EQ(meter_packet(m, &bad, 2, NULL), 1);
	CHECK_EQ(meter_packet(m, &bad, 3, NULL), 1);
	CHECK_EQ(meter_packet(m, &l4, 4, NULL), 0);
	meter_flush(m, FLOW_END_FORCED);
	CHECK_EQ(nrec, 1);
	CHECK_EQ(recs[0].sport, 0);
	CHECK_EQ(meter_stats(m)->frames, 4);
	CHECK_EQ(meter_stats(m)->non_ip, 1);
	CHECK_EQ(meter_stats(m)->failed, 2);
	CHECK_EQ(meter_stats(m)->errors[PKT_ERR_IPV4_IHL], 2);
	CHECK_EQ(meter_stats(m)->errors[PKT_ERR_L4_TRUNC], 1);
	CHECK_EQ(meter_stats(m)->ip_frames, 1);
	meter_free(m);
}

/* meter_packets() (batched, with prefetching) must give exactly what
 * meter_packet() gives one frame at a time, whatever the batch sizes. */
static int rec_cmp(const void *a, const void *b)
{
	const struct flow_rec *x = a, *y = b;
	int c = memcmp(&x->src, &y->src, sizeof(x->src));
	if (c)
		return c;
	if (x->sport != y->sport)
		return x->sport < y->sport ? -1 : 1;
	if (x->first_ms != y->first_ms)
		return x->first_ms < y->first_ms ? -1 : 1;
	return 0;
}

static void t_batch_equals_single(void)
{
	enum { N = 3000 };
	static struct pkt_info pis[N];
	static struct meter_pkt mp[N];
	static struct flow_rec one[1024];
	static const size_t sizes[] = { 1, 7, 32, 64, 100, N };
	uint64_t seed = 12345;
	size_t n1;
	struct meter *m;

	for (size_t i = 0; i < N; i++) {
		char a[32];
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		snprintf(a, sizeof(a), "198.18.%u.%u", (unsigned)(seed >> 40) % 4,
			 (unsigned)(seed >> 48) % 16);
		pis[i] = v4(a, "198.19.0.1", (seed >> 20) % 3 ? 6 : 17, (uint16_t)((seed >> 30) % 5),
			    80, 40 + (uint32_t)(seed >> 56));
		if ((seed >> 10) % 50 == 0)
			pis[i].tcp_flags = 0x01;
		if ((seed >> 12) % 97 == 0)
			pis[i].ipver = 0; /* not IP */
		mp[i] = (struct meter_pkt){ &pis[i], 1000 + i * 7, NULL };
	}
	m = mk(NULL);
	for (size_t i = 0; i < N; i++)
		meter_packet(m, &pis[i], mp[i].ts_ms, NULL);
	meter_flush(m, FLOW_END_FORCED);
	n1 = nrec;
	CHECK(n1 > 100 && n1 < MAXREC_BIG);
	memcpy(one, recs_big, n1 * sizeof(one[0]));
	qsort(one, n1, sizeof(one[0]), rec_cmp);
	{
		struct meter_stats s1 = *meter_stats(m);
		meter_free(m);
		for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
			size_t done = 0;
			m = mk(NULL);
			for (size_t i = 0; i < N; i += sizes[k])
				done += meter_packets(m, &mp[i], VT_MIN(sizes[k], (size_t)N - i));
			meter_flush(m, FLOW_END_FORCED);
			CHECK_EQ(done, s1.ip_frames);
			CHECK_EQ(nrec, n1);
			CHECK(memcmp(meter_stats(m), &s1, sizeof(s1)) == 0);
			qsort(recs_big, nrec, sizeof(recs_big[0]), rec_cmp);
			CHECK(memcmp(one, recs_big, n1 * sizeof(one[0])) == 0);
			meter_free(m);
		}
	}
}

VT_TEST_MAIN(VT_T(t_key_rules), VT_T(t_counters), VT_T(t_gso_split),
	     VT_T(t_count_once_and_identity), VT_T(t_ports_table), VT_T(t_errors),
	     VT_T(t_batch_equals_single))
