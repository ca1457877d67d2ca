/* segfile.c — see segfile.h. Encoding: each column is frame-of-reference
 * coded (value - min) at the narrowest width that holds the block's
 * range, laid out as byte planes (all low bytes, then all next bytes...)
 * so that the mostly-zero high planes compress to almost nothing, then
 * compressed on its own. A column with one value in the whole block is
 * stored in the meta only. */
#include "store/segfile.h"

#include <errno.h>
#include <lz4.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "core/be.h"
#include "core/compiler.h"

#define BLK_MAGIC 0x5654424bu   /* "VTBK" */
#define FILE_MAGIC "VTAPSEG1"
#define META_VERSION 1
#define BLOOM_K 6
#define BLOOM_BITS_PER_VALUE 10

/* ---- CRC-32C ------------------------------------------------------------ */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw_run(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

uint32_t seg_crc32c(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

	pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_hw_run(c, p, n);
#endif
	while (n >= 8) {
		uint32_t lo = ld_le32(p) ^ c, hi = ld_le32(p + 4);
		c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		    crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		    crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		    crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ crc_tab[0][(c ^ *p++) & 0xff];
	return ~c;
}

/* The fuzzer cannot forge checksums; letting bad ones through in fuzzing
 * builds lets it reach the decoders behind them. */
static bool crc_ok(uint32_t want, const void *p, size_t n)
{
#ifdef VTAP_FUZZING
	(void)want;
	(void)p;
	(void)n;
	return true;
#else
	return seg_crc32c(0, p, n) == want;
#endif
}

/* ---- small helpers ------------------------------------------------------ */

static bool kind_is_int(enum fc_kind k)
{
	return k == FCK_U8 || k == FCK_U16 || k == FCK_U32 || k == FCK_U64 || k == FCK_VMREF;
}

static uint64_t get_int(const struct flow_cols *c, unsigned k, enum fc_kind kind, size_t i)
{
	switch (kind) {
	case FCK_U8: return FC_U8(c, k)[i];
	case FCK_U16: return FC_U16(c, k)[i];
	case FCK_U32: case FCK_VMREF: return FC_U32(c, k)[i];
	case FCK_U64: return FC_U64(c, k)[i];
	default: return 0;
	}
}

static unsigned bytes_for(uint64_t v)
{
	unsigned w = 0;
	while (v) {
		w++;
		v >>= 8;
	}
	return w;
}

/* Appends big-endian fields to a vbuf through a vt_wr cursor over the
 * reserved room; the first failure sticks in *<err>. */
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
	uint64_t *hset;        /* distinct-value set for bloom sizing */
	size_t hcap;
	uint64_t *hashes;      /* per-row hashes of the bloomed column */
	size_t hashcap;
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
	free(e);
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
			int g = LZ4_compress_default((const char *)e->raw, (char *)e->zbuf,
						     (int)rawlen, (int)bound);
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

static int enc_int_col(struct seg_enc *e, const struct flow_cols *c, unsigned k,
		       struct seg_colent *ce, uint64_t *mn_out, uint64_t *mx_out)
{
	enum fc_kind kind = fc_desc(k)->kind;
	size_t n = c->n;
	uint64_t mn = UINT64_MAX, mx = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = get_int(c, k, kind, i);
		mn = v < mn ? v : mn;
		mx = v > mx ? v : mx;
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
	for (size_t i = 0; i < n; i++) {
		uint64_t d = get_int(c, k, kind, i) - mn;
		for (unsigned j = 0; j < ce->width; j++, d >>= 8)
			e->raw[j * n + i] = (uint8_t)d;
	}
	return enc_store(e, n * ce->width, ce);
}

/* Addresses and MACs: constant, or byte planes of the 4 low bytes (every
 * address IPv4-mapped), all 16, or the 6 of a MAC. */
static int enc_bytes_col(struct seg_enc *e, const struct flow_cols *c, unsigned k,
			 struct seg_colent *ce, struct vt_addr *amin, struct vt_addr *amax)
{
	bool mac = fc_desc(k)->kind == FCK_MAC;
	size_t es = mac ? 6 : 16, n = c->n;
	const uint8_t *v = c->col[k];
	bool same = true, v4 = true;
	size_t lo = 0, hi = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *x = v + i * es;
		if (same && memcmp(x, v, es) != 0)
			same = false;
		if (!mac) {
			if (v4 && !addr_is_v4((const struct vt_addr *)(const void *)x))
				v4 = false;
			if (memcmp(x, v + lo * es, 16) < 0)
				lo = i;
			if (memcmp(x, v + hi * es, 16) > 0)
				hi = i;
		}
	}
	if (!mac) {
		memcpy(amin, v + lo * es, 16);
		memcpy(amax, v + hi * es, 16);
	}
	if (same) {
		ce->enc = SEG_ENC_CONST;
		ce->width = 0;
		memcpy(ce->cval, v, es);
		return 0;
	}
	ce->enc = SEG_ENC_PLANES;
	ce->width = (uint8_t)(mac ? 6 : v4 ? 4 : 16);
	size_t skip = es - ce->width;   /* IPv4-mapped: the first 12 bytes */
	if ((r = grow(&e->raw, &e->rawcap, n * ce->width)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		for (unsigned j = 0; j < ce->width; j++)
			e->raw[j * n + i] = v[i * es + skip + j];
	return enc_store(e, n * ce->width, ce);
}

/* Inserts <h> into the distinct set; returns false when already there. */
static bool hset_add(uint64_t *set, size_t cap, uint64_t h)
{
	h |= 1;  /* 0 marks an empty slot */
	size_t s = (size_t)(h >> 7) & (cap - 1);
	while (set[s]) {
		if (set[s] == h)
			return false;
		s = (s + 1) & (cap - 1);
	}
	set[s] = h;
	return true;
}

/* A bloom over column <k> when the block has few enough distinct values
 * for it to fit SEG_BLOOM_MAX_BITS at BLOOM_BITS_PER_VALUE. */
static int enc_bloom(struct seg_enc *e, const struct flow_cols *c, unsigned k, struct vw *mw,
		     unsigned *nblooms)
{
	size_t n = c->n, distinct = 0, cap = 16;
	bool port = k == FC_SPORT || k == FC_DPORT;
	int r;

	while (cap < n * 2)
		cap <<= 1;
	if (e->hcap < cap) {
		free(e->hset);
		e->hset = malloc(cap * sizeof(*e->hset));
		if (!e->hset) {
			e->hcap = 0;
			return -ENOMEM;
		}
		e->hcap = cap;
	}
	memset(e->hset, 0, cap * sizeof(*e->hset));
	if ((r = grow((uint8_t **)&e->hashes, &e->hashcap, n * sizeof(uint64_t))) < 0)
		return r;
	e->hashcap /= 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t h;
		if (port) {
			uint16_t pv = FC_U16(c, k)[i];
			uint8_t be[2] = { (uint8_t)(pv >> 8), (uint8_t)pv };
			h = fc_bloom_hash(be, 2);
		} else {
			h = fc_bloom_hash(FC_ADDR(c, k)[i].b, 16);
		}
		e->hashes[i] = h;
		if (hset_add(e->hset, cap, h) &&
		    ++distinct * BLOOM_BITS_PER_VALUE > SEG_BLOOM_MAX_BITS)
			return 0;   /* too many distinct values for a useful bloom */
	}
	uint32_t nbits = 64;
	while (nbits < distinct * BLOOM_BITS_PER_VALUE)
		nbits <<= 1;
	vw_u8(mw, (uint8_t)k);
	vw_u8(mw, BLOOM_K);
	vw_u32(mw, nbits);
	uint8_t *bits = vw_room(mw, nbits / 8);
	if (!bits)
		return mw->err;
	memset(bits, 0, nbits / 8);
	for (size_t i = 0; i < n; i++)
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

	if (n == 0 || n > SEG_MAX_ROWS || (c->have & FC_ALL) != FC_ALL)
		return -EINVAL;
	vbuf_reset(&e->meta);
	vbuf_reset(&e->data);
	vbuf_reset(&e->blk);
	memset(ce, 0, sizeof(ce));
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		enum fc_kind kind = fc_desc(k)->kind;
		if (kind_is_int(kind)) {
			r = enc_int_col(e, c, k, &ce[k], &mn[k], &mx[k]);
			if (kind != FCK_VMREF)
				have_mm |= FC_BIT(k);
		} else {
			r = enc_bytes_col(e, c, k, &ce[k], &amin[k], &amax[k]);
			if (kind == FCK_ADDR)
				have_mm |= FC_BIT(k);
		}
		if (r < 0)
			return r;
	}

	/* meta: version, columns */
	vw_u8(&mw, META_VERSION);
	vw_u8(&mw, 0);
	vw_u16(&mw, FC_NCOLS);
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		enum fc_kind kind = fc_desc(k)->kind;
		vw_u8(&mw, (uint8_t)k);
		vw_u8(&mw, ce[k].enc);
		vw_u8(&mw, ce[k].width);
		vw_u8(&mw, ce[k].comp);
		vw_u64(&mw, ce[k].base);
		vw_u32(&mw, ce[k].off);
		vw_u32(&mw, ce[k].clen);
		vw_u32(&mw, ce[k].rawlen);
		vw_u32(&mw, ce[k].crc);
		if (ce[k].enc == SEG_ENC_CONST && !kind_is_int(kind))
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
		if (ce[bloomed[b]].enc == SEG_ENC_CONST)
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
		const uint32_t *ids = c->col[vmcols[v].col];
		for (size_t i = 0; i < n; i++)
			if (ids[i] < c->nvms)
				use[ids[i]] |= vmcols[v].bit;
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

void seg_file_header(uint8_t out[SEG_FILE_HDR_LEN], uint64_t start_ms, uint64_t len_ms)
{
	/* a fixed 32-byte window: the raw stores are in bounds by construction
	 * (and GCC's -O3 flow analysis misreads the cursor version here) */
	memcpy(out, FILE_MAGIC, 8);
	st_be32(out + 8, 1);
	st_be32(out + 12, SEG_FILE_HDR_LEN);
	st_be64(out + 16, start_ms);
	st_be32(out + 24, (uint32_t)(len_ms / 1000));
	st_be32(out + 28, seg_crc32c(0, out, SEG_FILE_HDR_LEN - 4));
}

/* ---- parsing ------------------------------------------------------------ */

int seg_file_header_parse(const uint8_t *p, size_t len, uint64_t *start_ms, uint64_t *len_ms)
{
	struct vt_rd r = rd_init(p, len);
	const uint8_t *magic = rd_take(&r, 8);
	uint32_t ver = rd_u32(&r), hl = rd_u32(&r);
	uint64_t start = rd_u64(&r);
	uint32_t secs = rd_u32(&r), crc = rd_u32(&r);

	if (rd_failed(&r) || memcmp(magic, FILE_MAGIC, 8) != 0 || ver != 1 ||
	    hl != SEG_FILE_HDR_LEN || !crc_ok(crc, p, SEG_FILE_HDR_LEN - 4))
		return -EBADMSG;
	*start_ms = start;
	*len_ms = (uint64_t)secs * 1000;
	return 0;
}

int seg_blkhdr_parse(const uint8_t *p, struct seg_blkhdr *h)
{
	struct vt_rd r = rd_init(p, SEG_BLK_HDR_LEN);
	uint32_t magic = rd_u32(&r);

	h->meta_len = rd_u32(&r);
	h->data_len = rd_u32(&r);
	h->nrows = rd_u32(&r);
	h->tmin = rd_u64(&r);
	h->tmax = rd_u64(&r);
	h->meta_crc = rd_u32(&r);
	rd_skip(&r, 8);
	uint32_t crc = rd_u32(&r);
	if (rd_failed(&r) || magic != BLK_MAGIC || !crc_ok(crc, p, SEG_BLK_HDR_LEN - 4))
		return -EBADMSG;
	if (h->nrows == 0 || h->nrows > SEG_MAX_ROWS || h->meta_len > SEG_MAX_META ||
	    h->data_len > SEG_MAX_DATA || h->tmin > h->tmax)
		return -EBADMSG;
	return 0;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENODATA;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Reads and checks the block at <off>: 1 valid, 0 invalid, -errno. With
 * <deep>, also the checksum of every column (the tail block, where a
 * power loss can leave a correct header over unwritten data). */
static int blk_check(int fd, uint64_t size, uint64_t off, struct seg_blkhdr *h, bool deep,
		     uint8_t **buf, size_t *cap)
{
	uint8_t hb[SEG_BLK_HDR_LEN];
	int r;

	if (size - off < SEG_BLK_HDR_LEN)
		return 0;
	if ((r = pread_full(fd, hb, sizeof(hb), off)) < 0)
		return r == -ENODATA ? 0 : r;
	if (seg_blkhdr_parse(hb, h) < 0)
		return 0;
	uint64_t end = off + SEG_BLK_HDR_LEN + h->meta_len + h->data_len;
	if (end > size)
		return 0;
	size_t need = deep ? (size_t)(h->meta_len + h->data_len) : h->meta_len;
	if ((r = grow(buf, cap, need ? need : 1)) < 0)
		return r;
	if ((r = pread_full(fd, *buf, need, off + SEG_BLK_HDR_LEN)) < 0)
		return r == -ENODATA ? 0 : r;
	if (!crc_ok(h->meta_crc, *buf, h->meta_len))
		return 0;
	if (!deep)
		return 1;
	struct seg_meta m;
	if (seg_meta_parse(*buf, h->meta_len, h->nrows, &m, NULL) < 0)
		return 0;
	const uint8_t *data = *buf + h->meta_len;
	bool ok = true;
	for (unsigned k = 0; k < FC_NCOLS && ok; k++) {
		const struct seg_colent *ce = &m.col[k];
		if ((m.present & FC_BIT(k)) && ce->enc == SEG_ENC_PLANES &&
		    ((uint64_t)ce->off + ce->clen > h->data_len ||
		     !crc_ok(ce->crc, data + ce->off, ce->clen)))
			ok = false;
	}
	seg_meta_free(&m);
	return ok ? 1 : 0;
}

/* Finds the next offset after <from> where a valid block starts, or
 * returns <size>. Reads in chunks and looks for the magic. */
static int resync(int fd, uint64_t size, uint64_t from, uint64_t *found, uint8_t **buf,
		  size_t *cap)
{
	static const uint8_t magic[4] = { 'V', 'T', 'B', 'K' };
	uint8_t chunk[1 << 16];
	uint64_t pos = from;

	while (pos + SEG_BLK_HDR_LEN <= size) {
		size_t n = (size_t)VT_MIN((uint64_t)sizeof(chunk), size - pos);
		int r = pread_full(fd, chunk, n, pos);
		if (r < 0)
			return r;
		for (size_t i = 0; i + 4 <= n; i++) {
			if (memcmp(chunk + i, magic, 4) != 0)
				continue;
			struct seg_blkhdr h;
			r = blk_check(fd, size, pos + i, &h, false, buf, cap);
			if (r < 0)
				return r;
			if (r == 1) {
				*found = pos + i;
				return 0;
			}
		}
		pos += n > 3 ? n - 3 : n;   /* keep a magic split across chunks */
	}
	*found = size;
	return 0;
}

int seg_file_walk(int fd, uint64_t size, uint64_t from, seg_block_cb cb, void *arg,
		  struct seg_walk *w)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t off = from;
	int r = 0;

	memset(w, 0, sizeof(*w));
	w->valid_end = from;
	while (off < size) {
		struct seg_blkhdr h;
		r = blk_check(fd, size, off, &h, false, &buf, &cap);
		if (r < 0)
			goto out;
		uint64_t end = off + SEG_BLK_HDR_LEN + (uint64_t)h.meta_len + h.data_len;
		if (r == 1 && end == size) {
			/* the last block: check its data too */
			r = blk_check(fd, size, off, &h, true, &buf, &cap);
			if (r < 0)
				goto out;
		}
		if (r == 1) {
			if (cb && (r = cb(arg, off, &h)) != 0)
				goto out;
			w->blocks++;
			w->rows += h.nrows;
			off = end;
			w->valid_end = off;
			continue;
		}
		uint64_t next;
		if ((r = resync(fd, size, off + 1, &next, &buf, &cap)) < 0)
			goto out;
		if (next >= size)
			break;   /* nothing valid after: torn tail */
		/* a damaged region in the middle: count it and go on */
		w->corrupt_blocks++;
		w->corrupt_bytes += next - off;
		off = next;
		w->valid_end = off;
	}
	w->torn_bytes = size - w->valid_end;
	r = 0;
out:
	free(buf);
	return r;
}

void seg_meta_free(struct seg_meta *m)
{
	if (!m)
		return;
	cols_free(&m->dict);
	free(m->vmuse);
	free(m->raw);
	memset(m, 0, sizeof(*m));
}

static int bad(struct vt_err *err, const char *what)
{
	return vt_err_set(err, -EBADMSG, "bad block meta: %s", what);
}

static bool get_str(struct vt_rd *r, char *dst, size_t max)
{
	uint8_t n = rd_u8(r);
	if (n >= max)
		return false;
	if (!rd_copy(r, dst, n))
		return false;
	dst[n] = '\0';
	return memchr(dst, '\0', n) == NULL;
}

int seg_meta_parse(const uint8_t *p, size_t len, uint32_t nrows, struct seg_meta *m,
		   struct vt_err *err)
{
	struct vt_rd r;
	int rc;

	memset(m, 0, sizeof(*m));
	cols_init(&m->dict);
	if (nrows == 0 || nrows > SEG_MAX_ROWS)
		return bad(err, "row count");
	m->raw = malloc(len ? len : 1);
	if (!m->raw)
		return -ENOMEM;
	memcpy(m->raw, p, len);
	m->rawlen = len;
	m->nrows = nrows;
	r = rd_init(m->raw, len);
	if (rd_u8(&r) != META_VERSION) {
		rc = bad(err, "version");
		goto fail;
	}
	rd_skip(&r, 1);
	unsigned ncols = rd_u16(&r);
	for (unsigned i = 0; i < ncols && !rd_failed(&r); i++) {
		struct seg_colent ce = { 0 };
		uint8_t id = rd_u8(&r);
		ce.enc = rd_u8(&r);
		ce.width = rd_u8(&r);
		ce.comp = rd_u8(&r);
		ce.base = rd_u64(&r);
		ce.off = rd_u32(&r);
		ce.clen = rd_u32(&r);
		ce.rawlen = rd_u32(&r);
		ce.crc = rd_u32(&r);
		if (id >= FC_NCOLS) {
			/* a newer writer's column: only plane-coded ones can be skipped */
			if (ce.enc != SEG_ENC_PLANES) {
				rc = bad(err, "unknown constant column");
				goto fail;
			}
			continue;
		}
		enum fc_kind kind = fc_desc(id)->kind;
		size_t es = fc_elem_size(kind);
		if (m->present & FC_BIT(id)) {
			rc = bad(err, "duplicate column");
			goto fail;
		}
		if (ce.enc == SEG_ENC_CONST) {
			if (ce.width != 0 || (kind_is_int(kind) && kind != FCK_U64 &&
					      ce.base >> (8 * es))) {
				rc = bad(err, "constant column");
				goto fail;
			}
			if (!kind_is_int(kind))
				rd_copy(&r, ce.cval, es);
		} else if (ce.enc == SEG_ENC_PLANES) {
			bool wok = kind_is_int(kind) ? ce.width >= 1 && ce.width <= es
				 : kind == FCK_MAC ? ce.width == 6 : ce.width == 4 || ce.width == 16;
			if (!wok || ce.comp > SEG_COMP_LZ4 ||
			    ce.rawlen != (uint64_t)nrows * ce.width ||
			    (ce.comp == SEG_COMP_NONE && ce.clen != ce.rawlen)) {
				rc = bad(err, "column encoding");
				goto fail;
			}
		} else {
			rc = bad(err, "column encoding");
			goto fail;
		}
		m->col[id] = ce;
		m->present |= FC_BIT(id);
	}
	/* summary */
	struct fc_summary *s = &m->sum;
	s->nrows = nrows;
	s->have_minmax = rd_u64(&r);
	if (s->have_minmax & ~FC_ALL) {
		rc = bad(err, "summary columns");
		goto fail;
	}
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		if (!(s->have_minmax & FC_BIT(k)))
			continue;
		enum fc_kind kind = fc_desc(k)->kind;
		if (kind == FCK_ADDR) {
			rd_copy(&r, s->amin[k].b, 16);
			rd_copy(&r, s->amax[k].b, 16);
		} else if (kind_is_int(kind) && kind != FCK_VMREF) {
			s->min[k] = rd_u64(&r);
			s->max[k] = rd_u64(&r);
		} else {
			rc = bad(err, "summary column kind");
			goto fail;
		}
	}
	unsigned nb = rd_u8(&r);
	for (unsigned b = 0; b < nb && !rd_failed(&r); b++) {
		uint8_t col = rd_u8(&r), k = rd_u8(&r);
		uint32_t nbits = rd_u32(&r);
		if (col >= FC_NCOLS || k == 0 || k > 16 || nbits < 8 || nbits > (1u << 24) ||
		    (nbits & (nbits - 1)) || s->bloom[col].bits) {
			rc = bad(err, "bloom");
			goto fail;
		}
		const uint8_t *bits = rd_take(&r, nbits / 8);
		if (!bits)
			break;
		s->bloom[col] = (struct fc_bloom){ bits, nbits, k };
	}
	/* VM dictionary */
	uint32_t nvm = rd_u32(&r);
	if (rd_failed(&r) || nvm > 4u * nrows || (uint64_t)nvm * 23 > rd_left(&r)) {
		rc = bad(err, "VM dictionary size");
		goto fail;
	}
	m->vmuse = calloc((size_t)nvm + 1, 1);
	if (!m->vmuse) {
		rc = -ENOMEM;
		goto fail;
	}
	static const struct vm_ident nil;
	if ((rc = cols_vm_add(&m->dict, &nil)) < 0)
		goto fail;
	m->vmuse[0] = rd_u8(&r);
	for (uint32_t v = 0; v < nvm && !rd_failed(&r); v++) {
		struct vm_ident id;
		memset(&id, 0, sizeof(id));
		rd_copy(&r, id.uuid, 16);
		if (!get_str(&r, id.name, sizeof(id.name)) ||
		    !get_str(&r, id.ifname, sizeof(id.ifname))) {
			rc = bad(err, "VM name");
			goto fail;
		}
		id.ifindex = rd_u32(&r);
		m->vmuse[v + 1] = rd_u8(&r);
		if ((rc = cols_vm_add(&m->dict, &id)) < 0)
			goto fail;
	}
	unsigned nz = rd_u16(&r);
	for (unsigned z = 0; z < nz && !rd_failed(&r); z++) {
		char name[VT_NAME_MAX];
		uint16_t idx = rd_u16(&r);
		if (!get_str(&r, name, sizeof(name))) {
			rc = bad(err, "zone name");
			goto fail;
		}
		if ((rc = cols_zone_add(&m->dict, idx, name)) < 0)
			goto fail;
	}
	if (rd_failed(&r)) {
		rc = bad(err, "truncated");
		goto fail;
	}
	s->dict = &m->dict;
	s->vmuse = m->vmuse;
	return 0;
fail:
	seg_meta_free(m);
	return rc;
}

void seg_dctx_free(struct seg_dctx *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->zstd);
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

int seg_cols_dict(const struct seg_meta *m, struct flow_cols *out)
{
	out->nvms = 0;
	out->nzones = 0;
	for (size_t i = 0; i < m->dict.nvms; i++)
		if (cols_vm_add(out, &m->dict.vms[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < m->dict.nzones; i++)
		if (cols_zone_add(out, m->dict.zones[i].idx, m->dict.zones[i].name) < 0)
			return -ENOMEM;
	return 0;
}

#define UNPLANE(T)                                                             \
	do {                                                                   \
		T *o = out->col[col];                                          \
		for (size_t i = 0; i < n; i++) {                               \
			uint64_t v = 0;                                        \
			for (unsigned j = 0; j < w; j++)                       \
				v |= (uint64_t)raw[j * n + i] << (8 * j);      \
			o[i] = (T)(v + ce->base);                              \
		}                                                              \
	} while (0)

/* Specialized unplaning for the common one- and two-byte widths; the
 * generic loop above handles the rest. */
#define UNPLANE_W(T, W)                                                        \
	do {                                                                   \
		T *o = out->col[col];                                          \
		for (size_t i = 0; i < n; i++) {                               \
			uint64_t v = raw[i];                                   \
			if (W > 1) v |= (uint64_t)raw[n + i] << 8;             \
			if (W > 2) v |= (uint64_t)raw[2 * n + i] << 16;        \
			if (W > 3) v |= (uint64_t)raw[3 * n + i] << 24;        \
			o[i] = (T)(v + ce->base);                              \
		}                                                              \
	} while (0)

#define UNPLANE_ANY(T)                                                         \
	do {                                                                   \
		switch (w) {                                                   \
		case 1: UNPLANE_W(T, 1); break;                                \
		case 2: UNPLANE_W(T, 2); break;                                \
		case 3: UNPLANE_W(T, 3); break;                                \
		case 4: UNPLANE_W(T, 4); break;                                \
		default: UNPLANE(T); break;                                    \
		}                                                              \
	} while (0)

int seg_col_decode(const struct seg_meta *m, unsigned col, const uint8_t *p, size_t len,
		   struct flow_cols *out, struct seg_dctx *d)
{
	const struct seg_colent *ce = &m->col[col];
	enum fc_kind kind;
	size_t n = m->nrows, es;
	const uint8_t *raw;
	int r;

	if (col >= FC_NCOLS || out->cap < n || !out->col[col])
		return -EINVAL;
	kind = fc_desc(col)->kind;
	es = fc_elem_size(kind);
	if (!(m->present & FC_BIT(col))) {
		/* written before the column existed: reads as zero */
		memset(out->col[col], 0, n * es);
		out->have |= FC_BIT(col);
		return 0;
	}
	if (ce->enc == SEG_ENC_CONST) {
		if (kind_is_int(kind)) {
			switch (kind) {
			case FCK_U8: memset(out->col[col], (int)ce->base, n); break;
			case FCK_U16: for (size_t i = 0; i < n; i++) FC_U16(out, col)[i] = (uint16_t)ce->base; break;
			case FCK_U64: for (size_t i = 0; i < n; i++) FC_U64(out, col)[i] = ce->base; break;
			default: for (size_t i = 0; i < n; i++) FC_U32(out, col)[i] = (uint32_t)ce->base; break;
			}
		} else {
			for (size_t i = 0; i < n; i++)
				memcpy((uint8_t *)out->col[col] + i * es, ce->cval, es);
		}
		goto check;
	}
	if (len != ce->clen || !crc_ok(ce->crc, p, len))
		return -EBADMSG;
	if (ce->comp == SEG_COMP_NONE) {
		raw = p;
	} else {
		if ((r = grow(&d->buf, &d->cap, ce->rawlen ? ce->rawlen : 1)) < 0)
			return r;
		size_t got;
		if (ce->comp == SEG_COMP_ZSTD) {
			if (!d->zstd && !(d->zstd = ZSTD_createDCtx()))
				return -ENOMEM;
			got = ZSTD_decompressDCtx(d->zstd, d->buf, ce->rawlen, p, len);
			if (ZSTD_isError(got))
				return -EBADMSG;
		} else {
			int g = LZ4_decompress_safe((const char *)p, (char *)d->buf, (int)len,
						    (int)ce->rawlen);
			if (g < 0)
				return -EBADMSG;
			got = (size_t)g;
		}
		if (got != ce->rawlen)
			return -EBADMSG;
		raw = d->buf;
	}
	unsigned w = ce->width;
	switch (kind) {
	case FCK_U8: UNPLANE_ANY(uint8_t); break;
	case FCK_U16: UNPLANE_ANY(uint16_t); break;
	case FCK_U32: case FCK_VMREF: UNPLANE_ANY(uint32_t); break;
	case FCK_U64: UNPLANE_ANY(uint64_t); break;
	case FCK_ADDR:
	case FCK_MAC: {
		uint8_t *o = out->col[col];
		size_t skip = es - w;
		for (size_t i = 0; i < n; i++) {
			uint8_t *x = o + i * es;
			if (skip) {   /* IPv4-mapped */
				memset(x, 0, 10);
				x[10] = x[11] = 0xff;
			}
			for (unsigned j = 0; j < w; j++)
				x[skip + j] = raw[j * n + i];
		}
		break;
	}
	}
check:
	if (kind == FCK_VMREF) {
		const uint32_t *ids = out->col[col];
		for (size_t i = 0; i < n; i++)
			if (ids[i] >= m->dict.nvms)
				return -EBADMSG;
	}
	out->have |= FC_BIT(col);
	return 0;
}
