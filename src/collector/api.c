/* api.c — the collector's HTTP API (api.h).
 *
 * Routing and parameter validation happen on the loop thread; anything
 * that may take time (a store query, walking every VM, asking each ingest
 * thread for its decoder's statistics) is a job for the pool: a bounded
 * queue (a full one answers 503) and a few threads that answer through
 * http_defer. Every error is {"error": ..., "detail": ...} naming the bad
 * parameter. */
#include "collector/api.h"
#include "collector/api_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/enrich.h"
#include "collector/ingest.h"
#include "collector/sink.h"
#include "collector/vmstats.h"
#include "core/compiler.h"
#include "core/json.h"
#include "core/log.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "http/prom.h"
#include "query/filter.h"
#include "query/qout.h"
#include "query/query.h"
#include "store/store.h"

/* ---- jobs ---------------------------------------------------------------- */

void api_ctx_init(struct api_ctx *x)
{
	pthread_mutex_init(&x->mu, NULL);
}

void api_ctx_destroy(struct api_ctx *x)
{
	pthread_mutex_destroy(&x->mu);
}

void api_inventory_status(struct api_ctx *x, const char *error, size_t vms)
{
	pthread_mutex_lock(&x->mu);
	x->inv_loads++;
	if (error) {
		x->inv_errors++;
		snprintf(x->inv_error, sizeof(x->inv_error), "%s", error);
	} else {
		x->inv_error[0] = '\0';
		x->inv_vms = vms;
		x->inv_loaded_ms = wall_ms();
	}
	pthread_mutex_unlock(&x->mu);
}

void api_job_free(struct job *j)
{
	filter_free(j->filter);
	free(j);
}

