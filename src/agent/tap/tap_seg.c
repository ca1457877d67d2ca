/* tap_seg.c — user-space segmentation of mirrored super-frames (see
 * tap_seg.h). Mirrors the kernel's tcp_gso_segment / __udp_gso_segment /
 * inet_gso_segment field by field, so a copy cut here equals the frames
 * the kernel would have put on a wire. */
#include "agent/tap/tap_seg.h"

#include <string.h>

#include "core/be.h"
#include "core/compiler.h"

#define SEG_HDR_MAX 256   /* headers we copy per segment */

static uint32_t csum_add(const uint8_t *p, uint32_t len, uint32_t sum)
{
	uint64_t s = sum;

	while (len >= 8) {
		s += (uint64_t)ld_be16(p) + ld_be16(p + 2) + ld_be16(p + 4) + ld_be16(p + 6);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		s += ld_be16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

uint16_t tap_csum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	return csum_fold(csum_add(p, len, sum));
}

static bool segmentable(const struct tap_frame *f)
{
	return f->ipver && f->hdr_len && f->l4_off && f->l3_off &&
	       f->hdr_len <= SEG_HDR_MAX && f->hdr_len <= f->cap_len && f->hdr_len <= f->len &&
	       f->l4_off > f->l3_off && f->l4_off < f->hdr_len &&
	       (f->l4_proto == 6 || f->l4_proto == 17);
}

bool tap_seg_can_resegment(const struct tap_frame *f)
{
	return segmentable(f) && f->l4_proto == 6;
}

uint32_t tap_seg_init(struct tap_seg_iter *it, const struct tap_frame *f, uint32_t mss)
{
	uint32_t payload;

	memset(it, 0, sizeof(*it));
	it->f = f;
	if (!mss)
		mss = f->gso_size;
	/* UDP datagram boundaries are fixed: only the sender's own GSO size */
	if (f->l4_proto == 17 && mss != f->gso_size)
		mss = 0;
	if (!mss || !segmentable(f) || f->len - f->hdr_len <= mss) {
		it->nsegs = 1;
		it->navail = f->cap_len ? 1 : 0;   /* no byte of it: nothing to give */
		return 1;
	}
	payload = f->len - f->hdr_len;
	it->mss = mss;
	it->nsegs = (payload + mss - 1) / mss;
	if (f->cap_len >= f->len) {
		it->navail = it->nsegs;
	} else {
		/* a cut record: only segments whose bytes are all present */
		it->navail = (f->cap_len - f->hdr_len) / mss;
	}
	return it->nsegs;
}

/* The pseudo-header sum for an L4 length of <l4len>. */
static uint32_t pseudo_sum(const uint8_t *h, const struct tap_frame *f, uint32_t l4len)
{
	uint32_t s = 0;
	uint8_t tail[4];

	if (f->ipver == 4) {
		s = csum_add(h + f->l3_off + 12, 8, 0);
		s += f->l4_proto;
		s += l4len;
	} else {
		s = csum_add(h + f->l3_off + 8, 32, 0);
		st_be32(tail, l4len);
		s = csum_add(tail, 4, s);
		s += f->l4_proto;
	}
	return s;
}

/* A whole TCP/UDP frame whose checksum field holds what Linux writes there
 * for checksum offload (CHECKSUM_PARTIAL: the folded pseudo-header sum, to
 * be completed by the NIC) gets the checksum the NIC would have written.
 * Any other value is left alone, so a frame that is really corrupt stays
 * corrupt in the copy. (A correct checksum equal to the placeholder would
 * be recomputed to itself.) */
static void complete_csum(uint8_t *fr, const struct tap_frame *f)
{
	uint32_t l4len, end, co, sum;
	uint16_t field, c, placeholder;
	uint8_t *ip = fr + f->l3_off;

	if (!segmentable(f) || f->cap_len < f->len)
		return;
	if (f->ipver == 4) {
		end = f->l3_off + ld_be16(ip + 2);
	} else {
		end = f->l3_off + 40u + ld_be16(ip + 4);
	}
	if (end > f->len || end < f->hdr_len)
		return;   /* the IP length says otherwise: leave it */
	l4len = end - f->l4_off;
	co = f->l4_off + (f->l4_proto == 6 ? 16u : 6u);
	field = ld_be16(fr + co);
	sum = pseudo_sum(fr, f, l4len);
	placeholder = (uint16_t)(0xffffu ^ csum_fold(sum));
	if (field != placeholder)
		return;
	st_be16(fr + co, 0);
	c = csum_fold(csum_add(fr + f->l4_off, l4len, sum));
	if (f->l4_proto == 17 && c == 0)
		c = 0xffff;
	st_be16(fr + co, c);
}

uint32_t tap_seg_next(struct tap_seg_iter *it, uint8_t *out, uint32_t cap, uint32_t *wire_len)
{
	const struct tap_frame *f = it->f;
	uint8_t h[SEG_HDR_MAX];
	uint32_t hl = f->hdr_len, payload, off, plen, seglen, n, sum, l4len;
	uint8_t *ip, *l4;

	if (it->i >= it->navail)
		return 0;
	if (!it->mss) {
		it->i++;
		*wire_len = f->len;
		if (cap >= f->cap_len && f->cap_len == f->len && f->len <= TAP_SEG_WHOLE_MAX) {
			memcpy(out, f->data, f->len);
			complete_csum(out, f);
			return f->len;
		}
		if (f->cap_len == f->len && f->len <= TAP_SEG_WHOLE_MAX) {
			/* sliced: complete over the whole frame, then cut */
			memcpy(out, f->data, f->len);
			complete_csum(out, f);
			return VT_MIN(cap, f->cap_len);
		}
		n = VT_MIN(cap, f->cap_len);
		memcpy(out, f->data, n);
		return n;
	}
	payload = f->len - hl;
	off = it->i * it->mss;
	plen = VT_MIN(it->mss, payload - off);
	seglen = hl + plen;
	memcpy(h, f->data, hl);
	ip = h + f->l3_off;
	l4 = h + f->l4_off;
	l4len = seglen - f->l4_off;
	if (f->ipver == 4) {
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;

		st_be16(ip + 2, (uint16_t)(seglen - f->l3_off));
		st_be16(ip + 4, (uint16_t)(ld_be16(ip + 4) + it->i));
		st_be16(ip + 10, 0);
		if (ihl >= 20 && f->l3_off + ihl <= hl)
			st_be16(ip + 10, tap_csum(ip, ihl, 0));
	} else {
		st_be16(ip + 4, (uint16_t)(seglen - f->l3_off - 40));
	}
	if (f->l4_proto == 6) {
		uint8_t fl = l4[13];

		st_be32(l4 + 4, ld_be32(l4 + 4) + off);
		if (it->i > 0)
			fl &= (uint8_t)~0x80;                 /* CWR: first segment only */
		if (it->i + 1 < it->nsegs)
			fl &= (uint8_t)~(0x01 | 0x08);         /* FIN, PSH: last only */
		l4[13] = fl;
		st_be16(l4 + 16, 0);
		sum = pseudo_sum(h, f, l4len);
		sum = csum_add(l4, hl - f->l4_off, sum);
		sum = csum_add(f->data + hl + off, plen, sum);
		st_be16(l4 + 16, csum_fold(sum));
	} else {
		uint16_t c;

		st_be16(l4 + 4, (uint16_t)l4len);
		st_be16(l4 + 6, 0);
		sum = pseudo_sum(h, f, l4len);
		sum = csum_add(l4, hl - f->l4_off, sum);
		sum = csum_add(f->data + hl + off, plen, sum);
		c = csum_fold(sum);
		st_be16(l4 + 6, c ? c : 0xffff);   /* 0 means "no checksum" */
	}
	it->i++;
	*wire_len = seglen;
	n = VT_MIN(cap, seglen);
	if (n <= hl) {
		memcpy(out, h, n);
	} else {
		memcpy(out, h, hl);
		memcpy(out + hl, f->data + hl + off, n - hl);
	}
	return n;
}
