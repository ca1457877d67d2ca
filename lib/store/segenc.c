/* segenc.c — see segenc.h. Encoding: each column is frame-of-reference
 * coded (value - min) at the narrowest width that holds the block's
 * range, laid out as byte planes (all low bytes, then all next bytes...)
 * so that the mostly-zero high planes compress to almost nothing, then
 * compressed on its own. A column with one value in the whole block is
 * stored in the meta only. The byte layout is in docs/store.md. */
#include "store/segenc.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/be.h"
#include "core/compiler.h"
#include "store/planes.h"
#include "store/ranges.h"

#define BLK_MAGIC 0x5654424bu   /* "VTBK" */
#define META_VERSION 1
#define BLOOM_K 6
#define BLOOM_BITS_PER_VALUE 10
/* the columns every block carries: the header's time range, the VM
 * dictionary's use bits */
#define SEG_ENC_NEEDED (FC_BIT(FC_FIRST) | FC_BIT(FC_LAST) | FC_BIT(FC_VM) | FC_BIT(FC_PEER) | \
			FC_BIT(FC_SRC_VM) | FC_BIT(FC_DST_VM))

static unsigned bytes_for(uint64_t v)
{
	unsigned w = 0;
	while (v) {
		w++;
		v >>= 8;
	}
	return w;
}

struct vw {
	struct vbuf *b;
	int err;
};

static uint8_t *vw_room(struct vw *w, size_t n)
{
	if (w->err)
		return NULL;
	w->err = vbuf_reserve(w->b, n);
	if (w->err)
		return NULL;
	uint8_t *p = w->b->data + w->b->len;
	w->b->len += n;
	return p;
}

#define VW_PUT(name, T, n, wrfn)                                     \
	static void name(struct vw *w, T v)                           \
	{                                                             \
		uint8_t *p = vw_room(w, n);                           \
		if (p) {                                              \
			struct vt_wr c = wr_init(p, n);               \
			wrfn(&c, v);                                  \
		}                                                     \
	}
VW_PUT(vw_u8, uint8_t, 1, wr_u8)
VW_PUT(vw_u16, uint16_t, 2, wr_u16)
VW_PUT(vw_u32, uint32_t, 4, wr_u32)
VW_PUT(vw_u64, uint64_t, 8, wr_u64)

static void vw_bytes(struct vw *w, const void *src, size_t n)
{
	uint8_t *p = vw_room(w, n);
	if (p && n)
		memcpy(p, src, n);
}

/* ---- encoder ------------------------------------------------------------ */

struct seg_enc {
	enum seg_comp comp;
	int level;
	ZSTD_CCtx *zc;
	struct vbuf blk;       /* the block being built */
	struct vbuf meta;
	struct vbuf data;
	uint8_t *raw;          /* planes of one column */
	size_t rawcap;
	uint8_t *zbuf;         /* compressed column */
	size_t zcap;
	uint64_t *hset;        /* distinct-value set of a bloomed column (row + 1) */
	size_t hcap;
	uint64_t *hashes;      /* bloom hashes of its distinct values */
	size_t hashcap;
	uint8_t *low;          /* an IPv4 address column's low words (uint32_t) */
	size_t lowcap;
};

struct seg_enc *seg_enc_new(enum seg_comp comp, int level)
{
	struct seg_enc *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->comp = comp;
	e->level = level;
	if (comp == SEG_COMP_ZSTD && !(e->zc = ZSTD_createCCtx())) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	vbuf_init(&e->blk, (size_t)SEG_BLK_HDR_LEN + SEG_MAX_META + SEG_MAX_DATA);
	vbuf_init(&e->meta, SEG_MAX_META);
	vbuf_init(&e->data, SEG_MAX_DATA);
	return e;
}

void seg_enc_free(struct seg_enc *e)
{
	if (!e)
		return;
	ZSTD_freeCCtx(e->zc);
	vbuf_free(&e->blk);
	vbuf_free(&e->meta);
	vbuf_free(&e->data);
	free(e->raw);
	free(e->zbuf);
	free(e->hset);
	free(e->hashes);
	free(e->low);
	free(e);
}

