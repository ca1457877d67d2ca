/* flowtable.c — see flowtable.h. Layout:
 *
 *   index[]   power-of-two array of u64 slots: hash << 32 | entry index,
 *             0 = empty. Linear probing; kept under 70 % load by doubling
 *             (a full rehash of 8-byte slots, amortised O(1) per flow).
 *   chunks[]  entries in chunks of FT_CHUNK that never move; entry 0 is
 *             reserved so index 0 can mean "none". Free entries are chained
 *             through ->next.
 *   wheel[]   W positions of G ms; a flow is filed at the position of
 *             floor(deadline / G), clamped to the W positions ahead of the
 *             cursor. Position p is swept once the clock passes the end of
 *             the slot it stands for. */
#include "flow/flowtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"

#define FT_CHUNK_SHIFT 12
#define FT_CHUNK (1u << FT_CHUNK_SHIFT)
#define FT_INDEX_MIN 1024u
#define FT_GRAN_MS 250u        /* wheel slot width */
#define FT_WHEEL_MAX 16384u    /* positions: 68 minutes of horizon at 250 ms */
#define FT_JUMP_SLOTS 65536u   /* lag (4.5 h) beyond which the sweep jumps */

struct wslot {
	uint32_t head, tail;
};

struct flowtable {
	struct ft_cfg cfg;
	uint64_t seed;
	ft_emit_fn emit;
	void *arg;
	/* index */
	uint64_t *index;
	uint32_t mask;          /* capacity - 1 */
	uint32_t grow_at;       /* rehash when active reaches this */
	/* entries */
	struct ft_flow **chunks;
	uint32_t nchunks, maxchunks;
	uint32_t next_new;      /* next never-used entry index */
	uint32_t free_head;     /* chain of freed entries */
	/* wheel */
	struct wslot *wheel;
	uint32_t wsize;
	uint64_t cursor;        /* absolute slot number swept next */
	bool started;           /* cursor initialised from the first clock */
	uint64_t now;
	struct ft_stats st;
};

static inline struct ft_flow *ent(const struct flowtable *ft, uint32_t i)
{
	return &ft->chunks[i >> FT_CHUNK_SHIFT][i & (FT_CHUNK - 1)];
}

uint32_t ft_hash(const struct flowtable *ft, const struct ft_key *k)
{
	return ft_hash_seeded(k, ft->seed);
}

uint64_t ft_seed(const struct flowtable *ft)
{
	return ft->seed;
}

/* ---- wheel -------------------------------------------------------------- */

static uint64_t deadline(const struct flowtable *ft, const struct ft_flow *f)
{
	uint64_t d = f->last_ms + (f->closing ? ft->cfg.fin_ms : ft->cfg.idle_ms);

	if (ft->cfg.active_ms && f->first_ms + ft->cfg.active_ms < d)
		d = f->first_ms + ft->cfg.active_ms;
	return d;
}

/* end_reason() : which deadline expired the flow (the earlier one when
 * the sweep comes late and both have passed). */
static enum flow_end end_reason(const struct flowtable *ft, const struct ft_flow *f)
{
	uint64_t quiet = f->last_ms + (f->closing ? ft->cfg.fin_ms : ft->cfg.idle_ms);

	if (ft->cfg.active_ms && f->first_ms + ft->cfg.active_ms <= quiet)
		return FLOW_END_ACTIVE;
	return f->closing ? FLOW_END_EOF : FLOW_END_IDLE;
}

static void wheel_unlink(struct flowtable *ft, struct ft_flow *f, uint32_t idx)
{
	struct wslot *s = &ft->wheel[f->wpos];

	if (f->prev)
		ent(ft, f->prev)->next = f->next;
	else
		s->head = f->next;
	if (f->next)
		ent(ft, f->next)->prev = f->prev;
	else
		s->tail = f->prev;
	f->next = f->prev = 0;
	(void)idx;
}

static void wheel_insert(struct flowtable *ft, struct ft_flow *f, uint32_t idx)
{
	uint64_t slot = deadline(ft, f) / FT_GRAN_MS;
	struct wslot *s;

	if (slot < ft->cursor)
		slot = ft->cursor;
	if (slot > ft->cursor + ft->wsize - 1)
		slot = ft->cursor + ft->wsize - 1;
	f->wpos = (uint16_t)(slot % ft->wsize);
	s = &ft->wheel[f->wpos];
	f->next = 0;
	f->prev = s->tail;
	if (s->tail)
		ent(ft, s->tail)->next = idx;
	else
		s->head = idx;
	s->tail = idx;
}

