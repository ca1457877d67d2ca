/* query.c — see query.h. Aggregation keeps one hash table of groups keyed
 * by the concatenated key values (integers big-endian, so byte order is
 * numeric order), or a plain array when the only key is a port, protocol,
 * VLAN or similar small domain. VM and zone keys are interned into
 * query-wide tables first, because each block numbers its dictionary
 * differently. Top-N uses a bounded heap, so only N groups are ever
 * materialized. */
#include "query/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/be.h"
#include "core/compiler.h"
#include "core/hash.h"
#include "core/timeutil.h"

static const struct {
	const char *name;
	enum qkey key;
} key_names[] = {
	{ "srcip", QK_SRCIP }, { "dstip", QK_DSTIP }, { "ip", QK_IP },
	{ "srcport", QK_SRCPORT }, { "dstport", QK_DSTPORT }, { "port", QK_PORT },
	{ "proto", QK_PROTO },
	{ "srcvm", QK_SRCVM }, { "dstvm", QK_DSTVM }, { "vm", QK_VM },
	{ "srczone", QK_SRCZONE }, { "dstzone", QK_DSTZONE }, { "zone", QK_ZONE },
	{ "exporter", QK_EXPORTER }, { "vlan", QK_VLAN }, { "locality", QK_LOCALITY },
	{ "inif", QK_IN_IF }, { "outif", QK_OUT_IF }, { "srcas", QK_SRC_AS },
	{ "dstas", QK_DST_AS }, { "tos", QK_TOS }, { "dup", QK_DUP },
	/* nfdump spellings */
	{ "sa", QK_SRCIP }, { "da", QK_DSTIP }, { "sp", QK_SRCPORT }, { "dp", QK_DSTPORT },
	{ "pr", QK_PROTO }, { "srcaddr", QK_SRCIP }, { "dstaddr", QK_DSTIP },
};

const char *query_key_name(enum qkey k)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_names); i++)
		if (key_names[i].key == k)
			return key_names[i].name;
	return "?";
}

bool query_key_is_either(enum qkey k)
{
	return k == QK_IP || k == QK_PORT || k == QK_VM || k == QK_ZONE;
}

int query_parse_keys(const char *s, enum qkey *keys, size_t *n, struct vt_err *err)
{
	char buf[256];
	size_t nk = 0, either = 0;
	char *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return vt_err_set(err, -EINVAL, "aggregation keys: list too long");
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int found = -1;
		for (size_t i = 0; i < ARRAY_SIZE(key_names); i++)
			if (!strcasecmp(tok, key_names[i].name))
				found = (int)key_names[i].key;
		if (found < 0)
			return vt_err_set(err, -EINVAL,
					  "unknown aggregation key '%s' (srcip, dstip, ip, srcport, dstport, "
					  "port, proto, srcvm, dstvm, vm, srczone, dstzone, zone, exporter, "
					  "vlan, locality, inif, outif, srcas, dstas, tos, dup)", tok);
		if (nk == QUERY_MAX_KEYS)
			return vt_err_set(err, -E2BIG, "at most %d aggregation keys", QUERY_MAX_KEYS);
		for (size_t i = 0; i < nk; i++)
			if (keys[i] == (enum qkey)found)
				return vt_err_set(err, -EINVAL, "aggregation key '%s' given twice", tok);
		if (query_key_is_either((enum qkey)found) && ++either > 1)
			return vt_err_set(err, -EINVAL,
					  "at most one of ip, port, vm, zone (keys that count a flow for both sides)");
		keys[nk++] = (enum qkey)found;
	}
	if (nk == 0)
		return vt_err_set(err, -EINVAL, "aggregation keys: empty list");
	*n = nk;
	return 0;
}

/* ---- key layout ---------------------------------------------------------- */

enum kt { KT_ADDR, KT_U32, KT_U16, KT_U8, KT_VM, KT_ZONE };

struct keydef {
	enum kt type;
	unsigned col, col2;     /* source columns (col2 for either-side keys) */
	size_t width;
};

