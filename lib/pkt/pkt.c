/* pkt.c — the packet decoder (see pkt.h): link layer, tag/label stacks,
 * IPv4/IPv6 and the transport header of one captured frame.
 *
 * This is the hot path of the meter (several Mpps per core), so it is one
 * translation unit of static functions the compiler inlines into
 * pkt_decode_frame(): the common case (Ethernet, maybe a VLAN tag, IPv4 or
 * IPv6, TCP or UDP) is a straight line with one length check per header.
 * Headers are read through a window whose length was checked once (the
 * rd_take() pattern of core/be.h: ld_be16() on validated bytes only),
 * never by casting the packet to a struct.
 *
 * Length rules, in one place (docs/decoder.md has the long form):
 *  - "captured" bytes (caplen) bound every read;
 *  - the IP header's length bounds where the transport header may lie
 *    (bytes past it are link padding or trailers, not transport);
 *  - ip_len is what the IP header says the packet is, except a length of
 *    0 (TSO/BIG TCP captures) which takes the frame's bytes, and a length
 *    beyond the frame on the wire (known only through pkt_decode_frame)
 *    which is clamped to it and flagged. */
#include "pkt/pkt.h"

#include <string.h>

#include "core/be.h"
#include "core/compiler.h"

/* EtherTypes, IP protocol numbers and IPv6 extension header types we act on
 * (IANA registries). */
enum {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_VLAN = 0x8100,      /* IEEE 802.1Q C-tag */
	ETH_QINQ = 0x88a8,      /* IEEE 802.1ad S-tag */
	ETH_QINQ_OLD1 = 0x9100, /* pre-standard S-tags still seen in the field */
	ETH_QINQ_OLD2 = 0x9200,
	ETH_QINQ_OLD3 = 0x9300,
	ETH_MPLS_UC = 0x8847,
	ETH_MPLS_MC = 0x8848,
	ETH_PPPOE_SESS = 0x8864,
	ETH_MAX_LEN = 1500,     /* type field values up to this are 802.3 lengths */
};
enum {
	IPP_HOPOPTS = 0, IPP_ICMP = 1, IPP_TCP = 6, IPP_UDP = 17, IPP_DCCP = 33,
	IPP_ROUTING = 43, IPP_FRAGMENT = 44, IPP_ESP = 50, IPP_AH = 51,
	IPP_ICMPV6 = 58, IPP_NONE = 59, IPP_DSTOPTS = 60, IPP_SCTP = 132,
	IPP_UDPLITE = 136,
};

/* Where we are in one frame: the bytes and the two lengths. */
struct dctx {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;   /* 0 = unknown */
};

static const char *const err_names[PKT_ERR__COUNT] = {
	[PKT_OK] = "ok",
	[PKT_ERR_LINK_UNSUPPORTED] = "link_unsupported",
	[PKT_ERR_L2_TRUNC] = "l2_trunc",
	[PKT_ERR_VLAN_DEPTH] = "vlan_depth",
	[PKT_ERR_IPV4_TRUNC] = "ipv4_trunc",
	[PKT_ERR_IPV4_IHL] = "ipv4_ihl",
	[PKT_ERR_IPV4_LEN] = "ipv4_len",
	[PKT_ERR_IPV4_VERSION] = "ipv4_version",
	[PKT_ERR_IPV6_TRUNC] = "ipv6_trunc",
	[PKT_ERR_IPV6_VERSION] = "ipv6_version",
	[PKT_ERR_IPV6_EXT] = "ipv6_ext",
	[PKT_ERR_IPV6_JUMBO] = "ipv6_jumbo",
	[PKT_ERR_L4_TRUNC] = "l4_trunc",
	[PKT_ERR_TCP_DOFF] = "tcp_doff",
	[PKT_ERR_L2_BAD] = "l2_bad",
	[PKT_ERR_IP_VERSION] = "ip_version",
	[PKT_ERR_IP_WIRELEN] = "ip_wirelen",
	[PKT_ERR_UDP_LEN] = "udp_len",
};

const char *pkt_err_name(enum pkt_err e)
{
	if ((unsigned)e >= PKT_ERR__COUNT)
		return "unknown";
	return err_names[e];
}

