/* encap.c — tunnel encapsulations for mirrored frames (see encap.h).
 *
 * Encoders write through a struct vt_wr and check the room once up front,
 * so a header is either written whole or not at all. Decoders read through
 * struct vt_rd and check once per header. */
#include "wire/encap.h"

#include <errno.h>
#include <string.h>

/* ---- encoders --------------------------------------------------------- */

/* RFC 7348 §5: flags (I = 0x08) | 24 reserved | VNI (24) | 8 reserved. */
static int vxlan_encode(struct vt_wr *w, const struct encap_meta *m)
{
	if (wr_room(w) < 8)
		return -ENOSPC;
	wr_u32(w, 0x08000000u);
	wr_u32(w, (m->id & 0xffffffu) << 8);
	return 0;
}

/* RFC 2784 + RFC 2890: C|R|K|S|s|Recur|A|Flags|Ver, protocol, then the
 * optional key and sequence number. L2GRE carries the session in the key
 * so an analyzer can split sessions without looking inside. */
static int l2gre_encode(struct vt_wr *w, const struct encap_meta *m)
{
	if (wr_room(w) < 12)
		return -ENOSPC;
	wr_u16(w, GRE_F_KEY | GRE_F_SEQ);
	wr_u16(w, GRE_PROTO_TEB);
	wr_u32(w, m->id);
	wr_u32(w, m->seq);
	return 0;
}

/* The GRE header in front of ERSPAN: S bit and a sequence number, no key
 * (what Cisco and Linux' erspan devices send). */
static void erspan_gre(struct vt_wr *w, uint16_t proto, uint32_t seq)
{
	wr_u16(w, GRE_F_SEQ);
	wr_u16(w, proto);
	wr_u32(w, seq);
}

/* ERSPAN type II (draft-foschiano-erspan-03 §4.1):
 *  0                   1                   2                   3
 *  |  Ver  |          VLAN         | COS | En|T|    Session ID     |
 *  |      Reserved         |                  Index                |
 * Ver = 1. En = 00 (frame without VLAN tag) or 11 (tag kept in the frame).
 * T = the frame was truncated. */
static int erspan2_encode(struct vt_wr *w, const struct encap_meta *m)
{
	uint32_t en = m->vlan ? 3u : 0u;

	if (wr_room(w) < 16)
		return -ENOSPC;
	erspan_gre(w, GRE_PROTO_ERSPAN2, m->seq);
	wr_u32(w, 1u << 28 | (uint32_t)(m->vlan & 0xfff) << 16 |
		  (uint32_t)(m->cos & 7) << 13 | en << 11 |
		  (uint32_t)(m->truncated ? 1 : 0) << 10 | (m->id & 0x3ffu));
	wr_u32(w, m->index & 0xfffffu);
	return 0;
}

/* ERSPAN type III (draft-foschiano-erspan-03 §4.2):
 *  |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
 *  |                          Timestamp                            |
 *  |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 * Ver = 2, BSO = 00 (good frame), P = 1 (Ethernet PDU), FT = 0 (Ethernet),
 * Gra = 00: timestamp in units of 100 µs (as Linux' erspan devices send),
 * D = 0 ingress / 1 egress on the port: frames from the VM enter the port
 * (ingress), frames to the VM leave it (egress). O = 0 (no sub-header). */
static int erspan3_encode(struct vt_wr *w, const struct encap_meta *m)
{
	uint32_t d = m->dir == ENCAP_DIR_TO_VM ? 1u : 0u;

	if (wr_room(w) < 20)
		return -ENOSPC;
	erspan_gre(w, GRE_PROTO_ERSPAN3, m->seq);
	wr_u32(w, 2u << 28 | (uint32_t)(m->vlan & 0xfff) << 16 |
		  (uint32_t)(m->cos & 7) << 13 |
		  (uint32_t)(m->truncated ? 1 : 0) << 10 | (m->id & 0x3ffu));
	wr_u32(w, (uint32_t)(m->ts_ns / 100000u));
	wr_u32(w, 1u << 15 | (uint32_t)(m->hw_id & 0x3f) << 4 | d << 3 |
		  ERSPAN_GRA_100US << 1);
	return 0;
}

/* TZSP: version 1 | type | encapsulation (16 bits) | tags... | END.
 * Type 0 ("received") for frames from the VM — the port received them —
 * and 1 ("for transmit") for frames to the VM. Tag 40 carries the
 * session's packet count (gaps show loss), tag 41 the length before
 * slicing (Wireshark shows it as "Original Length"). */
