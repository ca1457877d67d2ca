/* cols.c — see cols.h. The descriptor table below is the single place that
 * maps a stored column to a field of struct flow_row; encoding, decoding
 * and materializing rows are all driven by it. */
#include "store/cols.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/hash.h"
#include "core/mem.h"
#include "store/ranges.h"

#define R(f) offsetof(struct flow_row, rec.f)
#define A(f) offsetof(struct flow_row, attr.f)

static const struct fc_desc descs[FC_NCOLS] = {
	[FC_FIRST] = { "first", FCK_U64, R(first_ms) },
	[FC_LAST] = { "last", FCK_U64, R(last_ms) },
	[FC_SRC] = { "src", FCK_ADDR, R(src) },
	[FC_DST] = { "dst", FCK_ADDR, R(dst) },
	[FC_SPORT] = { "sport", FCK_U16, R(sport) },
	[FC_DPORT] = { "dport", FCK_U16, R(dport) },
	[FC_PROTO] = { "proto", FCK_U8, R(proto) },
	[FC_IPVER] = { "ipver", FCK_U8, R(ipver) },
	[FC_VLAN] = { "vlan", FCK_U16, R(vlan) },
	[FC_IN_IF] = { "in_if", FCK_U32, R(in_if) },
	[FC_OUT_IF] = { "out_if", FCK_U32, R(out_if) },
	[FC_BYTES] = { "bytes", FCK_U64, R(bytes) },
	[FC_PACKETS] = { "packets", FCK_U64, R(packets) },
	[FC_TCP_FLAGS] = { "tcp_flags", FCK_U8, R(tcp_flags) },
	[FC_TOS] = { "tos", FCK_U8, R(tos) },
	[FC_END_REASON] = { "end_reason", FCK_U8, R(end_reason) },
	[FC_DIRECTION] = { "direction", FCK_U8, R(direction) },
	[FC_SRC_MAC] = { "src_mac", FCK_MAC, R(src_mac) },
	[FC_DST_MAC] = { "dst_mac", FCK_MAC, R(dst_mac) },
	[FC_NEXTHOP] = { "nexthop", FCK_ADDR, R(nexthop) },
	[FC_SRC_AS] = { "src_as", FCK_U32, R(src_as) },
	[FC_DST_AS] = { "dst_as", FCK_U32, R(dst_as) },
	[FC_SRC_MASK] = { "src_mask", FCK_U8, R(src_mask) },
	[FC_DST_MASK] = { "dst_mask", FCK_U8, R(dst_mask) },
	[FC_SCOPE] = { "scope", FCK_U8, R(scope) },
	[FC_VM] = { "vm", FCK_VMREF, R(vm) },
	[FC_PEER] = { "peer", FCK_VMREF, R(peer) },
	[FC_EXPORTER] = { "exporter", FCK_ADDR, R(exporter) },
	[FC_OBS_DOMAIN] = { "obs_domain", FCK_U32, R(obs_domain) },
	[FC_SAMPLING] = { "sampling", FCK_U32, R(sampling) },
	[FC_EXP_VERSION] = { "exp_version", FCK_U8, R(exp_version) },
	[FC_SRC_VM] = { "src_vm", FCK_VMREF, A(src_vm) },
	[FC_DST_VM] = { "dst_vm", FCK_VMREF, A(dst_vm) },
	[FC_SRC_ZONE] = { "src_zone", FCK_U16, A(src_zone) },
	[FC_DST_ZONE] = { "dst_zone", FCK_U16, A(dst_zone) },
	[FC_LOCALITY] = { "locality", FCK_U8, A(locality) },
	[FC_DUP] = { "dup", FCK_U8, A(dup) },
};

/* The descriptor's kind must match the field's size; a mismatch would
 * silently copy the wrong bytes. */
#define FSZ(f) sizeof(((struct flow_row *)0)->f)
_Static_assert(FSZ(rec.first_ms) == 8 && FSZ(rec.sport) == 2 && FSZ(rec.proto) == 1 &&
	       FSZ(rec.vlan) == 2 && FSZ(rec.in_if) == 4 && FSZ(rec.bytes) == 8 &&
	       FSZ(rec.src_as) == 4 && FSZ(rec.obs_domain) == 4 && FSZ(rec.sampling) == 4 &&
	       FSZ(attr.src_zone) == 2 && FSZ(attr.locality) == 1 && FSZ(attr.dup) == 1 && FSZ(rec.src_mac) == 6,
	       "column descriptor sizes");

const struct fc_desc *fc_desc(unsigned c)
{
	return c < FC_NCOLS ? &descs[c] : NULL;
}

void cols_init(struct flow_cols *c)
{
	memset(c, 0, sizeof(*c));
}