int seg_enc_set_comp(struct seg_enc *e, enum seg_comp comp, int level)
{
	if (comp == SEG_COMP_ZSTD && !e->zc && !(e->zc = ZSTD_createCCtx()))
		return -ENOMEM;
	e->comp = comp;
	e->level = level;
	return 0;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	uint8_t *q = realloc(*p, need);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = need;
	return 0;
}

/* Compresses e->raw[0..rawlen) and appends it to e->data; fills the
 * entry's comp/off/clen/crc. */
static int enc_store(struct seg_enc *e, size_t rawlen, struct seg_colent *ce)
{
	const uint8_t *src = e->raw;
	size_t clen = rawlen;
	int r;

	ce->comp = SEG_COMP_NONE;
	if (rawlen >= 64 && e->comp != SEG_COMP_NONE) {
		size_t bound = e->comp == SEG_COMP_ZSTD ? ZSTD_compressBound(rawlen)
							: (size_t)LZ4_compressBound((int)rawlen);
		if ((r = grow(&e->zbuf, &e->zcap, bound)) < 0)
			return r;
		size_t got = 0;
		if (e->comp == SEG_COMP_ZSTD) {
			got = ZSTD_compressCCtx(e->zc, e->zbuf, bound, e->raw, rawlen, e->level);
			if (ZSTD_isError(got))
				got = 0;
		} else {
			/* acceleration: the same format, decoded alike */
			int g = LZ4_compress_fast((const char *)e->raw, (char *)e->zbuf,
						  (int)rawlen, (int)bound, e->level > 1 ? e->level : 1);
			got = g > 0 ? (size_t)g : 0;
		}
		if (got && got < rawlen) {
			src = e->zbuf;
			clen = got;
			ce->comp = (uint8_t)e->comp;
		}
	}
	ce->off = (uint32_t)e->data.len;
	ce->clen = (uint32_t)clen;
	ce->rawlen = (uint32_t)rawlen;
	ce->crc = seg_crc32c(0, src, clen);
	return vbuf_add(&e->data, src, clen);
}

/* For the 8/16-bit types, a column's byte planes, one pass per plane
 * (vectorizes); 32/64-bit columns are transposed 16 values at a time
 * (planes.c). */
#define PLANES_FN(T, sfx)                                                            \
	static void planes_##sfx(const T *v, size_t n, T base, unsigned width,     \
				 uint8_t *raw)                                       \
	{                                                                            \
		for (unsigned j = 0; j < width; j++) {                               \
			uint8_t *p = raw + j * n;                                    \
			unsigned sh = 8 * j;                                         \
			for (size_t i = 0; i < n; i++)                               \
				p[i] = (uint8_t)((T)(v[i] - base) >> sh);            \
		}                                                                    \
	}
PLANES_FN(uint8_t, u8)
PLANES_FN(uint16_t, u16)

static int enc_int_col(struct seg_enc *e, const struct flow_cols *c, unsigned k,
		       struct seg_colent *ce, uint64_t *mn_out, uint64_t *mx_out)
{
	enum fc_kind kind = fc_desc(k)->kind;
	size_t n = c->n;
	uint64_t mn = 0, mx = 0;
	int r;

	const struct cols_sum *sum = cols_summary(c);

