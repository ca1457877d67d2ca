/* Unit tests: lib/store/segfile — block encoding round trips of every
 * field under every compression, column encodings, metadata, checksums. */
#include "store/segenc.h"
#include "store/store.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/test_rows.h"
#include "vt_test.h"

/* Encodes <rows>, parses the block back, decodes every column and
 * compares row by row. */
static void roundtrip_at(const struct flow_row *rows, size_t n, enum seg_comp comp, int level,
			 const struct fc_zonemap *zm)
{
	struct flow_cols in, out;
	struct seg_enc *e = seg_enc_new(comp, level);
	struct seg_dctx d = { 0 };
	struct seg_blkhdr h;
	struct seg_meta m;
	const uint8_t *blk;
	size_t len;

	cols_init(&in);
	cols_init(&out);
	CHECK(e != NULL);
	CHECK_EQ(cols_from_rows(&in, rows, n, zm), 0);
	CHECK_EQ(seg_enc_block(e, &in, &blk, &len), 0);
	CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
	CHECK_EQ(h.nrows, n);
	CHECK_EQ_U64(SEG_BLK_HDR_LEN + (uint64_t)h.meta_len + h.data_len, len);
	CHECK_EQ(seg_crc32c(0, blk + SEG_BLK_HDR_LEN, h.meta_len), h.meta_crc);
	CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, h.nrows, &m, NULL), 0);
	CHECK_EQ(seg_block_decode(&h, blk + SEG_BLK_HDR_LEN, &out, &d), 0);
	CHECK_EQ(out.n, n);
	uint64_t tmin = UINT64_MAX, tmax = 0;
	for (size_t i = 0; i < n; i++) {
		struct flow_row got;
		cols_get_row(&out, i, &got);
		const char *diff = tr_diff(&rows[i], &got);
		if (diff) {
			fprintf(stderr, "  row %zu differs in %s (comp %d)\n", i, diff, comp);
			CHECK(diff == NULL);
			break;
		}
		tmin = VT_MIN(tmin, VT_MIN(rows[i].rec.first_ms, rows[i].rec.last_ms));
		tmax = VT_MAX(tmax, VT_MAX(rows[i].rec.first_ms, rows[i].rec.last_ms));
	}
	CHECK_EQ_U64(h.tmin, tmin);
	CHECK_EQ_U64(h.tmax, tmax);
	/* zone names travel with the block */
	for (size_t i = 0; zm && i < n; i++) {
		uint16_t z = rows[i].attr.src_zone;
		if (z)
			CHECK_STR(cols_zone_name(&out, z), zm->names[z - 1]);
	}
	seg_meta_free(&m);
	seg_dctx_free(&d);
	seg_enc_free(e);
	cols_free(&in);
	cols_free(&out);
}

static void roundtrip(const struct flow_row *rows, size_t n, enum seg_comp comp,
		      const struct fc_zonemap *zm)
{
	/* zstd at level 3; lz4 at its default acceleration */
	roundtrip_at(rows, n, comp, comp == SEG_COMP_LZ4 ? 1 : 3, zm);
}

static void t_roundtrip_every_field(void)
{
	static const size_t sizes[] = { 1, 2, 7, 300, 5000 };
	static const enum seg_comp comps[] = { SEG_COMP_NONE, SEG_COMP_ZSTD, SEG_COMP_LZ4 };
	struct fc_zonemap zm = { tr_zones, 3 };

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		struct flow_row *rows = calloc(sizes[s], sizeof(*rows));
		for (size_t i = 0; i < sizes[s]; i++)
			tr_row(s + 1, i, 1700000000000ull, 3600000, &rows[i]);
		for (size_t c = 0; c < ARRAY_SIZE(comps); c++)
			roundtrip(rows, sizes[s], comps[c], &zm);
		/* lz4-fast: the acceleration the store uses under load */
		roundtrip_at(rows, sizes[s], SEG_COMP_LZ4, STORE_LZ4_FAST_ACCEL, &zm);
		free(rows);
	}
}

/* Extremes: all-zero rows (every column constant), maximum values,
 * IPv4-only vs mixed addresses, names of the maximum length. */
static void t_roundtrip_extremes(void)
{
	struct flow_row rows[4];

	memset(rows, 0, sizeof(rows));
	roundtrip(rows, 4, SEG_COMP_ZSTD, NULL);
	for (int i = 0; i < 4; i++) {
		struct flow_rec *r = &rows[i].rec;
		r->first_ms = UINT64_MAX - (uint64_t)i;
		r->last_ms = i ? UINT64_MAX : 0;
		r->bytes = UINT64_MAX - (uint64_t)i * 7;
		r->packets = (uint64_t)i << 63;
		r->sport = 65535;
		r->dport = (uint16_t)i;
		r->in_if = UINT32_MAX;
		r->sampling = (uint32_t)i;
		memset(r->src.b, 0xff, 16);
		memset(rows[i].attr.src_vm.name, 'x', VT_NAME_MAX - 1);
		memset(rows[i].attr.src_vm.ifname, 'i', VT_IFNAME_MAX - 1);
		rows[i].attr.src_vm.uuid[0] = (uint8_t)i;
		rows[i].attr.src_zone = 65535;
	}
	roundtrip(rows, 4, SEG_COMP_LZ4, NULL);
	roundtrip(rows, 4, SEG_COMP_NONE, NULL);
}

/* The encoder picks the narrowest encoding: constant columns cost no
 * data, IPv4-only address columns store 4 bytes, small ranges 1 byte. */