void cols_free(struct flow_cols *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < FC_NCOLS; i++)
		free(c->col[i]);
	free(c->vms);
	free(c->zones);
	free(c->vmhash);
	if (c->sum) {
		for (unsigned i = 0; i < FC_NCOLS; i++)
			free(c->sum->low[i]);
		free(c->sum);
	}
	memset(c, 0, sizeof(*c));
}

void cols_reset(struct flow_cols *c)
{
	c->n = 0;
	c->have = 0;
	c->nvms = 0;
	c->nzones = 0;
	c->konst = 0;
	if (c->sum)
		c->sum->n = 0;
	if (c->vmhash)
		memset(c->vmhash, 0, c->vmhash_cap * sizeof(*c->vmhash));
}

int cols_reserve(struct flow_cols *c, size_t cap, uint64_t cols)
{
	size_t ncap = VT_MAX(cap, c->cap);

	for (unsigned i = 0; i < FC_NCOLS; i++) {
		bool want = c->col[i] || (cols & FC_BIT(i));
		if (!want || (c->col[i] && ncap <= c->cap))
			continue;
		void *p = realloc(c->col[i], ncap * fc_elem_size(descs[i].kind));
		if (!p)
			return -ENOMEM;
		c->col[i] = p;
	}
	c->cap = ncap;
	return 0;
}

int cols_prefault(struct flow_cols *c, size_t cap)
{
	if (c->n)
		return -EBUSY;
	int r = cols_reserve(c, cap, FC_ALL);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < FC_NCOLS; i++)
		vt_touch_pages(c->col[i], c->cap * fc_elem_size(descs[i].kind));
	if (c->sum)
		for (unsigned k = 0; k < FC_NCOLS; k++)
			if (c->sum->low[k])
				vt_touch_pages(c->sum->low[k], c->sum->limit * sizeof(*c->sum->low[k]));
	return 0;
}

bool vm_ident_is_nil(const struct vm_ident *id)
{
	return uuid_is_nil(id->uuid) && !id->name[0] && !id->ifname[0] && !id->ifindex;
}

void vm_ident_norm(struct vm_ident *out, const struct vm_ident *in)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	memcpy(out->uuid, in->uuid, 16);
	n = strnlen(in->name, sizeof(in->name) - 1);
	memcpy(out->name, in->name, n);
	n = strnlen(in->ifname, sizeof(in->ifname) - 1);
	memcpy(out->ifname, in->ifname, n);
	out->ifindex = in->ifindex;
}

