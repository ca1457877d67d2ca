/* tmpl_cache.c — NetFlow v9 / IPFIX templates, record decoding against a
 * template, the bounded template cache and its file (see tmpl_cache.h). */
#include "wire/tmpl_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/fileio.h"
#include "core/hash.h"
#include "wire/ipfix_ie.h"

/* ---- templates ---------------------------------------------------------- */

struct tmpl *tmpl_new(uint16_t nfields)
{
	struct tmpl *t;

	if (nfields > TMPL_MAX_FIELDS) {
		errno = E2BIG;
		return NULL;
	}
	t = calloc(1, sizeof(*t) + (size_t)nfields * (sizeof(t->f[0]) + sizeof(struct tmpl_step)));
	if (!t)
		return NULL;
	t->nfields = nfields;
	return t;
}

void tmpl_free(struct tmpl *t)
{
	free(t);
}

size_t tmpl_size(const struct tmpl *t)
{
	return sizeof(*t) + (size_t)t->nfields * (sizeof(t->f[0]) + sizeof(struct tmpl_step));
}

static struct tmpl_step *steps_of(const struct tmpl *t)
{
	return (struct tmpl_step *)(void *)(t->f + t->nfields);
}

/* The kind of a planned store (op not IEO_APPLY) of <len> bytes. */
static uint8_t step_kind(uint8_t op, uint16_t len)
{
	switch (op) {
	case IEO_U8: return len == 1 ? TK_U8_1 : TK_OTHER;
	case IEO_U16: return len == 2 ? TK_U16_2 : TK_OTHER;
	case IEO_U32: return len == 4 ? TK_U32_4 : TK_OTHER;
	case IEO_U64: return len == 8 ? TK_U64_8 : len == 4 ? TK_U64_4 : TK_OTHER;
	case IEO_COPY4: return TK_COPY4;
	case IEO_COPY6: return TK_COPY6;
	case IEO_COPY16: return TK_COPY16;
	case IEO_T_START_MS: case IEO_T_END_MS: return len == 8 ? TK_TIME_MS8 : TK_OTHER;
	case IEO_T_START_UP: case IEO_T_END_UP: return len == 4 ? TK_TIME_UP4 : TK_OTHER;
	default: return TK_OTHER;
	}
}

/* The step of field <i>: for a time, the offsets of the value and of its
 * flag (precision, or "seen") in struct ie_acc, as ie_store() writes
 * them; else the field's own offset. */
static struct tmpl_step step_of(const struct tmpl_field *f, uint16_t i)
{
#define IT(m) ((uint16_t)offsetof(struct ie_times, m))
	/* [uptime][start]: the value's offset, the flag's */
	static const uint16_t at[2][2][2] = {
		{ { IT(end_abs), IT(end_prec) }, { IT(start_abs), IT(start_prec) } },
		{ { IT(end_up), IT(has_end_up) }, { IT(start_up), IT(has_start_up) } },
	};
#undef IT
	struct tmpl_step s = { .off = f->off, .src = f->src, .fi = i };
	uint8_t k = step_kind(f->op, f->len);

	if (k == TK_TIME_MS8 || k == TK_TIME_UP4) {
		bool start = f->op == IEO_T_START_MS || f->op == IEO_T_START_UP;
		const uint16_t *o = at[k == TK_TIME_UP4][start];
		s.off = (uint16_t)(f->off + o[0]);
		s.fi = (uint16_t)(f->off + o[1]);
	}
	return s;
}

/* Groups a fixed-length template's planned stores by kind (struct tmpl's
 * steps). Reordering is the same record only when every field is a store
 * (ie_apply() may depend on what came before) and stores of different
 * kinds write different bytes: within a kind, field order is kept. */
