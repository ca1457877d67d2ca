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
 * every scan (new files, grown files, files removed by retention). */
#include "store/store.h"

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
#include "store/segfile.h"

#define LOCK_NAME "LOCK"
#define SEG_SUFFIX ".seg"
#define NAME_LEN 32
#define MAX_WRITE_FDS 8

struct blkref {
	uint64_t off;
	struct seg_blkhdr h;
};

struct part {
	uint64_t start_ms, len_ms;
	char name[NAME_LEN];
	uint64_t size;              /* end of the last valid block */
	uint64_t tmin, tmax, rows;
	struct blkref *blk;
	size_t nblk, blkcap;
	int wfd;                    /* writer's fd, -1 when closed */
	uint64_t last_use;          /* writer: for closing idle fds */
	dev_t dev;
	ino_t ino;
	bool seen;                  /* refresh: still in the directory */
};

struct seg {
	struct store *st;
	bool writer;
	int dirfd, lockfd;
	pthread_rwlock_t idx;       /* parts[] and everything in them */
	struct part **parts;        /* sorted by start_ms */
	size_t nparts, cap;
	pthread_mutex_t refresh_mu; /* readers: one refresh at a time */
	/* writer */
	pthread_mutex_t mu;         /* pend[], counters */
	pthread_cond_t cv_work, cv_space;
	struct flow_cols pend[2];
	int cur;                    /* pend[cur] takes appends */
	uint64_t pend_since;        /* mono ms of the oldest buffered row */
	bool stop;
	pthread_t thr;
	bool thr_on;
	pthread_mutex_t wmu;        /* one flush or retention at a time */
	struct seg_enc *enc;
	struct flow_cols gath;      /* write_batch: one partition's rows */
	struct flow_cols chunk;     /* write_blocks: one block's rows */
	uint32_t *idxbuf;       /* write_batch scratch: row indexes, partition starts */
	uint64_t *startbuf;
	size_t idxcap;
	uint64_t last_ret;
	uint64_t use_clock;     /* orders writes for closing idle fds */
	struct store_stats s;       /* writer and recovery counters (under mu) */
	/* query counters (atomic) */
	uint64_t scans, blocks_read, blocks_skipped, rows_scanned;
};

static uint64_t now_wall(const struct seg *g)
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

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
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

/* ---- the index ---------------------------------------------------------- */

static void part_free(struct part *p)
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
		struct blkref *b = realloc(p->blk, ncap * sizeof(*b));
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

static void parts_remove(struct seg *g, size_t i)
{
	memmove(&g->parts[i], &g->parts[i + 1], (g->nparts - i - 1) * sizeof(g->parts[0]));
	g->nparts--;
}