const char *pkt_link_name(int link)
{
	switch (link) {
	case PKT_LINK_NULL: return "null";
	case PKT_LINK_ETHERNET: return "ethernet";
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_OPENBSD: return "raw";
	case PKT_LINK_LOOP: return "loop";
	case PKT_LINK_LINUX_SLL: return "linux_sll";
	case PKT_LINK_IPV4: return "ipv4";
	case PKT_LINK_IPV6: return "ipv6";
	case PKT_LINK_NFLOG: return "nflog";
	case PKT_LINK_LINUX_SLL2: return "linux_sll2";
	default: return NULL;
	}
}

static inline int fail(struct pkt_info *pi, enum pkt_err e)
{
	pi->err = e;
	return -1;
}

/* A later-layer problem: the first reason found is the one reported. */
static inline void flag(struct pkt_info *pi, enum pkt_err e)
{
	if (pi->err == PKT_OK)
		pi->err = e;
}

/* ---- transport ---------------------------------------------------------- */

/* decode_l4() : the transport header at <off>. <cap_left> bytes are
 * captured from there, <ip_left> belong to the IP packet per its header
 * (the smaller bounds the header). <whole> is false for a first fragment,
 * whose UDP length covers the reassembled datagram.
 *
 * Like tcpdump and Wireshark we report what was captured: ports once the
 * first 4 bytes are there (ICMP type/code once 2 are), TCP flags once 14
 * are; a header shorter than its fixed size is flagged PKT_ERR_L4_TRUNC. */
static inline void decode_l4(struct pkt_info *pi, const uint8_t *data, uint32_t off,
			     uint32_t cap_left, uint32_t ip_left, bool whole,
			     bool jumbo)
{
	uint32_t avail = cap_left < ip_left ? cap_left : ip_left;
	const uint8_t *h = data + off;
	uint32_t fixed;

	pi->l4_off = (uint16_t)off;
	pi->payload_off = (uint16_t)off;
	switch (pi->proto) {
	case IPP_TCP:
		fixed = 20;
		break;
	case IPP_UDP:
	case IPP_UDPLITE:
		fixed = 8;
		break;
	case IPP_ICMP:
	case IPP_ICMPV6:
		/* type, code, checksum; the rest of the 8 bytes is per type */
		fixed = 4;
		break;
	case IPP_SCTP:
	case IPP_DCCP:
		/* SCTP common header (RFC 9260 3.1) and DCCP generic header
		 * (RFC 4340 5.1): 12 bytes, ports first */
		fixed = 12;
		break;
	default:
		return;
	}
	if (VT_UNLIKELY(avail < fixed)) {
		flag(pi, PKT_ERR_L4_TRUNC);
		pi->payload_off = (uint16_t)(off + avail);
		if (pi->proto == IPP_ICMP || pi->proto == IPP_ICMPV6) {
			if (avail >= 2) {
				pi->icmp_type = h[0];
				pi->icmp_code = h[1];
				pi->has_l4 = true;
			}
		} else if (avail >= 4) {
			pi->sport = ld_be16(h);
			pi->dport = ld_be16(h + 2);
			pi->has_l4 = true;
			if (pi->proto == IPP_TCP && avail >= 14)
				pi->tcp_flags = h[13];
		}
		return;
	}
	pi->has_l4 = true;
	switch (pi->proto) {
	case IPP_TCP: {
		uint32_t hlen = (uint32_t)(h[12] >> 4) * 4;

		pi->sport = ld_be16(h);
		pi->dport = ld_be16(h + 2);
		pi->tcp_flags = h[13];
		if (VT_UNLIKELY(hlen < 20)) {
			flag(pi, PKT_ERR_TCP_DOFF);
			hlen = 20;
		} else if (VT_UNLIKELY(hlen > ip_left)) {
			flag(pi, PKT_ERR_TCP_DOFF);
		}
		/* options cut by the snap length are not an error: only the
		 * fixed header is needed, the payload starts at caplen */
		pi->payload_off = (uint16_t)(off + (hlen < avail ? hlen : avail));
		return;
	}
	case IPP_UDP: {
		uint16_t ulen = ld_be16(h + 4);

		pi->sport = ld_be16(h);
		pi->dport = ld_be16(h + 2);
		pi->payload_off = (uint16_t)(off + 8);
		/* a length of 0 is legal only in an IPv6 jumbogram (RFC 2675
		 * section 4); a first fragment holds part of the datagram */
		if (VT_UNLIKELY(ulen < 8)) {
			if (!(ulen == 0 && jumbo))
				flag(pi, PKT_ERR_UDP_LEN);
		} else if (VT_UNLIKELY(whole && ulen > ip_left)) {
			flag(pi, PKT_ERR_UDP_LEN);
		}
		return;
	}
	case IPP_ICMP:
	case IPP_ICMPV6:
		pi->icmp_type = h[0];
		pi->icmp_code = h[1];
		pi->payload_off = (uint16_t)(off + (avail < 8 ? avail : 8));
		return;
	default: /* UDP-Lite (its length field is a checksum coverage), SCTP, DCCP */
		pi->sport = ld_be16(h);
		pi->dport = ld_be16(h + 2);
		pi->payload_off = (uint16_t)(off + fixed);
		return;
	}
}

