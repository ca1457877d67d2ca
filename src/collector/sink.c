/* sink.c — the batch queue and the writer thread (sink.h).
 *
 * Producers and the writer share one mutex (mu) per batch (hundreds of
 * rows), not per row. Everything the count-once rule needs (which VMs and
 * hosts an agent meters, rows waiting for their sender's record) belongs
 * to whoever processes batches, under a second mutex (proc): the writer
 * thread, or on one CPU a producer processing its own batch. Lock order:
 * proc, then mu. */
#include "collector/sink.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/enrich.h"
#include "collector/vmstats.h"
#include "core/compiler.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timeutil.h"
#include "store/store.h"

void sink_conf_defaults(struct sink_conf *c)
{
	c->batch_rows = 256;
	c->queue_batches = 1024;
	c->reserve_batches = 0;
	c->queue_wait_ms = 2000;
	c->metered_ttl_ms = 900000;
	c->dedup_delay_ms = 2000;
	c->dedup_hold_rows = 16384;
	c->max_metered = 65536;
}

/* ---- "metered" tables: 16-byte key -> last time seen -------------------- */

struct mslot {
	uint8_t k[16];
	uint64_t t;                 /* 0 = empty */
};

struct mtab {
	struct mslot *s;
	size_t mask, n, max;
	uint64_t seed;
};

static int mtab_init(struct mtab *m, size_t max)
{
	size_t cap = 16;

	while (cap < max * 2)
		cap <<= 1;
	m->s = calloc(cap, sizeof(*m->s));
	if (!m->s)
		return -ENOMEM;
	m->mask = cap - 1;
	m->n = 0;
	m->max = max;
	m->seed = vt_hash_seed();
	return 0;
}

static struct mslot *mtab_slot(const struct mtab *m, const uint8_t k[16])
{
	size_t i = vt_hash(k, 16, m->seed) & m->mask;

	while (m->s[i].t && memcmp(m->s[i].k, k, 16))
		i = (i + 1) & m->mask;
	return &m->s[i];
}

/* Drops entries older than <ttl>; rebuilds the probe chains. */
static void mtab_expire(struct mtab *m, uint64_t now, uint64_t ttl)
{
	size_t cap = m->mask + 1, keep = 0;
	struct mslot *old = malloc(cap * sizeof(*old));

	if (!old)
		return;
	memcpy(old, m->s, cap * sizeof(*old));
	memset(m->s, 0, cap * sizeof(*old));
	for (size_t i = 0; i < cap; i++)
		if (old[i].t && now - old[i].t <= ttl) {
			*mtab_slot(m, old[i].k) = old[i];
			keep++;
		}
	m->n = keep;
	free(old);
}

static bool mtab_touch(struct mtab *m, const uint8_t k[16], uint64_t now, uint64_t ttl)
{
	struct mslot *s = mtab_slot(m, k);

	if (!s->t) {
		if (m->n >= m->max) {
			mtab_expire(m, now, ttl);
			if (m->n >= m->max)
				return false;
			s = mtab_slot(m, k);
		}
		memcpy(s->k, k, 16);
		m->n++;
	}
	s->t = now ? now : 1;
	return true;
}

static bool mtab_fresh(const struct mtab *m, const uint8_t k[16], uint64_t now, uint64_t ttl)
{
	const struct mslot *s = mtab_slot(m, k);

	return s->t && now - s->t <= ttl;
}

/* ---- the sink ----------------------------------------------------------- */

/* What the count-once rule made of a row. */
enum verdict { V_COUNTED, V_DUP, V_HELD };

struct sink {
	struct sink_conf c;
	struct sink_ops ops;
	struct vmstats *vs;
	struct enrich *en;

	/* held while a batch is processed or held rows released (the
	 * writer's state below): by the writer, or by a producer (one_cpu) */
	pthread_mutex_t proc;
	bool one_cpu;                   /* the affinity allows one CPU: see sink_push */
	pthread_mutex_t busy_mu;        /* sink_set_busy: */
	unsigned busy;                  /* producers busy */
	pthread_mutex_t mu;
	pthread_cond_t nonempty, nonfull, done;
	struct sink_batch *qhead, *qtail;
	size_t qlen;
	struct sink_batch *free_list;
	bool stop, started;
	bool idle;                      /* the writer sleeps on an empty queue */
	unsigned hurry;                 /* sink_sync() callers waiting: no lingering */
	pthread_t th;
	uint64_t pushed, processed;     /* batches, for sink_sync */
	struct sink_stats st;

