/* segstore.c — the embedded store backend ("segments").
 *
 * One directory; one segment file per time partition (named by the UTC
 * start of its window, "20261121T230000Z.seg"); an exclusive flock on
 * DIR/LOCK for the single writer. The writer buffers appended rows as
 * columns (double-buffered: appends fill one batch while the flusher
 * thread encodes the other), and writes a block per partition per flush.
 * An in-memory index (block offsets and headers per partition) serves
 * scans; scans copy the part of the index they need under a read lock and
 * read the files without holding it, so a long query never stalls ingest.
 * Read-only openers rebuild the index from the files and refresh it at
 * every scan (new files, grown files, files removed by retention).
 * Scanning is in segscan.c, rewriting small blocks in segcompact.c; the
 * locks are described in segstore.h. */
#include "store/segstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#define LOCK_NAME "LOCK"
#define SEG_SUFFIX ".seg"
#define NAME_LEN SEGB_NAME_LEN
#define MAX_WRITE_FDS 8

uint64_t segb_now(const struct seg *g)
{
	return g->st->conf.now_ms ? g->st->conf.now_ms() : wall_ms();
}

/* ---- names and files ---------------------------------------------------- */

static void part_name(uint64_t start_ms, char *buf, size_t len)
{
	time_t t = (time_t)(start_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(buf + n, len - n, SEG_SUFFIX);
}

static bool parse_part_name(const char *name, uint64_t *start_ms)
{
	struct tm tm;
	size_t n = strlen(name);
	const char *end;

	if (n != 16 + strlen(SEG_SUFFIX) || strcmp(name + 16, SEG_SUFFIX) != 0)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(name, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || end != name + 16)
		return false;
	time_t t = timegm(&tm);
	if (t < 0)
		return false;
	*start_ms = (uint64_t)t * 1000;
	return true;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		tmp[i] = c;
	}
	return 0;
}

/* ---- the index ---------------------------------------------------------- */

void segb_part_free(struct part *p)
{
	if (!p)
		return;
	if (p->wfd >= 0)
		close(p->wfd);
	free(p->blk);
	free(p);
}

