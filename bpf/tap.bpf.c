/* tap.bpf.c — the virtual tap in the kernel: tc (clsact) programs on both
 * hooks of every tapped VM port, and one on the egress hook of the
 * collect_md VXLAN device that carries in-kernel mirror copies.
 *
 * For each frame on an armed port the program finds the port's sessions
 * for the frame's direction, evaluates each session's ordered rules (or
 * leaves a pcap-filter session to user space), applies liveness of the
 * destination, 1-in-N sampling and the rate limit, and then either
 *  - clones the frame into the VXLAN device (VXLAN sessions whose copy
 *    fits the path as it is, or after a plain cut): the clone passes the
 *    device's egress hook, where vtap_vx_xmit sets the tunnel key of that
 *    session on the clone only, and the kernel encapsulates it; or
 *  - writes one record per frame into the ring buffer, with a mask of the
 *    sessions that want it (GRE, ERSPAN, TZSP, pcapng, and the VXLAN cases
 *    that need user-space segmentation or per-segment slicing).
 *
 * Fail open: every path returns TC_ACT_OK and never changes the frame; a
 * copy that cannot be made (ring full, destination down, too big, over
 * the rate) is not made and is counted. The programs keep working when
 * the user-space process dies: VXLAN copies continue in the kernel, ring
 * copies are counted as queue-full once the ring fills.
 *
 * Work per frame is bounded: one hash lookup for the port, then for each
 * of at most 64 sessions a call to a global function (verified once) that
 * walks at most TAP_MAX_RULES rules. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The parser reads the headers from one prefetched copy of the frame's
 * first PREFETCH bytes (one helper call instead of one per header), and
 * from the frame itself past them. */
#define PREFETCH 128
struct parse_ctx {
	struct __sk_buff *skb;
	__u32 len;              /* valid bytes in buf: 0 or PREFETCH */
	/* room past PREFETCH so the verifier can see that a masked offset
	 * plus the longest header read (40) stays inside; never read as data */
	__u8 buf[PREFETCH + 64];
};

static __always_inline int parse_load(struct parse_ctx *c, __u32 off, void *dst, __u32 len)
{
	if (off + len <= c->len) {
		__u64 o = off;

		barrier_var(o);   /* keep the mask: it is the verifier's bound */
		o &= PREFETCH - 1;
		__builtin_memcpy(dst, c->buf + o, len);
		return 0;
	}
	return bpf_skb_load_bytes(c->skb, off, dst, len);
}
#define TAP_LOAD(ctx, off, dst, len) parse_load((struct parse_ctx *)(ctx), (off), (dst), (len))
#include "tap_shared.h"

/* Only non-GPL helpers are used; the kernel accepts any license string
 * then. The project's license: */
char LICENSE[] SEC("license") = "Apache-2.0";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TAP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct tap_port);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAP_MAX_SESSIONS);
	__type(key, __u32);
	__type(value, struct tap_session);
} sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAP_MAX_SESSIONS);
	__type(key, __u32);
	__type(value, __u32);
} sess_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAP_MAX_SESSIONS);
	__type(key, __u32);
	__type(value, struct tap_sess_state);
} sess_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAP_MAX_SESSIONS * TAP_MAX_RULES);
	__type(key, __u32);
	__type(value, struct tap_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TAP_MAX_SESSIONS);
	__type(key, __u32);
	__type(value, struct tap_sess_ctr);
} sess_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TAP_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct tap_port_ctr);
} port_ctr SEC(".maps");

/* User space is woken only once this much waits in the ring (it also
 * drains the ring on a short timer), so a flood of small frames costs one
 * wake-up per many records instead of one each. Set before load. */
volatile const __u64 wake_bytes = 65536;

/* Size set by user space before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} ring SEC(".maps");

/* Hand-off from the port's program to vtap_vx_xmit: set just before
 * bpf_clone_redirect(), which runs the VXLAN device's egress hook for the
 * clone synchronously on this CPU, and cleared by it. */
struct tap_vx_scratch {
	__u32 valid;
	__u32 sess;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tap_vx_scratch);
} vx_scratch SEC(".maps");