	if (!seg_kind_is_int(kind))
		return -EINVAL;
	if (sum) {
		mn = sum->mn[k];
		mx = sum->mx[k];
	} else {
		switch (kind) {
		case FCK_U8: range_u8(FC_U8(c, k), n, &mn, &mx); break;
		case FCK_U16: range_u16(FC_U16(c, k), n, &mn, &mx); break;
		case FCK_U64: range_u64(FC_U64(c, k), n, &mn, &mx); break;
		default: range_u32(FC_U32(c, k), n, &mn, &mx); break;
		}
	}
	*mn_out = mn;
	*mx_out = mx;
	ce->base = mn;
	ce->width = (uint8_t)bytes_for(mx - mn);
	if (ce->width == 0) {
		ce->enc = SEG_ENC_CONST;
		return 0;
	}
	ce->enc = SEG_ENC_PLANES;
	if ((r = grow(&e->raw, &e->rawcap, n * ce->width)) < 0)
		return r;
	switch (kind) {
	case FCK_U8: planes_u8(FC_U8(c, k), n, (uint8_t)mn, ce->width, e->raw); break;
	case FCK_U16: planes_u16(FC_U16(c, k), n, (uint16_t)mn, ce->width, e->raw); break;
	case FCK_U32: case FCK_VMREF:
		planes_u32(FC_U32(c, k), n, (uint32_t)mn, ce->width, e->raw);
		break;
	default: planes_u64(FC_U64(c, k), n, mn, ce->width, e->raw); break;
	}
	return enc_store(e, n * ce->width, ce);
}

/* An address as two big-endian halves: compares like memcmp of the 16
 * bytes without a call per comparison. */
struct a128 {
	uint64_t hi, lo;
};

static inline struct a128 a128_of(const uint8_t *x)
{
	return (struct a128){ ld_be64(x), ld_be64(x + 8) };
}

