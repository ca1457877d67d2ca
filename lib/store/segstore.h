/* segstore.h — internals of the segments backend, shared by segstore.c
 * (open, index, writer, retention, compaction) and segscan.c (scans).
 * Nothing outside lib/store includes this; the public API is store.h.
 *
 * Locks, in the order they nest: cmu (compaction) -> wmu (writes to files
 * and the index's structure) -> idx (rwlock over parts[] and their block
 * lists) -> mu (buffers, counters) -> the store's zmu. refresh_mu
 * serializes readers' index refreshes. */
#ifndef VT_STORE_SEGSTORE_H
#define VT_STORE_SEGSTORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/segcompact.h"
#include "store/segenc.h"
#include "store/segfile.h"
#include "store/store.h"

#define SEGB_NAME_LEN 32

struct part {
	uint64_t start_ms, len_ms;
	char name[SEGB_NAME_LEN];
	uint64_t size;              /* end of the last valid block */
	uint64_t tmin, tmax, rows;
	struct seg_blkref *blk;
	size_t nblk, blkcap;
	int wfd;                    /* writer's fd, -1 when closed */
	uint64_t last_use;          /* writer: for closing idle fds */
	dev_t dev;
	ino_t ino;
	bool seen;                  /* refresh: still in the directory */
	bool no_compact;            /* a rewrite failed: leave it as it is */
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
	int cur;                    /* pend[cur] takes appends; pend[cur ^ 1],
				     * when it holds rows, is a full block
				     * handed to the flusher (seg_append) */
	uint64_t pend_since;        /* mono ms of the oldest buffered row */
	bool stop;
	pthread_t thr;
	bool thr_on;
	pthread_mutex_t wmu;        /* one flush or retention at a time */
	struct seg_enc *enc;
	enum seg_comp comp, busy_comp; /* configured; while busy */
	int level, busy_level;      /* their seg_enc levels */
	int busy;                   /* atomic: store_set_busy() */
	struct flow_cols gath;      /* write_batch: one partition's rows */
	struct flow_cols chunk;     /* write_blocks: one block's rows */
	uint32_t *idxbuf;       /* write_batch scratch: row indexes, partition starts */
	uint64_t *startbuf;
	size_t idxcap;
	uint64_t last_ret;
	uint64_t use_clock;     /* orders writes for closing idle fds */
	struct store_stats s;       /* writer and recovery counters (under mu) */
	/* compaction: at most one partition at a time (under cmu) */
	pthread_mutex_t cmu;
	struct seg_compact *cmp;
	uint64_t cmp_start;         /* the partition being rewritten */
	size_t cmp_nsrc;            /* its blocks when the rewrite began */
	int cmp_active;             /* atomic copy of cmp != NULL for the flusher */
	/* query counters (atomic) */
	uint64_t scans, blocks_read, blocks_skipped, rows_scanned;
};

/* segb_now() : the store's wall clock (tests may replace it). */
uint64_t segb_now(const struct seg *g);
/* segb_refresh() : brings the index in line with the directory (readers;
 * the writer at open, with <recover>: torn tails truncated). The caller
 * holds idx for writing. */
int segb_refresh(struct seg *g, bool recover);
/* segb_find() : the partition starting at <start_ms>, or NULL; the caller
 * holds idx. */
struct part *segb_find(struct seg *g, uint64_t start_ms);
/* segb_part_free() / segb_parts_remove() : the index (caller holds idx). */
void segb_part_free(struct part *p);
void segb_parts_remove(struct seg *g, size_t i);
/* segb_retention() : retention and compaction (segmaint.c); with <finish>
 * the rewrite picked runs to its end. Returns partitions dropped. */
int segb_retention(struct seg *g, uint64_t now, bool finish);
int segb_retention_op(struct store *st, uint64_t now);
/* segb_compact_step() : one bounded step of the current rewrite (caller
 * holds cmu); 1 while more remains. */
int segb_compact_step(struct seg *g);
/* segb_scan() : the scan op (segscan.c). */
int segb_scan(struct store *st, const struct store_scan_req *req, store_batch_cb cb, void *arg,
	      struct store_scan_stats *ss);

#endif
