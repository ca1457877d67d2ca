/* sflow_dec.c — sFlow v5 decoding (see sflow_dec.h). All fields are XDR:
 * big-endian 32-bit words, opaque data padded to a multiple of 4.
 *
 * Datagram:      version(4)=5 | agent address type(4) 1=IPv4 2=IPv6 |
 *                agent address(4|16) | sub-agent id(4) | sequence(4) |
 *                uptime ms(4) | sample count(4) | samples
 * Sample:        format(4) = enterprise(20 bits) << 12 | type(12) |
 *                length(4) | body
 *   1 flow sample:        seq | source id | rate | pool | drops | input |
 *                         output | record count | records
 *   3 expanded flow:      seq | source type | source index | rate | pool |
 *                         drops | input format | input | output format |
 *                         output | record count | records
 *   2 counters sample:    seq | source id | record count | records
 *   4 expanded counters:  seq | source type | source index | count | records
 * Record:        format(4) | length(4) | body
 *   flow 1    raw header: protocol | frame length | stripped | header length | bytes
 *   flow 2    Ethernet:   length | src MAC(8) | dst MAC(8) | type
 *   flow 3/4  IPv4/IPv6:  length | protocol | src | dst | sport | dport |
 *                         TCP flags | ToS/priority
 *   flow 1001 switch:     src VLAN | src prio | dst VLAN | dst prio
 *   flow 1002 router:     next hop (type + address) | src mask | dst mask
 *   flow 1003 gateway:    next hop | AS | src AS | src peer AS |
 *                         AS path segments { type | count | AS * count } ...
 *   counter 1 generic interface counters (88 bytes). */
#include "wire/sflow_dec.h"

#include <errno.h>
#include <string.h>

#include "core/be.h"
#include "pkt/pkt.h"

#define SF_FLOW 1
#define SF_COUNTERS 2
#define SF_FLOW_EXP 3
#define SF_COUNTERS_EXP 4

/* What one flow sample said, before it becomes a flow_rec. */
struct sf_flow {
	struct flow_rec r;
	bool has_hdr, has_ip, has_eth;
	uint16_t sw_vlan;
	bool has_sw;
};

static bool read_addr(struct vt_rd *r, struct vt_addr *a)
{
	uint32_t type = rd_u32(r);

	if (type == 1) {
		const uint8_t *p = rd_take(r, 4);
		if (p)
			addr_set_v4(a, p);
		return p != NULL;
	}
	if (type == 2) {
		const uint8_t *p = rd_take(r, 16);
		if (p)
			addr_set_v6(a, p);
		return p != NULL;
	}
	rd_fail(r);
	return false;
}

/* Raw packet header: the sampled packet itself, decoded by lib/pkt. */
static void raw_header(struct fd_msg *m, struct vt_rd *r, struct sf_flow *s)
{
	uint32_t proto = rd_u32(r), frame_len = rd_u32(r), stripped = rd_u32(r);
	uint32_t hlen = rd_u32(r);
	const uint8_t *h = rd_take(r, hlen);
	struct pkt_info pi;
	int ret;

	if (!h) {
		fd_error(m, FD_ERR_SFLOW_RECORD);
		return;
	}
	if (proto == 1)          /* ETHERNET-ISO88023: frame length includes the FCS */
		ret = pkt_decode_frame(&pi, PKT_LINK_ETHERNET, h, hlen,
				       frame_len > stripped ? frame_len - stripped : 0);
	else if (proto == 11 || proto == 12)   /* IPv4, IPv6 */
		ret = pkt_decode_l3(&pi, h, hlen);
	else
		return;          /* other media: nothing we decode */
	if (ret < 0) {
		fd_error(m, FD_ERR_SFLOW_PACKET);
		return;
	}
	s->has_hdr = true;
	if (pi.has_eth) {
		memcpy(s->r.src_mac, pi.src_mac, 6);
		memcpy(s->r.dst_mac, pi.dst_mac, 6);
		s->has_eth = true;
	}
	if (pi.nvlan)
		s->r.vlan = pi.vlan[0] & 0xfff;
	if (ret == 1) {
		/* not IP: the frame's length stands for the bytes */
		s->r.bytes = frame_len > stripped ? frame_len - stripped : 0;
		return;
	}
	s->has_ip = true;
	s->r.ipver = pi.ipver;
	s->r.src = pi.src;
	s->r.dst = pi.dst;
	s->r.proto = pi.proto;
	s->r.tos = pi.tos;
	s->r.bytes = pi.ip_len;
	if (pi.has_l4) {
		if (pi.proto == 1 || pi.proto == 58) {
			s->r.sport = 0;
			s->r.dport = (uint16_t)(pi.icmp_type << 8 | pi.icmp_code);
		} else {
			s->r.sport = pi.sport;
			s->r.dport = pi.dport;
		}
		s->r.tcp_flags = pi.tcp_flags;
	}
}