static struct part *parts_find(struct seg *g, uint64_t start_ms)
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
	if (p->size == 0) {
		uint8_t hb[SEG_FILE_HDR_LEN];
		uint64_t start, len;
		if ((uint64_t)sb.st_size < SEG_FILE_HDR_LEN ||
		    pread_full(fd, hb, sizeof(hb), 0) < 0 ||
		    seg_file_header_parse(hb, sizeof(hb), &start, &len) < 0) {
			if (recover && (uint64_t)sb.st_size < SEG_FILE_HDR_LEN) {
				/* created, then the crash came before the header */
				seg_file_header(hb, p->start_ms, g->st->conf.partition_ms);
				if (ftruncate(fd, 0) < 0 || pwrite_full(fd, hb, sizeof(hb), 0) < 0) {
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
static int refresh_locked(struct seg *g, bool recover)
{
	int dfd = dup(g->dirfd);
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
		struct stat sb;
		if (!parse_part_name(de->d_name, &start))
			continue;
		struct part *p = parts_find(g, start);
		if (p && fstatat(g->dirfd, de->d_name, &sb, 0) == 0 &&
		    (sb.st_ino != p->ino || sb.st_dev != p->dev)) {
			/* replaced under us: index it from scratch */
			p->nblk = 0;
			p->rows = 0;
			p->size = 0;
		}
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
			part_free(g->parts[i]);
			parts_remove(g, i);
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
	p = parts_find(g, start);
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
	if (pwrite_full(fd, hb, sizeof(hb), 0) < 0 || fstat(fd, &sb) < 0 ||
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
		part_free(p);
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

		if (c->n > per) {
			/* a block of its own with only the VMs it uses */
			size_t k = VT_MIN(per, c->n - from);
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
		if ((r = seg_enc_block(g->enc, blkcols, &blk, &len)) < 0)
			return r;
		if ((r = pwrite_full(fd, blk, len, p->size)) < 0) {
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
	uint64_t now = now_wall(g), plen = cf->partition_ms;
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

/* Writes what is buffered. Any thread; wmu orders concurrent flushes. */
static int do_flush(struct seg *g)
{
	struct flow_cols *b;
	int r = 0;

	pthread_mutex_lock(&g->wmu);
	pthread_mutex_lock(&g->mu);
	b = &g->pend[g->cur];
	g->cur ^= 1;
	g->pend_since = 0;
	pthread_cond_broadcast(&g->cv_space);
	pthread_mutex_unlock(&g->mu);
	if (b->n) {
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
		cols_reset(b);
	}
	pthread_mutex_unlock(&g->wmu);
	return r;
}

static int seg_retention(struct store *st, uint64_t now);

static void *flusher(void *arg)
{
	struct seg *g = arg;
	const struct store_conf *cf = &g->st->conf;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		uint64_t now = mono_ms();
		size_t n = g->pend[g->cur].n;
		bool due = n && now >= g->pend_since + cf->flush_ms;
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
			seg_retention(g->st, now_wall(g));
			pthread_mutex_lock(&g->mu);
			continue;
		}
		uint64_t wake = g->last_ret + cf->retention_check_ms;
		if (n && g->pend_since + cf->flush_ms < wake)
			wake = g->pend_since + cf->flush_ms;
		/* condvar timeouts are on CLOCK_MONOTONIC (set in seg_open) */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t wait = wake > now ? wake - now : 1;
		ts.tv_sec += (time_t)(wait / 1000);
		ts.tv_nsec += (long)(wait % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
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
		if (c->n >= cf->max_pending) {
			g->s.append_waits++;
			pthread_cond_signal(&g->cv_work);
			pthread_cond_wait(&g->cv_space, &g->mu);
			continue;
		}
		size_t k = VT_MIN(n, (size_t)cf->max_pending - c->n);
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

static int seg_flush(struct store *st)
{
	return do_flush(st->priv);
}

static int seg_retention(struct store *st, uint64_t now)
{
	struct seg *g = st->priv;
	const struct store_conf *cf = &st->conf;
	uint64_t total = 0;
	int dropped = 0;

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
		part_free(p);
		parts_remove(g, 0);
		dropped++;
	}
	pthread_mutex_lock(&g->mu);
	g->s.retention_runs++;
	pthread_mutex_unlock(&g->mu);
	pthread_rwlock_unlock(&g->idx);
	pthread_mutex_unlock(&g->wmu);
	return dropped;
}

/* ---- scanning ----------------------------------------------------------- */

struct snap_part {
	char name[NAME_LEN];
	size_t first, n;        /* range in the snapshot's blkref array */
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
static int scan_block(int fd, const struct blkref *br, const struct store_scan_req *req,
		      struct scan_ctx *x, store_batch_cb cb, void *arg,
		      struct store_scan_stats *ss)
{
	const struct seg_blkhdr *h = &br->h;
	struct seg_meta m;
	int r;

	if ((r = grow(&x->buf, &x->bufcap, h->meta_len ? h->meta_len : 1)) < 0)
		return r;
	if (pread_full(fd, x->buf, h->meta_len, br->off + SEG_BLK_HDR_LEN) < 0 ||
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
			if ((r = pread_full(fd, x->buf, ce->clen, data_off + ce->off)) < 0)
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

static int seg_scan(struct store *st, const struct store_scan_req *req, store_batch_cb cb,
		    void *arg, struct store_scan_stats *ss)
{
	struct seg *g = st->priv;
	struct snap_part *sp = NULL;
	struct blkref *sb = NULL;
	size_t nsp = 0, nsb = 0;
	struct scan_ctx x;
	int r = 0;

	memset(&x, 0, sizeof(x));
	cols_init(&x.batch);
	if (!g->writer) {
		pthread_mutex_lock(&g->refresh_mu);
		pthread_rwlock_wrlock(&g->idx);
		r = refresh_locked(g, false);
		pthread_rwlock_unlock(&g->idx);
		pthread_mutex_unlock(&g->refresh_mu);
		if (r < 0)
			return r;
	}
	/* snapshot the blocks that overlap the time range */
	pthread_rwlock_rdlock(&g->idx);
	size_t total = 0;
	for (size_t i = 0; i < g->nparts; i++)
		total += g->parts[i]->nblk;
	sp = calloc(g->nparts ? g->nparts : 1, sizeof(*sp));
	sb = calloc(total ? total : 1, sizeof(*sb));
	if (!sp || !sb) {
		pthread_rwlock_unlock(&g->idx);
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->nparts; i++) {
		const struct part *p = g->parts[i];
		if (!p->nblk || p->tmax < req->since_ms || p->tmin > req->until_ms) {
			ss->blocks += p->nblk;
			ss->blocks_skipped_time += p->nblk;
			continue;
		}
		ss->partitions++;
		memcpy(sp[nsp].name, p->name, NAME_LEN);
		sp[nsp].first = nsb;
		for (size_t b = 0; b < p->nblk; b++) {
			ss->blocks++;
			if (p->blk[b].h.tmax < req->since_ms || p->blk[b].h.tmin > req->until_ms) {
				ss->blocks_skipped_time++;
				continue;
			}
			sb[nsb++] = p->blk[b];
		}
		sp[nsp].n = nsb - sp[nsp].first;
		nsp++;
	}
	pthread_rwlock_unlock(&g->idx);

	for (size_t i = 0; i < nsp && r == 0; i++) {
		if (!sp[i].n)
			continue;
		int fd = openat(g->dirfd, sp[i].name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT) {
				ss->partitions_gone++;
				continue;
			}
			r = -errno;
			break;
		}
		for (size_t b = 0; b < sp[i].n && r == 0; b++)
			r = scan_block(fd, &sb[sp[i].first + b], req, &x, cb, arg, ss);
		close(fd);
	}
out:
	__atomic_fetch_add(&g->scans, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->blocks_read, ss->blocks_read, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->blocks_skipped, ss->blocks_skipped_time + ss->blocks_skipped_filter,
			   __ATOMIC_RELAXED);
	__atomic_fetch_add(&g->rows_scanned, ss->rows_scanned, __ATOMIC_RELAXED);
	free(sp);
	free(sb);
	cols_free(&x.batch);
	seg_dctx_free(&x.dctx);
	filter_ctx_free(&x.fctx);
	free(x.sel);
	free(x.buf);
	return r;
}

/* ---- open, stats, close ------------------------------------------------- */

static void seg_stats(struct store *st, struct store_stats *out)
{
	struct seg *g = st->priv;

	if (!g->writer) {
		pthread_mutex_lock(&g->refresh_mu);
		pthread_rwlock_wrlock(&g->idx);
		refresh_locked(g, false);
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
	for (size_t i = 0; i < g->nparts; i++)
		part_free(g->parts[i]);
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
	if (ftruncate(g->lockfd, 0) < 0 || pwrite_full(g->lockfd, pid, (size_t)n, 0) < 0)
		log_warn("store: cannot record our pid in %s/%s", dir, LOCK_NAME);
	return 0;
}

static int seg_open(struct store *st, struct vt_err *err)
{
	struct seg *g = calloc(1, sizeof(*g));
	const struct store_conf *cf = &st->conf;
	pthread_condattr_t ca;
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
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv_work, &ca);
	pthread_condattr_destroy(&ca);
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
	pthread_rwlock_wrlock(&g->idx);
	r = refresh_locked(g, g->writer);
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
	enum seg_comp comp = cf->compression == STORE_COMP_ZSTD ? SEG_COMP_ZSTD
			     : cf->compression == STORE_COMP_LZ4 ? SEG_COMP_LZ4 : SEG_COMP_NONE;
	g->enc = seg_enc_new(comp, (int)cf->level);
	if (!g->enc) {
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
	.flush = seg_flush,
	.scan = seg_scan,
	.retention = seg_retention,
	.stats = seg_stats,
	.close = seg_close,
};
