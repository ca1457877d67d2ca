/* segmaint.c — upkeep of the segments backend, run by the writer's
 * flusher thread every retention_check and by store_retention(): drop
 * partitions past retention (by age, then by size, oldest first), and
 * rewrite the small blocks of closed partitions into full ones
 * (segcompact.c), one bounded step at a time between flushes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "store/segstore.h"

/* A partition is rewritten with full blocks once its window has been over
 * this long (late flows of long-lived connections keep arriving for a
 * while) and its blocks average under a quarter of block_rows. */
#define COMPACT_DELAY_MS (5 * 60 * 1000)

/* ---- compaction (caller holds cmu) ------------------------------------- */

static void compact_end(struct seg *g, int r)
{
	if (r < 0) {
		log_ratelimited(LOG_LVL_WARN, "store: rewriting the blocks of partition %llu "
				"abandoned: %s", (unsigned long long)g->cmp_start, strerror(-r));
		pthread_rwlock_wrlock(&g->idx);
		struct part *p = segb_find(g, g->cmp_start);
		if (p)
			p->no_compact = true;
		pthread_rwlock_unlock(&g->idx);
		pthread_mutex_lock(&g->mu);
		g->s.compact_errors++;
		pthread_mutex_unlock(&g->mu);
	}
	seg_compact_free(g->cmp);
	g->cmp = NULL;
	__atomic_store_n(&g->cmp_active, 0, __ATOMIC_RELEASE);
}

/* Begins rewriting the oldest closed partition whose blocks are small. */
static void compact_pick(struct seg *g, uint64_t now)
{
	const struct store_conf *cf = &g->st->conf;
	struct seg_blkref *src = NULL;
	struct part pick;
	bool found = false;

	if (g->cmp)
		return;
	pthread_rwlock_rdlock(&g->idx);
	for (size_t i = 0; i < g->nparts && !found; i++) {
		const struct part *p = g->parts[i];
		if (p->no_compact || p->nblk < 2 || p->rows / p->nblk >= cf->block_rows / 4 ||
		    p->start_ms + p->len_ms + COMPACT_DELAY_MS > now)
			continue;
		src = malloc(p->nblk * sizeof(*src));
		if (!src)
			break;
		memcpy(src, p->blk, p->nblk * sizeof(*src));
		pick = *p;
		found = true;
	}
	pthread_rwlock_unlock(&g->idx);
	if (!found)
		return;
	struct vt_err err = { 0 };
	g->cmp_start = pick.start_ms;
	g->cmp_nsrc = pick.nblk;
	g->cmp = seg_compact_begin(g->dirfd, pick.name, pick.dev, pick.ino, src, pick.nblk,
				   pick.start_ms, pick.len_ms, (size_t)cf->block_rows, g->comp,
				   g->level, &err);
	free(src);
	if (!g->cmp) {
		log_ratelimited(LOG_LVL_WARN, "store: cannot rewrite %s: %s", pick.name, err.msg);
		compact_end(g, err.code ? err.code : -EIO);
		return;
	}
	__atomic_store_n(&g->cmp_active, 1, __ATOMIC_RELEASE);
}

/* Copies blocks appended meanwhile, renames the new file over the old one
 * and points the index at its blocks. Appends are held off (wmu) for the
 * copy and the swap only. */