int cols_vm_add(struct flow_cols *c, const struct vm_ident *id)
{
	if (c->nvms == c->vmcap) {
		size_t ncap = c->vmcap ? c->vmcap * 2 : 16;
		struct vm_ident *p = realloc(c->vms, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->vms = p;
		c->vmcap = ncap;
	}
	vm_ident_norm(&c->vms[c->nvms], id);
	return (int)c->nvms++;
}

int cols_zone_add(struct flow_cols *c, uint16_t idx, const char *name)
{
	for (size_t i = 0; i < c->nzones; i++)
		if (c->zones[i].idx == idx)
			return 0;
	if (c->nzones == c->zonecap) {
		size_t ncap = c->zonecap ? c->zonecap * 2 : 8;
		struct fc_zone *p = realloc(c->zones, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->zones = p;
		c->zonecap = ncap;
	}
	struct fc_zone *z = &c->zones[c->nzones++];
	memset(z, 0, sizeof(*z));
	z->idx = idx;
	snprintf(z->name, sizeof(z->name), "%s", name ? name : "");
	return 0;
}

const char *cols_zone_name(const struct flow_cols *c, uint16_t idx)
{
	for (size_t i = 0; i < c->nzones; i++)
		if (c->zones[i].idx == idx)
			return c->zones[i].name;
	return NULL;
}

/* VM dictionary while building: open addressing over dictionary indexes
 * (0 = empty slot, since index 0 is the nil identity, never hashed). */
static int vm_intern(struct flow_cols *c, const struct vm_ident *raw, uint32_t *out)
{
	struct vm_ident id;

	/* most flows have an end outside any VM: decide that before copying */
	if (vm_ident_nil(raw)) {
		*out = 0;
		return 0;
	}
	vm_ident_norm(&id, raw);
	if ((c->nvms + 1) * 2 > c->vmhash_cap) {
		size_t ncap = c->vmhash_cap ? c->vmhash_cap * 2 : 64;
		uint32_t *h = calloc(ncap, sizeof(*h));
		if (!h)
			return -ENOMEM;
		for (size_t i = 1; i < c->nvms; i++) {
			size_t s = vt_hash(&c->vms[i], sizeof(c->vms[i]), 0) & (ncap - 1);
			while (h[s])
				s = (s + 1) & (ncap - 1);
			h[s] = (uint32_t)i;
		}
		free(c->vmhash);
		c->vmhash = h;
		c->vmhash_cap = ncap;
	}
	size_t mask = c->vmhash_cap - 1;
	size_t s = vt_hash(&id, sizeof(id), 0) & mask;
	while (c->vmhash[s]) {
		if (memcmp(&c->vms[c->vmhash[s]], &id, sizeof(id)) == 0) {
			*out = c->vmhash[s];
			return 0;
		}
		s = (s + 1) & mask;
	}
	int r = cols_vm_add(c, &id);
	if (r < 0)
		return r;
	c->vmhash[s] = (uint32_t)r;
	*out = (uint32_t)r;
	return 0;
}

#define COLS_CHUNK 32
#define COLS_SUM_SPAN 512

/* ---- summaries (struct cols_sum) --------------------------------------- */

int cols_summarize(struct flow_cols *c, size_t limit)
{
	struct cols_sum *s = c->sum;

	if (!s && !(s = c->sum = calloc(1, sizeof(*s))))
		return -ENOMEM;
	if (limit > s->limit) {
		for (unsigned k = 0; k < FC_NCOLS; k++) {
			if (descs[k].kind != FCK_ADDR)
				continue;
			uint32_t *p = realloc(s->low[k], limit * sizeof(*p));
			if (!p)
				return -ENOMEM;
			s->low[k] = p;
		}
		s->limit = limit;
	}
	s->n = 0;   /* what the batch holds now is not covered */
	return 0;
}

const struct cols_sum *cols_summary(const struct flow_cols *c)
{
	return c->sum && c->n && c->sum->n == c->n ? c->sum : NULL;
}

/* Rows [at, at + m) of every column into the summary, which covers rows
 * [0, at). A span at a time (COLS_SUM_SPAN rows, in L2 still): the
 * range loops vectorize over a span, where over a chunk of 32 rows they
 * would cost more than the encoder's pass they save. */
static void sum_rows(struct cols_sum *s, const struct flow_cols *c, size_t at, size_t m)
{
	bool first = at == 0;

	if (first)
		s->addr_other = s->addr_any = 0;
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		bool kc = c->konst & FC_BIT(k);
		/* a constant column: its one value stands for every row */
		const void *v = kc ? (const void *)c->kval[k]
				   : (const uint8_t *)c->col[k] + at * fc_elem_size(descs[k].kind);
		size_t mm = kc ? 1 : m;
		uint64_t lo, hi;
		switch (descs[k].kind) {
		case FCK_U8: range_u8(v, mm, &lo, &hi); break;
		case FCK_U16: range_u16(v, mm, &lo, &hi); break;
		case FCK_U32: case FCK_VMREF: range_u32(v, mm, &lo, &hi); break;
		case FCK_U64: range_u64(v, mm, &lo, &hi); break;
		case FCK_ADDR: {
			/* a constant's low words: written with its array
			 * (fill_col), if ever */
			uint32_t l32, h32, w, *low = kc ? &w : s->low[k] + at;
			enum addr_col a = addr_v4_range(v, mm, low, &l32, &h32);
			if (a != ADDR_ZERO)
				s->addr_any |= FC_BIT(k);
			if (a == ADDR_OTHER)
				s->addr_other |= FC_BIT(k);
			lo = l32;
			hi = h32;
			break;
		}
		default: continue;   /* MACs: the encoder compares them */
		}
		if (first || lo < s->mn[k])
			s->mn[k] = lo;
		if (first || hi > s->mx[k])
			s->mx[k] = hi;
	}
	s->n = at + m;
}

/* Rows up to <n> (or the limit) into the summary, whole spans only
 * unless <all>. */
static void sum_upto(struct flow_cols *c, size_t n, bool all)
{
	struct cols_sum *s = c->sum;

	if (!s)
		return;
	n = VT_MIN(n, s->limit);
	while (s->n < n) {
		size_t m = VT_MIN(n - s->n, (size_t)COLS_SUM_SPAN);
		if (m < COLS_SUM_SPAN && !all && s->n + m < s->limit)
			break;   /* a part of a span: the next append or the end */
		sum_rows(s, c, s->n, m);
	}
}

void cols_summary_complete(struct flow_cols *c)
{
	sum_upto(c, c->n, true);
}

/* The FLOWATTR_NIL_* bit of a VM column. */
static uint8_t vmref_nil_bit(unsigned k)
{
	switch (k) {
	case FC_VM: return FLOWATTR_NIL_VM;
	case FC_PEER: return FLOWATTR_NIL_PEER;
	case FC_SRC_VM: return FLOWATTR_NIL_SRC;
	case FC_DST_VM: return FLOWATTR_NIL_DST;
	default: return 0;
	}
}

/* The column lines rows [at, at + m) will be written to, fetched for
 * writing while the chunk before is transposed: 37 columns are more
 * write streams than the hardware prefetcher follows, and a block's
 * columns (65536 rows x ~125 bytes) do not stay in L2 between blocks. */
static void prefetch_chunk(const struct flow_cols *c, size_t at, size_t m)
{
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		if (c->konst & FC_BIT(k))
			continue;   /* one value so far: likely not written */
		size_t es = fc_elem_size(descs[k].kind);
		uintptr_t p = (uintptr_t)c->col[k] + at * es, end = p + m * es;
		for (p &= ~(uintptr_t)63; p < end; p += 64)
			__builtin_prefetch((const void *)p, 1, 3);
	}
}