static void group_steps(struct tmpl *t)
{
	uint8_t owner[sizeof(struct ie_acc)];
	uint16_t at[TK_N + 1] = { 0 };
	struct tmpl_step *s = steps_of(t);

	t->nsteps = 0;
	if (t->varlen || t->min_len > UINT16_MAX)
		return;
	memset(owner, 0, sizeof(owner));
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		if (f->op == IEO_APPLY) {
			if (f->map != IEM_NONE && f->len)
				return;
			continue;
		}
		uint8_t k = step_kind(f->op, f->len);
		struct tmpl_step st = step_of(f, i);
		/* the bytes it writes: a time of its own kind, its value and
		 * its flag; any other, ie_op_width() from its offset */
		size_t spans[2][2] = { { st.off, ie_op_width(f->op) }, { 0, 0 } };
		if (k == TK_TIME_MS8 || k == TK_TIME_UP4) {
			spans[0][1] = k == TK_TIME_MS8 ? 8 : 4;
			spans[1][0] = st.fi;
			spans[1][1] = 1;
		}
		for (int j = 0; j < 2; j++) {
			if (spans[j][0] + spans[j][1] > sizeof(owner))
				return;
			for (size_t b = spans[j][0]; b < spans[j][0] + spans[j][1]; b++) {
				if (owner[b] && owner[b] != k + 1)
					return;
				owner[b] = (uint8_t)(k + 1);
			}
		}
		at[k + 1]++;
	}
	for (unsigned k = 0; k < TK_N; k++) {
		at[k + 1] += at[k];
		t->kind_end[k] = at[k + 1];
	}
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		if (f->op != IEO_APPLY)
			s[at[step_kind(f->op, f->len)]++] = step_of(f, i);
	}
	t->nsteps = t->kind_end[TK_N - 1];
}

static inline void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Runs a grouped template's stores for the record at <rec>: each kind a
 * loop over its fields, no dispatch per field. Plain loads and stores, not
 * ie_store() with a constant op: that measured 2 ns per record slower in
 * bench/flowdec (73.5-75.0 against 71.7-72.5), its helpers not all
 * inlined into one function this size. */
static void run_steps(const struct tmpl *t, const uint8_t *rec, struct ie_acc *acc)
{
	const struct tmpl_step *s = steps_of(t);
	const uint16_t *end = t->kind_end;
	uint8_t *a = (uint8_t *)acc;
	unsigned i = 0;

	for (; i < end[TK_U8_1]; i++) {
		const struct tmpl_step *f = &s[i];
		a[f->off] = rec[f->src];
	}
	for (; i < end[TK_U16_2]; i++) {
		const struct tmpl_step *f = &s[i];
		st16(a + f->off, ld_be16(rec + f->src));
	}
	for (; i < end[TK_U32_4]; i++) {
		const struct tmpl_step *f = &s[i];
		st32(a + f->off, ld_be32(rec + f->src));
	}
	for (; i < end[TK_U64_8]; i++) {
		const struct tmpl_step *f = &s[i];
		st64(a + f->off, ld_be64(rec + f->src));
	}
	for (; i < end[TK_U64_4]; i++) {
		const struct tmpl_step *f = &s[i];
		st64(a + f->off, ld_be32(rec + f->src));
	}
	for (; i < end[TK_COPY4]; i++) {
		const struct tmpl_step *f = &s[i];
		memcpy(a + f->off, rec + f->src, 4);
	}
	for (; i < end[TK_COPY6]; i++) {
		const struct tmpl_step *f = &s[i];
		memcpy(a + f->off, rec + f->src, 6);
	}
	for (; i < end[TK_COPY16]; i++) {
		const struct tmpl_step *f = &s[i];
		memcpy(a + f->off, rec + f->src, 16);
	}
	for (; i < end[TK_TIME_MS8]; i++) {   /* ie_store()'s IEO_T_*_MS */
		const struct tmpl_step *f = &s[i];
		st64(a + f->off, ld_be64(rec + f->src));
		a[f->fi] = IE_PREC_MS;
	}
	for (; i < end[TK_TIME_UP4]; i++) {   /* ... and IEO_T_*_UP */
		const struct tmpl_step *f = &s[i];
		st32(a + f->off, ld_be32(rec + f->src));
		a[f->fi] = true;   /* has_start/end_up */
	}
	for (; i < end[TK_OTHER]; i++) {
		const struct tmpl_field *f = &t->f[s[i].fi];
		ie_store(acc, f->op, f->off, rec + f->src, f->len);
	}
}

