/* tap_shared.h — what the tc eBPF tap program (bpf/tap.bpf.c) and user
 * space (src/agent/tap) share: map value layouts, the ring-buffer record,
 * and the packet summary and rule matcher, which are compiled into both so
 * the filter the kernel runs is the filter the unit tests test.
 *
 * Fixed-width types only, no pointers; every struct is padded by hand so
 * the layout is the same for clang -target bpf and the host compiler. */
#ifndef VT_TAP_SHARED_H
#define VT_TAP_SHARED_H

#include <linux/types.h>
#ifdef __bpf__
#include <linux/bpf.h>
#define TAP_SPIN_LOCK struct bpf_spin_lock
#else
/* user space only reads around it (and <linux/bpf.h> would collide with
 * libpcap's <pcap/bpf.h>): same size and alignment */
#define TAP_SPIN_LOCK struct { __u32 val; }
#endif

/* BPF calls take at most five arguments: the matcher is always inlined. */
#define TAP_INLINE static inline __attribute__((always_inline))

#define TAP_MAX_SESSIONS 64     /* session slots; a port's sessions are a u64 mask */
#define TAP_MAX_RULES 16        /* ordered filter rules per session */
#define TAP_MAX_PORTS 1024      /* armed ports (counter slots) */
#define TAP_REC_MAX 65536       /* frame bytes one ring record can carry */

/* Directions, relative to the VM (see lib/flow/flowrec.h: the observation
 * point is the VM's port; "from VM" = ingress on the port). Values equal
 * enum encap_dir. */
#define TAP_DIR_FROM_VM 0
#define TAP_DIR_TO_VM 1

/* ---- map "ports": key = ifindex (__u32) ------------------------------- */
struct tap_port {
	__u32 slot;             /* index into the port counters */
	__u32 pad;
	__u64 sess[2];          /* session slots per direction (TAP_DIR_*) */
};

/* ---- filter rules: map "rules", index = slot * TAP_MAX_RULES + i ------- */
#define TAP_ACT_ACCEPT 1
#define TAP_ACT_REJECT 2

#define TAP_RF_SRC 0x01         /* src / src_mask are set */
#define TAP_RF_DST 0x02
#define TAP_RF_SPORT 0x04       /* sport_lo..sport_hi */
#define TAP_RF_DPORT 0x08
#define TAP_RF_BIDIR 0x10       /* also match with source and destination swapped */

struct tap_rule {
	__u8 action;            /* TAP_ACT_* */
	__u8 proto;             /* IP protocol, 0 = any */
	__u8 ipver;             /* 4, 6, 0 = any */
	__u8 flags;             /* TAP_RF_* */
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u32 pad;
	/* addresses as four 32-bit words of the 16-byte form (IPv4 mapped,
	 * ::ffff:a.b.c.d) in network byte order, pre-masked */
	__u32 src[4], src_mask[4];
	__u32 dst[4], dst_mask[4];
};

/* ---- sessions: map "sessions", index = slot --------------------------- */
#define TAP_KIND_RING 0         /* copies go through the ring to user space */
#define TAP_KIND_VXLAN 1        /* cloned into the collect_md VXLAN device */

#define TAP_SF_USER_FILTER 0x01 /* pcap-filter: user space filters, the kernel
				 * copies every frame of the direction */
#define TAP_SF_VX6 0x02         /* VXLAN remote is IPv6 */
#define TAP_SF_RULES 0x04       /* rules apply (else: every frame matches) */

#define TAP_MTU_SEGMENT 0       /* too big: segment (TCP), else drop */
#define TAP_MTU_SLICE 1         /* too big: cut to fit, marked where the format can */
#define TAP_MTU_DROP 2          /* too big: drop and count */

struct tap_session {
	__u32 id;               /* the session's id (user space: adoption) */
	__u32 flags;            /* TAP_SF_* */
	__u8 kind;              /* TAP_KIND_* */
	__u8 nrules;
	__u8 dflt;              /* action when no rule matches (TAP_ACT_*) */
	__u8 mtu_policy;        /* TAP_MTU_* */
	__u32 slice;            /* bytes of each frame to copy, 0 = all */
	__u32 sample;           /* copy 1 frame in N; 0 and 1 = all */
	__u32 max_frame;        /* largest L2 frame that fits the path (path MTU
				 * minus encapsulation overhead); 0 = no limit */
	__u32 vni;              /* VXLAN */
	__u32 vx_ifindex;       /* the collect_md VXLAN device */
	__u32 remote4;          /* VXLAN remote, host byte order (bpf_tunnel_key) */
	__u32 remote6[4];       /* ... or IPv6, host order words (bpf_tunnel_key) */
	__u8 tos, ttl;
	__u16 pad;
	__u64 rate_pps;         /* packets per second, 0 = unlimited */
	__u64 rate_Bps;         /* bytes per second, 0 = unlimited */
	__u64 burst_pkts;       /* bucket depths */
	__u64 burst_bytes;
};

