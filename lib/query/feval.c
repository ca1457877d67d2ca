/* feval.c — evaluates compiled filters (filter_int.h): on a batch of
 * columns (one loop per leaf), on one row (the same code over a one-row
 * batch) and on a block summary (none / some / all of its rows), plus the
 * Bloom filter helpers whose hash is part of the segment format. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/hash.h"
#include "flow/addr.h"
#include "query/filter_int.h"

/* ---- bloom helpers (format-defining) ------------------------------------ */

uint64_t fc_bloom_hash(const void *v, size_t len)
{
	return vt_hash(v, len, 0x76746170ull /* "vtap" */);
}

uint64_t fc_bloom_hash_port(uint16_t port)
{
	uint8_t be[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	return fc_bloom_hash(be, 2);
}

static uint32_t bloom_bit(uint64_t h, unsigned i, uint32_t nbits)
{
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1u;
	return (h1 + i * h2) & (nbits - 1);
}

void fc_bloom_set(uint8_t *bits, uint32_t nbits, uint8_t k, uint64_t h)
{
	for (unsigned i = 0; i < k; i++) {
		uint32_t b = bloom_bit(h, i, nbits);
		bits[b >> 3] |= (uint8_t)(1u << (b & 7));
	}
}

bool fc_bloom_test(const struct fc_bloom *b, uint64_t h)
{
	if (!b->bits || !b->nbits)
		return true;
	for (unsigned i = 0; i < b->k; i++) {
		uint32_t bit = bloom_bit(h, i, b->nbits);
		if (!(b->bits[bit >> 3] & (1u << (bit & 7))))
			return false;
	}
	return true;
}

/* ---- evaluation on columns ---------------------------------------------- */

static bool vm_matches(const struct fnode *nd, const struct vm_ident *id)
{
	if (uuid_is_nil(id->uuid) && !id->name[0])
		return false;   /* unknown VM: no VM term matches it */
	if (nd->by_uuid)
		return memcmp(id->uuid, nd->uuid, 16) == 0;
	return fnmatch(nd->pat, id->name, 0) == 0;
}

static bool zone_matches(const struct fnode *nd, const char *name)
{
	return fnmatch(nd->pat, name, 0) == 0;
}

#define RANGE_LOOP(T)                                                          \
	do {                                                                   \
		const T *x = c->col[nd->cols[0]];                               \
		if (nd->ncols == 1 || nd->cols[0] == nd->cols[1]) {            \
			for (size_t i = 0; i < n; i++)                          \
				out[i] = (uint64_t)x[i] - lo <= span;            \
		} else {                                                       \
			const T *y = c->col[nd->cols[1]];                       \
			for (size_t i = 0; i < n; i++)                          \
				out[i] = ((uint64_t)x[i] - lo <= span) |         \
					 ((uint64_t)y[i] - lo <= span);          \
		}                                                              \
	} while (0)

static void eval_range(const struct fnode *nd, const struct flow_cols *c, uint8_t *out, size_t n)
{
	uint64_t lo = nd->lo, span = nd->hi - nd->lo;

	switch (fc_desc(nd->cols[0])->kind) {
	case FCK_U8: RANGE_LOOP(uint8_t); break;
	case FCK_U16: RANGE_LOOP(uint16_t); break;
	case FCK_U32: case FCK_VMREF: RANGE_LOOP(uint32_t); break;
	case FCK_U64: RANGE_LOOP(uint64_t); break;
	default: memset(out, 0, n); break;
	}
}

static void eval_net(const struct fnode *nd, const struct flow_cols *c, uint8_t *out, size_t n)
{
	const uint64_t m0 = nd->m[0], m1 = nd->m[1], v0 = nd->v[0], v1 = nd->v[1];

	for (unsigned k = 0; k < nd->ncols; k++) {
		const struct vt_addr *x = c->col[nd->cols[k]];
		for (size_t i = 0; i < n; i++) {
			uint64_t a[2];
			memcpy(a, x[i].b, 16);
			uint8_t hit = ((a[0] & m0) == v0) & ((a[1] & m1) == v1);
			out[i] = k ? (uint8_t)(out[i] | hit) : hit;
		}
	}
}

/* <scratch> holds at least (depth + 1) * unit bytes, unit >= max(n,
 * nvms, 2 * (nzones + 1)). */
static void eval_node(const struct filter *f, int ni, const struct flow_cols *c, uint8_t *out,
		      uint8_t *scratch, size_t unit)
{
	const struct fnode *nd = &f->nodes[ni];
	size_t n = c->n;

	switch (nd->kind) {
	case FN_TRUE:
		memset(out, 1, n);
		return;
	case FN_AND:
	case FN_OR:
		eval_node(f, nd->a, c, out, scratch, unit);
		eval_node(f, nd->b, c, scratch, scratch + unit, unit);
		if (nd->kind == FN_AND)
			for (size_t i = 0; i < n; i++)
				out[i] &= scratch[i];
		else
			for (size_t i = 0; i < n; i++)
				out[i] |= scratch[i];
		return;
	case FN_NOT:
		eval_node(f, nd->a, c, out, scratch, unit);
		for (size_t i = 0; i < n; i++)
			out[i] ^= 1;
		return;
	case FN_RANGE:
		eval_range(nd, c, out, n);
		return;
	case FN_NET:
		eval_net(nd, c, out, n);
		return;
	case FN_VM: {
		uint8_t *map = scratch;
		for (size_t k = 0; k < c->nvms; k++)
			map[k] = vm_matches(nd, &c->vms[k]);
		for (unsigned k = 0; k < nd->ncols; k++) {
			const uint32_t *id = c->col[nd->cols[k]];
			for (size_t i = 0; i < n; i++) {
				uint8_t hit = id[i] < c->nvms ? map[id[i]] : 0;
				out[i] = k ? (uint8_t)(out[i] | hit) : hit;
			}
		}
		return;
	}
	case FN_ZONE: {
		/* the zone indexes whose names match, then a membership test */
		uint16_t *set = (uint16_t *)(void *)scratch;
		size_t ns = 0;
		if (zone_matches(nd, "outside"))
			set[ns++] = 0;
		for (size_t k = 0; k < c->nzones; k++)
			if (c->zones[k].idx && zone_matches(nd, c->zones[k].name))
				set[ns++] = c->zones[k].idx;
		for (unsigned k = 0; k < nd->ncols; k++) {
			const uint16_t *z = c->col[nd->cols[k]];
			for (size_t i = 0; i < n; i++) {
				uint8_t hit = 0;
				for (size_t s = 0; s < ns; s++)
					hit |= z[i] == set[s];
				out[i] = k ? (uint8_t)(out[i] | hit) : hit;
			}
		}
		return;
	}
	}
}

void filter_ctx_free(struct filter_ctx *x)
{
	if (!x)
		return;
	VT_FREE(x->scratch);
	x->cap = 0;
}

int filter_eval(const struct filter *f, const struct flow_cols *c, uint8_t *sel,
		struct filter_ctx *x)
{
	size_t unit = VT_MAX(VT_MAX(c->n, c->nvms), 2 * (c->nzones + 1));
	size_t need;

	unit = (unit + 15) & ~(size_t)15;
	need = unit * (size_t)(f->depth + 1);
	if (x->cap < need) {
		uint8_t *s = realloc(x->scratch, need);
		if (!s)
			return -ENOMEM;
		x->scratch = s;
		x->cap = need;
	}
	if (c->n)
		eval_node(f, f->root, c, sel, x->scratch, unit);
	return 0;
}

bool filter_match_row(const struct filter *f, const struct flow_row *row,
		      const struct fc_zonemap *zm)
{
	struct vm_ident vms[5];
	struct fc_zone zones[2];
	uint32_t ids[4] = { 1, 2, 3, 4 };
	struct flow_cols c;
	uint8_t out = 0;
	uint8_t stack_scratch[(FILTER_MAX_DEPTH + 2) * 16];
	uint8_t *scratch = stack_scratch;
	size_t unit = 16, need = unit * (size_t)(f->depth + 1);

	memset(&c, 0, sizeof(c));
	memset(&vms[0], 0, sizeof(vms[0]));
	vm_ident_norm(&vms[1], &row->rec.vm);
	vm_ident_norm(&vms[2], &row->rec.peer);
	vm_ident_norm(&vms[3], &row->attr.src_vm);
	vm_ident_norm(&vms[4], &row->attr.dst_vm);
	c.vms = vms;
	c.nvms = 5;
	c.zones = zones;
	uint16_t z[2] = { row->attr.src_zone, row->attr.dst_zone };
	for (int k = 0; k < 2; k++) {
		if (!z[k] || !zm || z[k] > zm->n || !zm->names[z[k] - 1])
			continue;
		zones[c.nzones].idx = z[k];
		snprintf(zones[c.nzones].name, sizeof(zones[0].name), "%s", zm->names[z[k] - 1]);
		c.nzones++;
	}
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		const struct fc_desc *d = fc_desc(k);
		if (d->kind != FCK_VMREF)
			c.col[k] = (uint8_t *)(uintptr_t)row + d->row_off;
	}
	c.col[FC_VM] = &ids[0];
	c.col[FC_PEER] = &ids[1];
	c.col[FC_SRC_VM] = &ids[2];
	c.col[FC_DST_VM] = &ids[3];
	c.n = 1;
	c.have = FC_ALL;
	if (need > sizeof(stack_scratch)) {
		scratch = malloc(need);
		if (!scratch)
			return false;
	}
	eval_node(f, f->root, &c, &out, scratch, unit);
	if (scratch != stack_scratch)
		free(scratch);
	return out != 0;
}