int tmpl_finish(struct tmpl *t, bool v9_scope)
{
	uint32_t min = 0;
	uint8_t ntimes[4] = { 0 };   /* absolute times per ie_abs_time_slot() */

	t->varlen = false;
	t->reuse_acc = true;
	memset(t->have, 0, sizeof(t->have));
	memset(t->rhave, 0, sizeof(t->rhave));
	for (uint16_t i = 0; i < t->nfields; i++) {
		struct tmpl_field *f = &t->f[i];
		bool scope = i < t->nscope;

		f->map = IEM_NONE;
		f->rev = 0;
		f->op = IEO_APPLY;
		f->off = 0;
		/* a record past 65535 bytes fits no set: rd_take() refuses it
		 * before any truncated offset is used */
		f->src = (uint16_t)min;
		if (f->len == IPFIX_VARLEN) {
			t->varlen = true;
			min += 1;
		} else {
			min += f->len;
		}
		if (scope && v9_scope) {
			/* RFC 3954 §6.1 scope types: 1 System, 2 Interface, 3 Line
			 * Card, 4 Cache, 5 Template. Only the interface scope
			 * matters (per-interface sampling rates). */
			if (f->id == 2 && f->len >= 1 && f->len <= 4)
				f->map = IEM_SCOPE_IF;
			continue;
		}
		if (scope && f->pen == 0 && f->id == IE_INGRESS_INTERFACE && f->len >= 1 &&
		    f->len <= 4) {
			/* IPFIX: an options record scoped to an interface states
			 * that interface's sampling, like v9's Interface scope */
			f->map = IEM_SCOPE_IF;
			continue;
		}
		const struct ie_def *d = ie_lookup(f->pen, f->id);
		uint8_t m = ie_field_map(d, f->len);
		if (f->pen == IPFIX_PEN_REVERSE) {
			if (!ie_reversible(m))
				m = IEM_NONE;
			f->rev = 1;
		}
		f->map = m;
		/* repeated virtual-station elements fill the observing VM,
		 * then the peer: what one does depends on the one before */
		if (m >= IEM_VS_IFID && m <= IEM_VS_NAME)
			t->reuse_acc = false;
		int slot = ie_abs_time_slot(m, f->rev, f->len);
		if (slot >= 0 && ntimes[slot] < 2)
			ntimes[slot]++;
	}
	/* the plan, once every field's mapping is known: an absolute time
	 * is a plain store only when it is the one of its kind (the finest
	 * precision wins among several, ie_apply) */
	for (uint16_t i = 0; i < t->nfields; i++) {
		struct tmpl_field *f = &t->f[i];
		int slot = ie_abs_time_slot(f->map, f->rev, f->len);

		if (f->len == IPFIX_VARLEN || f->map == IEM_NONE || (slot >= 0 && ntimes[slot] > 1))
			continue;
		if ((f->op = ie_plan(f->map, f->rev, f->len, &f->off)) != IEO_APPLY) {
			uint64_t *bits = f->rev ? t->rhave : t->have;
			bits[f->map >> 6] |= 1ull << (f->map & 63);
		}
	}
	t->min_len = min;
	if (t->varlen || t->options)
		t->reuse_acc = false;
	group_steps(t);
	/* a record of 0 bytes cannot be delimited in a set */
	if (min == 0)
		return -EINVAL;
	return 0;
}

bool tmpl_same_layout(const struct tmpl *a, const struct tmpl *b)
{
	if (a->nfields != b->nfields || a->nscope != b->nscope || a->options != b->options)
		return false;
	for (uint16_t i = 0; i < a->nfields; i++)
		if (a->f[i].id != b->f[i].id || a->f[i].len != b->f[i].len ||
		    a->f[i].pen != b->f[i].pen)
			return false;
	return true;
}

int tmpl_decode_record(const struct tmpl *t, struct vt_rd *r, struct ie_acc *acc)
{
	/* Fixed-length templates (nearly all): one bounds check for the
	 * record, then each field at its offset, by its plan (ie_plan) */
	if (!t->varlen) {
		const uint8_t *rec = rd_take(r, t->min_len);
		if (!rec)
			return -EBADMSG;
		acc->have[0] |= t->have[0];
		acc->have[1] |= t->have[1];
		acc->rhave[0] |= t->rhave[0];
		acc->rhave[1] |= t->rhave[1];
		if (t->nsteps) {
			run_steps(t, rec, acc);
			return 0;
		}
		for (uint16_t i = 0; i < t->nfields; i++) {
			const struct tmpl_field *f = &t->f[i];
			if (f->op != IEO_APPLY)
				ie_store(acc, f->op, f->off, rec + f->src, f->len);
			else if (f->map != IEM_NONE && f->len)
				ie_apply(acc, f->map, f->rev, rec + f->src, f->len);
		}
		return 0;
	}
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		uint16_t len = f->len;
		const uint8_t *v;

		if (len == IPFIX_VARLEN) {
			/* RFC 7011 §7: one length byte, or 255 and two bytes */
			len = rd_u8(r);
			if (len == 255)
				len = rd_u16(r);
		}
		v = rd_take(r, len);
		if (!v)
			return -EBADMSG;
		if (f->map != IEM_NONE && len)
			ie_apply(acc, f->map, f->rev, v, len);
	}
	return rd_failed(r) ? -EBADMSG : 0;
}

