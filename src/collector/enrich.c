/* enrich.c — VM attribution, zones and locality (enrich.h).
 *
 * A snapshot adds open-address hash tables (MAC, IP, UUID, name, host
 * management address) over an inventory (inventory.h) and each VM's zone,
 * and is never modified afterwards, so ingest threads read it without
 * locks. Lookups cost one hash and a short probe. */
#include "collector/enrich.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/hash.h"

/* ---- zones ------------------------------------------------------------- */

struct zone_net {
	struct vt_addr net;
	unsigned plen;
};

struct zone_attr {
	char key[INV_ATTR_MAX];
	char glob[INV_ATTR_MAX];
};

struct zone {
	char name[ZONE_NAME_MAX];
	char **vm;                  /* globs (owned) */
	size_t nvm;
	struct zone_attr *attr;
	size_t nattr;
	struct zone_net *net;
	size_t nnet;
};

struct zones {
	struct zone *z;
	size_t n;
	size_t net_n;               /* zones up to the last with a net rule */
	const char **names;         /* names[i] = z[i].name */
};

void zones_free(struct zones *zs)
{
	if (!zs)
		return;
	for (size_t i = 0; i < zs->n; i++) {
		for (size_t j = 0; j < zs->z[i].nvm; j++)
			free(zs->z[i].vm[j]);
		free(zs->z[i].vm);
		free(zs->z[i].attr);
		free(zs->z[i].net);
	}
	free(zs->z);
	free(zs->names);
	free(zs);
}

static int zone_compile(struct zone *z, const struct zone_conf *c, struct vt_err *err)
{
	size_t n;

	n = strlen(c->name);
	if (n == 0 || n >= sizeof(z->name))
		return vt_err_set(err, -EINVAL, "zone name '%s' must be 1-%zu characters", c->name,
				  sizeof(z->name) - 1);
	if (!strcmp(c->name, "outside"))
		return vt_err_set(err, -EINVAL,
				  "zone 'outside' is reserved for endpoints outside every zone");
	memcpy(z->name, c->name, n + 1);
	if (c->vm.n + c->attr.n + c->net.n == 0)
		return vt_err_set(err, -EINVAL, "zone '%s' has no vm, attr or net rule", c->name);
	z->vm = calloc(c->vm.n + 1, sizeof(*z->vm));
	z->attr = calloc(c->attr.n + 1, sizeof(*z->attr));
	z->net = calloc(c->net.n + 1, sizeof(*z->net));
	if (!z->vm || !z->attr || !z->net)
		return vt_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->vm.n; i++) {
		if (!c->vm.v[i][0])
			return vt_err_set(err, -EINVAL, "zone '%s': vm pattern is empty", c->name);
		if (!(z->vm[z->nvm++] = strdup(c->vm.v[i])))
			return vt_err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < c->attr.n; i++) {
		const char *s = c->attr.v[i], *eq = strchr(s, '=');
		struct zone_attr *a = &z->attr[z->nattr];
		if (!eq || eq == s || (size_t)(eq - s) >= sizeof(a->key) ||
		    strlen(eq + 1) >= sizeof(a->glob))
			return vt_err_set(err, -EINVAL,
					  "zone '%s': attr '%s' is not KEY=PATTERN (e.g. host=h1)",
					  c->name, s);
		memcpy(a->key, s, (size_t)(eq - s));
		a->key[eq - s] = '\0';
		snprintf(a->glob, sizeof(a->glob), "%s", eq + 1);
		z->nattr++;
	}
	for (size_t i = 0; i < c->net.n; i++) {
		struct zone_net *zn = &z->net[z->nnet];
		if (prefix_parse(c->net.v[i], &zn->net, &zn->plen) < 0)
			return vt_err_set(err, -EINVAL,
					  "zone '%s': net '%s' is not a prefix (e.g. 198.18.1.0/24)",
					  c->name, c->net.v[i]);
		z->nnet++;
	}
	return 0;
}

