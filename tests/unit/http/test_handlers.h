/* test_handlers.h — the handlers the lib/http server tests register: one
 * per behaviour under test (plain answers, JSON, echo, streams on the loop
 * thread, deferred answers and streams from worker threads, contract
 * violations, metrics, static files). Counters shared with the test thread
 * are atomics. */
#ifndef VT_TEST_HANDLERS_H
#define VT_TEST_HANDLERS_H

#include <pthread.h>

#include "http/prom.h"
#include "http_fixture.h"

#define LINE 64

static uint64_t g_rows_produced;     /* loop-thread stream rows */
static int g_stream_done_calls;
static int g_stream_done_err;
static uint64_t g_defer_rows;        /* worker stream rows */
static int g_defer_write_err;
static int g_workers;                /* worker threads running */
static int g_saw_cancel;
static int g_hdr_results[4];

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define ADD(x, v) __atomic_add_fetch(&(x), (v), __ATOMIC_SEQ_CST)

/* Line i of a test stream: "%08u:" then 55 letters, then '\n'. */
static void make_line(char *l, uint64_t i)
{
	snprintf(l, LINE + 1, "%08llu:", (unsigned long long)(i % 100000000));
	memset(l + 9, 'a' + (int)(i % 26), LINE - 10);
	l[LINE - 1] = '\n';
}

/* Checks a stream incrementally (client on_body). */
struct verifier {
	uint64_t bytes, lines, bad;
	char partial[LINE];
	size_t plen;
};

static int verify_piece(const void *p, size_t n, void *arg)
{
	struct verifier *v = arg;
	const char *s = p;
	char want[LINE + 1];

	v->bytes += n;
	while (n) {
		size_t k = VT_MIN(n, LINE - v->plen);
		memcpy(v->partial + v->plen, s, k);
		v->plen += k;
		s += k;
		n -= k;
		if (v->plen == LINE) {
			make_line(want, v->lines);
			if (memcmp(want, v->partial, LINE) != 0)
				v->bad++;
			v->lines++;
			v->plen = 0;
		}
	}
	return 0;
}

static bool verify_buf(const char *b, size_t n, uint64_t lines)
{
	struct verifier v = { 0 };

	verify_piece(b, n, &v);
	return v.bytes == lines * LINE && v.lines == lines && !v.bad && !v.plen;
}

static void h_hello(struct http_req *req, void *arg)
{
	(void)arg;
	http_respond(req, 200, "text/plain", "hello\n", 6);
}

static void h_vm(struct http_req *req, void *arg)
{
	struct vbuf b;
	struct jw w;

	(void)arg;
	vbuf_init(&b, 4096);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_str(&w, "id", http_req_param(req, "id"));
	jw_str(&w, "x", http_req_query(req, "x"));
	jw_str(&w, "route", http_req_route(req));
	jw_obj_close(&w);
	http_respond_json(req, 200, &b);
	vbuf_free(&b);
}

static void h_echo(struct http_req *req, void *arg)
{
	size_t n;
	const char *b = http_req_body(req, &n);
	const char *ct = http_req_header(req, "Content-Type");

	(void)arg;
	http_respond(req, 200, ct ? ct : "application/octet-stream", b, n);
}

static void h_json(struct http_req *req, void *arg)
{
	struct vt_err err = { 0 };
	struct json_val *v = http_req_json(req, 100, &err);
	char out[256];

	(void)arg;
	if (!v) {
		http_respond_error(req, err.code == -EPROTO ? 415 : 400, "invalid request body", "%s",
				   err.msg);
		return;
	}
	snprintf(out, sizeof(out), "{\"name\":\"%s\"}", json_get_str(v, "name") ? json_get_str(v, "name") : "");
	json_free(v);
	http_respond(req, 201, "application/json", out, strlen(out));
}

struct gen {
	uint64_t i, n;
};