static void t_encodings(void)
{
	struct flow_row rows[100];
	struct flow_cols c;
	struct seg_enc *e = seg_enc_new(SEG_COMP_NONE, 1);
	struct seg_blkhdr h;
	struct seg_meta m;
	const uint8_t *blk;
	size_t len;

	memset(rows, 0, sizeof(rows));
	for (int i = 0; i < 100; i++) {
		uint8_t a[4] = { 10, 0, 0, (uint8_t)i };
		addr_set_v4(&rows[i].rec.src, a);
		rows[i].rec.first_ms = 1700000000000ull + (uint64_t)i * 1000;  /* range 99000: 3 bytes */
		rows[i].rec.last_ms = rows[i].rec.first_ms;
		rows[i].rec.dport = (uint16_t)(1000 + i);                      /* range 99: 1 byte */
		rows[i].rec.proto = 6;                                         /* constant */
		uint8_t x[4] = { 198, 18, 0, 1 };
		addr_set_v4(&rows[i].rec.exporter, x);                         /* constant */
	}
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	addr_set_v6(&rows[7].rec.dst, v6);                                     /* mixed: 16 bytes */
	cols_init(&c);
	CHECK_EQ(cols_from_rows(&c, rows, 100, NULL), 0);
	CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
	CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
	CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, 100, &m, NULL), 0);
	struct { unsigned col; int enc, width; uint64_t base; } want[] = {
		{ FC_SRC, SEG_ENC_PLANES, 4, 0 },
		{ FC_DST, SEG_ENC_PLANES, 16, 0 },
		{ FC_FIRST, SEG_ENC_PLANES, 3, 1700000000000ull },
		{ FC_DPORT, SEG_ENC_PLANES, 1, 1000 },
		{ FC_PROTO, SEG_ENC_CONST, 0, 6 },
		{ FC_EXPORTER, SEG_ENC_CONST, 0, 0 },
		{ FC_BYTES, SEG_ENC_CONST, 0, 0 },
		{ FC_SRC_VM, SEG_ENC_CONST, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct seg_colent *ce = &m.col[want[i].col];
		CHECK_EQ(ce->enc, want[i].enc);
		CHECK_EQ(ce->width, want[i].width);
		if (fc_desc(want[i].col)->kind != FCK_ADDR)
			CHECK_EQ_U64(ce->base, want[i].base);
		if (want[i].enc == SEG_ENC_PLANES)
			CHECK_EQ(ce->rawlen, 100 * want[i].width);
	}
	/* the summary: min/max of a port, the address range, an exact bloom */
	CHECK(m.sum.have_minmax & FC_BIT(FC_DPORT));
	CHECK_EQ_U64(m.sum.min[FC_DPORT], 1000);
	CHECK_EQ_U64(m.sum.max[FC_DPORT], 1099);
	CHECK_MEM(m.sum.amin[FC_SRC].b, rows[0].rec.src.b, 16);
	CHECK_MEM(m.sum.amax[FC_SRC].b, rows[99].rec.src.b, 16);
	CHECK(m.sum.bloom[FC_SRC].bits != NULL);
	for (int i = 0; i < 100; i++)
		CHECK(fc_bloom_test(&m.sum.bloom[FC_SRC], fc_bloom_hash(rows[i].rec.src.b, 16)));
	int fp = 0;
	for (int i = 0; i < 1000; i++) {
		uint8_t a[4] = { 172, 16, (uint8_t)(i >> 8), (uint8_t)i };
		struct vt_addr x;
		addr_set_v4(&x, a);
		fp += fc_bloom_test(&m.sum.bloom[FC_SRC], fc_bloom_hash(x.b, 16));
	}
	CHECK(fp < 50);   /* ~1% expected at 10 bits per value */
	CHECK(m.sum.bloom[FC_PROTO].bits == NULL);
	seg_meta_free(&m);
	seg_enc_free(e);
	cols_free(&c);
}

/* The address columns' summary and planes: IPv4 addresses whose order as
 * memcmp differs from their order as native words (the one-pass range of
 * IPv4 columns compares big-endian words), an all-zero column (an absent
 * next hop), and a zero address among IPv4 ones (not IPv4-mapped: the
 * general path, where it is the minimum). */
