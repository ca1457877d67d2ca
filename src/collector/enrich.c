/* enrich.c — VM attribution, zones and locality (enrich.h).
 *
 * An inventory is parsed into plain arrays; a snapshot adds open-address
 * hash tables (MAC, IP, UUID, name, host management address) over them
 * and each VM's zone, and is never modified afterwards, so ingest threads
 * read it without locks. Lookups cost one hash and a short probe. */
#include "collector/enrich.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/hash.h"
#include "core/json.h"

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
 * (vm_zone, precomputed) or a net rule over its address. */
static uint16_t zones_endpoint(const struct zones *zs, uint16_t vm_zone, const struct vt_addr *a)
{
	size_t limit;

	if (!zs)
		return 0;
	limit = vm_zone ? (size_t)vm_zone - 1 : zs->n;
	for (size_t i = 0; i < limit; i++)
		for (size_t j = 0; j < zs->z[i].nnet; j++)
			if (addr_in_prefix(a, &zs->z[i].net[j].net, zs->z[i].net[j].plen))
				return (uint16_t)(i + 1);
	return vm_zone;
}

/* ---- inventory --------------------------------------------------------- */

struct inventory {
	struct inv_vm *vm;
	size_t n, cap, max;
	struct inv_host *host;
	size_t nhost, hostcap;
	struct inv_stats st;
};

struct inventory *inv_new(size_t max_vms)
{
	struct inventory *inv = calloc(1, sizeof(*inv));

	if (!inv)
		return NULL;
	inv->max = max_vms ? max_vms : 1;
	return inv;
}

void inv_free(struct inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n; i++)
		free(inv->vm[i].attr);
	free(inv->vm);
	free(inv->host);
	free(inv);
}

size_t inv_count(const struct inventory *inv)
{
	return inv ? inv->n : 0;
}

const struct inv_vm *inv_vm_at(const struct inventory *inv, size_t i)
{
	return inv && i < inv->n ? &inv->vm[i] : NULL;
}

void inv_get_stats(const struct inventory *inv, struct inv_stats *st)
{
	*st = inv->st;
	st->vms = inv->n;
	st->hosts = inv->nhost;
}

static void vm_merge_addrs(struct inventory *inv, struct inv_vm *dst, const struct inv_vm *src)
{
	for (uint8_t i = 0; i < src->nmac; i++) {
		bool have = false;
		for (uint8_t j = 0; j < dst->nmac; j++)
			have |= !memcmp(dst->mac[j], src->mac[i], 6);
		if (have)
			continue;
		if (dst->nmac < INV_MAX_ADDRS)
			memcpy(dst->mac[dst->nmac++], src->mac[i], 6);
		else
			inv->st.truncated++;
	}
	for (uint8_t i = 0; i < src->nip; i++) {
		bool have = false;
		for (uint8_t j = 0; j < dst->nip; j++)
			have |= !addr_cmp(&dst->ip[j], &src->ip[i]);
		if (have)
			continue;
		if (dst->nip < INV_MAX_ADDRS)
			dst->ip[dst->nip++] = src->ip[i];
		else
			inv->st.truncated++;
	}
	if (!dst->host[0])
		memcpy(dst->host, src->host, sizeof(dst->host));
	if (uuid_is_nil(dst->uuid))
		memcpy(dst->uuid, src->uuid, 16);
	if (!dst->name[0])
		memcpy(dst->name, src->name, sizeof(dst->name));
}

