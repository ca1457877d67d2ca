/* countonce.c — the count-once rules, the lock-free local MAC table and
 * the flood de-duplication table (see countonce.h). */
#include "agent/countonce.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/be.h"
#include "core/compiler.h"
#include "core/hash.h"
#include "flow/flowrec.h"

/* ---- local MAC table ----------------------------------------------------
 * One 64-bit word per entry: MAC (48 bits) << 16 | tag, tag = slot + 1, or
 * 0 for a forgotten MAC (a tombstone: the key stays so probe chains stay
 * intact for lock-free readers; the same MAC coming back reuses it).
 * An all-zero word is an empty entry, which is why the zero MAC is never
 * stored. Entries are only ever claimed (0 -> key) or re-tagged, never
 * moved, so a reader probing concurrently with writers cannot miss a key
 * that was present for the whole probe. */

struct co_mactab {
	uint32_t mask;
	uint32_t limit;               /* used entries allowed (3/4 of capacity) */
	_Atomic uint32_t used;
	_Atomic uint32_t live;
	_Atomic uint64_t refused;
	_Atomic uint64_t e[];
};

#define MAC_SEED 0x6c6f63616c6d6163ull

static inline uint64_t mac_key(const uint8_t m[6])
{
	return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
	       (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}

static inline uint32_t mac_pos(const struct co_mactab *t, uint64_t key)
{
	return (uint32_t)vt_hash(&key, sizeof(key), MAC_SEED) & t->mask;
}

struct co_mactab *co_mactab_new(uint32_t capacity)
{
	struct co_mactab *t;
	uint32_t cap = 64;

	if (capacity > (1u << 30)) {
		errno = EINVAL;
		return NULL;
	}
	while (cap < capacity)
		cap <<= 1;
	t = calloc(1, sizeof(*t) + (size_t)cap * sizeof(t->e[0]));
	if (!t)
		return NULL;
	t->mask = cap - 1;
	t->limit = cap / 4 * 3;
	return t;
}

void co_mactab_free(struct co_mactab *t)
{
	free(t);
}

uint32_t co_mac_lookup(const struct co_mactab *t, const uint8_t mac[6])
{
	uint64_t key = mac_key(mac);
	uint32_t pos = mac_pos(t, key);

	for (uint32_t n = 0; n <= t->mask; n++, pos = (pos + 1) & t->mask) {
		uint64_t e = atomic_load_explicit(&t->e[pos], memory_order_acquire);
		if (e == 0)
			return CO_SLOT_NONE;
		if (e >> 16 == key)
			return (e & 0xffff) ? (uint32_t)(e & 0xffff) - 1 : CO_SLOT_NONE;
	}
	return CO_SLOT_NONE;
}

int co_mac_set(struct co_mactab *t, const uint8_t mac[6], uint32_t slot)
{
	uint64_t key = mac_key(mac), want;
	uint32_t pos, n = 0;

	if (key == 0 || co_mac_is_group(mac) || slot >= CO_MAX_SLOTS)
		return -EINVAL;
	want = key << 16 | (slot + 1);
	pos = mac_pos(t, key);
	while (n <= t->mask) {
		uint64_t e = atomic_load_explicit(&t->e[pos], memory_order_acquire);
		if (e == 0) {
			if (atomic_load_explicit(&t->used, memory_order_relaxed) >= t->limit) {
				atomic_fetch_add_explicit(&t->refused, 1, memory_order_relaxed);
				return -ENOSPC;
			}
			if (atomic_compare_exchange_strong_explicit(&t->e[pos], &e, want,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&t->live, 1, memory_order_relaxed);
				return 1;
			}
			continue;   /* another writer claimed it: look at it again */
		}
		if (e >> 16 == key) {
			if (e == want)
				return 0;
			if (atomic_compare_exchange_strong_explicit(&t->e[pos], &e, want,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				if ((e & 0xffff) == 0)
					atomic_fetch_add_explicit(&t->live, 1, memory_order_relaxed);
				return 1;
			}
			continue;   /* re-tagged meanwhile: decide again */
		}
		pos = (pos + 1) & t->mask;
		n++;
	}
	atomic_fetch_add_explicit(&t->refused, 1, memory_order_relaxed);
	return -ENOSPC;
}

int co_mac_forget(struct co_mactab *t, const uint8_t mac[6])
{
	uint64_t key = mac_key(mac);
	uint32_t pos = mac_pos(t, key);

	for (uint32_t n = 0; n <= t->mask; n++, pos = (pos + 1) & t->mask) {
		uint64_t e = atomic_load_explicit(&t->e[pos], memory_order_acquire);
		if (e == 0)
			return -ENOENT;
		if (e >> 16 != key)
			continue;
		while ((e & 0xffff) != 0) {
			if (atomic_compare_exchange_strong_explicit(&t->e[pos], &e, key << 16,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				atomic_fetch_sub_explicit(&t->live, 1, memory_order_relaxed);
				return 0;
			}
		}
		return -ENOENT;
	}
	return -ENOENT;
}

unsigned co_mac_forget_slot(struct co_mactab *t, uint32_t slot)
{
	unsigned n = 0;

	if (slot >= CO_MAX_SLOTS)
		return 0;
	for (uint32_t i = 0; i <= t->mask; i++) {
		uint64_t e = atomic_load_explicit(&t->e[i], memory_order_acquire);
		/* a capture thread may re-tag it meanwhile: only a CAS from
		 * exactly this slot's tag forgets it */
		while (e != 0 && (e & 0xffff) == slot + 1) {
			if (atomic_compare_exchange_strong_explicit(&t->e[i], &e, e & ~0xffffull,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				atomic_fetch_sub_explicit(&t->live, 1, memory_order_relaxed);
				n++;
				break;
			}
		}
	}
	return n;
}

unsigned co_mac_list(const struct co_mactab *t, uint32_t slot, uint8_t (*out)[6], unsigned max)
{
	unsigned n = 0;

	for (uint32_t i = 0; i <= t->mask; i++) {
		uint64_t e = atomic_load_explicit(&t->e[i], memory_order_acquire);
		if (e == 0 || (e & 0xffff) != slot + 1)
			continue;
		if (n < max) {
			uint64_t k = e >> 16;
			for (int b = 0; b < 6; b++)
				out[n][b] = (uint8_t)(k >> (40 - 8 * b));
		}
		n++;
	}
	return n;
}

void co_mactab_get_stats(const struct co_mactab *t, struct co_mactab_stats *st)
{
	st->capacity = t->mask + 1;
	st->live = atomic_load_explicit(&t->live, memory_order_relaxed);
	st->used = atomic_load_explicit(&t->used, memory_order_relaxed);
	st->refused = atomic_load_explicit(&t->refused, memory_order_relaxed);
}

bool co_mactab_crowded(const struct co_mactab *t)
{
	uint32_t used = atomic_load_explicit(&t->used, memory_order_relaxed);
	uint32_t live = atomic_load_explicit(&t->live, memory_order_relaxed);

	/* more than half the allowed load is tombstones, or nearly full */
	return used - live > t->limit / 2 || used + (t->mask + 1) / 16 >= t->limit;
}

struct co_mactab *co_mactab_compact(const struct co_mactab *t)
{
	struct co_mactab *n = co_mactab_new(t->mask + 1);

	if (!n)
		return NULL;
	for (uint32_t i = 0; i <= t->mask; i++) {
		uint64_t e = atomic_load_explicit(&t->e[i], memory_order_acquire), k;
		uint8_t mac[6];
		if (e == 0 || (e & 0xffff) == 0)
			continue;
		k = e >> 16;
		for (int b = 0; b < 6; b++)
			mac[b] = (uint8_t)(k >> (40 - 8 * b));
		(void)co_mac_set(n, mac, (uint32_t)(e & 0xffff) - 1);
	}
	n->refused = atomic_load_explicit(&t->refused, memory_order_relaxed);
	return n;
}

/* ---- flood de-duplication ----------------------------------------------- */

struct co_bucket {
	atomic_flag lock;
	uint32_t slot;
	uint64_t hash;
	uint64_t ts_ns;
};

struct co_dedup {
	uint32_t mask;
	uint64_t window_ns;
	uint64_t evicted;    /* __atomic: live entries of another frame overwritten */
	struct co_bucket b[];
};

struct co_dedup *co_dedup_new(uint32_t buckets, uint64_t window_ns)
{
	struct co_dedup *d;
	uint32_t n = 16;

	if (buckets > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	while (n < buckets)
		n <<= 1;
	d = calloc(1, sizeof(*d) + (size_t)n * sizeof(d->b[0]));
	if (!d)
		return NULL;
	d->mask = n - 1;
	d->window_ns = window_ns;
	for (uint32_t i = 0; i < n; i++) {
		atomic_flag_clear(&d->b[i].lock);
		d->b[i].slot = CO_SLOT_NONE;
	}
	return d;
}

void co_dedup_free(struct co_dedup *d)
{
	free(d);
}

bool co_dedup_first(struct co_dedup *d, uint64_t hash, uint64_t ts_ns, uint32_t slot)
{
	struct co_bucket *b = &d->b[(hash ^ hash >> 32) & d->mask];
	bool first;

	while (atomic_flag_test_and_set_explicit(&b->lock, memory_order_acquire))
		vt_cpu_relax();
	uint64_t dt = ts_ns > b->ts_ns ? ts_ns - b->ts_ns : b->ts_ns - ts_ns;
	if (b->slot != CO_SLOT_NONE && b->hash == hash && b->slot != slot && dt <= d->window_ns) {
		first = false;
	} else {
		/* another frame's entry still inside its window: a copy of that
		 * frame arriving later would be counted again. Counted so that
		 * a too-small table shows (co_dedup_evicted). */
		if (b->slot != CO_SLOT_NONE && b->hash != hash && dt <= d->window_ns)
			__atomic_fetch_add(&d->evicted, 1, __ATOMIC_RELAXED);
		b->hash = hash;
		b->ts_ns = ts_ns;
		b->slot = slot;
		first = true;
	}
	atomic_flag_clear_explicit(&b->lock, memory_order_release);
	return first;
}

uint64_t co_dedup_evicted(const struct co_dedup *d)
{
	return __atomic_load_n(&d->evicted, __ATOMIC_RELAXED);
}

/* ---- classification ------------------------------------------------------ */

static const char *const verdict_names[CO_VERDICT__COUNT] = {
	[CO_COUNT] = "counted",
	[CO_SKIP_LOCAL] = "local_copy",
	[CO_SKIP_FLOOD] = "flooded_unicast",
	[CO_SKIP_COPY] = "flooded_copy",
	[CO_SKIP_RUNT] = "runt",
};

const char *co_verdict_name(enum co_verdict v)
{
	return (unsigned)v < CO_VERDICT__COUNT ? verdict_names[v] : "?";
}

uint64_t co_flood_hash(const uint8_t *data, uint32_t caplen, uint32_t len)
{
	struct vt_rd r = rd_init(data, caplen);
	uint16_t type;

	rd_skip(&r, 12);
	type = rd_u16(&r);
	/* 802.1Q, 802.1ad and the legacy 0x9100 QinQ tag */
	for (int i = 0; i < 8 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); i++) {
		rd_skip(&r, 2);
		type = rd_u16(&r);
	}
	size_t n = VT_MIN(rd_left(&r), (size_t)128);
	/* the length without the L2 header, which differs between a tagged
	 * and an untagged copy */
	uint32_t l2 = (uint32_t)(r.p - data);
	uint64_t h = vt_hash(r.p, n, (uint64_t)(len > l2 ? len - l2 : 0) << 16 | type);
	return h ? h : 1;
}

static inline bool mac_is_zero(const uint8_t m[6])
{
	return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

void co_classify(struct co_mactab *macs, struct co_dedup *dd, uint32_t slot, bool knows_mac,
		 const struct co_frame *f, struct co_result *out)
{
	const uint8_t *dst, *src;
	uint32_t d, s;

	out->dir = f->dir;
	out->scope = FLOW_SCOPE_UNKNOWN;
	out->peer_slot = CO_SLOT_NONE;
	out->learned = false;
	if (VT_UNLIKELY(f->caplen < 14)) {
		out->verdict = CO_SKIP_RUNT;
		return;
	}
	dst = f->data;
	src = f->data + 6;
	if (f->dir == CO_INGRESS) {
		out->verdict = CO_COUNT;
		if (!f->no_learn && !co_mac_is_group(src) && !mac_is_zero(src) &&
		    co_mac_lookup(macs, src) != slot)
			out->learned = co_mac_set(macs, src, slot) == 1;
		if (co_mac_is_group(dst))
			return;
		d = co_mac_lookup(macs, dst);
		if (d != CO_SLOT_NONE) {
			out->scope = FLOW_SCOPE_LOCAL;
			out->peer_slot = d;
		} else {
			out->scope = FLOW_SCOPE_REMOTE;
		}
		return;
	}
	s = co_mac_lookup(macs, src);
	if (s != CO_SLOT_NONE) {
		out->verdict = CO_SKIP_LOCAL;
		out->scope = FLOW_SCOPE_LOCAL;
		out->peer_slot = s;
		return;
	}
	out->scope = FLOW_SCOPE_REMOTE;
	if (!co_mac_is_group(dst)) {
		d = co_mac_lookup(macs, dst);
		if (d == slot) {
			out->verdict = CO_COUNT;
			return;
		}
		/* for another local VM, or for a VM elsewhere while this port's
		 * VM is known to have another MAC: a flooded copy */
		if (d != CO_SLOT_NONE || knows_mac) {
			out->verdict = CO_SKIP_FLOOD;
			return;
		}
	}
	if (dd && !co_dedup_first(dd, co_flood_hash(f->data, f->caplen, f->len), f->ts_ns, slot))
		out->verdict = CO_SKIP_COPY;
	else
		out->verdict = CO_COUNT;
}
