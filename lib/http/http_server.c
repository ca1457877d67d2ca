/* http_server.c — see http_server.h.
 *
 * One struct http_conn per connection, driven by conn_drive() through four
 * states: HEAD (reading a request head), BODY (reading its body), RESP
 * (a handler's answer is being produced and written; the socket is not
 * read, so a pipelining client is held back by TCP itself) and LINGER
 * (after a "Connection: close" answer: our side is shut down and what the
 * client still sends is read and dropped for a moment, so the answer is not
 * destroyed by an RST). Closed connections go to a zombie list freed by a
 * 0 ms timer, because an epoll batch may still hold their pointer. */
#include "http/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "http/http_defer.h"
#include "http/prom.h"

#define ACCEPT_BATCH 32
#define READ_CHUNK (16u << 10)
#define READ_BUDGET (256u << 10)    /* bytes read per connection per event */
#define STREAM_BUDGET (1u << 20)    /* bytes produced per connection per event */
#define STAGE_MAX (64u << 10)
#define XHDR_MAX 4096
#define OUT_SLACK (XHDR_MAX + 4096) /* room for a response head */
#define SMALL_BODY (16u << 10)      /* copied into the output buffer */
#define LINGER_MS 2000
#define LINGER_MAX (256u << 10)
#define MS 1000000ull

enum cstate { CS_HEAD, CS_BODY, CS_RESP, CS_LINGER };
enum tmo { TMO_NONE, TMO_IDLE, TMO_HEADER, TMO_BODY, TMO_WRITE, TMO_HANDLER, TMO_LINGER };
enum rkind { R_NONE, R_FULL, R_STREAM, R_DEFER };

struct http_conn;

struct http_req {
	struct http_conn *c;
	struct http_reqhead h;
	bool parsed;                /* h is valid */
	struct http_match m;
	const char *body;           /* into c->in */
	size_t body_len;
	uint64_t t_start;
	/* the answer */
	enum rkind kind;
	int status;
	bool head_sent, head_only, no_body, chunked, close_after, complete;
	int64_t length;             /* declared body length, -1 unknown */
	uint64_t body_sent;
	struct vbuf xhdrs;          /* "Name: value\r\n" from http_set_header */
	char *body_buf;             /* a large full body, written after out */
	size_t body_buf_len, body_buf_off;
	http_stream_fn more;
	http_stream_done_fn done;
	void *arg;
	bool stream_ended, done_called;
	struct http_defer *d;
};

struct http_conn {
	struct http_server *s;
	struct http_conn *prev, *next;
	struct ev_io io;
	int fd;
	enum cstate st;
	bool is_unix, has_cred, dead, in_driver, peer_eof, want_out;
	struct ucred cred;
	char peer[80];
	struct vbuf in;
	size_t scan, head_len;
	bool got_bytes;
	struct vbuf out;
	size_t out_off;
	struct vbuf stage;
	uint64_t t_idle, t_first, t_head, t_wprog, t_dprog, t_linger;
	size_t linger_bytes;
	uint64_t deadline;
	enum tmo tmo;
	unsigned nreq;
	struct http_req req;
};

struct http_server {
	struct evloop *ev;
	struct http_server_conf conf;
	const struct http_router *router;
	struct http_limits lim;
	struct http_listener ls[HTTP_MAX_LISTEN];
	struct ev_io lio[HTTP_MAX_LISTEN];
	unsigned nls;
	struct http_conn *conns, *zombies;
	struct ev_timer sweep, reaper;
	struct http_dhub *hub;
	struct ev_io hub_io;
	int spare_fd;
	bool shutting_down;
	struct http_server_stats st;
	char date[40];
	int64_t date_sec;
};

static void conn_drive(struct http_conn *c);
static void conn_close(struct http_conn *c);

/* ---- configuration ------------------------------------------------------ */

void http_server_conf_init(struct http_server_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->socket_mode = 0660;
	c->max_connections = 256;
	c->max_body = HTTP_DEFAULT_MAX_BODY;
	c->max_header_size = HTTP_DEFAULT_MAX_HEAD;
	c->max_headers = HTTP_DEFAULT_MAX_HEADERS;
	c->header_timeout_ms = 10000;
	c->body_timeout_ms = 30000;
	c->idle_timeout_ms = 60000;
	c->write_timeout_ms = 30000;
	c->handler_timeout_ms = 60000;
	c->output_buffer = 256u << 10;
}

int http_conf_parse_listen(const char *val, void *field, struct vt_err *err)
{
	struct http_listen_list *l = field;

	l->n = 0; /* the key replaces its default */
	return http_listen_parse_list(val, l, err);
}

int http_conf_parse_mode(const char *val, void *field, struct vt_err *err)
{
	uint64_t m = 0;

	if (!*val || strlen(val) > 4)
		goto bad;
	for (const char *p = val; *p; p++) {
		if (*p < '0' || *p > '7')
			goto bad;
		m = m * 8 + (uint64_t)(*p - '0');
	}
	if (m > 0777)
		goto bad;
	*(uint64_t *)field = m;
	return 0;
bad:
	return vt_err_set(err, -EINVAL, "'%s' is not an octal file mode (e.g. 0660)", val);
}

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_ns(const struct http_server *s)
{
	return ev_now_ns(s->ev);
}

static const char *date_now(struct http_server *s)
{
	int64_t t = (int64_t)time(NULL);

	if (t != s->date_sec) {
		s->date_sec = t;
		http_date(t, s->date, sizeof(s->date));
	}
	return s->date;
}

static size_t out_pending(const struct http_conn *c)
{
	return c->out.len - c->out_off +
	       (c->req.body_buf ? c->req.body_buf_len - c->req.body_buf_off : 0);
}

