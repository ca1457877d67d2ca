/* layout.c — the store's layout decision, measured: the same rows stored as
 * (a) our columnar blocks (frame-of-reference byte planes, one compressed
 * stream per column) or (b) compressed row blocks (each row packed into a
 * fixed record, the block compressed as a whole, as nfdump does), each with
 * zstd, lz4 or no compression. For each: bytes per row, and the CPU time
 * of a top-N scan (decode what the query needs, aggregate bytes by source
 * address) and of an encode.
 *
 *	layout STORE_DIR [MAX_ROWS]
 *
 * Built and run by bench/store/run.sh against build/release/libvtap.a. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lz4.h>
#include <zstd.h>

#include "core/hash.h"
#include "store/segenc.h"
#include "store/store.h"

#define BLOCK 65536

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- collect rows ------------------------------------------------------ */

static struct flow_row *rows;
static size_t nrows, maxrows;

static int collect(void *arg, const struct flow_cols *c, const uint8_t *sel, size_t nsel)
{
	(void)arg;
	(void)nsel;
	for (size_t i = 0; i < c->n && nrows < maxrows; i++)
		if (sel[i])
			cols_get_row(c, i, &rows[nrows++]);
	return nrows >= maxrows ? 1 : 0;
}

/* ---- a small exact aggregation (the same for both layouts) -------------- */

struct agg {
	struct vt_addr *k;
	uint64_t *v;
	size_t cap;
};

static void agg_add(struct agg *a, const struct vt_addr *k, uint64_t v)
{
	size_t s = vt_hash(k, 16, 1) & (a->cap - 1);
	while (a->v[s] && memcmp(&a->k[s], k, 16))
		s = (s + 1) & (a->cap - 1);
	a->k[s] = *k;
	a->v[s] += v + 1;   /* +1: 0 marks an empty slot */
}

/* ---- row blocks --------------------------------------------------------- */

/* The packed row: what a flow record holds on disk in a row store. */
#define ROWSZ 112
static void pack(const struct flow_row *r, uint8_t *p)
{
	memcpy(p, &r->rec.first_ms, 8);
	memcpy(p + 8, &r->rec.last_ms, 8);
	memcpy(p + 16, r->rec.src.b, 16);
	memcpy(p + 32, r->rec.dst.b, 16);
	memcpy(p + 48, &r->rec.sport, 2);
	memcpy(p + 50, &r->rec.dport, 2);
	p[52] = r->rec.proto;
	p[53] = r->rec.tcp_flags;
	p[54] = r->rec.tos;
	p[55] = r->rec.ipver;
	memcpy(p + 56, &r->rec.packets, 8);
	memcpy(p + 64, &r->rec.bytes, 8);
	memcpy(p + 72, &r->rec.in_if, 4);
	memcpy(p + 76, &r->rec.out_if, 4);
	memcpy(p + 80, r->rec.exporter.b, 16);
	memcpy(p + 96, &r->rec.src_as, 4);
	memcpy(p + 100, &r->rec.dst_as, 4);
	memcpy(p + 104, &r->attr.src_zone, 2);
	memcpy(p + 106, &r->attr.dst_zone, 2);
	p[108] = r->rec.src_mask;
	p[109] = r->rec.dst_mask;
	memcpy(p + 110, &r->rec.vlan, 2);
}

static void run_rows(int comp, const char *name)
{
	uint8_t *raw = malloc((size_t)BLOCK * ROWSZ), *z;
	size_t bound = ZSTD_compressBound((size_t)BLOCK * ROWSZ), total = 0;
	uint8_t **blk = calloc(nrows / BLOCK + 2, sizeof(*blk));
	size_t *blen = calloc(nrows / BLOCK + 2, sizeof(*blen)), nb = 0;
	double t0 = cpu_s();

	for (size_t from = 0; from < nrows; from += BLOCK, nb++) {
		size_t n = nrows - from < BLOCK ? nrows - from : BLOCK;
		for (size_t i = 0; i < n; i++)
			pack(&rows[from + i], raw + i * ROWSZ);
		z = malloc(bound);
		size_t len = n * ROWSZ;
		if (comp == 1)
			len = ZSTD_compress(z, bound, raw, n * ROWSZ, 1);
		else if (comp == 2)
			len = (size_t)LZ4_compress_default((char *)raw, (char *)z, (int)(n * ROWSZ), (int)bound);
		else
			memcpy(z, raw, len);
		blk[nb] = z;
		blen[nb] = len;
		total += len;
	}
	double enc = cpu_s() - t0;
	struct agg a = { calloc(1 << 21, 16), calloc(1 << 21, 8), 1 << 21 };
	t0 = cpu_s();
	for (size_t b = 0; b < nb; b++) {
		size_t n = nrows - b * BLOCK < BLOCK ? nrows - b * BLOCK : BLOCK;
		const uint8_t *p = blk[b];
		if (comp == 1) {
			ZSTD_decompress(raw, (size_t)BLOCK * ROWSZ, blk[b], blen[b]);
			p = raw;
		} else if (comp == 2) {
			LZ4_decompress_safe((char *)blk[b], (char *)raw, (int)blen[b], BLOCK * ROWSZ);
			p = raw;
		}
		for (size_t i = 0; i < n; i++) {
			struct vt_addr k;
			uint64_t v;
			memcpy(k.b, p + i * ROWSZ + 16, 16);
			memcpy(&v, p + i * ROWSZ + 64, 8);
			agg_add(&a, &k, v);
		}
	}
	double scan = cpu_s() - t0;
	printf("| row blocks | %s | %.1f | %.1f | %.1f |\n", name, (double)total / (double)nrows,
	       (double)nrows / enc / 1e6, (double)nrows / scan / 1e6);
	for (size_t b = 0; b < nb; b++)
		free(blk[b]);
	free(blk);
	free(blen);
	free(raw);
	free(a.k);
	free(a.v);
}

