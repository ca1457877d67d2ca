/* sink.h — where the ingest threads hand their decoded, attributed rows:
 * a bounded queue of batches and the one writer thread behind it.
 *
 * Ingest threads (UDP workers, the TCP thread) fill a batch of rows
 * (sink_batch_get), and hand it over (sink_push). The writer thread takes
 * batches in order and, for each row:
 *  1. learns which VMs an agent meters (a record observed at a VM's port
 *     makes that VM, and every VM of the same host, metered for
 *     metered_ttl) and decides whether the row is the primary observation
 *     of its flow (enrich_is_primary); a receiver-side observation whose
 *     sender is not (yet) known to be metered is held up to dedup_delay,
 *     because both agents export at about the same time and the sender's
 *     record may be in a later batch;
 *  2. adds it to the per-VM statistics (vmstats);
 *  3. appends every row to the store (sink_ops.append), duplicates too
 *     (the store keeps every observation), with the verdict in attr.dup
 *     (1 = an observation the rule did not count), so stored aggregates
 *     can count once (`vtap flows --once`) and agree with vmstats. A held
 *     row is appended when it is decided: up to dedup_delay later, and
 *     at sink_stop() at the latest.
 * A full queue makes a producer wait up to queue_wait, then the batch is
 * dropped and counted (rows_dropped): memory stays bounded and loss is
 * visible. Batches are recycled through a free list. */
#ifndef VT_COLLECTOR_SINK_H
#define VT_COLLECTOR_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/cols.h"

struct enrich;
struct vmstats;

struct sink_conf {
	uint64_t batch_rows;        /* rows per batch */
	uint64_t queue_batches;     /* batches queued at most */
	uint64_t reserve_batches;   /* batches allocated and mapped at sink_new() */
	uint64_t queue_wait_ms;     /* a producer waits this long on a full queue */
	uint64_t metered_ttl_ms;    /* a VM stays metered this long after its agent's last record */
	uint64_t dedup_delay_ms;    /* receiver-side rows wait this long for the sender's */
	uint64_t dedup_hold_rows;   /* bound of the rows waiting */
	uint64_t max_metered;       /* VMs and hosts remembered as metered */
};

void sink_conf_defaults(struct sink_conf *c);

struct sink_batch {
	struct flow_row *rows;      /* cap rows (owned by the sink) */
	size_t n, cap;
	struct sink_batch *next;
};

/* The destination of the rows (the store). append() may block (the
 * store's buffer is full); a negative return is counted (rows_lost). */
struct sink_ops {
	int (*append)(void *arg, const struct flow_row *rows, size_t n);
	/* optional: whether append() of <n> rows would not wait now */
	bool (*ready)(void *arg, size_t n);
	/* optional: whether any producer is busy (sink_set_busy) */
	void (*busy)(void *arg, bool busy);
	void *arg;
};

struct store;
/* sink_store_ops() : the ops that write the rows to store <st>
 * (store_append, store_append_ready, store_set_busy). */
struct sink_ops sink_store_ops(struct store *st);

struct sink_stats {
	uint64_t batches_in, rows_in;
	uint64_t rows_dropped, batches_dropped;   /* queue full past queue_wait */
	uint64_t waits;                           /* producers that had to wait */
	uint64_t queued, queue_peak;              /* batches */
	uint64_t rows_written, rows_lost;         /* append() ok / failed (held rows
						   * count once decided and appended) */
	uint64_t append_errors;
	uint64_t held, held_now, hold_overflow;   /* dedup_delay holds */
	uint64_t metered_vms, metered_hosts;      /* remembered now */
	uint64_t metered_overflow;
	uint64_t batches_allocated;
	uint64_t batches_inline;                  /* processed by the producer (one CPU) */
	uint64_t batches_deferred;                /* queued instead: the store would wait */
	uint64_t batches_reclaimed;               /* queued, then processed by a producer */
	uint64_t writer_yields;                   /* the writer left the queue to a producer */
};

struct sink;

/* sink_new() : <vs> and <en> (may be NULL) are not owned and must outlive
 * the sink. NULL with errno. */
struct sink *sink_new(const struct sink_conf *c, const struct sink_ops *ops, struct vmstats *vs,
		      struct enrich *en);
/* sink_start() : starts the writer thread. 0 or -errno. When the process
 * may run on one CPU only (its affinity), a producer that finds the queue
 * empty and the writer not busy processes its batch itself (sink_push):
 * on one CPU the thread handoff is only two context switches per batch. */
int sink_start(struct sink *s);
/* sink_stop() : processes every queued batch (and decides every held
 * row), then stops the writer. Producers must be stopped first. */
void sink_stop(struct sink *s);
void sink_free(struct sink *s);

/* sink_batch_get() : an empty batch (recycled or new); NULL on ENOMEM. */
struct sink_batch *sink_batch_get(struct sink *s);
/* sink_batch_put() : gives back a batch that will not be pushed. */
void sink_batch_put(struct sink *s, struct sink_batch *b);
/* sink_push() : hands <b> (owned by the sink afterwards) to the writer.
 * Returns 0, or -ENOBUFS when it was dropped (the queue stayed full for
 * queue_wait). An empty batch is recycled. */
int sink_push(struct sink *s, struct sink_batch *b);
/* The writer takes queued batches SINK_WAKE_BATCHES at a time, waiting at
 * most SINK_LINGER_MS for them after the first (fewer wakeups, sink.c).
 * Two batches of the default 512 rows (570 KB) are still in L2 when the
 * writer reads them; 16 (4.6 MB) were not: at 1 M records/s the writer
 * took 40-46 ticks per 5 M records with 16, 35-44 with 2, the wakeups
 * included. */
#define SINK_WAKE_BATCHES 2
#define SINK_LINGER_MS 10

/* sink_sync() : returns once every batch pushed before the call has been
 * processed and its rows appended, except the rows held for dedup_delay
 * (held_now), which are appended when decided (tests, shutdown). */
void sink_sync(struct sink *s);

/* sink_set_busy() : a producer (a socket reader) starts or stops using
 * most of its CPU. ops.busy hears when the first one starts and when the
 * last one stops, in that order. Each producer reports its own
 * transitions only. */
void sink_set_busy(struct sink *s, bool busy);
/* sink_backlog() : whether batches wait in the queue for the writer. */
bool sink_backlog(struct sink *s);
void sink_get_stats(struct sink *s, struct sink_stats *st);

#endif