static int compact_finish(struct seg *g)
{
	const struct seg_blkref *nb;
	struct seg_blkref *more = NULL;
	size_t nmore = 0, n;
	uint64_t size;
	dev_t dev;
	ino_t ino;
	int r;

	pthread_mutex_lock(&g->wmu);
	pthread_rwlock_rdlock(&g->idx);
	struct part *p = segb_find(g, g->cmp_start);
	r = !p ? -ENOENT : p->nblk < g->cmp_nsrc ? -ESTALE : 0;
	if (r == 0 && p->nblk > g->cmp_nsrc) {
		nmore = p->nblk - g->cmp_nsrc;
		more = malloc(nmore * sizeof(*more));
		if (more)
			memcpy(more, p->blk + g->cmp_nsrc, nmore * sizeof(*more));
		else
			r = -ENOMEM;
	}
	pthread_rwlock_unlock(&g->idx);
	if (r == 0)
		r = seg_compact_tail(g->cmp, more, nmore);
	free(more);
	if (r == 0 && g->st->conf.fsync)
		r = seg_compact_sync(g->cmp);
	if (r == 0) {
		pthread_rwlock_wrlock(&g->idx);
		p = segb_find(g, g->cmp_start);
		r = p ? seg_compact_commit(g->cmp, &nb, &n, &size, &dev, &ino) : -ENOENT;
		struct seg_blkref *copy = r == 0 ? malloc((n ? n : 1) * sizeof(*copy)) : NULL;
		if (r == 0 && copy) {
			memcpy(copy, nb, n * sizeof(*copy));
			free(p->blk);
			p->blk = copy;
			p->nblk = p->blkcap = n;
			p->size = size;
			p->dev = dev;
			p->ino = ino;
			if (p->wfd >= 0) {   /* the old file's descriptor */
				close(p->wfd);
				p->wfd = -1;
			}
		} else if (r == 0) {
			/* renamed but no memory for the new list: forget the index of
			 * this partition; the next open rebuilds it from the file */
			p->nblk = 0;
			r = -ENOMEM;
		}
		pthread_rwlock_unlock(&g->idx);
		if (r == 0) {
			pthread_mutex_lock(&g->mu);
			g->s.compactions++;
			g->s.compact_blocks_in += g->cmp_nsrc + nmore;
			g->s.compact_blocks_out += n;
			pthread_mutex_unlock(&g->mu);
		}
	}
	pthread_mutex_unlock(&g->wmu);
	if (r == 0 && g->st->conf.fsync)
		fsync(g->dirfd);
	return r;
}

/* One bounded piece of the current rewrite: 1 while more remains. */
int segb_compact_step(struct seg *g)
{
	int r;

	if (!g->cmp)
		return 0;
	r = seg_compact_step(g->cmp, (size_t)g->st->conf.block_rows);
	if (r > 0)
		return 1;
	if (r == 0)
		r = compact_finish(g);
	compact_end(g, r);
	return 0;
}

/* ---- retention ------------------------------------------------------------ */

/* Drops partitions by age and size, then picks a partition to compact;
 * with <finish>, runs that rewrite to its end (store_retention()). */
int segb_retention(struct seg *g, uint64_t now, bool finish)
{
	const struct store_conf *cf = &g->st->conf;
	uint64_t total = 0;
	int dropped = 0;

	pthread_mutex_lock(&g->cmu);
	pthread_mutex_lock(&g->wmu);
	pthread_rwlock_wrlock(&g->idx);
	for (size_t i = 0; i < g->nparts; i++)
		total += g->parts[i]->size;
	/* oldest first; the newest partition (being written) always stays */
	while (g->nparts > 1) {
		struct part *p = g->parts[0];
		bool old = cf->retention_age_ms && p->start_ms + p->len_ms + cf->retention_age_ms <= now;
		bool big = cf->retention_size && total > cf->retention_size;
		if (!old && !big)
			break;
		if (g->cmp && g->cmp_start == p->start_ms) {
			/* being rewritten: abandon the rewrite (removes its file) */
			seg_compact_free(g->cmp);
			g->cmp = NULL;
			__atomic_store_n(&g->cmp_active, 0, __ATOMIC_RELEASE);
		}
		if (unlinkat(g->dirfd, p->name, 0) < 0 && errno != ENOENT) {
			log_ratelimited(LOG_LVL_ERR, "store: cannot remove %s: %s", p->name,
					strerror(errno));
			break;
		}
		log_info("store: retention dropped %s (%llu rows, %llu bytes, %s)", p->name,
			 (unsigned long long)p->rows, (unsigned long long)p->size,
			 old ? "age" : "size");
		pthread_mutex_lock(&g->mu);
		g->s.partitions_dropped++;
		g->s.rows_dropped += p->rows;
		g->s.bytes_dropped += p->size;
		pthread_mutex_unlock(&g->mu);
		total -= p->size;
		segb_part_free(p);
		segb_parts_remove(g, 0);
		dropped++;
	}
	pthread_mutex_lock(&g->mu);
	g->s.retention_runs++;
	pthread_mutex_unlock(&g->mu);
	pthread_rwlock_unlock(&g->idx);
	pthread_mutex_unlock(&g->wmu);
	if (finish || !__atomic_load_n(&g->busy, __ATOMIC_RELAXED))
		compact_pick(g, now);   /* not while busy (the flusher) */
	while (finish && segb_compact_step(g) > 0)
		;
	pthread_mutex_unlock(&g->cmu);
	return dropped;
}

int segb_retention_op(struct store *st, uint64_t now)
{
	return segb_retention(st->priv, now, true);
}