static int tzsp_encode(struct vt_wr *w, const struct encap_meta *m)
{
	if (wr_room(w) < 15)
		return -ENOSPC;
	wr_u8(w, 1);
	wr_u8(w, m->dir == ENCAP_DIR_TO_VM ? TZSP_TYPE_TX : TZSP_TYPE_RX);
	wr_u16(w, TZSP_ENCAP_ETHERNET);
	wr_u8(w, TZSP_TAG_PACKET_COUNT);
	wr_u8(w, 4);
	wr_u32(w, m->seq);
	wr_u8(w, TZSP_TAG_ORIG_LENGTH);
	wr_u8(w, 2);
	/* Wireshark reads the tag as a signed 16-bit value */
	wr_u16(w, (uint16_t)(m->orig_len > 0x7fff ? 0x7fff : m->orig_len));
	wr_u8(w, TZSP_TAG_END);
	return 0;
}

static const struct encap_ops ops_table[ENCAP__COUNT] = {
	[ENCAP_VXLAN] = { "vxlan", ENCAP_VXLAN, 17, VXLAN_UDP_PORT, 8, false, vxlan_encode },
	[ENCAP_L2GRE] = { "gre", ENCAP_L2GRE, 47, 0, 12, false, l2gre_encode },
	[ENCAP_ERSPAN2] = { "erspan2", ENCAP_ERSPAN2, 47, 0, 16, true, erspan2_encode },
	[ENCAP_ERSPAN3] = { "erspan3", ENCAP_ERSPAN3, 47, 0, 20, true, erspan3_encode },
	[ENCAP_TZSP] = { "tzsp", ENCAP_TZSP, 17, TZSP_UDP_PORT, 15, true, tzsp_encode },
};

const struct encap_ops *encap_ops_get(enum encap_type t)
{
	return (unsigned)t < ENCAP__COUNT ? &ops_table[t] : NULL;
}

const struct encap_ops *encap_ops_by_name(const char *name)
{
	for (size_t i = 0; i < ENCAP__COUNT; i++)
		if (name && strcmp(ops_table[i].name, name) == 0)
			return &ops_table[i];
	return NULL;
}

unsigned encap_overhead(const struct encap_ops *ops, bool ipv6)
{
	return (ipv6 ? 40u : 20u) + (ops->ip_proto == 17 ? 8u : 0u) + ops->hdr_len;
}

/* ---- decoders --------------------------------------------------------- */

static const char *const err_names[ENCAP_ERR__COUNT] = {
	[ENCAP_OK] = "ok",
	[ENCAP_ERR_TRUNC] = "truncated",
	[ENCAP_ERR_VXLAN_FLAGS] = "vxlan_flags",
	[ENCAP_ERR_GRE_VERSION] = "gre_version",
	[ENCAP_ERR_GRE_ROUTING] = "gre_routing",
	[ENCAP_ERR_GRE_PROTO] = "gre_proto",
	[ENCAP_ERR_ERSPAN_VERSION] = "erspan_version",
	[ENCAP_ERR_TZSP_VERSION] = "tzsp_version",
	[ENCAP_ERR_TZSP_TYPE] = "tzsp_type",
	[ENCAP_ERR_TZSP_ENCAP] = "tzsp_encap",
	[ENCAP_ERR_TZSP_TAGS] = "tzsp_tags",
	[ENCAP_ERR_OUTER_LINK] = "outer_link",
	[ENCAP_ERR_OUTER_IP] = "outer_ip",
	[ENCAP_ERR_OUTER_FRAG] = "outer_frag",
	[ENCAP_ERR_NOT_TUNNEL] = "not_tunnel",
};

const char *encap_err_name(enum encap_err e)
{
	return (unsigned)e < ENCAP_ERR__COUNT ? err_names[e] : "unknown";
}

static int fail(struct encap_info *ei, enum encap_err e)
{
	ei->err = e;
	ei->inner = NULL;
	ei->inner_len = 0;
	return -1;
}

static void set_inner(struct encap_info *ei, const struct vt_rd *r)
{
	ei->inner = r->p;
	ei->inner_len = rd_left(r);
	ei->err = ENCAP_OK;
}

