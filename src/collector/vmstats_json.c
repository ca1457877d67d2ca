/* vmstats_json.c — the views of the per-VM statistics (vmstats.h): the
 * list and detail JSON of the API and `vtap vms`, the totals, and the
 * Prometheus families. Each view takes the statistics' mutex for the time
 * it walks them; the sorting is done on pointer arrays. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/enrich.h"
#include "collector/vmstats.h"
#include "collector/vmstats_int.h"
#include "core/compiler.h"
#include "http/prom.h"

/* ---- output ------------------------------------------------------------ */

static const char *const loc_names[3] = { "outside", "same_host", "cross_host" };

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmp6";
	case 132: return "sctp";
	default: snprintf(buf, len, "%u", p); return buf;
	}
}

/* Bytes and packets of the last <window_ms>: the buckets it spans, the
 * current one included; *<span_ms> is the time they cover (the current
 * bucket only as far as it has run), so the rate is right at any moment. */
static void series_window(const struct vmstats *vs, const struct vm_entry *e, uint64_t now_ms,
			  uint64_t window_ms, struct bucket *sum, uint64_t *span_ms)
{
	const uint64_t I = vs->c.series_interval_ms, P = vs->c.series_points;
	int64_t b_now = (int64_t)(now_ms / I);
	int64_t n = (int64_t)VT_MAX(1, window_ms / I);

	memset(sum, 0, sizeof(*sum));
	if ((uint64_t)n > P)
		n = (int64_t)P;
	*span_ms = (uint64_t)(n - 1) * I + now_ms % I + 1;
	if (!e->ser || e->head < 0)
		return;
	for (int64_t b = b_now - n + 1; b <= b_now; b++) {
		if (b > e->head || b <= e->head - (int64_t)P || b < 0)
			continue;
		const struct bucket *k = &e->ser[(uint64_t)b % P];
		sum->bytes_in += k->bytes_in;
		sum->bytes_out += k->bytes_out;
		sum->packets_in += k->packets_in;
		sum->packets_out += k->packets_out;
	}
}

static void jw_cnt(struct jw *w, const char *key, const struct cnt *c)
{
	jw_obj_open(w, key);
	jw_uint(w, "bytes", c->bytes);
	jw_uint(w, "packets", c->packets);
	jw_uint(w, "flows", c->flows);
	jw_obj_close(w);
}

static void svc_json(struct jw *w, const struct svc_ent *s, bool server)
{
	char pb[8];

	jw_obj_open(w, NULL);
	jw_str(w, "proto", proto_name(s->proto, pb, sizeof(pb)));
	jw_uint(w, "port", s->port);
	jw_uint(w, "flows", s->flows);
	jw_uint(w, "answers", s->answers);
	jw_uint(w, "refused", s->refused);
	jw_bool(w, "answered", s->answers > 0);
	jw_uint(w, "bytes_in", s->bytes_in);
	jw_uint(w, "bytes_out", s->bytes_out);
	jw_uint(w, "packets_in", s->packets_in);
	jw_uint(w, "packets_out", s->packets_out);
	jw_uint(w, server ? "clients" : "servers", s->npeer);
	jw_bool(w, server ? "clients_more" : "servers_more", s->peer_sat);
	jw_uint(w, "first_ms", s->first_ms);
	jw_uint(w, "last_ms", s->last_ms);
	jw_obj_close(w);
}