/* map "sess_live", index = slot: __u32, bit 0 = destination up. Kept apart
 * from struct tap_session so user space flips it with one aligned write. */
#define TAP_LIVE_UP 1

/* map "sess_state", index = slot: rate limiter and sampling state. */
struct tap_sess_state {
	TAP_SPIN_LOCK lock;
	__u32 pad;
	__u64 pkt_tokens;       /* packets * 1e9 */
	__u64 byte_tokens;      /* bytes * 1e9 */
	__u64 last_ns;
	__u64 sample_ctr;
};

/* ---- counters: per-CPU arrays ----------------------------------------- */
/* All packet counts are wire packets: a GSO super-frame counts as the
 * segments it stands for. */
struct tap_sess_ctr {
	__u64 matched;          /* passed direction and filter */
	__u64 matched_bytes;
	__u64 sent;             /* VXLAN clones handed to the kernel */
	__u64 queued;           /* written to the ring for user space */
	__u64 drop_queue_full;  /* ring full */
	__u64 drop_dest_down;   /* destination marked down: copy not made */
	__u64 drop_too_big;     /* did not fit the path and the policy drops */
	__u64 drop_rate;        /* over the rate limit */
	__u64 drop_error;       /* the clone failed */
	__u64 sampled_out;      /* skipped by 1-in-N sampling */
};

struct tap_port_ctr {
	__u64 pkts[2];          /* seen per direction (TAP_DIR_*) */
	__u64 bytes[2];
	__u64 matched;          /* copies wanted by some session */
	__u64 copied;           /* clones sent + records queued */
	__u64 dropped;          /* copies not made, all reasons */
};

/* ---- ring records ------------------------------------------------------ */
#define TAP_RECF_VLAN 0x01      /* vlan_tci/vlan_proto: tag the kernel stripped */
#define TAP_RECF_TRUNC 0x02     /* frame longer than TAP_REC_MAX: cut */

struct tap_rec {
	__u64 ts_ns;            /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 sess_mask;        /* ring sessions that want this frame */
	__u32 ifindex;
	__u32 wire_len;         /* skb->len: the frame (or super-frame) length */
	__u32 cap_len;          /* frame bytes that follow the header */
	__u16 port;             /* port slot */
	__u16 gso_size;         /* payload bytes per segment, 0 = not GSO */
	__u16 gso_segs;         /* segments (computed from the headers) */
	__u16 hdr_len;          /* L2..L4 header bytes (the part GSO repeats) */
	__u16 vlan_tci;
	__u16 vlan_proto;       /* network byte order */
	__u8 dir;               /* TAP_DIR_* */
	__u8 flags;             /* TAP_RECF_* */
	__u8 l4_proto;
	__u8 ipver;
	__u16 l3_off, l4_off;   /* offsets of the IP and transport headers, 0 = none */
	__u32 pad[2];
	/* cap_len bytes of frame follow (8-byte aligned) */
};

/* ---- packet summary and the rule matcher -------------------------------- */

/* What the filter looks at. The parser (one in BPF, one in user space,
 * same rules) fills it from the frame's headers. */
struct tap_pkt {
	__u8 ipver;             /* 4, 6, 0 = not IP */
	__u8 proto;
	__u8 has_l4;            /* ports valid (not a later fragment) */
	__u8 pad;
	__u16 sport, dport;
	__u16 l3_off, l4_off;
	__u32 hdr_len;          /* L2..L4 header bytes, 0 when unknown */
	__u32 src[4], dst[4];   /* 16-byte form, network order words */
};

TAP_INLINE int tap_addr_in(const __u32 *a, const __u32 *net, const __u32 *mask)
{
	return (a[0] & mask[0]) == net[0] && (a[1] & mask[1]) == net[1] &&
	       (a[2] & mask[2]) == net[2] && (a[3] & mask[3]) == net[3];
}

/* One direction of a rule: the packet's (src, dst, sport, dport) as given. */
TAP_INLINE int tap_rule_match_dir(const struct tap_rule *r, const __u32 *src,
				     const __u32 *dst, __u16 sport, __u16 dport, int has_l4)
{
	if ((r->flags & TAP_RF_SRC) && !tap_addr_in(src, r->src, r->src_mask))
		return 0;
	if ((r->flags & TAP_RF_DST) && !tap_addr_in(dst, r->dst, r->dst_mask))
		return 0;
	if (r->flags & (TAP_RF_SPORT | TAP_RF_DPORT)) {
		if (!has_l4)
			return 0;
		if ((r->flags & TAP_RF_SPORT) && (sport < r->sport_lo || sport > r->sport_hi))
			return 0;
		if ((r->flags & TAP_RF_DPORT) && (dport < r->dport_lo || dport > r->dport_hi))
			return 0;
	}
	return 1;
}

/* tap_rule_match() : whether <r> matches <p>. Address and port conditions
 * need an IP packet; a rule with no condition at all matches any frame. */
