/* inventory.c — the VMs and hosts attribution knows (inventory.h): built
 * from inventory documents (the lab's inventory.json format) and libvirt
 * (inv_libvirt.c), validated whole before anything is added, then frozen
 * into an enrich snapshot. */
#include "collector/inventory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/fileio.h"
#include "core/hash.h"
#include "core/json.h"

/* ---- inventory --------------------------------------------------------- */

struct inventory {
	struct inv_vm *vm;
	size_t n, cap, max;
	/* merge indexes over vm[] (entry + 1, 0 empty; open addressing, at
	 * most half full): by UUID, and by name (the lowest entry of a name) */
	uint32_t *uix, *nix;
	size_t ixmask;
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
	free(inv->uix);
	free(inv->nix);
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

size_t inv_host_count(const struct inventory *inv)
{
	return inv ? inv->nhost : 0;
}

const struct inv_host *inv_host_at(const struct inventory *inv, size_t i)
{
	return inv && i < inv->nhost ? &inv->host[i] : NULL;
}

void inv_set_vm_zone(struct inventory *inv, size_t i, uint16_t zone)
{
	if (i < inv->n)
		inv->vm[i].vm_zone = zone;
}

void inv_note_dups(struct inventory *inv, uint64_t mac, uint64_t ip, uint64_t uuid, uint64_t name)
{
	inv->st.dup_mac += mac;
	inv->st.dup_ip += ip;
	inv->st.dup_uuid += uuid;
	inv->st.dup_name += name;
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

/* ---- merge indexes: a VM two sources describe (a file and libvirt) is
 * one VM, found by UUID, else by name. Hashed, because inventories of
 * 100,000 VMs are rebuilt at every reload on the daemon's event loop. */

#define IX_SEED 0x696e76656e746f72ull

static size_t uuid_pos(const struct inventory *inv, const uint8_t u[16])
{
	return (size_t)vt_hash(u, 16, IX_SEED) & inv->ixmask;
}

static size_t name_pos(const struct inventory *inv, const char *name)
{
	return (size_t)vt_hash(name, strlen(name), IX_SEED ^ 1) & inv->ixmask;
}

/* The slot of <u> in the UUID index: its entry, or the empty slot where it
 * goes. */
static uint32_t *uix_slot(struct inventory *inv, const uint8_t u[16])
{
	size_t p = uuid_pos(inv, u);

	while (inv->uix[p] && memcmp(inv->vm[inv->uix[p] - 1].uuid, u, 16) != 0)
		p = (p + 1) & inv->ixmask;
	return &inv->uix[p];
}

static uint32_t *nix_slot(struct inventory *inv, const char *name)
{
	size_t p = name_pos(inv, name);

	while (inv->nix[p] && strcmp(inv->vm[inv->nix[p] - 1].name, name) != 0)
		p = (p + 1) & inv->ixmask;
	return &inv->nix[p];
}

/* ix_note() : entry <i> has (now) its UUID and name: index them. A name
 * keeps the lowest entry that has it, as a scan in order would find. */
static void ix_note(struct inventory *inv, size_t i)
{
	const struct inv_vm *d = &inv->vm[i];

	if (!uuid_is_nil(d->uuid)) {
		uint32_t *s = uix_slot(inv, d->uuid);
		if (!*s)
			*s = (uint32_t)i + 1;
	}
	if (d->name[0]) {
		uint32_t *s = nix_slot(inv, d->name);
		if (!*s || *s - 1 > i)
			*s = (uint32_t)i + 1;
	}
}

/* ix_room() : indexes with room for one more entry (rebuilt twice as
 * large past half full). */
static int ix_room(struct inventory *inv)
{
	size_t cap = inv->ixmask + 1;
	uint32_t *u, *n;

	if (inv->uix && (inv->n + 1) * 2 <= cap)
		return 0;
	cap = inv->uix ? cap * 2 : 256;
	while ((inv->n + 1) * 2 > cap)
		cap *= 2;
	u = calloc(cap, sizeof(*u));
	n = calloc(cap, sizeof(*n));
	if (!u || !n) {
		free(u);
		free(n);
		return -ENOMEM;
	}
	free(inv->uix);
	free(inv->nix);
	inv->uix = u;
	inv->nix = n;
	inv->ixmask = cap - 1;
	for (size_t i = 0; i < inv->n; i++)
		ix_note(inv, i);
	return 0;
}

int inv_add_vm(struct inventory *inv, const struct inv_vm *vm)
{
	struct inv_vm *d;
	uint32_t e = 0;

	if (ix_room(inv) < 0)
		return -ENOMEM;
	if (!uuid_is_nil(vm->uuid))
		e = *uix_slot(inv, vm->uuid);
	else if (vm->name[0])
		e = *nix_slot(inv, vm->name);
	if (e) {
		vm_merge_addrs(inv, &inv->vm[e - 1], vm);
		ix_note(inv, e - 1);   /* it may have got its name */
		return 0;
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
	ix_note(inv, inv->n - 1);
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
	struct vbuf text;
	struct vt_err e = { 0 };
	int r;

	r = file_read_all(path, INV_FILE_MAX, false, &text, &e);
	if (r == 0) {
		r = inv_parse_json(inv, (const char *)text.data, text.len, path, err);
	} else {
		inv->st.source_errors++;
		vt_err_set(err, r, "inventory %s", e.msg);
	}
	vbuf_free(&text);
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