/* Per-frame state shared by the per-session calls. */
struct tap_state {
	struct tap_pkt pk;
	__u64 ring_mask;       /* sessions that want a ring record */
	__u32 ring_cap;        /* frame bytes the record must hold */
	__u32 len;             /* skb->len */
	__u32 segs;            /* wire packets this frame stands for */
	__u32 wire_bytes;      /* their bytes */
	__u32 vlan_extra;      /* 4 when the kernel holds a stripped VLAN tag */
	__u32 gso_size;
	__u32 port;            /* port slot */
	__u32 dir;
};

/* ---- rules ----------------------------------------------------------- */

/* match_rules() : first matching rule of session <idx> decides; none
 * matching: the session's default. 1 = accept. */
__noinline int match_rules(__u32 idx, struct tap_pkt *pk, __u32 nrules, __u32 dflt)
{
	if (!pk || idx >= TAP_MAX_SESSIONS)
		return 0;
	for (__u32 i = 0; i < TAP_MAX_RULES; i++) {
		__u32 k = idx * TAP_MAX_RULES + i;
		struct tap_rule *r;

		if (i >= nrules)
			break;
		r = bpf_map_lookup_elem(&rules, &k);
		if (!r)
			break;
		if (tap_rule_match(r, pk))
			return r->action == TAP_ACT_ACCEPT;
	}
	return dflt == TAP_ACT_ACCEPT;
}

/* ---- rate limit -------------------------------------------------------- */

/* Token buckets in units of 1e-9 packet / byte, so refilling needs no
 * division: tokens += elapsed_ns * rate. Rates and bursts are bounded by
 * user space so nothing overflows (see tap_session validation). */
static __always_inline int rate_ok(struct tap_sess_state *ss, const struct tap_session *s,
				   __u64 pkts, __u64 bytes)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 el, pt, bt, cap;
	int ok = 1;

	bpf_spin_lock(&ss->lock);
	el = now - ss->last_ns;
	if (el > 1000000000ull)
		el = 1000000000ull;
	ss->last_ns = now;
	pt = ss->pkt_tokens;
	bt = ss->byte_tokens;
	if (s->rate_pps) {
		cap = s->burst_pkts * 1000000000ull;
		pt += el * s->rate_pps;
		if (pt > cap)
			pt = cap;
		if (pt < pkts * 1000000000ull)
			ok = 0;
	}
	if (s->rate_Bps) {
		cap = s->burst_bytes * 1000000000ull;
		bt += el * s->rate_Bps;
		if (bt > cap)
			bt = cap;
		if (bt < bytes * 1000000000ull)
			ok = 0;
	}
	if (ok) {
		if (s->rate_pps)
			pt -= pkts * 1000000000ull;
		if (s->rate_Bps)
			bt -= bytes * 1000000000ull;
	}
	ss->pkt_tokens = pt;
	ss->byte_tokens = bt;
	bpf_spin_unlock(&ss->lock);
	return ok;
}

/* ---- VXLAN in the kernel ---------------------------------------------- */

static __always_inline int vx_clone(struct __sk_buff *skb, __u32 idx, __u32 ifindex)
{
	__u32 z = 0;
	struct tap_vx_scratch *sc = bpf_map_lookup_elem(&vx_scratch, &z);
	long rc;
	__u32 ran;

	if (!sc)
		return -1;
	sc->valid = 1;
	sc->sess = idx;
	rc = bpf_clone_redirect(skb, ifindex, 0);
	ran = !sc->valid;
	sc->valid = 0;
	/* the tunnel key was set only if vtap_vx_xmit saw the clone */
	return rc == 0 && ran ? 0 : -1;
}

/* VXLAN session: 0 = copy made or dropped (counted), 1 = needs the ring.
 * The kernel clones frames that go out as they are. Slicing, re-segmenting
 * and per-segment decisions are made in user space: a cut must come after
 * the checksum a NIC would write is known, which needs the whole frame. */
static __always_inline int vxlan_copy(struct __sk_buff *skb, __u32 idx,
				      const struct tap_session *s, struct tap_state *st,
				      struct tap_sess_ctr *c, struct tap_port_ctr *pc)
{
	__u64 segs = st->segs;