static void t_address_ranges(void)
{
	enum { N = 300 };
	struct flow_row *rows = calloc(N, sizeof(*rows));
	struct flow_cols c;
	struct seg_enc *e = seg_enc_new(SEG_COMP_NONE, 1);
	struct seg_blkhdr h;
	struct seg_meta m;
	const uint8_t *blk;
	size_t len, smin = 0, smax = 0, dmin = 0, dmax = 0;

	CHECK(rows != NULL);
	for (int i = 0; i < N; i++) {
		uint8_t a[4] = { (uint8_t)(i * 37), (uint8_t)(255 - i), (uint8_t)(i * 11), (uint8_t)i };
		addr_set_v4(&rows[i].rec.src, a);
		uint8_t b[4] = { 198, 18, (uint8_t)(i * 7), (uint8_t)(i * 101) };
		addr_set_v4(&rows[i].rec.dst, b);
		rows[i].rec.first_ms = rows[i].rec.last_ms = 1700000000000ull;
	}
	memset(&rows[123].rec.dst, 0, sizeof(rows[123].rec.dst));
	for (int i = 1; i < N; i++) {
		if (memcmp(rows[i].rec.src.b, rows[smin].rec.src.b, 16) < 0)
			smin = (size_t)i;
		if (memcmp(rows[i].rec.src.b, rows[smax].rec.src.b, 16) > 0)
			smax = (size_t)i;
		if (memcmp(rows[i].rec.dst.b, rows[dmin].rec.dst.b, 16) < 0)
			dmin = (size_t)i;
		if (memcmp(rows[i].rec.dst.b, rows[dmax].rec.dst.b, 16) > 0)
			dmax = (size_t)i;
	}
	CHECK_EQ(dmin, 123);
	cols_init(&c);
	CHECK_EQ(cols_from_rows(&c, rows, N, NULL), 0);
	CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
	CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
	CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, N, &m, NULL), 0);
	CHECK_EQ(m.col[FC_SRC].enc, SEG_ENC_PLANES);
	CHECK_EQ(m.col[FC_SRC].width, 4);
	CHECK_MEM(m.sum.amin[FC_SRC].b, rows[smin].rec.src.b, 16);
	CHECK_MEM(m.sum.amax[FC_SRC].b, rows[smax].rec.src.b, 16);
	CHECK_EQ(m.col[FC_DST].width, 16);
	CHECK_MEM(m.sum.amin[FC_DST].b, rows[dmin].rec.dst.b, 16);
	CHECK_MEM(m.sum.amax[FC_DST].b, rows[dmax].rec.dst.b, 16);
	static const uint8_t zero[16];
	CHECK_EQ(m.col[FC_NEXTHOP].enc, SEG_ENC_CONST);
	CHECK_MEM(m.sum.amin[FC_NEXTHOP].b, zero, 16);
	CHECK_MEM(m.sum.amax[FC_NEXTHOP].b, zero, 16);
	seg_meta_free(&m);
	seg_enc_free(e);
	cols_free(&c);
	/* and the planes decode to the same addresses */
	roundtrip(rows, N, SEG_COMP_NONE, NULL);
	roundtrip(rows, N, SEG_COMP_ZSTD, NULL);
	free(rows);
}

/* VM dictionary: one entry per distinct identity; vmuse says which VM
 * columns use each entry. */
static void t_vm_dictionary(void)
{
	struct flow_row rows[3];
	struct flow_cols c;
	struct seg_enc *e = seg_enc_new(SEG_COMP_ZSTD, 1);
	struct seg_blkhdr h;
	struct seg_meta m;
	const uint8_t *blk;
	size_t len;
	uint64_t s = 0;

	memset(rows, 0, sizeof(rows));
	tr_vm(&s, &rows[0].attr.src_vm, 0);
	tr_vm(&s, &rows[0].rec.vm, 0);
	tr_vm(&s, &rows[1].attr.dst_vm, 0);
	tr_vm(&s, &rows[2].attr.dst_vm, 3);
	cols_init(&c);
	CHECK_EQ(cols_from_rows(&c, rows, 3, NULL), 0);
	CHECK_EQ(c.nvms, 3);   /* nil, web-1, db-2 */
	CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
	CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
	CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, 3, &m, NULL), 0);
	CHECK_EQ(m.dict.nvms, 3);
	CHECK_STR(m.dict.vms[1].name, "web-1");
	CHECK_EQ(m.vmuse[1], FC_VMUSE_SRC | FC_VMUSE_VM | FC_VMUSE_DST);
	CHECK_STR(m.dict.vms[2].name, "db-2");
	CHECK_EQ(m.vmuse[2], FC_VMUSE_DST);
	CHECK_EQ(m.vmuse[0], FC_VMUSE_SRC | FC_VMUSE_DST | FC_VMUSE_VM | FC_VMUSE_PEER);
	seg_meta_free(&m);
	seg_enc_free(e);
	cols_free(&c);
}

/* Columns added after the format's first release (FC_LATE, the dup
 * column on) are always plane-coded and have no min/max summary, so a
 * reader from before them skips them: a block whose dup column is renamed
 * to an id this reader does not know still parses, and decodes the rest. */
static void t_late_columns(void)
{
	struct flow_row rows[100];
	struct seg_enc *e = seg_enc_new(SEG_COMP_ZSTD, 1);

	for (int dup = 0; dup <= 2; dup++) {
		struct flow_cols c, out;
		struct seg_dctx d = { 0 };
		struct seg_blkhdr h;
		struct seg_meta m;
		const uint8_t *blk;
		size_t len;

		/* all counted, all duplicates, a mix */
		for (int i = 0; i < 100; i++) {
			tr_row(11, (uint64_t)i, 1700000000000ull, 60000, &rows[i]);
			rows[i].attr.dup = (uint8_t)(dup == 2 ? i % 3 == 0 : dup);
		}
		cols_init(&c);
		cols_init(&out);
		CHECK_EQ(cols_from_rows(&c, rows, 100, NULL), 0);
		CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
		CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
		CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, 100, &m, NULL), 0);
		CHECK(m.present & FC_BIT(FC_DUP));
		CHECK_EQ(m.col[FC_DUP].enc, SEG_ENC_PLANES);
		CHECK(!(m.sum.have_minmax & FC_LATE));
		seg_meta_free(&m);
		CHECK_EQ(seg_block_decode(&h, blk + SEG_BLK_HDR_LEN, &out, &d), 0);
		size_t bad = 0;
		for (int i = 0; i < 100; i++)
			bad += FC_U8(&out, FC_DUP)[i] != rows[i].attr.dup;
		CHECK_EQ(bad, 0);

		/* the same meta as a reader from before FC_DUP sees it */
		uint8_t *meta = malloc(h.meta_len);
		memcpy(meta, blk + SEG_BLK_HDR_LEN, h.meta_len);
		size_t at = 4, ncols = (size_t)meta[2] << 8 | meta[3];
		bool renamed = false;
		for (size_t i = 0; i < ncols && at + 28 <= h.meta_len; i++) {
			uint8_t id = meta[at], enc = meta[at + 1];
			if (id == FC_DUP) {
				meta[at] = 63;
				renamed = true;
			}
			at += 28;
			if (id < FC_NCOLS && enc == SEG_ENC_CONST &&
			    !seg_kind_is_int(fc_desc(id)->kind))
				at += fc_elem_size(fc_desc(id)->kind);
		}
		CHECK(renamed);
		CHECK_EQ(seg_meta_parse(meta, h.meta_len, 100, &m, NULL), 0);
		CHECK(!(m.present & FC_BIT(FC_DUP)));
		CHECK(m.present & FC_BIT(FC_BYTES));
		seg_meta_free(&m);
		free(meta);
		seg_dctx_free(&d);
		cols_free(&c);
		cols_free(&out);
	}
	seg_enc_free(e);
}