int inv_add_vm(struct inventory *inv, const struct inv_vm *vm)
{
	struct inv_vm *d;

	/* a VM two sources describe (a file and libvirt) is one VM; a linear
	 * search is fine: inventories are built off the ingest path */
	for (size_t i = 0; i < inv->n; i++) {
		d = &inv->vm[i];
		if ((!uuid_is_nil(vm->uuid) && !memcmp(d->uuid, vm->uuid, 16)) ||
		    (uuid_is_nil(vm->uuid) && vm->name[0] && !strcmp(d->name, vm->name))) {
			vm_merge_addrs(inv, d, vm);
			return 0;
		}
	}
	if (inv->n >= inv->max) {
		inv->st.truncated++;
		return -ENOSPC;
	}
	if (inv->n == inv->cap) {
		size_t cap = inv->cap ? inv->cap * 2 : 64;
		struct inv_vm *v = realloc(inv->vm, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		inv->vm = v;
		inv->cap = cap;
	}
	d = &inv->vm[inv->n];
	*d = *vm;
	d->attr = NULL;
	d->nattr = 0;
	d->vm_zone = 0;
	if (vm->nattr) {
		d->attr = malloc(vm->nattr * sizeof(*d->attr));
		if (!d->attr)
			return -ENOMEM;
		memcpy(d->attr, vm->attr, vm->nattr * sizeof(*d->attr));
		d->nattr = vm->nattr;
	}
	inv->n++;
	return 0;
}

int inv_add_host(struct inventory *inv, const struct inv_host *h)
{
	for (size_t i = 0; i < inv->nhost; i++)
		if (!strcmp(inv->host[i].name, h->name)) {
			struct inv_host *d = &inv->host[i];
			for (uint8_t k = 0; k < h->nmgmt && d->nmgmt < INV_MAX_ADDRS; k++)
				d->mgmt[d->nmgmt++] = h->mgmt[k];
			return 0;
		}
	if (inv->nhost >= 4096) {
		inv->st.truncated++;
		return -ENOSPC;
	}
	if (inv->nhost == inv->hostcap) {
		size_t cap = inv->hostcap ? inv->hostcap * 2 : 16;
		struct inv_host *v = realloc(inv->host, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		inv->host = v;
		inv->hostcap = cap;
	}
	inv->host[inv->nhost++] = *h;
	return 0;
}

/* ---- inventory documents ----------------------------------------------- */

static int copy_name(char *dst, size_t cap, const char *s, const char *src, const char *what,
		     struct vt_err *err)
{
	size_t n = strlen(s);

	if (n >= cap)
		return vt_err_set(err, -EINVAL, "inventory %s: %s: '%.40s...' is longer than %zu bytes",
				  src, what, s, cap - 1);
	memcpy(dst, s, n + 1);
	return 0;
}

static int add_attr(struct inv_vm *vm, struct inv_attr *attrs, const char *key, const char *val)
{
	struct inv_attr *a;

	if (vm->nattr >= INV_MAX_ATTRS || strlen(key) >= INV_ATTR_MAX ||
	    strlen(val) >= INV_ATTR_MAX)
		return -ENOSPC;
	a = &attrs[vm->nattr++];
	snprintf(a->key, sizeof(a->key), "%s", key);
	snprintf(a->val, sizeof(a->val), "%s", val);
	return 0;
}

/* A scalar JSON value as text for an attribute; NULL for arrays/objects. */
static const char *scalar_text(const struct json_val *v, char *buf, size_t len)
{
	switch (v->type) {
	case JSON_STR: return v->u.str.s;
	case JSON_BOOL: return v->u.b ? "true" : "false";
	case JSON_NUM:
		if (v->is_int)
			snprintf(buf, len, "%lld", (long long)v->i);
		else
			snprintf(buf, len, "%g", v->u.num);
		return buf;
	default: return NULL;
	}
}

static int vm_add_mac(struct inv_vm *vm, const struct json_val *v, const char *src, size_t idx,
		      struct inventory *inv, struct vt_err *err)
{
	uint8_t mac[6];

	if (v->type != JSON_STR || mac_parse(v->u.str.s, mac) < 0)
		return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu].mac: '%.40s' is not a MAC address",
				  src, idx, v->type == JSON_STR ? v->u.str.s : "(not a string)");
	if (vm->nmac >= INV_MAX_ADDRS) {
		inv->st.truncated++;
		return 0;
	}
	memcpy(vm->mac[vm->nmac++], mac, 6);
	return 0;
}

static int vm_add_ip(struct inv_vm *vm, const struct json_val *v, const char *src, size_t idx,
		     const char *key, struct inventory *inv, struct vt_err *err)
{
	struct vt_addr a;

	if (v->type != JSON_STR || addr_parse(v->u.str.s, &a) < 0)
		return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu].%s: '%.46s' is not an IP address",
				  src, idx, key, v->type == JSON_STR ? v->u.str.s : "(not a string)");
	if (vm->nip >= INV_MAX_ADDRS) {
		inv->st.truncated++;
		return 0;
	}
	vm->ip[vm->nip++] = a;
	return 0;
}

