/* httpd.c — the lab's tiny HTTP/1.1 server (see httpd.h). One thread, one
 * event loop, non-blocking sockets; bodies are streamed from a static
 * pattern so a /bytes/1G response costs no memory. */
#include "lab/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/evloop.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "flow/addr.h"

/* ---- parsing ----------------------------------------------------------- */

/* line_end() : index of the '\n' ending the line at <p>, or -1. */
static long line_end(const char *buf, size_t len, size_t p)
{
	const char *nl = memchr(buf + p, '\n', len - p);

	return nl ? nl - buf : -1;
}

static bool token_eq(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

static int parse_request_line(const char *l, size_t n, struct httpd_req *req)
{
	const char *sp1 = memchr(l, ' ', n), *sp2;
	size_t plen;

	if (!sp1)
		return -EBADMSG;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));
	if (!sp2)
		return -EBADMSG;
	if (token_eq(l, (size_t)(sp1 - l), "GET"))
		req->method = HTTPD_GET;
	else if (token_eq(l, (size_t)(sp1 - l), "HEAD"))
		req->method = HTTPD_HEAD;
	else
		req->method = HTTPD_OTHER;
	plen = (size_t)(sp2 - sp1 - 1);
	if (plen == 0 || plen >= sizeof(req->path) || sp1[1] != '/')
		return -EBADMSG;
	memcpy(req->path, sp1 + 1, plen);
	req->path[plen] = '\0';
	/* HTTP/1.x only */
	{
		const char *v = sp2 + 1;
		size_t vn = n - (size_t)(v - l);
		while (vn && v[vn - 1] == '\r')
			vn--;
		if (vn != 8 || strncmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9')
			return -EBADMSG;
		req->minor = (unsigned)(v[7] - '0');
	}
	return 0;
}

int httpd_parse(const char *buf, size_t len, struct httpd_req *req)
{
	size_t p = 0;
	long e;
	int r;
	bool conn_close = false, conn_keep = false;

	memset(req, 0, sizeof(*req));
	e = line_end(buf, VT_MIN(len, HTTPD_HDR_MAX), 0);
	if (e < 0)
		return len >= HTTPD_HDR_MAX ? -E2BIG : 0;
	r = parse_request_line(buf, (size_t)e, req);
	if (r < 0)
		return r;
	p = (size_t)e + 1;
	for (;;) {
		const char *l = buf + p, *colon;
		size_t n, nn, vn;
		const char *v;

		e = line_end(buf, VT_MIN(len, HTTPD_HDR_MAX), p);
		if (e < 0)
			return len >= HTTPD_HDR_MAX ? -E2BIG : 0;
		n = (size_t)e - p;
		p = (size_t)e + 1;
		if (n == 0 || (n == 1 && l[0] == '\r'))
			break; /* end of the head */
		colon = memchr(l, ':', n);
		if (!colon || colon == l)
			return -EBADMSG;
		nn = (size_t)(colon - l);
		v = colon + 1;
		vn = n - nn - 1;
		trim(&v, &vn);
		if (token_eq(l, nn, "Connection")) {
			conn_close |= token_eq(v, vn, "close");
			conn_keep |= token_eq(v, vn, "keep-alive");
		} else if (token_eq(l, nn, "Content-Length")) {
			char num[24];
			uint64_t cl;
			if (vn == 0 || vn >= sizeof(num))
				return -EBADMSG;
			memcpy(num, v, vn);
			num[vn] = '\0';
			if (parse_u64(num, 0, HTTPD_MAX_BODY, &cl) < 0)
				return -EBADMSG;
			req->content_length = cl;
		} else if (token_eq(l, nn, "Transfer-Encoding")) {
			return -EBADMSG; /* request bodies in chunks: not for a lab server */
		}
	}
	req->keepalive = req->minor >= 1 ? !conn_close : conn_keep;
	return (int)p;
}

static const char root_body[] = "vtap lab http server\n";

int httpd_route(const struct httpd_req *req, uint64_t *body_len)
{
	static const char bytes[] = "/bytes/";

	*body_len = 0;
	if (req->method == HTTPD_OTHER)
		return 405;
	if (strcmp(req->path, "/") == 0) {
		*body_len = sizeof(root_body) - 1;
		return 200;
	}
	if (strncmp(req->path, bytes, sizeof(bytes) - 1) == 0) {
		uint64_t n;
		if (parse_u64(req->path + sizeof(bytes) - 1, 0, HTTPD_MAX_BODY, &n) == 0) {
			*body_len = n;
			return 200;
		}
	}
	return 404;
}

