/* api_exporters.c — the exporter views of the collector's API:
 * /api/v1/exporters, /api/v1/exporters/{addr} and /metrics. Each decoder
 * is single-threaded, so its statistics are gathered by its own thread
 * (ingest_each, tcp_ingest_each) into a shared, locked collection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/api.h"
#include "collector/api_int.h"
#include "collector/collector.h"
#include "collector/ingest.h"
#include "collector/sink.h"
#include "collector/vmstats.h"
#include "core/compiler.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "http/prom.h"
#include "store/store.h"

/* ---- exporters ----------------------------------------------------------- */

#define MAX_EXPORTERS_LISTED 2000000

struct exp_row {
	struct fd_exporter_stats st;
	unsigned worker;
};

struct exp_collect {
	pthread_mutex_t mu;
	struct exp_row *v;
	size_t n, cap;
	bool full;
	unsigned worker;
	/* detail: one exporter (a copy: a worker that timed out may still read
	 * it after the caller's frame is gone) */
	bool has_only;
	struct vt_addr only;
	struct flowdec_tmpl_info tmpl[256];
	size_t ntmpl;
};

static void exp_cb(void *arg, const struct fd_exporter_stats *st)
{
	struct exp_collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct exp_row *v;
		if (cap > MAX_EXPORTERS_LISTED || !(v = realloc(c->v, cap * sizeof(*v)))) {
			c->full = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].st = *st;
	c->v[c->n].worker = c->worker;
	c->n++;
}

static void exp_each(unsigned worker, struct flowdec *fd, void *arg)
{
	struct exp_collect *c = arg;

	pthread_mutex_lock(&c->mu);
	c->worker = worker;
	if (c->has_only) {
		struct fd_exporter_stats st;
		if (flowdec_exporter_stats(fd, &c->only, &st) == 0) {
			exp_cb(c, &st);
			c->ntmpl = flowdec_exporter_templates(fd, &c->only, c->tmpl, ARRAY_SIZE(c->tmpl));
			if (c->ntmpl > ARRAY_SIZE(c->tmpl))
				c->ntmpl = ARRAY_SIZE(c->tmpl);
		}
	} else {
		flowdec_foreach_exporter(fd, exp_cb, c);
	}
	pthread_mutex_unlock(&c->mu);
}

static int cmp_exp(const void *a, const void *b)
{
	const struct exp_row *x = a, *y = b;

	if (x->st.last_seen_ms != y->st.last_seen_ms)
		return x->st.last_seen_ms > y->st.last_seen_ms ? -1 : 1;
	return addr_cmp(&x->st.addr, &y->st.addr);
}

/* Gathers every ingest thread's exporters (heap state owned by the caller:
 * a worker that times out may still write into it, so it is freed only
 * when every call returned). */
static int exp_gather(struct api *a, struct exp_collect *c)
{
	int r = 0;

	if (a->x->ig)
		r = ingest_each(a->x->ig, exp_each, c, CALL_TIMEOUT_MS);
	if (r == 0 && a->x->tcp)
		r = tcp_ingest_each(a->x->tcp, a->x->ig ? ingest_workers(a->x->ig) : 0, exp_each, c,
				    CALL_TIMEOUT_MS);
	pthread_mutex_lock(&c->mu);
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_exp);
	pthread_mutex_unlock(&c->mu);
	return r;
}

static const char *worker_name(struct api *a, unsigned w, char *buf, size_t len)
{
	unsigned nw = a->x->ig ? ingest_workers(a->x->ig) : 0;

	if (w >= nw)
		snprintf(buf, len, "tcp");
	else
		snprintf(buf, len, "udp-%u", w);
	return buf;
}