	/* the processing thread only (under proc) */
	struct enrich_snap *snap;
	uint64_t snap_gen;
	struct mtab vm_met, host_met;
	uint64_t seed;
	/* rows waiting for a decision: a ring of dedup_hold_rows, rows and
	 * due times apart so that a run of decided rows is appended as is */
	struct flow_row *hold;
	uint64_t *hold_due;
	size_t hhead, hlen;
	uint64_t held_total, hold_overflow, metered_overflow;
	uint64_t rows_written, rows_lost, append_errors;
};

/* A new batch, counted in batches_allocated (takes mu). */
static struct sink_batch *batch_alloc(struct sink *s)
{
	struct sink_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->rows = malloc(s->c.batch_rows * sizeof(*b->rows));
	if (!b->rows) {
		free(b);
		return NULL;
	}
	b->cap = s->c.batch_rows;
	pthread_mutex_lock(&s->mu);
	s->st.batches_allocated++;
	pthread_mutex_unlock(&s->mu);
	return b;
}

static void recycle_locked(struct sink *s, struct sink_batch *b)
{
	b->n = 0;
	b->next = s->free_list;
	s->free_list = b;
}

struct sink *sink_new(const struct sink_conf *c, const struct sink_ops *ops, struct vmstats *vs,
		      struct enrich *en)
{
	struct sink *s;

	if (!c->batch_rows || !c->queue_batches || !c->max_metered) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->c = *c;
	s->ops = *ops;
	s->vs = vs;
	s->en = en;
	s->seed = vt_hash_seed();
	if (mtab_init(&s->vm_met, c->max_metered) < 0 || mtab_init(&s->host_met, 4096) < 0) {
		free(s->vm_met.s);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&s->proc, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->busy_mu, NULL);
	/* the writer's waits (idle, linger) are on CLOCK_MONOTONIC */
	cond_init_monotonic(&s->nonempty);
	pthread_cond_init(&s->nonfull, NULL);
	pthread_cond_init(&s->done, NULL);
	/* the reserve: batches allocated and mapped now, so that the queue
	 * filling behind a stalled store does not also make the producer wait
	 * for the kernel to map each new batch (70 pages at 512 rows, ~110 us at
	 * the 1.6 us a page measured here: more than the 85 us in which 512 records
	 * arrive at 6 M/s) */
	for (uint64_t i = 0; i < c->reserve_batches; i++) {
		struct sink_batch *b = batch_alloc(s);
		if (!b) {
			sink_free(s);
			errno = ENOMEM;
			return NULL;
		}
		vt_touch_pages(b->rows, b->cap * sizeof(*b->rows));
		recycle_locked(s, b);   /* no other thread has <s> yet */
	}
	return s;
}

static void batch_free(struct sink_batch *b)
{
	if (b) {
		free(b->rows);
		free(b);
	}
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
	if (s->started)
		sink_stop(s);
	for (struct sink_batch *b = s->qhead, *n; b; b = n) {
		n = b->next;
		batch_free(b);
	}
	for (struct sink_batch *b = s->free_list, *n; b; b = n) {
		n = b->next;
		batch_free(b);
	}
	if (s->en && s->snap)
		enrich_put(s->en, s->snap);
	free(s->vm_met.s);
	free(s->host_met.s);
	free(s->hold);
	free(s->hold_due);
	pthread_mutex_destroy(&s->proc);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->busy_mu);
	pthread_cond_destroy(&s->nonempty);
	pthread_cond_destroy(&s->nonfull);
	pthread_cond_destroy(&s->done);
	free(s);
}

struct sink_batch *sink_batch_get(struct sink *s)
{
	struct sink_batch *b;

	pthread_mutex_lock(&s->mu);
	b = s->free_list;
	if (b)
		s->free_list = b->next;
	pthread_mutex_unlock(&s->mu);
	if (b) {
		b->n = 0;
		b->next = NULL;
		return b;
	}
	return batch_alloc(s);
}

void sink_batch_put(struct sink *s, struct sink_batch *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&s->mu);
	recycle_locked(s, b);
	pthread_mutex_unlock(&s->mu);
}