struct zones *zones_new(const struct zone_conf *zc, size_t n, struct vt_err *err)
{
	struct zones *zs;

	if (n > ZONE_MAX) {
		vt_err_set(err, -E2BIG, "%zu zones defined, at most %d", n, ZONE_MAX);
		errno = E2BIG;
		return NULL;
	}
	zs = calloc(1, sizeof(*zs));
	if (!zs || !(zs->z = calloc(n + 1, sizeof(*zs->z))) ||
	    !(zs->names = calloc(n + 1, sizeof(*zs->names)))) {
		zones_free(zs);
		vt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		int r;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(zc[i].name, zc[j].name)) {
				vt_err_set(err, -EINVAL, "zone '%s' is defined twice", zc[i].name);
				goto fail;
			}
		r = zone_compile(&zs->z[i], &zc[i], err);
		zs->n = i + 1;
		if (r < 0)
			goto fail;
		zs->names[i] = zs->z[i].name;
		if (zs->z[i].nnet)
			zs->net_n = i + 1;
	}
	zs->n = n;
	return zs;
fail:
	zones_free(zs);
	errno = EINVAL;
	return NULL;
}

size_t zones_count(const struct zones *z)
{
	return z ? z->n : 0;
}

const char *zones_name(const struct zones *z, uint16_t idx)
{
	if (idx == 0)
		return "outside";
	if (!z || idx > z->n)
		return NULL;
	return z->z[idx - 1].name;
}

const char *const *zones_names(const struct zones *z)
{
	return z ? z->names : NULL;
}

static bool zone_vm_match(const struct zone *z, const char *name, const struct inv_attr *attr,
			  size_t nattr)
{
	for (size_t i = 0; i < z->nvm; i++)
		if (name[0] && fnmatch(z->vm[i], name, 0) == 0)
			return true;
	for (size_t i = 0; i < z->nattr; i++)
		for (size_t j = 0; j < nattr; j++)
			if (!strcmp(z->attr[i].key, attr[j].key) &&
			    fnmatch(z->attr[i].glob, attr[j].val, 0) == 0)
				return true;
	return false;
}

/* The first zone (1-based) a VM matches by name or attribute; 0 none. */
static uint16_t zones_vm_first(const struct zones *zs, const char *name,
			       const struct inv_attr *attr, size_t nattr)
{
	for (size_t i = 0; zs && i < zs->n; i++)
		if (zone_vm_match(&zs->z[i], name, attr, nattr))
			return (uint16_t)(i + 1);
	return 0;
}

/* The zone of an endpoint: the first zone matching either its VM rules
 * (vm_zone, precomputed) or a net rule over its address. Only zones up to
 * the last with a net rule are scanned (none: no address is looked at). */
static uint16_t zones_endpoint(const struct zones *zs, uint16_t vm_zone, const struct vt_addr *a)
{
	size_t limit;

	if (!zs)
		return vm_zone;
	limit = vm_zone ? (size_t)vm_zone - 1 : zs->n;
	if (limit > zs->net_n)
		limit = zs->net_n;
	for (size_t i = 0; i < limit; i++)
		for (size_t j = 0; j < zs->z[i].nnet; j++)
			if (addr_in_prefix(a, &zs->z[i].net[j].net, zs->z[i].net[j].plen))
				return (uint16_t)(i + 1);
	return vm_zone;
}

/* ---- snapshots: hash tables over the inventory ------------------------- */

enum ktab_kind { KT_MAC, KT_IP, KT_UUID, KT_NAME, KT_HOST };

struct kent {
	uint8_t k[16];
	uint32_t idx;               /* VM (or host) index */
};

struct ktab {
	uint32_t *slot;             /* entry index + 1; 0 empty */
	size_t mask;
	struct kent *ent;
	size_t n;
};

