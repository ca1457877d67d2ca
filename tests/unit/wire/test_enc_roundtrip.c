/* Unit tests: what the agent's encoders (ipfix_enc, nfv9_enc) write, the
 * collector's decoder (flowdec) reads back field for field — every
 * template shape (v4/v6, observing VM, local peer VM), ICMP, long names,
 * absolute times in IPFIX and uptime-relative times in v9, messages packed
 * to an MTU. The agent and the collector must agree on the wire. */
#include <errno.h>

#include "core/compiler.h"
#include "wire/flowdec.h"
#include "wire/ipfix_enc.h"
#include "wire/nfv9_enc.h"

#include "vt_test.h"

#define NREC 48
static struct flow_rec got[NREC * 2];
static size_t ngot;

static void on_record(void *arg, const struct flow_rec *r, const struct flowdec_src *src)
{
	(void)arg;
	(void)src;
	if (ngot < ARRAY_SIZE(got))
		got[ngot++] = *r;
}

static void set_vm(struct vm_ident *v, unsigned n, size_t namelen)
{
	memset(v, 0, sizeof(*v));
	v->ifindex = 100 + n;
	snprintf(v->ifname, sizeof(v->ifname), "vp-%u", n);
	for (unsigned i = 0; i < 16; i++)
		v->uuid[i] = (uint8_t)(n * 16 + i);
	for (size_t i = 0; i < namelen && i < VT_NAME_MAX - 1; i++)
		v->name[i] = (char)('a' + (n + i) % 26);
}

/* flow_i() : record i cycles through every template shape. */
static struct flow_rec flow_i(unsigned i)
{
	struct flow_rec r;
	char a[64];

	memset(&r, 0, sizeof(r));
	r.ipver = i % 2 ? 6 : 4;
	snprintf(a, sizeof(a), r.ipver == 6 ? "2001:db8::%x" : "198.18.0.%u", i + 1);
	addr_parse(a, &r.src);
	addr_parse(r.ipver == 6 ? "2001:db8:ffff::1" : "203.0.113.9", &r.dst);
	r.first_ms = 1700000000000ull + i * 1013;
	r.last_ms = r.first_ms + i * 37;
	r.proto = i % 5 == 0 ? (r.ipver == 6 ? 58 : 1) : i % 5 == 1 ? 17 : 6;
	if (r.proto == 1 || r.proto == 58) {
		r.sport = 0;
		r.dport = (uint16_t)((r.proto == 1 ? 8 : 128) << 8 | (i % 3));
	} else {
		r.sport = (uint16_t)(40000 + i);
		r.dport = (uint16_t)(i % 2 ? 443 : 53);
		r.tcp_flags = r.proto == 6 ? (uint8_t)(0x12 | (i % 3 ? 0x01 : 0)) : 0;
	}
	r.tos = (uint8_t)(i * 4);
	r.vlan = (uint16_t)(i % 4 ? 0 : 100 + i);
	r.packets = 1 + i * 3;
	r.bytes = 60 * r.packets + i;
	r.direction = (uint8_t)(i % 3 == 2 ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS);
	if (r.direction == FLOW_DIR_EGRESS)
		r.out_if = 7 + i;
	else
		r.in_if = 7 + i;
	r.end_reason = (uint8_t)(1 + i % 5);
	r.src_mac[5] = (uint8_t)i;
	r.dst_mac[0] = 0x52;
	r.dst_mac[5] = (uint8_t)(i + 1);
	switch ((i / 2) % 3) {
	case 0: /* no VM */
		break;
	case 1: /* the observing VM */
		r.scope = FLOW_SCOPE_REMOTE;
		set_vm(&r.vm, i, i % 7 == 0 ? 63 : 5);
		break;
	case 2: /* ... and a local peer */
		r.scope = FLOW_SCOPE_LOCAL;
		set_vm(&r.vm, i, 6);
		set_vm(&r.peer, i + 100, 9);
		break;
	}
	return r;
}