static int gen_more(struct vbuf *out, void *arg)
{
	struct gen *g = arg;
	char l[LINE + 1];

	while (g->i < g->n && out->max - out->len >= LINE) {
		make_line(l, g->i++);
		if (vbuf_add(out, l, LINE) < 0)
			return -ENOSPC;
		ADD(g_rows_produced, 1);
	}
	return g->i < g->n ? HTTP_STREAM_MORE : HTTP_STREAM_DONE;
}

static void gen_done(void *arg, int err)
{
	free(arg);
	STORE(g_stream_done_err, err);
	ADD(g_stream_done_calls, 1);
}

static uint64_t q_u64(struct http_req *req, const char *k, uint64_t def)
{
	uint64_t v;
	const char *s = http_req_query(req, k);

	return s && parse_u64(s, 0, UINT64_MAX, &v) == 0 ? v : def;
}

/* /stream?n=N (chunked) and /fixed?n=N (Content-Length) */
static void h_stream(struct http_req *req, void *arg)
{
	struct gen *g = calloc(1, sizeof(*g));

	g->n = q_u64(req, "n", 10);
	http_stream_start(req, 200, "text/plain", arg ? (int64_t)(g->n * LINE) : -1, gen_more,
			  gen_done, g);
}

static int bad_more(struct vbuf *out, void *arg)
{
	(void)out;
	(void)arg;
	return HTTP_STREAM_MORE;
}

static void h_bad_stream(struct http_req *req, void *arg)
{
	(void)arg;
	http_stream_start(req, 200, "text/plain", -1, bad_more, gen_done, calloc(1, 8));
}

static void h_noanswer(struct http_req *req, void *arg)
{
	(void)req;
	(void)arg;
}

static void h_headers(struct http_req *req, void *arg)
{
	(void)arg;
	g_hdr_results[0] = http_set_header(req, "X-Vtap-Test", "ok value");
	g_hdr_results[1] = http_set_header(req, "X-Evil", "a\r\nSet-Cookie: pwned=1");
	g_hdr_results[2] = http_set_header(req, "Bad Name", "x");
	g_hdr_results[3] = http_set_header(req, "Content-Length", "5");
	http_respond(req, 200, "text/plain", "h\n", 2);
}

struct job {
	struct http_defer *d;
	uint64_t ms, n;
	int mode; /* 0 respond, 1 stream, 2 wait for cancel, 3 invalid answer */
};

static void *worker(void *arg)
{
	struct job *j = arg;
	char l[LINE + 1];
	int r = 0;

	if (j->mode == 0) {
		char body[64];
		usleep((useconds_t)(j->ms * 1000));
		snprintf(body, sizeof(body), "{\"slept\":%llu}", (unsigned long long)j->ms);
		http_defer_respond(j->d, 200, "application/json", body, strlen(body));
	} else if (j->mode == 1) {
		http_defer_stream_begin(j->d, 200, "text/plain");
		for (uint64_t i = 0; i < j->n; i++) {
			make_line(l, i);
			r = http_defer_write(j->d, l, LINE);
			if (r < 0)
				break;
			ADD(g_defer_rows, 1);
		}
		STORE(g_defer_write_err, r);
		http_defer_end(j->d, r);
	} else if (j->mode == 3) {
		/* contract violations the server must contain */
		if (j->n)
			http_defer_respond(j->d, 999, "text/plain", "x", 1);
		else if (http_defer_stream_begin(j->d, 200, "text/plain\r\nX-Evil: 1") == 0)
			http_defer_end(j->d, 0);
	} else {
		uint64_t end = mono_ms() + 10000;
		while (!http_defer_cancelled(j->d) && mono_ms() < end)
			usleep(5000);
		if (http_defer_cancelled(j->d))
			STORE(g_saw_cancel, 1);
		http_defer_end(j->d, -ECANCELED);
	}
	free(j);
	ADD(g_workers, -1);
	return NULL;
}

/* /defer?ms=X, /defer-stream?n=N, /defer-never (arg = mode) */
static void h_defer(struct http_req *req, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_t t;

	j->mode = (int)(intptr_t)arg;
	j->ms = q_u64(req, "ms", 0);
	j->n = q_u64(req, "n", 0);
	j->d = http_defer(req);
	ADD(g_workers, 1);
	pthread_create(&t, NULL, worker, j);
	pthread_detach(t);
}