static void *job_main(void *arg)
{
	struct api *a = arg;

	pthread_setname_np(pthread_self(), "vtap-api");
	for (;;) {
		struct job *j;
		pthread_mutex_lock(&a->mu);
		while (!a->head && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		j = a->head;
		if (!j) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		a->head = j->next;
		if (!a->head)
			a->tail = NULL;
		a->queued--;
		a->jobs_run++;
		pthread_mutex_unlock(&a->mu);
		j->fn(a, j);
		api_job_free(j);
	}
}

/* Queues <j> (owned afterwards) answering <req> later; answers 503 itself
 * when the queue is full. */
void api_submit(struct api *a, struct http_req *req, struct job *j)
{
	pthread_mutex_lock(&a->mu);
	if (a->queued >= API_QUEUE || a->stop) {
		a->jobs_refused++;
		pthread_mutex_unlock(&a->mu);
		api_job_free(j);
		http_set_header(req, "Retry-After", "1");
		http_respond_error(req, 503, "busy", "%d requests are waiting; retry later", API_QUEUE);
		return;
	}
	pthread_mutex_unlock(&a->mu);
	j->d = http_defer(req);
	if (!j->d) {
		api_job_free(j);
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	pthread_mutex_lock(&a->mu);
	j->next = NULL;
	if (a->tail)
		a->tail->next = j;
	else
		a->head = j;
	a->tail = j;
	a->queued++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

struct job *api_job_new(job_fn fn, struct http_req *req)
{
	struct job *j = calloc(1, sizeof(*j));
	const char *p = http_req_query(req, "pretty");

	if (!j)
		return NULL;
	j->fn = fn;
	j->pretty = p && strcmp(p, "0") && strcmp(p, "false");
	return j;
}

void api_respond_vbuf(struct job *j, int status, const char *ct, struct vbuf *b)
{
	if (b->len >= b->max)
		http_defer_error(j->d, 500, "response too large", "more than %u bytes", API_BODY_MAX);
	else
		http_defer_respond(j->d, status, ct, b->data, b->len);
	j->d = NULL;
	vbuf_free(b);
}

/* ---- parameters ---------------------------------------------------------- */

int api_param_u64(struct http_req *req, const char *key, uint64_t min, uint64_t max,
		     uint64_t def, uint64_t *out)
{
	const char *v = http_req_query(req, key);

	*out = def;
	if (!v)
		return 0;
	if (parse_u64(v, min, max, out) < 0) {
		http_respond_error(req, 400, "bad parameter", "%s: '%s' is not a number in %" PRIu64
				   "..%" PRIu64, key, v, min, max);
		return -EINVAL;
	}
	return 0;
}

static int param_duration(struct http_req *req, const char *key, uint64_t def, uint64_t *out)
{
	const char *v = http_req_query(req, key);

	*out = def;
	if (!v)
		return 0;
	if (parse_duration_ms(v, out) < 0 || *out == 0) {
		http_respond_error(req, 400, "bad parameter",
				   "%s: '%s' is not a duration (e.g. 60s, 5m, 1h)", key, v);
		return -EINVAL;
	}
	return 0;
}

/* ---- /api/v1/status ------------------------------------------------------ */

static void status_json(struct api *a, struct jw *w)
{
	struct api_ctx *x = a->x;
	struct sink_stats ks;
	struct store_stats ss;
	char ab[64];
	uint64_t now = wall_ms();

	jw_str(w, "version", VTAP_VERSION);
	jw_uint(w, "pid", (uint64_t)getpid());
	jw_uint(w, "started_ms", x->started_ms);
	jw_uint(w, "uptime_ms", now - x->started_ms);
	jw_obj_open(w, "listen");
	jw_arr_open(w, "udp");
	for (size_t i = 0; x->ig && i < ingest_nlisten(x->ig); i++)
		jw_str(w, NULL, ingest_listen_addr(x->ig, i, ab, sizeof(ab)));
	jw_arr_close(w);
	jw_arr_open(w, "tcp");
	for (size_t i = 0; x->tcp && i < tcp_ingest_nlisten(x->tcp); i++)
		jw_str(w, NULL, tcp_ingest_listen_addr(x->tcp, i, ab, sizeof(ab)));
	jw_arr_close(w);
	jw_str(w, "api", api_addr(a, 0));
	jw_obj_close(w);

	jw_obj_open(w, "ingest");
	struct ingest_worker_stats tot;
	memset(&tot, 0, sizeof(tot));
	jw_arr_open(w, "workers");
	for (unsigned i = 0; x->ig && i < ingest_workers(x->ig); i++) {
		struct ingest_worker_stats st;
		ingest_worker_stats(x->ig, i, &st);
		jw_obj_open(w, NULL);
		jw_uint(w, "worker", i);
		jw_uint(w, "datagrams", st.path.datagrams);
		jw_uint(w, "bytes", st.path.bytes);
		jw_uint(w, "records", st.path.records);
		jw_uint(w, "rejected", st.path.rejected);
		jw_uint(w, "truncated", st.truncated);
		jw_uint(w, "kernel_drops", st.kernel_drops);
		jw_uint(w, "rows_dropped", st.path.rows_dropped);
		jw_uint(w, "templates_loaded", st.path.templates_loaded);
		jw_uint(w, "template_saves", st.path.template_saves);
		jw_uint(w, "template_save_errors", st.path.template_save_errors);
		jw_uint(w, "wakeups", st.wakeups);
		jw_uint(w, "recv_calls", st.recv_calls);
		jw_uint(w, "gro_receives", st.gro_msgs);
		jw_uint(w, "coalesce_waits", st.coalesced);
		jw_uint(w, "spin_waits", st.spins);
		jw_uint(w, "shared_windows", st.shared);
		jw_uint(w, "busy_on", st.busy_on);
		jw_bool(w, "busy", st.busy);
		jw_obj_close(w);
		tot.path.datagrams += st.path.datagrams;
		tot.path.bytes += st.path.bytes;
		tot.path.records += st.path.records;
		tot.path.rejected += st.path.rejected;
		tot.path.rows_dropped += st.path.rows_dropped;
		tot.truncated += st.truncated;
		tot.kernel_drops += st.kernel_drops;
	}
	jw_arr_close(w);
	jw_uint(w, "receive_buffer", x->ig ? ingest_rcvbuf(x->ig) / 2 : 0);
	jw_uint(w, "datagrams", tot.path.datagrams);
	jw_uint(w, "bytes", tot.path.bytes);
	jw_uint(w, "records", tot.path.records);
	jw_uint(w, "rejected", tot.path.rejected);
	jw_uint(w, "truncated", tot.truncated);
	jw_uint(w, "kernel_drops", tot.kernel_drops);
	jw_uint(w, "rows_dropped", tot.path.rows_dropped);
	if (x->tcp) {
		struct tcp_ingest_stats ts;
		tcp_ingest_get_stats(x->tcp, &ts);
		jw_obj_open(w, "tcp");
		jw_uint(w, "accepted", ts.accepted);
		jw_uint(w, "active", ts.active);
		jw_uint(w, "refused", ts.refused);
		jw_uint(w, "closed_peer", ts.closed_peer);
		jw_uint(w, "closed_idle", ts.closed_idle);
		jw_uint(w, "closed_error", ts.closed_error);
		jw_uint(w, "desync", ts.desync);
		jw_uint(w, "bytes", ts.bytes);
		jw_uint(w, "messages", ts.path.datagrams);
		jw_uint(w, "records", ts.path.records);
		jw_uint(w, "rejected", ts.path.rejected);
		jw_uint(w, "rows_dropped", ts.path.rows_dropped);
		jw_uint(w, "templates_loaded", ts.path.templates_loaded);
		jw_obj_close(w);
	}
	jw_obj_close(w);

	sink_get_stats(x->sink, &ks);
	jw_obj_open(w, "writer");
	jw_uint(w, "queued", ks.queued);
	jw_uint(w, "queue_peak", ks.queue_peak);
	jw_uint(w, "rows_in", ks.rows_in);
	jw_uint(w, "batches_in", ks.batches_in);
	jw_uint(w, "batches_inline", ks.batches_inline);
	jw_uint(w, "batches_deferred", ks.batches_deferred);
	jw_uint(w, "batches_reclaimed", ks.batches_reclaimed);
	jw_uint(w, "writer_yields", ks.writer_yields);
	jw_uint(w, "rows_written", ks.rows_written);
	jw_uint(w, "rows_dropped", ks.rows_dropped);
	jw_uint(w, "rows_lost", ks.rows_lost);
	jw_uint(w, "waits", ks.waits);
	jw_uint(w, "held", ks.held);
	jw_uint(w, "held_now", ks.held_now);
	jw_uint(w, "hold_overflow", ks.hold_overflow);
	jw_uint(w, "metered_vms", ks.metered_vms);
	jw_uint(w, "metered_hosts", ks.metered_hosts);
	jw_obj_close(w);

	store_stats(x->store, &ss);
	jw_obj_open(w, "store");
	jw_str(w, "dir", x->conf->store.dir);
	jw_uint(w, "rows_appended", ss.rows_appended);
	jw_uint(w, "rows_flushed", ss.rows_flushed);
	jw_uint(w, "rows_pending", ss.rows_pending);
	jw_uint(w, "rows_lost", ss.rows_lost);
	jw_uint(w, "flushes", ss.flushes);
	jw_uint(w, "flush_errors", ss.flush_errors);
	jw_uint(w, "append_waits", ss.append_waits);
	jw_uint(w, "blocks_handed", ss.blocks_handed);
	jw_uint(w, "blocks_written", ss.blocks_written);
	jw_uint(w, "blocks_busy", ss.blocks_busy);
	jw_uint(w, "busy_switches", ss.busy_switches);
	jw_uint(w, "last_flush_ms", ss.last_flush_ms);
	jw_uint(w, "rows", ss.rows);
	jw_uint(w, "bytes_on_disk", ss.bytes_on_disk);
	jw_uint(w, "partitions", ss.partitions);
	jw_uint(w, "oldest_ms", ss.oldest_ms);
	jw_uint(w, "newest_ms", ss.newest_ms);
	jw_obj_close(w);

	vmstats_json_totals(x->vs, w, "totals");

	pthread_mutex_lock(&x->mu);
	jw_obj_open(w, "inventory");
	jw_uint(w, "files", x->conf->inv.file.n);
	jw_uint(w, "vms", x->inv_vms);
	jw_uint(w, "loads", x->inv_loads);
	jw_uint(w, "errors", x->inv_errors);
	jw_uint(w, "loaded_ms", x->inv_loaded_ms);
	jw_str(w, "last_error", x->inv_error);
	jw_obj_close(w);
	pthread_mutex_unlock(&x->mu);
}

static void h_status(struct http_req *req, void *arg)
{
	struct api *a = arg;
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, http_req_query(req, "pretty") != NULL);
	jw_obj_open(&w, NULL);
	status_json(a, &w);
	jw_obj_close(&w);
	if (w.err)
		http_respond_error(req, 500, "response too large", NULL);
	else
		http_respond_json(req, 200, &b);
	vbuf_free(&b);
}

/* ---- /api/v1/flows ------------------------------------------------------- */

static void j_flows(struct api *a, struct job *j)
{
	struct query_result *res = NULL;
	struct vt_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	struct out o;
	int r;

	r = query_run(a->x->store, &j->q, &res, &err);
	if (r < 0) {
		http_defer_error(j->d, r == -E2BIG ? 422 : 500, "query failed", "%s", err.msg);
		return;
	}
	fp = open_memstream(&buf, &len);
	if (!fp) {
		query_result_free(res);
		http_defer_error(j->d, 500, "out of memory", NULL);
		return;
	}
	out_init(&o, fp, j->fmt, j->pretty);
	r = qout_print(&o, &j->q, res, j->fmt == OUT_FMT_TEXT);
	out_finish(&o);
	fclose(fp);
	query_result_free(res);
	if (r < 0)
		http_defer_error(j->d, 500, "out of memory", NULL);
	else
		http_defer_respond(j->d, 200,
				   j->fmt == OUT_FMT_JSON ? JSON_CT
				   : j->fmt == OUT_FMT_CSV ? "text/csv; charset=utf-8"
							   : "text/plain; charset=utf-8",
				   buf, len);
	free(buf);
}

static void h_flows(struct http_req *req, void *arg)
{
	struct api *a = arg;
	struct job *j = api_job_new(j_flows, req);
	struct vt_err err = { 0 };
	const char *v;
	uint64_t now = wall_ms(), u;

	if (!j) {
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	j->q.until_ms = UINT64_MAX;
	if ((v = http_req_query(req, "since")) && parse_time_ms(v, now, &j->q.since_ms) < 0) {
		http_respond_error(req, 400, "bad parameter",
				   "since: '%s' is not a time (e.g. 1h, 1700000000, 2026-11-21T10:00:00Z)", v);
		goto fail;
	}
	if ((v = http_req_query(req, "until")) && parse_time_ms(v, now, &j->q.until_ms) < 0) {
		http_respond_error(req, 400, "bad parameter",
				   "until: '%s' is not a time (e.g. 10m, 1700000000, 2026-11-21T10:00:00Z)", v);
		goto fail;
	}
	if (j->q.until_ms < j->q.since_ms) {
		http_respond_error(req, 400, "bad parameter", "until is before since");
		goto fail;
	}
	if ((v = http_req_query(req, "aggregate")) && v[0] &&
	    query_parse_keys(v, j->q.keys, &j->q.nkeys, &err) < 0) {
		http_respond_error(req, 400, "bad parameter", "aggregate: %s", err.msg);
		goto fail;
	}
	v = http_req_query(req, "sort");
	if (!v || !strcmp(v, "bytes"))
		j->q.sort = QS_BYTES;
	else if (!strcmp(v, "packets"))
		j->q.sort = QS_PACKETS;
	else if (!strcmp(v, "flows"))
		j->q.sort = QS_FLOWS;
	else {
		http_respond_error(req, 400, "bad parameter", "sort: '%s' is not bytes, packets or flows", v);
		goto fail;
	}
	if (api_param_u64(req, "limit", 0, UINT64_MAX, 100, &u) < 0)
		goto fail;
	j->q.limit = u;
	if (api_param_u64(req, "max_groups", 1, QUERY_DEFAULT_MAX_GROUPS, QUERY_DEFAULT_MAX_GROUPS, &u) < 0)
		goto fail;
	j->q.max_groups = u;
	/* a listing of everything is bounded like any other answer */
	j->q.max_rows = 1000000;
	v = http_req_query(req, "oldest");
	j->q.oldest_first = v && strcmp(v, "0") && strcmp(v, "false");
	v = http_req_query(req, "format");
	if (!v || !strcmp(v, "json"))
		j->fmt = OUT_FMT_JSON;
	else if (!strcmp(v, "csv"))
		j->fmt = OUT_FMT_CSV;
	else if (!strcmp(v, "text"))
		j->fmt = OUT_FMT_TEXT;
	else {
		http_respond_error(req, 400, "bad parameter", "format: '%s' is not json, csv or text", v);
		goto fail;
	}
	j->filter = filter_compile(http_req_query(req, "filter"), &err);
	if (!j->filter) {
		http_respond_error(req, 400, "bad filter", "%s", err.msg);
		goto fail;
	}
	/* once=1: the count-once view (docs/query.md), what /api/v1/vms counts */
	if (api_param_u64(req, "once", 0, 1, 0, &u) < 0)
		goto fail;
	if (u && filter_once(j->filter, &err) < 0) {
		http_respond_error(req, 400, "bad filter", "once: %s", err.msg);
		goto fail;
	}
	j->q.filter = j->filter;
	api_submit(a, req, j);
	return;
fail:
	api_job_free(j);
}

/* ---- VMs ----------------------------------------------------------------- */

static void j_vms(struct api *a, struct job *j)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, API_BODY_MAX);
	jw_init(&w, &b, j->pretty);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "now_ms", wall_ms());
	vmstats_json_totals(a->x->vs, &w, "totals");
	vmstats_json_list(a->x->vs, &w, "vms", a->x->zones, wall_ms(), j->window_ms,
			  (enum vms_sort)j->sort, j->limit);
	jw_obj_close(&w);
	api_respond_vbuf(j, 200, JSON_CT, &b);
}