/* Batches queued that wake a lingering writer (writer_main). */
static size_t wake_at(const struct sink *s)
{
	return VT_MIN((size_t)SINK_WAKE_BATCHES, s->c.queue_batches);
}

static void process(struct sink *s, struct sink_batch *b);

/* <b> is accepted for processing (queued or inline); under mu. */
static void accepted_locked(struct sink *s, const struct sink_batch *b)
{
	s->st.batches_in++;
	s->st.rows_in += b->n;
	s->pushed++;
}

/* <b> is processed: recycled, and sink_sync() callers told; under mu. */
static void processed_locked(struct sink *s, struct sink_batch *b)
{
	recycle_locked(s, b);
	s->processed++;
	pthread_cond_broadcast(&s->done);
}

#define SINK_RECLAIM_MAX 2

/* Takes the queue's first batch (there is one); under mu, with proc held
 * (only a holder of proc takes from the queue). */
static struct sink_batch *dequeue_locked(struct sink *s)
{
	struct sink_batch *b = s->qhead;

	s->qhead = b->next;
	if (!s->qhead)
		s->qtail = NULL;
	s->qlen--;
	pthread_cond_signal(&s->nonfull);
	return b;
}

/* On one CPU the writer thread only adds two context switches per batch
 * (each an exit in a VM) and lets the batch's rows leave the cache: the
 * producer processes <b> itself when nothing is queued (order), the
 * writer is not processing (proc is free) and the store takes the rows
 * without waiting. Returns whether it did. */
static bool push_inline(struct sink *s, struct sink_batch *b)
{
	if (pthread_mutex_trylock(&s->proc) != 0)
		return false;
	/* batches queued after a stall of the store first, in order (only a
	 * holder of proc takes from the queue), then <b>: left to the
	 * writer, they would keep every later batch on the slower threaded
	 * path. A store that would make us wait (its flusher behind, a slow
	 * fdatasync) gets the batch through the queue: the writer thread
	 * waits, the producer goes back to its socket. At most
	 * SINK_RECLAIM_MAX queued batches per push: the socket fills while
	 * they are written, and a backlog taken back in one go overflowed it
	 * (hundreds of batches after a 50 ms stall); <b> then goes to the
	 * queue behind the rest, which shrinks by one batch per push. */
	for (unsigned taken = 0;; taken++) {
		pthread_mutex_lock(&s->mu);
		struct sink_batch *q = s->qhead;
		bool can = !s->stop && s->started;
		pthread_mutex_unlock(&s->mu);
		if (q && taken == SINK_RECLAIM_MAX) {
			pthread_mutex_unlock(&s->proc);
			return false;
		}
		struct sink_batch *next = q ? q : b;
		bool ready = can && (!s->ops.ready || s->ops.ready(s->ops.arg, next->n + s->hlen));
		pthread_mutex_lock(&s->mu);
		if (!ready) {
			s->st.batches_deferred += can && !q;
			pthread_mutex_unlock(&s->mu);
			pthread_mutex_unlock(&s->proc);
			return false;
		}
		if (q) {
			dequeue_locked(s);
			s->st.batches_reclaimed++;
		} else {
			accepted_locked(s, b);
			s->st.batches_inline++;
		}
		pthread_mutex_unlock(&s->mu);
		process(s, next);
		pthread_mutex_lock(&s->mu);
		processed_locked(s, next);
		pthread_mutex_unlock(&s->mu);
		if (!q)
			break;
	}
	pthread_mutex_unlock(&s->proc);
	return true;
}

