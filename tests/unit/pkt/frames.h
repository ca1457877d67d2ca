/* frames.h — builders for hand-made frames in the pkt unit tests.
 *
 * Each put_*() appends one header to a struct fb at its end and returns
 * the header's offset, so a test reads like the frame it builds:
 *
 *	struct fb f = { 0 };
 *	put_eth(&f, 0x8100); put_vlan(&f, 10, 0x0800);
 *	put_ipv4(&f, 5, 40, 0, 6); put_tcp(&f, 1234, 80, 5, 0x02);
 *
 * Lengths are written as given (the point is to write wrong ones). */
#ifndef VT_TEST_FRAMES_H
#define VT_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "core/be.h"
#include "core/compiler.h"

struct fb {
	uint8_t b[4096];
	uint32_t n;
};

static inline uint32_t put_bytes(struct fb *f, const void *p, uint32_t n)
{
	uint32_t at = f->n;
	memcpy(f->b + f->n, p, n);
	f->n += n;
	return at;
}

static inline uint32_t put_zero(struct fb *f, uint32_t n)
{
	uint32_t at = f->n;
	memset(f->b + f->n, 0, n);
	f->n += n;
	return at;
}

static inline uint32_t put_u16(struct fb *f, uint16_t v)
{
	uint32_t at = f->n;
	st_be16(f->b + f->n, v);
	f->n += 2;
	return at;
}

static inline uint32_t put_u32(struct fb *f, uint32_t v)
{
	uint32_t at = f->n;
	st_be32(f->b + f->n, v);
	f->n += 4;
	return at;
}

/* Ethernet: dst 02:00:00:00:00:02, src 02:00:00:00:00:01. */
static inline uint32_t put_eth(struct fb *f, uint16_t etype)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint32_t at = put_bytes(f, macs, 12);
	put_u16(f, etype);
	return at;
}

/* The 4 bytes after a tag's TPID: PCP/DEI/VID, then the next type. */
static inline uint32_t put_vlan(struct fb *f, uint16_t tci, uint16_t next)
{
	uint32_t at = put_u16(f, tci);
	put_u16(f, next);
	return at;
}

static inline uint32_t put_mpls(struct fb *f, uint32_t label, int bos)
{
	return put_u32(f, label << 12 | (bos ? 0x100u : 0) | 64);
}

/* IPv4 198.18.0.1 -> 198.18.0.2, TOS 0x10, TTL 64; <ihl> words (options
 * are zero bytes = EOL), <frag> the flags+offset field as on the wire. */
static inline uint32_t put_ipv4(struct fb *f, unsigned ihl, uint16_t tot, uint16_t frag,
				uint8_t proto)
{
	uint32_t at = f->n;
	uint8_t h[20] = { (uint8_t)(0x40 | (ihl & 0xf)), 0x10, 0, 0, 0x12, 0x34, 0, 0, 64,
			  proto, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2 };
	st_be16(h + 2, tot);
	st_be16(h + 6, frag);
	put_bytes(f, h, 20);
	if (ihl > 5)
		put_zero(f, (ihl - 5) * 4);
	return at;
}

/* IPv6 2001:db8::1 -> 2001:db8::2, traffic class 0xb8, hop limit 63. */
static inline uint32_t put_ipv6(struct fb *f, uint16_t plen, uint8_t nh)
{
	uint32_t at = f->n;
	uint8_t h[40] = { 0x6b, 0x80, 0, 0, 0, 0, nh, 63 };
	static const uint8_t pfx[4] = { 0x20, 0x01, 0x0d, 0xb8 };

	st_be16(h + 4, plen);
	memcpy(h + 8, pfx, 4);
	h[23] = 1;
	memcpy(h + 24, pfx, 4);
	h[39] = 2;
	put_bytes(f, h, 40);
	return at;
}

/* A generic extension header of (len8 + 1) * 8 bytes padded with Pad1. */
static inline uint32_t put_ext(struct fb *f, uint8_t nh, uint8_t len8)
{
	uint32_t at = f->n;
	uint8_t h[2] = { nh, len8 };
	put_bytes(f, h, 2);
	put_zero(f, (uint32_t)(len8 + 1) * 8 - 2);
	return at;
}

/* Hop-by-hop header holding one Jumbo Payload option (8 bytes). */
static inline uint32_t put_hbh_jumbo(struct fb *f, uint8_t nh, uint32_t jumbo)
{
	uint32_t at = f->n;
	uint8_t h[4] = { nh, 0, 0xc2, 4 };
	put_bytes(f, h, 4);
	put_u32(f, jumbo);
	return at;
}

static inline uint32_t put_frag6(struct fb *f, uint8_t nh, uint16_t off_bytes, int more,
				 uint32_t id)
{
	uint32_t at = f->n;
	uint8_t h[2] = { nh, 0 };
	put_bytes(f, h, 2);
	put_u16(f, (uint16_t)(off_bytes | (more ? 1 : 0)));
	put_u32(f, id);
	return at;
}

/* AH: (len4 + 2) * 4 bytes. */
static inline uint32_t put_ah(struct fb *f, uint8_t nh, uint8_t len4)
{
	uint32_t at = f->n;
	uint8_t h[2] = { nh, len4 };
	put_bytes(f, h, 2);
	put_zero(f, ((uint32_t)len4 + 2) * 4 - 2);
	return at;
}

static inline uint32_t put_tcp(struct fb *f, uint16_t sport, uint16_t dport, unsigned doff,
			       uint8_t flags)
{
	uint32_t at = f->n;
	uint8_t h[20] = { 0 };
	st_be16(h, sport);
	st_be16(h + 2, dport);
	h[12] = (uint8_t)(doff << 4);
	h[13] = flags;
	put_bytes(f, h, 20);
	if (doff > 5)
		put_zero(f, (doff - 5) * 4);
	return at;
}

static inline uint32_t put_udp(struct fb *f, uint16_t sport, uint16_t dport, uint16_t len)
{
	uint32_t at = put_u16(f, sport);
	put_u16(f, dport);
	put_u16(f, len);
	put_u16(f, 0);
	return at;
}

static inline uint32_t put_icmp(struct fb *f, uint8_t type, uint8_t code)
{
	uint8_t h[8] = { type, code, 0, 0, 0, 1, 0, 1 };
	return put_bytes(f, h, 8);
}

#endif