/* ---- IPv4 --------------------------------------------------------------- */

/* The bytes of the frame from <off> to its end on the wire (or captured,
 * when the wire length is unknown or inconsistent). */
static inline uint32_t frame_left(const struct dctx *d, uint32_t off)
{
	uint32_t flen = d->wirelen > d->caplen ? d->wirelen : d->caplen;
	return flen - off;
}

/* Applies the wire-length rule to a length the IP header claims. */
static inline uint32_t clamp_wire(struct pkt_info *pi, const struct dctx *d,
				  uint32_t off, uint64_t claimed)
{
	if (d->wirelen && claimed > frame_left(d, off)) {
		flag(pi, PKT_ERR_IP_WIRELEN);
		return frame_left(d, off);
	}
	return claimed > UINT32_MAX ? UINT32_MAX : (uint32_t)claimed;
}

static int decode_ipv4(struct pkt_info *pi, const struct dctx *d, uint32_t off)
{
	uint32_t left = d->caplen - off, hlen, ip_left, l4, cap_left;
	const uint8_t *h = d->data + off;
	uint16_t tot, fo;
	unsigned n;

	/* RFC 791 3.1: version | IHL | TOS | total length | id | flags,
	 * fragment offset | TTL | protocol | checksum | src | dst | options */
	if (VT_UNLIKELY(left < 20)) {
		if (left >= 1 && h[0] >> 4 != 4)
			return fail(pi, PKT_ERR_IPV4_VERSION);
		return fail(pi, PKT_ERR_IPV4_TRUNC);
	}
	if (VT_UNLIKELY(h[0] >> 4 != 4))
		return fail(pi, PKT_ERR_IPV4_VERSION);
	hlen = (uint32_t)(h[0] & 0x0f) * 4;
	if (VT_UNLIKELY(hlen < 20))
		return fail(pi, PKT_ERR_IPV4_IHL);
	tot = ld_be16(h + 2);
	if (VT_UNLIKELY(tot < hlen && tot != 0))
		return fail(pi, PKT_ERR_IPV4_LEN);

	pi->ipver = 4;
	pi->l3_off = (uint16_t)off;
	pi->tos = h[1];
	pi->ttl = h[8];
	pi->proto = h[9];
	addr_set_v4(&pi->src, h + 12);
	addr_set_v4(&pi->dst, h + 16);
	if (VT_LIKELY(tot != 0)) {
		pi->ip_len = clamp_wire(pi, d, off, tot);
	} else {
		/* Captured before segmentation offload (TSO, BIG TCP): the
		 * stack leaves 0 and the frame's length is the truth. */
		pi->ip_len_from_frame = true;
		pi->ip_len = frame_left(d, off);
	}
	fo = ld_be16(h + 6);
	if (VT_UNLIKELY(fo & 0x3fff)) {
		pi->is_frag = true;
		pi->frag_off = (uint16_t)((fo & 0x1fff) << 3);
		pi->frag_first = pi->frag_off == 0;
		pi->frag_id = ld_be16(h + 4);
	}
	if (VT_UNLIKELY(left < hlen)) {
		/* the fixed header is there, options are cut: the flow key
		 * without ports is still good */
		flag(pi, PKT_ERR_IPV4_TRUNC);
		return 0;
	}
	if (VT_UNLIKELY(pi->is_frag && !pi->frag_first))
		return 0;
	l4 = off + hlen;
	ip_left = pi->ip_len > hlen ? pi->ip_len - hlen : 0;
	cap_left = d->caplen - l4;
	/* IPv4 AH (RFC 4302) is skipped as in IPv6, so the flow key is the
	 * same whichever IP version carries it */
	for (n = 0; VT_UNLIKELY(pi->proto == IPP_AH); n++) {
		uint32_t ahlen;

		if (n == PKT_MAX_IPV6_EXT || cap_left < 8 || ip_left < 8) {
			flag(pi, PKT_ERR_L4_TRUNC);
			return 0;
		}
		ahlen = ((uint32_t)d->data[l4 + 1] + 2) * 4;
		if (ahlen > cap_left || ahlen > ip_left) {
			flag(pi, PKT_ERR_L4_TRUNC);
			return 0;
		}
		pi->proto = d->data[l4];
		l4 += ahlen;
		cap_left -= ahlen;
		ip_left -= ahlen;
	}
	decode_l4(pi, d->data, l4, cap_left, ip_left, !pi->is_frag, false);
	return 0;
}