static struct keydef keydef(enum qkey k)
{
	switch (k) {
	case QK_SRCIP: return (struct keydef){ KT_ADDR, FC_SRC, FC_SRC, 16 };
	case QK_DSTIP: return (struct keydef){ KT_ADDR, FC_DST, FC_DST, 16 };
	case QK_IP: return (struct keydef){ KT_ADDR, FC_SRC, FC_DST, 16 };
	case QK_SRCPORT: return (struct keydef){ KT_U16, FC_SPORT, FC_SPORT, 2 };
	case QK_DSTPORT: return (struct keydef){ KT_U16, FC_DPORT, FC_DPORT, 2 };
	case QK_PORT: return (struct keydef){ KT_U16, FC_SPORT, FC_DPORT, 2 };
	case QK_PROTO: return (struct keydef){ KT_U8, FC_PROTO, FC_PROTO, 1 };
	case QK_SRCVM: return (struct keydef){ KT_VM, FC_SRC_VM, FC_SRC_VM, 4 };
	case QK_DSTVM: return (struct keydef){ KT_VM, FC_DST_VM, FC_DST_VM, 4 };
	case QK_VM: return (struct keydef){ KT_VM, FC_SRC_VM, FC_DST_VM, 4 };
	case QK_SRCZONE: return (struct keydef){ KT_ZONE, FC_SRC_ZONE, FC_SRC_ZONE, 4 };
	case QK_DSTZONE: return (struct keydef){ KT_ZONE, FC_DST_ZONE, FC_DST_ZONE, 4 };
	case QK_ZONE: return (struct keydef){ KT_ZONE, FC_SRC_ZONE, FC_DST_ZONE, 4 };
	case QK_EXPORTER: return (struct keydef){ KT_ADDR, FC_EXPORTER, FC_EXPORTER, 16 };
	case QK_VLAN: return (struct keydef){ KT_U16, FC_VLAN, FC_VLAN, 2 };
	case QK_LOCALITY: return (struct keydef){ KT_U8, FC_LOCALITY, FC_LOCALITY, 1 };
	case QK_IN_IF: return (struct keydef){ KT_U32, FC_IN_IF, FC_IN_IF, 4 };
	case QK_OUT_IF: return (struct keydef){ KT_U32, FC_OUT_IF, FC_OUT_IF, 4 };
	case QK_SRC_AS: return (struct keydef){ KT_U32, FC_SRC_AS, FC_SRC_AS, 4 };
	case QK_DST_AS: return (struct keydef){ KT_U32, FC_DST_AS, FC_DST_AS, 4 };
	case QK_TOS: return (struct keydef){ KT_U8, FC_TOS, FC_TOS, 1 };
	case QK_DUP: return (struct keydef){ KT_U8, FC_DUP, FC_DUP, 1 };
	default: return (struct keydef){ KT_U8, FC_PROTO, FC_PROTO, 1 };
	}
}

/* ---- interned names (VMs by uuid+name, zones by name) -------------------- */

struct vment {
	uint8_t uuid[16];
	char name[VT_NAME_MAX];
};

struct names {
	struct vment *vms;          /* [0] = no VM */
	size_t nvms, vmcap;
	uint32_t *vmh;              /* open addressing over vms indexes, 0 = empty */
	size_t vmhcap;
	char (*zones)[VT_NAME_MAX]; /* [0] = "outside" */
	size_t nzones, zonecap;
};

static int names_init(struct names *nm)
{
	memset(nm, 0, sizeof(*nm));
	nm->vms = calloc(16, sizeof(*nm->vms));
	nm->zones = calloc(8, sizeof(*nm->zones));
	nm->vmh = calloc(64, sizeof(*nm->vmh));
	if (!nm->vms || !nm->zones || !nm->vmh)
		return -ENOMEM;
	nm->vmcap = 16;
	nm->nvms = 1;
	nm->zonecap = 8;
	nm->nzones = 1;
	nm->vmhcap = 64;
	return 0;
}

static void names_free(struct names *nm)
{
	free(nm->vms);
	free(nm->vmh);
	free(nm->zones);
	memset(nm, 0, sizeof(*nm));
}

static int names_vm(struct names *nm, const struct vm_ident *id, uint32_t *out)
{
	struct vment e;

	if (uuid_is_nil(id->uuid) && !id->name[0]) {
		*out = 0;
		return 0;
	}
	memset(&e, 0, sizeof(e));
	memcpy(e.uuid, id->uuid, 16);
	memcpy(e.name, id->name, strnlen(id->name, VT_NAME_MAX - 1));
	if (nm->nvms * 2 >= nm->vmhcap) {
		size_t ncap = nm->vmhcap * 2;
		uint32_t *h = calloc(ncap, sizeof(*h));
		if (!h)
			return -ENOMEM;
		for (size_t i = 1; i < nm->nvms; i++) {
			size_t s = vt_hash(&nm->vms[i], sizeof(e), 0) & (ncap - 1);
			while (h[s])
				s = (s + 1) & (ncap - 1);
			h[s] = (uint32_t)i;
		}
		free(nm->vmh);
		nm->vmh = h;
		nm->vmhcap = ncap;
	}
	size_t s = vt_hash(&e, sizeof(e), 0) & (nm->vmhcap - 1);
	while (nm->vmh[s]) {
		if (!memcmp(&nm->vms[nm->vmh[s]], &e, sizeof(e))) {
			*out = nm->vmh[s];
			return 0;
		}
		s = (s + 1) & (nm->vmhcap - 1);
	}
	if (nm->nvms == nm->vmcap) {
		struct vment *v = realloc(nm->vms, nm->vmcap * 2 * sizeof(*v));
		if (!v)
			return -ENOMEM;
		nm->vms = v;
		nm->vmcap *= 2;
	}
	nm->vms[nm->nvms] = e;
	nm->vmh[s] = (uint32_t)nm->nvms;
	*out = (uint32_t)nm->nvms++;
	return 0;
}