/* ---- the cache ---------------------------------------------------------- */

struct tmpl_cache {
	struct tmpl_cache_conf conf;
	struct tmpl **bucket;
	size_t nbucket;            /* power of two */
	uint64_t seed;
	struct tmpl *head, *tail;  /* global LRU */
	struct tmpl_cache_stats st;
};

struct tkey {
	uint8_t addr[16];
	uint32_t domain;
	uint16_t id;
	uint8_t version;
	uint8_t pad;
};

static size_t bucket_of(const struct tmpl_cache *c, const struct tmpl_owner *o,
			uint8_t version, uint32_t domain, uint16_t id)
{
	struct tkey k;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, o->addr.b, 16);
	k.domain = domain;
	k.id = id;
	k.version = version;
	return (size_t)vt_hash(&k, sizeof(k), c->seed) & (c->nbucket - 1);
}

struct tmpl_cache *tmpl_cache_new(const struct tmpl_cache_conf *conf)
{
	struct tmpl_cache *c;

	if (!conf->max_total || !conf->max_per_owner || !conf->max_bytes_total ||
	    !conf->max_bytes_per_owner) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conf = *conf;
	c->nbucket = 256;
	c->bucket = calloc(c->nbucket, sizeof(*c->bucket));
	if (!c->bucket) {
		free(c);
		return NULL;
	}
	c->seed = vt_hash_seed();
	return c;
}

static void glru_unlink(struct tmpl_cache *c, struct tmpl *t)
{
	if (t->gprev)
		t->gprev->gnext = t->gnext;
	else
		c->head = t->gnext;
	if (t->gnext)
		t->gnext->gprev = t->gprev;
	else
		c->tail = t->gprev;
	t->gprev = t->gnext = NULL;
}

static void glru_push(struct tmpl_cache *c, struct tmpl *t)
{
	t->gprev = NULL;
	t->gnext = c->head;
	if (c->head)
		c->head->gprev = t;
	c->head = t;
	if (!c->tail)
		c->tail = t;
}

static void olru_unlink(struct tmpl_owner *o, struct tmpl *t)
{
	if (t->oprev)
		t->oprev->onext = t->onext;
	else
		o->head = t->onext;
	if (t->onext)
		t->onext->oprev = t->oprev;
	else
		o->tail = t->oprev;
	t->oprev = t->onext = NULL;
}

static void olru_push(struct tmpl_owner *o, struct tmpl *t)
{
	t->oprev = NULL;
	t->onext = o->head;
	if (o->head)
		o->head->oprev = t;
	o->head = t;
	if (!o->tail)
		o->tail = t;
}

/* Unlinks <t> from everything and frees it. */
static void remove_tmpl(struct tmpl_cache *c, struct tmpl *t)
{
	struct tmpl **pp = &c->bucket[bucket_of(c, t->owner, t->version, t->domain, t->id)];
	size_t sz = tmpl_size(t);

	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	BUG_ON(!*pp);
	*pp = t->hnext;
	glru_unlink(c, t);
	olru_unlink(t->owner, t);
	t->owner->ntmpl--;
	t->owner->bytes -= sz;
	c->st.templates--;
	c->st.bytes -= sz;
	tmpl_free(t);
}

void tmpl_cache_free(struct tmpl_cache *c)
{
	if (!c)
		return;
	while (c->head)
		remove_tmpl(c, c->head);
	free(c->bucket);
	free(c);
}

static struct tmpl *find(const struct tmpl_cache *c, const struct tmpl_owner *o,
			 uint8_t version, uint32_t domain, uint16_t id)
{
	struct tmpl *t = c->bucket[bucket_of(c, o, version, domain, id)];

	for (; t; t = t->hnext)
		if (t->owner == o && t->id == id && t->domain == domain && t->version == version)
			return t;
	return NULL;
}