/* ---- index -------------------------------------------------------------- */

static int index_alloc(struct flowtable *ft, uint32_t cap)
{
	uint64_t *ix = calloc(cap, sizeof(*ix));

	if (!ix)
		return -ENOMEM;
	if (ft->index) {
		/* re-place every slot; entries do not move */
		for (uint32_t i = 0; i <= ft->mask; i++) {
			uint64_t v = ft->index[i];
			uint32_t p;
			if (!v)
				continue;
			p = (uint32_t)(v >> 32) & (cap - 1);
			while (ix[p])
				p = (p + 1) & (cap - 1);
			ix[p] = v;
		}
		ft->st.bytes_alloc -= (uint64_t)(ft->mask + 1) * sizeof(*ix);
		free(ft->index);
		ft->st.rehashes++;
	}
	ft->index = ix;
	ft->mask = cap - 1;
	ft->grow_at = (uint32_t)((uint64_t)cap * 7 / 10);
	ft->st.index_slots = cap;
	ft->st.bytes_alloc += (uint64_t)cap * sizeof(*ix);
	return 0;
}

/* index_find() : the slot holding entry <idx> with <hash>. */
static uint32_t index_find(const struct flowtable *ft, uint32_t hash, uint32_t idx)
{
	uint32_t p = hash & ft->mask;
	uint64_t want = (uint64_t)hash << 32 | idx;

	while (ft->index[p] != want) {
		BUG_ON(!ft->index[p]);
		p = (p + 1) & ft->mask;
	}
	return p;
}

/* index_del() : removes slot <i> with backward-shift deletion, so probe
 * chains stay unbroken without tombstones. */