/* ---- serving ----------------------------------------------------------- */

#define PATTERN_LEN 65536

struct httpd;

struct conn {
	struct ev_io io;
	struct httpd *srv;
	int fd;
	char in[HTTPD_HDR_MAX];
	size_t inlen;
	uint64_t skip;               /* request body bytes still to discard */
	char head[256];
	size_t head_len, head_off;
	uint64_t body_left;
	const char *body_text;       /* "/" has a text body; others the pattern */
	uint64_t body_off;
	bool writing, keepalive, closing;
	int status;
};

struct httpd {
	const struct httpd_opts *o;
	struct evloop *ev;
	struct ev_io lio;
	struct ev_timer deadline;
	int lfd;
	struct conn *conns[HTTPD_MAX_CONN];
	uint64_t requests, responses, body_bytes, connections, rejected;
	uint64_t by_status[6];       /* 200 404 405 400 431 other */
	char pattern[PATTERN_LEN];
};

static unsigned status_slot(int st)
{
	switch (st) {
	case 200: return 0;
	case 404: return 1;
	case 405: return 2;
	case 400: return 3;
	case 431: return 4;
	default: return 5;
	}
}

static const char *reason(int st)
{
	switch (st) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Bad Request";
	}
}

static void conn_close(struct conn *c)
{
	struct httpd *s = c->srv;

	ev_io_del(s->ev, &c->io);
	close(c->fd);
	for (unsigned i = 0; i < HTTPD_MAX_CONN; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	free(c);
}

static void maybe_done(struct httpd *s)
{
	if (s->o->count && s->responses >= s->o->count)
		ev_stop(s->ev);
}

static void start_response(struct conn *c, int status, uint64_t body, const char *text,
			   bool head_only, bool keepalive)
{
	int n;

	c->status = status;
	c->keepalive = keepalive;
	c->body_left = head_only ? 0 : body;
	c->body_off = 0;
	c->body_text = text;
	n = snprintf(c->head, sizeof(c->head),
		     "HTTP/1.1 %d %s\r\nServer: vtap-lab\r\nContent-Type: %s\r\n"
		     "Content-Length: %llu\r\nConnection: %s\r\n\r\n", status, reason(status),
		     c->body_text || status != 200 ? "text/plain" : "application/octet-stream",
		     (unsigned long long)body, keepalive ? "keep-alive" : "close");
	c->head_len = (size_t)n < sizeof(c->head) ? (size_t)n : sizeof(c->head) - 1;
	c->head_off = 0;
	c->writing = true;
	ev_io_mod(c->srv->ev, &c->io, EPOLLOUT);
}

/* try_request() : starts the response to a complete buffered request. */
static void try_request(struct conn *c)
{
	struct httpd_req req;
	int r;
	uint64_t body;

	if (c->skip) {
		size_t k = (size_t)VT_MIN(c->skip, c->inlen);
		memmove(c->in, c->in + k, c->inlen - k);
		c->inlen -= k;
		c->skip -= k;
		if (c->skip)
			return;
	}
	if (!c->inlen)
		return;
	r = httpd_parse(c->in, c->inlen, &req);
	if (r == 0)
		return;
	c->srv->requests++;
	if (r < 0) {
		start_response(c, r == -E2BIG ? 431 : 400, 0, NULL, false, false);
		c->inlen = 0;
		return;
	}
	memmove(c->in, c->in + r, c->inlen - (size_t)r);
	c->inlen -= (size_t)r;
	c->skip = req.content_length;
	r = httpd_route(&req, &body);
	start_response(c, r, body, r == 200 && strcmp(req.path, "/") == 0 ? root_body : NULL,
		       req.method == HTTPD_HEAD, req.keepalive);
}

static void on_write(struct conn *c)
{
	struct httpd *s = c->srv;

	while (c->head_off < c->head_len) {
		ssize_t n = send(c->fd, c->head + c->head_off, c->head_len - c->head_off,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(c);
			return;
		}
		c->head_off += (size_t)n;
	}
	while (c->body_left) {
		const char *src = c->body_text ? c->body_text + c->body_off :
				  s->pattern + (c->body_off % PATTERN_LEN);
		size_t chunk = c->body_text ? (size_t)c->body_left :
			       (size_t)VT_MIN(c->body_left, PATTERN_LEN - (c->body_off % PATTERN_LEN));
		ssize_t n = send(c->fd, src, chunk, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(c);
			return;
		}
		c->body_left -= (uint64_t)n;
		c->body_off += (uint64_t)n;
		s->body_bytes += (uint64_t)n;
	}
	/* response complete */
	s->responses++;
	s->by_status[status_slot(c->status)]++;
	c->writing = false;
	if (!c->keepalive) {
		conn_close(c);
	} else {
		ev_io_mod(s->ev, &c->io, EPOLLIN);
		try_request(c); /* a pipelined request may be waiting */
	}
	maybe_done(s);
}

static void on_conn(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->arg;

	(void)ev;
	if (c->writing) {
		on_write(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n;
		if (c->inlen == sizeof(c->in)) { /* header too long: answered by parse */
			try_request(c);
			return;
		}
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			conn_close(c);
			return;
		}
		c->inlen += (size_t)n;
		try_request(c);
	}
}

static void on_accept(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct httpd *s = io->arg;

	(void)events;
	for (int k = 0; k < 16; k++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned slot = HTTPD_MAX_CONN;
		struct conn *c;

		if (fd < 0)
			return;
		for (unsigned i = 0; i < HTTPD_MAX_CONN && slot == HTTPD_MAX_CONN; i++)
			if (!s->conns[i])
				slot = i;
		c = slot < HTTPD_MAX_CONN ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			s->rejected++;
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		if (ev_io_add(ev, &c->io, fd, EPOLLIN, on_conn, c) < 0) {
			s->rejected++;
			close(fd);
			free(c);
			continue;
		}
		s->conns[slot] = c;
		s->connections++;
	}
}

static void on_stop_signal(struct evloop *ev, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	ev_stop(ev);
}

static void on_deadline(struct evloop *ev, struct ev_timer *t)
{
	(void)t;
	ev_stop(ev);
}

static int listen_on(const struct httpd_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct vt_addr a;
	int fd, one = 1, zero = 0;

	memset(&ss, 0, sizeof(ss));
	if (o->bind && addr_parse(o->bind, &a) < 0)
		return -EINVAL;
	if (o->bind && addr_is_v4(&a) && !strchr(o->bind, ':')) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)o->port);
		memcpy(&sin->sin_addr, a.b + 12, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)o->port);
		if (o->bind)
			memcpy(&sin6->sin6_addr, a.b, 16);
		len = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int httpd_main(const struct httpd_opts *o)
{
	struct httpd *s = calloc(1, sizeof(*s));
	struct vbuf rep;
	struct jw w;
	int rc = 1;

	if (!s)
		return 1;
	s->o = o;
	for (size_t i = 0; i < PATTERN_LEN; i++)
		s->pattern[i] = (char)('a' + i % 26);
	s->lfd = listen_on(o);
	if (s->lfd < 0) {
		int e = s->lfd;
		log_err("http-serve: %s port %llu: %s", o->bind ? o->bind : "[::]",
			(unsigned long long)o->port,
			e == -EINVAL ? "option --bind is not an address" : strerror(-e));
		free(s);
		return e == -EINVAL ? 2 : 1;
	}
	s->ev = ev_new(4);
	if (!s->ev || ev_io_add(s->ev, &s->lio, s->lfd, EPOLLIN, on_accept, s) < 0 ||
	    ev_signal(s->ev, SIGTERM, on_stop_signal, NULL) < 0 ||
	    ev_signal(s->ev, SIGINT, on_stop_signal, NULL) < 0)
		goto out;
	if (o->timeout_ms) {
		ev_timer_init(&s->deadline, on_deadline, s);
		ev_timer_start(s->ev, &s->deadline, o->timeout_ms, 0);
	}
	if (o->ready_file) {
		FILE *fp = fopen(o->ready_file, "w");
		if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0) {
			log_err("http-serve: cannot write %s", o->ready_file);
			goto out;
		}
	}
	ev_run(s->ev);
	vbuf_init(&rep, 1 << 16);
	jw_init(&w, &rep, false);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "requests", s->requests);
	jw_uint(&w, "responses", s->responses);
	jw_uint(&w, "body_bytes", s->body_bytes);
	jw_uint(&w, "connections", s->connections);
	jw_uint(&w, "rejected", s->rejected);
	jw_obj_open(&w, "status");
	static const char *const names[] = { "200", "404", "405", "400", "431", "other" };
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		jw_uint(&w, names[i], s->by_status[i]);
	jw_obj_close(&w);
	jw_obj_close(&w);
	printf("%s\n", vbuf_str(&rep));
	fflush(stdout);
	vbuf_free(&rep);
	rc = 0;
out:
	for (unsigned i = 0; i < HTTPD_MAX_CONN; i++)
		if (s->conns[i])
			conn_close(s->conns[i]);
	ev_free(s->ev);
	close(s->lfd);
	free(s);
	return rc;
}