/* ---- IPv6 --------------------------------------------------------------- */

/* hbh_jumbo() : scans the options of a hop-by-hop header (<len> bytes at
 * <e>) for the Jumbo Payload option (RFC 2675). Returns the jumbo length,
 * 0 when absent, and sets *bad when the option is malformed. */
static uint32_t hbh_jumbo(const uint8_t *e, uint32_t len, bool *bad)
{
	uint32_t i = 2, jumbo = 0;

	while (i < len) {
		uint8_t t = e[i];
		uint32_t olen;

		if (t == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (len - i < 2)
			break;
		olen = e[i + 1];
		if (olen > len - i - 2)
			break;
		if (t == 0xc2) {
			if (olen != 4 || jumbo) {
				*bad = true;
				return jumbo;
			}
			jumbo = ld_be32(e + i + 2);
		}
		i += 2 + olen;
	}
	return jumbo;
}

static int decode_ipv6(struct pkt_info *pi, const struct dctx *d, uint32_t off)
{
	uint32_t left = d->caplen - off, cur, lim, ipend_left;
	const uint8_t *h = d->data + off;
	uint32_t jumbo = 0;
	bool jumbo_bad = false;
	uint16_t plen;
	uint8_t nh;
	unsigned n;

	/* RFC 8200 3: version | traffic class | flow label | payload length
	 * | next header | hop limit | src | dst */
	if (VT_UNLIKELY(left < 40)) {
		if (left >= 1 && h[0] >> 4 != 6)
			return fail(pi, PKT_ERR_IPV6_VERSION);
		return fail(pi, PKT_ERR_IPV6_TRUNC);
	}
	if (VT_UNLIKELY(h[0] >> 4 != 6))
		return fail(pi, PKT_ERR_IPV6_VERSION);
	plen = ld_be16(h + 4);
	nh = h[6];
	pi->ipver = 6;
	pi->l3_off = (uint16_t)off;
	pi->tos = (uint8_t)(ld_be16(h) >> 4);
	pi->ttl = h[7];
	addr_set_v6(&pi->src, h + 8);
	addr_set_v6(&pi->dst, h + 24);

	/* The jumbo option lives only in a hop-by-hop header right after
	 * the fixed header, and it defines the packet's length. */
	if (nh == IPP_HOPOPTS && left >= 48) {
		uint32_t hlen = ((uint32_t)h[41] + 1) * 8;
		if (hlen <= left - 40)
			jumbo = hbh_jumbo(h + 40, hlen, &jumbo_bad);
	}
	if (VT_LIKELY(!jumbo && !jumbo_bad)) {
		if (VT_LIKELY(plen != 0 || nh == IPP_NONE)) {
			pi->ip_len = clamp_wire(pi, d, off, 40u + plen);
		} else {
			/* payload length 0 without a jumbo option: a BIG TCP /
			 * GSO capture, as for IPv4 total length 0 */
			pi->ip_len_from_frame = true;
			pi->ip_len = frame_left(d, off);
		}
	} else {
		/* RFC 2675 3: the payload length must be 0 and the jumbo
		 * length above 65535; else the packet is inconsistent and
		 * the non-zero header length wins. A malformed option with
		 * no other length leaves the frame's. */
		if (jumbo_bad || plen != 0 || jumbo <= 65535)
			flag(pi, PKT_ERR_IPV6_JUMBO);
		if (plen) {
			pi->ip_len = clamp_wire(pi, d, off, 40u + plen);
		} else if (jumbo) {
			pi->ip_len = clamp_wire(pi, d, off, 40ull + jumbo);
		} else {
			pi->ip_len_from_frame = true;
			pi->ip_len = frame_left(d, off);
		}
	}

	/* Walk the extension headers (RFC 8200 4) within the captured bytes
	 * and the packet's length. Each is at least 8 bytes. */
	ipend_left = pi->ip_len - 40; /* bytes of the packet after cur */
	cur = off + 40;
	for (n = 0;; n++) {
		const uint8_t *e;
		uint32_t elen;
		uint8_t next;

		if (VT_LIKELY(nh != IPP_HOPOPTS && nh != IPP_ROUTING && nh != IPP_DSTOPTS &&
			      nh != IPP_FRAGMENT && nh != IPP_AH))
			break;
		lim = d->caplen - cur < ipend_left ? d->caplen - cur : ipend_left;
		if (VT_UNLIKELY(n == PKT_MAX_IPV6_EXT || lim < 8)) {
			pi->proto = nh;
			flag(pi, PKT_ERR_IPV6_EXT);
			return 0;
		}
		e = d->data + cur;
		next = e[0];
		if (nh == IPP_FRAGMENT) {
			uint16_t fo = ld_be16(e + 2);

			elen = 8;
			if (fo & 0xfff9) { /* offset or M: not an atomic fragment */
				pi->is_frag = true;
				pi->frag_off = fo & 0xfff8;
				pi->frag_first = pi->frag_off == 0;
				pi->frag_id = ld_be32(e + 4);
				if (jumbo)
					flag(pi, PKT_ERR_IPV6_JUMBO); /* RFC 2675 3 */
				if (!pi->frag_first) {
					pi->proto = next;
					return 0;
				}
			}
		} else if (nh == IPP_AH) {
			elen = ((uint32_t)e[1] + 2) * 4;
		} else {
			elen = ((uint32_t)e[1] + 1) * 8;
		}
		if (VT_UNLIKELY(elen > lim)) {
			pi->proto = nh;
			flag(pi, PKT_ERR_IPV6_EXT);
			return 0;
		}
		cur += elen;
		ipend_left -= elen;
		nh = next;
	}
	pi->proto = nh;
	decode_l4(pi, d->data, cur, d->caplen - cur, ipend_left, !pi->is_frag, jumbo != 0);
	return 0;
}

/* An IP header of either version, told apart by its first nibble. */
static int decode_ip_guess(struct pkt_info *pi, const struct dctx *d, uint32_t off)
{
	if (off >= d->caplen)
		return fail(pi, PKT_ERR_L2_TRUNC);
	switch (d->data[off] >> 4) {
	case 4: return decode_ipv4(pi, d, off);
	case 6: return decode_ipv6(pi, d, off);
	default: return fail(pi, PKT_ERR_IP_VERSION);
	}
}

/* ---- tag and label stacks ----------------------------------------------- */

/* decode_etype() : what follows an EtherType <etype> at <off>: VLAN tags,
 * MPLS labels, PPPoE, LLC/SNAP, until IP or something that is not IP. */
static int decode_etype(struct pkt_info *pi, const struct dctx *d, uint32_t off,
			uint16_t etype)
{
	bool outer = true; /* still in the outer Ethernet's tag stack */

	for (unsigned layers = 0;; layers++) {
		const uint8_t *p = d->data + off;
		uint32_t left = d->caplen - off;

		if (VT_LIKELY(etype == ETH_IPV4))
			return decode_ipv4(pi, d, off);
		if (VT_LIKELY(etype == ETH_IPV6))
			return decode_ipv6(pi, d, off);
		if (VT_UNLIKELY(layers == PKT_MAX_L2_LAYERS))
			return fail(pi, PKT_ERR_VLAN_DEPTH);
		switch (etype) {
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD1:
		case ETH_QINQ_OLD2:
		case ETH_QINQ_OLD3:
			/* IEEE 802.1Q 9.6: PCP(3) DEI(1) VID(12) | EtherType */
			if (left < 4)
				return fail(pi, PKT_ERR_L2_TRUNC);
			if (pi->nvlan == PKT_MAX_VLANS)
				return fail(pi, PKT_ERR_VLAN_DEPTH);
			pi->vlan[pi->nvlan++] = ld_be16(p) & 0x0fff;
			etype = ld_be16(p + 2);
			off += 4;
			if (outer)
				pi->ethertype = etype;
			break;
		case ETH_MPLS_UC:
		case ETH_MPLS_MC: {
			/* RFC 3032 2.1: label(20) TC(3) S(1) TTL(8) */
			uint32_t lse;

			outer = false;
			do {
				if (left < 4)
					return fail(pi, PKT_ERR_L2_TRUNC);
				if (pi->nmpls == PKT_MAX_MPLS)
					return fail(pi, PKT_ERR_VLAN_DEPTH);
				lse = ld_be32(d->data + off);
				pi->nmpls++;
				off += 4;
				left -= 4;
			} while (!(lse & 0x100));
			/* MPLS does not say what it carries: guess from the
			 * first nibble (RFC 4928), as every analyzer does */
			if (left < 1)
				return fail(pi, PKT_ERR_L2_TRUNC);
			switch (d->data[off] >> 4) {
			case 4: etype = ETH_IPV4; break;
			case 6: etype = ETH_IPV6; break;
			case 0:
				/* a pseudowire control word (RFC 4385) then an
				 * Ethernet frame (RFC 4448) */
				if (left < 4 + 14)
					return fail(pi, PKT_ERR_L2_TRUNC);
				etype = ld_be16(d->data + off + 4 + 12);
				off += 4 + 14;
				break;
			default:
				return 1;
			}
			break;
		}
		case ETH_PPPOE_SESS: {
			/* RFC 2516 4: ver/type | code | session | length, then
			 * the PPP protocol (RFC 1661) */
			uint16_t ppp;

			outer = false;
			if (left < 8)
				return fail(pi, PKT_ERR_L2_TRUNC);
			ppp = ld_be16(p + 6);
			if (ppp == 0x0021)
				etype = ETH_IPV4;
			else if (ppp == 0x0057)
				etype = ETH_IPV6;
			else
				return 1;
			off += 8;
			break;
		}
		default:
			/* 802.3 length field: IP only under LLC/SNAP with a
			 * zero OUI (RFC 1042) */
			if (etype <= ETH_MAX_LEN && left >= 8 && p[0] == 0xaa && p[1] == 0xaa &&
			    p[2] == 0x03 && p[3] == 0 && p[4] == 0 && p[5] == 0) {
				etype = ld_be16(p + 6);
				off += 8;
				if (outer)
					pi->ethertype = etype;
				break;
			}
			return 1;
		}
	}
}

/* ---- link layers -------------------------------------------------------- */

static int decode_ether(struct pkt_info *pi, const struct dctx *d)
{
	const uint8_t *p = d->data;
	uint16_t etype;

	if (VT_UNLIKELY(d->caplen < 14))
		return fail(pi, PKT_ERR_L2_TRUNC);
	pi->has_eth = true;
	memcpy(pi->dst_mac, p, 6);
	memcpy(pi->src_mac, p + 6, 6);
	etype = ld_be16(p + 12);
	pi->ethertype = etype;
	/* the common case skips the tag-stack loop */
	if (VT_LIKELY(etype == ETH_IPV4))
		return decode_ipv4(pi, d, 14);
	return decode_etype(pi, d, 14, etype);
}

/* Linux cooked captures: the protocol field is an EtherType except for
 * link types whose "protocol" means something else (linux/if_arp.h). */
static int decode_sll_common(struct pkt_info *pi, const struct dctx *d, uint32_t off,
			     uint16_t hatype, uint32_t halen, const uint8_t *addr,
			     uint16_t proto)
{
	switch (hatype) {
	case 770:  /* ARPHRD_FRAD */
	case 801:  /* ARPHRD_IEEE80211 */
	case 802:  /* ARPHRD_IEEE80211_PRISM */
	case 803:  /* ARPHRD_IEEE80211_RADIOTAP */
	case 824:  /* ARPHRD_NETLINK: protocol is the netlink family */
		return 1;
	default:
		break;
	}
	if (hatype == 1 && halen == 6) { /* ARPHRD_ETHER: the sender's MAC */
		pi->has_eth = true;
		memcpy(pi->src_mac, addr, 6);
	}
	pi->ethertype = proto;
	return decode_etype(pi, d, off, proto);
}

static int decode_sll(struct pkt_info *pi, const struct dctx *d)
{
	const uint8_t *p = d->data;

	/* packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2) */
	if (VT_UNLIKELY(d->caplen < 16))
		return fail(pi, PKT_ERR_L2_TRUNC);
	return decode_sll_common(pi, d, 16, ld_be16(p + 2), ld_be16(p + 4), p + 6,
				 ld_be16(p + 14));
}

static int decode_sll2(struct pkt_info *pi, const struct dctx *d)
{
	const uint8_t *p = d->data;

	/* protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1)
	 * addr len(1) addr(8) */
	if (VT_UNLIKELY(d->caplen < 20))
		return fail(pi, PKT_ERR_L2_TRUNC);
	return decode_sll_common(pi, d, 20, ld_be16(p + 8), p[11], p + 12, ld_be16(p));
}

/* BSD loopback: a 4-byte address family, in the capturing host's byte
 * order (NULL) or network order (LOOP). The AF_INET6 values differ per
 * BSD; Linux never writes this link type. Old writers put a 16-bit AF or
 * an EtherType there: the NULL rules are Wireshark's (packet-null.c), so
 * both tools agree on what such a frame holds. */
static int decode_null(struct pkt_info *pi, const struct dctx *d, bool net_order)
{
	uint32_t af;

	if (VT_UNLIKELY(d->caplen < 4))
		return fail(pi, PKT_ERR_L2_TRUNC);
	if (net_order) {
		af = ld_be32(d->data);
	} else {
		af = (uint32_t)d->data[0] | (uint32_t)d->data[1] << 8 |
		     (uint32_t)d->data[2] << 16 | (uint32_t)d->data[3] << 24;
		if (af & 0xffff0000u) {
			if (!(af & 0xff000000u) && (af & 0x00ff0000u) < 0x00060000u)
				af >>= 16; /* a 16-bit AF in the first two bytes */
			else
				af = __builtin_bswap32(af); /* a big-endian writer */
		} else if (!(af & 0xff) && (af & 0xff00) < 0x0600) {
			af = (af >> 8) | ((af & 0xff) << 8);
		}
		if (af > ETH_MAX_LEN)
			return decode_etype(pi, d, 4, (uint16_t)af);
	}
	switch (af) {
	case 2: return decode_ipv4(pi, d, 4);
	case 24: case 28: case 30: return decode_ipv6(pi, d, 4);
	default: return 1;
	}
}

/* NFLOG (libpcap pcap-common.c, linux/netfilter/nfnetlink_log.h): a 4-byte
 * header then TLVs whose length/type are in the capturing host's byte
 * order; NFULA_PAYLOAD holds the IP packet. */
static int decode_nflog(struct pkt_info *pi, const struct dctx *d)
{
	uint32_t off = 4;
	uint8_t family;
	bool be = false;

	if (VT_UNLIKELY(d->caplen < 4))
		return fail(pi, PKT_ERR_L2_TRUNC);
	family = d->data[0];
	if (d->caplen >= 8) {
		/* byte order of the TLVs: the one whose first length fits */
		uint16_t le = ld_le16(d->data + 4), bel = ld_be16(d->data + 4);
		uint32_t room = d->caplen - 4;

		if (le >= 4 && le <= room)
			be = false;
		else if (bel >= 4 && bel <= room)
			be = true;
		else if (le >= 4 && bel >= 4)
			return fail(pi, PKT_ERR_L2_TRUNC); /* cut inside the first TLV */
		else
			return fail(pi, PKT_ERR_L2_BAD);
	}
	while (off < d->caplen) {
		const uint8_t *t = d->data + off;
		uint32_t tlen, type;

		if (d->caplen - off < 4)
			return fail(pi, PKT_ERR_L2_TRUNC);
		tlen = be ? ld_be16(t) : ld_le16(t);
		type = (be ? ld_be16(t + 2) : ld_le16(t + 2)) & 0x7fff;
		if (tlen < 4)
			return fail(pi, PKT_ERR_L2_BAD);
		if (type == 9) { /* NFULA_PAYLOAD */
			struct dctx sub = *d;
			uint32_t end = off + tlen;

			if (off + 4 > 4096) /* keeps l3_off well inside 16 bits */
				return fail(pi, PKT_ERR_L2_BAD);
			/* the TLV bounds the packet; a snapped capture cuts it */
			if (end < d->caplen)
				sub.caplen = end;
			if (d->wirelen) { /* the TLV cannot be longer than the frame */
				uint32_t flen = d->wirelen > d->caplen ? d->wirelen : d->caplen;
				sub.wirelen = end < flen ? end : flen;
			}
			if (family == 2)
				return decode_ipv4(pi, &sub, off + 4);
			if (family == 10)
				return decode_ipv6(pi, &sub, off + 4);
			return decode_ip_guess(pi, &sub, off + 4);
		}
		if (tlen > d->caplen - off)
			return fail(pi, PKT_ERR_L2_TRUNC);
		tlen = (tlen + 3) & ~3u; /* the last TLV may lack its padding */
		off = tlen < d->caplen - off ? off + tlen : d->caplen;
	}
	return 1; /* no payload: a counter-only message */
}

/* ---- entry points ------------------------------------------------------- */

/* info_zero() : clears *pi. A memset() of this size becomes "rep stos"
 * under GCC's generic tuning, whose start-up costs about as much as
 * decoding a whole TCP/IPv4 frame; GCC also merges adjacent stores back
 * into that memset, hence the empty asm between the 16-byte stores. */
static inline void info_zero(struct pkt_info *pi)
{
	static const uint8_t z[16];
	uint8_t *p = (uint8_t *)pi;
	size_t i;

	for (i = 0; i + 16 <= sizeof(*pi); i += 16) {
		memcpy(p + i, z, 16);
		__asm__("" : "+r"(p));
	}
	memcpy(p + sizeof(*pi) - 16, z, 16);
}

int pkt_decode_frame(struct pkt_info *pi, int link, const uint8_t *data, uint32_t caplen,
		     uint32_t wirelen)
{
	struct dctx d = { data, caplen, wirelen };

	info_zero(pi);
	switch (link) {
	case PKT_LINK_ETHERNET:
		return decode_ether(pi, &d);
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_BSD:
	case PKT_LINK_RAW_OPENBSD:
		return decode_ip_guess(pi, &d, 0);
	case PKT_LINK_LINUX_SLL:
		return decode_sll(pi, &d);
	case PKT_LINK_LINUX_SLL2:
		return decode_sll2(pi, &d);
	case PKT_LINK_IPV4:
		return decode_ipv4(pi, &d, 0);
	case PKT_LINK_IPV6:
		return decode_ipv6(pi, &d, 0);
	case PKT_LINK_NULL:
		return decode_null(pi, &d, false);
	case PKT_LINK_LOOP:
		return decode_null(pi, &d, true);
	case PKT_LINK_NFLOG:
		return decode_nflog(pi, &d);
	default:
		return fail(pi, PKT_ERR_LINK_UNSUPPORTED);
	}
}

int pkt_decode(struct pkt_info *pi, int link, const uint8_t *data, uint32_t caplen)
{
	return pkt_decode_frame(pi, link, data, caplen, 0);
}

int pkt_decode_l3(struct pkt_info *pi, const uint8_t *data, uint32_t caplen)
{
	struct dctx d = { data, caplen, 0 };

	info_zero(pi);
	return decode_ip_guess(pi, &d, 0);
}