/* Elements e[0, m) (stride <st>, <es> bytes each) all equal to <ref>.
 * Word loads and compares, no call per element. */
static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static bool all_equal(const uint8_t *e, size_t st, size_t es, size_t m, const uint8_t *ref)
{
	uint64_t diff = 0;
	uint32_t r32, x32;
	uint16_t r16, x16;

	switch (es) {
	case 1:
		for (size_t i = 0; i < m; i++)
			diff |= (uint64_t)(e[i * st] ^ ref[0]);
		break;
	case 2:
		memcpy(&r16, ref, 2);
		for (size_t i = 0; i < m; i++) {
			memcpy(&x16, e + i * st, 2);
			diff |= (uint64_t)(x16 ^ r16);
		}
		break;
	case 4:
		memcpy(&r32, ref, 4);
		for (size_t i = 0; i < m; i++) {
			memcpy(&x32, e + i * st, 4);
			diff |= x32 ^ r32;
		}
		break;
	case 6: {
		memcpy(&r32, ref, 4);
		memcpy(&r16, ref + 4, 2);
		for (size_t i = 0; i < m; i++) {
			memcpy(&x32, e + i * st, 4);
			memcpy(&x16, e + i * st + 4, 2);
			diff |= (x32 ^ r32) | (uint64_t)(x16 ^ r16);
		}
		break;
	}
	case 8: {
		uint64_t r = ld64(ref);
		for (size_t i = 0; i < m; i++)
			diff |= ld64(e + i * st) ^ r;
		break;
	}
	default: {   /* 16: addresses */
		uint64_t a = ld64(ref), b = ld64(ref + 8);
		for (size_t i = 0; i < m; i++)
			diff |= (ld64(e + i * st) ^ a) | (ld64(e + i * st + 8) ^ b);
		break;
	}
	}
	return !diff;
}