int sink_push(struct sink *s, struct sink_batch *b)
{
	struct timespec dl;
	bool wake = false;
	int r = 0;

	if (!b->n) {
		sink_batch_put(s, b);
		return 0;
	}
	if (s->one_cpu && push_inline(s, b))
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->qlen >= s->c.queue_batches) {
		s->st.waits++;
		pthread_cond_signal(&s->nonempty);
		dl = deadline_after_ms(CLOCK_REALTIME, s->c.queue_wait_ms);
		while (s->qlen >= s->c.queue_batches && !s->stop)
			if (pthread_cond_timedwait(&s->nonfull, &s->mu, &dl) == ETIMEDOUT)
				break;
	}
	if (s->qlen >= s->c.queue_batches) {
		s->st.batches_dropped++;
		s->st.rows_dropped += b->n;
		recycle_locked(s, b);
		r = -ENOBUFS;
	} else {
		b->next = NULL;
		if (s->qtail)
			s->qtail->next = b;
		else
			s->qhead = b;
		s->qtail = b;
		s->qlen++;
		s->st.queue_peak = VT_MAX(s->st.queue_peak, s->qlen);
		accepted_locked(s, b);
		/* an idle writer is woken by the first batch, a lingering one
		 * when enough are queued (writer_main) */
		wake = s->idle || s->qlen >= wake_at(s);
	}
	pthread_mutex_unlock(&s->mu);
	/* after the unlock: on one core the woken writer runs at once, and
	 * would only find the mutex still held by this thread (perf: 3.8 %
	 * of the collector's samples in the switches of that round trip) */
	if (wake)
		pthread_cond_signal(&s->nonempty);
	if (r < 0)
		log_ratelimited(LOG_LVL_WARN, "collector: writer queue full for %llu ms: batch dropped",
				(unsigned long long)s->c.queue_wait_ms);
	return r;
}

/* ---- the count-once rule ------------------------------------------------ */

static void vm_key16(const struct sink *s, const struct vm_ident *v, uint8_t k[16])
{
	if (!uuid_is_nil(v->uuid)) {
		memcpy(k, v->uuid, 16);
	} else {
		size_t n = strnlen(v->name, sizeof(v->name));
		uint64_t a = vt_hash(v->name, n, s->seed ^ 3), b = vt_hash(v->name, n, s->seed ^ 4);
		memcpy(k, &a, 8);
		memcpy(k + 8, &b, 8);
	}
}

static void host_key16(const struct sink *s, const char *name, uint8_t k[16])
{
	size_t n = strlen(name);
	uint64_t a = vt_hash(name, n, s->seed ^ 5), b = vt_hash(name, n, s->seed ^ 6);

	memcpy(k, &a, 8);
	memcpy(k + 8, &b, 8);
}

static const struct inv_vm *inv_of(const struct sink *s, const struct vm_ident *v)
{
	const struct inv_vm *vm = enrich_by_uuid(s->snap, v->uuid);

	return vm ? vm : uuid_is_nil(v->uuid) ? enrich_by_name(s->snap, v->name) : NULL;
}

/* A row observed at a VM's port: that VM, and the host its exporter is,
 * are metered by an agent. */
static void learn(struct sink *s, const struct flow_row *row, uint64_t now)
{
	const struct flow_rec *r = &row->rec;
	uint8_t k[16];
	bool ok = true;

	/* no observing VM (the row says so without reading it) */
	if ((row->attr.nil_vms & FLOWATTR_NIL_VM) || enrich_obs_side(r, &row->attr) == OBS_NONE)
		return;
	vm_key16(s, &r->vm, k);
	ok &= mtab_touch(&s->vm_met, k, now, s->c.metered_ttl_ms);
	const struct inv_host *h = enrich_host_by_addr(s->snap, &r->exporter);
	if (h) {
		host_key16(s, h->name, k);
		ok &= mtab_touch(&s->host_met, k, now, s->c.metered_ttl_ms);
	}
	if (!ok)
		s->metered_overflow++;
}

static bool metered(struct sink *s, const struct vm_ident *v, uint64_t now)
{
	uint8_t k[16];
	const struct inv_vm *vm;

	/* no agent has exported yet (plain NetFlow with an inventory): no
	 * key to hash, no table to probe */
	if ((!s->vm_met.n && !s->host_met.n) || !vm_known(v))
		return false;
	vm_key16(s, v, k);
	if (mtab_fresh(&s->vm_met, k, now, s->c.metered_ttl_ms))
		return true;
	vm = inv_of(s, v);
	if (vm && vm->host[0]) {
		host_key16(s, vm->host, k);
		return mtab_fresh(&s->host_met, k, now, s->c.metered_ttl_ms);
	}
	return false;
}

/* Where each VM of the row runs: the host of the exporter that observed
 * it at its port, else the inventory's. */
static void hints(struct sink *s, const struct flow_row *row, enum obs_side side,
		  struct vmstats_hint *h)
{
	const struct inv_host *eh = NULL;
	const struct inv_vm *vm;

