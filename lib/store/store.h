/* store.h — the flow store: where the collector puts flows and where
 * queries read them, behind an ops table so backends can change.
 *
 * The embedded backend ("segments", segstore.c) keeps time-partitioned,
 * compressed, columnar segment files in one directory (docs/store.md); a
 * ClickHouse backend will implement the same ops. One process opens a
 * store for writing (an exclusive lock on DIR/LOCK); any number of
 * processes may open it read-only at the same time and see every block the
 * writer has flushed.
 *
 * Threads: all functions may be called concurrently on one handle:
 * store_append() from ingest threads, store_scan() from query threads
 * while ingest continues. The writer flushes buffered rows on its own
 * thread every flush interval (and when a block fills), so a crash loses
 * at most the rows of the last interval. */
#ifndef VT_STORE_STORE_H
#define VT_STORE_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/err.h"
#include "query/filter.h"
#include "store/cols.h"

/* ---- configuration ([store] section) ------------------------------------ */

enum store_backend { STORE_BACKEND_SEGMENTS = 0 };
/* lz4-fast: lz4 at acceleration STORE_LZ4_FAST_ACCEL, the same format
 * (docs/store.md#compression-under-load) */
enum store_compression { STORE_COMP_ZSTD = 0, STORE_COMP_LZ4 = 1, STORE_COMP_NONE = 2,
			 STORE_COMP_LZ4_FAST = 3,
			 STORE_COMP_SAME = 4 /* busy_compression only */ };
#define STORE_LZ4_FAST_ACCEL 64
/* the names of enum store_compression below STORE_COMP_SAME, in order
 * (NULL-terminated), for options and config keys */
extern const char *const store_comp_names[];

struct store_conf {
	int backend;                 /* enum store_backend */
	char *dir;                   /* owned (conf_free / store_conf_free) */
	uint64_t flush_ms;           /* flush buffered rows at least this often */
	uint64_t partition_ms;       /* time covered by one segment file */
	uint64_t retention_age_ms;   /* drop partitions older than this; 0 = never */
	uint64_t retention_size;     /* keep total size under this; 0 = no limit */
	uint64_t retention_check_ms; /* how often the writer enforces retention */
	int compression;             /* enum store_compression */
	int busy_compression;        /* ... while the producer is busy
				      * (store_set_busy); SAME = compression */
	uint64_t level;              /* zstd level */
	uint64_t block_rows;         /* rows per block at most */
	uint64_t max_pending;        /* rows buffered before append waits */
	bool fsync;                  /* fdatasync() after each flush */
	/* not configuration: a clock for tests (NULL = wall clock) */
	uint64_t (*now_ms)(void);
};

#define STORE_CONF_NKEYS 13
extern const struct conf_key store_conf_keys[STORE_CONF_NKEYS];
#define STORE_CONF_HELP "the embedded flow store (docs/store.md)"
/* A [store] section for a daemon's schema, at <member> of <root_type>:
 *	static const struct conf_section secs[] = {
 *		..., STORE_CONF_SECTION(struct collector_conf, store), };  */
#define STORE_CONF_SECTION(root_type, member) \
	{ "store", STORE_CONF_HELP, store_conf_keys, STORE_CONF_NKEYS, \
	  offsetof(root_type, member), NULL }
/* The [store] section alone, listed by `vtap config-keys store`. */
extern const struct conf_schema store_conf_schema;

/* store_conf_init() : every default applied, dir set to <dir> (copied;
 * NULL keeps the default). 0 or -ENOMEM. Free with store_conf_free(). */
int store_conf_init(struct store_conf *c, const char *dir);
void store_conf_free(struct store_conf *c);

/* ---- rows in, rows out --------------------------------------------------- */

enum store_mode { STORE_RDONLY = 0, STORE_WRITE = 1 };

/* A query's scan: rows whose [first, last] overlaps [since, until] and
 * that match <filter>; the callback gets every batch that may hold such
 * rows, with the columns in <cols> (plus the filter's) decoded. */
struct store_scan_req {
	uint64_t since_ms, until_ms;   /* inclusive; 0 and UINT64_MAX = unbounded */
	const struct filter *filter;   /* NULL = every row */
	uint64_t cols;                 /* FC_BIT mask the consumer reads */
};

struct store_scan_stats {
	uint64_t partitions;           /* overlapping the time range */
	uint64_t blocks;               /* considered */
	uint64_t blocks_skipped_time;  /* by the header's time range */
	uint64_t blocks_skipped_filter;/* by the metadata (min/max, blooms, dictionaries) */
	uint64_t blocks_read;
	uint64_t rows_scanned;         /* rows of the blocks read */
	uint64_t rows_matched;
	uint64_t bytes_read;           /* meta + column bytes read from files */
	uint64_t corrupt_blocks;       /* failed checksum or decoding: skipped */
	uint64_t partitions_gone;      /* removed by retention during the scan */
};

/* Called once per batch; sel[i] != 0 for the <nsel> matching rows of
 * <c> (c->n rows). Returning non-zero stops the scan with that value. */
typedef int (*store_batch_cb)(void *arg, const struct flow_cols *c, const uint8_t *sel,
			      size_t nsel);