static int names_zone(struct names *nm, const char *name, uint32_t *out)
{
	for (size_t i = 1; i < nm->nzones; i++)
		if (!strcmp(nm->zones[i], name)) {
			*out = (uint32_t)i;
			return 0;
		}
	if (nm->nzones == nm->zonecap) {
		char(*z)[VT_NAME_MAX] = realloc(nm->zones, nm->zonecap * 2 * sizeof(*z));
		if (!z)
			return -ENOMEM;
		nm->zones = z;
		nm->zonecap *= 2;
	}
	snprintf(nm->zones[nm->nzones], VT_NAME_MAX, "%s", name);
	*out = (uint32_t)nm->nzones++;
	return 0;
}

/* ---- group table --------------------------------------------------------- */

struct aval {
	uint64_t flows, packets, bytes, first, last;
};

struct htab {
	size_t klen, koff, stride;  /* entry: u64 hash | key | pad | aval */
	uint8_t *tab;
	size_t cap, n, max;
	uint64_t seed;
	bool mapped;                /* tab is an mmap of cap * stride bytes */
};

/* Large tables get transparent huge pages: grouping by address touches
 * the table at random, and with 4 KiB pages most of those touches also
 * miss the TLB. Zeroed memory either way. */
#define HUGE_MIN (4u << 20)
static uint8_t *tab_alloc(size_t bytes, bool *mapped)
{
	*mapped = false;
	if (bytes >= HUGE_MIN) {
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			madvise(p, bytes, MADV_HUGEPAGE);
			*mapped = true;
			return p;
		}
	}
	return calloc(1, bytes);
}

static void tab_free(uint8_t *p, size_t bytes, bool mapped)
{
	if (mapped)
		munmap(p, bytes);
	else
		free(p);
}

static int ht_init(struct htab *h, size_t klen, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->klen = klen;
	h->koff = 8;
	h->stride = 8 + ((klen + 7) & ~(size_t)7) + sizeof(struct aval);
	h->cap = 1024;
	h->max = max;
	h->seed = vt_hash_seed();
	h->tab = tab_alloc(h->cap * h->stride, &h->mapped);
	return h->tab ? 0 : -ENOMEM;
}

static void ht_free(struct htab *h)
{
	if (h->tab)
		tab_free(h->tab, h->cap * h->stride, h->mapped);
	h->tab = NULL;
}

static inline struct aval *ent_val(const struct htab *h, uint8_t *e)
{
	return (struct aval *)(void *)(e + h->stride - sizeof(struct aval));
}

static int ht_grow(struct htab *h)
{
	size_t ncap = h->cap * 2;
	bool mapped;
	uint8_t *nt = tab_alloc(ncap * h->stride, &mapped);

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		uint8_t *e = h->tab + i * h->stride;
		uint64_t hv;
		memcpy(&hv, e, 8);
		if (!hv)
			continue;
		size_t s = (size_t)hv & (ncap - 1);
		for (;;) {
			uint8_t *d = nt + s * h->stride;
			uint64_t dv;
			memcpy(&dv, d, 8);
			if (!dv) {
				memcpy(d, e, h->stride);
				break;
			}
			s = (s + 1) & (ncap - 1);
		}
	}
	tab_free(h->tab, h->cap * h->stride, h->mapped);
	h->tab = nt;
	h->cap = ncap;
	h->mapped = mapped;
	return 0;
}

static inline uint64_t ht_hash(const struct htab *h, const uint8_t *key)
{
	return vt_hash(key, h->klen, h->seed) | 1;   /* 0 marks an empty slot */
}

static inline bool key_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n == 16) {   /* addresses: two word compares */
		uint64_t x[2], y[2];
		memcpy(x, a, 16);
		memcpy(y, b, 16);
		return x[0] == y[0] && x[1] == y[1];
	}
	return memcmp(a, b, n) == 0;
}

/* Hints the cache about the slot of hash <hv>: aggregation over many
 * groups is bound by cache misses, so hashes are computed a few rows
 * ahead and their slots fetched while earlier rows are added. */
