/* tap_path.c — the tap engine's user-space copy path (see tap_priv.h):
 * frames from the ring (eBPF backend, already filtered by the kernel except
 * for pcap-filter sessions) or from AF_PACKET sockets (everything done
 * here) go through admission (rules, liveness, sampling, rate), the path
 * MTU policy, segmentation and slicing, and are queued on each session's
 * destination. */
#include <stdint.h>
#include <string.h>

/* The user-space TAP_LOAD of the shared frame parser (bpf/tap_shared.h):
 * a bounds-checked copy. Defined before anything includes that header. */
struct tap_buf {
	const uint8_t *p;
	uint32_t len;
};
static int buf_load(const struct tap_buf *b, uint32_t off, void *dst, uint32_t n)
{
	if (off > b->len || n > b->len - off)
		return -1;
	memcpy(dst, b->p + off, n);
	return 0;
}
#define TAP_LOAD(ctx, off, dst, len) buf_load((const struct tap_buf *)(ctx), (off), (dst), (len))

#include "agent/tap/tap_priv.h"

#include <arpa/inet.h>

#include "agent/tap/tap_seg.h"
#include "core/be.h"
#include "core/compiler.h"
#include "core/timeutil.h"

/* ---- user-space admission: sampling and rate (pcap and AF_PACKET) ------- */

static bool rate_ok(struct sess_rt *s, uint64_t pkts, uint64_t bytes)
{
	const struct tap_session *k = &s->ks;
	uint64_t now = mono_ns(), el = now - s->rl_last_ns, pt, bt;
	bool ok = true;

	if (!k->rate_pps && !k->rate_Bps)
		return true;
	if (el > 1000000000ull)
		el = 1000000000ull;
	s->rl_last_ns = now;
	pt = VT_MIN(s->pkt_tokens + el * k->rate_pps, k->burst_pkts * 1000000000ull);
	bt = VT_MIN(s->byte_tokens + el * k->rate_Bps, k->burst_bytes * 1000000000ull);
	if (k->rate_pps && pt < pkts * 1000000000ull)
		ok = false;
	if (k->rate_Bps && bt < bytes * 1000000000ull)
		ok = false;
	if (ok) {
		if (k->rate_pps)
			pt -= pkts * 1000000000ull;
		if (k->rate_Bps)
			bt -= bytes * 1000000000ull;
	}
	s->pkt_tokens = pt;
	s->byte_tokens = bt;
	return ok;
}

/* The checks the kernel makes for kernel-filtered sessions, done here for
 * pcap-filter sessions and for the AF_PACKET backend. */
static bool admit(struct sess_rt *s, const struct fmeta *m)
{
	s->u.matched += m->segs;
	s->u.matched_bytes += m->wire_bytes;
	if (!s->dest_up) {
		s->u.drop_dest_down += m->segs;
		return false;
	}
	if (s->def.sample > 1 && s->sample_ctr++ % s->def.sample) {
		s->u.sampled_out += m->segs;
		return false;
	}
	if (!rate_ok(s, m->segs, m->wire_bytes)) {
		s->u.drop_rate += m->segs;
		return false;
	}
	return true;
}

static bool rules_accept(const struct sess_rt *s, const struct tap_pkt *pk)
{
	if (!(s->ks.flags & TAP_SF_RULES))
		return true;
	for (unsigned i = 0; i < s->ks.nrules; i++)
		if (tap_rule_match(&s->kr[i], pk))
			return s->kr[i].action == TAP_ACT_ACCEPT;
	return s->ks.dflt == TAP_ACT_ACCEPT;
}

/* ---- the copy path ------------------------------------------------------- */

static void port_desc(const struct tap_engine *e, const struct port_rt *p, struct tap_out_port *op)
{
	op->vm_name = p->vm.name;
	op->vm_uuid = p->uuid;
	op->host = e->host;
	op->ifname = p->ifname;
}

/* Cuts one frame into wire frames for session <s>, applying its slice and
 * the path MTU policy per wire frame (the short tail of a super-frame may
 * fit where its other segments do not), and hands them to its destination. */