/* Damaged blocks are refused with -EBADMSG, never decoded into garbage. */
static void t_damage_detected(void)
{
	struct flow_row rows[200];
	struct flow_cols c, out;
	struct seg_enc *e = seg_enc_new(SEG_COMP_ZSTD, 1);
	struct seg_dctx d = { 0 };
	struct seg_blkhdr h;
	struct seg_meta m;
	const uint8_t *blk;
	size_t len;

	for (int i = 0; i < 200; i++)
		tr_row(9, (uint64_t)i, 1700000000000ull, 60000, &rows[i]);
	cols_init(&c);
	cols_init(&out);
	CHECK_EQ(cols_from_rows(&c, rows, 200, NULL), 0);
	CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
	uint8_t *copy = malloc(len);
	memcpy(copy, blk, len);
	/* every header byte flipped: the header checksum catches it */
	for (size_t i = 0; i < SEG_BLK_HDR_LEN; i++) {
		copy[i] ^= 0x10;
		CHECK_EQ(seg_blkhdr_parse(copy, &h), -EBADMSG);
		copy[i] ^= 0x10;
	}
	CHECK_EQ(seg_blkhdr_parse(copy, &h), 0);
	CHECK_EQ(seg_meta_parse(copy + SEG_BLK_HDR_LEN, h.meta_len, 200, &m, NULL), 0);
	/* a flipped byte in a column: its checksum catches it */
	const struct seg_colent *ce = &m.col[FC_SRC];
	CHECK_EQ(ce->enc, SEG_ENC_PLANES);
	uint8_t *data = copy + SEG_BLK_HDR_LEN + h.meta_len;
	CHECK_EQ(cols_reserve(&out, 200, FC_ALL), 0);
	data[ce->off + ce->clen / 2] ^= 1;
	CHECK_EQ(seg_col_decode(&m, FC_SRC, data + ce->off, ce->clen, &out, &d), -EBADMSG);
	data[ce->off + ce->clen / 2] ^= 1;
	CHECK_EQ(seg_col_decode(&m, FC_SRC, data + ce->off, ce->clen, &out, &d), 0);
	/* a truncated meta is refused */
	struct seg_meta m2;
	CHECK_EQ(seg_meta_parse(copy + SEG_BLK_HDR_LEN, h.meta_len / 2, 200, &m2, NULL), -EBADMSG);
	/* a meta claiming another row count does not fit its columns */
	CHECK_EQ(seg_meta_parse(copy + SEG_BLK_HDR_LEN, h.meta_len, 201, &m2, NULL), -EBADMSG);
	seg_meta_free(&m);
	seg_dctx_free(&d);
	seg_enc_free(e);
	cols_free(&c);
	cols_free(&out);
	free(copy);
}

/* The dup column (FC_DUP, added after the format's first version): a
 * block written before it existed (built here from a batch whose <have>
 * lacks the column, which is the block such a writer produced) parses,
 * decodes with dup = 0 (counted) and every other field intact, and its
 * summary answers "some" for dup; a block written with it keeps the
 * values, costs no data when constant, and lets the summary skip. */