	if (s->slice)
		return 1;
	if (!st->gso_size) {
		__u32 flen = st->len + st->vlan_extra;

		if (s->max_frame && flen > s->max_frame) {
			if (s->mtu_policy == TAP_MTU_DROP ||
			    (s->mtu_policy == TAP_MTU_SEGMENT &&
			     !(st->pk.proto == 6 && st->pk.has_l4 && st->pk.hdr_len))) {
				c->drop_too_big += segs;
				pc->dropped += segs;
				return 0;
			}
			return 1;   /* re-segment (TCP) or slice in user space */
		}
	} else {
		__u32 seg = st->pk.hdr_len + st->gso_size + st->vlan_extra;

		if (!st->pk.hdr_len)
			return 1;   /* unknown headers: let user space look */
		if (s->max_frame && seg > s->max_frame)
			return 1;   /* per wire frame: re-segment, slice or drop */
	}
	if (vx_clone(skb, idx, s->vx_ifindex) == 0) {
		c->sent += segs;
		pc->copied += segs;
	} else {
		c->drop_error += segs;
		pc->dropped += segs;
	}
	return 0;
}

/* ---- one session ------------------------------------------------------ */

__noinline int do_session(struct __sk_buff *skb, __u32 idx, struct tap_state *st)
{
	struct tap_session *s;
	struct tap_sess_ctr *c;
	struct tap_port_ctr *pc;
	struct tap_sess_state *ss;
	__u32 *live, port;
	__u64 segs;

	if (!skb || !st || idx >= TAP_MAX_SESSIONS)
		return 0;
	port = st->port;
	s = bpf_map_lookup_elem(&sessions, &idx);
	c = bpf_map_lookup_elem(&sess_ctr, &idx);
	pc = bpf_map_lookup_elem(&port_ctr, &port);
	ss = bpf_map_lookup_elem(&sess_state, &idx);
	live = bpf_map_lookup_elem(&sess_live, &idx);
	if (!s || !c || !pc || !ss || !live)
		return 0;
	segs = st->segs;

	if (s->flags & TAP_SF_USER_FILTER) {
		/* the pcap filter runs in user space, which also samples, limits
		 * and counts matches; the kernel hands it every candidate */
		st->ring_mask |= 1ull << idx;
		st->ring_cap = st->len;
		return 0;
	}
	if ((s->flags & TAP_SF_RULES) && !match_rules(idx, &st->pk, s->nrules, s->dflt))
		return 0;
	c->matched += segs;
	c->matched_bytes += st->wire_bytes;
	pc->matched += segs;
	if (!(*live & TAP_LIVE_UP)) {
		c->drop_dest_down += segs;
		pc->dropped += segs;
		return 0;
	}
	if (s->sample > 1 && __sync_fetch_and_add(&ss->sample_ctr, 1) % s->sample) {
		c->sampled_out += segs;
		return 0;
	}
	if ((s->rate_pps || s->rate_Bps) && !rate_ok(ss, s, segs, st->wire_bytes)) {
		c->drop_rate += segs;
		pc->dropped += segs;
		return 0;
	}
	if (s->kind == TAP_KIND_VXLAN && !vxlan_copy(skb, idx, s, st, c, pc))
		return 0;
	/* to the ring: user space encapsulates, segments and slices. A cut
	 * TCP/UDP frame is copied whole all the same: the checksum its copy
	 * carries is computed over the whole frame first */
	st->ring_mask |= 1ull << idx;
	if (s->slice && !st->gso_size && s->slice < st->len &&
	    !((st->pk.proto == 6 || st->pk.proto == 17) && st->pk.hdr_len)) {
		if (st->ring_cap < s->slice)
			st->ring_cap = s->slice;
	} else {
		st->ring_cap = st->len;
	}
	return 0;
}

/* ---- the ring ---------------------------------------------------------- */