static int vxlan_dec(const uint8_t *p, size_t len, struct encap_info *ei)
{
	struct vt_rd r = rd_init(p, len);
	uint32_t w0, w1;

	ei->type = ENCAP_VXLAN;
	w0 = rd_u32(&r);
	w1 = rd_u32(&r);
	if (rd_failed(&r))
		return fail(ei, ENCAP_ERR_TRUNC);
	/* RFC 7348: the I flag must be set; other bits are reserved and
	 * ignored on receipt (the corpus has a capture with them set). */
	if (!(w0 & 0x08000000u))
		return fail(ei, ENCAP_ERR_VXLAN_FLAGS);
	ei->id = w1 >> 8;
	ei->has_id = true;
	set_inner(ei, &r);
	return 0;
}

static int erspan2_decode(struct vt_rd *r, struct encap_info *ei)
{
	uint32_t w0 = rd_u32(r), w1 = rd_u32(r);

	if (rd_failed(r))
		return fail(ei, ENCAP_ERR_TRUNC);
	ei->version = (uint8_t)(w0 >> 28);
	if (ei->version != 1)
		return fail(ei, ENCAP_ERR_ERSPAN_VERSION);
	ei->type = ENCAP_ERSPAN2;
	ei->vlan = (uint16_t)(w0 >> 16 & 0xfff);
	ei->cos = (uint8_t)(w0 >> 13 & 7);
	ei->en_bso = (uint8_t)(w0 >> 11 & 3);
	ei->truncated = (w0 >> 10 & 1) != 0;
	ei->id = w0 & 0x3ff;
	ei->has_id = true;
	ei->index = w1 & 0xfffff;
	set_inner(ei, r);
	return 0;
}

static int erspan3_decode(struct vt_rd *r, struct encap_info *ei)
{
	uint32_t w0 = rd_u32(r), ts = rd_u32(r), w2 = rd_u32(r);

	if (rd_failed(r))
		return fail(ei, ENCAP_ERR_TRUNC);
	ei->version = (uint8_t)(w0 >> 28);
	if (ei->version != 2)
		return fail(ei, ENCAP_ERR_ERSPAN_VERSION);
	ei->type = ENCAP_ERSPAN3;
	ei->vlan = (uint16_t)(w0 >> 16 & 0xfff);
	ei->cos = (uint8_t)(w0 >> 13 & 7);
	ei->en_bso = (uint8_t)(w0 >> 11 & 3);
	ei->truncated = (w0 >> 10 & 1) != 0;
	ei->id = w0 & 0x3ff;
	ei->has_id = true;
	ei->timestamp = ts;
	ei->sgt = (uint16_t)(w2 >> 16);
	ei->p_bit = (w2 >> 15 & 1) != 0;
	ei->ft = (uint8_t)(w2 >> 10 & 0x1f);
	ei->hw_id = (uint8_t)(w2 >> 4 & 0x3f);
	ei->dir = (uint8_t)(w2 >> 3 & 1);
	ei->has_dir = true;
	ei->gra = (uint8_t)(w2 >> 1 & 3);
	ei->o_bit = (w2 & 1) != 0;
	if (ei->o_bit) {
		/* platform-specific sub-header: 6-bit platform id, 58 bits */
		uint64_t sub = rd_u64(r);
		if (rd_failed(r))
			return fail(ei, ENCAP_ERR_TRUNC);
		ei->platform_id = (uint8_t)(sub >> 58);
		ei->platform = sub & ((1ull << 58) - 1);
	}
	set_inner(ei, r);
	return 0;
}

static int gre_dec(const uint8_t *p, size_t len, struct encap_info *ei)
{
	struct vt_rd r = rd_init(p, len);
	uint16_t flags, proto;

	flags = rd_u16(&r);
	proto = rd_u16(&r);
	if (rd_failed(&r))
		return fail(ei, ENCAP_ERR_TRUNC);
	ei->gre_flags = flags;
	ei->gre_proto = proto;
	ei->type = ENCAP_L2GRE;
	if ((flags & 7) != 0)
		return fail(ei, ENCAP_ERR_GRE_VERSION);
	if (flags & 0x4000)
		return fail(ei, ENCAP_ERR_GRE_ROUTING);
	if (flags & GRE_F_CSUM)
		rd_skip(&r, 4);   /* checksum + reserved1 */
	if (flags & GRE_F_KEY) {
		ei->id = rd_u32(&r);
		ei->has_id = true;
	}
	if (flags & GRE_F_SEQ) {
		ei->seq = rd_u32(&r);
		ei->has_seq = true;
	}
	if (rd_failed(&r))
		return fail(ei, ENCAP_ERR_TRUNC);
	switch (proto) {
	case GRE_PROTO_TEB:
		set_inner(ei, &r);
		return 0;
	case GRE_PROTO_ERSPAN2:
		/* type I has no ERSPAN header and no sequence number */
		if (!(flags & GRE_F_SEQ)) {
			ei->type = ENCAP_ERSPAN1;
			ei->has_id = false;
			set_inner(ei, &r);
			return 0;
		}
		ei->has_id = false;
		return erspan2_decode(&r, ei);
	case GRE_PROTO_ERSPAN3:
		ei->has_id = false;
		return erspan3_decode(&r, ei);
	default:
		return fail(ei, ENCAP_ERR_GRE_PROTO);
	}
}