/* n copies of the <es> bytes at <v> to <p>. */
static void fill_value(uint8_t *p, const uint8_t *v, size_t es, size_t n)
{
	if (es == 1) {
		memset(p, v[0], n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(p + i * es, v, es);
}

/* Rows [0, to) of constant column <k> written out, and for an address
 * the low words of the rows its summary took as the constant. */
static void fill_col(struct flow_cols *c, unsigned k, size_t to)
{
	size_t es = fc_elem_size(descs[k].kind);

	fill_value(c->col[k], c->kval[k], es, to);
	if (c->sum && descs[k].kind == FCK_ADDR)
		fill_value((uint8_t *)c->sum->low[k], c->kval[k] + 12, 4, VT_MIN(to, c->sum->n));
}

void cols_materialize(struct flow_cols *c, uint64_t cols)
{
	uint64_t m = c->konst & cols;

	for (unsigned k = 0; k < FC_NCOLS; k++)
		if (m & FC_BIT(k))
			fill_col(c, k, c->n);
	c->konst &= ~m;
}

/* ---- constant columns, found for a chunk at once ----
 * A writer's batch keeps a column whose rows hold one value as that value
 * (keep_const). Comparing each column's values on their own cost about
 * four times the copies it saves (one strided load per row and column);
 * instead, the bytes of the rows that hold scalar columns (three spans of
 * struct flow_row) are XORed with the chunk's first row and ORed
 * together, a few wide operations per row, and a column is constant over
 * the chunk when its bytes of that OR are zero. */
#define S0B ((size_t)0)
#define S0E ((R(vm) + 7) & ~(size_t)7)
#define S1B (R(exporter) & ~(size_t)7)
#define S1E ((R(exp_version) + 8) & ~(size_t)7)
#define S2B (A(src_zone) & ~(size_t)7)
#define S2E ((A(dup) + 8) & ~(size_t)7)
#define DIFF_BYTES ((S0E - S0B) + (S1E - S1B) + (S2E - S2B))
_Static_assert(S0E <= S1B && S1E <= sizeof(struct flow_rec) && S2E <= sizeof(struct flow_row),
	       "scalar spans of struct flow_row");

/* The position of column <k>'s bytes in the chunk's OR; -1: not in a
 * span (a VM column, or a field added outside them). */
static int diff_at_of(unsigned k)
{
	size_t off = descs[k].row_off, end = off + fc_elem_size(descs[k].kind);

	if (descs[k].kind == FCK_VMREF)
		return -1;
	if (end <= S0E)
		return (int)(off - S0B);
	if (off >= S1B && end <= S1E)
		return (int)((S0E - S0B) + off - S1B);
	if (off >= S2B && end <= S2E)
		return (int)((S0E - S0B) + (S1E - S1B) + off - S2B);
	return -1;
}

/* Per column: its position in the OR (-1: none) and the masks that keep
 * its bytes of the two words read from there (byte order neutral). */
static int16_t diff_pos[FC_NCOLS];
static uint64_t diff_mask[FC_NCOLS][2];
static pthread_once_t diff_once = PTHREAD_ONCE_INIT;

static void diff_init(void)
{
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		uint8_t mb[16] = { 0 };
		diff_pos[k] = (int16_t)diff_at_of(k);
		memset(mb, 0xff, fc_elem_size(descs[k].kind));
		memcpy(diff_mask[k], mb, sizeof(mb));
	}
}

/* 32-byte vectors (GCC/clang vector extension: two SSE2 registers, one
 * AVX2 register); the spans' sizes are fixed here, so that the first
 * row and the OR stay in registers. */
typedef uint64_t cols_v4 __attribute__((vector_size(32)));
_Static_assert(S0E - S0B == 128 && S1E - S1B == 32 && S2E - S2B == 8,
	       "chunk_diff's spans: 4 vectors, 1 vector, 1 word");

/* a macro: a 32-byte vector may not cross a call without AVX (psabi) */
#define ldv(p) ({ cols_v4 v_; memcpy(&v_, (p), sizeof(v_)); v_; })

/* d[]: the OR over rows [1, m) of (row XOR row 0), span by span. */
VT_SIMD_CLONES
static void chunk_diff(const struct flow_row *rows, size_t m, uint64_t d[DIFF_BYTES / 8])
{
	const uint8_t *r0 = (const uint8_t *)rows;
	cols_v4 f0 = ldv(r0 + S0B), f1 = ldv(r0 + S0B + 32), f2 = ldv(r0 + S0B + 64),
		f3 = ldv(r0 + S0B + 96), f4 = ldv(r0 + S1B);
	uint64_t f5 = ld64(r0 + S2B), a5 = 0;
	cols_v4 a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, a4 = { 0 };

	for (size_t i = 1; i < m; i++) {
		const uint8_t *ri = (const uint8_t *)&rows[i];
		a0 |= ldv(ri + S0B) ^ f0;
		a1 |= ldv(ri + S0B + 32) ^ f1;
		a2 |= ldv(ri + S0B + 64) ^ f2;
		a3 |= ldv(ri + S0B + 96) ^ f3;
		a4 |= ldv(ri + S1B) ^ f4;
		a5 |= ld64(ri + S2B) ^ f5;
	}
	memcpy(d, &a0, 32);
	memcpy(d + 4, &a1, 32);
	memcpy(d + 8, &a2, 32);
	memcpy(d + 12, &a3, 32);
	memcpy(d + 16, &a4, 32);
	d[20] = a5;
}

/* The <es> bytes at <a> and <b> equal (sizes fixed for the compiler). */
static inline bool same_elem(const uint8_t *a, const uint8_t *b, size_t es)
{
	switch (es) {
	case 1: return *a == *b;
	case 2: return !memcmp(a, b, 2);
	case 4: return !memcmp(a, b, 4);
	case 6: return !memcmp(a, b, 6);
	case 8: return !memcmp(a, b, 8);
	default: return !memcmp(a, b, 16);
	}
}

/* Column <k> of a writer's batch for rows [at, at + m), whose values are
 * all the same (<same>), the first at <e0>, or not: true when they are
 * the column's constant (the first chunk of a batch sets it) and need not
 * be written; false when they must be, the rows before then written out. */
static inline bool keep_const_same(struct flow_cols *c, unsigned k, const uint8_t *e0, bool same,
			    size_t at)
{
	size_t es = fc_elem_size(descs[k].kind);

	if (at == 0) {
		c->konst &= ~FC_BIT(k);   /* what a failed append may have left */
		if (!same)
			return false;
		memcpy(c->kval[k], e0, es);
		c->konst |= FC_BIT(k);
		return true;
	}
	if (!(c->konst & FC_BIT(k)))
		return false;
	if (same && same_elem(e0, c->kval[k], es))
		return true;
	fill_col(c, k, at);
	c->konst &= ~FC_BIT(k);
	return false;
}

/* keep_const_same() for values e[0, m) at stride <st>, compared alone. */
static bool keep_const(struct flow_cols *c, unsigned k, const uint8_t *e, size_t st, size_t m,
		       size_t at)
{
	if (at != 0 && !(c->konst & FC_BIT(k)))
		return false;
	return keep_const_same(c, k, e, all_equal(e, st, fc_elem_size(descs[k].kind), m, e), at);
}

/* The zones of a row's ends named in <c> (cols_zone_add() keeps one
 * entry per zone). */
static int add_zones(struct flow_cols *c, const struct flow_attr *a, const struct fc_zonemap *zm)
{
	uint16_t z[2] = { a->src_zone, a->dst_zone };
	int r;

	for (int k = 0; k < 2; k++) {
		if (!z[k])
			continue;
		const char *name = zm && z[k] <= zm->n ? zm->names[z[k] - 1] : NULL;
		if ((r = cols_zone_add(c, z[k], name)) < 0)
			return r;
	}
	return 0;
}

/* Rows [0, m) of <rows> into every column at row <at>. A writer's batch
 * (cols_summarize) keeps a column whose rows so far hold one value as
 * that value (struct flow_cols.konst): most flows leave a third of the
 * columns zero (no VM, MAC, next hop, AS) and a few equal (the exporter),
 * and comparing costs less than writing them. */
static int append_chunk(struct flow_cols *c, const struct flow_row *rows, size_t m, size_t at,
			const struct fc_zonemap *zm)
{
	const size_t rs = sizeof(struct flow_row);
	bool writer = c->sum != NULL;
	uint8_t allnil = 0xff;
	uint64_t diff[DIFF_BYTES / 8 + 2] = { 0 };   /* + 2: a column's two
						    * words may end past it */
	int r;

	/* one pass over the rows' attributions: the identities no row of
	 * the chunk has (most flows: all four), and the zones the block
	 * must name */
	for (size_t i = 0; i < m; i++) {
		const struct flow_attr *a = &rows[i].attr;
		allnil &= a->nil_vms;
		if ((a->src_zone | a->dst_zone) && (r = add_zones(c, a, zm)) < 0)
			return r;
	}
	if (writer) {
		pthread_once(&diff_once, diff_init);
		chunk_diff(rows, m, diff);
	}
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		const struct fc_desc *d = &descs[k];
		size_t es = fc_elem_size(d->kind);
		uint8_t *dst = (uint8_t *)c->col[k] + at * es;
		const uint8_t *f = (const uint8_t *)rows + d->row_off;

		if (d->kind == FCK_VMREF && (allnil & vmref_nil_bit(k))) {
			/* the nil identity in every row: index 0 */
			static const uint32_t zero[COLS_CHUNK];
			if (!writer || !keep_const_same(c, k, (const uint8_t *)zero, true, at))
				memset(dst, 0, m * 4);
			continue;
		}
		if (d->kind == FCK_VMREF) {
			uint32_t tmp[COLS_CHUNK];
			uint32_t *ids = writer ? tmp : (uint32_t *)(void *)dst;
			uint8_t nil_bit = vmref_nil_bit(k);
			for (size_t i = 0; i < m; i++) {
				const struct vm_ident *v = (const void *)(f + i * rs);
				/* the nil identity (most flow ends) without a call,
				 * and without reading it when the row says so */
				if ((rows[i].attr.nil_vms & nil_bit) || vm_ident_nil(v))
					ids[i] = 0;
				else if ((r = vm_intern(c, v, &ids[i])) < 0)
					return r;
			}
			if (writer && !keep_const(c, k, (const uint8_t *)tmp, 4, m, at))
				memcpy(dst, tmp, m * 4);
			continue;
		}
		if (writer) {
			int p = diff_pos[k];
			bool kept;
			if (p < 0) {
				kept = keep_const(c, k, f, rs, m, at);
			} else {
				const uint8_t *db = (const uint8_t *)diff + p;
				uint64_t x = (ld64(db) & diff_mask[k][0]) |
					     (ld64(db + 8) & diff_mask[k][1]);
				kept = keep_const_same(c, k, f, !x, at);
			}
			if (kept)
				continue;
		}
		/* fixed-size copies the compiler turns into plain moves */
		switch (es) {
		case 1: for (size_t i = 0; i < m; i++) dst[i] = f[i * rs]; break;
		case 2: for (size_t i = 0; i < m; i++) memcpy(dst + 2 * i, f + i * rs, 2); break;
		case 4: for (size_t i = 0; i < m; i++) memcpy(dst + 4 * i, f + i * rs, 4); break;
		case 6: for (size_t i = 0; i < m; i++) memcpy(dst + 6 * i, f + i * rs, 6); break;
		case 8: for (size_t i = 0; i < m; i++) memcpy(dst + 8 * i, f + i * rs, 8); break;
		case 16: for (size_t i = 0; i < m; i++) memcpy(dst + 16 * i, f + i * rs, 16); break;
		default: for (size_t i = 0; i < m; i++) memcpy(dst + i * es, f + i * rs, es); break;
		}
	}
	return 0;
}