static void check_same(const struct flow_rec *w, const struct flow_rec *g, bool v9)
{
	CHECK(addr_cmp(&w->src, &g->src) == 0);
	CHECK(addr_cmp(&w->dst, &g->dst) == 0);
	CHECK_EQ(g->ipver, w->ipver);
	CHECK_EQ(g->proto, w->proto);
	CHECK_EQ(g->sport, w->sport);
	CHECK_EQ(g->dport, w->dport);
	CHECK_EQ_U64(g->first_ms, w->first_ms);
	CHECK_EQ_U64(g->last_ms, w->last_ms);
	CHECK_EQ_U64(g->packets, w->packets);
	CHECK_EQ_U64(g->bytes, w->bytes);
	CHECK_EQ(g->tcp_flags, w->tcp_flags);
	CHECK_EQ(g->tos, w->tos);
	CHECK_EQ(g->vlan, w->vlan);
	CHECK_EQ(g->in_if, w->in_if);
	CHECK_EQ(g->out_if, w->out_if);
	CHECK_EQ(g->direction, w->direction);
	CHECK_EQ(g->end_reason, w->end_reason);
	CHECK_MEM(g->src_mac, w->src_mac, 6);
	CHECK_MEM(g->dst_mac, w->dst_mac, 6);
	CHECK_EQ(g->exp_version, v9 ? 9 : 10);
	CHECK_EQ(g->obs_domain, 77);
	/* the identities: v9 names are fixed-length, cut at the field */
	CHECK_MEM(g->vm.uuid, w->vm.uuid, 16);
	CHECK_EQ(g->vm.ifindex, w->vm.ifindex);
	CHECK_STR(g->vm.ifname, w->vm.ifname);
	CHECK_STR(g->vm.name, w->vm.name);
	if (w->scope == FLOW_SCOPE_LOCAL) {
		CHECK_MEM(g->peer.uuid, w->peer.uuid, 16);
		CHECK_EQ(g->peer.ifindex, w->peer.ifindex);
		CHECK_STR(g->peer.ifname, w->peer.ifname);
		CHECK_STR(g->peer.name, w->peer.name);
	} else {
		CHECK(uuid_is_nil(g->peer.uuid));
		CHECK_STR(g->peer.name, "");
	}
}

static void roundtrip(const struct flowenc_ops *ops)
{
	static const struct flowdec_ops dops = { on_record, NULL };
	struct flowdec_conf dc;
	struct flowdec *fd;
	struct flow_rec want[NREC];
	struct vt_addr exp;
	uint8_t buf[1472];
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = 1700000100000ull, .domain = 77,
			    .boot_ms = 1699999990000ull };
	unsigned msgs = 0;
	uint32_t seq_recs = 0;
	bool v9 = ops->version == 9;

	flowdec_conf_defaults(&dc);
	fd = flowdec_new(&dc, &dops, NULL);
	CHECK(fd != NULL);
	addr_parse("198.18.255.1", &exp);
	ngot = 0;
	for (unsigned i = 0; i < NREC; i++)
		want[i] = flow_i(i);
	/* messages of at most 1472 bytes, templates in the first */
	h.seq = 0;
	ops->begin(&m, buf, sizeof(buf), &h);
	CHECK_EQ(ops->templates(&m), 0);
	for (unsigned i = 0; i < NREC; i++) {
		if (ops->flow(&m, &want[i]) == 0)
			continue;
		seq_recs += m.data_records;
		CHECK(flowdec_input(fd, &exp, 40000, h.now_ms, buf, ops->end(&m), msgs) >= 0);
		msgs++;
		h.seq = v9 ? msgs : seq_recs;
		ops->begin(&m, buf, sizeof(buf), &h);
		CHECK_EQ(ops->flow(&m, &want[i]), 0);
	}
	CHECK(flowdec_input(fd, &exp, 40000, h.now_ms, buf, ops->end(&m), msgs) >= 0);
	msgs++;
	CHECK(msgs >= 3);
	CHECK_EQ(ngot, NREC);
	for (size_t i = 0; i < ngot && i < NREC; i++) {
		vt_test_case = v9 ? "nfv9" : "ipfix";
		check_same(&want[i], &got[i], v9);
	}
	{
		struct fd_exporter_stats st;
		CHECK_EQ(flowdec_exporter_stats(fd, &exp, &st), 0);
		CHECK_EQ(st.errors, 0);
		CHECK_EQ(st.seq_gaps, 0);
		CHECK_EQ(st.no_template_sets, 0);
	}
	flowdec_free(fd);
}

static void t_ipfix(void)
{
	roundtrip(&ipfix_enc_ops);
}

static void t_nfv9(void)
{
	roundtrip(&nfv9_enc_ops);
}

VT_TEST_MAIN(VT_T(t_ipfix), VT_T(t_nfv9))