static inline int a128_cmp(struct a128 a, struct a128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/* The IPv4-mapped address of the host-order word <x>. */
static void addr_of_word(struct vt_addr *a, uint32_t x)
{
	uint8_t b[4];

	st_be32(b, x);
	addr_set_v4(a, b);
}

/* A byte column whose every value is v[0 .. es). */
static int enc_bytes_const(struct seg_colent *ce, const uint8_t *v, size_t es)
{
	ce->enc = SEG_ENC_CONST;
	ce->width = 0;
	memcpy(ce->cval, v, es);
	return 0;
}

/* Addresses and MACs: constant, or byte planes of the 4 low bytes (every
 * address IPv4-mapped: addr_v4_range), all 16, or the 6 of a MAC. */
static int enc_bytes_col(struct seg_enc *e, const struct flow_cols *c, unsigned k,
			 struct seg_colent *ce, struct vt_addr *amin, struct vt_addr *amax)
{
	bool mac = fc_desc(k)->kind == FCK_MAC;
	size_t es = mac ? 6 : 16, n = c->n;
	const uint8_t *v = c->col[k];
	bool same = true;
	int r;

	if (!mac) {
		const struct cols_sum *sum = cols_summary(c);
		const uint32_t *low;
		uint32_t lo, hi;
		enum addr_col kind;
		if (sum) {
			/* what the batch's writer found while appending */
			kind = cols_sum_addr(sum, k);
			lo = (uint32_t)sum->mn[k];
			hi = (uint32_t)sum->mx[k];
			low = sum->low[k];
		} else {
			if ((r = grow(&e->low, &e->lowcap, n * sizeof(uint32_t))) < 0)
				return r;
			kind = addr_v4_range(v, n, (uint32_t *)(void *)e->low, &lo, &hi);
			low = (const uint32_t *)(const void *)e->low;
		}
		if (kind != ADDR_OTHER) {
			if (kind == ADDR_ZERO) {
				memset(amin, 0, sizeof(*amin));
				memset(amax, 0, sizeof(*amax));
			} else {
				addr_of_word(amin, lo);
				addr_of_word(amax, hi);
			}
			if (lo == hi)   /* all zero gives lo = hi = 0 too */
				return enc_bytes_const(ce, v, es);
			ce->enc = SEG_ENC_PLANES;
			ce->width = 4;
			if ((r = grow(&e->raw, &e->rawcap, n * 4)) < 0)
				return r;
			planes_u32(low, n, 0, 4, e->raw);
			return enc_store(e, n * 4, ce);
		}
	}
	/* MACs, and address columns with an IPv6 address (the IPv4 ones
	 * all went above) */
	if (mac) {
		for (size_t i = 1; i < n && same; i++)
			same = memcmp(v + i * es, v, 6) == 0;
	} else {
		struct a128 lo = a128_of(v), hi = lo, first = lo;
		for (size_t i = 0; i < n; i++) {
			struct a128 x = a128_of(v + i * es);
			same &= x.hi == first.hi && x.lo == first.lo;
			if (a128_cmp(x, lo) < 0)
				lo = x;
			if (a128_cmp(x, hi) > 0)
				hi = x;
		}
		st_be64(amin->b, lo.hi);
		st_be64(amin->b + 8, lo.lo);
		st_be64(amax->b, hi.hi);
		st_be64(amax->b + 8, hi.lo);
	}
	if (same)
		return enc_bytes_const(ce, v, es);
	ce->enc = SEG_ENC_PLANES;
	ce->width = (uint8_t)es;
	if ((r = grow(&e->raw, &e->rawcap, n * es)) < 0)
		return r;
	for (unsigned j = 0; j < es; j++) {
		uint8_t *p = e->raw + j * n;
		const uint8_t *q = v + j;
		for (size_t i = 0; i < n; i++)
			p[i] = q[i * es];
	}
	return enc_store(e, n * es, ce);
}

/* A column the batch keeps as one value (flow_cols.konst): what
 * enc_int_col() and enc_bytes_col() make of a constant column, without
 * an array to read. */
static int enc_konst(const struct flow_cols *c, unsigned k, struct seg_colent *ce, uint64_t *mn,
		     uint64_t *mx, struct vt_addr *amin, struct vt_addr *amax)
{
	enum fc_kind kind = fc_desc(k)->kind;
	const uint8_t *v = c->kval[k];

	if (seg_kind_is_int(kind)) {
		/* in native order, as the arrays hold it */
		uint64_t x = 0;
		uint32_t x32;
		uint16_t x16;
		switch (kind) {
		case FCK_U8: x = v[0]; break;
		case FCK_U16: memcpy(&x16, v, 2); x = x16; break;
		case FCK_U64: memcpy(&x, v, 8); break;
		default: memcpy(&x32, v, 4); x = x32; break;
		}
		*mn = *mx = x;
		ce->enc = SEG_ENC_CONST;
		ce->width = 0;
		ce->base = x;
		return 0;
	}
	if (kind == FCK_ADDR) {
		memcpy(amin->b, v, 16);
		memcpy(amax->b, v, 16);
	}
	return enc_bytes_const(ce, v, fc_elem_size(kind));
}

/* A late column (FC_LATE) is never stored constant, which a reader from
 * before it could not skip: the constant becomes planes (an integer: one
 * plane of zeros above its base; bytes: every byte), which the compressor
 * makes nearly free. */
static int unconst(struct seg_enc *e, const struct flow_cols *c, unsigned k,
		   struct seg_colent *ce)
{
	enum fc_kind kind = fc_desc(k)->kind;
	bool is_int = seg_kind_is_int(kind);
	size_t n = c->n, w = is_int ? 1 : fc_elem_size(kind);
	int r;

	if ((r = grow(&e->raw, &e->rawcap, n * w)) < 0)
		return r;
	for (size_t j = 0; j < w; j++)
		memset(e->raw + j * n, is_int ? 0 : ce->cval[j], n);
	ce->enc = SEG_ENC_PLANES;
	ce->width = (uint8_t)w;
	return enc_store(e, n * w, ce);
}

#define BLOOM_MAX_DISTINCT (SEG_BLOOM_MAX_BITS / BLOOM_BITS_PER_VALUE)

/* The distinct values of column <k>: a set keyed by the raw value with a
 * multiplicative hash (a multiply per row), so that the format's hash
 * (fc_bloom_hash) runs once per distinct value, not once per row. Fills
 * e->hashes with the bloom hash of each distinct value; returns how many,
 * or -1 when there are more than BLOOM_MAX_DISTINCT (no useful bloom), or
 * -ENOMEM. */
static long distinct_hashes(struct seg_enc *e, const struct flow_cols *c, unsigned k)
{
	bool port = k == FC_SPORT || k == FC_DPORT;
	size_t n = c->n, want = n < BLOOM_MAX_DISTINCT + 1 ? n : BLOOM_MAX_DISTINCT + 1;
	size_t cap = 16, distinct = 0;
	unsigned shift;
	int r;

	while (cap < want * 2)
		cap <<= 1;
	shift = 64 - (unsigned)__builtin_ctzll(cap);
	if (e->hcap < cap) {
		free(e->hset);
		e->hset = malloc(cap * sizeof(*e->hset));
		if (!e->hset) {
			e->hcap = 0;
			return -ENOMEM;
		}
		e->hcap = cap;
	}
	/* slots hold row + 1 (0: empty) */
	memset(e->hset, 0, cap * sizeof(*e->hset));
	if ((r = grow((uint8_t **)&e->hashes, &e->hashcap, want * sizeof(uint64_t))) < 0)
		return r;
	/* an IPv4 column the batch's summary has the low words of: keyed by
	 * them, a quarter of the bytes to read */
	const struct cols_sum *sum = port ? NULL : cols_summary(c);
	const uint32_t *low = sum && cols_sum_addr(sum, k) == ADDR_V4 ? sum->low[k] : NULL;
	for (size_t i = 0; i < n; i++) {
		uint64_t key, s;
		if (low) {
			key = low[i];
			s = (key * 0x9e3779b97f4a7c15ull) >> shift;
			while (e->hset[s] && low[e->hset[s] - 1] != key)
				s = (s + 1) & (cap - 1);
		} else if (port) {
			key = FC_U16(c, k)[i];
			s = (key * 0x9e3779b97f4a7c15ull) >> shift;
			while (e->hset[s] && FC_U16(c, k)[e->hset[s] - 1] != key)
				s = (s + 1) & (cap - 1);
		} else {
			const struct vt_addr *a = &FC_ADDR(c, k)[i];
			uint64_t w[2];
			memcpy(w, a->b, 16);
			s = ((w[0] * 0x9e3779b97f4a7c15ull) ^ w[1]) * 0xc2b2ae3d27d4eb4full >> shift;
			while (e->hset[s] && memcmp(FC_ADDR(c, k)[e->hset[s] - 1].b, a->b, 16))
				s = (s + 1) & (cap - 1);
		}
		if (e->hset[s])
			continue;
		if (distinct == BLOOM_MAX_DISTINCT)
			return -1;   /* too many distinct values for a useful bloom */
		e->hset[s] = i + 1;
		e->hashes[distinct++] = port ? fc_bloom_hash_port(FC_U16(c, k)[i])
					     : fc_bloom_hash(FC_ADDR(c, k)[i].b, 16);
	}
	return (long)distinct;
}

/* A bloom over column <k> when the block has few enough distinct values
 * for it to fit SEG_BLOOM_MAX_BITS at BLOOM_BITS_PER_VALUE. */
static int enc_bloom(struct seg_enc *e, const struct flow_cols *c, unsigned k, struct vw *mw,
		     unsigned *nblooms)
{
	long distinct = distinct_hashes(e, c, k);

	if (distinct < -1)
		return (int)distinct;
	if (distinct < 0)
		return 0;
	uint32_t nbits = 64;
	while (nbits < (uint64_t)distinct * BLOOM_BITS_PER_VALUE)
		nbits <<= 1;
	vw_u8(mw, (uint8_t)k);
	vw_u8(mw, BLOOM_K);
	vw_u32(mw, nbits);
	uint8_t *bits = vw_room(mw, nbits / 8);
	if (!bits)
		return mw->err;
	memset(bits, 0, nbits / 8);
	for (long i = 0; i < distinct; i++)
		fc_bloom_set(bits, nbits, BLOOM_K, e->hashes[i]);
	(*nblooms)++;
	return 0;
}

static void put_str(struct vw *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	vw_u8(w, (uint8_t)n);
	vw_bytes(w, s, n);
}

int seg_enc_block(struct seg_enc *e, const struct flow_cols *c, const uint8_t **out,
		  size_t *len)
{
	struct seg_colent ce[FC_NCOLS];
	uint64_t mn[FC_NCOLS] = { 0 }, mx[FC_NCOLS] = { 0 }, have_mm = 0;
	struct vt_addr amin[FC_NCOLS], amax[FC_NCOLS];
	struct vw mw = { &e->meta, 0 };
	size_t n = c->n;
	int r;

	/* a column missing from <have> is left out of the block, as a writer
	 * from before the column existed did (readers take it as zero); the
	 * time range and the VM columns are always needed */
	if (n == 0 || n > SEG_MAX_ROWS || (c->have & SEG_ENC_NEEDED) != SEG_ENC_NEEDED)
		return -EINVAL;
	vbuf_reset(&e->meta);
	vbuf_reset(&e->data);
	vbuf_reset(&e->blk);
	memset(ce, 0, sizeof(ce));
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		enum fc_kind kind = fc_desc(k)->kind;
		if (!(c->have & FC_BIT(k)))
			continue;
		if (c->konst & FC_BIT(k))
			r = enc_konst(c, k, &ce[k], &mn[k], &mx[k], &amin[k], &amax[k]);
		else if (seg_kind_is_int(kind))
			r = enc_int_col(e, c, k, &ce[k], &mn[k], &mx[k]);
		else
			r = enc_bytes_col(e, c, k, &ce[k], &amin[k], &amax[k]);
		/* a min/max summary: every column but the VM ids and MACs */
		if (kind != FCK_VMREF && kind != FCK_MAC)
			have_mm |= FC_BIT(k);
		if (r >= 0 && (FC_LATE & FC_BIT(k))) {
			/* what a reader from before the column can skip */
			have_mm &= ~FC_BIT(k);
			if (ce[k].enc == SEG_ENC_CONST)
				r = unconst(e, c, k, &ce[k]);
		}
		if (r < 0)
			return r;
	}

	/* meta: version, columns */
	vw_u8(&mw, META_VERSION);
	vw_u8(&mw, 0);
	vw_u16(&mw, (uint16_t)__builtin_popcountll(c->have & FC_ALL));
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		enum fc_kind kind = fc_desc(k)->kind;
		if (!(c->have & FC_BIT(k)))
			continue;
		vw_u8(&mw, (uint8_t)k);
		vw_u8(&mw, ce[k].enc);
		vw_u8(&mw, ce[k].width);
		vw_u8(&mw, ce[k].comp);
		vw_u64(&mw, ce[k].base);
		vw_u32(&mw, ce[k].off);
		vw_u32(&mw, ce[k].clen);
		vw_u32(&mw, ce[k].rawlen);
		vw_u32(&mw, ce[k].crc);
		if (ce[k].enc == SEG_ENC_CONST && !seg_kind_is_int(kind))
			vw_bytes(&mw, ce[k].cval, fc_elem_size(kind));
	}
	/* summary: min/max, blooms */
	vw_u64(&mw, have_mm);
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		if (!(have_mm & FC_BIT(k)))
			continue;
		if (fc_desc(k)->kind == FCK_ADDR) {
			vw_bytes(&mw, amin[k].b, 16);
			vw_bytes(&mw, amax[k].b, 16);
		} else {
			vw_u64(&mw, mn[k]);
			vw_u64(&mw, mx[k]);
		}
	}
	static const unsigned bloomed[] = { FC_SRC, FC_DST, FC_EXPORTER, FC_SPORT, FC_DPORT };
	size_t nb_at = mw.b->len;
	unsigned nblooms = 0;
	vw_u8(&mw, 0);
	for (size_t b = 0; b < ARRAY_SIZE(bloomed); b++) {
		if (ce[bloomed[b]].enc == SEG_ENC_CONST || !(c->have & FC_BIT(bloomed[b])))
			continue;   /* min == max already answers */
		if ((r = enc_bloom(e, c, bloomed[b], &mw, &nblooms)) < 0)
			return r;
	}
	if (!mw.err)
		mw.b->data[nb_at] = (uint8_t)nblooms;
	/* VM dictionary with, per entry, the VM columns that use it */
	uint8_t *use = calloc(c->nvms ? c->nvms : 1, 1);
	static const struct { unsigned col; uint8_t bit; } vmcols[] = {
		{ FC_VM, FC_VMUSE_VM }, { FC_PEER, FC_VMUSE_PEER },
		{ FC_SRC_VM, FC_VMUSE_SRC }, { FC_DST_VM, FC_VMUSE_DST },
	};
	if (!use)
		return -ENOMEM;
	for (size_t v = 0; v < ARRAY_SIZE(vmcols); v++) {
		unsigned col = vmcols[v].col;
		const uint32_t *ids = c->col[col];
		uint8_t bit = vmcols[v].bit;
		/* the column's range is known: a constant column (every row
		 * outside any VM, the usual case for plain NetFlow) is one
		 * entry; otherwise runs of one id are marked once (a read-
		 * modify-write per row would chain through the same byte) */
		if (mn[col] < c->nvms)
			use[mn[col]] |= bit;
		if (ce[col].enc == SEG_ENC_CONST)
			continue;
		uint32_t last = (uint32_t)mn[col];
		for (size_t i = 0; i < n; i++) {
			uint32_t id = ids[i];
			if (id != last && id < c->nvms) {
				use[id] |= bit;
				last = id;
			}
		}
	}
	vw_u32(&mw, c->nvms ? (uint32_t)(c->nvms - 1) : 0);
	vw_u8(&mw, use[0]);
	for (size_t v = 1; v < c->nvms; v++) {
		const struct vm_ident *id = &c->vms[v];
		vw_bytes(&mw, id->uuid, 16);
		put_str(&mw, id->name, VT_NAME_MAX - 1);
		put_str(&mw, id->ifname, VT_IFNAME_MAX - 1);
		vw_u32(&mw, id->ifindex);
		vw_u8(&mw, use[v]);
	}
	free(use);
	vw_u16(&mw, (uint16_t)c->nzones);
	for (size_t z = 0; z < c->nzones; z++) {
		vw_u16(&mw, c->zones[z].idx);
		put_str(&mw, c->zones[z].name, VT_NAME_MAX - 1);
	}
	if (mw.err)
		return mw.err;

	/* header: time range from both time columns (exporters' clocks may
	 * put last before first) */
	uint64_t tmin = VT_MIN(mn[FC_FIRST], mn[FC_LAST]), tmax = VT_MAX(mx[FC_FIRST], mx[FC_LAST]);
	struct vw bw = { &e->blk, 0 };
	uint8_t *h = vw_room(&bw, SEG_BLK_HDR_LEN);
	if (!h)
		return bw.err;
	struct vt_wr w = wr_init(h, SEG_BLK_HDR_LEN);
	wr_u32(&w, BLK_MAGIC);
	wr_u32(&w, (uint32_t)e->meta.len);
	wr_u32(&w, (uint32_t)e->data.len);
	wr_u32(&w, (uint32_t)n);
	wr_u64(&w, tmin);
	wr_u64(&w, tmax);
	wr_u32(&w, seg_crc32c(0, e->meta.data, e->meta.len));
	wr_u32(&w, 0);
	wr_u32(&w, 0);
	wr_u32(&w, seg_crc32c(0, h, SEG_BLK_HDR_LEN - 4));
	vw_bytes(&bw, e->meta.data, e->meta.len);
	vw_bytes(&bw, e->data.data, e->data.len);
	if (bw.err)
		return bw.err;
	*out = e->blk.data;
	*len = e->blk.len;
	return 0;
}