static int parse_vm(struct inventory *inv, const struct json_val *o, size_t idx, const char *src,
		    struct inv_vm *vm, struct vt_err *err)
{
	struct inv_attr attrs[INV_MAX_ATTRS];
	char nb[32];
	int r;

	memset(vm, 0, sizeof(*vm));
	if (o->type != JSON_OBJ)
		return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu] is not an object", src, idx);
	for (size_t k = 0; k < o->u.list.n; k++) {
		const char *key = o->u.list.keys[k];
		const struct json_val *v = o->u.list.items[k];
		const char *txt;

		if (!strcmp(key, "name") || !strcmp(key, "host")) {
			char what[48];
			snprintf(what, sizeof(what), "vms[%zu].%s", idx, key);
			if (v->type != JSON_STR)
				return vt_err_set(err, -EINVAL, "inventory %s: %s is not a string", src, what);
			r = copy_name(key[0] == 'n' ? vm->name : vm->host, VT_NAME_MAX, v->u.str.s, src,
				      what, err);
			if (r < 0)
				return r;
			add_attr(vm, attrs, key, v->u.str.s);
		} else if (!strcmp(key, "uuid")) {
			if (v->type != JSON_STR || uuid_parse(v->u.str.s, vm->uuid) < 0)
				return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu].uuid: '%.40s' is not a UUID",
						  src, idx, v->type == JSON_STR ? v->u.str.s : "(not a string)");
		} else if (!strcmp(key, "mac")) {
			if ((r = vm_add_mac(vm, v, src, idx, inv, err)) < 0)
				return r;
		} else if (!strcmp(key, "macs")) {
			if (v->type != JSON_ARR)
				return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu].macs is not an array", src, idx);
			for (size_t i = 0; i < v->u.list.n; i++)
				if ((r = vm_add_mac(vm, v->u.list.items[i], src, idx, inv, err)) < 0)
					return r;
		} else if (!strcmp(key, "ipv4") || !strcmp(key, "ipv6") || !strcmp(key, "ip")) {
			if ((r = vm_add_ip(vm, v, src, idx, key, inv, err)) < 0)
				return r;
		} else if (!strcmp(key, "ips")) {
			if (v->type != JSON_ARR)
				return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu].ips is not an array", src, idx);
			for (size_t i = 0; i < v->u.list.n; i++)
				if ((r = vm_add_ip(vm, v->u.list.items[i], src, idx, key, inv, err)) < 0)
					return r;
		} else if (!strcmp(key, "attributes") || !strcmp(key, "labels")) {
			if (v->type != JSON_OBJ)
				return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu].%s is not an object",
						  src, idx, key);
			for (size_t i = 0; i < v->u.list.n; i++) {
				txt = scalar_text(v->u.list.items[i], nb, sizeof(nb));
				if (txt && add_attr(vm, attrs, v->u.list.keys[i], txt) < 0)
					inv->st.truncated++;
			}
		} else if ((txt = scalar_text(v, nb, sizeof(nb)))) {
			if (add_attr(vm, attrs, key, txt) < 0)
				inv->st.truncated++;
		}
	}
	if (!vm->name[0] && uuid_is_nil(vm->uuid))
		return vt_err_set(err, -EINVAL, "inventory %s: vms[%zu] has neither a name nor a uuid",
				  src, idx);
	/* exactly what this VM has (the caller frees it) */
	if (vm->nattr) {
		vm->attr = malloc(vm->nattr * sizeof(*vm->attr));
		if (!vm->attr)
			return vt_err_set(err, -ENOMEM, "inventory %s: out of memory", src);
		memcpy(vm->attr, attrs, vm->nattr * sizeof(*vm->attr));
	}
	return 0;
}

static int parse_host(const struct json_val *o, size_t idx, const char *src, struct inv_host *h,
		      struct vt_err *err)
{
	const struct json_val *v;
	const char *name;
	int r;

