/* be.h — bounds-checked big-endian readers and writers for wire formats.
 *
 * Every wire field in vtap is read through a struct vt_rd cursor or written
 * through a struct vt_wr cursor, never by casting a packet pointer to a
 * struct. A read past the end sets a sticky error, returns 0 and moves the
 * cursor to the end, so a parser can read a whole header and check once:
 *
 *	struct vt_rd r = rd_init(buf, len);
 *	uint16_t ver = rd_u16(&r), cnt = rd_u16(&r);
 *	if (rd_failed(&r)) return -EBADMSG;
 *
 * The raw ld_beNN()/st_beNN() accessors do no checking; use them only on a
 * window whose length was validated (rd_take() returns one). */
#ifndef VT_BE_H
#define VT_BE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t ld_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)((uint16_t)b[0] << 8 | b[1]);
}
static inline uint32_t ld_be24(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}
static inline uint32_t ld_be32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}
static inline uint64_t ld_be64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}
static inline uint16_t ld_le16(const void *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
static inline uint32_t ld_le32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static inline void st_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static inline void st_be24(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 16);
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)v;
}
static inline void st_be32(void *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}
static inline void st_be64(void *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
}

/* ---- reader ---------------------------------------------------------- */

struct vt_rd {
	const uint8_t *p;   /* next byte */
	const uint8_t *end; /* one past the last readable byte */
	bool err;           /* sticky: a read went past the end */
};

static inline struct vt_rd rd_init(const void *buf, size_t len)
{
	struct vt_rd r = { (const uint8_t *)buf, (const uint8_t *)buf + len, false };
	return r;
}
static inline size_t rd_left(const struct vt_rd *r)
{
	return (size_t)(r->end - r->p);
}
static inline bool rd_failed(const struct vt_rd *r)
{
	return r->err;
}
static inline void rd_fail(struct vt_rd *r)
{
	r->err = true;
	r->p = r->end;
}
/* rd_take() : returns a pointer to the next <n> bytes and advances, or
 * NULL (and sets the error) when fewer than <n> remain. */
static inline const uint8_t *rd_take(struct vt_rd *r, size_t n)
{
	const uint8_t *p = r->p;
	if (rd_left(r) < n) {
		rd_fail(r);
		return NULL;
	}
	r->p += n;
	return p;
}
/* rd_peek() : like rd_take() without advancing and without error. */
static inline const uint8_t *rd_peek(const struct vt_rd *r, size_t n)
{
	return rd_left(r) >= n ? r->p : NULL;
}
static inline void rd_skip(struct vt_rd *r, size_t n)
{
	(void)rd_take(r, n);
}
static inline uint8_t rd_u8(struct vt_rd *r)
{
	const uint8_t *p = rd_take(r, 1);
	return p ? p[0] : 0;
}
static inline uint16_t rd_u16(struct vt_rd *r)
{
	const uint8_t *p = rd_take(r, 2);
	return p ? ld_be16(p) : 0;
}
static inline uint32_t rd_u24(struct vt_rd *r)
{
	const uint8_t *p = rd_take(r, 3);
	return p ? ld_be24(p) : 0;
}
static inline uint32_t rd_u32(struct vt_rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	return p ? ld_be32(p) : 0;
}
static inline uint64_t rd_u64(struct vt_rd *r)
{
	const uint8_t *p = rd_take(r, 8);
	return p ? ld_be64(p) : 0;
}
/* rd_uint() : an unsigned big-endian integer of 1..8 bytes (IPFIX reduced
 * size encoding). Lengths outside 1..8 set the error. */
static inline uint64_t rd_uint(struct vt_rd *r, size_t n)
{
	const uint8_t *p;
	uint64_t v = 0;

	if (n == 0 || n > 8) {
		rd_fail(r);
		return 0;
	}
	p = rd_take(r, n);
	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}
static inline bool rd_copy(struct vt_rd *r, void *dst, size_t n)
{
	const uint8_t *p = rd_take(r, n);
	if (!p)
		return false;
	memcpy(dst, p, n);
	return true;
}
/* rd_sub() : a reader over the next <n> bytes; the parent advances past
 * them. On short input the sub-reader is empty and failed. */
static inline struct vt_rd rd_sub(struct vt_rd *r, size_t n)
{
	const uint8_t *p = rd_take(r, n);
	struct vt_rd s = rd_init(p ? p : r->end, p ? n : 0);
	s.err = p == NULL;
	return s;
}

/* ---- writer ---------------------------------------------------------- */

struct vt_wr {
	uint8_t *start;
	uint8_t *p;
	uint8_t *end;
	bool err;   /* sticky: a write did not fit; nothing partial was written */
};

static inline struct vt_wr wr_init(void *buf, size_t cap)
{
	struct vt_wr w = { (uint8_t *)buf, (uint8_t *)buf, (uint8_t *)buf + cap, false };
	return w;
}
static inline size_t wr_len(const struct vt_wr *w)
{
	return (size_t)(w->p - w->start);
}
static inline size_t wr_room(const struct vt_wr *w)
{
	return (size_t)(w->end - w->p);
}
static inline bool wr_failed(const struct vt_wr *w)
{
	return w->err;
}
/* wr_reserve() : returns a pointer to <n> bytes to fill later (lengths to
 * back-patch), or NULL and sets the error. */
static inline uint8_t *wr_reserve(struct vt_wr *w, size_t n)
{
	uint8_t *p = w->p;
	if (w->err || wr_room(w) < n) {
		w->err = true;
		return NULL;
	}
	w->p += n;
	return p;
}
static inline void wr_u8(struct vt_wr *w, uint8_t v)
{
	uint8_t *p = wr_reserve(w, 1);
	if (p)
		p[0] = v;
}
static inline void wr_u16(struct vt_wr *w, uint16_t v)
{
	uint8_t *p = wr_reserve(w, 2);
	if (p)
		st_be16(p, v);
}
static inline void wr_u24(struct vt_wr *w, uint32_t v)
{
	uint8_t *p = wr_reserve(w, 3);
	if (p)
		st_be24(p, v);
}
static inline void wr_u32(struct vt_wr *w, uint32_t v)
{
	uint8_t *p = wr_reserve(w, 4);
	if (p)
		st_be32(p, v);
}
static inline void wr_u64(struct vt_wr *w, uint64_t v)
{
	uint8_t *p = wr_reserve(w, 8);
	if (p)
		st_be64(p, v);
}
/* wr_uint() : the low <n> bytes (1..8) of <v>, big-endian. */
static inline void wr_uint(struct vt_wr *w, uint64_t v, size_t n)
{
	uint8_t *p;
	if (n == 0 || n > 8) {
		w->err = true;
		return;
	}
	p = wr_reserve(w, n);
	if (!p)
		return;
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}
static inline void wr_bytes(struct vt_wr *w, const void *src, size_t n)
{
	uint8_t *p = wr_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}
static inline void wr_zero(struct vt_wr *w, size_t n)
{
	uint8_t *p = wr_reserve(w, n);
	if (p && n)
		memset(p, 0, n);
}

#endif