static void t_dup_column_old_blocks(void)
{
	static const enum seg_comp comps[] = { SEG_COMP_NONE, SEG_COMP_ZSTD, SEG_COMP_LZ4 };
	struct flow_row rows[300], want[300];
	struct vt_err err = { 0 };
	struct filter *fdup = filter_compile("dup", &err), *fnot = filter_compile("not dup", &err);

	for (int i = 0; i < 300; i++) {
		tr_row(41, (uint64_t)i, 1700000000000ull, 60000, &rows[i]);
		rows[i].attr.dup = 1;   /* the old writer never stores it: reads 0 */
		want[i] = rows[i];
		want[i].attr.dup = 0;
	}
	for (size_t ci = 0; ci < ARRAY_SIZE(comps); ci++) {
		struct seg_enc *e = seg_enc_new(comps[ci], comps[ci] == SEG_COMP_LZ4 ? 1 : 3);
		struct seg_dctx d = { 0 };
		struct flow_cols in, out;
		struct seg_blkhdr h;
		struct seg_meta m;
		const uint8_t *blk;
		size_t len;

		cols_init(&in);
		cols_init(&out);
		CHECK_EQ(cols_from_rows(&in, rows, 300, NULL), 0);
		in.have &= ~FC_BIT(FC_DUP);
		CHECK_EQ(seg_enc_block(e, &in, &blk, &len), 0);
		CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
		CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, h.nrows, &m, NULL), 0);
		/* 36 columns, as the format had them */
		CHECK_EQ(blk[SEG_BLK_HDR_LEN + 2] << 8 | blk[SEG_BLK_HDR_LEN + 3], FC_DUP);
		CHECK_EQ_U64(m.present, FC_ALL & ~FC_BIT(FC_DUP));
		CHECK(!(m.sum.have_minmax & FC_BIT(FC_DUP)));
		CHECK_EQ(filter_summary(fdup, &m.sum), FM_SOME);
		/* decoding must clear the column a dirty batch holds */
		CHECK_EQ(cols_reserve(&out, 300, FC_ALL), 0);
		memset(out.col[FC_DUP], 0xee, 300);
		CHECK_EQ(seg_block_decode(&h, blk + SEG_BLK_HDR_LEN, &out, &d), 0);
		CHECK_EQ(out.n, 300);
		CHECK_EQ_U64(out.have, FC_ALL);
		size_t bad = 0;
		for (int i = 0; i < 300; i++) {
			struct flow_row got;
			cols_get_row(&out, (size_t)i, &got);
			const char *diff = tr_diff(&want[i], &got);
			if (diff && bad++ < 3)
				fprintf(stderr, "  row %d differs in %s (comp %d)\n", i, diff, comps[ci]);
		}
		CHECK_EQ(bad, 0);
		uint8_t sel[300];
		struct filter_ctx x = { 0 };
		size_t hits = 0;
		CHECK_EQ(filter_eval(fdup, &out, sel, &x), 0);
		for (int i = 0; i < 300; i++)
			hits += sel[i];
		CHECK_EQ(hits, 0);
		CHECK_EQ(filter_eval(fnot, &out, sel, &x), 0);
		for (int i = 0; i < 300; i++)
			hits += sel[i];
		CHECK_EQ(hits, 300);
		filter_ctx_free(&x);
		seg_meta_free(&m);

		/* the same rows written with the column: a late column
		 * (FC_LATE), so one plane of zeros above base 1 rather than a
		 * constant, and no summary (t_late_columns) */
		CHECK_EQ(cols_from_rows(&in, rows, 300, NULL), 0);
		CHECK_EQ(seg_enc_block(e, &in, &blk, &len), 0);
		CHECK_EQ(seg_blkhdr_parse(blk, &h), 0);
		CHECK_EQ(seg_meta_parse(blk + SEG_BLK_HDR_LEN, h.meta_len, h.nrows, &m, NULL), 0);
		CHECK_EQ_U64(m.present, FC_ALL);
		CHECK_EQ(m.col[FC_DUP].enc, SEG_ENC_PLANES);
		CHECK_EQ_U64(m.col[FC_DUP].base, 1);
		CHECK_EQ(filter_summary(fdup, &m.sum), FM_SOME);
		CHECK_EQ(filter_summary(fnot, &m.sum), FM_SOME);
		seg_meta_free(&m);
		/* a block that needs the time or VM columns cannot lack them */
		in.have &= ~FC_BIT(FC_SRC_VM);
		CHECK_EQ(seg_enc_block(e, &in, &blk, &len), -EINVAL);

		seg_dctx_free(&d);
		seg_enc_free(e);
		cols_free(&in);
		cols_free(&out);
	}
	filter_free(fdup);
	filter_free(fnot);
}

/* A copy of block <c>'s encoding (seg_enc_block reuses its buffer). */
static uint8_t *enc_copy(struct seg_enc *e, const struct flow_cols *c, size_t *len)
{
	const uint8_t *blk;
	uint8_t *p;

	CHECK_EQ(seg_enc_block(e, c, &blk, len), 0);
	p = malloc(*len);
	CHECK(p != NULL);
	memcpy(p, blk, *len);
	return p;
}

/* Rows appended in pieces to a batch that keeps summaries (cols_sum)
 * encode to the very bytes of the same rows without them, whatever the
 * addresses (IPv4 only, zero, mixed with IPv6, all equal); past the
 * summary's limit only a slice from row 0 of that length has one. */
