/* vmstats.c — per-VM statistics and port profiling (vmstats.h).
 *
 * Every table is an open-address hash over fixed 20-byte keys ("smap"),
 * entries in one growable array with a hard ceiling, so a VM with a
 * thousand peers costs a bounded amount and lookups stay O(1). The
 * connection-opening memory used to decide the server side is a 4-way set
 * associative cache: fixed memory, the oldest entry of a set goes. */
#include "collector/vmstats.h"
#include "collector/vmstats_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/enrich.h"
#include "core/compiler.h"
#include "core/hash.h"

void vmstats_conf_defaults(struct vmstats_conf *c)
{
	c->max_vms = 10000;
	c->series_interval_ms = 10000;
	c->series_points = 360;
	c->max_ports = 256;
	c->max_peers = 256;
	c->max_services = 128;
	c->role_entries = 65536;
	c->role_ttl_ms = 3600000;
}

/* set_name() : <dst> (VT_NAME_MAX bytes) becomes <src> (at most
 * VT_NAME_MAX - 1 bytes read), truncated and terminated. Names rarely
 * change, so the usual case is a compare that finds them equal and
 * writes nothing (this runs for every attributed record). */
static void set_name(char *dst, const char *src)
{
	size_t n = strnlen(src, VT_NAME_MAX - 1);

	if (!memcmp(dst, src, n) && !dst[n])
		return;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* key_eq() : two smap keys, as three word compares (no library call). */
_Static_assert(KEYLEN == 20, "key_eq compares 8 + 8 + 4 bytes");
static inline bool key_eq(const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;
	uint32_t a2, b2;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&a2, a + 16, 4);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	memcpy(&b2, b + 16, 4);
	return !((a0 ^ b0) | (a1 ^ b1) | (uint64_t)(a2 ^ b2));
}

/* ---- small maps -------------------------------------------------------- */

static void smap_init(struct smap *m, size_t esz, size_t max)
{
	memset(m, 0, sizeof(*m));
	m->esz = esz;
	m->max = max;
}

static void smap_free(struct smap *m)
{
	free(m->slot);
	free(m->ent);
	m->slot = NULL;
	m->ent = NULL;
	m->n = m->cap = 0;
}

/* A key with its hash (the lookups of one record are hashed, and their
 * slots fetched, before the first of them waits for memory). */
struct skey {
	uint8_t k[KEYLEN];
	uint64_t h;
};

static void skey_hash(struct skey *k, uint64_t seed)
{
	k->h = vt_hash(k->k, KEYLEN, seed);
}

/* skey_set() : the key of tag byte <tag> (then three zero bytes) and 16
 * bytes at <b>, written as the words the hash reads back: a load is
 * served from a store in flight only when one store covers it, and a key
 * assembled byte by byte made every hash wait for its stores to land. */
static void skey_set(struct skey *k, uint8_t tag, const uint8_t b[16], uint64_t seed)
{
	uint32_t x0, x3;
	uint64_t w0, w1;

	memcpy(&x0, b, 4);
	memcpy(&w1, b + 4, 8);
	memcpy(&x3, b + 12, 4);
	/* on a little-endian machine the bytes are tag, three zeros, b[0..15];
	 * the layout only has to be the same for every key */
	w0 = (uint64_t)tag | (uint64_t)x0 << 32;
	memcpy(k->k, &w0, 8);
	memcpy(k->k + 8, &w1, 8);
	memcpy(k->k + 16, &x3, 4);
	skey_hash(k, seed);
}

static void *smap_find(const struct smap *m, const struct skey *key)
{
	if (!m->n)
		return NULL;
	for (size_t i = key->h & m->mask;; i = (i + 1) & m->mask) {
		uint32_t e = m->slot[i];
		if (!e)
			return NULL;
		if (key_eq(smap_at(m, e - 1), key->k))
			return smap_at(m, e - 1);
	}
}

/* smap_prefetch() : asks for the line of <key>'s first slot; with <ent>,
 * waits for that slot and asks for the first two lines of the entry it
 * names. The lookups of one record each wait for two or three dependent
 * loads; fetched together, they wait for them once. */