int cols_append_rows(struct flow_cols *c, const struct flow_row *rows, size_t n,
		     const struct fc_zonemap *zm)
{
	size_t base = c->n;
	int r;

	if (base + n > c->cap) {
		size_t ncap = c->cap ? c->cap : 1024;
		while (ncap < base + n)
			ncap *= 2;
		if ((r = cols_reserve(c, ncap, FC_ALL)) < 0)
			return r;
	}
	if (c->nvms == 0) {
		static const struct vm_ident nil;
		if ((r = cols_vm_add(c, &nil)) < 0)
			return r;
	}
	/* Transposed a few rows at a time: the rows of a chunk (32 x ~560
	 * bytes) stay in L1 while every column takes its field from them;
	 * column by column over the whole batch would stream the batch from
	 * L2 once per column. */
	for (size_t at = 0; at < n; at += COLS_CHUNK) {
		size_t m = n - at < COLS_CHUNK ? n - at : COLS_CHUNK;
		if (at + COLS_CHUNK < n)
			prefetch_chunk(c, base + at + COLS_CHUNK,
				       VT_MIN(n - at - COLS_CHUNK, (size_t)COLS_CHUNK));
		if ((r = append_chunk(c, rows + at, m, base + at, zm)) < 0)
			goto fail;
	}
	c->n = base + n;
	c->have = FC_ALL;
	sum_upto(c, c->n, false);
	return 0;
fail:
	/* the summary covers rows below c->n only, which are as they were */
	return r;
}

