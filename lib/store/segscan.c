/* segscan.c — the read side of the segments backend: a scan copies the
 * part of the index it needs under the read lock, then reads blocks
 * without holding it, tests each block's summary against the filter,
 * decodes only the columns needed and hands batches to the consumer. A
 * partition file replaced meanwhile (compaction renames a rewritten file
 * over the old one) is detected by its inode and re-snapshotted; one
 * removed by retention is skipped and counted. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/compiler.h"
#include "store/segstore.h"


/* The blocks of one partition a scan will read, copied from the index. */
struct snap {
	char name[SEGB_NAME_LEN];
	uint64_t start_ms;
	dev_t dev;
	ino_t ino;
	struct seg_blkref *blk;
	size_t n;
};

struct scan_ctx {
	struct flow_cols batch;
	struct seg_dctx dctx;
	struct filter_ctx fctx;
	uint8_t *sel;
	size_t selcap;
	uint8_t *buf;           /* meta, then column bytes */
	size_t bufcap;
};

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

/* Reads, tests and decodes one block; calls the consumer. Returns 0 (also
 * for a damaged block, counted), the consumer's non-zero value, or -ENOMEM. */
static int scan_block(int fd, const struct seg_blkref *br, const struct store_scan_req *req,
		      struct scan_ctx *x, store_batch_cb cb, void *arg,
		      struct store_scan_stats *ss)
{
	const struct seg_blkhdr *h = &br->h;
	struct seg_meta m;
	int r;

	if ((r = grow(&x->buf, &x->bufcap, h->meta_len ? h->meta_len : 1)) < 0)
		return r;
	if (seg_pread(fd, x->buf, h->meta_len, br->off + SEG_BLK_HDR_LEN) < 0 ||
	    seg_crc32c(0, x->buf, h->meta_len) != h->meta_crc ||
	    seg_meta_parse(x->buf, h->meta_len, h->nrows, &m, NULL) < 0) {
		ss->corrupt_blocks++;
		return 0;
	}
	ss->bytes_read += h->meta_len;
	enum fmatch fm = req->filter ? filter_summary(req->filter, &m.sum) : FM_ALL;
	if (fm == FM_NONE) {
		ss->blocks_skipped_filter++;
		seg_meta_free(&m);
		return 0;
	}
	bool inwin = h->tmin >= req->since_ms && h->tmax <= req->until_ms;
	uint64_t need = req->cols;
	if (fm != FM_ALL)
		need |= filter_columns(req->filter);
	if (!inwin)
		need |= FC_BIT(FC_FIRST) | FC_BIT(FC_LAST);
	cols_reset(&x->batch);
	if ((r = cols_reserve(&x->batch, h->nrows, need)) < 0 ||
	    (r = seg_cols_dict(&m, &x->batch)) < 0 ||
	    (r = grow(&x->sel, &x->selcap, h->nrows)) < 0) {
		seg_meta_free(&m);
		return r;
	}
	uint64_t data_off = br->off + SEG_BLK_HDR_LEN + h->meta_len;
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		if (!(need & FC_BIT(k)))
			continue;
		const struct seg_colent *ce = &m.col[k];
		const uint8_t *p = NULL;
		size_t len = 0;
		if ((m.present & FC_BIT(k)) && ce->enc == SEG_ENC_PLANES) {
			if ((uint64_t)ce->off + ce->clen > h->data_len) {
				r = -EBADMSG;
				break;
			}
			if ((r = grow(&x->buf, &x->bufcap, ce->clen ? ce->clen : 1)) < 0)
				break;
			if ((r = seg_pread(fd, x->buf, ce->clen, data_off + ce->off)) < 0)
				break;
			ss->bytes_read += ce->clen;
			p = x->buf;
			len = ce->clen;
		}
		if ((r = seg_col_decode(&m, k, p, len, &x->batch, &x->dctx)) < 0)
			break;
	}
	seg_meta_free(&m);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		ss->corrupt_blocks++;
		return 0;
	}
	x->batch.n = h->nrows;
	ss->blocks_read++;
	ss->rows_scanned += h->nrows;
	uint8_t *sel = x->sel;
	size_t n = h->nrows, nsel = 0;
	if (fm == FM_ALL)
		memset(sel, 1, n);
	else if ((r = filter_eval(req->filter, &x->batch, sel, &x->fctx)) < 0)
		return r;
	if (!inwin) {
		const uint64_t *f = FC_U64(&x->batch, FC_FIRST), *l = FC_U64(&x->batch, FC_LAST);
		for (size_t i = 0; i < n; i++)
			sel[i] &= (l[i] >= req->since_ms) & (f[i] <= req->until_ms);
	}
	for (size_t i = 0; i < n; i++)
		nsel += sel[i];
	ss->rows_matched += nsel;
	return nsel ? cb(arg, &x->batch, sel, nsel) : 0;
}