static int cmp_svc(const void *a, const void *b)
{
	const struct svc_ent *x = *(const struct svc_ent *const *)a, *y = *(const struct svc_ent *const *)b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static void svc_list_json(struct jw *w, const char *key, const struct smap *m, bool server,
			  bool answered_only)
{
	const struct svc_ent **v = malloc((m->n + 1) * sizeof(*v));
	size_t n = 0;

	jw_arr_open(w, key);
	if (v) {
		for (size_t i = 0; i < m->n; i++) {
			const struct svc_ent *s = smap_at(m, i);
			if (!answered_only || s->answers)
				v[n++] = s;
		}
		qsort(v, n, sizeof(*v), cmp_svc);
		for (size_t i = 0; i < n; i++)
			svc_json(w, v[i], server);
		free(v);
	}
	jw_arr_close(w);
}

static void vm_summary_json(const struct vmstats *vs, struct jw *w, const struct vm_entry *e,
			    const struct zones *zones, uint64_t now_ms, uint64_t rate_window_ms)
{
	char ub[VT_UUIDSTRLEN];
	struct bucket win;
	uint64_t span;
	/* zone 0 is "outside" for addresses; a VM in no zone has none */
	const char *zn = e->zone ? zones_name(zones, e->zone) : "";

	jw_str(w, "name", e->name);
	jw_str(w, "uuid", uuid_is_nil(e->uuid) ? "" : uuid_fmt(e->uuid, ub, sizeof(ub)));
	jw_str(w, "host", e->host);
	jw_str(w, "zone", zn ? zn : "");
	jw_uint(w, "bytes_in", e->in.bytes);
	jw_uint(w, "bytes_out", e->out.bytes);
	jw_uint(w, "packets_in", e->in.packets);
	jw_uint(w, "packets_out", e->out.packets);
	jw_uint(w, "flows_in", e->in.flows);
	jw_uint(w, "flows_out", e->out.flows);
	series_window(vs, e, now_ms, rate_window_ms, &win, &span);
	jw_uint(w, "rate_window_ms", span);
	jw_double(w, "bps_in", (double)win.bytes_in * 8000.0 / (double)span);
	jw_double(w, "bps_out", (double)win.bytes_out * 8000.0 / (double)span);
	jw_double(w, "pps_in", (double)win.packets_in * 1000.0 / (double)span);
	jw_double(w, "pps_out", (double)win.packets_out * 1000.0 / (double)span);
	jw_obj_open(w, "locality");
	for (int l = 0; l < 3; l++) {
		jw_obj_open(w, loc_names[l]);
		jw_uint(w, "bytes_in", e->loc_in[l].bytes);
		jw_uint(w, "bytes_out", e->loc_out[l].bytes);
		jw_uint(w, "packets_in", e->loc_in[l].packets);
		jw_uint(w, "packets_out", e->loc_out[l].packets);
		jw_uint(w, "flows_in", e->loc_in[l].flows);
		jw_uint(w, "flows_out", e->loc_out[l].flows);
		jw_obj_close(w);
	}
	jw_obj_close(w);
	jw_uint(w, "first_ms", e->first_ms);
	jw_uint(w, "last_ms", e->last_ms);
}

static int cmp_vm_bytes(const void *a, const void *b)
{
	const struct vm_entry *x = *(const struct vm_entry *const *)a;
	const struct vm_entry *y = *(const struct vm_entry *const *)b;
	uint64_t tx = x->in.bytes + x->out.bytes, ty = y->in.bytes + y->out.bytes;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_vm_name(const void *a, const void *b)
{
	const struct vm_entry *x = *(const struct vm_entry *const *)a;
	const struct vm_entry *y = *(const struct vm_entry *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : memcmp(x->uuid, y->uuid, 16);
}

void vmstats_json_list(struct vmstats *vs, struct jw *w, const char *key,
		       const struct zones *zones, uint64_t now_ms, uint64_t rate_window_ms,
		       enum vms_sort sort, uint64_t limit)
{
	const struct vm_entry **v;
	size_t n;

	pthread_mutex_lock(&vs->mu);
	n = vs->vms.n;
	v = malloc((n + 1) * sizeof(*v));
	jw_arr_open(w, key);
	if (v) {
		for (size_t i = 0; i < n; i++)
			v[i] = smap_at(&vs->vms, i);
		qsort(v, n, sizeof(*v), sort == VMS_SORT_NAME ? cmp_vm_name : cmp_vm_bytes);
		if (limit && n > limit)
			n = limit;
		for (size_t i = 0; i < n; i++) {
			jw_obj_open(w, NULL);
			vm_summary_json(vs, w, v[i], zones, now_ms, rate_window_ms);
			svc_list_json(w, "services", &v[i]->offered, true, true);
			jw_obj_close(w);
		}
		free(v);
	} else {
		w->err = -ENOMEM;
	}
	jw_arr_close(w);
	pthread_mutex_unlock(&vs->mu);
}

static struct vm_entry *vm_lookup(struct vmstats *vs, const char *id)
{
	uint8_t u[16];
	bool by_uuid = uuid_parse(id, u) == 0;

	for (size_t i = 0; i < vs->vms.n; i++) {
		struct vm_entry *e = smap_at(&vs->vms, i);
		if (by_uuid ? !memcmp(e->uuid, u, 16) : !strcmp(e->name, id))
			return e;
	}
	return NULL;
}

static int cmp_port(const void *a, const void *b)
{
	const struct port_ent *x = *(const struct port_ent *const *)a;
	const struct port_ent *y = *(const struct port_ent *const *)b;
	uint64_t tx = x->in.bytes + x->out.bytes, ty = y->in.bytes + y->out.bytes;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int cmp_peer(const void *a, const void *b)
{
	const struct peer_ent *x = *(const struct peer_ent *const *)a;
	const struct peer_ent *y = *(const struct peer_ent *const *)b;
	uint64_t tx = x->in.bytes + x->out.bytes, ty = y->in.bytes + y->out.bytes;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return memcmp(x->key, y->key, KEYLEN);
}

static void *sorted(const struct smap *m, int (*cmp)(const void *, const void *))
{
	const void **v = malloc((m->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		v[i] = smap_at(m, i);
	qsort(v, m->n, sizeof(*v), cmp);
	return v;
}

static void series_json(const struct vmstats *vs, struct jw *w, const struct vm_entry *e)
{
	const uint64_t I = vs->c.series_interval_ms, P = vs->c.series_points;

	jw_obj_open(w, "series");
	jw_uint(w, "interval_ms", I);
	jw_arr_open(w, "points");
	if (e->ser && e->head >= 0) {
		int64_t from = e->head - (int64_t)P + 1;
		for (int64_t b = from < 0 ? 0 : from; b <= e->head; b++) {
			const struct bucket *k = &e->ser[(uint64_t)b % P];
			if (!k->bytes_in && !k->bytes_out && !k->packets_in && !k->packets_out)
				continue;
			jw_obj_open(w, NULL);
			jw_uint(w, "t_ms", (uint64_t)b * I);
			jw_uint(w, "bytes_in", k->bytes_in);
			jw_uint(w, "bytes_out", k->bytes_out);
			jw_uint(w, "packets_in", k->packets_in);
			jw_uint(w, "packets_out", k->packets_out);
			jw_double(w, "bps_in", (double)k->bytes_in * 8000.0 / (double)I);
			jw_double(w, "bps_out", (double)k->bytes_out * 8000.0 / (double)I);
			jw_obj_close(w);
		}
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

int vmstats_json_vm(struct vmstats *vs, struct jw *w, const char *key, const char *id,
		    const struct zones *zones, uint64_t now_ms, uint64_t rate_window_ms)
{
	struct vm_entry *e;
	char pb[8], ab[VT_ADDRSTRLEN], ub[VT_UUIDSTRLEN];

	pthread_mutex_lock(&vs->mu);
	e = vm_lookup(vs, id);
	if (!e) {
		pthread_mutex_unlock(&vs->mu);
		return -ENOENT;
	}
	jw_obj_open(w, key);
	vm_summary_json(vs, w, e, zones, now_ms, rate_window_ms);
	series_json(vs, w, e);

	const struct port_ent **pv = sorted(&e->ports, cmp_port);
	jw_arr_open(w, "l4");
	for (size_t i = 0; pv && i < e->ports.n; i++) {
		jw_obj_open(w, NULL);
		jw_str(w, "proto", proto_name(pv[i]->proto, pb, sizeof(pb)));
		jw_uint(w, "port", pv[i]->port);
		jw_cnt(w, "in", &pv[i]->in);
		jw_cnt(w, "out", &pv[i]->out);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	free(pv);
	jw_cnt(w, "l4_other_in", &e->ports_other_in);
	jw_cnt(w, "l4_other_out", &e->ports_other_out);

	const struct peer_ent **qv = sorted(&e->peers, cmp_peer);
	jw_arr_open(w, "peers");
	for (size_t i = 0; qv && i < e->peers.n; i++) {
		const struct peer_ent *p = qv[i];
		jw_obj_open(w, NULL);
		jw_str(w, "vm", p->is_vm ? p->name : "");
		jw_str(w, "uuid", p->is_vm && !uuid_is_nil(p->uuid) ? uuid_fmt(p->uuid, ub, sizeof(ub)) : "");
		jw_str(w, "addr", addr_fmt(&p->addr, ab, sizeof(ab)));
		jw_str(w, "locality", loc_names[p->locality < 3 ? p->locality : 0]);
		jw_cnt(w, "in", &p->in);
		jw_cnt(w, "out", &p->out);
		jw_uint(w, "last_ms", p->last_ms);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	free(qv);
	jw_cnt(w, "peers_other_in", &e->peers_other_in);
	jw_cnt(w, "peers_other_out", &e->peers_other_out);

	svc_list_json(w, "services_offered", &e->offered, true, false);
	svc_list_json(w, "services_consumed", &e->consumed, false, false);
	jw_uint(w, "services_other", e->services_other);
	jw_obj_close(w);
	pthread_mutex_unlock(&vs->mu);
	return 0;
}

void vmstats_json_totals(struct vmstats *vs, struct jw *w, const char *key)
{
	struct vmstats_totals t;
	static const char *const by_names[4] = { "none", "syn", "connection", "port" };

	vmstats_totals(vs, &t);
	jw_obj_open(w, key);
	jw_uint(w, "rows", t.rows);
	jw_uint(w, "flows", t.flows);
	jw_uint(w, "bytes", t.bytes);
	jw_uint(w, "packets", t.packets);
	jw_obj_open(w, "locality");
	for (int l = 0; l < 3; l++) {
		jw_obj_open(w, loc_names[l]);
		jw_uint(w, "flows", t.loc_flows[l]);
		jw_uint(w, "bytes", t.loc_bytes[l]);
		jw_uint(w, "packets", t.loc_packets[l]);
		jw_obj_close(w);
	}
	jw_obj_close(w);
	jw_obj_open(w, "duplicates");
	jw_uint(w, "flows", t.dup_flows);
	jw_uint(w, "bytes", t.dup_bytes);
	jw_uint(w, "packets", t.dup_packets);
	jw_obj_close(w);
	jw_uint(w, "vm_flows", t.vm_flows);
	jw_uint(w, "vms", t.vms);
	jw_uint(w, "vms_untracked", t.vms_untracked);
	jw_uint(w, "ports_other", t.ports_other);
	jw_uint(w, "peers_other", t.peers_other);
	jw_uint(w, "services_other", t.services_other);
	jw_uint(w, "series_late", t.series_late);
	jw_uint(w, "clock_skew", t.clock_skew);
	jw_obj_open(w, "server_side_by");
	for (int i = 0; i < 4; i++)
		jw_uint(w, by_names[i], t.roles[i]);
	jw_obj_close(w);
	jw_uint(w, "connections_remembered", t.role_entries);
	jw_uint(w, "connections_evicted", t.role_evicted);
	jw_obj_close(w);
}

int vmstats_metrics(struct vmstats *vs, struct prom *p)
{
	struct vmstats_totals t;
	char ub[VT_UUIDSTRLEN];
	static const struct {
		const char *name, *help;
	} fam[] = {
		{ "vtap_vm_bytes_total", "Bytes a VM sent (out) and received (in), counted once." },
		{ "vtap_vm_packets_total", "Packets a VM sent and received, counted once." },
		{ "vtap_vm_flows_total", "Flow records a VM sent and received, counted once." },
	};

	vmstats_totals(vs, &t);
	prom_family(p, "vtap_flows_counted_total", PROM_COUNTER,
		    "Flow records counted (primary observations), by locality.");
	for (int l = 0; l < 3; l++)
		prom_u64(p, t.loc_flows[l], "locality", loc_names[l], NULL);
	prom_family(p, "vtap_bytes_counted_total", PROM_COUNTER,
		    "Bytes of the flows counted, by locality.");
	for (int l = 0; l < 3; l++)
		prom_u64(p, t.loc_bytes[l], "locality", loc_names[l], NULL);
	prom_family(p, "vtap_flows_duplicate_total", PROM_COUNTER,
		    "Flow records not counted again: a second observation of a counted flow.");
	prom_u64(p, t.dup_flows, NULL);
	prom_family(p, "vtap_vms", PROM_GAUGE, "VMs with statistics.");
	prom_u64(p, t.vms, NULL);
	prom_family(p, "vtap_vm_untracked_total", PROM_COUNTER,
		    "VM sides of flows not tracked because max_vms was reached.");
	prom_u64(p, t.vms_untracked, NULL);

	pthread_mutex_lock(&vs->mu);
	for (size_t f = 0; f < ARRAY_SIZE(fam); f++) {
		prom_family(p, fam[f].name, PROM_COUNTER, fam[f].help);
		for (size_t i = 0; i < vs->vms.n; i++) {
			const struct vm_entry *e = smap_at(&vs->vms, i);
			const char *u = uuid_is_nil(e->uuid) ? "" : uuid_fmt(e->uuid, ub, sizeof(ub));
			uint64_t vin = f == 0 ? e->in.bytes : f == 1 ? e->in.packets : e->in.flows;
			uint64_t vout = f == 0 ? e->out.bytes : f == 1 ? e->out.packets : e->out.flows;
			prom_u64(p, vin, "vm", e->name, "uuid", u, "direction", "in", NULL);
			prom_u64(p, vout, "vm", e->name, "uuid", u, "direction", "out", NULL);
		}
	}
	pthread_mutex_unlock(&vs->mu);
	return p->err;
}