struct enrich_snap {
	struct inventory *inv;
	const struct zones *zones;
	uint64_t seed;
	struct ktab t[5];
	bool by_addr;               /* a VM has an address, or a zone a net
				     * rule: an end without the agent's
				     * identity may still be attributed */
	uint64_t refs;              /* guarded by struct enrich's mutex */
};

static uint64_t kt_hash(const struct enrich_snap *s, enum ktab_kind kind, const void *key)
{
	if (kind == KT_NAME)
		return vt_hash(key, strlen(key), s->seed ^ 0x6e616d65u);
	return vt_hash(key, kind == KT_MAC ? 6 : 16, s->seed ^ (uint64_t)kind);
}

static bool kt_eq(const struct enrich_snap *s, enum ktab_kind kind, const struct kent *e,
		  const void *key)
{
	switch (kind) {
	case KT_MAC: return !memcmp(e->k, key, 6);
	case KT_NAME: return !strcmp(inv_vm_at(s->inv, e->idx)->name, key);
	default: return !memcmp(e->k, key, 16);
	}
}

static const struct kent *kt_find(const struct enrich_snap *s, enum ktab_kind kind, const void *key)
{
	const struct ktab *t = &s->t[kind];
	size_t i;

	if (!t->n)
		return NULL;
	i = kt_hash(s, kind, key) & t->mask;
	for (;;) {
		uint32_t e = t->slot[i];
		if (!e)
			return NULL;
		if (kt_eq(s, kind, &t->ent[e - 1], key))
			return &t->ent[e - 1];
		i = (i + 1) & t->mask;
	}
}

static int kt_alloc(struct ktab *t, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	t->slot = calloc(cap, sizeof(*t->slot));
	t->ent = calloc(n + 1, sizeof(*t->ent));
	if (!t->slot || !t->ent)
		return -ENOMEM;
	t->mask = cap - 1;
	return 0;
}

/* kt_insert() : adds <key> -> <idx> unless the key is present (returns 1:
 * a duplicate, the first definition is kept). */
static int kt_insert(struct enrich_snap *s, enum ktab_kind kind, const void *key, uint32_t idx)
{
	struct ktab *t = &s->t[kind];
	size_t i;

	if (kt_find(s, kind, key))
		return 1;
	struct kent *e = &t->ent[t->n];
	memset(e, 0, sizeof(*e));
	if (kind == KT_MAC)
		memcpy(e->k, key, 6);
	else if (kind != KT_NAME)
		memcpy(e->k, key, 16);
	e->idx = idx;
	i = kt_hash(s, kind, key) & t->mask;
	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = (uint32_t)++t->n;
	return 0;
}

void enrich_snap_free(struct enrich_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(s->t); i++) {
		free(s->t[i].slot);
		free(s->t[i].ent);
	}
	inv_free(s->inv);
	free(s);
}

struct enrich_snap *enrich_snap_new(struct inventory *inv, const struct zones *zones)
{
	struct enrich_snap *s = calloc(1, sizeof(*s));
	size_t nmac = 0, nip = 0, nmgmt = 0, nvm, nhost;
	uint64_t dmac = 0, dip = 0, duuid = 0, dname = 0;