static int vms_params(struct http_req *req, struct job *j)
{
	const char *v = http_req_query(req, "sort");

	if (!v || !strcmp(v, "bytes"))
		j->sort = VMS_SORT_BYTES;
	else if (!strcmp(v, "name"))
		j->sort = VMS_SORT_NAME;
	else {
		http_respond_error(req, 400, "bad parameter", "sort: '%s' is not bytes or name", v);
		return -EINVAL;
	}
	if (api_param_u64(req, "limit", 0, UINT64_MAX, 0, &j->limit) < 0 ||
	    param_duration(req, "window", 60000, &j->window_ms) < 0)
		return -EINVAL;
	return 0;
}

static void h_vms(struct http_req *req, void *arg)
{
	struct job *j = api_job_new(j_vms, req);

	if (!j) {
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	if (vms_params(req, j) < 0) {
		api_job_free(j);
		return;
	}
	api_submit(arg, req, j);
}

static void j_vm(struct api *a, struct job *j)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, API_BODY_MAX);
	jw_init(&w, &b, j->pretty);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "now_ms", wall_ms());
	if (vmstats_json_vm(a->x->vs, &w, "vm", j->id, a->x->zones, wall_ms(), j->window_ms) < 0) {
		vbuf_free(&b);
		http_defer_error(j->d, 404, "unknown VM", "no statistics for a VM named '%s'", j->id);
		j->d = NULL;
		return;
	}
	jw_obj_close(&w);
	api_respond_vbuf(j, 200, JSON_CT, &b);
}