static void index_del(struct flowtable *ft, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint64_t v;
		uint32_t home;
		j = (j + 1) & ft->mask;
		v = ft->index[j];
		if (!v)
			break;
		home = (uint32_t)(v >> 32) & ft->mask;
		/* slot j may move to i only if its home is not in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		ft->index[i] = v;
		i = j;
	}
	ft->index[i] = 0;
}

/* ---- entries ------------------------------------------------------------ */

static uint32_t ent_alloc(struct flowtable *ft)
{
	uint32_t i = ft->free_head;

	if (i) {
		ft->free_head = ent(ft, i)->next;
		return i;
	}
	if ((ft->next_new >> FT_CHUNK_SHIFT) >= ft->nchunks) {
		struct ft_flow *c;
		if (ft->nchunks >= ft->maxchunks)
			return 0;
		c = malloc(sizeof(*c) * FT_CHUNK);
		if (!c)
			return 0;
		ft->chunks[ft->nchunks++] = c;
		ft->st.bytes_alloc += sizeof(*c) * FT_CHUNK;
	}
	return ft->next_new++;
}

static void ent_free(struct flowtable *ft, uint32_t i)
{
	ent(ft, i)->next = ft->free_head;
	ft->free_head = i;
}

/* ---- lifecycle ---------------------------------------------------------- */

struct flowtable *ft_new(const struct ft_cfg *cfg, ft_emit_fn emit, void *arg)
{
	struct flowtable *ft;
	uint64_t horizon;

	if (!cfg || !emit || cfg->max_flows == 0 || cfg->max_flows > (1u << 30) ||
	    cfg->idle_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	ft->cfg = *cfg;
	ft->seed = cfg->seed ? cfg->seed : vt_hash_seed();
	ft->emit = emit;
	ft->arg = arg;
	/* +1: entry 0 is reserved */
	ft->maxchunks = (uint32_t)(((uint64_t)cfg->max_flows + 1 + FT_CHUNK - 1) >> FT_CHUNK_SHIFT);
	ft->chunks = calloc(ft->maxchunks, sizeof(*ft->chunks));
	horizon = VT_MAX(cfg->idle_ms, VT_MAX(cfg->active_ms, cfg->fin_ms));
	ft->wsize = (uint32_t)VT_MIN(horizon / FT_GRAN_MS + 2, (uint64_t)FT_WHEEL_MAX);
	ft->wheel = calloc(ft->wsize, sizeof(*ft->wheel));
	if (!ft->chunks || !ft->wheel || index_alloc(ft, FT_INDEX_MIN) < 0)
		goto err;
	ft->st.bytes_alloc += ft->wsize * sizeof(*ft->wheel) +
			      ft->maxchunks * sizeof(*ft->chunks);
	ft->next_new = 1;
	return ft;
err:
	ft_free(ft);
	errno = ENOMEM;
	return NULL;
}

void ft_free(struct flowtable *ft)
{
	if (!ft)
		return;
	for (uint32_t i = 0; i < ft->nchunks; i++)
		free(ft->chunks[i]);
	free(ft->chunks);
	free(ft->wheel);
	free(ft->index);
	free(ft);
}

/* ft_remove() : exports entry <idx> with <reason> and frees it. */
static void ft_remove(struct flowtable *ft, uint32_t idx, enum flow_end reason)
{
	struct ft_flow *f = ent(ft, idx);

	wheel_unlink(ft, f, idx);
	index_del(ft, index_find(ft, f->hash, idx));
	ft->st.active--;
	ft->st.ended[reason]++;
	if (reason == FLOW_END_RESOURCES)
		ft->st.evicted++;
	ft->emit(ft->arg, f, reason);
	ent_free(ft, idx);
}

static void clock_to(struct flowtable *ft, uint64_t now)
{
	if (!ft->started) {
		ft->started = true;
		ft->now = now;
		ft->cursor = now / FT_GRAN_MS;
		return;
	}
	if (now > ft->now)
		ft->now = now;
}

/* evict_one() : exports the flow filed nearest to the cursor. */
static void evict_one(struct flowtable *ft)
{
	for (uint32_t k = 0; k < ft->wsize; k++) {
		uint32_t pos = (uint32_t)((ft->cursor + k) % ft->wsize);
		if (ft->wheel[pos].head) {
			ft_remove(ft, ft->wheel[pos].head, FLOW_END_RESOURCES);
			return;
		}
	}
	BUG_ON(1); /* table full but wheel empty */
}

struct ft_flow *ft_get(struct flowtable *ft, const struct ft_key *k, uint32_t hash,
		       uint64_t ts_ms, bool *created)
{
	uint32_t p, idx;
	struct ft_flow *f;

	clock_to(ft, ts_ms);
	p = hash & ft->mask;
	for (;;) {
		uint64_t v = ft->index[p];
		if (!v)
			break;
		if ((uint32_t)(v >> 32) == hash) {
			f = ent(ft, (uint32_t)v);
			if (memcmp(&f->key, k, sizeof(*k)) == 0) {
				if (VT_LIKELY(deadline(ft, f) > ts_ms)) {
					*created = false;
					return f;
				}
				/* Its deadline passed and the sweep has not come
				 * by yet (it runs per wheel slot): end it now so
				 * timeouts are exact, and start a new flow. */
				ft_remove(ft, (uint32_t)v, end_reason(ft, f));
				p = UINT32_MAX;
				break;
			}
		}
		p = (p + 1) & ft->mask;
	}
	/* a new flow */
	if (ft->st.active >= ft->cfg.max_flows) {
		evict_one(ft);
		p = UINT32_MAX; /* the index changed: probe again below */
	}
	if (ft->st.active + 1 > ft->grow_at && ft->mask + 1 < (1u << 31)) {
		if (index_alloc(ft, (ft->mask + 1) * 2) == 0)
			p = UINT32_MAX;
	}
	idx = ent_alloc(ft);
	if (!idx) {
		/* out of memory for a new chunk: make room at the cost of the
		 * flow nearest to expiry, like the max_flows bound does */
		if (ft->st.active == 0)
			abort(); /* cannot even hold one flow */
		evict_one(ft);
		p = UINT32_MAX;
		idx = ent_alloc(ft);
		BUG_ON(!idx);
	}
	if (p == UINT32_MAX) {
		p = hash & ft->mask;
		while (ft->index[p])
			p = (p + 1) & ft->mask;
	}
	ft->index[p] = (uint64_t)hash << 32 | idx;
	f = ent(ft, idx);
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	f->first_ms = f->last_ms = ts_ms;
	f->peer_port = FT_PORT_NONE;
	wheel_insert(ft, f, idx);
	ft->st.created++;
	if (++ft->st.active > ft->st.peak_active)
		ft->st.peak_active = ft->st.active;
	*created = true;
	return f;
}

void ft_prefetch_slots(const struct flowtable *ft, const uint32_t *hash, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__builtin_prefetch(&ft->index[hash[i] & ft->mask]);
}

void ft_prefetch_entries(const struct flowtable *ft, const uint32_t *hash, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = ft->index[hash[i] & ft->mask];
		if (v && (uint32_t)(v >> 32) == hash[i]) {
			/* an entry spans two or three cache lines */
			const char *e = (const char *)ent(ft, (uint32_t)v);
			__builtin_prefetch(e);
			__builtin_prefetch(e + 64);
			__builtin_prefetch(e + sizeof(struct ft_flow) - 1);
		}
	}
}

/* idx_of() : the entry index of a live flow, from its wheel neighbours
 * (every live flow is filed in the wheel), so entries need not store it. */
static uint32_t idx_of(const struct flowtable *ft, const struct ft_flow *f)
{
	return f->prev ? ent(ft, f->prev)->next : ft->wheel[f->wpos].head;
}

void ft_close(struct flowtable *ft, struct ft_flow *f)
{
	uint32_t idx;

	if (f->closing)
		return;
	/* the deadline moves earlier: re-file now (lazy re-filing only works
	 * for deadlines that move later) */
	idx = idx_of(ft, f);
	wheel_unlink(ft, f, idx);
	f->closing = 1;
	wheel_insert(ft, f, idx);
}

bool ft_sweep_due(const struct flowtable *ft, uint64_t now_ms)
{
	return ft->started && now_ms / FT_GRAN_MS > ft->cursor;
}

uint64_t ft_sweep_at(const struct flowtable *ft)
{
	return ft->started ? (ft->cursor + 1) * FT_GRAN_MS : 0;
}

/* sweep_pos() : one pass over wheel position <pos>: exports what is due
 * at ft->now and re-files the rest. Stops after <budget> exports. */
static uint32_t sweep_pos(struct flowtable *ft, uint32_t pos, uint32_t budget, bool *done)
{
	struct wslot *s = &ft->wheel[pos];
	uint32_t n = 0, idx = s->head, stop;

	/* flows re-filed at this same position (only possible in a clock jump)
	 * are appended behind the current tail: stop there */
	stop = s->tail;
	*done = true;
	while (idx) {
		struct ft_flow *f = ent(ft, idx);
		uint32_t next = f->next;
		bool last = idx == stop;
		if (deadline(ft, f) <= ft->now) {
			if (budget && n >= budget) {
				*done = false;
				return n;
			}
			ft_remove(ft, idx, end_reason(ft, f));
			n++;
		} else {
			wheel_unlink(ft, f, idx);
			wheel_insert(ft, f, idx);
		}
		if (last)
			break;
		idx = next;
	}
	return n;
}

uint32_t ft_expire(struct flowtable *ft, uint64_t now_ms, uint32_t budget)
{
	uint64_t now_slot;
	uint32_t n = 0;
	bool done;

	clock_to(ft, now_ms);
	now_slot = ft->now / FT_GRAN_MS;
	if (now_slot > ft->cursor + ft->wsize + FT_JUMP_SLOTS) {
		/* The clock jumped far past the wheel (a gap of hours in a
		 * capture, a clock step): rather than walking every empty
		 * slot, visit every position once, then continue from now.
		 * Not bounded by <budget>, but only happens after a silence
		 * that long. Shorter lags are walked slot by slot. */
		for (uint32_t pos = 0; pos < ft->wsize; pos++) {
			uint32_t m;
			ft->cursor = now_slot; /* re-filing is relative to now */
			m = sweep_pos(ft, pos, 0, &done);
			n += m;
		}
		ft->cursor = now_slot;
		return n;
	}
	while (ft->cursor < now_slot) {
		uint32_t pos = (uint32_t)(ft->cursor % ft->wsize);
		n += sweep_pos(ft, pos, budget ? budget - n : 0, &done);
		if (!done)
			return n;
		ft->cursor++;
		if (budget && n >= budget)
			return n;
	}
	return n;
}

void ft_flush(struct flowtable *ft, enum flow_end reason)
{
	for (uint32_t pos = 0; pos < ft->wsize; pos++)
		while (ft->wheel[pos].head)
			ft_remove(ft, ft->wheel[pos].head, reason);
}

void ft_flush_port(struct flowtable *ft, uint32_t port, enum flow_end reason)
{
	for (uint32_t pos = 0; pos < ft->wsize; pos++) {
		uint32_t idx = ft->wheel[pos].head;
		while (idx) {
			struct ft_flow *f = ent(ft, idx);
			uint32_t next = f->next;
			if (f->key.port == port)
				ft_remove(ft, idx, reason);
			idx = next;
		}
	}
}

uint64_t ft_now(const struct flowtable *ft)
{
	return ft->now;
}

const struct ft_stats *ft_stats(const struct flowtable *ft)
{
	return &ft->st;
}