/* IPv4 (3) / IPv6 (4) data records: used when no header was sampled. */
static void ip_data(struct vt_rd *r, struct sf_flow *s, bool v6)
{
	uint32_t len = rd_u32(r), proto = rd_u32(r);
	const uint8_t *src = rd_take(r, v6 ? 16 : 4), *dst = rd_take(r, v6 ? 16 : 4);
	uint32_t sport = rd_u32(r), dport = rd_u32(r), flags = rd_u32(r), tos = rd_u32(r);

	if (rd_failed(r) || s->has_ip)
		return;
	s->has_ip = true;
	s->r.ipver = v6 ? 6 : 4;
	if (v6) {
		addr_set_v6(&s->r.src, src);
		addr_set_v6(&s->r.dst, dst);
	} else {
		addr_set_v4(&s->r.src, src);
		addr_set_v4(&s->r.dst, dst);
	}
	s->r.bytes = len;
	s->r.proto = (uint8_t)proto;
	s->r.sport = (uint16_t)sport;
	s->r.dport = (uint16_t)dport;
	s->r.tcp_flags = (uint8_t)flags;
	s->r.tos = (uint8_t)tos;
}

static void eth_data(struct vt_rd *r, struct sf_flow *s)
{
	uint32_t len = rd_u32(r);
	const uint8_t *src = rd_take(r, 8), *dst = rd_take(r, 8);

	rd_skip(r, 4);
	if (rd_failed(r) || s->has_eth)
		return;
	s->has_eth = true;
	memcpy(s->r.src_mac, src, 6);
	memcpy(s->r.dst_mac, dst, 6);
	if (!s->has_ip && !s->r.bytes)
		s->r.bytes = len;
}

static void gateway(struct vt_rd *r, struct sf_flow *s)
{
	struct vt_addr nh;
	uint32_t dst_as = 0;

	if (!read_addr(r, &nh))
		return;
	rd_skip(r, 4);                    /* the router's own AS */
	s->r.src_as = rd_u32(r);
	rd_skip(r, 4);                    /* source peer AS */
	uint32_t segs = rd_u32(r);
	/* the destination AS is the last AS of the path */
	for (uint32_t i = 0; i < segs && !rd_failed(r); i++) {
		rd_skip(r, 4);            /* segment type */
		uint32_t n = rd_u32(r);
		if (n > rd_left(r) / 4) {
			rd_fail(r);
			break;
		}
		for (uint32_t k = 0; k < n; k++)
			dst_as = rd_u32(r);
	}
	if (!rd_failed(r))
		s->r.dst_as = dst_as;
	if (addr_is_zero(&s->r.nexthop))
		s->r.nexthop = nh;
}

static void flow_sample(struct fd_msg *m, struct vt_rd *r, bool expanded, uint16_t index)
{
	struct sf_flow s;
	uint32_t rate, in, out, nrec;

	memset(&s, 0, sizeof(s));
	rd_skip(r, expanded ? 12 : 8);    /* sequence, source id (type, index) */
	rate = rd_u32(r);
	rd_skip(r, 8);                    /* sample pool, drops */
	if (expanded) {
		uint32_t infmt = rd_u32(r);
		in = rd_u32(r);
		uint32_t outfmt = rd_u32(r);
		out = rd_u32(r);
		if (infmt)
			in = 0;
		if (outfmt)
			out = 0;
	} else {
		in = rd_u32(r);
		out = rd_u32(r);
		/* top 2 bits: format; 0 = an ifIndex (1 discarded, 2 several) */
		in = in >> 30 ? 0 : in;
		out = out >> 30 ? 0 : out;
	}
	nrec = rd_u32(r);
	if (rd_failed(r)) {
		fd_error(m, FD_ERR_SFLOW_SAMPLE);
		return;
	}
	fd_sflow_sample(m, false);
	for (uint32_t i = 0; i < nrec && rd_left(r); i++) {
		uint32_t fmt = rd_u32(r), len = rd_u32(r);
		if (rd_failed(r) || len > rd_left(r)) {
			fd_error(m, FD_ERR_SFLOW_RECORD);
			break;
		}
		struct vt_rd rr = rd_sub(r, len);
		switch (fmt) {
		case 1: raw_header(m, &rr, &s); break;
		case 2: eth_data(&rr, &s); break;
		case 3: ip_data(&rr, &s, false); break;
		case 4: ip_data(&rr, &s, true); break;
		case 1001: {
			/* values above 4095 (0xffffffff: unknown) are no VLAN */
			uint32_t v = rd_u32(&rr);
			s.sw_vlan = (uint16_t)v;
			s.has_sw = !rd_failed(&rr) && v <= 4095;
			break;
		}
		case 1002: {
			struct vt_addr nh;
			if (read_addr(&rr, &nh)) {
				s.r.nexthop = nh;
				s.r.src_mask = (uint8_t)rd_u32(&rr);
				s.r.dst_mask = (uint8_t)rd_u32(&rr);
			}
			break;
		}
		case 1003: gateway(&rr, &s); break;
		default: break;   /* other records (and enterprise ones): not mapped */
		}
	}
	if (!s.has_hdr && !s.has_ip && !s.has_eth)
		return;           /* nothing that describes a packet */
	if (!s.r.vlan && s.has_sw)
		s.r.vlan = s.sw_vlan;
	s.r.in_if = in;
	s.r.out_if = out;
	s.r.packets = 1;
	s.r.first_ms = s.r.last_ms = m->now_ms;
	s.r.direction = FLOW_DIR_UNKNOWN;
	m->set_index = index;
	fd_emit(m, &s.r, rate, 1);
}