static inline void ht_prefetch(const struct htab *h, uint64_t hv)
{
	__builtin_prefetch(h->tab + ((size_t)hv & (h->cap - 1)) * h->stride, 1, 1);
}

/* The group of <key> (hash <hv>), created when new. */
static struct aval *ht_get(struct htab *h, const uint8_t *key, uint64_t hv, int *err)
{
	size_t mask = h->cap - 1, s = (size_t)hv & mask;

	for (;;) {
		uint8_t *e = h->tab + s * h->stride;
		uint64_t ev;
		memcpy(&ev, e, 8);
		if (ev == hv && key_eq(e + 8, key, h->klen))
			return ent_val(h, e);
		if (!ev)
			break;
		s = (s + 1) & mask;
	}
	if (h->n >= h->max) {
		*err = -E2BIG;
		return NULL;
	}
	if ((h->n + 1) * 2 > h->cap) {
		if ((*err = ht_grow(h)) < 0)
			return NULL;
		return ht_get(h, key, hv, err);
	}
	uint8_t *e = h->tab + s * h->stride;
	memcpy(e, &hv, 8);
	memcpy(e + 8, key, h->klen);
	h->n++;
	struct aval *v = ent_val(h, e);
	v->first = UINT64_MAX;
	return v;
}

/* ---- execution ------------------------------------------------------------ */

struct qx {
	const struct query *q;
	struct query_result *r;
	struct keydef kd[QUERY_MAX_KEYS];
	size_t klen;
	int either;                 /* index of the either-side key, or -1 */
	struct names nm;
	struct htab ht;
	struct aval *direct;        /* single small-domain key */
	size_t ndirect;
	uint32_t *vmtr;             /* batch VM dictionary -> interned id */
	size_t vmtrcap;
	/* listing */
	struct flow_row *rows;
	size_t nrows, rowcap;
	int err;
};

static void add(struct aval *v, uint64_t packets, uint64_t bytes, uint64_t first, uint64_t last)
{
	v->flows++;
	v->packets += packets;
	v->bytes += bytes;
	if (first < v->first)
		v->first = first;
	if (last > v->last)
		v->last = last;
}

static int zone_id(struct qx *x, const struct flow_cols *c, uint16_t z, uint32_t *out)
{
	char tmp[24];
	const char *name;

	if (z == 0) {
		*out = 0;
		return 0;
	}
	name = cols_zone_name(c, z);
	if (!name || !name[0]) {
		snprintf(tmp, sizeof(tmp), "zone%u", z);
		name = tmp;
	}
	return names_zone(&x->nm, name, out);
}

/* Writes key <k>'s value for row <i> (side 0 = col, 1 = col2). */
static int key_put(struct qx *x, const struct flow_cols *c, unsigned k, size_t i, int side,
		   uint8_t *dst)
{
	const struct keydef *d = &x->kd[k];
	unsigned col = side ? d->col2 : d->col;
	uint32_t id;
	int r;

	switch (d->type) {
	case KT_ADDR: memcpy(dst, FC_ADDR(c, col)[i].b, 16); return 0;
	case KT_U32: st_be32(dst, FC_U32(c, col)[i]); return 0;
	case KT_U16: st_be16(dst, FC_U16(c, col)[i]); return 0;
	case KT_U8: dst[0] = FC_U8(c, col)[i]; return 0;
	case KT_VM: st_be32(dst, x->vmtr[FC_U32(c, col)[i]]); return 0;
	case KT_ZONE:
		if ((r = zone_id(x, c, FC_U16(c, col)[i], &id)) < 0)
			return r;
		st_be32(dst, id);
		return 0;
	}
	return 0;
}