	if (!s || (!inv && !(inv = inv_new(1)))) {
		free(s);
		inv_free(inv);
		errno = ENOMEM;
		return NULL;
	}
	s->inv = inv;
	s->zones = zones;
	s->seed = vt_hash_seed();
	nvm = inv_count(inv);
	nhost = inv_host_count(inv);
	for (size_t i = 0; i < nvm; i++) {
		nmac += inv_vm_at(inv, i)->nmac;
		nip += inv_vm_at(inv, i)->nip;
	}
	for (size_t i = 0; i < nhost; i++)
		nmgmt += inv_host_at(inv, i)->nmgmt;
	if (kt_alloc(&s->t[KT_MAC], nmac) || kt_alloc(&s->t[KT_IP], nip) ||
	    kt_alloc(&s->t[KT_UUID], nvm) || kt_alloc(&s->t[KT_NAME], nvm) ||
	    kt_alloc(&s->t[KT_HOST], nmgmt)) {
		enrich_snap_free(s);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < nvm; i++) {
		const struct inv_vm *vm = inv_vm_at(inv, i);
		for (uint8_t k = 0; k < vm->nmac; k++)
			dmac += (uint64_t)kt_insert(s, KT_MAC, vm->mac[k], i);
		for (uint8_t k = 0; k < vm->nip; k++)
			dip += (uint64_t)kt_insert(s, KT_IP, vm->ip[k].b, i);
		if (!uuid_is_nil(vm->uuid))
			duuid += (uint64_t)kt_insert(s, KT_UUID, vm->uuid, i);
		if (vm->name[0])
			dname += (uint64_t)kt_insert(s, KT_NAME, vm->name, i);
		inv_set_vm_zone(inv, i, zones_vm_first(zones, vm->name, vm->attr, vm->nattr));
	}
	inv_note_dups(inv, dmac, dip, duuid, dname);
	s->by_addr = s->t[KT_MAC].n || s->t[KT_IP].n || (zones && zones->net_n);
	for (uint32_t i = 0; i < nhost; i++) {
		const struct inv_host *h = inv_host_at(inv, i);
		for (uint8_t k = 0; k < h->nmgmt; k++)
			kt_insert(s, KT_HOST, h->mgmt[k].b, i);
	}
	return s;
}

const struct inventory *enrich_snap_inventory(const struct enrich_snap *s)
{
	return s ? s->inv : NULL;
}

static const struct inv_vm *vm_of(const struct enrich_snap *s, const struct kent *e)
{
	return e ? inv_vm_at(s->inv, e->idx) : NULL;
}

const struct inv_vm *enrich_by_mac(const struct enrich_snap *s, const uint8_t mac[6])
{
	static const uint8_t zero[6];

	/* group (broadcast, multicast) and all-zero MACs name no VM */
	if (!s || (mac[0] & 1) || !memcmp(mac, zero, 6))
		return NULL;
	return vm_of(s, kt_find(s, KT_MAC, mac));
}

const struct inv_vm *enrich_by_ip(const struct enrich_snap *s, const struct vt_addr *a)
{
	if (!s || addr_is_zero(a))
		return NULL;
	return vm_of(s, kt_find(s, KT_IP, a->b));
}

const struct inv_vm *enrich_by_uuid(const struct enrich_snap *s, const uint8_t uuid[16])
{
	if (!s || uuid_is_nil(uuid))
		return NULL;
	return vm_of(s, kt_find(s, KT_UUID, uuid));
}

const struct inv_vm *enrich_by_name(const struct enrich_snap *s, const char *name)
{
	if (!s || !name[0])
		return NULL;
	return vm_of(s, kt_find(s, KT_NAME, name));
}

const struct inv_host *enrich_host_by_addr(const struct enrich_snap *s, const struct vt_addr *a)
{
	const struct kent *e;

	if (!s)
		return NULL;
	e = kt_find(s, KT_HOST, a->b);
	return e ? inv_host_at(s->inv, e->idx) : NULL;
}

/* ---- attribution ------------------------------------------------------- */

static bool same_vm(const struct vm_ident *a, const struct vm_ident *b)
{
	if (!uuid_is_nil(a->uuid) && !uuid_is_nil(b->uuid))
		return !memcmp(a->uuid, b->uuid, 16);
	return a->name[0] && !strncmp(a->name, b->name, sizeof(a->name));
}

static void ident_from_inv(struct vm_ident *id, const struct inv_vm *vm)
{
	memset(id, 0, sizeof(*id));
	memcpy(id->uuid, vm->uuid, 16);
	memcpy(id->name, vm->name, sizeof(id->name));
}

/* One end of a flow while it is being attributed. */
struct side {
	const struct inv_vm *inv;
	uint16_t vm_zone;
	uint8_t by;
};