static void emit(struct tap_engine *e, struct sess_rt *s, const struct fmeta *m,
		 const uint8_t *data)
{
	struct tap_frame f = {
		.data = data, .cap_len = m->cap, .len = m->len, .gso_size = m->gso_size,
		.hdr_len = (uint16_t)m->pk.hdr_len, .l3_off = m->pk.l3_off, .l4_off = m->pk.l4_off,
		.ipver = m->pk.ipver, .l4_proto = m->pk.proto,
	};
	uint32_t cap = s->def.slice ? s->def.slice : FRAME_MAX, mss = 0, seg, n, wire;
	uint32_t maxf = s->max_frame, total;
	uint8_t policy = s->def.dest.mtu_policy;
	struct port_rt *p = &e->ports[m->slot % TAP_MAX_PORTS];
	struct tap_out_port op;
	struct tap_seg_iter it;

	s->u.handled += m->segs;
	seg = m->gso_size && f.hdr_len ? f.hdr_len + m->gso_size : m->len;
	/* "segment": TCP is cut smaller to fit; other payloads would need IP
	 * fragments, so their frames that do not fit are dropped below */
	if (maxf && seg > maxf && policy == TAP_MTU_SEGMENT && tap_seg_can_resegment(&f) &&
	    maxf >= f.hdr_len + 64u)
		mss = maxf - f.hdr_len;
	total = tap_seg_init(&it, &f, mss);
	if (it.navail < total)   /* the record was cut: what is missing was too big */
		s->u.drop_too_big += total - it.navail;
	port_desc(e, p, &op);
	while ((n = tap_seg_next(&it, e->seg, cap, &wire)) > 0) {
		struct tap_copy c = {
			.data = e->seg, .caplen = n, .wire_len = wire, .ts_ns = m->ts_ns,
			.dir = m->dir, .vlan = m->vlan ? (m->vlan_tci & 0xfff) : 0,
			.port_index = m->ifindex, .port_slot = m->slot,
		};

		if (maxf && wire > maxf) {
			if (policy != TAP_MTU_SLICE) {
				s->u.drop_too_big++;
				continue;
			}
			c.caplen = VT_MIN(n, maxf);
		}
		if (c.caplen < wire)
			s->u.sliced++;
		(void)tap_out_put(s->out, &c, &op);
	}
}

/* Puts a tag the kernel kept apart back into the frame (copy in e->vbuf). */
static const uint8_t *untag(struct tap_engine *e, struct fmeta *m, const uint8_t *data)
{
	if (!m->vlan || m->cap < 12 || m->cap + 4 > sizeof(e->vbuf))
		return data;
	memcpy(e->vbuf, data, 12);
	st_be16(e->vbuf + 12, m->vlan_proto ? m->vlan_proto : 0x8100);
	st_be16(e->vbuf + 14, m->vlan_tci);
	memcpy(e->vbuf + 16, data + 12, m->cap - 12);
	m->cap += 4;
	m->len += 4;
	if (m->pk.l3_off)
		m->pk.l3_off += 4;
	if (m->pk.l4_off)
		m->pk.l4_off += 4;
	if (m->pk.hdr_len)
		m->pk.hdr_len += 4;
	return e->vbuf;
}

/* Every session in <mask> gets the frame; <kernel_filtered>: the kernel
 * already applied rules, liveness, sampling and rate for sessions without
 * a pcap filter. */
/* Whether the pcap filter of <s> takes the frame. */
static bool pcap_match(struct sess_rt *s, const struct fmeta *m, const uint8_t *data)
{
#if VTAP_HAVE_PCAP
	struct pcap_pkthdr ph;

	memset(&ph, 0, sizeof(ph));
	ph.caplen = m->cap;
	ph.len = m->len;
	return pcap_offline_filter(&s->pcap, &ph, data) != 0;
#else
	(void)s;
	(void)m;
	(void)data;
	return false;
#endif
}

static void deliver(struct tap_engine *e, struct fmeta *m, const uint8_t *data, uint64_t mask,
		    bool kernel_filtered)
{
	data = untag(e, m, data);
	for (unsigned i = 0; mask && i < TAP_MAX_SESSIONS; i++) {
		struct sess_rt *s = &e->sess[i];

		if (!(mask & (1ull << i)))
			continue;
		mask &= ~(1ull << i);
		if (!s->used || !s->out)
			continue;   /* deleted while the record was in the ring */
		if (s->has_pcap) {
			if (!pcap_match(s, m, data)) {
				s->u.handled += m->segs;
				continue;
			}
			if (!admit(s, m)) {
				s->u.handled += m->segs;
				continue;
			}
		} else if (!kernel_filtered) {
			if (!rules_accept(s, &m->pk))
				continue;
			if (!admit(s, m))
				continue;
		}
		emit(e, s, m, data);
	}
}

