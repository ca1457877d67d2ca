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
#include "http/http_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "http/prom.h"

#define ACCEPT_BATCH 32
#define READ_CHUNK (16u << 10)
#define READ_BUDGET (256u << 10)    /* bytes read per connection per event */
#define LINGER_MS 2000
#define LINGER_MAX (256u << 10)

static void conn_drive(struct http_conn *c);

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

/* ---- helpers for http_answer.c, and the hub of deferred answers ------------------------------------------------------ */

uint64_t hsrv_now(const struct http_server *s)
{
	return ev_now_ns(s->ev);
}

const char *hsrv_date(struct http_server *s)
{
	int64_t t = (int64_t)time(NULL);

	if (t != s->date_sec) {
		s->date_sec = t;
		http_date(t, s->date, sizeof(s->date));
	}
	return s->date;
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
		hsrv_conn_close(c);
		return;
	}
	c->st = CS_LINGER;
	c->t_linger = hsrv_now(c->s);
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
		  (double)(hsrv_now(c->s) - q->t_start) / 1e6);
}

static void finish_request(struct http_conn *c)
{
	struct http_server *s = c->s;
	struct http_req *q = &c->req;
	size_t used = q->parsed ? c->head_len + (size_t)q->h.content_length : c->in.len;
	bool close = q->close_after || s->shutting_down;

	access_log(c);
	s->st.responses[q->status / 100 % 6]++;
	hsrv_stream_release(c, 0);
	hsrv_req_reset(c);
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
	c->t_idle = c->t_first = hsrv_now(s);
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
			hsrv_conn_close(c);
		return false;
	}
	end = http_head_end((const char *)c->in.data, c->in.len, &c->scan);
	if (!end && c->in.len <= s->lim.max_head) {
		if (c->peer_eof)
			hsrv_conn_close(c); /* a partial request and no more to come */
		return false;
	}
	r = http_reqhead_parse(&c->req.h, (const char *)c->in.data, c->in.len, &s->lim);
	s->st.requests++;
	c->req.t_start = hsrv_now(s);
	if (r <= 0) {
		s->st.bad_requests++;
		hsrv_fail(c, r < 0 ? c->req.h.status : 400,
			  r < 0 ? c->req.h.error : "malformed request head");
		return true;
	}
	c->req.parsed = true;
	c->head_len = (size_t)r;
	c->st = CS_BODY;
	c->t_head = hsrv_now(s);
	if (c->req.h.expect_continue && c->req.h.content_length > c->in.len - c->head_len) {
		if (vbuf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") == 0)
			hsrv_flush(c);
	}
	return true;
}

static bool step_body(struct http_conn *c)
{
	if (c->in.len - c->head_len < c->req.h.content_length) {
		if (c->peer_eof)
			hsrv_conn_close(c);
		return false;
	}
	dispatch(c);
	return true;
}

static bool step_resp(struct http_conn *c, size_t *produced)
{
	struct http_req *q = &c->req;

	if (q->kind == R_STREAM)
		hsrv_pump_stream(c, produced);
	else if (q->kind == R_DEFER && q->d)
		hsrv_pump_defer(c);
	if (c->dead)
		return false;
	hsrv_flush(c);
	if (c->dead)
		return false;
	if (q->complete && !hsrv_out_pending(c)) {
		finish_request(c);
		return !c->dead;
	}
	/* a stream that can produce more while the socket is writable */
	if (q->kind == R_STREAM && !q->stream_ended && !hsrv_out_pending(c)) {
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
				hsrv_conn_close(c);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		hsrv_conn_close(c);
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
			hsrv_conn_close(c);
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
				c->t_first = hsrv_now(s);
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
			hsrv_conn_close(c);
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
				(c->nreq ? cf->idle_timeout_ms : cf->header_timeout_ms) * NS_PER_MS;
		} else {
			c->tmo = TMO_HEADER;
			c->deadline = c->t_first + cf->header_timeout_ms * NS_PER_MS;
		}
		break;
	case CS_BODY:
		if (c->in.len < c->in.max && !c->peer_eof)
			m = EPOLLIN;
		c->tmo = TMO_BODY;
		c->deadline = c->t_head + cf->body_timeout_ms * NS_PER_MS;
		break;
	case CS_RESP:
		if (hsrv_out_pending(c) || c->want_out)
			m |= EPOLLOUT;
		if (q->kind == R_DEFER && !c->peer_eof)
			m |= EPOLLRDHUP;
		if (hsrv_out_pending(c) || c->want_out) {
			/* output waiting, or a stream waiting for room */
			c->tmo = TMO_WRITE;
			c->deadline = c->t_wprog + cf->write_timeout_ms * NS_PER_MS;
		} else if (q->kind == R_DEFER && cf->handler_timeout_ms) {
			c->tmo = TMO_HANDLER;
			c->deadline = c->t_dprog + cf->handler_timeout_ms * NS_PER_MS;
		}
		break;
	case CS_LINGER:
		m = EPOLLIN;
		c->tmo = TMO_LINGER;
		c->deadline = c->t_linger + LINGER_MS * NS_PER_MS;
		break;
	}
	if (ev_io_mod(s->ev, &c->io, m) < 0) {
		log_err("http: %s: epoll: %s", c->peer, strerror(errno));
		hsrv_conn_close(c);
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
		hsrv_conn_close(c);
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
		hsrv_conn_close(c);
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

void hsrv_conn_close(struct http_conn *c)
{
	struct http_server *s = c->s;

	if (c->dead)
		return;
	c->dead = true;
	hsrv_req_reset(c);
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
		hsrv_conn_close(c);
		return;
	case TMO_HEADER:
		s->st.timeouts_header++;
		hsrv_fail(c, 408, "the request head did not arrive in time");
		break;
	case TMO_BODY:
		s->st.timeouts_body++;
		hsrv_fail(c, 408, "the request body did not arrive in time");
		break;
	case TMO_WRITE:
		s->st.timeouts_write++;
		log_debug("http: %s: client not reading for %llu ms, disconnected", c->peer,
			  (unsigned long long)s->conf.write_timeout_ms);
		if (!c->req.complete)
			s->st.aborted++;
		hsrv_conn_close(c);
		return;
	case TMO_HANDLER:
		s->st.timeouts_handler++;
		if (c->req.head_sent) {
			hsrv_abort(c, "the worker made no progress");
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
		hsrv_conn_close(c);
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
	 * answer into a reset — at most 64 KiB: a client streaming into a
	 * refused connection must not hold the event loop */
	for (size_t drained = 0; drained < 65536;) {
		ssize_t r = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (r <= 0)
			break;
		drained += (size_t)r;
	}
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
	c->t_idle = hsrv_now(s);
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
			hsrv_conn_close(c);
	}
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	close_listeners(s);
	while (s->conns)
		hsrv_conn_close(s->conns);
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