static bool body_allowed(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* "request header fields too large" from the reason phrase */
static void error_word(int status, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", http_reason(status));
	for (i = 0; buf[i]; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
}

static void stream_release(struct http_conn *c, int err)
{
	struct http_req *q = &c->req;

	if (q->kind == R_STREAM && !q->done_called) {
		q->done_called = true;
		q->stream_ended = true;
		if (q->done)
			q->done(q->arg, err);
	}
}

/* Frees what the current request holds; the connection stays. */
static void req_reset(struct http_conn *c)
{
	struct http_req *q = &c->req;
	struct vbuf xh = q->xhdrs;

	stream_release(c, -ECONNABORTED);
	if (q->d)
		http_defer_detach(q->d);
	http_reqhead_free(&q->h);
	http_match_free(&q->m);
	free(q->body_buf);
	vbuf_reset(&xh);
	memset(q, 0, sizeof(*q));
	q->c = c;
	q->xhdrs = xh;
	q->length = -1;
}

/* ---- writing ------------------------------------------------------------ */

static void conn_flush(struct http_conn *c)
{
	struct http_req *q = &c->req;

	while (!c->dead && out_pending(c)) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		if (c->out.len > c->out_off) {
			iov[mh.msg_iovlen].iov_base = c->out.data + c->out_off;
			iov[mh.msg_iovlen++].iov_len = c->out.len - c->out_off;
		}
		if (q->body_buf && q->body_buf_off < q->body_buf_len) {
			iov[mh.msg_iovlen].iov_base = q->body_buf + q->body_buf_off;
			iov[mh.msg_iovlen++].iov_len = q->body_buf_len - q->body_buf_off;
		}
		/* sendmsg, not writev: MSG_NOSIGNAL instead of SIGPIPE */
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			log_debug("http: %s: write: %s", c->peer, strerror(errno));
			if (!q->complete)
				c->s->st.aborted++;
			conn_close(c);
			return;
		}
		c->s->st.bytes_out += (uint64_t)n;
		c->t_wprog = now_ns(c->s);
		size_t a = VT_MIN((size_t)n, c->out.len - c->out_off);
		c->out_off += a;
		q->body_buf_off += (size_t)n - a;
	}
	if (c->out_off == c->out.len) {
		vbuf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off > c->out.max / 2) {
		vbuf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

/* Appends the status line and headers. <length> < 0: unknown. */
static int resp_begin(struct http_conn *c, int status, const char *ctype, int64_t length)
{
	struct http_server *s = c->s;
	struct http_req *q = &c->req;
	unsigned minor = q->parsed ? q->h.minor : 1;
	struct vbuf *o = &c->out;
	int r;

	if (!q->parsed || !q->h.keep_alive || s->shutting_down || c->peer_eof)
		q->close_after = true;
	q->no_body = !body_allowed(status) || q->head_only;
	q->chunked = false;
	if (body_allowed(status) && length < 0) {
		if (minor >= 1)
			q->chunked = true;
		else
			q->close_after = true; /* HTTP/1.0: the close ends the body */
	}
	r = vbuf_printf(o, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: vtap/%s\r\n", status,
			http_reason(status), date_now(s), VTAP_VERSION);
	if (!r && ctype && *ctype && body_allowed(status))
		r = vbuf_printf(o, "Content-Type: %s\r\n", ctype);
	if (!r && body_allowed(status)) {
		if (length >= 0)
			r = vbuf_printf(o, "Content-Length: %lld\r\n", (long long)length);
		else if (q->chunked)
			r = vbuf_adds(o, "Transfer-Encoding: chunked\r\n");
	}
	if (!r && q->close_after)
		r = vbuf_adds(o, "Connection: close\r\n");
	else if (!r && minor == 0)
		r = vbuf_adds(o, "Connection: keep-alive\r\n");
	if (!r && q->xhdrs.len)
		r = vbuf_add(o, q->xhdrs.data, q->xhdrs.len);
	if (!r)
		r = vbuf_adds(o, "\r\n");
	q->status = status;
	q->head_sent = true;
	q->length = length;
	c->t_wprog = now_ns(s);
	return r;
}

static int check_answer(struct http_req *req, int status, const char *ctype)
{
	if (req->kind != R_NONE) {
		log_err("http: %s %s: the handler answered twice (a bug)", req->h.method_str,
			req->h.path);
		return -EALREADY;
	}
	if (status < 200 || status > 599 || (ctype && !http_value_valid(ctype)))
		return -EINVAL;
	return 0;
}

/* Full answer; <steal> is a malloc'd body we take over. */
static int respond_full(struct http_req *req, int status, const char *ctype, const void *body,
			size_t len, char *steal)
{
	struct http_conn *c = req->c;
	int r = check_answer(req, status, ctype);

	if (r < 0) {
		free(steal);
		return r;
	}
	req->kind = R_FULL;
	r = resp_begin(c, status, ctype, body_allowed(status) ? (int64_t)len : -1);
	req->body_sent = req->no_body ? 0 : len;
	if (!r && !req->no_body && len) {
		if (len <= SMALL_BODY) {
			r = vbuf_add(&c->out, body, len);
		} else if (steal) {
			req->body_buf = steal;
			steal = NULL;
		} else if ((req->body_buf = malloc(len)) != NULL) {
			memcpy(req->body_buf, body, len);
		} else {
			r = -ENOMEM;
		}
		req->body_buf_len = req->body_buf ? len : 0;
	}
	free(steal);
	req->complete = true;
	if (r < 0) {
		/* the head may be half written: the framing is lost */
		log_err("http: %s: cannot build the answer: %s", c->peer, strerror(-r));
		c->s->st.aborted++;
		conn_close(c);
	}
	return r;
}

int http_respond(struct http_req *req, int status, const char *ctype, const void *body,
		 size_t len)
{
	return respond_full(req, status, ctype, body, len, NULL);
}

int http_respond_vbuf(struct http_req *req, int status, const char *ctype, struct vbuf *body)
{
	size_t len = body->len;

	if (len <= SMALL_BODY) {
		int r = respond_full(req, status, ctype, body->data, len, NULL);
		vbuf_free(body);
		return r;
	}
	return respond_full(req, status, ctype, body->data, len, vbuf_steal(body));
}

int http_respond_json(struct http_req *req, int status, struct vbuf *body)
{
	return http_respond_vbuf(req, status, "application/json", body);
}

/* {"error": <error>, "detail": <detail_json> or <detail string>} */
static int respond_error_common(struct http_req *req, int status, const char *error,
				const char *detail_json, const char *detail)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 64 << 10);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_str(&w, "error", error);
	if (detail_json)
		jw_raw(&w, "detail", detail_json);
	else if (detail)
		jw_str(&w, "detail", detail);
	jw_obj_close(&w);
	(void)vbuf_addc(&b, '\n');
	return http_respond_vbuf(req, status, "application/json", &b);
}

