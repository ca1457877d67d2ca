/* http_answer.c — the handler side of the server (http_server.h): request
 * accessors, full answers, streams produced on the loop thread, deferred
 * answers moved in from worker threads, and the writing of all of them to
 * the socket. Every answer goes into the connection's bounded output
 * buffer (a large full body is written from its own buffer after it);
 * producers are called only when that buffer has drained, which is the
 * backpressure a slow client exerts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/log.h"
#include "http/http_conn.h"

size_t hsrv_out_pending(const struct http_conn *c)
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

void hsrv_stream_release(struct http_conn *c, int err)
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
void hsrv_req_reset(struct http_conn *c)
{
	struct http_req *q = &c->req;
	struct vbuf xh = q->xhdrs;

	hsrv_stream_release(c, -ECONNABORTED);
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

void hsrv_flush(struct http_conn *c)
{
	struct http_req *q = &c->req;

	while (!c->dead && hsrv_out_pending(c)) {
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
			hsrv_conn_close(c);
			return;
		}
		c->s->st.bytes_out += (uint64_t)n;
		c->t_wprog = hsrv_now(c->s);
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
			http_reason(status), hsrv_date(s), VTAP_VERSION);
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
	c->t_wprog = hsrv_now(s);
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
		hsrv_conn_close(c);
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
void hsrv_fail(struct http_conn *c, int status, const char *why)
{
	char word[64];

	hsrv_req_reset(c);
	c->st = CS_RESP;
	c->req.close_after = true;
	c->req.t_start = hsrv_now(c->s);
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
void hsrv_abort(struct http_conn *c, const char *why)
{
	log_warn("http: %s: %s %s: response aborted: %s", c->peer,
		 c->req.parsed ? c->req.h.method_str : "-", c->req.parsed ? c->req.h.target : "-",
		 why);
	c->s->st.aborted++;
	hsrv_conn_close(c);
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

void hsrv_pump_stream(struct http_conn *c, size_t *produced)
{
	struct http_req *q = &c->req;

	out_compact(c);
	while (!q->stream_ended && !c->dead) {
		int r;
		size_t n;

		if (hsrv_out_pending(c) + c->stage.max + 64 > c->out.max)
			return; /* wait for the client: this is the backpressure */
		if (*produced >= STREAM_BUDGET) {
			c->want_out = true; /* let other connections run */
			return;
		}
		vbuf_reset(&c->stage);
		r = q->more(&c->stage, q->arg);
		n = c->stage.len;
		if (r < 0) {
			hsrv_abort(c, "the producer failed");
			return;
		}
		if (r == HTTP_STREAM_MORE && n == 0) {
			hsrv_abort(c, "the producer made no progress (a bug)");
			return;
		}
		if (q->length >= 0 && (q->body_sent + n > (uint64_t)q->length ||
				       (r == HTTP_STREAM_DONE && q->body_sent + n != (uint64_t)q->length))) {
			hsrv_abort(c, "the producer did not produce the declared length (a bug)");
			return;
		}
		if (add_chunk(c, c->stage.data, n) < 0) {
			hsrv_abort(c, "output buffer overflow (a bug)");
			return;
		}
		*produced += n;
		if (r == HTTP_STREAM_DONE) {
			if (q->chunked && !q->no_body && vbuf_adds(&c->out, "0\r\n\r\n") < 0) {
				hsrv_abort(c, "output buffer overflow (a bug)");
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
	c->t_dprog = hsrv_now(c->s);
	c->s->st.deferred++;
	return req->d;
}

void hsrv_pump_defer(struct http_conn *c)
{
	struct http_req *q = &c->req;
	struct http_defer_head h;
	int err;

	if (!q->head_sent && http_defer_head_take(q->d, &h)) {
		c->t_dprog = hsrv_now(c->s);
		if (h.status < 200 || h.status > 599 || (h.ctype[0] && !http_value_valid(h.ctype))) {
			struct http_defer *d = q->d;
			log_err("http: %s %s: the worker gave an invalid status or type (a bug)",
				q->h.method_str, q->h.path);
			free(h.body);
			q->d = NULL;
			q->kind = R_NONE;
			http_defer_detach(d);
			http_respond_error(q, 500, "internal error", "the handler gave an invalid answer");
			return;
		}
		if (h.full) {
			struct http_defer *d = q->d;
			q->d = NULL;
			q->kind = R_NONE;
			respond_full(q, h.status, h.ctype, h.body, h.body_len, h.body);
			http_defer_detach(d);
			return;
		}
		if (resp_begin(c, h.status, h.ctype, -1) < 0) {
			hsrv_abort(c, "cannot build the answer");
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
		room = c->out.max - VT_MIN(c->out.max, hsrv_out_pending(c) + 64);
		n = VT_MIN(avail, room);
		if (!n)
			break;
		if (q->no_body) {
			http_defer_take(q->d, NULL, n);
		} else {
			if ((q->chunked && vbuf_printf(&c->out, "%zx\r\n", n) < 0) ||
			    http_defer_take(q->d, &c->out, n) < 0 ||
			    (q->chunked && vbuf_adds(&c->out, "\r\n") < 0)) {
				hsrv_abort(c, "output buffer overflow (a bug)");
				return;
			}
			q->body_sent += n;
		}
		c->t_dprog = hsrv_now(c->s);
	}
	if (http_defer_finished(q->d, &err)) {
		if (err < 0) {
			hsrv_abort(c, "the worker aborted the response");
			return;
		}
		if (q->chunked && !q->no_body && vbuf_adds(&c->out, "0\r\n\r\n") < 0) {
			hsrv_abort(c, "output buffer overflow (a bug)");
			return;
		}
		q->complete = true;
		http_defer_detach(q->d);
		q->d = NULL;
	}
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

/* http_ct_is_json() : "application/json" or a "+json" type, parameters
 * allowed ("application/json; charset=utf-8"), nothing else
 * ("application/jsonx" is not JSON). */
static bool http_ct_is_json(const char *ct)
{
	size_t n = strcspn(ct, ";");

	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0 && memchr(ct, '/', n) != NULL;
}

struct json_val *http_req_json(const struct http_req *req, size_t max_nodes, struct vt_err *err)
{
	const char *ct = http_req_header(req, "Content-Type");

	if (!req->body_len) {
		vt_err_set(err, -ENODATA, "a JSON body is required");
		return NULL;
	}
	if (ct && !http_ct_is_json(ct)) {
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