static void exp_json(struct api *a, struct jw *w, const struct exp_row *e)
{
	const struct fd_exporter_stats *s = &e->st;
	char ab[VT_ADDRSTRLEN], wb[16];

	jw_str(w, "address", addr_fmt(&s->addr, ab, sizeof(ab)));
	jw_str(w, "worker", worker_name(a, e->worker, wb, sizeof(wb)));
	jw_uint(w, "first_seen_ms", s->first_seen_ms);
	jw_uint(w, "last_seen_ms", s->last_seen_ms);
	jw_uint(w, "packets", s->packets);
	jw_uint(w, "bytes", s->bytes);
	jw_obj_open(w, "packets_by_version");
	jw_uint(w, "netflow5", s->packets_v5);
	jw_uint(w, "netflow9", s->packets_v9);
	jw_uint(w, "ipfix", s->packets_ipfix);
	jw_uint(w, "sflow5", s->packets_sflow);
	jw_obj_close(w);
	jw_uint(w, "records", s->records);
	jw_uint(w, "options_records", s->options_records);
	jw_uint(w, "errors", s->errors);
	jw_obj_open(w, "errors_by_reason");
	for (int k = 0; k < FD_ERR__COUNT; k++)
		if (s->error[k])
			jw_uint(w, flowdec_err_name((enum fd_err)k), s->error[k]);
	jw_obj_close(w);
	jw_uint(w, "held_sets", s->held_sets);
	jw_uint(w, "late_sets", s->late_sets);
	jw_uint(w, "no_template_sets", s->no_template_sets);
	jw_uint(w, "sequence_gaps", s->seq_gaps);
	jw_uint(w, "sequence_lost", s->seq_lost);
	jw_uint(w, "sequence_resets", s->seq_resets);
	jw_uint(w, "sequence_quirks", s->seq_quirks);
	jw_uint(w, "templates", s->templates);
	jw_uint(w, "templates_defined", s->templates_defined);
	jw_uint(w, "templates_withdrawn", s->templates_withdrawn);
	jw_uint(w, "templates_evicted", s->templates_evicted);
	jw_uint(w, "sampling", s->sampling);
	jw_uint(w, "sflow_flow_samples", s->sflow_flow_samples);
	jw_uint(w, "sflow_counter_samples", s->sflow_counter_samples);
}

static struct exp_collect *exp_collect_new(void)
{
	struct exp_collect *c = calloc(1, sizeof(*c));

	if (c)
		pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void exp_collect_free(struct exp_collect *c, int r)
{
	/* after a timeout a worker may still write into it: leak on purpose */
	if (!c || r == -ETIMEDOUT)
		return;
	free(c->v);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* gathered() : every exporter's statistics (only <only>'s when not NULL),
 * or NULL with the job
 * answered (500 / 503). */
static struct exp_collect *gathered(struct api *a, struct job *j, const struct vt_addr *only)
{
	struct exp_collect *c = exp_collect_new();
	int r;