/* An identity from the record's elements, completed from the inventory. */
static void side_from_element(const struct enrich_snap *s, const struct vm_ident *el,
			      struct vm_ident *out, struct side *sd)
{
	const struct inv_vm *vm = NULL;

	if (s)
		vm = !uuid_is_nil(el->uuid) ? enrich_by_uuid(s, el->uuid) : NULL;
	if (s && !vm && uuid_is_nil(el->uuid))
		vm = enrich_by_name(s, el->name);
	memset(out, 0, sizeof(*out));
	memcpy(out->uuid, el->uuid, 16);
	memcpy(out->name, el->name, sizeof(out->name));
	out->name[sizeof(out->name) - 1] = '\0';
	if (vm) {
		if (uuid_is_nil(out->uuid))
			memcpy(out->uuid, vm->uuid, 16);
		if (!out->name[0])
			memcpy(out->name, vm->name, sizeof(out->name));
		sd->vm_zone = vm->vm_zone;
	} else if (s) {
		/* a VM the inventory does not know: its name still selects a zone */
		sd->vm_zone = zones_vm_first(s->zones, out->name, NULL, 0);
	}
	sd->inv = vm;
	sd->by = ATTR_ELEMENT;
}

static void side_from_inventory(const struct enrich_snap *s, const uint8_t mac[6],
				const struct vt_addr *ip, struct vm_ident *out, struct side *sd)
{
	const struct inv_vm *vm;
	uint8_t by = ATTR_MAC;

	/* no VM has an address: nothing to look up (no hashing, no call) */
	if (!s->t[KT_MAC].n && !s->t[KT_IP].n)
		return;
	vm = enrich_by_mac(s, mac);
	if (!vm) {
		vm = enrich_by_ip(s, ip);
		by = ATTR_IP;
	}
	if (!vm)
		return;
	ident_from_inv(out, vm);
	sd->inv = vm;
	sd->vm_zone = vm->vm_zone;
	sd->by = by;
}

void enrich_flow(const struct enrich_snap *s, const struct flow_rec *r, struct flow_attr *a,
		 struct enrich_info *info)
{
	struct side src = { 0 }, dst = { 0 };

	memset(a, 0, sizeof(*a));
	if ((!s || !s->by_addr) && vm_ident_nil(&r->vm) && vm_ident_nil(&r->peer)) {
		/* plain NetFlow with nothing to look its ends up in (no
		 * inventory address, no net zone): outside, no identity. What
		 * the steps below conclude for it, without them (callgrind,
		 * no inventory: 122 of 1,613 instructions per record) */
		a->nil_vms = FLOWATTR_NIL_VM | FLOWATTR_NIL_PEER | FLOWATTR_NIL_SRC |
			     FLOWATTR_NIL_DST;
		if (info)
			info->src_by = info->dst_by = ATTR_NONE;
		return;
	}
	bool obs = vm_known(&r->vm);
	bool peer = r->scope == FLOW_SCOPE_LOCAL && vm_known(&r->peer);
	/* 1. the agent's elements: the observing VM is the sender for
	 * ingress (the frame entered the bridge from the VM), the receiver
	 * for egress; a local peer is the other end */
	if (obs && r->direction == FLOW_DIR_INGRESS) {
		side_from_element(s, &r->vm, &a->src_vm, &src);
		if (peer)
			side_from_element(s, &r->peer, &a->dst_vm, &dst);
	} else if (obs && r->direction == FLOW_DIR_EGRESS) {
		side_from_element(s, &r->vm, &a->dst_vm, &dst);
		if (peer)
			side_from_element(s, &r->peer, &a->src_vm, &src);
	}
	/* 2. the inventory, for the ends still unknown */
	if (s && !src.by)
		side_from_inventory(s, r->src_mac, &r->src, &a->src_vm, &src);
	if (s && !dst.by)
		side_from_inventory(s, r->dst_mac, &r->dst, &a->dst_vm, &dst);