	h->src_host = h->dst_host = NULL;
	if (side != OBS_NONE)
		eh = enrich_host_by_addr(s->snap, &row->rec.exporter);
	if (attr_vm_known(&row->attr, FLOWATTR_NIL_SRC, &row->attr.src_vm)) {
		if (side == OBS_SRC && eh)
			h->src_host = eh->name;
		else if ((vm = inv_of(s, &row->attr.src_vm)))
			h->src_host = vm->host;
	}
	if (attr_vm_known(&row->attr, FLOWATTR_NIL_DST, &row->attr.dst_vm)) {
		if (side == OBS_DST && eh)
			h->dst_host = eh->name;
		else if ((vm = inv_of(s, &row->attr.dst_vm)))
			h->dst_host = vm->host;
	}
}

static void account(struct sink *s, const struct flow_row *row, bool primary, enum obs_side side,
		    uint64_t now)
{
	struct vmstats_hint h;

	if (!s->vs)
		return;
	hints(s, row, side, &h);
	h.primary = primary;
	vmstats_add(s->vs, &row->rec, &row->attr, &h, now);
}

/* decide() : counts <row> now (V_COUNTED, or V_DUP for an observation
 * the rule does not count), or holds a copy of it while the answer could
 * still change (a VM end not yet known to be metered) and agents are
 * around (V_HELD: release() decides and appends it later). A row with no
 * VM at either end goes into <pl>'s sums (the caller adds them to the
 * statistics once per batch: vmstats_add_plain). */
static enum verdict decide(struct sink *s, const struct flow_row *row, uint64_t now,
			   bool may_hold, struct vmstats_plain *pl)
{
	const struct flow_rec *r = &row->rec;
	const struct flow_attr *a = &row->attr;
	/* by the row's nil hint first: the identities are 300 bytes of it */
	bool sv = attr_vm_known(a, FLOWATTR_NIL_SRC, &a->src_vm),
	     dv = attr_vm_known(a, FLOWATTR_NIL_DST, &a->dst_vm);

	/* the common case of plain NetFlow: no VM anywhere, counted once */
	if (!sv && !dv && !attr_vm_known(a, FLOWATTR_NIL_VM, &r->vm)) {
		vmstats_plain_row(pl, r, a);
		return V_COUNTED;
	}
	enum obs_side side = enrich_obs_side(r, a);
	bool sm = sv && metered(s, &a->src_vm, now), dm = dv && metered(s, &a->dst_vm, now);
	bool primary = enrich_is_primary(r, a, sm, dm);
	bool open = side == OBS_DST ? sv && !sm : side == OBS_NONE && ((sv && !sm) || (dv && !dm));

	if (primary && open && may_hold && s->c.dedup_delay_ms && s->vm_met.n) {
		size_t cap = s->c.dedup_hold_rows;
		if (cap && !s->hold) {
			s->hold = malloc(cap * sizeof(*s->hold));
			s->hold_due = malloc(cap * sizeof(*s->hold_due));
			if (!s->hold || !s->hold_due) {
				free(s->hold);
				free(s->hold_due);
				s->hold = NULL;
				s->hold_due = NULL;
			}
		}
		if (s->hold && s->hlen < cap) {
			size_t at = (s->hhead + s->hlen) % cap;
			s->hold[at] = *row;
			s->hold_due[at] = now + s->c.dedup_delay_ms;
			s->hlen++;
			s->held_total++;
			return V_HELD;
		}
		s->hold_overflow++;
	}
	account(s, row, primary, side, now);
	return primary ? V_COUNTED : V_DUP;
}

/* Appends <n> decided rows to the store; the outcome is counted (and
 * published with the other counters). */
static void store_rows(struct sink *s, const struct flow_row *rows, size_t n)
{
	int r;

	if (!n)
		return;
	r = s->ops.append ? s->ops.append(s->ops.arg, rows, n) : 0;
	if (r < 0) {
		s->rows_lost += n;
		s->append_errors++;
		log_ratelimited(LOG_LVL_ERR, "collector: store append failed: %s (%zu rows lost)",
				strerror(-r), n);
	} else {
		s->rows_written += n;
	}
}

/* Decides the held rows whose delay is over (all with <all>), marks each
 * with its verdict and appends them: the ring's oldest rows, in at most
 * two contiguous runs. */
