/* nlmsg.c — netlink message and attribute building/parsing (see nlmsg.h).
 *
 * Netlink lengths are host-endian u32 (message) and u16 (attribute); both
 * are read through a struct vt_rd so a short or lying length never moves a
 * pointer past the datagram. */
#include "nl/nlmsg.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>

#include "core/compiler.h"

#define NLA_HDRLEN_ 4
#define ALIGN4(n) (((n) + 3u) & ~(size_t)3u)

/* host-order stores and loads; the cursors guarantee the room */
static void st_h16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void st_h32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static uint16_t ld_h16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
static uint32_t ld_h32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

void nlb_init(struct nlb *b, void *buf, size_t cap, uint16_t type, uint16_t flags)
{
	uint8_t *h;

	memset(b, 0, sizeof(*b));
	b->w = wr_init(buf, cap);
	h = wr_reserve(&b->w, NLMSG_HDRLEN);
	if (!h) {
		b->err = -EMSGSIZE;
		return;
	}
	memset(h, 0, NLMSG_HDRLEN);
	st_h16(h + 4, type);
	st_h16(h + 6, (uint16_t)(NLM_F_REQUEST | flags));
}

/* put_padded() : <len> bytes of <data> then zero padding to 4 bytes. */
static void put_padded(struct nlb *b, const void *data, size_t len)
{
	size_t pad = ALIGN4(len) - len;

	if (b->err)
		return;
	if (wr_room(&b->w) < len + pad) {
		b->err = -EMSGSIZE;
		b->w.err = true;
		return;
	}
	wr_bytes(&b->w, data, len);
	wr_zero(&b->w, pad);
}

void nlb_put_fam(struct nlb *b, const void *hdr, size_t len)
{
	put_padded(b, hdr, len);
}

void nla_put(struct nlb *b, uint16_t type, const void *data, size_t len)
{
	uint8_t *h;

	if (b->err)
		return;
	if (len > UINT16_MAX - NLA_HDRLEN_ || wr_room(&b->w) < ALIGN4(NLA_HDRLEN_ + len)) {
		b->err = -EMSGSIZE;
		return;
	}
	h = wr_reserve(&b->w, NLA_HDRLEN_);
	if (!h) {
		b->err = -EMSGSIZE;
		return;
	}
	st_h16(h, (uint16_t)(NLA_HDRLEN_ + len));
	st_h16(h + 2, type);
	put_padded(b, data, len);
}

void nla_put_flag(struct nlb *b, uint16_t type)
{
	nla_put(b, type, NULL, 0);
}
void nla_put_u8(struct nlb *b, uint16_t type, uint8_t v)
{
	nla_put(b, type, &v, 1);
}
void nla_put_u16(struct nlb *b, uint16_t type, uint16_t v)
{
	nla_put(b, type, &v, 2);
}
void nla_put_u32(struct nlb *b, uint16_t type, uint32_t v)
{
	nla_put(b, type, &v, 4);
}
void nla_put_s32(struct nlb *b, uint16_t type, int32_t v)
{
	nla_put(b, type, &v, 4);
}
void nla_put_u64(struct nlb *b, uint16_t type, uint64_t v)
{
	nla_put(b, type, &v, 8);
}
void nla_put_be16(struct nlb *b, uint16_t type, uint16_t v)
{
	uint8_t be[2];

	st_be16(be, v);
	nla_put(b, type, be, 2);
}
void nla_put_str(struct nlb *b, uint16_t type, const char *s)
{
	nla_put(b, type, s, strlen(s) + 1);
}

uint8_t *nla_nest_start(struct nlb *b, uint16_t type)
{
	uint8_t *h;

	if (b->err)
		return NULL;
	if (b->depth >= NLB_MAX_NEST) {
		b->err = -EINVAL;
		return NULL;
	}
	h = wr_reserve(&b->w, NLA_HDRLEN_);
	if (!h) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	st_h16(h, NLA_HDRLEN_);
	st_h16(h + 2, type);
	b->nest[b->depth++] = h;
	return h;
}

void nla_nest_end(struct nlb *b, uint8_t *nest)
{
	size_t len;

	if (b->err)
		return;
	if (!nest || b->depth == 0 || b->nest[b->depth - 1] != nest) {
		b->err = -EINVAL;
		return;
	}
	b->depth--;
	len = (size_t)(b->w.p - nest);
	if (len > UINT16_MAX) {
		b->err = -EMSGSIZE;
		return;
	}
	st_h16(nest, (uint16_t)len);
}

int nlb_finish(struct nlb *b)
{
	size_t len = wr_len(&b->w);

	if (!b->err && b->depth)
		b->err = -EINVAL;
	if (!b->err && b->w.err)
		b->err = -EMSGSIZE;
	if (b->err)
		return b->err;
	st_h32(b->w.start, (uint32_t)len);
	return (int)len;
}

void nlb_set_seq(struct nlb *b, uint32_t seq, uint32_t portid)
{
	if (wr_len(&b->w) < NLMSG_HDRLEN)
		return;
	st_h32(b->w.start + 8, seq);
	st_h32(b->w.start + 12, portid);
}

/* ---- parsing ----------------------------------------------------------- */