static inline void smap_prefetch(const struct smap *m, const struct skey *key, bool ent)
{
	if (!m->n)
		return;
	const uint32_t *sl = &m->slot[key->h & m->mask];
	if (!ent) {
		__builtin_prefetch(sl);
		return;
	}
	if (*sl) {
		const uint8_t *p = smap_at(m, *sl - 1);
		__builtin_prefetch(p);
		__builtin_prefetch(p + 64);
	}
}

static int smap_grow(struct smap *m, uint64_t seed)
{
	size_t cap = m->cap ? m->cap * 2 : 8, scap = 16;
	uint8_t *ent;
	uint32_t *slot;

	if (cap > m->max)
		cap = m->max;
	while (scap < cap * 2)
		scap <<= 1;
	ent = realloc(m->ent, cap * m->esz);
	if (!ent)
		return -ENOMEM;
	m->ent = ent;
	slot = calloc(scap, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	free(m->slot);
	m->slot = slot;
	m->mask = scap - 1;
	m->cap = cap;
	for (size_t k = 0; k < m->n; k++) {
		size_t i = vt_hash(smap_at(m, k), KEYLEN, seed) & m->mask;
		while (m->slot[i])
			i = (i + 1) & m->mask;
		m->slot[i] = (uint32_t)(k + 1);
	}
	return 0;
}

/* smap_get() : the entry for <key>, created zeroed (key set) when absent.
 * NULL when the map is at its bound or out of memory. */
static void *smap_get(struct smap *m, const struct skey *key, uint64_t seed, bool *created)
{
	void *e = smap_find(m, key);
	size_t i;

	*created = false;
	if (e)
		return e;
	if (m->n >= m->max)
		return NULL;
	if (m->n == m->cap && smap_grow(m, seed) < 0)
		return NULL;
	e = smap_at(m, m->n);
	memset(e, 0, m->esz);
	memcpy(e, key->k, KEYLEN);
	i = key->h & m->mask;
	while (m->slot[i])
		i = (i + 1) & m->mask;
	m->slot[i] = (uint32_t)++m->n;
	*created = true;
	return e;
}

struct vmstats *vmstats_new(const struct vmstats_conf *c)
{
	struct vmstats *vs;
	size_t sets = 1;

	if (!c->max_vms || !c->series_interval_ms || !c->series_points || !c->max_ports ||
	    !c->max_peers || !c->max_services || !c->role_entries) {
		errno = EINVAL;
		return NULL;
	}
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return NULL;
	vs->c = *c;
	vs->seed = vt_hash_seed();
	smap_init(&vs->vms, sizeof(struct vm_entry), c->max_vms);
	while (sets * ROLE_WAYS < c->role_entries)
		sets <<= 1;
	vs->roles = calloc(sets * ROLE_WAYS, sizeof(*vs->roles));
	if (!vs->roles) {
		free(vs);
		errno = ENOMEM;
		return NULL;
	}
	vs->role_sets = sets;
	pthread_mutex_init(&vs->mu, NULL);
	return vs;
}

static void vm_entry_free(struct vm_entry *e)
{
	free(e->ser);
	smap_free(&e->ports);
	smap_free(&e->peers);
	smap_free(&e->offered);
	smap_free(&e->consumed);
}

void vmstats_free(struct vmstats *vs)
{
	if (!vs)
		return;
	for (size_t i = 0; i < vs->vms.n; i++)
		vm_entry_free(smap_at(&vs->vms, i));
	smap_free(&vs->vms);
	free(vs->roles);
	pthread_mutex_destroy(&vs->mu);
	free(vs);
}

void vmstats_begin(struct vmstats *vs)
{
	pthread_mutex_lock(&vs->mu);
}

void vmstats_end(struct vmstats *vs)
{
	pthread_mutex_unlock(&vs->mu);
}

/* A VM's key: its UUID, or for a VM known only by name a 128-bit hash of
 * the name (two seeds), tagged so the two kinds never collide. */
static void vm_key(const struct vmstats *vs, const struct vm_ident *id, struct skey *key)
{
	if (!uuid_is_nil(id->uuid)) {
		skey_set(key, 1, id->uuid, vs->seed);
	} else {
		size_t n = strnlen(id->name, sizeof(id->name));
		uint64_t ab[2] = { vt_hash(id->name, n, vs->seed ^ 1), vt_hash(id->name, n, vs->seed ^ 2) };
		uint8_t b[16];
		memcpy(b, ab, 16);
		skey_set(key, 2, b, vs->seed);
	}
}

static struct vm_entry *vm_get(struct vmstats *vs, const struct vm_ident *id)
{
	struct skey key;
	bool created;
	struct vm_entry *e;

	vm_key(vs, id, &key);
	e = smap_get(&vs->vms, &key, vs->seed, &created);
	if (!e) {
		vs->t.vms_untracked++;
		return NULL;
	}
	if (created) {
		e->ser = calloc(vs->c.series_points, sizeof(*e->ser));
		if (!e->ser) {
			/* keep the entry; without a series it still counts */
			vs->t.vms_untracked++;
		}
		e->head = -1;
		memcpy(e->uuid, id->uuid, 16);
		smap_init(&e->ports, sizeof(struct port_ent), vs->c.max_ports);
		smap_init(&e->peers, sizeof(struct peer_ent), vs->c.max_peers);
		smap_init(&e->offered, sizeof(struct svc_ent), vs->c.max_services);
		smap_init(&e->consumed, sizeof(struct svc_ent), vs->c.max_services);
		vs->t.vms++;
	}
	/* the latest name wins (a VM renamed keeps its UUID and statistics) */
	if (id->name[0])
		set_name(e->name, id->name);
	return e;
}

/* ---- the server side ---------------------------------------------------- */

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

static uint64_t conn_hash(const struct vmstats *vs, const struct flow_rec *r)
{
	uint8_t k[40];
	const struct vt_addr *a = &r->src, *b = &r->dst;
	uint16_t pa = r->sport, pb = r->dport;
	int c = addr_cmp(a, b);
	uint64_t h;

	/* the same for both directions */
	if (c > 0 || (c == 0 && pa > pb)) {
		a = &r->dst;
		b = &r->src;
		pa = r->dport;
		pb = r->sport;
	}
	memcpy(k, a->b, 16);
	memcpy(k + 16, b->b, 16);
	k[32] = (uint8_t)(pa >> 8);
	k[33] = (uint8_t)pa;
	k[34] = (uint8_t)(pb >> 8);
	k[35] = (uint8_t)pb;
	k[36] = r->proto;
	k[37] = k[38] = k[39] = 0;
	h = vt_hash(k, sizeof(k), vs->seed ^ 0x726f6c65u);
	return h ? h : 1;
}

static struct role_slot *role_find(struct vmstats *vs, uint64_t h, uint64_t now_ms)
{
	struct role_slot *set = &vs->roles[(h & (vs->role_sets - 1)) * ROLE_WAYS];

	for (int i = 0; i < ROLE_WAYS; i++)
		if (set[i].h == h && now_ms - set[i].seen_ms <= vs->c.role_ttl_ms)
			return &set[i];
	return NULL;
}

static void role_put(struct vmstats *vs, uint64_t h, const struct vt_addr *srv, uint16_t port,
		     uint64_t now_ms)
{
	struct role_slot *set = &vs->roles[(h & (vs->role_sets - 1)) * ROLE_WAYS], *victim = NULL;

	for (int i = 0; i < ROLE_WAYS; i++) {
		if (set[i].h == h || !set[i].h) {
			victim = &set[i];
			break;
		}
		if (!victim || set[i].seen_ms < victim->seen_ms)
			victim = &set[i];
	}
	if (!victim->h)
		vs->t.role_entries++;
	else if (victim->h != h)
		vs->t.role_evicted++;
	victim->h = h;
	victim->srv = *srv;
	victim->srv_port = port;
	victim->seen_ms = now_ms;
}

static enum vm_role role_locked(struct vmstats *vs, const struct flow_rec *r, enum role_by *by,
				uint64_t now_ms)
{
	*by = ROLE_BY_NONE;
	if (!has_ports(r->proto))
		return ROLE_UNKNOWN;
	if (r->proto == 6) {
		uint64_t h = conn_hash(vs, r);
		if ((r->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
			/* an opening that carries no acknowledgement: the sender is the client */
			role_put(vs, h, &r->dst, r->dport, now_ms);
			*by = ROLE_BY_SYN;
			return ROLE_DST_SERVER;
		}
		struct role_slot *s = role_find(vs, h, now_ms);
		if (s) {
			*by = ROLE_BY_CONN;
			s->seen_ms = now_ms;
			if (!addr_cmp(&s->srv, &r->src) && s->srv_port == r->sport)
				return ROLE_SRC_SERVER;
			return ROLE_DST_SERVER;
		}
	}
	if (r->sport == r->dport)
		return ROLE_UNKNOWN;
	*by = ROLE_BY_PORT;
	bool s_eph = r->sport >= VMS_EPHEMERAL_MIN, d_eph = r->dport >= VMS_EPHEMERAL_MIN;
	if (s_eph != d_eph)
		return s_eph ? ROLE_DST_SERVER : ROLE_SRC_SERVER;
	return r->sport < r->dport ? ROLE_SRC_SERVER : ROLE_DST_SERVER;
}

enum vm_role vmstats_role(struct vmstats *vs, const struct flow_rec *r, enum role_by *by)
{
	enum vm_role role;

	pthread_mutex_lock(&vs->mu);
	role = role_locked(vs, r, by, r->last_ms);
	pthread_mutex_unlock(&vs->mu);
	return role;
}

/* ---- accounting -------------------------------------------------------- */

static void cnt_add(struct cnt *c, const struct flow_rec *r)
{
	c->bytes += r->bytes;
	c->packets += r->packets;
	c->flows++;
}

static uint64_t share(uint64_t total, uint64_t part, uint64_t whole)
{
	return (uint64_t)(((__uint128_t)total * part) / whole);
}

static void series_add(struct vmstats *vs, struct vm_entry *e, bool out, const struct flow_rec *r,
		       uint64_t now_ms)
{
	const uint64_t I = vs->c.series_interval_ms, P = vs->c.series_points;
	uint64_t first = r->first_ms, last = r->last_ms;
	int64_t b_last, b_first, oldest;

	if (!e->ser)
		return;
	if (last > now_ms + I) {
		/* an exporter clock far ahead would wipe the series */
		vs->t.clock_skew++;
		last = now_ms;
		first = VT_MIN(first, last);
	}
	if (first > last)
		first = last;
	b_last = (int64_t)(last / I);
	if (b_last > e->head) {
		int64_t from = e->head < 0 ? b_last - (int64_t)P + 1 : e->head + 1;
		if (from < b_last - (int64_t)P + 1)
			from = b_last - (int64_t)P + 1;
		for (int64_t b = from; b <= b_last; b++)
			memset(&e->ser[(uint64_t)b % P], 0, sizeof(struct bucket));
		e->head = b_last;
	}
	oldest = e->head - (int64_t)P + 1;
	if (b_last < oldest) {
		vs->t.series_late++;
		return;
	}
	b_first = (int64_t)(first / I);
	uint64_t dur = last - first + 1, cum, done_b, done_p;
	int64_t b = b_first < oldest ? oldest : b_first;
	/* what lies before the window is skipped, not looped over */
	cum = (uint64_t)b * I > first ? (uint64_t)b * I - first : 0;
	done_b = share(r->bytes, cum, dur);
	done_p = share(r->packets, cum, dur);
	for (; b <= b_last; b++) {
		uint64_t s = VT_MAX(first, (uint64_t)b * I), t = VT_MIN(last + 1, (uint64_t)(b + 1) * I);
		cum += t - s;
		uint64_t nb = share(r->bytes, cum, dur), np = share(r->packets, cum, dur);
		struct bucket *k = &e->ser[(uint64_t)b % P];
		if (out) {
			k->bytes_out += nb - done_b;
			k->packets_out += np - done_p;
		} else {
			k->bytes_in += nb - done_b;
			k->packets_in += np - done_p;
		}
		done_b = nb;
		done_p = np;
	}
}

/* The key of a protocol and port (the L4 breakdown and the services). */
static void port_key(const struct vmstats *vs, uint8_t proto, uint16_t port, struct skey *key)
{
	/* bytes: proto, port (big-endian), then zeros */
	uint64_t w0 = (uint64_t)proto | (uint64_t)(port >> 8) << 8 | (uint64_t)(port & 0xff) << 16;
	uint64_t w1 = 0;
	uint32_t x2 = 0;

	memcpy(key->k, &w0, 8);
	memcpy(key->k + 8, &w1, 8);
	memcpy(key->k + 16, &x2, 4);
	skey_hash(key, vs->seed);
}

/* The key of the other end of a VM's record: that VM, or its address. */
static void peer_key(const struct vmstats *vs, const struct vm_ident *pv, const struct vt_addr *pa,
		     struct skey *key)
{
	if (vm_known(pv)) {
		vm_key(vs, pv, key);
		return;
	}
	skey_set(key, 3, pa->b, vs->seed);
}

static void port_add(struct vmstats *vs, struct vm_entry *e, bool out, const struct flow_rec *r,
		     uint16_t port, const struct skey *key)
{
	bool created;
	struct port_ent *p;

	p = smap_get(&e->ports, key, vs->seed, &created);
	if (!p) {
		cnt_add(out ? &e->ports_other_out : &e->ports_other_in, r);
		vs->t.ports_other++;
		return;
	}
	p->proto = r->proto;
	p->port = port;
	cnt_add(out ? &p->out : &p->in, r);
}

static void peer_add(struct vmstats *vs, struct vm_entry *e, bool out, const struct flow_rec *r,
		     const struct flow_attr *a, const struct skey *key)
{
	const struct vm_ident *pv = out ? &a->dst_vm : &a->src_vm;
	const struct vt_addr *pa = out ? &r->dst : &r->src;
	bool created;
	struct peer_ent *p;

	p = smap_get(&e->peers, key, vs->seed, &created);
	if (!p) {
		cnt_add(out ? &e->peers_other_out : &e->peers_other_in, r);
		vs->t.peers_other++;
		return;
	}
	if (created) {
		p->is_vm = vm_known(pv);
		memcpy(p->uuid, pv->uuid, 16);
	}
	if (p->is_vm && pv->name[0])
		set_name(p->name, pv->name);
	p->addr = *pa;
	p->locality = a->locality;
	p->last_ms = VT_MAX(p->last_ms, r->last_ms);
	cnt_add(out ? &p->out : &p->in, r);
}

static bool tcp_refused(const struct flow_rec *r)
{
	/* a closed port answers a bare RST (RST|ACK); no SYN, no data */
	return r->proto == 6 && (r->tcp_flags & TCP_RST) && !(r->tcp_flags & TCP_SYN) &&
	       r->packets <= 2;
}

static void svc_add(struct vmstats *vs, struct vm_entry *e, bool out, bool server,
		    const struct flow_rec *r, uint16_t port, const struct skey *key)
{
	struct smap *m = server ? &e->offered : &e->consumed;
	bool created;
	struct svc_ent *s;
	const struct vt_addr *other = out ? &r->dst : &r->src;

	s = smap_get(m, key, vs->seed, &created);
	if (!s) {
		e->services_other++;
		vs->t.services_other++;
		return;
	}
	if (created) {
		s->proto = r->proto;
		s->port = port;
		s->first_ms = r->first_ms;
	}
	s->first_ms = VT_MIN(s->first_ms, r->first_ms);
	s->last_ms = VT_MAX(s->last_ms, r->last_ms);
	if (out) {
		s->bytes_out += r->bytes;
		s->packets_out += r->packets;
	} else {
		s->bytes_in += r->bytes;
		s->packets_in += r->packets;
	}
	/* the record's sender is the client when it goes toward the server */
	bool from_client = server ? !out : out;
	if (from_client)
		s->flows++;
	else if (tcp_refused(r))
		s->refused++;
	else
		s->answers++;
	uint32_t h = (uint32_t)vt_hash(other->b, 16, vs->seed);
	bool seen = false;
	for (uint8_t i = 0; i < s->npeer; i++)
		seen |= s->peer[i] == h;
	if (!seen) {
		if (s->npeer < PEER_SET)
			s->peer[s->npeer++] = h;
		else
			s->peer_sat = true;
	}
}

static void vm_account(struct vmstats *vs, struct vm_entry *e, bool out, const struct flow_rec *r,
		       const struct flow_attr *a, enum vm_role role, const char *host,
		       uint64_t now_ms)
{
	uint16_t port;
	uint8_t loc = a->locality < 3 ? a->locality : FLOW_LOC_OUTSIDE;
	struct skey pk, qk;
	/* the VM is the server when it is the end the role names */
	bool server = out ? role == ROLE_SRC_SERVER : role == ROLE_DST_SERVER;
	struct smap *svc = server ? &e->offered : &e->consumed;

	if (!has_ports(r->proto))
		port = 0;
	else if (role == ROLE_SRC_SERVER)
		port = r->sport;
	else if (role == ROLE_DST_SERVER)
		port = r->dport;
	else
		port = r->dport;   /* equal ports */
	/* every table this record updates, asked for at once: the slots,
	 * then (the counters below overlap the wait) the entries */
	port_key(vs, r->proto, port, &pk);
	peer_key(vs, out ? &a->dst_vm : &a->src_vm, out ? &r->dst : &r->src, &qk);
	smap_prefetch(&e->ports, &pk, false);
	smap_prefetch(&e->peers, &qk, false);
	if (role != ROLE_UNKNOWN)
		smap_prefetch(svc, &pk, false);
	if (e->ser && e->head >= 0)
		__builtin_prefetch(&e->ser[(uint64_t)e->head % vs->c.series_points]);

	if (host && host[0])
		set_name(e->host, host);
	e->zone = out ? a->src_zone : a->dst_zone;
	if (!e->first_ms || r->first_ms < e->first_ms)
		e->first_ms = r->first_ms;
	e->last_ms = VT_MAX(e->last_ms, r->last_ms);
	cnt_add(out ? &e->out : &e->in, r);
	cnt_add(out ? &e->loc_out[loc] : &e->loc_in[loc], r);
	smap_prefetch(&e->ports, &pk, true);
	smap_prefetch(&e->peers, &qk, true);
	if (role != ROLE_UNKNOWN)
		smap_prefetch(svc, &pk, true);
	series_add(vs, e, out, r, now_ms);
	port_add(vs, e, out, r, port, &pk);
	peer_add(vs, e, out, r, a, &qk);
	if (role != ROLE_UNKNOWN)
		svc_add(vs, e, out, server, r, port, &pk);
}

/* Counted (primary) flows of locality <loc> into the totals. */
static void totals_primary(struct vmstats *vs, unsigned loc, uint64_t flows, uint64_t bytes,
			   uint64_t packets)
{
	vs->t.flows += flows;
	vs->t.bytes += bytes;
	vs->t.packets += packets;
	vs->t.loc_flows[loc] += flows;
	vs->t.loc_bytes[loc] += bytes;
	vs->t.loc_packets[loc] += packets;
}

void vmstats_add(struct vmstats *vs, const struct flow_rec *r, const struct flow_attr *a,
		 const struct vmstats_hint *h, uint64_t now_ms)
{
	bool sv = attr_vm_known(a, FLOWATTR_NIL_SRC, &a->src_vm),
	     dv = attr_vm_known(a, FLOWATTR_NIL_DST, &a->dst_vm);
	enum role_by by;
	enum vm_role role;

	vs->t.rows++;
	if (!h->primary) {
		vs->t.dup_flows++;
		vs->t.dup_bytes += r->bytes;
		vs->t.dup_packets += r->packets;
		return;
	}
	totals_primary(vs, vmstats_loc(a), 1, r->bytes, r->packets);
	if (!sv && !dv)
		return;
	vs->t.vm_flows++;
	role = role_locked(vs, r, &by, now_ms);
	vs->t.roles[by]++;
	if (sv) {
		struct vm_entry *e = vm_get(vs, &a->src_vm);
		if (e)
			vm_account(vs, e, true, r, a, role, h->src_host, now_ms);
	}
	if (dv) {
		struct vm_entry *e = vm_get(vs, &a->dst_vm);
		if (e)
			vm_account(vs, e, false, r, a, role, h->dst_host, now_ms);
	}
}

void vmstats_add_plain(struct vmstats *vs, const struct vmstats_plain *p)
{
	for (unsigned loc = 0; loc < 3; loc++) {
		vs->t.rows += p->flows[loc];
		totals_primary(vs, loc, p->flows[loc], p->bytes[loc], p->packets[loc]);
	}
}

void vmstats_totals(struct vmstats *vs, struct vmstats_totals *t)
{
	pthread_mutex_lock(&vs->mu);
	*t = vs->t;
	pthread_mutex_unlock(&vs->mu);
}