TAP_INLINE int tap_rule_match(const struct tap_rule *r, const struct tap_pkt *p)
{
	if (r->ipver && r->ipver != p->ipver)
		return 0;
	if (r->proto && (!p->ipver || r->proto != p->proto))
		return 0;
	if ((r->flags & (TAP_RF_SRC | TAP_RF_DST | TAP_RF_SPORT | TAP_RF_DPORT)) && !p->ipver)
		return 0;
	if (tap_rule_match_dir(r, p->src, p->dst, p->sport, p->dport, p->has_l4))
		return 1;
	if (r->flags & TAP_RF_BIDIR)
		return tap_rule_match_dir(r, p->dst, p->src, p->dport, p->sport, p->has_l4);
	return 0;
}

/* tap_parse() : fills <p> from the frame behind <ctx>. The includer
 * defines TAP_LOAD(ctx, off, dst, len) -> 0 on success (BPF:
 * bpf_skb_load_bytes; user space: a bounds-checked copy), so both sides
 * run these exact lines. Returns 1 when an IP header was found, 0 when
 * the frame is not IP (or its headers are cut short: then the fields
 * found so far stay). Ethernet with up to two VLAN tags in the data;
 * IPv6 extension headers are walked (at most 6); a later fragment has no
 * ports. */
#ifdef TAP_LOAD
TAP_INLINE int tap_parse(void *ctx, struct tap_pkt *p)
{
	__u8 b[40];
	__u32 off = 14;
	__u16 et;
	__u8 nh;
	int i;

	if (TAP_LOAD(ctx, 12, b, 2))
		return 0;
	et = (__u16)(b[0] << 8 | b[1]);
	for (i = 0; i < 2; i++) {
		if (et != 0x8100 && et != 0x88a8)
			break;
		if (TAP_LOAD(ctx, off + 2, b, 2))
			return 0;
		et = (__u16)(b[0] << 8 | b[1]);
		off += 4;
	}
	if (et == 0x0800) {
		__u32 ihl;

		if (TAP_LOAD(ctx, off, b, 20) || (b[0] >> 4) != 4)
			return 0;
		ihl = (__u32)(b[0] & 0x0f) * 4;
		if (ihl < 20)
			return 0;
		p->ipver = 4;
		p->proto = b[9];
		p->l3_off = (__u16)off;
		p->src[0] = p->src[1] = p->dst[0] = p->dst[1] = 0;
		p->src[2] = p->dst[2] = __builtin_bswap32(0xffff);
		__builtin_memcpy(&p->src[3], b + 12, 4);
		__builtin_memcpy(&p->dst[3], b + 16, 4);
		if (((b[6] << 8 | b[7]) & 0x1fff) != 0)
			return 1;   /* a later fragment: no transport header */
		off += ihl;
		nh = b[9];
	} else if (et == 0x86dd) {
		if (TAP_LOAD(ctx, off, b, 40) || (b[0] >> 4) != 6)
			return 0;
		p->ipver = 6;
		p->l3_off = (__u16)off;
		__builtin_memcpy(p->src, b + 8, 16);
		__builtin_memcpy(p->dst, b + 24, 16);
		nh = b[6];
		off += 40;
		for (i = 0; i < 6; i++) {
			if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
				if (TAP_LOAD(ctx, off, b, 2)) {
					p->proto = nh;
					return 1;
				}
				off += nh == 51 ? ((__u32)b[1] + 2) * 4 : ((__u32)b[1] + 1) * 8;
				nh = b[0];
			} else if (nh == 44) {
				if (TAP_LOAD(ctx, off, b, 8)) {
					p->proto = nh;
					return 1;
				}
				off += 8;
				nh = b[0];
				if (((b[2] << 8 | b[3]) & 0xfff8) != 0) {
					p->proto = nh;
					return 1;
				}
			} else {
				break;
			}
		}
		p->proto = nh;
	} else {
		return 0;
	}
	p->l4_off = (__u16)off;
	if (nh == 6) {
		if (TAP_LOAD(ctx, off, b, 14))
			return 1;
		p->hdr_len = off + (__u32)(b[12] >> 4) * 4;
	} else if (nh == 17 || nh == 136) {   /* UDP, UDP-Lite */
		if (TAP_LOAD(ctx, off, b, 8))
			return 1;
		p->hdr_len = off + 8;
	} else if (nh == 132) {               /* SCTP common header */
		if (TAP_LOAD(ctx, off, b, 12))
			return 1;
		p->hdr_len = off + 12;
	} else {
		if (nh == 1 || nh == 58) {    /* ICMP: no ports */
			if (!TAP_LOAD(ctx, off, b, 8))
				p->hdr_len = off + 8;
		}
		return 1;
	}
	p->sport = (__u16)(b[0] << 8 | b[1]);
	p->dport = (__u16)(b[2] << 8 | b[3]);
	p->has_l4 = 1;
	return 1;
}
#endif

#endif