static int tzsp_dec(const uint8_t *p, size_t len, struct encap_info *ei)
{
	struct vt_rd r = rd_init(p, len);
	uint8_t ver, type;
	uint16_t enc;

	ei->type = ENCAP_TZSP;
	ver = rd_u8(&r);
	type = rd_u8(&r);
	enc = rd_u16(&r);
	if (rd_failed(&r))
		return fail(ei, ENCAP_ERR_TRUNC);
	if (ver != 1)
		return fail(ei, ENCAP_ERR_TZSP_VERSION);
	if (type != TZSP_TYPE_RX && type != TZSP_TYPE_TX)
		return fail(ei, ENCAP_ERR_TZSP_TYPE);
	if (enc != TZSP_ENCAP_ETHERNET)
		return fail(ei, ENCAP_ERR_TZSP_ENCAP);
	ei->dir = type == TZSP_TYPE_TX ? ENCAP_DIR_TO_VM : ENCAP_DIR_FROM_VM;
	ei->has_dir = true;
	for (;;) {
		uint8_t tag = rd_u8(&r), tlen;
		struct vt_rd v;

		if (rd_failed(&r))
			return fail(ei, ENCAP_ERR_TZSP_TAGS);
		if (tag == TZSP_TAG_END)
			break;
		if (tag == TZSP_TAG_PAD)
			continue;
		tlen = rd_u8(&r);
		v = rd_sub(&r, tlen);
		if (rd_failed(&r))
			return fail(ei, ENCAP_ERR_TZSP_TAGS);
		if (tag == TZSP_TAG_PACKET_COUNT && tlen == 4) {
			ei->seq = rd_u32(&v);
			ei->has_seq = true;
		} else if (tag == TZSP_TAG_ORIG_LENGTH && tlen == 2) {
			ei->orig_len = rd_u16(&v);
			ei->has_orig_len = true;
		}
	}
	set_inner(ei, &r);
	if (ei->has_orig_len && ei->orig_len > ei->inner_len)
		ei->truncated = true;
	return 0;
}

/* The tunnel decoders above expect a zeroed struct (encap_decode_frame
 * zeroes it once and fills the outer fields first). */
int encap_decode_vxlan(const uint8_t *p, size_t len, struct encap_info *ei)
{
	memset(ei, 0, sizeof(*ei));
	return vxlan_dec(p, len, ei);
}

int encap_decode_gre(const uint8_t *p, size_t len, struct encap_info *ei)
{
	memset(ei, 0, sizeof(*ei));
	return gre_dec(p, len, ei);
}

int encap_decode_tzsp(const uint8_t *p, size_t len, struct encap_info *ei)
{
	memset(ei, 0, sizeof(*ei));
	return tzsp_dec(p, len, ei);
}

/* ---- outer headers ------------------------------------------------------ */

static int decode_udp(struct vt_rd *r, const struct encap_ports *ports,
		      struct encap_info *ei)
{
	uint16_t vx = ports && ports->vxlan ? ports->vxlan : VXLAN_UDP_PORT;
	uint16_t tz = ports && ports->tzsp ? ports->tzsp : TZSP_UDP_PORT;
	uint16_t sport = rd_u16(r), dport = rd_u16(r);

	rd_skip(r, 4);   /* length, checksum */
	if (rd_failed(r))
		return fail(ei, ENCAP_ERR_TRUNC);
	ei->outer_sport = sport;
	ei->outer_dport = dport;
	if (dport == vx)
		return vxlan_dec(r->p, rd_left(r), ei);
	if (dport == tz)
		return tzsp_dec(r->p, rd_left(r), ei);
	return fail(ei, ENCAP_ERR_NOT_TUNNEL);
}