static int agg_batch(struct qx *x, const struct flow_cols *c, const uint8_t *sel)
{
	const uint64_t *pk = FC_U64(c, FC_PACKETS), *by = FC_U64(c, FC_BYTES);
	const uint64_t *fi = FC_U64(c, FC_FIRST), *la = FC_U64(c, FC_LAST);
	size_t nk = x->q->nkeys;
	int r;

	/* VM dictionary of this batch -> query-wide ids */
	if (x->vmtrcap < c->nvms) {
		uint32_t *t = realloc(x->vmtr, c->nvms * sizeof(*t));
		if (!t)
			return -ENOMEM;
		x->vmtr = t;
		x->vmtrcap = c->nvms;
	}
	for (size_t v = 0; v < c->nvms; v++)
		if ((r = names_vm(&x->nm, &c->vms[v], &x->vmtr[v])) < 0)
			return r;

	if (x->direct) {
		const struct keydef *d = &x->kd[0];
		for (size_t i = 0; i < c->n; i++) {
			if (!sel[i])
				continue;
			uint32_t a, b;
			if (d->type == KT_U16) {
				a = FC_U16(c, d->col)[i];
				b = FC_U16(c, d->col2)[i];
			} else {
				a = FC_U8(c, d->col)[i];
				b = FC_U8(c, d->col2)[i];
			}
			add(&x->direct[a], pk[i], by[i], fi[i], la[i]);
			if (d->col2 != d->col)   /* either side: once per side, like nfdump -s */
				add(&x->direct[b], pk[i], by[i], fi[i], la[i]);
		}
		return 0;
	}
	/* keys of up to PIPE (row, side) pairs are built and hashed, their
	 * slots prefetched, then added */
	enum { PIPE = 16 };
	uint8_t keys[2 * PIPE][QUERY_MAX_KEYS * 16];
	uint64_t hv[2 * PIPE];
	uint32_t row[2 * PIPE];
	size_t np = 0;
	for (size_t i = 0; i <= c->n; i++) {
		if (i < c->n && !sel[i])
			continue;
		if (i == c->n || np + 2 > 2 * PIPE) {
			for (size_t j = 0; j < np; j++) {
				struct aval *v = ht_get(&x->ht, keys[j], hv[j], &r);
				if (!v)
					return r;
				size_t k = row[j];
				add(v, pk[k], by[k], fi[k], la[k]);
			}
			np = 0;
			if (i == c->n)
				break;
		}
		size_t off = 0;
		for (size_t k = 0; k < nk; k++) {
			if ((r = key_put(x, c, (unsigned)k, i, 0, keys[np] + off)) < 0)
				return r;
			if ((int)k == x->either) {
				/* each side counts, even when both are equal */
				if ((r = key_put(x, c, (unsigned)k, i, 1, keys[np + 1] + off)) < 0)
					return r;
			} else {
				memcpy(keys[np + 1] + off, keys[np] + off, x->kd[k].width);
			}
			off += x->kd[k].width;
		}
		int sides = x->either >= 0 ? 2 : 1;
		for (int s2 = 0; s2 < sides; s2++, np++) {
			hv[np] = ht_hash(&x->ht, keys[np]);
			row[np] = (uint32_t)i;
			ht_prefetch(&x->ht, hv[np]);
		}
	}
	return 0;
}

static int list_cmp_newest(const void *a, const void *b);
static int list_cmp_oldest(const void *a, const void *b);

/* Listing: <limit> rows in a heap whose root is the one to drop next. */
static bool row_before(const struct qx *x, const struct flow_row *a, const struct flow_row *b)
{
	int c = x->q->oldest_first ? list_cmp_oldest(a, b) : list_cmp_newest(a, b);
	return c < 0;
}

static void heap_down(struct qx *x, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		/* root = the row that sorts last (worst) */
		if (l < x->nrows && row_before(x, &x->rows[m], &x->rows[l]))
			m = l;
		if (r < x->nrows && row_before(x, &x->rows[m], &x->rows[r]))
			m = r;
		if (m == i)
			return;
		struct flow_row t = x->rows[i];
		x->rows[i] = x->rows[m];
		x->rows[m] = t;
		i = m;
	}
}

static void heap_up(struct qx *x, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!row_before(x, &x->rows[p], &x->rows[i]))
			return;
		struct flow_row t = x->rows[i];
		x->rows[i] = x->rows[p];
		x->rows[p] = t;
		i = p;
	}
}

static int note_zones(struct qx *x, const struct flow_cols *c)
{
	struct query_result *r = x->r;

	for (size_t z = 0; z < c->nzones; z++) {
		bool have = false;
		for (size_t k = 0; k < r->nzones; k++)
			have |= r->zones[k].idx == c->zones[z].idx;
		if (have)
			continue;
		struct fc_zone *nz = realloc(r->zones, (r->nzones + 1) * sizeof(*nz));
		if (!nz)
			return -ENOMEM;
		r->zones = nz;
		r->zones[r->nzones++] = c->zones[z];
	}
	return 0;
}

