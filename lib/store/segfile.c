/* segfile.c — see segfile.h: reading and checking segment files (the
 * writing side is segenc.c). Every length, width and index read from a
 * file is checked before use. */
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

bool seg_kind_is_int(enum fc_kind k)
{
	return k == FCK_U8 || k == FCK_U16 || k == FCK_U32 || k == FCK_U64 || k == FCK_VMREF;
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

int seg_pread(int fd, void *buf, size_t n, uint64_t off)
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

int seg_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t r = pwrite(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
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
	if ((r = seg_pread(fd, hb, sizeof(hb), off)) < 0)
		return r == -ENODATA ? 0 : r;
	if (seg_blkhdr_parse(hb, h) < 0)
		return 0;
	uint64_t end = off + SEG_BLK_HDR_LEN + h->meta_len + h->data_len;
	if (end > size)
		return 0;
	size_t need = deep ? (size_t)(h->meta_len + h->data_len) : h->meta_len;
	if ((r = grow(buf, cap, need ? need : 1)) < 0)
		return r;
	if ((r = seg_pread(fd, *buf, need, off + SEG_BLK_HDR_LEN)) < 0)
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
		int r = seg_pread(fd, chunk, n, pos);
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
			if (ce.width != 0 || (seg_kind_is_int(kind) && kind != FCK_U64 &&
					      ce.base >> (8 * es))) {
				rc = bad(err, "constant column");
				goto fail;
			}
			if (!seg_kind_is_int(kind))
				rd_copy(&r, ce.cval, es);
		} else if (ce.enc == SEG_ENC_PLANES) {
			bool wok = seg_kind_is_int(kind) ? ce.width >= 1 && ce.width <= es
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
		} else if (seg_kind_is_int(kind) && kind != FCK_VMREF) {
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
		if (seg_kind_is_int(kind)) {
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

int seg_block_decode(const struct seg_blkhdr *h, const uint8_t *body, struct flow_cols *out,
		     struct seg_dctx *d)
{
	const uint8_t *data = body + h->meta_len;
	struct seg_meta m;
	int r;

	if (seg_crc32c(0, body, h->meta_len) != h->meta_crc ||
	    seg_meta_parse(body, h->meta_len, h->nrows, &m, NULL) < 0)
		return -EBADMSG;
	cols_reset(out);
	r = cols_reserve(out, h->nrows, FC_ALL);
	if (r == 0)
		r = seg_cols_dict(&m, out);
	for (unsigned k = 0; k < FC_NCOLS && r == 0; k++) {
		const struct seg_colent *ce = &m.col[k];
		bool planes = (m.present & FC_BIT(k)) && ce->enc == SEG_ENC_PLANES;
		if (planes && (uint64_t)ce->off + ce->clen > h->data_len) {
			r = -EBADMSG;
			break;
		}
		r = seg_col_decode(&m, k, planes ? data + ce->off : NULL, planes ? ce->clen : 0, out, d);
	}
	seg_meta_free(&m);
	if (r == 0)
		out->n = h->nrows;
	return r;
}