int http_respond_error(struct http_req *req, int status, const char *error, const char *fmt, ...)
{
	struct vbuf det;
	va_list ap;
	int r;

	vbuf_init(&det, 16 << 10);
	if (fmt) {
		va_start(ap, fmt);
		(void)vbuf_vprintf(&det, fmt, ap);
		va_end(ap);
	}
	r = respond_error_common(req, status, error, NULL, fmt ? vbuf_str(&det) : NULL);
	vbuf_free(&det);
	return r;
}

int http_respond_error_json(struct http_req *req, int status, const char *error,
			    const char *detail_json)
{
	return respond_error_common(req, status, error, detail_json, NULL);
}

/* An error found by the server itself; the connection closes after it. */
static void conn_fail(struct http_conn *c, int status, const char *why)
{
	char word[64];

	req_reset(c);
	c->st = CS_RESP;
	c->req.close_after = true;
	c->req.t_start = now_ns(c->s);
	error_word(status, word, sizeof(word));
	http_respond_error(&c->req, status, word, "%s", why);
}

int http_set_header(struct http_req *req, const char *name, const char *value)
{
	static const char *const owned[] = { "Content-Length", "Transfer-Encoding", "Connection",
					     "Date", "Server" };

	if (!http_token_valid(name) || !http_value_valid(value) || req->kind != R_NONE)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (strcasecmp(name, owned[i]) == 0)
			return -EINVAL;
	if (req->xhdrs.len + strlen(name) + strlen(value) + 4 > req->xhdrs.max)
		return -ENOSPC;
	return vbuf_printf(&req->xhdrs, "%s: %s\r\n", name, value);
}

/* ---- streams on the loop thread ----------------------------------------- */

int http_stream_start(struct http_req *req, int status, const char *ctype, int64_t length,
		      http_stream_fn more, http_stream_done_fn done, void *arg)
{
	struct http_conn *c = req->c;
	int r = check_answer(req, status, ctype);

	if (!r && !more)
		r = -EINVAL;
	if (r < 0) {
		if (done)
			done(arg, r);
		return r;
	}
	req->kind = R_STREAM;
	req->more = more;
	req->done = done;
	req->arg = arg;
	c->s->st.streams++;
	r = resp_begin(c, status, ctype, length);
	if (r < 0 || req->no_body) {
		req->stream_ended = true;
		req->complete = true;
	}
	return r;
}

/* Abort: the client must see the body cut, not a short body that looks
 * whole, so the connection closes without the final chunk. */
static void conn_abort(struct http_conn *c, const char *why)
{
	log_warn("http: %s: %s %s: response aborted: %s", c->peer,
		 c->req.parsed ? c->req.h.method_str : "-", c->req.parsed ? c->req.h.target : "-",
		 why);
	c->s->st.aborted++;
	conn_close(c);
}

static int add_chunk(struct http_conn *c, const void *p, size_t n)
{
	struct http_req *q = &c->req;
	int r = 0;

	if (q->no_body || !n)
		return 0;
	if (q->chunked)
		r = vbuf_printf(&c->out, "%zx\r\n", n);
	if (!r)
		r = vbuf_add(&c->out, p, n);
	if (!r && q->chunked)
		r = vbuf_adds(&c->out, "\r\n");
	q->body_sent += n;
	return r;
}

/* Moves unsent output to the front, so the buffer's bound applies to what
 * is pending only. */