	if (!c) {
		http_defer_error(j->d, 500, "out of memory", NULL);
		return NULL;
	}
	if (only) {
		c->has_only = true;
		c->only = *only;
	}
	r = exp_gather(a, c);
	if (r < 0) {
		http_defer_error(j->d, 503, "ingest threads busy", "%s", strerror(-r));
		exp_collect_free(c, r);
		return NULL;
	}
	return c;
}

static void j_exporters(struct api *a, struct job *j)
{
	struct exp_collect *c = gathered(a, j, NULL);
	struct vbuf b;
	struct jw w;

	if (!c)
		return;
	vbuf_init(&b, API_BODY_MAX);
	jw_init(&w, &b, j->pretty);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "now_ms", wall_ms());
	jw_uint(&w, "exporters", c->n);
	jw_bool(&w, "truncated", c->full);
	jw_arr_open(&w, "list");
	for (size_t i = 0; i < c->n && (!j->limit || i < j->limit); i++) {
		jw_obj_open(&w, NULL);
		exp_json(a, &w, &c->v[i]);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	exp_collect_free(c, 0);
	api_respond_vbuf(j, 200, JSON_CT, &b);
}

void api_h_exporters(struct http_req *req, void *arg)
{
	struct job *j = api_job_new(j_exporters, req);

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

static void j_exporter(struct api *a, struct job *j)
{
	struct exp_collect *c;
	struct vt_addr addr;
	struct vbuf b;
	struct jw w;

	addr_parse(j->id, &addr);
	c = gathered(a, j, &addr);
	if (!c)
		return;
	if (!c->n) {
		http_defer_error(j->d, 404, "unknown exporter", "no exporter %s", j->id);
		exp_collect_free(c, 0);
		return;
	}
	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, j->pretty);
	jw_obj_open(&w, NULL);
	/* the same address over UDP and TCP: two decoders, two entries */
	jw_arr_open(&w, "sessions");
	for (size_t i = 0; i < c->n; i++) {
		jw_obj_open(&w, NULL);
		exp_json(a, &w, &c->v[i]);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_arr_open(&w, "templates");
	for (size_t i = 0; i < c->ntmpl; i++) {
		jw_obj_open(&w, NULL);
		jw_uint(&w, "version", c->tmpl[i].version);
		jw_uint(&w, "domain", c->tmpl[i].domain);
		jw_uint(&w, "id", c->tmpl[i].id);
		jw_bool(&w, "options", c->tmpl[i].options);
		jw_uint(&w, "fields", c->tmpl[i].nfields);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	exp_collect_free(c, 0);
	api_respond_vbuf(j, 200, JSON_CT, &b);
}

void api_h_exporter(struct http_req *req, void *arg)
{
	const char *id = http_req_param(req, "addr");
	struct vt_addr addr;
	struct job *j;

	if (!id || addr_parse(id, &addr) < 0) {
		http_respond_error(req, 400, "bad parameter", "'%s' is not an IP address", id ? id : "");
		return;
	}
	j = api_job_new(j_exporter, req);
	if (!j) {
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	snprintf(j->id, sizeof(j->id), "%s", id);
	api_submit(arg, req, j);
}

/* ---- /metrics ------------------------------------------------------------ */

static void metrics_ingest(struct api *a, struct prom *p)
{
	struct api_ctx *x = a->x;
	unsigned nw = x->ig ? ingest_workers(x->ig) : 0;
	struct ingest_worker_stats st[INGEST_MAX_WORKERS];
	char wb[16];
	static const struct {
		const char *name, *help;
		int kind;
	} fam[] = {
		{ "vtap_ingest_datagrams_total", "Datagrams received by a UDP worker.", 0 },
		{ "vtap_ingest_bytes_total", "Bytes of the datagrams received.", 1 },
		{ "vtap_ingest_records_total", "Flow records decoded.", 2 },
		{ "vtap_ingest_rejected_total", "Datagrams the decoder refused whole.", 3 },
		{ "vtap_ingest_kernel_drops_total",
		  "Receives the kernel dropped on a worker's sockets (receive buffer full): a "
		  "datagram, or with udp_gro a merged run of them.", 4 },
		{ "vtap_ingest_truncated_total",
		  "Receives cut short: larger than the receive buffer, or their UDP_GRO size lost.",
		  5 },
		{ "vtap_ingest_rows_dropped_total", "Rows dropped because the writer queue stayed full.", 6 },
	};

	for (unsigned i = 0; i < nw; i++)
		ingest_worker_stats(x->ig, i, &st[i]);
	for (size_t f = 0; f < ARRAY_SIZE(fam); f++) {
		prom_family(p, fam[f].name, PROM_COUNTER, fam[f].help);
		for (unsigned i = 0; i < nw; i++) {
			const uint64_t v[] = { st[i].path.datagrams, st[i].path.bytes, st[i].path.records,
					       st[i].path.rejected, st[i].kernel_drops, st[i].truncated,
					       st[i].path.rows_dropped };
			snprintf(wb, sizeof(wb), "udp-%u", i);
			prom_u64(p, v[fam[f].kind], "worker", wb, NULL);
		}
	}
	if (x->tcp) {
		struct tcp_ingest_stats ts;
		tcp_ingest_get_stats(x->tcp, &ts);
		prom_family(p, "vtap_tcp_connections", PROM_GAUGE, "IPFIX-over-TCP connections open.");
		prom_u64(p, ts.active, NULL);
		prom_family(p, "vtap_tcp_accepted_total", PROM_COUNTER, "IPFIX-over-TCP connections accepted.");
		prom_u64(p, ts.accepted, NULL);
		prom_family(p, "vtap_tcp_messages_total", PROM_COUNTER, "IPFIX messages received over TCP.");
		prom_u64(p, ts.path.datagrams, NULL);
		prom_family(p, "vtap_tcp_records_total", PROM_COUNTER, "Flow records decoded from TCP.");
		prom_u64(p, ts.path.records, NULL);
		prom_family(p, "vtap_tcp_desync_total", PROM_COUNTER,
			    "TCP streams closed because their IPFIX framing was lost.");
		prom_u64(p, ts.desync, NULL);
	}
}


/* Per exporter and decode path: an exporter that sends over UDP and TCP
 * has a session in each, so the worker is part of the series' labels. */
static void metrics_exporters(struct api *a, struct prom *p, struct exp_collect *c)
{
	uint64_t max = a->x->conf->main.metrics_exporters;
	size_t n = c->n < max ? c->n : (size_t)max;
	char ab[VT_ADDRSTRLEN], wb[16];
	static const char *const names[] = {
		"vtap_exporter_packets_total", "vtap_exporter_records_total",
		"vtap_exporter_sequence_gaps_total", "vtap_exporter_sequence_lost_total",
		"vtap_exporter_no_template_sets_total",
	};
	static const char *const helps[] = {
		"Export packets (datagrams, TCP messages) from an exporter.",
		"Flow records decoded from an exporter.",
		"Times an exporter's sequence number jumped forward.",
		"Records (v9: packets) the sequence numbers say were lost.",
		"Data sets whose template never came.",
	};

	prom_family(p, "vtap_exporters", PROM_GAUGE, "Exporter sessions tracked by the decoders.");
	prom_u64(p, c->n, NULL);
	for (size_t f = 0; f < ARRAY_SIZE(names); f++) {
		prom_family(p, names[f], PROM_COUNTER, helps[f]);
		for (size_t i = 0; i < n; i++) {
			const struct fd_exporter_stats *s = &c->v[i].st;
			const uint64_t v[] = { s->packets, s->records, s->seq_gaps, s->seq_lost,
					       s->no_template_sets };
			prom_u64(p, v[f], "exporter", addr_fmt(&s->addr, ab, sizeof(ab)), "worker",
				 worker_name(a, c->v[i].worker, wb, sizeof(wb)), NULL);
		}
	}
	prom_family(p, "vtap_exporter_errors_total", PROM_COUNTER,
		    "Decode errors of an exporter, by reason.");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < FD_ERR__COUNT; k++)
			if (c->v[i].st.error[k])
				prom_u64(p, c->v[i].st.error[k], "exporter",
					 addr_fmt(&c->v[i].st.addr, ab, sizeof(ab)), "worker",
					 worker_name(a, c->v[i].worker, wb, sizeof(wb)), "reason",
					 flowdec_err_name((enum fd_err)k), NULL);
	prom_family(p, "vtap_exporter_templates", PROM_GAUGE, "Templates held for an exporter.");
	for (size_t i = 0; i < n; i++)
		prom_u64(p, c->v[i].st.templates, "exporter",
			 addr_fmt(&c->v[i].st.addr, ab, sizeof(ab)), "worker",
			 worker_name(a, c->v[i].worker, wb, sizeof(wb)), NULL);
}

static void j_metrics(struct api *a, struct job *j)
{
	struct api_ctx *x = a->x;
	struct exp_collect *c = gathered(a, j, NULL);
	struct sink_stats ks;
	struct store_stats ss;
	struct vbuf b;
	struct prom p;
	int r;

	if (!c)
		return;
	vbuf_init(&b, API_BODY_MAX);
	prom_init(&p, &b);
	prom_family(&p, "vtap_collector_uptime_seconds", PROM_GAUGE, "Seconds since the collector started.");
	prom_u64(&p, (wall_ms() - x->started_ms) / 1000, NULL);
	metrics_ingest(a, &p);
	sink_get_stats(x->sink, &ks);
	prom_family(&p, "vtap_writer_queue_batches", PROM_GAUGE, "Row batches waiting for the writer.");
	prom_u64(&p, ks.queued, NULL);
	prom_family(&p, "vtap_writer_rows_total", PROM_COUNTER, "Rows the writer appended to the store.");
	prom_u64(&p, ks.rows_written, NULL);
	prom_family(&p, "vtap_writer_rows_dropped_total", PROM_COUNTER,
		    "Rows dropped: the writer queue stayed full past queue_wait.");
	prom_u64(&p, ks.rows_dropped, NULL);
	prom_family(&p, "vtap_writer_rows_lost_total", PROM_COUNTER, "Rows the store refused (append errors).");
	prom_u64(&p, ks.rows_lost, NULL);
	store_stats(x->store, &ss);
	prom_family(&p, "vtap_store_rows_flushed_total", PROM_COUNTER, "Rows written to segment files.");
	prom_u64(&p, ss.rows_flushed, NULL);
	prom_family(&p, "vtap_store_rows_pending", PROM_GAUGE, "Rows buffered for the next flush.");
	prom_u64(&p, ss.rows_pending, NULL);
	prom_family(&p, "vtap_store_bytes", PROM_GAUGE, "Bytes of segment files on disk.");
	prom_u64(&p, ss.bytes_on_disk, NULL);
	prom_family(&p, "vtap_store_flush_errors_total", PROM_COUNTER, "Flushes that failed.");
	prom_u64(&p, ss.flush_errors, NULL);
	metrics_exporters(a, &p, c);
	exp_collect_free(c, 0);
	vmstats_metrics(x->vs, &p);
	http_server_metrics(a->srv, &p);
	r = prom_finish(&p);
	if (r < 0) {
		vbuf_free(&b);
		http_defer_error(j->d, 500, "metrics", "%s", strerror(-r));
		return;
	}
	http_defer_respond(j->d, 200, PROM_CONTENT_TYPE, b.data, b.len);
	vbuf_free(&b);
}

void api_h_metrics(struct http_req *req, void *arg)
{
	struct job *j = api_job_new(j_metrics, req);

	if (!j) {
		http_respond_error(req, 500, "out of memory", NULL);
		return;
	}
	api_submit(arg, req, j);
}