/* Copies partition <p>'s blocks overlapping the time range into <sn>.
 * Caller holds idx. */
static int snap_take(const struct part *p, const struct store_scan_req *req, struct snap *sn,
		     struct store_scan_stats *ss)
{
	memcpy(sn->name, p->name, sizeof(sn->name));
	sn->start_ms = p->start_ms;
	sn->dev = p->dev;
	sn->ino = p->ino;
	sn->n = 0;
	free(sn->blk);
	sn->blk = malloc((p->nblk ? p->nblk : 1) * sizeof(*sn->blk));
	if (!sn->blk)
		return -ENOMEM;
	for (size_t b = 0; b < p->nblk; b++) {
		if (ss)
			ss->blocks++;
		if (p->blk[b].h.tmax < req->since_ms || p->blk[b].h.tmin > req->until_ms) {
			if (ss)
				ss->blocks_skipped_time++;
			continue;
		}
		sn->blk[sn->n++] = p->blk[b];
	}
	return 0;
}

static int refresh(struct seg *g)
{
	int r;

	pthread_mutex_lock(&g->refresh_mu);
	pthread_rwlock_wrlock(&g->idx);
	r = segb_refresh(g, false);
	pthread_rwlock_unlock(&g->idx);
	pthread_mutex_unlock(&g->refresh_mu);
	return r;
}

/* Opens the file of <sn>. When the file is no longer the one the snapshot
 * was taken from (a compaction renamed a rewrite over it), the index is
 * refreshed and the partition's snapshot taken again, so offsets always
 * match the file read. -ENOENT: removed by retention. */
static int snap_open(struct seg *g, struct snap *sn, const struct store_scan_req *req)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		struct stat sb;
		int fd = openat(g->dirfd, sn->name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &sb) == 0 && sb.st_dev == sn->dev && sb.st_ino == sn->ino)
			return fd;
		close(fd);
		if (!g->writer) {
			int r = refresh(g);
			if (r < 0)
				return r;
		}
		pthread_rwlock_rdlock(&g->idx);
		const struct part *p = segb_find(g, sn->start_ms);
		int r = p ? snap_take(p, req, sn, NULL) : -ENOENT;
		pthread_rwlock_unlock(&g->idx);
		if (r < 0)
			return r;
	}
	return -ESTALE;
}

int segb_scan(struct store *st, const struct store_scan_req *req, store_batch_cb cb, void *arg,
	      struct store_scan_stats *ss)
{
	struct seg *g = st->priv;
	struct snap *sn = NULL;
	size_t nsn = 0;
	struct scan_ctx x;
	int r = 0;

	memset(&x, 0, sizeof(x));
	cols_init(&x.batch);
	if (!g->writer && (r = refresh(g)) < 0)
		return r;
	/* snapshot the partitions and blocks that overlap the time range */
	pthread_rwlock_rdlock(&g->idx);
	sn = calloc(g->nparts ? g->nparts : 1, sizeof(*sn));
	for (size_t i = 0; sn && i < g->nparts && r == 0; i++) {
		const struct part *p = g->parts[i];
		if (!p->nblk || p->tmax < req->since_ms || p->tmin > req->until_ms) {
			ss->blocks += p->nblk;
			ss->blocks_skipped_time += p->nblk;
			continue;
		}
		ss->partitions++;
		r = snap_take(p, req, &sn[nsn++], ss);
	}
	pthread_rwlock_unlock(&g->idx);
	if (!sn)
		r = -ENOMEM;

	for (size_t i = 0; i < nsn && r == 0; i++) {
		if (!sn[i].n)
			continue;
		int fd = snap_open(g, &sn[i], req);
		if (fd == -ENOENT) {
			ss->partitions_gone++;
			continue;
		}
		if (fd < 0) {
			r = fd;
			break;
		}
		for (size_t b = 0; b < sn[i].n && r == 0; b++)
			r = scan_block(fd, &sn[i].blk[b], req, &x, cb, arg, ss);
		close(fd);
	}
	__atomic_fetch_add(&g->scans, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->blocks_read, ss->blocks_read, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->blocks_skipped, ss->blocks_skipped_time + ss->blocks_skipped_filter,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->rows_scanned, ss->rows_scanned, __ATOMIC_RELAXED);
	for (size_t i = 0; i < nsn; i++)
		free(sn[i].blk);
	free(sn);
	cols_free(&x.batch);
	seg_dctx_free(&x.dctx);
	filter_ctx_free(&x.fctx);
	free(x.sel);
	free(x.buf);
	return r;
}