int nlmsg_next(struct vt_rd *r, struct nlmsg *m)
{
	const uint8_t *h;
	uint32_t len;

	if (rd_left(r) == 0)
		return 0;
	h = rd_peek(r, NLMSG_HDRLEN);
	if (!h) {
		rd_fail(r);
		return -EBADMSG;
	}
	len = ld_h32(h);
	if (len < NLMSG_HDRLEN || len > rd_left(r)) {
		rd_fail(r);
		return -EBADMSG;
	}
	m->type = ld_h16(h + 4);
	m->flags = ld_h16(h + 6);
	m->seq = ld_h32(h + 8);
	m->portid = ld_h32(h + 12);
	m->payload = h + NLMSG_HDRLEN;
	m->len = len - NLMSG_HDRLEN;
	/* the last message of a datagram may lack its alignment padding */
	rd_skip(r, VT_MIN(ALIGN4(len), rd_left(r)));
	return 1;
}

void nla_iter_init(struct nla_iter *it, const uint8_t *buf, size_t len)
{
	it->r = rd_init(buf, buf ? len : 0);
	it->bad = false;
}

int nla_iter_next(struct nla_iter *it, struct nla *a)
{
	const uint8_t *h;
	uint16_t len, type;

	if (it->bad)
		return -EBADMSG;
	if (rd_left(&it->r) == 0)
		return 0;
	h = rd_peek(&it->r, NLA_HDRLEN_);
	if (!h)
		goto bad;
	len = ld_h16(h);
	type = ld_h16(h + 2);
	if (len < NLA_HDRLEN_ || len > rd_left(&it->r))
		goto bad;
	a->data = h + NLA_HDRLEN_;
	a->len = (uint16_t)(len - NLA_HDRLEN_);
	a->type = type & NLA_TYPE_MASK;
	rd_skip(&it->r, VT_MIN(ALIGN4(len), rd_left(&it->r)));
	return 1;
bad:
	it->bad = true;
	rd_fail(&it->r);
	return -EBADMSG;
}

int nla_parse(struct nla *tb, uint16_t maxtype, const uint8_t *buf, size_t len)
{
	struct nla_iter it;
	struct nla a;
	int n = 0, r;

	memset(tb, 0, sizeof(*tb) * ((size_t)maxtype + 1));
	nla_iter_init(&it, buf, len);
	while ((r = nla_iter_next(&it, &a)) == 1) {
		n++;
		if (a.type <= maxtype)
			tb[a.type] = a;
	}
	return r < 0 ? r : n;
}

int nla_parse_nested(struct nla *tb, uint16_t maxtype, const struct nla *a)
{
	if (!nla_present(a)) {
		memset(tb, 0, sizeof(*tb) * ((size_t)maxtype + 1));
		return 0;
	}
	return nla_parse(tb, maxtype, a->data, a->len);
}

uint8_t nla_u8(const struct nla *a)
{
	return nla_len_ok(a, 1) ? a->data[0] : 0;
}
uint16_t nla_u16(const struct nla *a)
{
	return nla_len_ok(a, 2) ? ld_h16(a->data) : 0;
}
uint32_t nla_u32(const struct nla *a)
{
	return nla_len_ok(a, 4) ? ld_h32(a->data) : 0;
}
int32_t nla_s32(const struct nla *a)
{
	return (int32_t)nla_u32(a);
}
uint64_t nla_u64(const struct nla *a)
{
	uint64_t v = 0;

	if (nla_len_ok(a, 8))
		memcpy(&v, a->data, 8);
	return v;
}
uint16_t nla_be16(const struct nla *a)
{
	return nla_len_ok(a, 2) ? ld_be16(a->data) : 0;
}

int nla_strcpy(char *dst, size_t cap, const struct nla *a)
{
	size_t n = 0;

	if (cap == 0)
		return -E2BIG;
	if (a->data) {
		const uint8_t *z = memchr(a->data, 0, a->len);
		n = z ? (size_t)(z - a->data) : a->len;
	}
	if (n >= cap) {
		memcpy(dst, a->data, cap - 1);
		dst[cap - 1] = '\0';
		return -E2BIG;
	}
	if (n)
		memcpy(dst, a->data, n);
	dst[n] = '\0';
	return (int)n;
}

int nlmsg_error(const struct nlmsg *m, int *err, char *msg, size_t cap)
{
	struct vt_rd r = rd_init(m->payload, m->len);
	const uint8_t *p;
	struct nla tb[NLMSGERR_ATTR_MAX + 1];

	if (cap)
		msg[0] = '\0';
	p = rd_take(&r, 4);
	if (!p)
		return -EBADMSG;
	*err = (int32_t)ld_h32(p);
	if (*err > 0) /* not an errno: refuse rather than invent one */
		return -EBADMSG;
	if (!(m->flags & NLM_F_ACK_TLVS))
		return 0;
	if (m->type == NLMSG_ERROR) {
		/* the echoed request: its header, or the whole request */
		const uint8_t *h = rd_peek(&r, NLMSG_HDRLEN);
		uint32_t elen;

		if (!h)
			return -EBADMSG;
		elen = (m->flags & NLM_F_CAPPED) ? NLMSG_HDRLEN : ld_h32(h);
		if (elen < NLMSG_HDRLEN || elen > rd_left(&r))
			return -EBADMSG;
		rd_skip(&r, ALIGN4(elen) <= rd_left(&r) ? ALIGN4(elen) : elen);
	}
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, r.p, rd_left(&r)) < 0)
		return -EBADMSG;
	if (nla_present(&tb[NLMSGERR_ATTR_MSG]) && cap)
		(void)nla_strcpy(msg, cap, &tb[NLMSGERR_ATTR_MSG]);
	return 0;
}