/* ---- evaluation on block summaries -------------------------------------- */

static enum fmatch m_or(enum fmatch a, enum fmatch b)
{
	if (a == FM_ALL || b == FM_ALL)
		return FM_ALL;
	return a == FM_NONE && b == FM_NONE ? FM_NONE : FM_SOME;
}

static enum fmatch sum_range1(const struct fnode *nd, unsigned col, const struct fc_summary *s)
{
	if (!(s->have_minmax & FC_BIT(col)))
		return FM_SOME;
	uint64_t mn = s->min[col], mx = s->max[col];
	if (mx < nd->lo || mn > nd->hi)
		return FM_NONE;
	if (nd->lo <= mn && mx <= nd->hi)
		return FM_ALL;
	if (nd->lo == nd->hi && s->bloom[col].bits && (col == FC_SPORT || col == FC_DPORT)) {
		if (!fc_bloom_test(&s->bloom[col], fc_bloom_hash_port((uint16_t)nd->lo)))
			return FM_NONE;
	}
	return FM_SOME;
}

static enum fmatch sum_net1(const struct fnode *nd, unsigned col, const struct fc_summary *s)
{
	if (!(s->have_minmax & FC_BIT(col)))
		return FM_SOME;
	if (addr_cmp(&s->amax[col], &nd->net) < 0 || addr_cmp(&s->amin[col], &nd->nhi) > 0)
		return FM_NONE;
	if (addr_cmp(&nd->net, &s->amin[col]) <= 0 && addr_cmp(&s->amax[col], &nd->nhi) <= 0)
		return FM_ALL;
	if (nd->plen == 128 && s->bloom[col].bits &&
	    !fc_bloom_test(&s->bloom[col], fc_bloom_hash(nd->net.b, 16)))
		return FM_NONE;
	return FM_SOME;
}