static void h_vm(struct http_req *req, void *arg)
{
	struct job *j = api_job_new(j_vm, req);
	const char *id = http_req_param(req, "id");

	if (!j) {
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	if (!id || strlen(id) >= sizeof(j->id) || vms_params(req, j) < 0) {
		if (id && strlen(id) >= sizeof(j->id))
			http_respond_error(req, 400, "bad parameter", "VM name too long");
		api_job_free(j);
		return;
	}
	snprintf(j->id, sizeof(j->id), "%s", id);
	api_submit(arg, req, j);
}

/* ---- inventory ----------------------------------------------------------- */

static void j_inventory(struct api *a, struct job *j)
{
	struct enrich_snap *snap = enrich_get(a->x->en);
	const struct inventory *inv = enrich_snap_inventory(snap);
	char b[VT_UUIDSTRLEN > VT_ADDRSTRLEN ? VT_UUIDSTRLEN : VT_ADDRSTRLEN];
	struct vbuf out;
	struct jw w;

	vbuf_init(&out, API_BODY_MAX);
	jw_init(&w, &out, j->pretty);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "vms", inv_count(inv));
	jw_arr_open(&w, "list");
	for (size_t i = 0; i < inv_count(inv) && (!j->limit || i < j->limit); i++) {
		const struct inv_vm *vm = inv_vm_at(inv, i);
		jw_obj_open(&w, NULL);
		jw_str(&w, "name", vm->name);
		jw_str(&w, "uuid", uuid_is_nil(vm->uuid) ? "" : uuid_fmt(vm->uuid, b, sizeof(b)));
		jw_str(&w, "host", vm->host);
		jw_str(&w, "zone", vm->vm_zone ? zones_name(a->x->zones, vm->vm_zone) : "");
		jw_arr_open(&w, "macs");
		for (uint8_t k = 0; k < vm->nmac; k++)
			jw_str(&w, NULL, mac_fmt(vm->mac[k], b, sizeof(b)));
		jw_arr_close(&w);
		jw_arr_open(&w, "ips");
		for (uint8_t k = 0; k < vm->nip; k++)
			jw_str(&w, NULL, addr_fmt(&vm->ip[k], b, sizeof(b)));
		jw_arr_close(&w);
		jw_obj_open(&w, "attributes");
		for (uint8_t k = 0; k < vm->nattr; k++)
			jw_str(&w, vm->attr[k].key, vm->attr[k].val);
		jw_obj_close(&w);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	enrich_put(a->x->en, snap);
	api_respond_vbuf(j, 200, JSON_CT, &out);
}

static void h_inventory(struct http_req *req, void *arg)
{
	struct job *j = api_job_new(j_inventory, req);

	if (!j) {
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	if (api_param_u64(req, "limit", 0, UINT64_MAX, 0, &j->limit) < 0) {
		api_job_free(j);
		return;
	}
	api_submit(arg, req, j);
}

/* ---- zones --------------------------------------------------------------- */

static void h_zones(struct http_req *req, void *arg)
{
	struct api *a = arg;
	const struct collector_conf *c = a->x->conf;
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 1 << 22);
	jw_init(&w, &b, http_req_query(req, "pretty") != NULL);
	jw_obj_open(&w, NULL);
	jw_arr_open(&w, "zones");
	for (size_t i = 0; i < c->nzones; i++) {
		jw_obj_open(&w, NULL);
		jw_uint(&w, "index", i + 1);
		jw_str(&w, "name", c->zones[i].name);
		const struct conf_strlist *l[3] = { &c->zones[i].vm, &c->zones[i].attr, &c->zones[i].net };
		static const char *const keys[3] = { "vm", "attr", "net" };
		for (int k = 0; k < 3; k++) {
			jw_arr_open(&w, keys[k]);
			for (size_t m = 0; m < l[k]->n; m++)
				jw_str(&w, NULL, l[k]->v[m]);
			jw_arr_close(&w);
		}
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	http_respond_json(req, 200, &b);
	vbuf_free(&b);
}

/* ---- setup --------------------------------------------------------------- */

struct api *api_new(struct evloop *ev, const struct http_server_conf *conf, struct api_ctx *x,
		    struct vt_err *err)
{
	struct api *a = calloc(1, sizeof(*a));
	static const struct {
		const char *path;
		http_handler_fn fn;
	} routes[] = {
		{ "/api/v1/status", h_status },
		{ "/api/v1/flows", h_flows },
		{ "/api/v1/vms", h_vms },
		{ "/api/v1/vms/{id}", h_vm },
		{ "/api/v1/exporters", api_h_exporters },
		{ "/api/v1/exporters/{addr}", api_h_exporter },
		{ "/api/v1/zones", h_zones },
		{ "/api/v1/inventory", h_inventory },
		{ "/metrics", api_h_metrics },
	};

	if (!a) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	a->x = x;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->router = http_router_new();
	if (!a->router)
		goto oom;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (http_router_add(a->router, HTTP_GET, routes[i].path, routes[i].fn, a) < 0)
			goto oom;
	a->srv = http_server_new(ev, conf, a->router);
	if (!a->srv)
		goto oom;
	if (http_server_listen_conf(a->srv, err) < 0)
		goto fail;
	for (unsigned i = 0; i < API_THREADS; i++) {
		if (pthread_create(&a->th[i], NULL, job_main, a)) {
			vt_err_set(err, -EAGAIN, "cannot start the API threads");
			goto fail;
		}
		a->nth++;
	}
	return a;
oom:
	vt_err_set(err, -ENOMEM, "out of memory");
fail:
	api_free(a);
	return NULL;
}

const char *api_addr(const struct api *a, unsigned i)
{
	return a && a->srv ? http_server_addr(a->srv, i) : NULL;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	for (unsigned i = 0; i < a->nth; i++)
		pthread_join(a->th[i], NULL);
	/* jobs never started are answered by the server's cancel */
	for (struct job *j = a->head, *n; j; j = n) {
		n = j->next;
		http_defer_error(j->d, 503, "shutting down", NULL);
		api_job_free(j);
	}
	http_server_free(a->srv);
	http_router_free(a->router);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}