/* ---- columnar blocks (ours) --------------------------------------------- */

static void run_cols(enum seg_comp comp, int level, const char *name)
{
	struct seg_enc *e = seg_enc_new(comp, level);
	struct flow_cols c, out;
	size_t total = 0, nb = 0;
	uint8_t **blk = calloc(nrows / BLOCK + 2, sizeof(*blk));
	size_t *blen = calloc(nrows / BLOCK + 2, sizeof(*blen));
	double enc = 0;

	cols_init(&c);
	cols_init(&out);
	for (size_t from = 0; from < nrows; from += BLOCK, nb++) {
		size_t n = nrows - from < BLOCK ? nrows - from : BLOCK;
		const uint8_t *p;
		size_t len;
		cols_from_rows(&c, rows + from, n, NULL);
		double t0 = cpu_s();
		seg_enc_block(e, &c, &p, &len);
		enc += cpu_s() - t0;
		blk[nb] = malloc(len);
		memcpy(blk[nb], p, len);
		blen[nb] = len;
		total += len;
	}
	struct agg a = { calloc(1 << 21, 16), calloc(1 << 21, 8), 1 << 21 };
	struct seg_dctx d = { 0 };
	double t0 = cpu_s();
	for (size_t b = 0; b < nb; b++) {
		struct seg_blkhdr h;
		struct seg_meta m;
		seg_blkhdr_parse(blk[b], &h);
		seg_meta_parse(blk[b] + SEG_BLK_HDR_LEN, h.meta_len, h.nrows, &m, NULL);
		cols_reset(&out);
		cols_reserve(&out, h.nrows, FC_BIT(FC_SRC) | FC_BIT(FC_BYTES));
		const uint8_t *data = blk[b] + SEG_BLK_HDR_LEN + h.meta_len;
		static const unsigned need[] = { FC_SRC, FC_BYTES };
		for (int k = 0; k < 2; k++) {
			const struct seg_colent *ce = &m.col[need[k]];
			bool planes = ce->enc == SEG_ENC_PLANES;
			seg_col_decode(&m, need[k], planes ? data + ce->off : NULL, planes ? ce->clen : 0,
				       &out, &d);
		}
		for (size_t i = 0; i < h.nrows; i++)
			agg_add(&a, &FC_ADDR(&out, FC_SRC)[i], FC_U64(&out, FC_BYTES)[i]);
		seg_meta_free(&m);
	}
	double scan = cpu_s() - t0;
	printf("| columns (vtap) | %s | %.1f | %.1f | %.1f |\n", name, (double)total / (double)nrows,
	       (double)nrows / enc / 1e6, (double)nrows / scan / 1e6);
	for (size_t b = 0; b < nb; b++)
		free(blk[b]);
	free(blk);
	free(blen);
	free(a.k);
	free(a.v);
	seg_dctx_free(&d);
	cols_free(&c);
	cols_free(&out);
	seg_enc_free(e);
}

int main(int argc, char **argv)
{
	struct store_conf conf;
	struct vt_err err = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: layout STORE_DIR [MAX_ROWS]\n");
		return 2;
	}
	maxrows = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
	rows = calloc(maxrows, sizeof(*rows));
	store_conf_init(&conf, argv[1]);
	struct store *st = store_open(&conf, STORE_RDONLY, &err);
	store_conf_free(&conf);
	if (!st || !rows) {
		fprintf(stderr, "layout: %s\n", err.msg);
		return 1;
	}
	struct store_scan_req req = { 0, UINT64_MAX, NULL, FC_ALL };
	store_scan(st, &req, collect, NULL, NULL);
	store_close(st);
	printf("%zu rows from %s, blocks of %d rows; top-N scan = bytes by source address\n\n",
	       nrows, argv[1], BLOCK);
	printf("| layout | compression | bytes/row | encode Mrows/s (CPU) | scan Mrows/s (CPU) |\n");
	printf("|---|---|---|---|---|\n");
	run_cols(SEG_COMP_ZSTD, 3, "zstd 3");
	run_cols(SEG_COMP_ZSTD, 1, "zstd 1");
	run_cols(SEG_COMP_ZSTD, -1, "zstd -1 (fast)");
	run_cols(SEG_COMP_ZSTD, -3, "zstd -3 (fast)");
	run_cols(SEG_COMP_LZ4, 1, "lz4");
	run_cols(SEG_COMP_LZ4, STORE_LZ4_FAST_ACCEL, "lz4-fast (acceleration 64)");
	run_cols(SEG_COMP_NONE, 0, "none");
	run_rows(1, "zstd 1");
	run_rows(2, "lz4");
	run_rows(0, "none");
	free(rows);
	return 0;
}