static void out_compact(struct http_conn *c)
{
	if (c->out_off) {
		vbuf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

static void pump_stream(struct http_conn *c, size_t *produced)
{
	struct http_req *q = &c->req;

	out_compact(c);
	while (!q->stream_ended && !c->dead) {
		int r;
		size_t n;

		if (out_pending(c) + c->stage.max + 64 > c->out.max)
			return; /* wait for the client: this is the backpressure */
		if (*produced >= STREAM_BUDGET) {
			c->want_out = true; /* let other connections run */
			return;
		}
		vbuf_reset(&c->stage);
		r = q->more(&c->stage, q->arg);
		n = c->stage.len;
		if (r < 0) {
			conn_abort(c, "the producer failed");
			return;
		}
		if (r == HTTP_STREAM_MORE && n == 0) {
			conn_abort(c, "the producer made no progress (a bug)");
			return;
		}
		if (q->length >= 0 && (q->body_sent + n > (uint64_t)q->length ||
				       (r == HTTP_STREAM_DONE && q->body_sent + n != (uint64_t)q->length))) {
			conn_abort(c, "the producer did not produce the declared length (a bug)");
			return;
		}
		if (add_chunk(c, c->stage.data, n) < 0) {
			conn_abort(c, "output buffer overflow (a bug)");
			return;
		}
		*produced += n;
		if (r == HTTP_STREAM_DONE) {
			if (q->chunked && !q->no_body && vbuf_adds(&c->out, "0\r\n\r\n") < 0) {
				conn_abort(c, "output buffer overflow (a bug)");
				return;
			}
			q->stream_ended = true;
			q->complete = true;
		}
	}
}

/* ---- deferred answers ----------------------------------------------------- */

struct http_defer *http_defer(struct http_req *req)
{
	struct http_conn *c = req->c;

	if (check_answer(req, 200, NULL) < 0) {
		errno = EALREADY;
		return NULL;
	}
	req->d = http_defer_new(c->s->hub, c, c->s->conf.output_buffer);
	if (!req->d)
		return NULL;
	req->kind = R_DEFER;
	c->t_dprog = now_ns(c->s);
	c->s->st.deferred++;
	return req->d;
}

static void pump_defer(struct http_conn *c)
{
	struct http_req *q = &c->req;
	struct http_defer_head h;
	int err;

	if (!q->head_sent && http_defer_head_take(q->d, &h)) {
		c->t_dprog = now_ns(c->s);
		if (h.full) {
			struct http_defer *d = q->d;
			q->d = NULL;
			q->kind = R_NONE;
			respond_full(q, h.status, h.ctype, h.body, h.body_len, h.body);
			http_defer_detach(d);
			return;
		}
		if (resp_begin(c, h.status, h.ctype, -1) < 0) {
			conn_abort(c, "cannot build the answer");
			return;
		}
	}
	if (!q->head_sent)
		return;
	out_compact(c);
	for (;;) {
		size_t avail = http_defer_avail(q->d), room, n;
		if (!avail)
			break;
		room = c->out.max - VT_MIN(c->out.max, out_pending(c) + 64);
		n = VT_MIN(avail, room);
		if (!n)
			break;
		if (q->no_body) {
			http_defer_take(q->d, NULL, n);
		} else {
			if ((q->chunked && vbuf_printf(&c->out, "%zx\r\n", n) < 0) ||
			    http_defer_take(q->d, &c->out, n) < 0 ||
			    (q->chunked && vbuf_adds(&c->out, "\r\n") < 0)) {
				conn_abort(c, "output buffer overflow (a bug)");
				return;
			}
			q->body_sent += n;
		}
		c->t_dprog = now_ns(c->s);
	}
	if (http_defer_finished(q->d, &err)) {
		if (err < 0) {
			conn_abort(c, "the worker aborted the response");
			return;
		}
		if (q->chunked && !q->no_body && vbuf_adds(&c->out, "0\r\n\r\n") < 0) {
			conn_abort(c, "output buffer overflow (a bug)");
			return;
		}
		q->complete = true;
		http_defer_detach(q->d);
		q->d = NULL;
	}
}

static void on_hub_news(void *owner, void *ctx)
{
	(void)ctx;
	conn_drive(owner);
}

static void on_hub(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct http_server *s = io->arg;

	(void)ev;
	(void)events;
	http_dhub_drain(s->hub, on_hub_news, s);
}

/* ---- dispatch --------------------------------------------------------- */

static void dispatch(struct http_conn *c)
{
	struct http_req *q = &c->req;
	struct http_server *s = c->s;
	int r;

	c->st = CS_RESP;
	q->body = c->in.data ? (const char *)c->in.data + c->head_len : NULL;
	q->body_len = (size_t)q->h.content_length;
	q->head_only = q->h.method == HTTP_HEAD;
	if (strcmp(q->h.path, "*") == 0) { /* OPTIONS * */
		http_set_header(q, "Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
		http_respond(q, 204, NULL, NULL, 0);
		return;
	}
	r = http_router_match(s->router, q->h.method, q->h.path, &q->m);
	switch (r) {
	case HTTP_MATCH_OK:
		q->m.fn(q, q->m.arg);
		if (c->dead)
			return;
		if (q->kind == R_NONE) {
			log_err("http: handler for %s %s did not answer (a bug)", q->h.method_str,
				q->m.pattern);
			http_respond_error(q, 500, "internal error", "the handler did not answer");
		}
		return;
	case HTTP_MATCH_NOT_FOUND:
		http_respond_error(q, 404, "not found", "no resource at %s", q->h.path);
		return;
	case HTTP_MATCH_NO_METHOD:
		http_set_header(q, "Allow", q->m.allow);
		http_respond_error(q, 405, "method not allowed", "%s is not allowed on %s (allowed: %s)",
				   q->h.method_str, q->h.path, q->m.allow);
		return;
	case HTTP_MATCH_OPTIONS:
		http_set_header(q, "Allow", q->m.allow);
		http_respond(q, 204, NULL, NULL, 0);
		return;
	default:
		http_respond_error(q, 503, "service unavailable", "out of memory");
		return;
	}
}

/* ---- the connection state machine --------------------------------------- */

static void conn_linger(struct http_conn *c)
{
	if (c->peer_eof || shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c);
		return;
	}
	c->st = CS_LINGER;
	c->t_linger = now_ns(c->s);
	c->linger_bytes = 0;
	vbuf_free(&c->in);
}

static void access_log(struct http_conn *c)
{
	struct http_req *q = &c->req;

	if (log_get_level() < LOG_LVL_DEBUG)
		return;
	log_debug("http: %s \"%s %s HTTP/1.%u\" %d %llu %.3fms", c->peer,
		  q->parsed ? q->h.method_str : "-", q->parsed ? q->h.target : "-",
		  q->parsed ? q->h.minor : 1, q->status, (unsigned long long)q->body_sent,
		  (double)(now_ns(c->s) - q->t_start) / 1e6);
}

static void finish_request(struct http_conn *c)
{
	struct http_server *s = c->s;
	struct http_req *q = &c->req;
	size_t used = q->parsed ? c->head_len + (size_t)q->h.content_length : c->in.len;
	bool close = q->close_after || s->shutting_down;

	access_log(c);
	s->st.responses[q->status / 100 % 6]++;
	stream_release(c, 0);
	req_reset(c);
	if (close) {
		conn_linger(c);
		return;
	}
	vbuf_consume(&c->in, VT_MIN(used, c->in.len));
	if (!c->in.len && c->in.cap > 64 * 1024)
		vbuf_free(&c->in); /* an idle keep-alive connection keeps no big buffer */
	c->st = CS_HEAD;
	c->scan = 0;
	c->head_len = 0;
	c->nreq++;
	c->t_idle = c->t_first = now_ns(s);
	c->got_bytes = c->in.len > 0;
}

static bool step_head(struct http_conn *c)
{
	struct http_server *s = c->s;
	size_t skip = 0, end;
	ssize_t r;

	/* RFC 9112 §2.2: empty lines before a request are ignored */
	while (skip < c->in.len && (c->in.data[skip] == '\n' ||
	       (c->in.data[skip] == '\r' && skip + 1 < c->in.len && c->in.data[skip + 1] == '\n')))
		skip += c->in.data[skip] == '\n' ? 1 : 2;
	if (skip) {
		vbuf_consume(&c->in, skip);
		c->scan = 0;
	}
	if (!c->in.len) {
		if (c->peer_eof)
			conn_close(c);
		return false;
	}
	end = http_head_end((const char *)c->in.data, c->in.len, &c->scan);
	if (!end && c->in.len <= s->lim.max_head) {
		if (c->peer_eof)
			conn_close(c); /* a partial request and no more to come */
		return false;
	}
	r = http_reqhead_parse(&c->req.h, (const char *)c->in.data, c->in.len, &s->lim);
	s->st.requests++;
	c->req.t_start = now_ns(s);
	if (r <= 0) {
		s->st.bad_requests++;
		conn_fail(c, r < 0 ? c->req.h.status : 400,
			  r < 0 ? c->req.h.error : "malformed request head");
		return true;
	}
	c->req.parsed = true;
	c->head_len = (size_t)r;
	c->st = CS_BODY;
	c->t_head = now_ns(s);
	if (c->req.h.expect_continue && c->req.h.content_length > c->in.len - c->head_len) {
		if (vbuf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") == 0)
			conn_flush(c);
	}
	return true;
}

static bool step_body(struct http_conn *c)
{
	if (c->in.len - c->head_len < c->req.h.content_length) {
		if (c->peer_eof)
			conn_close(c);
		return false;
	}
	dispatch(c);
	return true;
}

static bool step_resp(struct http_conn *c, size_t *produced)
{
	struct http_req *q = &c->req;

	if (q->kind == R_STREAM)
		pump_stream(c, produced);
	else if (q->kind == R_DEFER && q->d)
		pump_defer(c);
	if (c->dead)
		return false;
	conn_flush(c);
	if (c->dead)
		return false;
	if (q->complete && !out_pending(c)) {
		finish_request(c);
		return !c->dead;
	}
	/* a stream that can produce more while the socket is writable */
	if (q->kind == R_STREAM && !q->stream_ended && !out_pending(c)) {
		if (*produced < STREAM_BUDGET)
			return true;
		c->want_out = true; /* EPOLLOUT brings us back next turn */
	}
	return false;
}

static void step_linger(struct http_conn *c)
{
	char buf[4096];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			c->linger_bytes += (size_t)n;
			if (c->linger_bytes > LINGER_MAX) {
				conn_close(c);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		conn_close(c);
		return;
	}
}

static void conn_read(struct http_conn *c)
{
	struct http_server *s = c->s;
	size_t budget = READ_BUDGET;

	while (budget && !c->dead) {
		size_t room = c->in.max - c->in.len, want = VT_MIN(room, READ_CHUNK);
		ssize_t n;

		if (!want)
			return;
		if (vbuf_reserve(&c->in, want) < 0) {
			conn_close(c);
			return;
		}
		n = recv(c->fd, c->in.data + c->in.len, want, MSG_DONTWAIT);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = '\0';
			s->st.bytes_in += (uint64_t)n;
			budget -= VT_MIN(budget, (size_t)n);
			if (!c->got_bytes) {
				c->got_bytes = true;
				c->t_first = now_ns(s);
			}
			if ((size_t)n < want)
				return;
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			log_debug("http: %s: read: %s", c->peer, strerror(errno));
			conn_close(c);
		}
		return;
	}
}

/* The epoll interest and the deadline that fit the state. */
static void conn_update(struct http_conn *c)
{
	struct http_server *s = c->s;
	const struct http_server_conf *cf = &s->conf;
	struct http_req *q = &c->req;
	uint32_t m = 0;

	c->tmo = TMO_NONE;
	c->deadline = 0;
	switch (c->st) {
	case CS_HEAD:
		if (c->in.len < c->in.max && !c->peer_eof)
			m = EPOLLIN;
		if (!c->got_bytes) {
			c->tmo = TMO_IDLE;
			c->deadline = c->t_idle +
				(c->nreq ? cf->idle_timeout_ms : cf->header_timeout_ms) * MS;
		} else {
			c->tmo = TMO_HEADER;
			c->deadline = c->t_first + cf->header_timeout_ms * MS;
		}
		break;
	case CS_BODY:
		if (c->in.len < c->in.max && !c->peer_eof)
			m = EPOLLIN;
		c->tmo = TMO_BODY;
		c->deadline = c->t_head + cf->body_timeout_ms * MS;
		break;
	case CS_RESP:
		if (out_pending(c) || c->want_out)
			m |= EPOLLOUT;
		if (q->kind == R_DEFER && !c->peer_eof)
			m |= EPOLLRDHUP;
		if (out_pending(c) || c->want_out) {
			/* output waiting, or a stream waiting for room */
			c->tmo = TMO_WRITE;
			c->deadline = c->t_wprog + cf->write_timeout_ms * MS;
		} else if (q->kind == R_DEFER && cf->handler_timeout_ms) {
			c->tmo = TMO_HANDLER;
			c->deadline = c->t_dprog + cf->handler_timeout_ms * MS;
		}
		break;
	case CS_LINGER:
		m = EPOLLIN;
		c->tmo = TMO_LINGER;
		c->deadline = c->t_linger + LINGER_MS * MS;
		break;
	}
	if (ev_io_mod(s->ev, &c->io, m) < 0) {
		log_err("http: %s: epoll: %s", c->peer, strerror(errno));
		conn_close(c);
	}
}

static void conn_drive(struct http_conn *c)
{
	size_t produced = 0;
	bool again = true;

	if (c->in_driver || c->dead)
		return;
	c->in_driver = true;
	while (again && !c->dead) {
		switch (c->st) {
		case CS_HEAD: again = step_head(c); break;
		case CS_BODY: again = step_body(c); break;
		case CS_RESP: again = step_resp(c, &produced); break;
		case CS_LINGER: step_linger(c); again = false; break;
		}
	}
	c->in_driver = false;
	if (!c->dead)
		conn_update(c);
}

static void on_conn(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct http_conn *c = io->arg;

	(void)ev;
	if (events & EPOLLERR) {
		if (c->st == CS_RESP && !c->req.complete)
			c->s->st.aborted++;
		conn_close(c);
		return;
	}
	if ((events & EPOLLRDHUP) && c->st == CS_RESP) {
		/* the client closed its side while we work: tell the worker */
		c->peer_eof = true;
		if (c->req.d)
			http_defer_cancel(c->req.d);
	}
	if (c->st == CS_LINGER) {
		step_linger(c);
		return;
	}
	/* HUP: both directions are shut (a reset): nothing can be answered,
	 * and the level-triggered event would otherwise fire forever */
	if (events & EPOLLHUP) {
		if (c->st == CS_RESP && !c->req.complete)
			c->s->st.aborted++;
		conn_close(c);
		return;
	}
	if (events & EPOLLIN)
		conn_read(c);
	if (events & EPOLLOUT)
		c->want_out = false;
	conn_drive(c);
}

static void on_reap(struct evloop *ev, struct ev_timer *t)
{
	struct http_server *s = t->arg;

	(void)ev;
	while (s->zombies) {
		struct http_conn *c = s->zombies;
		s->zombies = c->next;
		vbuf_free(&c->in);
		vbuf_free(&c->out);
		vbuf_free(&c->stage);
		vbuf_free(&c->req.xhdrs);
		free(c);
	}
}

static void conn_close(struct http_conn *c)
{
	struct http_server *s = c->s;

	if (c->dead)
		return;
	c->dead = true;
	req_reset(c);
	ev_io_del(s->ev, &c->io);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = s->zombies;
	s->zombies = c;
	s->st.active--;
	if (!ev_timer_active(&s->reaper) && ev_timer_start(s->ev, &s->reaper, 0, 0) < 0)
		log_ratelimited(LOG_LVL_ERR, "http: no timer slot to free closed connections");
}

/* ---- timeouts ----------------------------------------------------------- */

static void conn_timeout(struct http_conn *c)
{
	struct http_server *s = c->s;

	switch (c->tmo) {
	case TMO_IDLE:
		s->st.timeouts_idle++;
		conn_close(c);
		return;
	case TMO_HEADER:
		s->st.timeouts_header++;
		conn_fail(c, 408, "the request head did not arrive in time");
		break;
	case TMO_BODY:
		s->st.timeouts_body++;
		conn_fail(c, 408, "the request body did not arrive in time");
		break;
	case TMO_WRITE:
		s->st.timeouts_write++;
		log_debug("http: %s: client not reading for %llu ms, disconnected", c->peer,
			  (unsigned long long)s->conf.write_timeout_ms);
		if (!c->req.complete)
			s->st.aborted++;
		conn_close(c);
		return;
	case TMO_HANDLER:
		s->st.timeouts_handler++;
		if (c->req.head_sent) {
			conn_abort(c, "the worker made no progress");
			return;
		}
		http_defer_detach(c->req.d);
		c->req.d = NULL;
		c->req.kind = R_NONE;
		http_respond_error(&c->req, 503, "service unavailable",
				   "the handler did not answer within %llu ms",
				   (unsigned long long)s->conf.handler_timeout_ms);
		break;
	case TMO_LINGER:
	case TMO_NONE:
		conn_close(c);
		return;
	}
	conn_drive(c);
}

static void on_sweep(struct evloop *ev, struct ev_timer *t)
{
	struct http_server *s = t->arg;
	uint64_t now = ev_now_ns(ev);
	struct http_conn *c, *next;

	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->deadline && now >= c->deadline)
			conn_timeout(c);
	}
}