static void t_summaries(void)
{
	static const size_t sizes[] = { 1, 31, 32, 33, 700, 512, 2048, 5000 };
	static const size_t pieces[] = { 1, 31, 600, 7, 3000 };
	struct fc_zonemap zm = { tr_zones, 3 };
	struct seg_enc *e = seg_enc_new(SEG_COMP_NONE, 1);
	struct flow_cols plain, sum, view;

	cols_init(&plain);
	cols_init(&sum);
	CHECK_EQ(cols_summarize(&sum, 5000), 0);
	for (int kind = 0; kind < 7; kind++) {
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			size_t n = sizes[s], at = 0, len_a, len_b;
			struct flow_row *rows = calloc(n, sizeof(*rows));
			for (size_t i = 0; i < n; i++) {
				tr_row(7 + s, i, 1700000000000ull, 3600000, &rows[i]);
				uint8_t a[4] = { 10, (uint8_t)kind, (uint8_t)(i >> 8), (uint8_t)i };
				if (kind == 0) {   /* IPv4 only, the next hop absent */
					addr_set_v4(&rows[i].rec.src, a);
					addr_set_v4(&rows[i].rec.dst, a);
					addr_set_v4(&rows[i].rec.exporter, a);
					memset(&rows[i].rec.nexthop, 0, sizeof(rows[i].rec.nexthop));
				} else if (kind == 1) {   /* equal everywhere */
					addr_set_v4(&rows[i].rec.src, (const uint8_t[4]){ 198, 18, 0, 1 });
					rows[i].rec.dst = rows[i].rec.src;
				} else if (kind == 2 && i == n - 1) {   /* one zero among IPv4 */
					memset(&rows[i].rec.src, 0, sizeof(rows[i].rec.src));
				} else if (kind >= 4) {
					/* constant columns (flow_cols.konst): every
					 * row alike (4), or alike up to a row inside
					 * a chunk (5) or at one's start (6) */
					size_t cut = kind == 4 ? n : kind == 5 ? n / 2 + 3 : n / 64 * 32;
					tr_row(7 + s, 0, 1700000000000ull, 3600000, &rows[i]);
					memset(&rows[i].rec.src_mac, 0, 6);
					memset(&rows[i].rec.nexthop, 0, sizeof(rows[i].rec.nexthop));
					if (i >= cut) {
						rows[i].rec.src_mac[5] = 1;
						rows[i].rec.nexthop.b[15] = 1;
						rows[i].rec.last_ms += i;
						rows[i].rec.sport = (uint16_t)i;
						rows[i].rec.exporter.b[15] ^= 1;   /* IPv4 still */
						tr_vm(NULL, &rows[i].attr.src_vm, (int)(i % 3));
						tr_vm(NULL, &rows[i].rec.vm, -1);
					}
				}
			}
			/* the same pieces for both: the VM dictionary's order
			 * follows the chunks of 32 rows of each append */
			cols_reset(&plain);
			cols_reset(&sum);
			for (size_t p = 0; at < n; p++) {
				size_t k = VT_MIN(pieces[p % ARRAY_SIZE(pieces)], n - at);
				CHECK_EQ(cols_append_rows(&plain, rows + at, k, &zm), 0);
				CHECK_EQ(cols_append_rows(&sum, rows + at, k, &zm), 0);
				at += k;
			}
			CHECK(cols_summary(&plain) == NULL);
			cols_summary_complete(&plain);   /* none kept: nothing */
			CHECK(cols_summary(&plain) == NULL);
			/* whole spans, and the last part up to the limit */
			CHECK((cols_summary(&sum) != NULL) == (n % 512 == 0 || n == 5000));
			cols_summary_complete(&sum);
			CHECK(cols_summary(&sum) != NULL);
			uint8_t *a = enc_copy(e, &plain, &len_a), *b = enc_copy(e, &sum, &len_b);
			CHECK_EQ(len_a, len_b);
			CHECK(len_a == len_b && memcmp(a, b, len_a) == 0);
			free(a);
			free(b);
			if (kind == 4)   /* every column constant */
				CHECK_EQ_U64(sum.konst, FC_ALL);
			/* rows read back, and every other row gathered */
			struct flow_cols ga, gb;
			uint32_t *idx = calloc(n, sizeof(*idx));
			size_t m = 0, bad = 0;
			for (size_t i = 0; i < n; i++) {
				struct flow_row ra, rb;
				cols_get_row(&plain, i, &ra);
				cols_get_row(&sum, i, &rb);
				bad += memcmp(&ra, &rb, sizeof(ra)) != 0;
				if (i % 2 == 0)
					idx[m++] = (uint32_t)i;
			}
			CHECK_EQ(bad, 0);
			cols_init(&ga);
			cols_init(&gb);
			CHECK_EQ(cols_gather(&ga, &plain, idx, m), 0);
			CHECK_EQ(cols_gather(&gb, &sum, idx, m), 0);
			a = enc_copy(e, &ga, &len_a);
			b = enc_copy(e, &gb, &len_b);
			CHECK(len_a == len_b && memcmp(a, b, len_a) == 0);
			free(a);
			free(b);
			/* and appended to a plain batch */
			CHECK_EQ(cols_append_cols(&ga, &sum), 0);
			CHECK_EQ(cols_append_cols(&gb, &plain), 0);
			cols_materialize(&gb, FC_ALL);
			CHECK_EQ_U64(gb.konst, 0);
			for (size_t i = 0; i < ga.n; i++) {
				struct flow_row ra, rb;
				cols_get_row(&ga, i, &ra);
				cols_get_row(&gb, i, &rb);
				bad += memcmp(&ra, &rb, sizeof(ra)) != 0;
			}
			CHECK_EQ(bad, 0);
			cols_free(&ga);
			cols_free(&gb);
			free(idx);
			free(rows);
		}
	}
	/* a constant VM column gathered: its id is the gathered batch's (the
	 * rows left out used another VM, interned first) */
	{
		struct flow_row r2[64];
		struct flow_cols ga, gb;
		uint32_t odd[32];
		size_t la, lb;
		for (size_t i = 0; i < 64; i++) {
			tr_row(5, i, 1700000000000ull, 3600000, &r2[i]);
			tr_vm(NULL, &r2[i].rec.vm, i % 2 ? -1 : 0);
			tr_vm(NULL, &r2[i].rec.peer, 2);
			r2[i].attr.nil_vms = 0;
			if (i < 32)
				odd[i] = (uint32_t)(2 * i + 1);
		}
		cols_reset(&plain);
		cols_reset(&sum);
		CHECK_EQ(cols_append_rows(&plain, r2, 64, NULL), 0);
		CHECK_EQ(cols_append_rows(&sum, r2, 64, NULL), 0);
		CHECK(sum.konst & FC_BIT(FC_PEER));
		cols_init(&ga);
		cols_init(&gb);
		CHECK_EQ(cols_gather(&ga, &plain, odd, 32), 0);
		CHECK_EQ(cols_gather(&gb, &sum, odd, 32), 0);
		uint8_t *x = enc_copy(e, &ga, &la), *y = enc_copy(e, &gb, &lb);
		CHECK(la == lb && memcmp(x, y, la) == 0);
		/* and the gathered rows are the rows picked (VMs by identity) */
		size_t wrong = 0;
		for (size_t i = 0; i < 32; i++) {
			struct flow_row want, got;
			cols_get_row(&sum, odd[i], &want);
			cols_get_row(&gb, i, &got);
			wrong += memcmp(&want, &got, sizeof(want)) != 0;
		}
		CHECK_EQ(wrong, 0);
		free(x);
		free(y);
		cols_free(&ga);
		cols_free(&gb);
	}
	/* over the limit: no summary of the whole, one for the first 5000 */
	struct flow_row *rows = calloc(6000, sizeof(*rows));
	size_t len_a, len_b;
	for (size_t i = 0; i < 6000; i++)
		tr_row(99, i, 1700000000000ull, 3600000, &rows[i]);
	cols_reset(&sum);
	CHECK_EQ(cols_append_rows(&sum, rows, 4990, NULL), 0);
	CHECK_EQ(cols_append_rows(&sum, rows + 4990, 1010, NULL), 0);
	cols_summary_complete(&sum);
	CHECK(cols_summary(&sum) == NULL);
	cols_slice(&view, &sum, 0, 5000);
	CHECK(cols_summary(&view) != NULL);
	uint8_t *b = enc_copy(e, &view, &len_b);
	CHECK_EQ(cols_from_rows(&plain, rows, 5000, NULL), 0);
	uint8_t *a = enc_copy(e, &plain, &len_a);
	CHECK(len_a == len_b && memcmp(a, b, len_a) == 0);
	free(a);
	free(b);
	cols_slice(&view, &sum, 5000, 1000);
	CHECK(cols_summary(&view) == NULL);
	cols_slice(&view, &sum, 0, 4000);
	CHECK(cols_summary(&view) == NULL);
	/* rows that came another way are not covered */
	CHECK_EQ(cols_append_cols(&sum, &plain), 0);
	CHECK(cols_summary(&sum) == NULL);
	free(rows);
	cols_free(&plain);
	cols_free(&sum);
	seg_enc_free(e);
}