static int decode_l4(struct vt_rd *r, uint8_t proto, const struct encap_ports *ports,
		     struct encap_info *ei)
{
	if (proto == 47)
		return gre_dec(r->p, rd_left(r), ei);
	if (proto == 17)
		return decode_udp(r, ports, ei);
	return fail(ei, ENCAP_ERR_NOT_TUNNEL);
}

static int decode_ipv4(struct vt_rd *r, const struct encap_ports *ports,
		       struct encap_info *ei)
{
	const uint8_t *h = rd_peek(r, 20);
	unsigned ihl;
	uint16_t tot, frag;
	struct vt_rd body;

	if (!h)
		return fail(ei, ENCAP_ERR_TRUNC);
	ihl = (h[0] & 0x0fu) * 4u;
	tot = ld_be16(h + 2);
	frag = ld_be16(h + 6);
	if ((h[0] >> 4) != 4 || ihl < 20 || tot < ihl)
		return fail(ei, ENCAP_ERR_OUTER_IP);
	if (frag & 0x3fff)   /* MF or a fragment offset */
		return fail(ei, ENCAP_ERR_OUTER_FRAG);
	ei->outer_ipver = 4;
	ei->outer_df = (frag & 0x4000) != 0;
	ei->outer_ip_len = tot;
	if (!rd_take(r, ihl))
		return fail(ei, ENCAP_ERR_TRUNC);
	/* the IP length bounds the payload; a snapped capture may hold less */
	body = rd_init(r->p, VT_MIN(rd_left(r), (size_t)(tot - ihl)));
	return decode_l4(&body, h[9], ports, ei);
}

static int decode_ipv6(struct vt_rd *r, const struct encap_ports *ports,
		       struct encap_info *ei)
{
	const uint8_t *h = rd_take(r, 40);
	uint8_t nh;
	size_t plen;
	struct vt_rd body;

	if (!h)
		return fail(ei, ENCAP_ERR_TRUNC);
	if ((h[0] >> 4) != 6)
		return fail(ei, ENCAP_ERR_OUTER_IP);
	ei->outer_ipver = 6;
	ei->outer_df = true;   /* IPv6 routers never fragment */
	plen = ld_be16(h + 4);
	ei->outer_ip_len = (uint32_t)(40 + plen);
	nh = h[6];
	body = rd_init(r->p, VT_MIN(rd_left(r), plen));
	/* hop-by-hop, routing, destination options, AH: bounded chain */
	for (int i = 0; i < 8; i++) {
		const uint8_t *x;
		size_t xl;

		if (nh == 44)
			return fail(ei, ENCAP_ERR_OUTER_FRAG);
		if (nh != 0 && nh != 43 && nh != 60 && nh != 51)
			break;
		x = rd_peek(&body, 2);
		if (!x)
			return fail(ei, ENCAP_ERR_TRUNC);
		xl = nh == 51 ? ((size_t)x[1] + 2) * 4 : ((size_t)x[1] + 1) * 8;
		nh = x[0];
		if (!rd_take(&body, xl))
			return fail(ei, ENCAP_ERR_TRUNC);
	}
	return decode_l4(&body, nh, ports, ei);
}

int encap_decode_frame(const uint8_t *p, size_t len, int link,
		       const struct encap_ports *ports, struct encap_info *ei)
{
	struct vt_rd r = rd_init(p, len);
	uint16_t et;
	const uint8_t *v;

	memset(ei, 0, sizeof(*ei));
	if (link == 1) {
		rd_skip(&r, 12);
		et = rd_u16(&r);
		for (int i = 0; i < 2 && (et == 0x8100 || et == 0x88a8); i++) {
			rd_skip(&r, 2);
			et = rd_u16(&r);
		}
		if (rd_failed(&r))
			return fail(ei, ENCAP_ERR_TRUNC);
		if (et == 0x0800)
			return decode_ipv4(&r, ports, ei);
		if (et == 0x86dd)
			return decode_ipv6(&r, ports, ei);
		return fail(ei, ENCAP_ERR_NOT_TUNNEL);
	}
	if (link != 101)
		return fail(ei, ENCAP_ERR_OUTER_LINK);
	v = rd_peek(&r, 1);
	if (!v)
		return fail(ei, ENCAP_ERR_TRUNC);
	if ((v[0] >> 4) == 4)
		return decode_ipv4(&r, ports, ei);
	if ((v[0] >> 4) == 6)
		return decode_ipv6(&r, ports, ei);
	return fail(ei, ENCAP_ERR_OUTER_IP);
}