	if (s) {
		a->src_zone = zones_endpoint(s->zones, src.vm_zone, &r->src);
		a->dst_zone = zones_endpoint(s->zones, dst.vm_zone, &r->dst);
	}
	if (src.by && dst.by) {
		if (r->scope == FLOW_SCOPE_LOCAL)
			a->locality = FLOW_LOC_SAME_HOST;
		else if (r->scope == FLOW_SCOPE_REMOTE && obs)
			a->locality = FLOW_LOC_CROSS_HOST;   /* the agent saw it cross the uplink */
		else if (src.inv && dst.inv && src.inv->host[0] &&
			 !strcmp(src.inv->host, dst.inv->host))
			a->locality = FLOW_LOC_SAME_HOST;
		else
			a->locality = FLOW_LOC_CROSS_HOST;
	} else {
		a->locality = FLOW_LOC_OUTSIDE;
	}
	/* an end no step attributed kept the identity memset above */
	a->nil_vms = (uint8_t)((vm_ident_nil(&r->vm) ? FLOWATTR_NIL_VM : 0) |
			       (vm_ident_nil(&r->peer) ? FLOWATTR_NIL_PEER : 0) |
			       (!src.by || vm_ident_nil(&a->src_vm) ? FLOWATTR_NIL_SRC : 0) |
			       (!dst.by || vm_ident_nil(&a->dst_vm) ? FLOWATTR_NIL_DST : 0));
	if (info) {
		info->src_by = src.by;
		info->dst_by = dst.by;
	}
}

enum obs_side enrich_obs_side(const struct flow_rec *r, const struct flow_attr *a)
{
	if (!vm_known(&r->vm))
		return OBS_NONE;
	if (r->direction != FLOW_DIR_EGRESS && vm_known(&a->src_vm) && same_vm(&r->vm, &a->src_vm))
		return OBS_SRC;
	if (r->direction != FLOW_DIR_INGRESS && vm_known(&a->dst_vm) && same_vm(&r->vm, &a->dst_vm))
		return OBS_DST;
	return OBS_NONE;
}

bool enrich_is_primary(const struct flow_rec *r, const struct flow_attr *a, bool src_metered,
		       bool dst_metered)
{
	bool src_vm = vm_known(&a->src_vm), dst_vm = vm_known(&a->dst_vm);

	switch (enrich_obs_side(r, a)) {
	case OBS_SRC:
		return true;
	case OBS_DST:
		return !(src_vm && src_metered);
	default:
		return !((src_vm && src_metered) || (dst_vm && dst_metered));
	}
}

/* ---- the shared current snapshot --------------------------------------- */

void enrich_init(struct enrich *e)
{
	pthread_mutex_init(&e->mu, NULL);
	e->cur = NULL;
	e->generation = 0;
}

void enrich_destroy(struct enrich *e)
{
	enrich_put(e, e->cur);
	e->cur = NULL;
	pthread_mutex_destroy(&e->mu);
}

void enrich_swap(struct enrich *e, struct enrich_snap *s)
{
	struct enrich_snap *old;

	pthread_mutex_lock(&e->mu);
	old = e->cur;
	e->cur = s;
	if (s)
		s->refs = 1;
	e->generation++;
	pthread_mutex_unlock(&e->mu);
	enrich_put(e, old);
}

struct enrich_snap *enrich_get(struct enrich *e)
{
	struct enrich_snap *s;

	pthread_mutex_lock(&e->mu);
	s = e->cur;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&e->mu);
	return s;
}

void enrich_put(struct enrich *e, struct enrich_snap *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&e->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&e->mu);
	if (last)
		enrich_snap_free(s);
}

uint64_t enrich_generation(struct enrich *e)
{
	uint64_t g;

	pthread_mutex_lock(&e->mu);
	g = e->generation;
	pthread_mutex_unlock(&e->mu);
	return g;
}