static void t_crc32c(void)
{
	static const struct { const char *in; uint32_t crc; } v[] = {
		{ "", 0x00000000u },
		{ "a", 0xc1d04330u },
		{ "123456789", 0xe3069283u },
		{ "The quick brown fox jumps over the lazy dog", 0x22620404u },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		CHECK_EQ(seg_crc32c(0, v[i].in, strlen(v[i].in)), v[i].crc);
	/* incremental == one shot */
	const char *s = "The quick brown fox jumps over the lazy dog";
	CHECK_EQ(seg_crc32c(seg_crc32c(0, s, 10), s + 10, strlen(s) - 10), 0x22620404u);
}

/* The writer's nil hints (flow_attr.nil_vms, set by attribution) change
 * no stored byte: rows appended with truthful hints and the same rows
 * with none (0 = not known) give the same columns, batch by batch, with
 * and without summaries. The rows cover a chunk whose VM column is one
 * identity followed by a chunk where no row has one (a constant column
 * that must be written out), chunks half nil, a chunk with both ends
 * known but no observing VM, and random identities. */
static void t_nil_hints(void)
{
	enum { N = 300 };
	static const size_t pieces[] = { 32, 32, 1, 31, 7, 64, 133 };
	struct fc_zonemap zm = { tr_zones, 3 };
	struct seg_enc *e = seg_enc_new(SEG_COMP_NONE, 1);
	struct flow_row *hinted = calloc(N, sizeof(*hinted)), *bare = calloc(N, sizeof(*bare));
	struct flow_cols b[4];   /* bare, hinted; then the same with summaries */
	size_t hinted_rows = 0;

	CHECK(e && hinted && bare);
	for (size_t i = 0; i < N; i++) {
		struct flow_row *r = &bare[i];
		tr_row(31, i, 1700000000000ull, 3600000, r);
		if (i < 128) {
			/* 0-31 one observing VM; 32-63 and 96-127 none; 64-95
			 * every other row */
			bool vm = i < 32 || (i >= 64 && i < 96 && i % 2);
			tr_vm(NULL, &r->rec.vm, vm ? 0 : -1);
			tr_vm(NULL, &r->rec.peer, -1);
			tr_vm(NULL, &r->attr.src_vm, vm ? 0 : -1);
			tr_vm(NULL, &r->attr.dst_vm, -1);
		} else if (i < 160) {
			/* no observing VM, both ends known from the inventory */
			tr_vm(NULL, &r->rec.vm, -1);
			tr_vm(NULL, &r->rec.peer, -1);
			tr_vm(NULL, &r->attr.src_vm, 1);
			tr_vm(NULL, &r->attr.dst_vm, 2);
		}
		r->attr.nil_vms = 0;
		hinted[i] = *r;
		hinted[i].attr.nil_vms =
			(uint8_t)((vm_ident_nil(&r->rec.vm) ? FLOWATTR_NIL_VM : 0) |
				  (vm_ident_nil(&r->rec.peer) ? FLOWATTR_NIL_PEER : 0) |
				  (vm_ident_nil(&r->attr.src_vm) ? FLOWATTR_NIL_SRC : 0) |
				  (vm_ident_nil(&r->attr.dst_vm) ? FLOWATTR_NIL_DST : 0));
		hinted_rows += hinted[i].attr.nil_vms == 0xf;
	}
	CHECK(hinted_rows >= 64);   /* whole chunks with no identity at all */
	for (int k = 0; k < 4; k++) {
		cols_init(&b[k]);
		if (k >= 2)
			CHECK_EQ(cols_summarize(&b[k], N), 0);
		const struct flow_row *rows = k % 2 ? hinted : bare;
		size_t at = 0;
		for (size_t p = 0; at < N; p++) {
			size_t m = VT_MIN(pieces[p % ARRAY_SIZE(pieces)], (size_t)N - at);
			CHECK_EQ(cols_append_rows(&b[k], rows + at, m, &zm), 0);
			at += m;
		}
	}
	size_t len0, len;
	uint8_t *want = enc_copy(e, &b[0], &len0);
	for (int k = 1; k < 4; k++) {
		uint8_t *got = enc_copy(e, &b[k], &len);
		CHECK(len == len0 && memcmp(want, got, len) == 0);
		free(got);
		cols_materialize(&b[k], FC_ALL);
		CHECK_EQ(b[k].nzones, b[0].nzones);
		size_t bad = 0;
		for (size_t i = 0; i < N; i++) {
			struct flow_row x, y;
			cols_get_row(&b[0], i, &x);
			cols_get_row(&b[k], i, &y);
			bad += memcmp(&x, &y, sizeof(x)) != 0;
			/* and the identities are the rows' own */
			bad += memcmp(&y.rec.vm, &bare[i].rec.vm, sizeof(y.rec.vm)) != 0;
			bad += memcmp(&y.attr.src_vm, &bare[i].attr.src_vm, sizeof(y.attr.src_vm)) != 0;
		}
		CHECK_EQ(bad, 0);
	}
	free(want);
	for (int k = 0; k < 4; k++)
		cols_free(&b[k]);
	free(hinted);
	free(bare);
	seg_enc_free(e);
}

static void t_file_header(void)
{
	uint8_t h[SEG_FILE_HDR_LEN];
	uint64_t start, len;

	seg_file_header(h, 1700000000000ull, 3600000);
	CHECK_EQ(seg_file_header_parse(h, sizeof(h), &start, &len), 0);
	CHECK_EQ_U64(start, 1700000000000ull);
	CHECK_EQ_U64(len, 3600000);
	CHECK_MEM(h, "VTAPSEG1", 8);
	h[20] ^= 1;
	CHECK_EQ(seg_file_header_parse(h, sizeof(h), &start, &len), -EBADMSG);
	CHECK_EQ(seg_file_header_parse(h, 10, &start, &len), -EBADMSG);
}

/* Whether the kernel has mapped every page of [p, p + len) (mincore). */
static bool all_resident(const void *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(pg - 1);
	size_t n = ((uintptr_t)p + len - lo + pg - 1) / pg, in = 0;
	unsigned char *v = calloc(n, 1);

	CHECK(v != NULL);
	CHECK_EQ(mincore((void *)lo, n * pg, v), 0);
	for (size_t i = 0; i < n; i++)
		in += v[i] & 1;
	free(v);
	return in == n;
}

/* cols_prefault(): the columns hold <cap> rows, every page of them mapped
 * (the large ones, 16-byte addresses at 1 MiB, fresh from malloc's own
 * mappings and untouched until now), and appends up to <cap> rows move
 * none of them. */
static void t_prefault(void)
{
	enum { CAP = 65536, N = 1000 };
	struct fc_zonemap zm = { tr_zones, 3 };
	struct flow_cols c, ref;
	struct flow_row *rows = calloc(N, sizeof(*rows));
	void *at[FC_NCOLS];

	cols_init(&c);
	cols_init(&ref);
	CHECK_EQ(cols_summarize(&c, CAP), 0);
	CHECK_EQ(cols_prefault(&c, CAP), 0);
	CHECK(c.cap >= CAP);
	for (unsigned i = 0; i < FC_NCOLS; i++) {
		CHECK(c.col[i] != NULL);
		CHECK(all_resident(c.col[i], c.cap * fc_elem_size(fc_desc(i)->kind)));
		at[i] = c.col[i];
	}
	for (size_t i = 0; i < N; i++)
		tr_row(3, i, 1700000000000ull, 3600000, &rows[i]);
	for (size_t k = 0; k < CAP / N; k++)
		CHECK_EQ(cols_append_rows(&c, rows, N, &zm), 0);
	CHECK_EQ(cols_from_rows(&ref, rows, N, &zm), 0);
	for (unsigned i = 0; i < FC_NCOLS; i++)
		CHECK(c.col[i] == at[i]);
	struct flow_row a, b;
	for (size_t i = 0; i < N; i += 97) {
		cols_get_row(&c, (CAP / N - 1) * N + i, &a);
		cols_get_row(&ref, i, &b);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	}
	CHECK_EQ(cols_prefault(&c, CAP), -EBUSY);
	cols_free(&c);
	cols_free(&ref);
	free(rows);
}

VT_TEST_MAIN(VT_T(t_roundtrip_every_field), VT_T(t_roundtrip_extremes), VT_T(t_encodings),
	     VT_T(t_address_ranges), VT_T(t_summaries), VT_T(t_nil_hints),
	     VT_T(t_dup_column_old_blocks),
	     VT_T(t_vm_dictionary), VT_T(t_late_columns), VT_T(t_damage_detected), VT_T(t_crc32c),
	     VT_T(t_file_header), VT_T(t_prefault))