struct tmpl *tmpl_cache_get(struct tmpl_cache *c, struct tmpl_owner *o, uint8_t version,
			    uint32_t domain, uint16_t id, uint64_t now_ms)
{
	struct tmpl *t = find(c, o, version, domain, id);

	if (!t)
		return NULL;
	t->used_ms = now_ms;
	if (c->head != t) {
		glru_unlink(c, t);
		glru_push(c, t);
	}
	if (o->head != t) {
		olru_unlink(o, t);
		olru_push(o, t);
	}
	return t;
}

/* Doubles the bucket array while the load factor exceeds 1 (bounded by
 * max_total, so the array never outgrows the templates it indexes). */
static void maybe_grow(struct tmpl_cache *c)
{
	size_t n = c->nbucket * 2;
	struct tmpl **nb;

	if (c->st.templates < c->nbucket || c->nbucket >= ((size_t)1 << 24))
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return; /* keep working with longer chains */
	struct tmpl **old = c->bucket;
	size_t oldn = c->nbucket;
	c->bucket = nb;
	c->nbucket = n;
	for (size_t i = 0; i < oldn; i++) {
		struct tmpl *t = old[i], *next;
		for (; t; t = next) {
			next = t->hnext;
			size_t b = bucket_of(c, t->owner, t->version, t->domain, t->id);
			t->hnext = nb[b];
			nb[b] = t;
		}
	}
	free(old);
}

int tmpl_cache_put(struct tmpl_cache *c, struct tmpl_owner *o, struct tmpl *t)
{
	size_t sz = tmpl_size(t);
	struct tmpl *old;
	int ret = 0;

	t->owner = o;
	if (sz > c->conf.max_bytes_per_owner || sz > c->conf.max_bytes_total) {
		tmpl_free(t);
		return -E2BIG;
	}
	old = find(c, o, t->version, t->domain, t->id);
	if (old) {
		ret = tmpl_same_layout(old, t) ? 1 : 2;
		remove_tmpl(c, old);
	}
	/* make room: the exporter's own least recently used first ... */
	while (o->tail && (o->ntmpl + 1 > c->conf.max_per_owner ||
			   o->bytes + sz > c->conf.max_bytes_per_owner)) {
		remove_tmpl(c, o->tail);
		o->evicted++;
		c->st.evicted_owner++;
	}
	/* ... then the globally least recently used */
	while (c->tail && (c->st.templates + 1 > c->conf.max_total ||
			   c->st.bytes + sz > c->conf.max_bytes_total)) {
		c->tail->owner->evicted++;
		remove_tmpl(c, c->tail);
		c->st.evicted_total++;
	}
	size_t b = bucket_of(c, o, t->version, t->domain, t->id);
	t->hnext = c->bucket[b];
	c->bucket[b] = t;
	glru_push(c, t);
	olru_push(o, t);
	o->ntmpl++;
	o->bytes += sz;
	c->st.templates++;
	c->st.bytes += sz;
	maybe_grow(c);
	return ret;
}

int tmpl_cache_del(struct tmpl_cache *c, struct tmpl_owner *o, uint8_t version,
		   uint32_t domain, uint16_t id)
{
	struct tmpl *t = find(c, o, version, domain, id);

	if (!t)
		return -ENOENT;
	remove_tmpl(c, t);
	return 0;
}

unsigned tmpl_cache_del_all(struct tmpl_cache *c, struct tmpl_owner *o, uint8_t version,
			    uint32_t domain, int options)
{
	struct tmpl *t = o->head, *next;
	unsigned n = 0;

	for (; t; t = next) {
		next = t->onext;
		if (t->version == version && t->domain == domain && t->options == options) {
			remove_tmpl(c, t);
			n++;
		}
	}
	return n;
}

void tmpl_cache_drop_owner(struct tmpl_cache *c, struct tmpl_owner *o)
{
	while (o->head)
		remove_tmpl(c, o->head);
}

void tmpl_cache_stats(const struct tmpl_cache *c, struct tmpl_cache_stats *st)
{
	*st = c->st;
}

/* ---- persistence --------------------------------------------------------
 *
 * File layout (all integers big-endian), format version 1:
 *
 *   magic "VTAPTMPL" (8) | format version u32 | entry count u32
 *   entry*: kind u8 | length u32 (of the body) | body
 *     kind 1, a template: exporter address (16, IPv4-mapped) | protocol
 *           version u8 (9|10) | options u8 (0|1) | template id u16 |
 *           domain u32 | scope field count u16 | field count u16 |
 *           field* (element id u16 | length u16 | PEN u32)
 *     kind >= 2: the caller's (struct tmpl_file_ext); skipped when no
 *           extension is given
 *   CRC-32 (IEEE 802.3) u32 of every byte before it
 *
 * Templates are written least recently used first, so loading them in
 * order rebuilds the same LRU order. */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	/* nibble table: small, const, fast enough for files of megabytes */
	static const uint32_t tab[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ tab[crc & 15];
		crc = (crc >> 4) ^ tab[crc & 15];
	}
	return crc ^ 0xffffffffu;
}