struct store_stats {
	/* writer */
	uint64_t rows_appended;
	uint64_t rows_flushed;         /* durable: in a written block */
	uint64_t rows_pending;
	uint64_t rows_misdated;        /* time outside the retention window: stored in the current partition */
	uint64_t rows_lost;            /* a flush failed (disk full...): rows dropped */
	uint64_t flushes, flush_errors, append_waits;
	uint64_t blocks_handed;        /* full blocks the appender gave the flusher */
	uint64_t blocks_written, bytes_written;
	uint64_t blocks_busy;          /* ... of them with busy_compression */
	uint64_t busy_switches;        /* store_set_busy() turning it on */
	uint64_t last_flush_ms;        /* wall clock of the last successful flush */
	/* contents */
	uint64_t partitions, blocks, rows, bytes_on_disk;
	uint64_t oldest_ms, newest_ms; /* time range of the rows; 0 when empty */
	/* recovery (open and refresh) */
	uint64_t torn_tails, torn_bytes;   /* crash leftovers, truncated by the writer */
	uint64_t corrupt_blocks, corrupt_bytes;
	/* retention */
	uint64_t retention_runs, partitions_dropped, rows_dropped, bytes_dropped;
	/* compaction of closed partitions' small blocks */
	uint64_t compactions, compact_blocks_in, compact_blocks_out, compact_errors;
	/* queries */
	uint64_t scans, blocks_read, blocks_skipped, rows_scanned;
};

struct store;

/* The backend interface. Each op gets the store; the backend keeps its
 * state in st->priv. Return conventions: 0 or -errno. */
struct store_ops {
	const char *name;
	int (*open)(struct store *st, struct vt_err *err);
	int (*append)(struct store *st, const struct flow_row *rows, size_t n);
	/* optional: whether append() of <n> rows would go on without waiting */
	bool (*append_ready)(struct store *st, size_t n);
	/* optional: the producer is (not) using most of its CPU */
	void (*set_busy)(struct store *st, bool busy);
	int (*flush)(struct store *st);
	int (*scan)(struct store *st, const struct store_scan_req *req, store_batch_cb cb,
		    void *arg, struct store_scan_stats *ss);
	int (*retention)(struct store *st, uint64_t now_ms);
	void (*stats)(struct store *st, struct store_stats *out);
	void (*close)(struct store *st);
};

/* Shared by the front end and backends; callers treat it as opaque. */
struct store {
	const struct store_ops *ops;
	struct store_conf conf;         /* a private copy (dir duplicated) */
	enum store_mode mode;
	void *priv;                     /* backend state */
	pthread_mutex_t zmu;            /* guards the zone names */
	char **zones;                   /* zone index i + 1 -> zones[i] (owned) */
	size_t nzones;
};

/* store_open() : opens (creating the directory in STORE_WRITE mode) the
 * store described by <conf> (copied). NULL with errno set and a message in
 * <err> that names the directory and the problem; -EBUSY when another
 * process has it open for writing. Close with store_close(). */
struct store *store_open(const struct store_conf *conf, enum store_mode mode,
			 struct vt_err *err);
/* store_append() : buffers <n> rows (copied); waits while the buffer is
 * full (the writer is behind), so memory stays bounded. 0, -EROFS on a
 * read-only store. */
int store_append(struct store *st, const struct flow_row *rows, size_t n);
/* store_append_ready() : whether store_append() of <n> rows would return
 * without waiting for the writer now (another appender may take the room
 * first). A thread that must not stall (a socket reader) asks first and
 * hands its rows to one that may wait when the answer is no. */
bool store_append_ready(struct store *st, size_t n);
/* store_set_busy() : the producer says whether it is using most of the
 * CPU it has (a collector's socket reader near its limit). While busy,
 * the segments backend writes its blocks with busy_compression (lz4-fast
 * by default: half the CPU of zstd 1 to encode a block, files about a
 * quarter larger; docs/store.md), so the CPU the reader needs is not
 * spent on compressing better. */
void store_set_busy(struct store *st, bool busy);
/* store_flush() : writes every buffered row now and returns when they are
 * in the files. */
int store_flush(struct store *st);
/* store_scan() : see struct store_scan_req. <ss> (may be NULL) receives
 * what was read and skipped. Safe while another thread appends. */
int store_scan(struct store *st, const struct store_scan_req *req, store_batch_cb cb,
	       void *arg, struct store_scan_stats *ss);
/* store_retention() : drops partitions past the configured age and size
 * now, then rewrites the small blocks of one closed partition into full
 * ones, to completion (the writer does both every retention_check_ms, the
 * rewrite a bounded step at a time). Returns the number of partitions
 * dropped or -errno (-EROFS when read-only). */
int store_retention(struct store *st, uint64_t now_ms);
void store_stats(struct store *st, struct store_stats *out);
/* store_set_zones() : the names of zone indexes 1..n (copied), written
 * with the rows so queries can match zones by name later. */
int store_set_zones(struct store *st, const char *const *names, size_t n);
/* store_close() : flushes, stops the writer thread, releases the lock.
 * Accepts NULL. */
void store_close(struct store *st);

/* For backends: copies the current zone names into <zm>/<buf> under the
 * lock (the caller frees *names with store_zones_release). */
int store_zones_snapshot(struct store *st, struct fc_zonemap *zm);
void store_zones_release(struct fc_zonemap *zm);

/* The embedded backend (segstore.c). */
extern const struct store_ops store_segments_ops;

#endif