int cols_append_cols(struct flow_cols *dst, const struct flow_cols *src)
{
	size_t base = dst->n, n = src->n;
	uint32_t *remap = NULL;
	int r;

	if ((src->have & FC_ALL) != FC_ALL || (dst->n && (dst->have & FC_ALL) != FC_ALL))
		return -EINVAL;
	if (base + n > dst->cap) {
		size_t ncap = dst->cap ? dst->cap : 1024;
		while (ncap < base + n)
			ncap *= 2;
		if ((r = cols_reserve(dst, ncap, FC_ALL)) < 0)
			return r;
	}
	if (dst->nvms == 0) {
		static const struct vm_ident nil;
		if ((r = cols_vm_add(dst, &nil)) < 0)
			return r;
	}
	/* the source dictionary, interned into the destination's */
	remap = calloc(src->nvms ? src->nvms : 1, sizeof(*remap));
	if (!remap)
		return -ENOMEM;
	for (size_t v = 1; v < src->nvms; v++)
		if ((r = vm_intern(dst, &src->vms[v], &remap[v])) < 0)
			goto out;
	cols_materialize(dst, FC_ALL);
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		size_t es = fc_elem_size(descs[k].kind);
		uint8_t *d = (uint8_t *)dst->col[k] + base * es;
		if (src->konst & FC_BIT(k))
			fill_value(d, src->kval[k], es, n);
		else
			memcpy(d, src->col[k], n * es);
		if (descs[k].kind != FCK_VMREF)
			continue;
		uint32_t *ids = (uint32_t *)dst->col[k] + base;
		for (size_t i = 0; i < n; i++)
			ids[i] = ids[i] < src->nvms ? remap[ids[i]] : 0;
	}
	for (size_t z = 0; z < src->nzones; z++)
		if ((r = cols_zone_add(dst, src->zones[z].idx, src->zones[z].name)) < 0)
			goto out;
	dst->n = base + n;
	dst->have = FC_ALL;
	r = 0;
out:
	free(remap);
	return r;
}

int cols_from_rows(struct flow_cols *c, const struct flow_row *rows, size_t n,
		   const struct fc_zonemap *zm)
{
	cols_reset(c);
	return cols_append_rows(c, rows, n, zm);
}

/* ids[0, m), indexes into <src>'s VM dictionary, made indexes into
 * <dst>'s, which takes each entry the first time it is used (remap[id]:
 * its index there, 0 = not yet). 0 or -ENOMEM. */