	memset(h, 0, sizeof(*h));
	if (o->type != JSON_OBJ)
		return vt_err_set(err, -EINVAL, "inventory %s: hosts[%zu] is not an object", src, idx);
	name = json_get_str(o, "name");
	if (!name)
		return vt_err_set(err, -EINVAL, "inventory %s: hosts[%zu] has no name", src, idx);
	if ((r = copy_name(h->name, sizeof(h->name), name, src, "hosts[].name", err)) < 0)
		return r;
	for (int pass = 0; pass < 2; pass++) {
		v = json_get(o, pass ? "mgmt_ips" : "mgmt_ip");
		if (!v)
			continue;
		size_t n = v->type == JSON_ARR ? v->u.list.n : 1;
		for (size_t i = 0; i < n; i++) {
			const struct json_val *e = v->type == JSON_ARR ? v->u.list.items[i] : v;
			struct vt_addr a;
			if (e->type != JSON_STR || addr_parse(e->u.str.s, &a) < 0)
				return vt_err_set(err, -EINVAL,
						  "inventory %s: hosts[%zu].%s: not an IP address", src,
						  idx, pass ? "mgmt_ips" : "mgmt_ip");
			if (h->nmgmt < INV_MAX_ADDRS)
				h->mgmt[h->nmgmt++] = a;
		}
	}
	return 0;
}

int inv_parse_json(struct inventory *inv, const char *text, size_t len, const char *source,
		   struct vt_err *err)
{
	struct json_val *doc;
	const struct json_val *vms, *hosts;
	struct inv_vm *vmv = NULL;
	struct inv_host *hostv = NULL;
	size_t nvm = 0, nhost = 0;
	struct vt_err jerr = { 0 };
	int r = 0;

	doc = json_parse(text, len, 4u << 20, &jerr);
	if (!doc) {
		inv->st.source_errors++;
		return vt_err_set(err, -EINVAL, "inventory %s: %s", source, jerr.msg);
	}
	if (doc->type != JSON_OBJ) {
		r = vt_err_set(err, -EINVAL, "inventory %s: not a JSON object", source);
		goto out;
	}
	vms = json_get(doc, "vms");
	hosts = json_get(doc, "hosts");
	if ((vms && vms->type != JSON_ARR) || (hosts && hosts->type != JSON_ARR)) {
		r = vt_err_set(err, -EINVAL, "inventory %s: \"vms\" and \"hosts\" must be arrays",
			       source);
		goto out;
	}
	/* parse everything first, so a bad entry adds nothing */
	nvm = vms ? vms->u.list.n : 0;
	nhost = hosts ? hosts->u.list.n : 0;
	vmv = calloc(nvm + 1, sizeof(*vmv));
	hostv = calloc(nhost + 1, sizeof(*hostv));
	if (!vmv || !hostv) {
		r = vt_err_set(err, -ENOMEM, "inventory %s: out of memory", source);
		goto out;
	}
	for (size_t i = 0; i < nvm; i++)
		if ((r = parse_vm(inv, vms->u.list.items[i], i, source, &vmv[i], err)) < 0)
			goto out;
	for (size_t i = 0; i < nhost; i++)
		if ((r = parse_host(hosts->u.list.items[i], i, source, &hostv[i], err)) < 0)
			goto out;
	for (size_t i = 0; i < nhost; i++)
		if ((r = inv_add_host(inv, &hostv[i])) == -ENOMEM)
			goto oom;
	for (size_t i = 0; i < nvm; i++)
		if ((r = inv_add_vm(inv, &vmv[i])) == -ENOMEM)
			goto oom;
	r = 0;
	inv->st.sources++;
	goto out;
oom:
	r = vt_err_set(err, -ENOMEM, "inventory %s: out of memory", source);
out:
	if (r < 0)
		inv->st.source_errors++;
	for (size_t i = 0; vmv && i < nvm; i++)
		free(vmv[i].attr);
	free(vmv);
	free(hostv);
	json_free(doc);
	return r;
}

int inv_load_file(struct inventory *inv, const char *path, struct vt_err *err)
{
	struct stat sb;
	char *text = NULL;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		inv->st.source_errors++;
		return vt_err_set(err, r, "inventory %s: %s", path, strerror(-r));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > INV_FILE_MAX) {
		close(fd);
		inv->st.source_errors++;
		return vt_err_set(err, -EINVAL, "inventory %s: not a regular file of at most %u MiB",
				  path, INV_FILE_MAX >> 20);
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		close(fd);
		return vt_err_set(err, -ENOMEM, "inventory %s: out of memory", path);
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, text + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = inv_parse_json(inv, text, got, path, err);
	free(text);
	return r;
}

/* ---- libvirt domain descriptions ---------------------------------------- */