static int part_add_block(struct part *p, uint64_t off, const struct seg_blkhdr *h)
{
	if (p->nblk == p->blkcap) {
		size_t ncap = p->blkcap ? p->blkcap * 2 : 16;
		struct seg_blkref *b = realloc(p->blk, ncap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		p->blk = b;
		p->blkcap = ncap;
	}
	p->blk[p->nblk].off = off;
	p->blk[p->nblk].h = *h;
	p->nblk++;
	if (p->rows == 0 || h->tmin < p->tmin)
		p->tmin = h->tmin;
	if (p->rows == 0 || h->tmax > p->tmax)
		p->tmax = h->tmax;
	p->rows += h->nrows;
	return 0;
}

static int walk_cb(void *arg, uint64_t off, const struct seg_blkhdr *h)
{
	return part_add_block(arg, off, h);
}

/* Inserts <p> keeping parts[] sorted; the caller holds idx for writing. */
static int parts_insert(struct seg *g, struct part *p)
{
	if (g->nparts == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 16;
		struct part **a = realloc(g->parts, ncap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		g->parts = a;
		g->cap = ncap;
	}
	size_t i = g->nparts;
	while (i > 0 && g->parts[i - 1]->start_ms > p->start_ms) {
		g->parts[i] = g->parts[i - 1];
		i--;
	}
	g->parts[i] = p;
	g->nparts++;
	return 0;
}

void segb_parts_remove(struct seg *g, size_t i)
{
	memmove(&g->parts[i], &g->parts[i + 1], (g->nparts - i - 1) * sizeof(g->parts[0]));
	g->nparts--;
}

struct part *segb_find(struct seg *g, uint64_t start_ms)
{
	for (size_t i = g->nparts; i-- > 0;)
		if (g->parts[i]->start_ms == start_ms)
			return g->parts[i];
	return NULL;
}

/* Indexes the blocks of <p>'s file from p->size on. The writer (recover)
 * truncates a torn tail; readers leave it (the writer may be mid-write)
 * and look again at the next refresh. */
static int part_load(struct seg *g, struct part *p, bool recover)
{
	int fd = openat(g->dirfd, p->name, (recover ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	struct stat sb;
	struct seg_walk w;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if (p->size && (sb.st_ino != p->ino || sb.st_dev != p->dev)) {
		/* not the file indexed so far: a rewrite was renamed over it
		 * since the caller looked (its offsets mean nothing here) */
		p->nblk = 0;
		p->rows = 0;
		p->size = 0;
	}
	if (p->size == 0) {
		uint8_t hb[SEG_FILE_HDR_LEN];
		uint64_t start, len;
		if ((uint64_t)sb.st_size < SEG_FILE_HDR_LEN ||
		    seg_pread(fd, hb, sizeof(hb), 0) < 0 ||
		    seg_file_header_parse(hb, sizeof(hb), &start, &len) < 0) {
			if (recover && (uint64_t)sb.st_size < SEG_FILE_HDR_LEN) {
				/* created, then the crash came before the header */
				seg_file_header(hb, p->start_ms, g->st->conf.partition_ms);
				if (ftruncate(fd, 0) < 0 || seg_pwrite(fd, hb, sizeof(hb), 0) < 0) {
					r = -errno;
					goto out;
				}
				g->s.torn_tails++;
				g->s.torn_bytes += (uint64_t)sb.st_size;
				p->len_ms = g->st->conf.partition_ms;
				p->size = SEG_FILE_HDR_LEN;
				p->dev = sb.st_dev;
				p->ino = sb.st_ino;
				r = 0;
				goto out;
			}
			r = -EBADMSG;
			goto out;
		}
		p->len_ms = len ? len : g->st->conf.partition_ms;
		p->size = SEG_FILE_HDR_LEN;
		p->dev = sb.st_dev;
		p->ino = sb.st_ino;
	}
	if ((uint64_t)sb.st_size <= p->size) {
		r = 0;
		goto out;
	}
	r = seg_file_walk(fd, (uint64_t)sb.st_size, p->size, walk_cb, p, &w);
	if (r < 0)
		goto out;
	g->s.corrupt_blocks += w.corrupt_blocks;
	g->s.corrupt_bytes += w.corrupt_bytes;
	p->size = w.valid_end;
	if (recover && w.torn_bytes) {
		log_warn("store: %s: torn tail of %llu bytes after the last complete block "
			 "(crash during a write) truncated", p->name,
			 (unsigned long long)w.torn_bytes);
		if (ftruncate(fd, (off_t)w.valid_end) < 0) {
			r = -errno;
			goto out;
		}
		g->s.torn_tails++;
		g->s.torn_bytes += w.torn_bytes;
	}
	if (w.corrupt_blocks)
		log_warn("store: %s: %llu damaged region(s), %llu bytes, skipped", p->name,
			 (unsigned long long)w.corrupt_blocks, (unsigned long long)w.corrupt_bytes);
	r = 0;
out:
	close(fd);
	return r;
}

/* Brings the index in line with the directory. Caller holds idx (write). */
/* The writer moves a partition file with a damaged header aside (NAME.seg
 * -> NAME.seg.damaged[.N]): its bytes are kept for inspection, and the
 * partition's name is free again, so rows of that time window can be
 * written (creating the file would otherwise fail on every flush). */
static void move_aside(struct seg *g, const char *name)
{
	char aside[SEGB_NAME_LEN + 32];
	struct stat sb;
	uint64_t size = fstatat(g->dirfd, name, &sb, 0) == 0 ? (uint64_t)sb.st_size : 0;

	for (int i = 0; i < 100; i++) {
		if (i)
			snprintf(aside, sizeof(aside), "%s.damaged.%d", name, i);
		else
			snprintf(aside, sizeof(aside), "%s.damaged", name);
		if (renameat2(g->dirfd, name, g->dirfd, aside, RENAME_NOREPLACE) == 0) {
			log_warn("store: %s: damaged file header; moved aside to %s (%llu bytes)",
				 name, aside, (unsigned long long)size);
			g->s.corrupt_blocks++;
			g->s.corrupt_bytes += size;
			return;
		}
		if (errno != EEXIST)
			break;
	}
	log_warn("store: %s: damaged file header; cannot move it aside: %s", name,
		 strerror(errno));
}

/* A descriptor of the store directory for a directory stream: close-on-
 * exec (dup() would not be) and with its own offset. */
static int dir_stream_fd(const struct seg *g)
{
	return openat(g->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int segb_refresh(struct seg *g, bool recover)
{
	int dfd = dir_stream_fd(g);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	rewinddir(d);
	for (size_t i = 0; i < g->nparts; i++)
		g->parts[i]->seen = false;
	while ((de = readdir(d))) {
		uint64_t start;
		if (!parse_part_name(de->d_name, &start))
			continue;
		/* a file replaced under us is re-indexed by part_load(), which
		 * compares the identity of the file it opened */
		struct part *p = segb_find(g, start);
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			p->wfd = -1;
			p->start_ms = start;
			snprintf(p->name, sizeof(p->name), "%s", de->d_name);
			if ((r = parts_insert(g, p)) < 0) {
				free(p);
				break;
			}
		}
		p->seen = true;
		int lr = part_load(g, p, recover);
		if (lr == -EBADMSG) {
			if (recover)
				move_aside(g, p->name);
			else
				log_ratelimited(LOG_LVL_WARN, "store: %s is not a segment file; ignored",
						p->name);
			p->seen = false;
		} else if (lr < 0 && lr != -ENOENT) {
			log_ratelimited(LOG_LVL_WARN, "store: %s: %s", p->name, strerror(-lr));
		}
	}
	closedir(d);
	for (size_t i = g->nparts; i-- > 0;) {
		if (!g->parts[i]->seen) {
			segb_part_free(g->parts[i]);
			segb_parts_remove(g, i);
		}
	}
	return r;
}

/* ---- writing ------------------------------------------------------------ */

static int part_wfd(struct seg *g, struct part *p)
{
	if (p->wfd >= 0)
		return p->wfd;
	/* bound the open descriptors: close the least recently written */
	size_t open = 0;
	struct part *lru = NULL;
	for (size_t i = 0; i < g->nparts; i++) {
		struct part *q = g->parts[i];
		if (q->wfd < 0)
			continue;
		open++;
		if (!lru || q->last_use < lru->last_use)
			lru = q;
	}
	if (open >= MAX_WRITE_FDS && lru) {
		close(lru->wfd);
		lru->wfd = -1;
	}
	p->wfd = openat(g->dirfd, p->name, O_RDWR | O_CLOEXEC);
	return p->wfd >= 0 ? p->wfd : -errno;
}

/* The partition for rows starting at <start>, created if new. Called with
 * wmu held (the only writer of the index's structure besides refresh). */
static struct part *part_get(struct seg *g, uint64_t start, int *err)
{
	struct part *p;
	uint8_t hb[SEG_FILE_HDR_LEN];
	int fd;

	pthread_rwlock_rdlock(&g->idx);
	p = segb_find(g, start);
	pthread_rwlock_unlock(&g->idx);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->start_ms = start;
	p->len_ms = g->st->conf.partition_ms;
	p->wfd = -1;
	part_name(start, p->name, sizeof(p->name));
	fd = openat(g->dirfd, p->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		*err = -errno;
		free(p);
		return NULL;
	}
	seg_file_header(hb, start, p->len_ms);
	struct stat sb;
	if (seg_pwrite(fd, hb, sizeof(hb), 0) < 0 || fstat(fd, &sb) < 0 ||
	    (g->st->conf.fsync && (fdatasync(fd) < 0 || fsync(g->dirfd) < 0))) {
		*err = -errno;
		close(fd);
		unlinkat(g->dirfd, p->name, 0);
		free(p);
		return NULL;
	}
	p->wfd = fd;
	p->size = SEG_FILE_HDR_LEN;
	p->dev = sb.st_dev;
	p->ino = sb.st_ino;
	pthread_rwlock_wrlock(&g->idx);
	*err = parts_insert(g, p);
	pthread_rwlock_unlock(&g->idx);
	if (*err < 0) {
		segb_part_free(p);
		return NULL;
	}
	return p;
}

static int write_blocks(struct seg *g, struct part *p, const struct flow_cols *c)
{
	size_t per = (size_t)g->st->conf.block_rows;
	int fd = part_wfd(g, p), r;

	if (fd < 0)
		return fd;
	p->last_use = ++g->use_clock;
	for (size_t from = 0; from < c->n; from += per) {
		const struct flow_cols *blkcols = c;
		const uint8_t *blk;
		size_t len;
		struct seg_blkhdr h;

		size_t k = VT_MIN(per, c->n - from);
		struct flow_cols view;
		if (c->n > per && c->nvms <= 4 * k) {
			/* a window on the batch: no copy (its dictionary may list a
			 * few VMs the block does not use: still within the bound
			 * readers enforce, 4 per row) */
			cols_slice(&view, c, from, k);
			blkcols = &view;
		} else if (c->n > per) {
			/* a block of its own with only the VMs it uses */
			uint32_t *idx = malloc(k * sizeof(*idx));
			if (!idx)
				return -ENOMEM;
			for (size_t i = 0; i < k; i++)
				idx[i] = (uint32_t)(from + i);
			r = cols_gather(&g->chunk, c, idx, k);
			free(idx);
			if (r < 0)
				return r;
			blkcols = &g->chunk;
		}
		/* chosen per block: the producer's state when the block is
		 * encoded */
		bool busy = __atomic_load_n(&g->busy, __ATOMIC_RELAXED) &&
			    (g->busy_comp != g->comp || g->busy_level != g->level);
		if ((r = seg_enc_set_comp(g->enc, busy ? g->busy_comp : g->comp,
					  busy ? g->busy_level : g->level)) < 0 ||
		    (r = seg_enc_block(g->enc, blkcols, &blk, &len)) < 0)
			return r;
		if ((r = seg_pwrite(fd, blk, len, p->size)) < 0) {
			/* leave no partial block behind */
			if (ftruncate(fd, (off_t)p->size) < 0)
				log_ratelimited(LOG_LVL_ERR, "store: %s: truncate after failed write: %s",
						p->name, strerror(errno));
			return r;
		}
		if (g->st->conf.fsync && fdatasync(fd) < 0)
			return -errno;
		if (seg_blkhdr_parse(blk, &h) < 0)
			return -EIO;
		pthread_rwlock_wrlock(&g->idx);
		r = part_add_block(p, p->size, &h);
		if (r == 0)
			p->size += len;
		pthread_rwlock_unlock(&g->idx);
		if (r < 0)
			return r;
		pthread_mutex_lock(&g->mu);
		g->s.blocks_written++;
		g->s.blocks_busy += busy;
		g->s.bytes_written += len;
		pthread_mutex_unlock(&g->mu);
	}
	return 0;
}

/* Writes batch <b>: rows go to the partition of their last_ms, unless that
 * partition is already past retention or more than one partition ahead
 * of now (a wrong exporter clock): the current partition takes those. */
static int write_batch(struct seg *g, const struct flow_cols *b)
{
	const struct store_conf *cf = &g->st->conf;
	uint64_t now = segb_now(g), plen = cf->partition_ms;
	/* the oldest partition start retention would keep (seg_retention) */
	uint64_t lo = 0, hi = now + plen;
	if (cf->retention_age_ms && now >= cf->retention_age_ms + plen) {
		lo = now - cf->retention_age_ms - plen;
		lo = lo - lo % plen + plen;
	}
	const uint64_t *last = FC_U64(b, FC_LAST);
	uint64_t misdated = 0, *starts;
	bool mixed = false;
	int r = 0;

	if (g->idxcap < b->n) {
		uint32_t *ib = realloc(g->idxbuf, b->n * sizeof(*ib));
		if (!ib)
			return -ENOMEM;
		g->idxbuf = ib;
		uint64_t *sb = realloc(g->startbuf, b->n * sizeof(*sb));
		if (!sb)
			return -ENOMEM;
		g->startbuf = sb;
		g->idxcap = b->n;
	}
	starts = g->startbuf;
	for (size_t i = 0; i < b->n; i++) {
		uint64_t t = last[i];
		if (t < lo || t > hi) {
			t = now;
			misdated++;
		}
		starts[i] = t - t % plen;
		mixed |= starts[i] != starts[0];
	}
	pthread_mutex_lock(&g->mu);
	g->s.rows_misdated += misdated;
	pthread_mutex_unlock(&g->mu);
	if (!mixed) {
		struct part *p = part_get(g, starts[0], &r);
		return p ? write_blocks(g, p, b) : r;
	}
	/* several partitions: one gather per partition, oldest first */
	uint64_t floor = 0;
	for (;;) {
		uint64_t next = UINT64_MAX;
		bool any = false;
		for (size_t i = 0; i < b->n; i++)
			if (starts[i] >= floor && starts[i] <= next) {
				next = starts[i];
				any = true;
			}
		if (!any)
			break;
		size_t m = 0;
		for (size_t i = 0; i < b->n; i++)
			if (starts[i] == next)
				g->idxbuf[m++] = (uint32_t)i;
		struct part *p;
		if ((r = cols_gather(&g->gath, b, g->idxbuf, m)) < 0 ||
		    !(p = part_get(g, next, &r)) || (r = write_blocks(g, p, &g->gath)) < 0)
			break;
		if (next == UINT64_MAX)
			break;
		floor = next + 1;
	}
	return r;
}

/* Writes a buffer: the full block seg_append handed over, else the rows
 * being appended (swapped out). Returns whether the appended rows were
 * among them (*<all>). Any thread; wmu orders concurrent flushes. */
static int flush_one(struct seg *g, bool *all)
{
	struct flow_cols *b;
	int r = 0;

	pthread_mutex_lock(&g->wmu);
	pthread_mutex_lock(&g->mu);
	*all = g->pend[g->cur ^ 1].n == 0;
	if (*all) {
		b = &g->pend[g->cur];
		g->cur ^= 1;
		g->pend_since = 0;
		pthread_cond_broadcast(&g->cv_space);
	} else {
		b = &g->pend[g->cur ^ 1];
	}
	pthread_mutex_unlock(&g->mu);
	if (b->n) {
		cols_summary_complete(b);   /* the rows of a last, partial span */
		cols_materialize(b, FC_BIT(FC_LAST));   /* write_batch() reads it */
		r = write_batch(g, b);
		pthread_mutex_lock(&g->mu);
		g->s.flushes++;
		if (r < 0) {
			g->s.flush_errors++;
			g->s.rows_lost += b->n;
		} else {
			g->s.rows_flushed += b->n;
			g->s.last_flush_ms = wall_ms();
		}
		pthread_mutex_unlock(&g->mu);
		if (r < 0)
			log_ratelimited(LOG_LVL_ERR, "store: flush of %zu rows to %s failed: %s",
					b->n, g->st->conf.dir, strerror(-r));
		/* under mu: seg_append hands a block over only to an empty
		 * buffer */
		pthread_mutex_lock(&g->mu);
		cols_reset(b);
		pthread_cond_broadcast(&g->cv_space);
		pthread_mutex_unlock(&g->mu);
	}
	pthread_mutex_unlock(&g->wmu);
	return r;
}

/* Writes what is buffered: a handed-over block, then the rest. */
static int do_flush(struct seg *g)
{
	bool all;
	int r = flush_one(g, &all);

	if (!all) {
		int r2 = flush_one(g, &all);
		if (r >= 0)
			r = r2;
	}
	return r;
}


static void *flusher(void *arg)
{
	struct seg *g = arg;
	const struct store_conf *cf = &g->st->conf;

	pthread_setname_np(pthread_self(), "vtap-store");
	pthread_mutex_lock(&g->mu);
	for (;;) {
		uint64_t now = mono_ms();
		size_t n = g->pend[g->cur].n;
		bool due = n && now >= g->pend_since + cf->flush_ms;
		bool handed = g->pend[g->cur ^ 1].n != 0;
		if (handed && !g->stop && !due) {
			bool all;
			pthread_mutex_unlock(&g->mu);
			flush_one(g, &all);   /* the full block only */
			pthread_mutex_lock(&g->mu);
			continue;
		}
		if (g->stop || due || n >= cf->block_rows) {
			bool stopping = g->stop;
			pthread_mutex_unlock(&g->mu);
			do_flush(g);
			pthread_mutex_lock(&g->mu);
			if (stopping && g->pend[g->cur].n == 0)
				break;
			continue;
		}
		if (now >= g->last_ret + cf->retention_check_ms) {
			g->last_ret = now;
			pthread_mutex_unlock(&g->mu);
			segb_retention(g, segb_now(g), false);
			pthread_mutex_lock(&g->mu);
			continue;
		}
		/* a rewrite waits while the producer is busy: on a shared
		 * core it would take back what busy_compression saves */
		if (__atomic_load_n(&g->cmp_active, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&g->busy, __ATOMIC_RELAXED)) {
			/* a rewrite in progress: one bounded step, then look at
			 * the buffers again */
			pthread_mutex_unlock(&g->mu);
			pthread_mutex_lock(&g->cmu);
			segb_compact_step(g);
			pthread_mutex_unlock(&g->cmu);
			pthread_mutex_lock(&g->mu);
			continue;
		}
		uint64_t wake = g->last_ret + cf->retention_check_ms;
		if (n && g->pend_since + cf->flush_ms < wake)
			wake = g->pend_since + cf->flush_ms;
		/* condvar timeouts are on CLOCK_MONOTONIC (set in seg_open) */
		struct timespec ts = deadline_after_ms(CLOCK_MONOTONIC, wake > now ? wake - now : 1);
		pthread_cond_timedwait(&g->cv_work, &g->mu, &ts);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

static int seg_append(struct store *st, const struct flow_row *rows, size_t n)
{
	struct seg *g = st->priv;
	const struct store_conf *cf = &st->conf;
	int r = 0;

	pthread_mutex_lock(&g->mu);
	while (n > 0) {
		struct flow_cols *c = &g->pend[g->cur];
		if (g->stop) {
			r = -ESHUTDOWN;
			break;
		}
		if (c->n == cf->block_rows && g->pend[g->cur ^ 1].n == 0) {
			/* a full block: the flusher writes it as one (with the
			 * summary of its spans), appends go on in the other
			 * buffer. A flusher that runs late would otherwise
			 * find a block and a small tail block's worth. */
			g->cur ^= 1;
			g->s.blocks_handed++;
			pthread_cond_signal(&g->cv_work);
			continue;
		}
		if (c->n >= cf->max_pending) {
			g->s.append_waits++;
			pthread_cond_signal(&g->cv_work);
			pthread_cond_wait(&g->cv_space, &g->mu);
			continue;
		}
		size_t k = VT_MIN(n, (size_t)cf->max_pending - c->n);
		if (c->n < cf->block_rows)   /* stop at the block's end */
			k = VT_MIN(k, (size_t)cf->block_rows - c->n);
		if (c->n == 0) {
			/* the flusher may be asleep until the next retention
			 * run: give it this batch's deadline */
			g->pend_since = mono_ms();
			pthread_cond_signal(&g->cv_work);
		}
		pthread_mutex_lock(&st->zmu);
		struct fc_zonemap zm = { (const char *const *)st->zones, st->nzones };
		r = cols_append_rows(c, rows, k, &zm);
		pthread_mutex_unlock(&st->zmu);
		if (r < 0)
			break;
		g->s.rows_appended += k;
		rows += k;
		n -= k;
		if (c->n >= cf->block_rows)
			pthread_cond_signal(&g->cv_work);
	}
	pthread_mutex_unlock(&g->mu);
	return r;
}

/* The room seg_append() fills without waiting: the current buffer up to
 * max_pending, or, while the other one is free, up to the block's end and
 * then all of the other. */
static bool seg_append_ready(struct store *st, size_t n)
{
	struct seg *g = st->priv;
	const struct store_conf *cf = &st->conf;
	size_t room = 0;

	pthread_mutex_lock(&g->mu);
	size_t cur = g->pend[g->cur].n;
	if (g->pend[g->cur ^ 1].n == 0 && cur <= cf->block_rows)
		room = (size_t)cf->block_rows - cur + (size_t)cf->max_pending;
	else if (cur < cf->max_pending)
		room = (size_t)cf->max_pending - cur;
	bool ok = !g->stop && n <= room;
	pthread_mutex_unlock(&g->mu);
	return ok;
}

static void seg_set_busy(struct store *st, bool busy)
{
	struct seg *g = st->priv;

	if (__atomic_exchange_n(&g->busy, busy, __ATOMIC_RELAXED) != (int)busy && busy) {
		pthread_mutex_lock(&g->mu);
		g->s.busy_switches++;
		pthread_mutex_unlock(&g->mu);
	}
}

static int seg_flush(struct store *st)
{
	return do_flush(st->priv);
}

/* ---- open, stats, close ------------------------------------------------- */

static void seg_stats(struct store *st, struct store_stats *out)
{
	struct seg *g = st->priv;

	if (!g->writer) {
		pthread_mutex_lock(&g->refresh_mu);
		pthread_rwlock_wrlock(&g->idx);
		segb_refresh(g, false);
		pthread_rwlock_unlock(&g->idx);
		pthread_mutex_unlock(&g->refresh_mu);
	}
	pthread_mutex_lock(&g->mu);
	*out = g->s;
	out->rows_pending = g->pend[0].n + g->pend[1].n;
	pthread_mutex_unlock(&g->mu);
	pthread_rwlock_rdlock(&g->idx);
	for (size_t i = 0; i < g->nparts; i++) {
		const struct part *p = g->parts[i];
		out->partitions++;
		out->blocks += p->nblk;
		out->rows += p->rows;
		out->bytes_on_disk += p->size;
		if (p->rows && (!out->oldest_ms || p->tmin < out->oldest_ms))
			out->oldest_ms = p->tmin;
		if (p->rows && p->tmax > out->newest_ms)
			out->newest_ms = p->tmax;
	}
	pthread_rwlock_unlock(&g->idx);
	out->scans = __atomic_load_n(&g->scans, __ATOMIC_RELAXED);
	out->blocks_read = __atomic_load_n(&g->blocks_read, __ATOMIC_RELAXED);
	out->blocks_skipped = __atomic_load_n(&g->blocks_skipped, __ATOMIC_RELAXED);
	out->rows_scanned = __atomic_load_n(&g->rows_scanned, __ATOMIC_RELAXED);
}

static void seg_free(struct seg *g)
{
	seg_compact_free(g->cmp);   /* an unfinished rewrite is abandoned */
	for (size_t i = 0; i < g->nparts; i++)
		segb_part_free(g->parts[i]);
	free(g->parts);
	cols_free(&g->pend[0]);
	cols_free(&g->pend[1]);
	cols_free(&g->gath);
	cols_free(&g->chunk);
	free(g->idxbuf);
	free(g->startbuf);
	seg_enc_free(g->enc);
	if (g->lockfd >= 0)
		close(g->lockfd);   /* releases the flock */
	if (g->dirfd >= 0)
		close(g->dirfd);
	pthread_rwlock_destroy(&g->idx);
	pthread_mutex_destroy(&g->refresh_mu);
	pthread_mutex_destroy(&g->mu);
	pthread_mutex_destroy(&g->wmu);
	pthread_mutex_destroy(&g->cmu);
	pthread_cond_destroy(&g->cv_work);
	pthread_cond_destroy(&g->cv_space);
	free(g);
}

static int take_lock(struct seg *g, struct vt_err *err)
{
	const char *dir = g->st->conf.dir;
	char pid[32] = "";

	g->lockfd = openat(g->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (g->lockfd < 0)
		return vt_err_set(err, -errno, "store: cannot create %s/%s: %s", dir, LOCK_NAME,
				  strerror(errno));
	if (flock(g->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			ssize_t n = pread(g->lockfd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			return vt_err_set(err, -EBUSY,
					  "store: %s is open for writing by another process%s%s%s",
					  dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
		}
		return vt_err_set(err, -e, "store: cannot lock %s/%s: %s", dir, LOCK_NAME,
				  strerror(e));
	}
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(g->lockfd, 0) < 0 || seg_pwrite(g->lockfd, pid, (size_t)n, 0) < 0)
		log_warn("store: cannot record our pid in %s/%s", dir, LOCK_NAME);
	return 0;
}

/* A rewrite that a crash interrupted left its temporary file; the
 * original is intact. */
static void remove_leftovers(struct seg *g)
{
	int dfd = dir_stream_fd(g);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)))
		if (seg_compact_is_tmp(de->d_name) && strstr(de->d_name, SEG_SUFFIX) &&
		    unlinkat(g->dirfd, de->d_name, 0) == 0)
			log_info("store: removed %s left by an interrupted block rewrite", de->d_name);
	closedir(d);
}

/* A [store] compression as the encoder's compression and level. */
static void seg_comp_of(const struct store_conf *cf, int c, enum seg_comp *comp, int *level)
{
	switch (c) {
	case STORE_COMP_ZSTD:
		*comp = SEG_COMP_ZSTD;
		*level = (int)cf->level;
		break;
	case STORE_COMP_LZ4:
		*comp = SEG_COMP_LZ4;
		*level = 1;
		break;
	case STORE_COMP_LZ4_FAST:
		*comp = SEG_COMP_LZ4;
		*level = STORE_LZ4_FAST_ACCEL;
		break;
	default:
		*comp = SEG_COMP_NONE;
		*level = 0;
		break;
	}
}

static int seg_open(struct store *st, struct vt_err *err)
{
	struct seg *g = calloc(1, sizeof(*g));
	const struct store_conf *cf = &st->conf;
	int r;

	if (!g)
		return vt_err_set(err, -ENOMEM, "store: out of memory");
	g->st = st;
	g->writer = st->mode == STORE_WRITE;
	g->dirfd = g->lockfd = -1;
	pthread_rwlock_init(&g->idx, NULL);
	pthread_mutex_init(&g->refresh_mu, NULL);
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->wmu, NULL);
	pthread_mutex_init(&g->cmu, NULL);
	cond_init_monotonic(&g->cv_work);
	pthread_cond_init(&g->cv_space, NULL);
	cols_init(&g->pend[0]);
	cols_init(&g->pend[1]);
	cols_init(&g->gath);
	cols_init(&g->chunk);
	st->priv = g;

	if (g->writer && (r = mkdir_p(cf->dir)) < 0) {
		vt_err_set(err, r, "store: cannot create directory %s: %s", cf->dir, strerror(-r));
		goto fail;
	}
	g->dirfd = open(cf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->dirfd < 0) {
		r = -errno;
		vt_err_set(err, r, "store: cannot open directory %s: %s", cf->dir, strerror(-r));
		goto fail;
	}
	if (g->writer && (r = take_lock(g, err)) < 0)
		goto fail;
	if (g->writer)
		remove_leftovers(g);
	pthread_rwlock_wrlock(&g->idx);
	r = segb_refresh(g, g->writer);
	pthread_rwlock_unlock(&g->idx);
	if (r < 0) {
		vt_err_set(err, r, "store: cannot read %s: %s", cf->dir, strerror(-r));
		goto fail;
	}
	if (g->s.torn_tails)
		log_info("store: %s: recovered %llu torn tail(s), %llu bytes", cf->dir,
			 (unsigned long long)g->s.torn_tails, (unsigned long long)g->s.torn_bytes);
	if (!g->writer)
		return 0;
	seg_comp_of(cf, cf->compression, &g->comp, &g->level);
	seg_comp_of(cf, cf->busy_compression == STORE_COMP_SAME ? cf->compression
								 : cf->busy_compression,
		    &g->busy_comp, &g->busy_level);
	g->enc = seg_enc_new(g->comp, g->level);
	/* the appender summarizes a batch's first block as it goes: the
	 * flusher's encoder then skips a pass over its columns (cols.h).
	 * The append buffers are mapped now, whole: mapped by the first
	 * appends, they cost a collector's socket reader ~4,400 page faults
	 * in its first ~75 ms of traffic (cols_prefault) */
	if (!g->enc || cols_summarize(&g->pend[0], cf->block_rows) < 0 ||
	    cols_summarize(&g->pend[1], cf->block_rows) < 0 ||
	    cols_prefault(&g->pend[0], cf->max_pending) < 0 ||
	    cols_prefault(&g->pend[1], cf->max_pending) < 0) {
		r = -ENOMEM;
		vt_err_set(err, r, "store: out of memory");
		goto fail;
	}
	g->last_ret = mono_ms();
	if ((r = -pthread_create(&g->thr, NULL, flusher, g)) < 0) {
		vt_err_set(err, r, "store: cannot start the writer thread: %s", strerror(-r));
		goto fail;
	}
	g->thr_on = true;
	return 0;
fail:
	seg_free(g);
	st->priv = NULL;
	return r;
}

static void seg_close(struct store *st)
{
	struct seg *g = st->priv;

	if (!g)
		return;
	if (g->thr_on) {
		pthread_mutex_lock(&g->mu);
		g->stop = true;
		pthread_cond_signal(&g->cv_work);
		pthread_cond_broadcast(&g->cv_space);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->thr, NULL);
	}
	if (g->writer && g->st->conf.fsync)
		fsync(g->dirfd);
	seg_free(g);
	st->priv = NULL;
}

const struct store_ops store_segments_ops = {
	.name = "segments",
	.open = seg_open,
	.append = seg_append,
	.append_ready = seg_append_ready,
	.set_busy = seg_set_busy,
	.flush = seg_flush,
	.scan = segb_scan,
	.retention = segb_retention_op,
	.stats = seg_stats,
	.close = seg_close,
};