static __always_inline void fill_rec(struct tap_rec *r, struct __sk_buff *skb,
				     const struct tap_state *st, __u32 cap)
{
	r->ts_ns = bpf_ktime_get_ns();
	r->sess_mask = st->ring_mask;
	r->ifindex = skb->ifindex;
	r->wire_len = st->len;
	r->cap_len = cap;
	r->port = (__u16)st->port;
	r->gso_size = (__u16)st->gso_size;
	r->gso_segs = (__u16)st->segs;
	r->hdr_len = (__u16)st->pk.hdr_len;
	r->vlan_tci = (__u16)skb->vlan_tci;
	r->vlan_proto = (__u16)skb->vlan_proto;
	r->dir = (__u8)st->dir;
	r->flags = (skb->vlan_present ? TAP_RECF_VLAN : 0) |
		   (st->len > TAP_REC_MAX ? TAP_RECF_TRUNC : 0);
	r->l4_proto = st->pk.proto;
	r->ipver = st->pk.ipver;
	r->l3_off = st->pk.l3_off;
	r->l4_off = st->pk.l4_off;
	r->pad[0] = r->pad[1] = 0;
}

static __always_inline __u64 ring_wake(void)
{
	return bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA) >= wake_bytes ? BPF_RB_FORCE_WAKEUP
									 : BPF_RB_NO_WAKEUP;
}

/* One branch per record size class: bpf_ringbuf_reserve() needs a
 * constant size, and classes keep a 64-byte frame from taking 64 KiB. */
#define RING_CLASS(N, MASK)                                                    \
	if (cap <= (N)) {                                                      \
		struct tap_rec *r = bpf_ringbuf_reserve(&ring, sizeof(*r) + (N), 0); \
		/* n = cap, written so the verifier sees 1 <= n <= N */         \
		__u64 n = (((__u64)cap - 1) & (MASK)) + 1;                     \
		if (!r)                                                        \
			return -1;                                             \
		barrier_var(n);                                                \
		if (n > (N))                                                   \
			n = (N);                                               \
		fill_rec(r, skb, st, n);                                       \
		if (bpf_skb_load_bytes(skb, 0, (void *)(r + 1), n)) {          \
			bpf_ringbuf_discard(r, 0);                             \
			return -1;                                             \
		}                                                              \
		bpf_ringbuf_submit(r, ring_wake());                            \
		return 0;                                                      \
	}

static __always_inline int ring_put(struct __sk_buff *skb, const struct tap_state *st, __u32 cap)
{
	RING_CLASS(128, 127)
	RING_CLASS(256, 255)
	RING_CLASS(512, 511)
	RING_CLASS(1024, 1023)
	RING_CLASS(1536, 2047)
	RING_CLASS(2048, 2047)
	RING_CLASS(4096, 4095)
	RING_CLASS(9216, 16383)
	RING_CLASS(16384, 16383)
	RING_CLASS(32768, 32767)
	RING_CLASS(TAP_REC_MAX, TAP_REC_MAX - 1)
	return -1;
}