void tap_path_flush(struct tap_engine *e)
{
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (e->sess[i].used && e->sess[i].out)
			tap_out_flush(e->sess[i].out);
}

/* ---- eBPF backend: ring records ----------------------------------------- */

#if VTAP_HAVE_BPF_SKEL
void tap_path_on_record(void *arg, const struct tap_rec *r, const uint8_t *frame)
{
	struct tap_engine *e = arg;
	struct fmeta m;

	memset(&m, 0, sizeof(m));
	e->records++;
	m.ts_ns = (uint64_t)((int64_t)r->ts_ns + e->wall_off_ns);
	m.ifindex = r->ifindex;
	m.slot = r->port;
	m.dir = r->dir;
	m.len = r->wire_len;
	m.cap = r->cap_len;
	m.segs = r->gso_segs ? r->gso_segs : 1;
	m.wire_bytes = r->wire_len + (uint64_t)(m.segs - 1) * r->hdr_len;
	m.gso_size = r->gso_size;
	m.pk.ipver = r->ipver;
	m.pk.proto = r->l4_proto;
	m.pk.l3_off = r->l3_off;
	m.pk.l4_off = r->l4_off;
	m.pk.hdr_len = r->hdr_len;
	m.vlan = (r->flags & TAP_RECF_VLAN) != 0;
	m.vlan_tci = r->vlan_tci;
	m.vlan_proto = ntohs(r->vlan_proto);
	deliver(e, &m, frame, r->sess_mask, true);
}

void tap_path_on_ring(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct tap_engine *e = io->arg;

	(void)ev;
	(void)events;
	(void)tap_bpf_ring_consume(e->bpf, RING_BUDGET, tap_path_on_record, e);
	tap_path_flush(e);
}

void tap_path_on_ring_timer(struct evloop *ev, struct ev_timer *t)
{
	struct tap_engine *e = t->arg;

	(void)ev;
	if (tap_bpf_ring_consume(e->bpf, RING_BUDGET, tap_path_on_record, e) > 0)
		tap_path_flush(e);
}
#endif

/* ---- AF_PACKET backend ----------------------------------------------------- */

struct afp_ctx {
	struct tap_engine *e;
	struct port_rt *p;
};

static void on_afp_frame(void *arg, const struct tap_afp_frame *f)
{
	struct afp_ctx *c = arg;
	struct tap_engine *e = c->e;
	struct port_rt *p = c->p;
	struct tap_buf b = { f->data, f->caplen };
	struct fmeta m;
	uint64_t mask;

	memset(&m, 0, sizeof(m));
	e->afp_frames++;
	m.ts_ns = f->ts_ns;
	m.ifindex = p->ifindex;
	m.slot = (uint32_t)(p - e->ports);
	m.dir = f->dir;
	m.len = f->len;
	m.cap = f->caplen;
	tap_parse(&b, &m.pk);
	m.segs = 1;
	if (f->gso_size && m.pk.hdr_len && f->len > m.pk.hdr_len) {
		m.gso_size = f->gso_size;
		m.segs = (f->len - m.pk.hdr_len + f->gso_size - 1) / f->gso_size;
	}
	m.wire_bytes = f->len + (f->vlan ? 4u : 0u) +
		       (uint64_t)(m.segs - 1) * (m.pk.hdr_len + (f->vlan ? 4u : 0u));
	m.vlan = f->vlan;
	m.vlan_tci = f->vlan_tci;
	m.vlan_proto = f->vlan_tpid;
	p->uc.pkts[m.dir & 1] += m.segs;
	p->uc.bytes[m.dir & 1] += m.wire_bytes;
	mask = p->sess[m.dir & 1];
	if (mask)
		deliver(e, &m, f->data, mask, false);
}

void tap_path_on_afp(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct port_rt *p = io->arg;
	struct tap_engine *e = p->eng;
	struct afp_ctx c = { e, p };

	(void)ev;
	(void)events;
	(void)tap_afp_read(p->afp, AFP_BUDGET, on_afp_frame, &c);
	tap_path_flush(e);
}