static uint8_t vmuse_bit(unsigned col)
{
	switch (col) {
	case FC_VM: return FC_VMUSE_VM;
	case FC_PEER: return FC_VMUSE_PEER;
	case FC_SRC_VM: return FC_VMUSE_SRC;
	default: return FC_VMUSE_DST;
	}
}

static enum fmatch sum_vm1(const struct fnode *nd, unsigned col, const struct fc_summary *s)
{
	bool any = false, all = true;
	uint8_t bit = vmuse_bit(col);

	if (!s->dict || !s->vmuse)
		return FM_SOME;
	for (size_t k = 0; k < s->dict->nvms; k++) {
		if (!(s->vmuse[k] & bit))
			continue;
		if (vm_matches(nd, &s->dict->vms[k]))
			any = true;
		else
			all = false;
	}
	return !any ? FM_NONE : all ? FM_ALL : FM_SOME;
}

static enum fmatch sum_zone1(const struct fnode *nd, unsigned col, const struct fc_summary *s)
{
	if (!s->dict || !(s->have_minmax & FC_BIT(col)))
		return FM_SOME;
	uint64_t mn = s->min[col], mx = s->max[col];
	if (mn == 0 && zone_matches(nd, "outside"))
		return mx == 0 ? FM_ALL : FM_SOME;
	for (size_t k = 0; k < s->dict->nzones; k++) {
		const struct fc_zone *z = &s->dict->zones[k];
		if (z->idx >= mn && z->idx <= mx && zone_matches(nd, z->name))
			return FM_SOME;
	}
	return FM_NONE;
}

static enum fmatch sum_node(const struct filter *f, int ni, const struct fc_summary *s)
{
	const struct fnode *nd = &f->nodes[ni];
	enum fmatch a, b, r = FM_NONE;

	switch (nd->kind) {
	case FN_TRUE:
		return FM_ALL;
	case FN_AND:
		a = sum_node(f, nd->a, s);
		if (a == FM_NONE)
			return FM_NONE;
		b = sum_node(f, nd->b, s);
		if (b == FM_NONE)
			return FM_NONE;
		return a == FM_ALL && b == FM_ALL ? FM_ALL : FM_SOME;
	case FN_OR:
		return m_or(sum_node(f, nd->a, s), sum_node(f, nd->b, s));
	case FN_NOT:
		a = sum_node(f, nd->a, s);
		return a == FM_ALL ? FM_NONE : a == FM_NONE ? FM_ALL : FM_SOME;
	default:
		break;
	}
	unsigned ncols = nd->ncols == 2 && nd->cols[0] == nd->cols[1] ? 1 : nd->ncols;
	for (unsigned k = 0; k < ncols; k++) {
		enum fmatch m = FM_SOME;
		switch (nd->kind) {
		case FN_RANGE: m = sum_range1(nd, nd->cols[k], s); break;
		case FN_NET: m = sum_net1(nd, nd->cols[k], s); break;
		case FN_VM: m = sum_vm1(nd, nd->cols[k], s); break;
		case FN_ZONE: m = sum_zone1(nd, nd->cols[k], s); break;
		default: break;
		}
		r = k ? m_or(r, m) : m;
	}
	return r;
}

enum fmatch filter_summary(const struct filter *f, const struct fc_summary *s)
{
	if (s->nrows == 0)
		return FM_NONE;
	return sum_node(f, f->root, s);
}