/* find() : the first occurrence of <pat> in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *pat)
{
	size_t n = strlen(pat);

	for (; p && (size_t)(end - p) >= n; p++)
		if (*p == pat[0] && !memcmp(p, pat, n))
			return p;
	return NULL;
}

size_t inv_domain_macs(const char *xml, size_t len, uint8_t (*macs)[6], size_t max)
{
	const char *p = xml, *end = xml + len;
	size_t n = 0;

	/* libvirt writes canonical XML: <interface ...> <mac address='..'/>
	 * ... </interface>; the MAC of each interface is all we need */
	while (n < max && (p = find(p, end, "<interface"))) {
		const char *close = find(p, end, "</interface>");
		const char *stop = close ? close : end;
		const char *m = find(p, stop, "<mac");
		p = close ? close + 12 : end;
		if (!m)
			continue;
		const char *tag_end = find(m, stop, ">");
		const char *a = find(m, tag_end ? tag_end : stop, "address=");
		if (!a || (size_t)(stop - a) < 10)
			continue;
		char q = a[8];
		if (q != '\'' && q != '"')
			continue;
		const char *v = a + 9, *ve = memchr(v, q, (size_t)(stop - v));
		char buf[VT_MACSTRLEN];
		if (!ve || (size_t)(ve - v) >= sizeof(buf))
			continue;
		memcpy(buf, v, (size_t)(ve - v));
		buf[ve - v] = '\0';
		if (mac_parse(buf, macs[n]) == 0)
			n++;
	}
	return n;
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
	case KT_NAME: return !strcmp(s->inv->vm[e->idx].name, key);
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
	size_t nmac = 0, nip = 0, nmgmt = 0;

	if (!s || (!inv && !(inv = inv_new(1)))) {
		free(s);
		inv_free(inv);
		errno = ENOMEM;
		return NULL;
	}
	s->inv = inv;
	s->zones = zones;
	s->seed = vt_hash_seed();
	for (size_t i = 0; i < inv->n; i++) {
		nmac += inv->vm[i].nmac;
		nip += inv->vm[i].nip;
	}
	for (size_t i = 0; i < inv->nhost; i++)
		nmgmt += inv->host[i].nmgmt;
	if (kt_alloc(&s->t[KT_MAC], nmac) || kt_alloc(&s->t[KT_IP], nip) ||
	    kt_alloc(&s->t[KT_UUID], inv->n) || kt_alloc(&s->t[KT_NAME], inv->n) ||
	    kt_alloc(&s->t[KT_HOST], nmgmt)) {
		enrich_snap_free(s);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < inv->n; i++) {
		struct inv_vm *vm = &inv->vm[i];
		for (uint8_t k = 0; k < vm->nmac; k++)
			inv->st.dup_mac += (uint64_t)kt_insert(s, KT_MAC, vm->mac[k], i);
		for (uint8_t k = 0; k < vm->nip; k++)
			inv->st.dup_ip += (uint64_t)kt_insert(s, KT_IP, vm->ip[k].b, i);
		if (!uuid_is_nil(vm->uuid))
			inv->st.dup_uuid += (uint64_t)kt_insert(s, KT_UUID, vm->uuid, i);
		if (vm->name[0])
			inv->st.dup_name += (uint64_t)kt_insert(s, KT_NAME, vm->name, i);
		vm->vm_zone = zones_vm_first(zones, vm->name, vm->attr, vm->nattr);
	}
	for (uint32_t i = 0; i < inv->nhost; i++)
		for (uint8_t k = 0; k < inv->host[i].nmgmt; k++)
			kt_insert(s, KT_HOST, inv->host[i].mgmt[k].b, i);
	return s;
}

const struct inventory *enrich_snap_inventory(const struct enrich_snap *s)
{
	return s ? s->inv : NULL;
}

static const struct inv_vm *vm_of(const struct enrich_snap *s, const struct kent *e)
{
	return e ? &s->inv->vm[e->idx] : NULL;
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
	return e ? &s->inv->host[e->idx] : NULL;
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
	const struct inv_vm *vm = enrich_by_mac(s, mac);
	uint8_t by = ATTR_MAC;

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
	bool obs = vm_known(&r->vm);
	bool peer = r->scope == FLOW_SCOPE_LOCAL && vm_known(&r->peer);

	memset(a, 0, sizeof(*a));
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