static int gather_ids(struct flow_cols *dst, const struct flow_cols *src, uint32_t *remap,
		      uint32_t *ids, size_t m)
{
	int r;

	for (size_t i = 0; i < m; i++) {
		uint32_t id = ids[i];
		if (id == 0 || id >= src->nvms)
			continue;
		if (!remap[id]) {
			if ((r = cols_vm_add(dst, &src->vms[id])) < 0)
				return r;
			remap[id] = (uint32_t)r;
		}
		ids[i] = remap[id];
	}
	return 0;
}

int cols_gather(struct flow_cols *dst, const struct flow_cols *src, const uint32_t *idx,
		size_t m)
{
	int r;

	cols_reset(dst);
	if ((r = cols_reserve(dst, m, FC_ALL)) < 0)
		return r;
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		size_t es = fc_elem_size(descs[k].kind);
		const uint8_t *s = src->col[k];
		uint8_t *d = dst->col[k];
		if (!(src->have & FC_BIT(k)))
			continue;
		if (src->konst & FC_BIT(k)) {   /* constant: stays so */
			dst->konst |= FC_BIT(k);
			memcpy(dst->kval[k], src->kval[k], sizeof(dst->kval[k]));
			continue;
		}
		switch (es) {
		case 1: for (size_t i = 0; i < m; i++) d[i] = s[idx[i]]; break;
		case 2: for (size_t i = 0; i < m; i++) ((uint16_t *)(void *)d)[i] = ((const uint16_t *)(const void *)s)[idx[i]]; break;
		case 4: for (size_t i = 0; i < m; i++) ((uint32_t *)(void *)d)[i] = ((const uint32_t *)(const void *)s)[idx[i]]; break;
		case 8: for (size_t i = 0; i < m; i++) ((uint64_t *)(void *)d)[i] = ((const uint64_t *)(const void *)s)[idx[i]]; break;
		default: for (size_t i = 0; i < m; i++) memcpy(d + i * es, s + (size_t)idx[i] * es, es); break;
		}
	}
	/* keep only the dictionary entries the gathered rows use, so a block
	 * never carries more identities than it references */
	uint32_t *remap = calloc(src->nvms ? src->nvms : 1, sizeof(*remap));
	if (!remap)
		return -ENOMEM;
	if (src->nvms && (r = cols_vm_add(dst, &src->vms[0])) < 0)
		goto out;
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		if (descs[k].kind != FCK_VMREF || !(src->have & FC_BIT(k)))
			continue;
		/* a constant column: its one id */
		bool kc = dst->konst & FC_BIT(k);
		if ((r = gather_ids(dst, src, remap, kc ? (void *)dst->kval[k] : dst->col[k],
				    kc ? 1 : m)) < 0)
			goto out;
	}
	for (size_t i = 0; i < src->nzones; i++)
		if ((r = cols_zone_add(dst, src->zones[i].idx, src->zones[i].name)) < 0)
			goto out;
	dst->n = m;
	dst->have = src->have;
	r = 0;
out:
	free(remap);
	return r;
}

void cols_slice(struct flow_cols *view, const struct flow_cols *src, size_t from, size_t n)
{
	memset(view, 0, sizeof(*view));
	for (unsigned k = 0; k < FC_NCOLS; k++)
		if (src->col[k])
			view->col[k] = (uint8_t *)src->col[k] + from * fc_elem_size(descs[k].kind);
	view->n = n;
	view->cap = n;
	view->have = src->have;
	view->vms = src->vms;
	view->nvms = src->nvms;
	view->zones = src->zones;
	view->nzones = src->nzones;
	view->sum = from == 0 ? src->sum : NULL;   /* cols_summary() checks n */
	view->konst = src->konst;
	memcpy(view->kval, src->kval, sizeof(view->kval));
}

void cols_get_row(const struct flow_cols *c, size_t i, struct flow_row *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		const struct fc_desc *d = &descs[k];
		uint8_t *f = (uint8_t *)out + d->row_off;

		if (!(c->have & FC_BIT(k)) || !c->col[k])
			continue;
		if (d->kind == FCK_VMREF) {
			uint32_t id;
			if (c->konst & FC_BIT(k))
				memcpy(&id, c->kval[k], 4);
			else
				id = FC_U32(c, k)[i];
			if (id < c->nvms)
				memcpy(f, &c->vms[id], sizeof(struct vm_ident));
			continue;
		}
		size_t es = fc_elem_size(d->kind);
		memcpy(f, c->konst & FC_BIT(k) ? c->kval[k] : (const uint8_t *)c->col[k] + i * es,
		       es);
	}
}