__noinline int ring_copy(struct __sk_buff *skb, struct tap_state *st)
{
	__u32 cap, port;
	__u64 nk = 0;
	int ok;
	struct tap_port_ctr *pc;

	if (!skb || !st)
		return 0;
	cap = st->ring_cap;
	if (cap > st->len)
		cap = st->len;
	if (cap > TAP_REC_MAX)
		cap = TAP_REC_MAX;
	ok = ring_put(skb, st, cap) == 0;
	for (__u32 i = 0; i < TAP_MAX_SESSIONS; i++) {
		struct tap_sess_ctr *c;
		struct tap_session *s;
		__u32 k = i;

		if (!(st->ring_mask & (1ull << i)))
			continue;
		c = bpf_map_lookup_elem(&sess_ctr, &k);
		s = bpf_map_lookup_elem(&sessions, &k);
		if (!c || !s)
			continue;
		if (ok)
			c->queued += st->segs;
		else
			c->drop_queue_full += st->segs;
		/* pcap-filter sessions are counted by user space */
		if (!(s->flags & TAP_SF_USER_FILTER))
			nk++;
	}
	port = st->port;
	pc = bpf_map_lookup_elem(&port_ctr, &port);
	if (!pc)
		return 0;
	if (ok)
		pc->copied += nk * st->segs;
	else
		pc->dropped += nk * st->segs;
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

__noinline int parse_pkt(struct __sk_buff *skb, struct tap_pkt *pk)
{
	struct parse_ctx c;

	if (!skb || !pk)
		return 0;
	__builtin_memset(&c, 0, sizeof(c));
	c.skb = skb;
	if (bpf_skb_load_bytes(skb, 0, c.buf, PREFETCH) == 0)
		c.len = PREFETCH;
	/* a frame shorter than PREFETCH is read field by field */
	return tap_parse(&c, pk);
}

static __always_inline int tap(struct __sk_buff *skb, __u32 dir)
{
	__u32 ifindex = skb->ifindex;
	struct tap_port *port = bpf_map_lookup_elem(&ports, &ifindex);
	struct tap_port_ctr *pc;
	struct tap_state st = {};
	__u64 mask;
	__u32 slot;

	if (!port)
		return TC_ACT_OK;
	slot = port->slot;
	mask = port->sess[dir & 1];
	st.dir = dir;
	st.port = slot;
	st.len = skb->len;
	st.vlan_extra = skb->vlan_present ? 4 : 0;
	parse_pkt(skb, &st.pk);
	st.segs = 1;
	st.wire_bytes = st.len + st.vlan_extra;
	if (skb->gso_size && st.pk.hdr_len && st.len > st.pk.hdr_len) {
		/* gso_segs is not filled in for frames from a TAP device (the
		 * virtio header only has gso_size): count from the headers */
		st.gso_size = skb->gso_size;
		st.segs = (st.len - st.pk.hdr_len + st.gso_size - 1) / st.gso_size;
		if (st.segs < 1)
			st.segs = 1;
		st.wire_bytes += (st.segs - 1) * (st.pk.hdr_len + st.vlan_extra);
	} else if (skb->gso_size) {
		st.gso_size = skb->gso_size;
		st.segs = skb->gso_segs ? skb->gso_segs : 1;
	}
	pc = bpf_map_lookup_elem(&port_ctr, &slot);
	if (pc) {
		pc->pkts[dir & 1] += st.segs;
		pc->bytes[dir & 1] += st.wire_bytes;
	}
	if (!mask)
		return TC_ACT_OK;
	for (__u32 i = 0; i < TAP_MAX_SESSIONS; i++) {
		if (!(mask >> i))
			break;   /* no session in a higher slot */
		if (mask & (1ull << i))
			do_session(skb, i, &st);
	}
	if (st.ring_mask)
		ring_copy(skb, &st);
	return TC_ACT_OK;
}

/* clsact ingress of the VM's port: frames the VM sent */
SEC("tc")
int vtap_from_vm(struct __sk_buff *skb)
{
	return tap(skb, TAP_DIR_FROM_VM);
}

/* clsact egress of the VM's port: frames delivered to the VM */
SEC("tc")
int vtap_to_vm(struct __sk_buff *skb)
{
	return tap(skb, TAP_DIR_TO_VM);
}

/* clsact egress of the collect_md VXLAN device: sets the tunnel key of
 * the session on the clone the port's program just redirected here. The
 * key goes on the clone only, never on the VM's frame. Anything else the
 * device would send (it has no address; nothing should) is dropped. */
SEC("tc")
int vtap_vx_xmit(struct __sk_buff *skb)
{
	__u32 z = 0, idx;
	struct tap_vx_scratch *sc = bpf_map_lookup_elem(&vx_scratch, &z);
	struct tap_session *s;
	struct bpf_tunnel_key k = {};
	__u64 flags = BPF_F_DONT_FRAGMENT;

	if (!sc || !sc->valid)
		return TC_ACT_SHOT;
	idx = sc->sess;
	sc->valid = 0;
	s = bpf_map_lookup_elem(&sessions, &idx);
	if (!s)
		return TC_ACT_SHOT;
	k.tunnel_id = s->vni;
	k.tunnel_tos = s->tos;
	k.tunnel_ttl = s->ttl ? s->ttl : 64;
	if (s->flags & TAP_SF_VX6) {
		k.remote_ipv6[0] = s->remote6[0];
		k.remote_ipv6[1] = s->remote6[1];
		k.remote_ipv6[2] = s->remote6[2];
		k.remote_ipv6[3] = s->remote6[3];
		flags |= BPF_F_TUNINFO_IPV6;
	} else {
		k.remote_ipv4 = s->remote4;
		/* RFC 7348 §5: a zero UDP checksum is fine over IPv4 */
		flags |= BPF_F_ZERO_CSUM_TX;
	}
	if (bpf_skb_set_tunnel_key(skb, &k, sizeof(k), flags))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}