static void release(struct sink *s, uint64_t now, bool all)
{
	size_t cap = s->c.dedup_hold_rows, k = 0;

	if (!s->hlen)
		return;
	struct vmstats_plain pl = { 0 };

	if (s->vs)
		vmstats_begin(s->vs);
	while (k < s->hlen && (all || s->hold_due[(s->hhead + k) % cap] <= now)) {
		struct flow_row *row = &s->hold[(s->hhead + k) % cap];
		row->attr.dup = decide(s, row, now, false, &pl) == V_DUP;
		k++;
	}
	if (s->vs) {
		vmstats_add_plain(s->vs, &pl);
		vmstats_end(s->vs);
	}
	size_t run = VT_MIN(k, cap - s->hhead);
	store_rows(s, &s->hold[s->hhead], run);
	store_rows(s, s->hold, k - run);
	s->hhead = (s->hhead + k) % cap;
	s->hlen -= k;
}

static void refresh_snap(struct sink *s)
{
	uint64_t g;

	if (!s->en)
		return;
	g = enrich_generation(s->en);
	if (s->snap && g == s->snap_gen)
		return;
	if (s->snap)
		enrich_put(s->en, s->snap);
	s->snap = enrich_get(s->en);
	s->snap_gen = g;
}

/* Copies the writer's own counters into the shared statistics. */
static void publish_locked(struct sink *s)
{
	s->st.held = s->held_total;
	s->st.held_now = s->hlen;
	s->st.hold_overflow = s->hold_overflow;
	s->st.metered_vms = s->vm_met.n;
	s->st.metered_hosts = s->host_met.n;
	s->st.metered_overflow = s->metered_overflow;
	s->st.rows_written = s->rows_written;
	s->st.rows_lost = s->rows_lost;
	s->st.append_errors = s->append_errors;
}

static void process(struct sink *s, struct sink_batch *b)
{
	uint64_t now = wall_ms();
	struct vmstats_plain pl = { 0 };
	size_t m = 0;

	refresh_snap(s);
	/* learn from the whole batch first: the sender's and the receiver's
	 * records often arrive together */
	for (size_t i = 0; i < b->n; i++)
		learn(s, &b->rows[i], now);
	if (s->vs)
		vmstats_begin(s->vs);
	/* the store gets each row with its verdict; a held row leaves the
	 * batch (the ring has its copy) and is appended when decided */
	for (size_t i = 0; i < b->n; i++) {
		enum verdict v = decide(s, &b->rows[i], now, true, &pl);
		if (v == V_HELD)
			continue;
		b->rows[i].attr.dup = v == V_DUP;
		if (m != i)
			b->rows[m] = b->rows[i];
		m++;
	}
	if (s->vs) {
		vmstats_add_plain(s->vs, &pl);
		vmstats_end(s->vs);
	}
	store_rows(s, b->rows, m);
	release(s, now, false);
	pthread_mutex_lock(&s->mu);
	publish_locked(s);
	pthread_mutex_unlock(&s->mu);
}

static bool queue_short(const struct sink *s)
{
	return s->qlen < wake_at(s);
}

static bool queue_left(const struct sink *s)
{
	return s->qhead != NULL;
}

/* The writer's linger, under mu: waits for batches (nonempty) while
 * <more>(s) says so, at most SINK_LINGER_MS, unless the sink stops or is
 * hurried. */
static void linger_locked(struct sink *s, bool (*more)(const struct sink *))
{
	struct timespec dl = deadline_after_ms(CLOCK_MONOTONIC, SINK_LINGER_MS);

	while (more(s) && !s->stop && !s->hurry)
		if (pthread_cond_timedwait(&s->nonempty, &s->mu, &dl) == ETIMEDOUT)
			break;
}

/* Wakeups: on a single core every wakeup of the writer is a context
 * switch away from an ingest thread (about 10 us each in our 2-core VM:
 * perf put 17 % of 2.3 s of CPU in finish_task_switch over 35 k
 * switches), and at 1 M records/s a batch comes every 0.5 ms. An idle
 * writer is woken by the first batch, then lingers up to SINK_LINGER_MS (or until
 * SINK_WAKE_BATCHES are queued) and takes everything queued at once.
 * The linger is part of the time a row may wait before the store has it
 * (collector.c runs the store's flusher that much earlier). */