static int list_batch(struct qx *x, const struct flow_cols *c, const uint8_t *sel)
{
	uint64_t limit = x->q->limit;
	uint64_t maxrows = x->q->max_rows ? x->q->max_rows : QUERY_DEFAULT_MAX_ROWS;
	struct flow_row row;
	int r;

	if ((r = note_zones(x, c)) < 0)
		return r;
	for (size_t i = 0; i < c->n; i++) {
		if (!sel[i])
			continue;
		if (limit && x->nrows == limit) {
			/* cheap pre-check on the sort key before materializing */
			const struct flow_row *worst = &x->rows[0];
			if (x->q->oldest_first ? FC_U64(c, FC_FIRST)[i] > worst->rec.first_ms
					       : FC_U64(c, FC_LAST)[i] < worst->rec.last_ms)
				continue;
			cols_get_row(c, i, &row);
			if (!row_before(x, &row, worst))
				continue;
			x->rows[0] = row;
			heap_down(x, 0);
			continue;
		}
		/* the memory bound holds for a large limit too, not only for
		 * "all": rows are kept until the limit is reached */
		if ((!limit || limit > maxrows) && x->nrows >= maxrows)
			return -E2BIG;
		if (x->nrows == x->rowcap) {
			size_t ncap = x->rowcap ? x->rowcap * 2 : 256;
			if (limit && ncap > limit)
				ncap = (size_t)limit;
			struct flow_row *nr = realloc(x->rows, ncap * sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			x->rows = nr;
			x->rowcap = ncap;
		}
		cols_get_row(c, i, &x->rows[x->nrows++]);
		if (limit)
			heap_up(x, x->nrows - 1);
	}
	return 0;
}

static int on_batch(void *arg, const struct flow_cols *c, const uint8_t *sel, size_t nsel)
{
	struct qx *x = arg;
	struct query_result *r = x->r;
	const uint64_t *pk = FC_U64(c, FC_PACKETS), *by = FC_U64(c, FC_BYTES);
	const uint64_t *fi = FC_U64(c, FC_FIRST), *la = FC_U64(c, FC_LAST);
	int rc;

	r->flows += nsel;
	for (size_t i = 0; i < c->n; i++) {
		if (!sel[i])
			continue;
		r->packets += pk[i];
		r->bytes += by[i];
		if (!r->first_ms || fi[i] < r->first_ms)
			r->first_ms = fi[i];
		if (la[i] > r->last_ms)
			r->last_ms = la[i];
	}
	rc = x->q->nkeys ? agg_batch(x, c, sel) : list_batch(x, c, sel);
	if (rc < 0) {
		x->err = rc;
		return rc;
	}
	return 0;
}

/* ---- ordering -------------------------------------------------------------- */

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

static int row_tiebreak(const struct flow_row *a, const struct flow_row *b)
{
	int c;
	if ((c = addr_cmp(&a->rec.src, &b->rec.src)) != 0)
		return c;
	if ((c = addr_cmp(&a->rec.dst, &b->rec.dst)) != 0)
		return c;
	if (a->rec.sport != b->rec.sport)
		return a->rec.sport < b->rec.sport ? -1 : 1;
	if (a->rec.dport != b->rec.dport)
		return a->rec.dport < b->rec.dport ? -1 : 1;
	if (a->rec.proto != b->rec.proto)
		return a->rec.proto < b->rec.proto ? -1 : 1;
	return cmp_u64_desc(b->rec.bytes, a->rec.bytes);
}

static int list_cmp_newest(const void *pa, const void *pb)
{
	const struct flow_row *a = pa, *b = pb;
	int c = cmp_u64_desc(a->rec.last_ms, b->rec.last_ms);
	if (!c)
		c = cmp_u64_desc(a->rec.first_ms, b->rec.first_ms);
	return c ? c : row_tiebreak(a, b);
}

static int list_cmp_oldest(const void *pa, const void *pb)
{
	const struct flow_row *a = pa, *b = pb;
	int c = cmp_u64_desc(b->rec.first_ms, a->rec.first_ms);
	if (!c)
		c = cmp_u64_desc(b->rec.last_ms, a->rec.last_ms);
	return c ? c : row_tiebreak(a, b);
}

/* A group during ordering: its key bytes and values. */
struct gref {
	const uint8_t *key;
	const struct aval *v;
};

/* qsort() has no context argument; the comparator finds the query here. */
static __thread const struct qx *tls_ctx;

static uint64_t metric(const struct qx *x, const struct aval *v)
{
	switch (x->q->sort) {
	case QS_PACKETS: return v->packets;
	case QS_FLOWS: return v->flows;
	default: return v->bytes;
	}
}

static int key_cmp(const struct qx *x, const uint8_t *a, const uint8_t *b)
{
	size_t off = 0;

	for (size_t k = 0; k < x->q->nkeys; k++) {
		const struct keydef *d = &x->kd[k];
		int c;
		if (d->type == KT_VM) {
			const struct vment *va = &x->nm.vms[ld_be32(a + off)];
			const struct vment *vb = &x->nm.vms[ld_be32(b + off)];
			c = strcmp(va->name, vb->name);
			if (!c)
				c = memcmp(va->uuid, vb->uuid, 16);
		} else if (d->type == KT_ZONE) {
			uint32_t za = ld_be32(a + off), zb = ld_be32(b + off);
			c = za == zb ? 0 : !za ? -1 : !zb ? 1 : strcmp(x->nm.zones[za], x->nm.zones[zb]);
		} else {
			c = memcmp(a + off, b + off, d->width);
		}
		if (c)
			return c;
		off += d->width;
	}
	return 0;
}

/* <0 when a ranks before b: larger metric first, then by key. */
static int group_cmp(const void *pa, const void *pb)
{
	const struct gref *a = pa, *b = pb;
	const struct qx *x = tls_ctx;
	int c = cmp_u64_desc(metric(x, a->v), metric(x, b->v));
	return c ? c : key_cmp(x, a->key, b->key);
}

static void gheap_down(struct gref *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && group_cmp(&h[m], &h[l]) < 0)
			m = l;
		if (r < n && group_cmp(&h[m], &h[r]) < 0)
			m = r;
		if (m == i)
			return;
		struct gref t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void qval_set(struct qx *x, const struct keydef *d, const uint8_t *kb, struct qval *out)
{
	memset(out, 0, sizeof(*out));
	switch (d->type) {
	case KT_ADDR: memcpy(out->addr.b, kb, 16); break;
	case KT_U32: out->u = ld_be32(kb); break;
	case KT_U16: out->u = ld_be16(kb); break;
	case KT_U8: out->u = kb[0]; break;
	case KT_VM: {
		const struct vment *v = &x->nm.vms[ld_be32(kb)];
		out->u = ld_be32(kb);
		out->name = v->name;
		out->uuid = v->uuid;
		break;
	}
	case KT_ZONE:
		out->u = ld_be32(kb);
		out->name = out->u ? x->nm.zones[out->u] : "";
		break;
	}
}

static int finish_groups(struct qx *x)
{
	struct query_result *r = x->r;
	size_t ng = 0, cap;
	struct gref *all;

	if (x->direct) {
		for (size_t i = 0; i < x->ndirect; i++)
			ng += x->direct[i].flows != 0;
	} else {
		ng = x->ht.n;
	}
	r->ngroups = ng;
	cap = x->q->limit && x->q->limit < ng ? (size_t)x->q->limit : ng;
	all = calloc(cap ? cap : 1, sizeof(*all));
	uint8_t *dkeys = x->direct ? calloc(x->ndirect ? x->ndirect : 1, 2) : NULL;
	if (!all || (x->direct && !dkeys)) {
		free(all);
		free(dkeys);
		return -ENOMEM;
	}
	tls_ctx = x;
	size_t n = 0;
	/* keep the best <cap> in a heap whose root is the worst kept */
	for (size_t i = 0; i < (x->direct ? x->ndirect : x->ht.cap); i++) {
		struct gref g;
		if (x->direct) {
			if (!x->direct[i].flows)
				continue;
			if (x->kd[0].type == KT_U16) {
				st_be16(dkeys + 2 * i, (uint16_t)i);
			} else {
				dkeys[2 * i] = (uint8_t)i;
			}
			g.key = dkeys + 2 * i;
			g.v = &x->direct[i];
		} else {
			uint8_t *e = x->ht.tab + i * x->ht.stride;
			uint64_t hv;
			memcpy(&hv, e, 8);
			if (!hv)
				continue;
			g.key = e + 8;
			g.v = ent_val(&x->ht, e);
		}
		if (n < cap) {
			all[n++] = g;
			if (n == cap)   /* heapify once full */
				for (size_t k = cap / 2 + 1; k-- > 0;)
					gheap_down(all, n, k);
			continue;
		}
		if (cap && group_cmp(&g, &all[0]) < 0) {
			all[0] = g;
			gheap_down(all, n, 0);
		}
	}
	qsort(all, n, sizeof(*all), group_cmp);
	r->groups = calloc(n ? n : 1, sizeof(*r->groups));
	if (!r->groups) {
		free(all);
		free(dkeys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct qgroup *g = &r->groups[i];
		size_t off = 0;
		for (size_t k = 0; k < x->q->nkeys; k++) {
			qval_set(x, &x->kd[k], all[i].key + off, &g->k[k]);
			off += x->kd[k].width;
		}
		g->flows = all[i].v->flows;
		g->packets = all[i].v->packets;
		g->bytes = all[i].v->bytes;
		g->first_ms = all[i].v->first;
		g->last_ms = all[i].v->last;
	}
	r->n = n;
	free(all);
	free(dkeys);
	return 0;
}

const char *query_zone_name(const struct query_result *r, uint16_t idx)
{
	for (size_t i = 0; i < r->nzones; i++)
		if (r->zones[i].idx == idx)
			return r->zones[i].name;
	return NULL;
}

void query_result_free(struct query_result *r)
{
	if (!r)
		return;
	if (r->priv) {
		names_free(r->priv);
		free(r->priv);
	}
	free(r->rows);
	free(r->zones);
	free(r->groups);
	free(r);
}

int query_run(struct store *st, const struct query *q, struct query_result **out,
	      struct vt_err *err)
{
	struct qx x;
	struct store_scan_req req = { 0 };
	uint64_t t0 = mono_ns();
	int r;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.q = q;
	x.either = -1;
	x.r = calloc(1, sizeof(*x.r));
	if (!x.r || names_init(&x.nm) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	req.since_ms = q->since_ms;
	req.until_ms = q->until_ms ? q->until_ms : UINT64_MAX;
	req.filter = q->filter && !filter_is_true(q->filter) ? q->filter : NULL;
	req.cols = FC_BIT(FC_FIRST) | FC_BIT(FC_LAST) | FC_BIT(FC_BYTES) | FC_BIT(FC_PACKETS);
	if (q->nkeys == 0) {
		req.cols = FC_ALL;
	} else {
		for (size_t k = 0; k < q->nkeys; k++) {
			x.kd[k] = keydef(q->keys[k]);
			x.klen += x.kd[k].width;
			req.cols |= FC_BIT(x.kd[k].col) | FC_BIT(x.kd[k].col2);
			if (query_key_is_either(q->keys[k]))
				x.either = (int)k;
		}
		if (q->nkeys == 1 && (x.kd[0].type == KT_U16 || x.kd[0].type == KT_U8)) {
			x.ndirect = x.kd[0].type == KT_U16 ? 65536 : 256;
			x.direct = calloc(x.ndirect, sizeof(*x.direct));
			if (!x.direct) {
				r = -ENOMEM;
				goto fail;
			}
			for (size_t i = 0; i < x.ndirect; i++)
				x.direct[i].first = UINT64_MAX;
		} else if ((r = ht_init(&x.ht, x.klen, q->max_groups ? q->max_groups
							      : QUERY_DEFAULT_MAX_GROUPS)) < 0) {
			goto fail;
		}
	}
	r = store_scan(st, &req, on_batch, &x, &x.r->scan);
	if (x.err == -E2BIG) {
		if (q->nkeys)
			vt_err_set(err, -E2BIG, "more than %llu groups: aggregate by fewer or coarser keys, or narrow the filter",
				   (unsigned long long)(q->max_groups ? q->max_groups : QUERY_DEFAULT_MAX_GROUPS));
		else if (!q->limit)
			vt_err_set(err, -E2BIG, "more than %llu flows match: give a limit (-n) or narrow the filter",
				   (unsigned long long)(q->max_rows ? q->max_rows : QUERY_DEFAULT_MAX_ROWS));
		else
			vt_err_set(err, -E2BIG, "more than %llu flows match: give a limit (-n) of at most %llu or narrow the filter",
				   (unsigned long long)(q->max_rows ? q->max_rows : QUERY_DEFAULT_MAX_ROWS),
				   (unsigned long long)(q->max_rows ? q->max_rows : QUERY_DEFAULT_MAX_ROWS));
		r = -E2BIG;
		goto fail;
	}
	if (r < 0 || x.err < 0) {
		r = r < 0 ? r : x.err;
		vt_err_set(err, r, "query failed: %s", strerror(-r));
		goto fail;
	}
	if (q->nkeys) {
		if ((r = finish_groups(&x)) < 0)
			goto fail;
	} else {
		if (x.nrows)
			qsort(x.rows, x.nrows, sizeof(*x.rows),
			      q->oldest_first ? list_cmp_oldest : list_cmp_newest);
		x.r->rows = x.rows;
		x.r->nrows = x.nrows;
		x.rows = NULL;
	}
	x.r->priv = malloc(sizeof(struct names));
	if (!x.r->priv) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(x.r->priv, &x.nm, sizeof(x.nm));
	memset(&x.nm, 0, sizeof(x.nm));
	x.r->elapsed_us = (mono_ns() - t0) / 1000;
	*out = x.r;
	x.r = NULL;
	r = 0;
fail:
	if (r < 0 && err && !err->code)
		vt_err_set(err, r, "query failed: %s", strerror(-r));
	query_result_free(x.r);
	names_free(&x.nm);
	ht_free(&x.ht);
	free(x.direct);
	free(x.vmtr);
	free(x.rows);
	return r;
}