static void counters_sample(struct fd_msg *m, struct vt_rd *r, bool expanded)
{
	uint32_t source, nrec;

	rd_skip(r, 4);                    /* sequence */
	if (expanded) {
		uint32_t type = rd_u32(r), idx = rd_u32(r);
		source = type << 24 | (idx & 0xffffff);
	} else {
		source = rd_u32(r);
	}
	nrec = rd_u32(r);
	if (rd_failed(r)) {
		fd_error(m, FD_ERR_SFLOW_SAMPLE);
		return;
	}
	fd_sflow_sample(m, true);
	for (uint32_t i = 0; i < nrec && rd_left(r); i++) {
		uint32_t fmt = rd_u32(r), len = rd_u32(r);
		if (rd_failed(r) || len > rd_left(r)) {
			fd_error(m, FD_ERR_SFLOW_RECORD);
			break;
		}
		struct vt_rd rr = rd_sub(r, len);
		if (fmt != 1)
			continue; /* ethernet, token ring, VLAN, processor...: not kept */
		struct sflow_ifcounters c;
		memset(&c, 0, sizeof(c));
		c.source_id = source;
		c.ifindex = rd_u32(&rr);
		c.iftype = rd_u32(&rr);
		c.ifspeed = rd_u64(&rr);
		c.ifdirection = rd_u32(&rr);
		c.ifstatus = rd_u32(&rr);
		c.in_octets = rd_u64(&rr);
		c.in_ucast = rd_u32(&rr);
		c.in_mcast = rd_u32(&rr);
		c.in_bcast = rd_u32(&rr);
		c.in_discards = rd_u32(&rr);
		c.in_errors = rd_u32(&rr);
		c.in_unknown = rd_u32(&rr);
		c.out_octets = rd_u64(&rr);
		c.out_ucast = rd_u32(&rr);
		c.out_mcast = rd_u32(&rr);
		c.out_bcast = rd_u32(&rr);
		c.out_discards = rd_u32(&rr);
		c.out_errors = rd_u32(&rr);
		c.promisc = rd_u32(&rr);
		if (rd_failed(&rr)) {
			fd_error(m, FD_ERR_SFLOW_RECORD);
			continue;
		}
		fd_sflow_counters(m, &c);
	}
}

int sflow_decode(struct fd_msg *m, const uint8_t *buf, size_t len)
{
	struct vt_rd r = rd_init(buf, len);
	struct vt_addr agent;
	uint32_t seq, nsamples;

	m->version = SFLOW_VERSION_CODE;
	rd_skip(&r, 4);                   /* version 5 (checked by flowdec) */
	const uint8_t *type = rd_peek(&r, 4);
	if (!read_addr(&r, &agent)) {
		bool bad_type = type && ld_be32(type) != 1 && ld_be32(type) != 2;
		fd_error(m, bad_type ? FD_ERR_SFLOW_HEADER : FD_ERR_SHORT);
		return -EBADMSG;
	}
	m->domain = rd_u32(&r);           /* sub-agent id */
	seq = rd_u32(&r);
	rd_skip(&r, 4);                   /* uptime */
	nsamples = rd_u32(&r);
	if (rd_failed(&r)) {
		fd_error(m, FD_ERR_SHORT);
		return -EBADMSG;
	}
	m->tc.export_ms = m->now_ms;
	/* a sample takes at least 8 bytes: a larger count is a lie */
	if (nsamples > rd_left(&r) / 8)
		fd_error(m, FD_ERR_SFLOW_HEADER);
	for (uint32_t i = 0; i < nsamples && rd_left(&r); i++) {
		uint32_t fmt = rd_u32(&r), slen = rd_u32(&r);
		if (rd_failed(&r) || slen > rd_left(&r)) {
			fd_error(m, FD_ERR_SFLOW_SAMPLE);
			break;
		}
		struct vt_rd sr = rd_sub(&r, slen);
		uint16_t idx = i < UINT16_MAX ? (uint16_t)(i + 1) : UINT16_MAX;
		switch (fmt) {   /* enterprise 0 only: others are skipped */
		case SF_FLOW: flow_sample(m, &sr, false, idx); break;
		case SF_FLOW_EXP: flow_sample(m, &sr, true, idx); break;
		case SF_COUNTERS: counters_sample(m, &sr, false); break;
		case SF_COUNTERS_EXP: counters_sample(m, &sr, true); break;
		default: break;
		}
	}
	fd_sequence(m, seq, 1);
	return 0;
}