/* ---- accepting ---------------------------------------------------------- */

static void refuse(int fd)
{
	static const char body[] =
		"{\"error\":\"service unavailable\",\"detail\":\"too many connections\"}\n";
	char msg[256], junk[16384];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
			 sizeof(body) - 1, body);

	/* read what the client already sent, so close() does not turn the
	 * answer into a reset */
	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	if (send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("http: refusing a connection: %s", strerror(errno));
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void conn_new(struct http_server *s, int fd, const struct sockaddr_storage *ss,
		     bool is_unix)
{
	struct http_conn *c = calloc(1, sizeof(*c));
	socklen_t cl = sizeof(c->cred);
	int one = 1;

	if (!c) {
		log_ratelimited(LOG_LVL_ERR, "http: out of memory accepting a connection");
		refuse(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->is_unix = is_unix;
	if (is_unix) {
		c->has_cred = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &cl) == 0;
		if (c->has_cred)
			snprintf(c->peer, sizeof(c->peer), "unix:pid=%d,uid=%u", (int)c->cred.pid,
				 (unsigned)c->cred.uid);
		else
			snprintf(c->peer, sizeof(c->peer), "unix");
	} else {
		/* answers are written whole; Nagle would only delay the tail */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		http_sockaddr_str((const struct sockaddr *)ss, c->peer, sizeof(c->peer));
	}
	vbuf_init(&c->in, s->lim.max_head + s->lim.max_body + READ_CHUNK);
	vbuf_init(&c->out, s->conf.output_buffer + OUT_SLACK);
	vbuf_init(&c->stage, VT_MIN(STAGE_MAX, s->conf.output_buffer / 2));
	vbuf_init(&c->req.xhdrs, XHDR_MAX);
	c->req.c = c;
	c->req.length = -1;
	c->st = CS_HEAD;
	c->t_idle = now_ns(s);
	if (ev_io_add(s->ev, &c->io, fd, EPOLLIN, on_conn, c) < 0) {
		log_ratelimited(LOG_LVL_ERR, "http: epoll: %s", strerror(errno));
		vbuf_free(&c->req.xhdrs);
		free(c);
		refuse(fd);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->st.active++;
	s->st.accepted++;
	conn_update(c);
}

static void on_accept(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct http_server *s = io->arg;
	bool is_unix = s->ls[io - s->lio].kind == HTTP_LISTEN_UNIX;

	(void)ev;
	(void)events;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* free the spare descriptor to accept and drop the
				 * client, or the listener stays readable forever */
				s->st.refused_fd++;
				log_ratelimited(LOG_LVL_WARN, "http: out of file descriptors, refusing connections");
				if (s->spare_fd >= 0) {
					close(s->spare_fd);
					fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
					if (fd >= 0)
						close(fd);
					s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
			} else if (errno != EAGAIN) {
				log_ratelimited(LOG_LVL_ERR, "http: accept: %s", strerror(errno));
			}
			return;
		}
		if (s->st.active >= s->conf.max_connections || s->shutting_down) {
			s->st.refused_limit++;
			log_ratelimited(LOG_LVL_WARN, "http: %llu connections open, refusing one",
					(unsigned long long)s->st.active);
			refuse(fd);
			continue;
		}
		conn_new(s, fd, &ss, is_unix);
	}
}

/* ---- the server --------------------------------------------------------- */

static uint64_t sweep_period_ms(const struct http_server_conf *c)
{
	uint64_t m = VT_MIN(c->header_timeout_ms, c->body_timeout_ms);

	m = VT_MIN(m, c->idle_timeout_ms);
	m = VT_MIN(m, c->write_timeout_ms);
	if (c->handler_timeout_ms)
		m = VT_MIN(m, c->handler_timeout_ms);
	m /= 4;
	return m < 10 ? 10 : m > 1000 ? 1000 : m;
}

struct http_server *http_server_new(struct evloop *ev, const struct http_server_conf *conf,
				    const struct http_router *router)
{
	struct http_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return NULL;
	s->ev = ev;
	s->conf = *conf;
	s->router = router;
	http_limits_default(&s->lim);
	s->lim.max_head = (uint32_t)conf->max_header_size;
	s->lim.max_request_line = VT_MIN(HTTP_DEFAULT_MAX_REQUEST_LINE, s->lim.max_head);
	s->lim.max_headers = (uint32_t)conf->max_headers;
	s->lim.max_body = conf->max_body;
	if (s->conf.output_buffer < 16384)
		s->conf.output_buffer = 16384;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->hub = http_dhub_new();
	if (!s->hub)
		goto err;
	r = ev_io_add(ev, &s->hub_io, http_dhub_fd(s->hub), EPOLLIN, on_hub, s);
	if (r < 0) {
		errno = -r;
		goto err;
	}
	ev_timer_init(&s->sweep, on_sweep, s);
	ev_timer_init(&s->reaper, on_reap, s);
	r = ev_timer_start(ev, &s->sweep, sweep_period_ms(conf), sweep_period_ms(conf));
	if (r < 0) {
		ev_io_del(ev, &s->hub_io);
		errno = -r;
		goto err;
	}
	return s;
err:
	r = errno;
	http_dhub_close(s->hub);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
	errno = r;
	return NULL;
}

int http_server_listen(struct http_server *s, const struct http_listen_addr *a,
		       struct vt_err *err)
{
	struct http_unix_perm perm = { (uint32_t)s->conf.socket_mode, s->conf.socket_group };
	struct http_listener *l;
	int r;

	if (s->nls >= HTTP_MAX_LISTEN)
		return vt_err_set(err, -ENOSPC, "more than %d listeners", HTTP_MAX_LISTEN);
	l = &s->ls[s->nls];
	r = http_listener_open(l, a, &perm, 128, err);
	if (r < 0)
		return r;
	r = ev_io_add(s->ev, &s->lio[s->nls], l->fd, EPOLLIN, on_accept, s);
	if (r < 0) {
		http_listener_close(l);
		return vt_err_set(err, r, "cannot listen on %s: epoll: %s", a->spec, strerror(-r));
	}
	log_info("http: listening on %s", l->name);
	return (int)s->nls++;
}

int http_server_listen_conf(struct http_server *s, struct vt_err *err)
{
	if (!s->conf.listen.n)
		return vt_err_set(err, -EINVAL, "no listen address configured");
	for (size_t i = 0; i < s->conf.listen.n; i++) {
		int r = http_server_listen(s, &s->conf.listen.a[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *http_server_addr(const struct http_server *s, unsigned i)
{
	return i < s->nls ? s->ls[i].name : NULL;
}

uint16_t http_server_port(const struct http_server *s, unsigned i)
{
	return i < s->nls ? s->ls[i].port : 0;
}

void http_server_get_stats(const struct http_server *s, struct http_server_stats *st)
{
	*st = s->st;
}

static void close_listeners(struct http_server *s)
{
	for (unsigned i = 0; i < s->nls; i++) {
		if (s->ls[i].fd < 0)
			continue;
		ev_io_del(s->ev, &s->lio[i]);
		http_listener_close(&s->ls[i]);
	}
}

void http_server_shutdown(struct http_server *s)
{
	struct http_conn *c, *next;

	s->shutting_down = true;
	close_listeners(s);
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->st == CS_HEAD && !c->got_bytes)
			conn_close(c);
	}
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	close_listeners(s);
	while (s->conns)
		conn_close(s->conns);
	on_reap(s->ev, &s->reaper);
	ev_timer_stop(s->ev, &s->sweep);
	ev_timer_stop(s->ev, &s->reaper);
	ev_io_del(s->ev, &s->hub_io);
	http_dhub_close(s->hub);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
}

int http_server_metrics(const struct http_server *s, struct prom *p)
{
	static const struct {
		size_t off;
		const char *name, *help;
		enum prom_type type;
	} m[] = {
#define M(f, n, t, h) { offsetof(struct http_server_stats, f), n, h, t }
		M(accepted, "vtap_http_connections_accepted_total", PROM_COUNTER, "Connections accepted."),
		M(refused_limit, "vtap_http_connections_refused_total", PROM_COUNTER,
		  "Connections refused because max_connections were open."),
		M(refused_fd, "vtap_http_connections_refused_fd_total", PROM_COUNTER,
		  "Connections refused for lack of file descriptors."),
		M(active, "vtap_http_connections", PROM_GAUGE, "Connections open."),
		M(requests, "vtap_http_requests_total", PROM_COUNTER, "Requests received."),
		M(bad_requests, "vtap_http_bad_requests_total", PROM_COUNTER,
		  "Requests refused by the parser or its limits."),
		M(aborted, "vtap_http_responses_aborted_total", PROM_COUNTER,
		  "Responses cut short (client gone, timeout, producer error)."),
		M(streams, "vtap_http_streams_total", PROM_COUNTER, "Streamed responses."),
		M(deferred, "vtap_http_deferred_total", PROM_COUNTER, "Deferred responses."),
		M(bytes_in, "vtap_http_received_bytes_total", PROM_COUNTER, "Bytes received."),
		M(bytes_out, "vtap_http_sent_bytes_total", PROM_COUNTER, "Bytes sent."),
#undef M
	};
	static const char *const classes[] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };
	const struct http_server_stats *st = &s->st;

	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		prom_family(p, m[i].name, m[i].type, m[i].help);
		prom_u64(p, *(const uint64_t *)(const void *)((const char *)st + m[i].off), NULL);
	}
	prom_family(p, "vtap_http_responses_total", PROM_COUNTER, "Responses by status class.");
	for (int i = 1; i <= 5; i++)
		prom_u64(p, st->responses[i], "class", classes[i], NULL);
	prom_family(p, "vtap_http_timeouts_total", PROM_COUNTER, "Connections timed out, by timeout.");
	prom_u64(p, st->timeouts_header, "timeout", "header", NULL);
	prom_u64(p, st->timeouts_body, "timeout", "body", NULL);
	prom_u64(p, st->timeouts_idle, "timeout", "idle", NULL);
	prom_u64(p, st->timeouts_write, "timeout", "write", NULL);
	return prom_u64(p, st->timeouts_handler, "timeout", "handler", NULL);
}

/* ---- the request, for handlers ------------------------------------------ */

enum http_method http_req_method(const struct http_req *req)
{
	return req->h.method;
}

const char *http_req_path(const struct http_req *req)
{
	return req->h.path;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
	return http_reqhead_get(&req->h, name);
}

const char *http_req_query(const struct http_req *req, const char *key)
{
	return http_reqhead_query(&req->h, key);
}

const char *http_req_param(const struct http_req *req, const char *name)
{
	return http_match_param(&req->m, name);
}

const struct http_reqhead *http_req_head(const struct http_req *req)
{
	return &req->h;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
	*len = req->body_len;
	return req->body_len ? req->body : NULL;
}

struct json_val *http_req_json(const struct http_req *req, size_t max_nodes, struct vt_err *err)
{
	const char *ct = http_req_header(req, "Content-Type");

	if (!req->body_len) {
		vt_err_set(err, -ENODATA, "a JSON body is required");
		return NULL;
	}
	if (ct && strncasecmp(ct, "application/json", 16) != 0 && !strstr(ct, "+json")) {
		vt_err_set(err, -EPROTO, "Content-Type must be application/json, not '%s'", ct);
		return NULL;
	}
	return json_parse(req->body, req->body_len, max_nodes, err);
}

const char *http_req_peer(const struct http_req *req)
{
	return req->c->peer;
}

int http_req_peer_cred(const struct http_req *req, struct ucred *cred)
{
	if (!req->c->has_cred)
		return -ENOTSUP;
	*cred = req->c->cred;
	return 0;
}

const char *http_req_route(const struct http_req *req)
{
	return req->m.pattern;
}