static void *writer_main(void *arg)
{
	struct sink *s = arg;

	pthread_setname_np(pthread_self(), "vtap-writer");
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (!s->qhead && !s->stop) {
			struct timespec dl = deadline_after_ms(CLOCK_MONOTONIC, 100);
			s->idle = true;
			pthread_cond_timedwait(&s->nonempty, &s->mu, &dl);
			s->idle = false;
			if (!s->qhead) {
				/* held rows that are due; the processing state
				 * is read under proc (a producer may process) */
				pthread_mutex_unlock(&s->mu);
				pthread_mutex_lock(&s->proc);
				if (s->hlen)
					release(s, wall_ms(), false);
				pthread_mutex_lock(&s->mu);
				publish_locked(s);
				pthread_mutex_unlock(&s->proc);
			}
			continue;
		}
		if (!s->qhead)
			break;   /* stopping, and everything is processed */
		linger_locked(s, queue_short);
		/* everything queued now, then wait again. proc is taken before
		 * the first batch leaves the queue and kept until the last is
		 * processed: a producer processing inline (push_inline) then
		 * cannot overtake a batch of its own */
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_lock(&s->proc);
		pthread_mutex_lock(&s->mu);
		bool yield = false;
		while (s->qhead && !yield) {
			uint64_t pushed = s->pushed;
			struct sink_batch *b = dequeue_locked(s);
			pthread_mutex_unlock(&s->mu);
			process(s, b);
			pthread_mutex_lock(&s->mu);
			processed_locked(s, b);
			/* on one CPU, with a producer pushing meanwhile: it takes
			 * the rest back (push_inline), cheaper than this thread */
			yield = s->one_cpu && s->pushed != pushed && !s->stop;
		}
		pthread_mutex_unlock(&s->proc);
		if (yield && s->qhead) {
			s->st.writer_yields++;
			linger_locked(s, queue_left);
		}
	}
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&s->proc);
	release(s, wall_ms(), true);
	pthread_mutex_lock(&s->mu);
	publish_locked(s);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->proc);
	return NULL;
}

int sink_start(struct sink *s)
{
	cpu_set_t cpus;
	int r;

	s->one_cpu = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) == 1;
	if ((r = pthread_create(&s->th, NULL, writer_main, s)))
		return -r;
	pthread_mutex_lock(&s->mu);
	s->started = true;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void sink_stop(struct sink *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->nonempty);
	pthread_cond_broadcast(&s->nonfull);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	s->started = false;
}

void sink_sync(struct sink *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t target = s->pushed;
	s->hurry++;
	pthread_cond_signal(&s->nonempty);
	while (s->processed < target && s->started)
		pthread_cond_wait(&s->done, &s->mu);
	s->hurry--;
	pthread_mutex_unlock(&s->mu);
}

void sink_set_busy(struct sink *s, bool busy)
{
	/* rare (a worker's transitions): one lock orders the count and the
	 * calls, so the store always ends with the last state. The count
	 * crossing 0 is the change to tell; a stop without a start changes
	 * nothing. */
	pthread_mutex_lock(&s->busy_mu);
	bool tell = busy ? s->busy++ == 0 : s->busy && --s->busy == 0;
	if (tell && s->ops.busy)
		s->ops.busy(s->ops.arg, busy);
	pthread_mutex_unlock(&s->busy_mu);
}

bool sink_backlog(struct sink *s)
{
	pthread_mutex_lock(&s->mu);
	bool busy = s->qhead != NULL;
	pthread_mutex_unlock(&s->mu);
	return busy;
}

void sink_get_stats(struct sink *s, struct sink_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->queued = s->qlen;
	pthread_mutex_unlock(&s->mu);
}

/* ---- the store as the destination --------------------------------------- */

static int store_append_cb(void *arg, const struct flow_row *rows, size_t n)
{
	return store_append(arg, rows, n);
}

static bool store_ready_cb(void *arg, size_t n)
{
	return store_append_ready(arg, n);
}

static void store_busy_cb(void *arg, bool busy)
{
	store_set_busy(arg, busy);
}

struct sink_ops sink_store_ops(struct store *st)
{
	return (struct sink_ops){ .append = store_append_cb, .ready = store_ready_cb,
				  .busy = store_busy_cb, .arg = st };
}