static int put_be(struct vbuf *b, uint64_t v, size_t n)
{
	uint8_t x[8];
	struct vt_wr w = wr_init(x, sizeof(x));

	wr_uint(&w, v, n);
	return vbuf_add(b, x, n);
}

size_t tmpl_file_entry_begin(struct vbuf *b, uint8_t kind)
{
	size_t at = b->len;

	(void)put_be(b, kind, 1);
	(void)put_be(b, 0, 4);
	return at;
}

int tmpl_file_entry_end(struct vbuf *b, size_t at)
{
	if (b->len < at + 5)
		return -ENOSPC;   /* the begin did not fit */
	st_be32(b->data + at + 1, (uint32_t)(b->len - at - 5));
	return 0;
}

int tmpl_cache_serialize(const struct tmpl_cache *c, const struct tmpl_file_ext *ext,
			 uint8_t **out, size_t *len)
{
	struct vbuf b;
	uint32_t count = 0;
	int r = 0;

	vbuf_init(&b, TMPL_FILE_MAX);
	r |= vbuf_add(&b, TMPL_FILE_MAGIC, 8);
	r |= put_be(&b, TMPL_FILE_VERSION, 4);
	r |= put_be(&b, 0, 4);                 /* count, patched below */
	for (const struct tmpl *t = c->tail; t && !r; t = t->gprev) {
		size_t at = tmpl_file_entry_begin(&b, TMPL_ENTRY_TEMPLATE);
		r |= vbuf_add(&b, t->owner->addr.b, 16);
		r |= put_be(&b, t->version, 1);
		r |= put_be(&b, t->options, 1);
		r |= put_be(&b, t->id, 2);
		r |= put_be(&b, t->domain, 4);
		r |= put_be(&b, t->nscope, 2);
		r |= put_be(&b, t->nfields, 2);
		for (uint16_t i = 0; i < t->nfields && !r; i++) {
			r |= put_be(&b, t->f[i].id, 2);
			r |= put_be(&b, t->f[i].len, 2);
			r |= put_be(&b, t->f[i].pen, 4);
		}
		r |= tmpl_file_entry_end(&b, at);
		count++;
	}
	if (!r && ext && ext->save) {
		int n = ext->save(ext->arg, &b);
		if (n < 0)
			r = n;
		else
			count += (uint32_t)n;
	}
	if (!r) {
		st_be32(b.data + 12, count);
		r = put_be(&b, crc32_ieee(b.data, b.len), 4);
	}
	if (r) {
		vbuf_free(&b);
		return r == -ENOMEM ? -ENOMEM : -ENOSPC;
	}
	*len = b.len;
	*out = (uint8_t *)vbuf_steal(&b);
	return 0;
}

int tmpl_cache_save(const struct tmpl_cache *c, const char *path,
		    const struct tmpl_file_ext *ext, struct vt_err *err)
{
	uint8_t *buf = NULL;
	size_t len;
	int r = tmpl_cache_serialize(c, ext, &buf, &len);

	if (r < 0)
		return vt_err_set(err, r, "%s: %s", path, strerror(-r));
	r = file_write_atomic(path, buf, len, 0644, err);
	free(buf);
	return r;
}

/* Checks one template entry body (16 + 12 bytes + fields). */
static bool tmpl_entry_ok(const uint8_t *p, size_t n)
{
	struct vt_rd r = rd_init(p, n);

	rd_skip(&r, 16);
	uint8_t pver = rd_u8(&r), opt = rd_u8(&r);
	uint16_t id = rd_u16(&r);
	rd_skip(&r, 4);
	uint16_t nscope = rd_u16(&r), nf = rd_u16(&r);
	if (rd_failed(&r) || (pver != 9 && pver != 10) || opt > 1 || id < 256 ||
	    nf == 0 || nf > TMPL_MAX_FIELDS || nscope > nf || (!opt && nscope))
		return false;
	return rd_left(&r) == (size_t)nf * 8;
}