static void h_metrics(struct http_req *req, void *arg)
{
	struct fx *f = arg;
	struct vbuf b;
	struct prom p;

	vbuf_init(&b, 1 << 20);
	prom_init(&p, &b);
	http_server_metrics(f->s, &p);
	if (prom_finish(&p) < 0)
		http_respond_error(req, 500, "internal error", "metrics");
	else
		http_respond_vbuf(req, 200, PROM_CONTENT_TYPE, &b);
	vbuf_free(&b);
}

static void routes_all(struct fx *f, void *arg)
{
	struct http_router *r = f->r;
	struct vt_err err;

	(void)arg;
	http_router_add(r, HTTP_GET, "/hello", h_hello, NULL);
	http_router_add(r, HTTP_GET, "/api/v1/vms/{id}", h_vm, NULL);
	http_router_add(r, HTTP_DELETE, "/api/v1/vms/{id}", h_vm, NULL);
	http_router_add(r, HTTP_POST, "/echo", h_echo, NULL);
	http_router_add(r, HTTP_PUT, "/echo", h_echo, NULL);
	http_router_add(r, HTTP_POST, "/json", h_json, NULL);
	http_router_add(r, HTTP_GET, "/stream", h_stream, NULL);
	http_router_add(r, HTTP_GET, "/fixed", h_stream, (void *)1);
	http_router_add(r, HTTP_GET, "/bad-stream", h_bad_stream, NULL);
	http_router_add(r, HTTP_GET, "/noanswer", h_noanswer, NULL);
	http_router_add(r, HTTP_GET, "/headers", h_headers, NULL);
	http_router_add(r, HTTP_GET, "/defer", h_defer, (void *)0);
	http_router_add(r, HTTP_GET, "/defer-stream", h_defer, (void *)1);
	http_router_add(r, HTTP_GET, "/defer-never", h_defer, (void *)2);
	http_router_add(r, HTTP_GET, "/defer-bad", h_defer, (void *)3);
	http_router_add(r, HTTP_GET, "/metrics", h_metrics, f);
	char www[256];
	snprintf(www, sizeof(www), "%s/www", f->dir);
	mkdir(www, 0755);
	f->st = http_static_new(www, &err);
	if (f->st)
		http_router_add(r, HTTP_GET, "/ui/{path*}", http_static_handler, f->st);
}

/* wait_stable() : waits until *<counter> is non-zero and has not moved
 * for 300 ms (robust to a loaded machine: a slow producer is not a
 * stalled one until it stops moving); returns the value, 0 on timeout. */
VT_UNUSED static uint64_t wait_stable(uint64_t *counter, uint64_t timeout_ms)
{
	uint64_t end = mono_ms() + timeout_ms, last = 0, since = mono_ms();

	while (mono_ms() < end) {
		uint64_t now = LOAD(*counter);
		if (now != last) {
			last = now;
			since = mono_ms();
		} else if (now && mono_ms() - since >= 300) {
			return now;
		}
		usleep(20000);
	}
	return 0;
}

/* in_flight_bound() : what a stalled stream may have produced: the
 * kernel's largest send buffer (autotuning), the client's receive buffer,
 * and the server's own bounded buffers. */
VT_UNUSED static uint64_t in_flight_bound(void)
{
	uint64_t wmax = 4u << 20;
	FILE *fp = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");
	unsigned long long a, b, c;

	if (fp && fscanf(fp, "%llu %llu %llu", &a, &b, &c) == 3)
		wmax = c;
	if (fp)
		fclose(fp);
	return 2 * wmax + (2u << 20);
}

/* Waits for detached workers so none outlives the test binary. */
VT_UNUSED static void wait_workers(void)
{
	WAIT_UNTIL(LOAD(g_workers) == 0, 15000);
}

#endif