static void tmpl_entry_load(struct tmpl_cache *c, const uint8_t *p, size_t n,
			    tmpl_owner_fn owner_fn, void *arg, uint64_t now_ms, int *loaded)
{
	struct vt_rd r = rd_init(p, n);
	struct vt_addr a;

	rd_copy(&r, a.b, 16);
	uint8_t pver = rd_u8(&r), opt = rd_u8(&r);
	uint16_t id = rd_u16(&r);
	uint32_t dom = rd_u32(&r);
	uint16_t nscope = rd_u16(&r), nf = rd_u16(&r);
	struct tmpl_owner *o = owner_fn(arg, &a);
	struct tmpl *t = o ? tmpl_new(nf) : NULL;

	if (!t)
		return;
	t->version = pver;
	t->options = opt;
	t->id = id;
	t->domain = dom;
	t->nscope = nscope;
	t->used_ms = now_ms;
	for (uint16_t k = 0; k < nf; k++) {
		t->f[k].id = rd_u16(&r);
		t->f[k].len = rd_u16(&r);
		t->f[k].pen = rd_u32(&r);
	}
	if (tmpl_finish(t, pver == 9) < 0) {
		tmpl_free(t);
		return;
	}
	if (tmpl_cache_put(c, o, t) >= 0)
		(*loaded)++;
}

int tmpl_cache_load_mem(struct tmpl_cache *c, const uint8_t *buf, size_t len,
			tmpl_owner_fn owner_fn, void *arg, const struct tmpl_file_ext *ext,
			uint64_t now_ms, struct vt_err *err)
{
	struct vt_rd r;
	uint32_t ver, count, crc;
	int loaded = 0;

	if (len < 20 || memcmp(buf, TMPL_FILE_MAGIC, 8) != 0)
		return vt_err_set(err, -EBADMSG, "not a vtap template file (bad magic)");
	crc = ld_be32(buf + len - 4);
	if (crc32_ieee(buf, len - 4) != crc)
		return vt_err_set(err, -EBADMSG, "checksum mismatch (file damaged or truncated)");
	r = rd_init(buf + 8, len - 12);
	ver = rd_u32(&r);
	if (ver != TMPL_FILE_VERSION)
		return vt_err_set(err, -EBADMSG, "format version %u unsupported (want %u)",
				  ver, TMPL_FILE_VERSION);
	count = rd_u32(&r);
	/* two passes: everything is checked before anything is added */
	for (int apply = 0; apply < 2; apply++) {
		struct vt_rd v = r;
		for (uint32_t i = 0; i < count; i++) {
			size_t off = (size_t)(v.p - buf);
			uint8_t kind = rd_u8(&v);
			uint32_t blen = rd_u32(&v);
			const uint8_t *body = rd_take(&v, blen);
			if (!body || kind == 0)
				return vt_err_set(err, -EBADMSG, "entry %u at offset %zu truncated",
						  i, off);
			if (kind == TMPL_ENTRY_TEMPLATE) {
				if (!apply && !tmpl_entry_ok(body, blen))
					return vt_err_set(err, -EBADMSG,
							  "entry %u at offset %zu invalid", i, off);
				if (apply)
					tmpl_entry_load(c, body, blen, owner_fn, arg, now_ms,
							&loaded);
			} else if (ext && ext->load) {
				int e = ext->load(ext->arg, kind, body, blen, apply);
				if (e < 0 && !apply)
					return vt_err_set(err, -EBADMSG,
							  "entry %u (kind %u) at offset %zu invalid",
							  i, kind, off);
			}
		}
		if (!apply && rd_left(&v) != 0)
			return vt_err_set(err, -EBADMSG, "%zu trailing bytes after %u entries",
					  rd_left(&v), count);
	}
	return loaded;
}

int tmpl_cache_load(struct tmpl_cache *c, const char *path, tmpl_owner_fn owner_fn,
		    void *arg, const struct tmpl_file_ext *ext, uint64_t now_ms,
		    struct vt_err *err)
{
	struct vbuf b;
	int r;

	r = file_read_all(path, TMPL_FILE_MAX, false, &b, err);
	if (r == 0) {
		r = tmpl_cache_load_mem(c, b.data, b.len, owner_fn, arg, ext, now_ms, err);
		if (r < 0 && err) {
			char msg[VT_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			vt_err_set(err, r, "%s: %s", path, msg);
		}
	}
	vbuf_free(&b);
	return r;
}
