/* http_client.c — see http_client.h. Sockets are non-blocking and every
 * wait goes through poll() with the remaining time, so no step can hang
 * past the timeout; the response is parsed by http_msg (the same code the
 * fuzzers run). */
#include "http/http_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "http/http_msg.h"

#define MAX_RESP_HEAD (64u << 10)
#define RECV_CHUNK (64u << 10)

struct target {
	bool is_unix;
	char path[108];       /* UNIX socket */
	char host[256];       /* for Host: and getaddrinfo */
	char port[8];
	char hosthdr[300];
	char base[1024];      /* base path, "" for none */
};

struct conn {
	int fd;
	uint64_t timeout_ms;
	const char *who;      /* "the agent at unix:/..." */
};

static int parse_target(const char *t, struct target *tg, struct vt_err *err)
{
	memset(tg, 0, sizeof(*tg));
	if (strncmp(t, "unix:", 5) == 0) {
		tg->is_unix = true;
		if (t[5] != '/' || strlen(t + 5) >= sizeof(tg->path))
			return vt_err_set(err, -EINVAL, "'%s': expected unix:/absolute/path.sock", t);
		snprintf(tg->path, sizeof(tg->path), "%s", t + 5);
		snprintf(tg->hosthdr, sizeof(tg->hosthdr), "localhost");
		return 0;
	}
	if (strncmp(t, "http://", 7) != 0) {
		if (strncmp(t, "https://", 8) == 0)
			return vt_err_set(err, -EPROTONOSUPPORT,
					  "'%s': https is not supported; vtap APIs listen on loopback or UNIX sockets", t);
		return vt_err_set(err, -EINVAL, "'%s' is not a target (http://HOST:PORT or unix:/PATH)", t);
	}
	const char *a = t + 7, *slash = strchr(a, '/'), *hp_end = slash ? slash : a + strlen(a);
	const char *colon = NULL;
	size_t hl;

	if ((size_t)(hp_end - a) >= sizeof(tg->hosthdr) || hp_end == a)
		return vt_err_set(err, -EINVAL, "'%s': bad host", t);
	memcpy(tg->hosthdr, a, (size_t)(hp_end - a));
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(hp_end - a));
		if (!rb)
			return vt_err_set(err, -EINVAL, "'%s': unterminated [IPv6] address", t);
		hl = (size_t)(rb - a - 1);
		/* hosthdr (the bound checked above) is longer than host */
		if (hl == 0 || hl >= sizeof(tg->host))
			return vt_err_set(err, -EINVAL, "'%s': bad host", t);
		memcpy(tg->host, a + 1, hl);
		if (rb + 1 < hp_end) {
			if (rb[1] != ':')
				return vt_err_set(err, -EINVAL, "'%s': bad host", t);
			colon = rb + 1;
		}
	} else {
		colon = memchr(a, ':', (size_t)(hp_end - a));
		hl = (size_t)((colon ? colon : hp_end) - a);
		if (hl >= sizeof(tg->host))
			return vt_err_set(err, -EINVAL, "'%s': bad host", t);
		memcpy(tg->host, a, hl);
	}
	if (colon) {
		size_t pl = (size_t)(hp_end - colon - 1);
		uint64_t port;
		char tmp[8];
		if (!pl || pl >= sizeof(tmp))
			return vt_err_set(err, -EINVAL, "'%s': bad port", t);
		memcpy(tmp, colon + 1, pl);
		tmp[pl] = '\0';
		if (parse_u64(tmp, 1, 65535, &port) < 0)
			return vt_err_set(err, -EINVAL, "'%s': bad port", t);
		snprintf(tg->port, sizeof(tg->port), "%u", (unsigned)port);
	} else {
		snprintf(tg->port, sizeof(tg->port), "80");
	}
	if (slash) {
		size_t bl = strlen(slash);
		while (bl && slash[bl - 1] == '/')
			bl--;
		if (bl >= sizeof(tg->base))
			return vt_err_set(err, -EINVAL, "'%s': base path too long", t);
		memcpy(tg->base, slash, bl);
	}
	return 0;
}

/* Waits for <events> on c->fd; 0, or -ETIMEDOUT. */
static int wait_fd(struct conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };

	for (;;) {
		int r = poll(&p, 1, (int)VT_MIN(c->timeout_ms, (uint64_t)INT32_MAX));
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_one(struct conn *c, int family, const struct sockaddr *sa, socklen_t sl)
{
	int e = 0;
	socklen_t el = sizeof(e);

	c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, sa, sl) == 0)
		return 0;
	if (errno == EINPROGRESS || errno == EAGAIN) {
		int r = wait_fd(c, POLLOUT);
		if (r < 0)
			e = -r;
		else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
	} else {
		e = errno;
	}
	if (!e)
		return 0;
	close(c->fd);
	c->fd = -1;
	return -e;
}

static int do_connect(struct conn *c, const struct target *tg, const char *target,
		      const struct http_client_opts *o, struct vt_err *err)
{
	int r;

	if (tg->is_unix) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", tg->path);
		r = connect_one(c, AF_UNIX, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
		struct addrinfo *res, *ai;
		int g = getaddrinfo(tg->host, tg->port, &hints, &res);
		if (g != 0)
			return vt_err_set(err, -EHOSTUNREACH, "cannot connect to %s at %s: %s",
					  o->peer_name ? o->peer_name : "the server", target,
					  gai_strerror(g));
		r = -EHOSTUNREACH;
		for (ai = res; ai; ai = ai->ai_next) {
			r = connect_one(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen);
			if (r == 0)
				break;
		}
		freeaddrinfo(res);
		if (r == 0) {
			int one = 1;
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
	}
	if (r == 0)
		return 0;
	if (r == -ETIMEDOUT)
		return vt_err_set(err, r, "cannot connect to %s at %s: no answer within %llu ms",
				  o->peer_name ? o->peer_name : "the server", target,
				  (unsigned long long)c->timeout_ms);
	const char *extra = "";
	if ((r == -ENOENT || r == -ECONNREFUSED) && o->hint)
		extra = o->hint;
	else if (r == -EACCES && tg->is_unix)
		extra = "check the socket's permissions (socket_mode, socket_group) or run as root";
	return vt_err_set(err, r, "cannot connect to %s at %s: %s%s%s",
			  o->peer_name ? o->peer_name : "the server", target, strerror(-r),
			  *extra ? " \xe2\x80\x94 " : "", extra);
}

static int send_all(struct conn *c, const void *p, size_t n, struct vt_err *err)
{
	const char *s = p;

	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(c, POLLOUT);
			if (r == -ETIMEDOUT)
				return vt_err_set(err, r, "%s accepts no data (timed out after %llu ms)",
						  c->who, (unsigned long long)c->timeout_ms);
			if (r < 0)
				return vt_err_set(err, r, "sending to %s: %s", c->who, strerror(-r));
			continue;
		}
		return vt_err_set(err, -errno, "sending to %s: %s", c->who, strerror(errno));
	}
	return 0;
}

/* Appends what arrives to <in>; returns the byte count, 0 on EOF. */
static ssize_t recv_some(struct conn *c, struct vbuf *in, size_t max, struct vt_err *err)
{
	size_t want = VT_MIN(RECV_CHUNK, max);

	if (!want)
		return vt_err_set(err, -EMSGSIZE, "the answer of %s is too large", c->who);
	if (vbuf_reserve(in, want) < 0)
		return vt_err_set(err, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t n = recv(c->fd, in->data + in->len, want, 0);
		if (n >= 0) {
			in->len += (size_t)n;
			in->data[in->len] = '\0';
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int r = wait_fd(c, POLLIN);
			if (r == -ETIMEDOUT)
				return vt_err_set(err, r, "no answer from %s within %llu ms", c->who,
						  (unsigned long long)c->timeout_ms);
			if (r < 0)
				return vt_err_set(err, r, "reading from %s: %s", c->who, strerror(-r));
			continue;
		}
		return vt_err_set(err, -errno, "reading from %s: %s", c->who, strerror(errno));
	}
}

struct sink {
	const struct http_client_opts *o;
	struct http_client_resp *resp;
	size_t max;
	const char *who;
};

static int deliver(struct sink *k, const void *p, size_t n, struct vt_err *err)
{
	int r;

	if (!n)
		return 0;
	if (k->o->on_body) {
		r = k->o->on_body(p, n, k->o->arg);
		return r < 0 ? vt_err_set(err, r, "receiving from %s: %s", k->who, strerror(-r)) : 0;
	}
	if (vbuf_add(&k->resp->body, p, n) < 0)
		return vt_err_set(err, -EMSGSIZE, "the answer of %s is larger than %zu bytes", k->who,
				  k->max);
	return 0;
}

static int build_request(struct vbuf *b, const struct target *tg, const char *method,
			 const char *path, size_t len, const struct http_client_opts *o,
			 struct vt_err *err)
{
	int r;

	if (!http_token_valid(method))
		return vt_err_set(err, -EINVAL, "'%s' is not an HTTP method", method);
	if (!path)
		path = "";
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return vt_err_set(err, -EINVAL, "request path '%s' must be percent-encoded",
					  path);
	if (*path && *path != '/')
		return vt_err_set(err, -EINVAL, "request path '%s' must start with '/'", path);
	r = vbuf_printf(b, "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vtap/%s\r\n"
			"Accept: application/json, */*\r\nConnection: close\r\n",
			method, tg->base, *path || *tg->base ? path : "/", tg->hosthdr, VTAP_VERSION);
	if (!r && (len || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
		   !strcmp(method, "PATCH")))
		r = vbuf_printf(b, "Content-Type: %s\r\nContent-Length: %zu\r\n",
				o->content_type ? o->content_type : "application/json", len);
	for (size_t i = 0; !r && o->headers && o->headers[i]; i++) {
		const char *h = o->headers[i], *colon = strchr(h, ':');
		char name[128];
		if (!colon || (size_t)(colon - h) >= sizeof(name))
			return vt_err_set(err, -EINVAL, "header '%s' is not 'Name: value'", h);
		memcpy(name, h, (size_t)(colon - h));
		name[colon - h] = '\0';
		if (!http_token_valid(name) || !http_value_valid(colon + 1))
			return vt_err_set(err, -EINVAL, "header '%s' is not 'Name: value'", h);
		r = vbuf_printf(b, "%s\r\n", h);
	}
	if (!r)
		r = vbuf_adds(b, "\r\n");
	return r < 0 ? vt_err_set(err, r, "request too large") : 0;
}

int http_client_request(const char *target, const char *method, const char *path,
			const void *body, size_t len, const struct http_client_opts *opts,
			struct http_client_resp *resp, struct vt_err *err)
{
	static const struct http_client_opts none;
	const struct http_client_opts *o = opts ? opts : &none;
	struct target tg;
	struct conn c = { .fd = -1 };
	struct vbuf req, in;
	struct http_resphead h;
	struct sink k;
	char who[512];
	size_t max = o->max_response ? o->max_response : HTTP_CLIENT_DEFAULT_MAX_RESPONSE;
	bool is_head = strcmp(method, "HEAD") == 0;
	ssize_t hl = 0, n;
	int r;

	memset(resp, 0, sizeof(*resp));
	vbuf_init(&resp->body, max);
	vbuf_init(&req, (64u << 10));
	vbuf_init(&in, MAX_RESP_HEAD + RECV_CHUNK);
	c.timeout_ms = o->timeout_ms ? o->timeout_ms : HTTP_CLIENT_DEFAULT_TIMEOUT_MS;
	snprintf(who, sizeof(who), "%s at %s", o->peer_name ? o->peer_name : "the server", target);
	c.who = who;
	k = (struct sink){ o, resp, max, who };

	r = parse_target(target, &tg, err);
	if (!r)
		r = build_request(&req, &tg, method, path, len, o, err);
	if (!r)
		r = do_connect(&c, &tg, target, o, err);
	if (!r)
		r = send_all(&c, req.data, req.len, err);
	if (!r && len)
		r = send_all(&c, body, len, err);
	if (r < 0)
		goto out;

	/* the head, skipping interim 1xx answers (100 Continue) */
	for (;;) {
		hl = http_resphead_parse(&h, (const char *)in.data, in.len, MAX_RESP_HEAD);
		if (hl > 0 && h.status >= 100 && h.status < 200 && h.status != 101) {
			vbuf_consume(&in, (size_t)hl);
			continue;
		}
		if (hl != 0)
			break;
		n = recv_some(&c, &in, in.max - in.len, err);
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0) {
			r = vt_err_set(err, -ECONNRESET, "%s closed the connection without an answer", who);
			goto out;
		}
	}
	if (hl < 0) {
		r = vt_err_set(err, (int)hl, "%s sent a malformed HTTP answer", who);
		goto out;
	}
	resp->status = h.status;
	snprintf(resp->reason, sizeof(resp->reason), "%s", h.reason);
	snprintf(resp->content_type, sizeof(resp->content_type), "%s", h.content_type);
	vbuf_consume(&in, (size_t)hl);

	if (is_head || h.status == 204 || h.status == 304)
		goto out;
	if (h.chunked) {
		struct http_chunked ch;
		http_chunked_init(&ch);
		for (;;) {
			size_t outn;
			ssize_t used = http_chunked_decode(&ch, (char *)in.data, in.len, &outn);
			if (used < 0) {
				r = vt_err_set(err, -EBADMSG, "%s sent a malformed chunked body", who);
				goto out;
			}
			r = deliver(&k, in.data, outn, err);
			if (r < 0)
				goto out;
			vbuf_reset(&in);
			if (ch.done)
				break;
			n = recv_some(&c, &in, in.max, err);
			if (n <= 0) {
				r = n < 0 ? (int)n : vt_err_set(err, -ECONNRESET,
					"%s closed the connection before the end of the answer", who);
				goto out;
			}
		}
	} else {
		uint64_t left = h.has_length ? h.content_length : UINT64_MAX;
		for (;;) {
			size_t take = (size_t)VT_MIN((uint64_t)in.len, left);
			r = deliver(&k, in.data, take, err);
			if (r < 0)
				goto out;
			left -= take;
			vbuf_reset(&in);
			if (!left)
				break;
			n = recv_some(&c, &in, in.max, err);
			if (n < 0) {
				r = (int)n;
				goto out;
			}
			if (n == 0) {
				if (!h.has_length)
					break; /* the close ends the body */
				r = vt_err_set(err, -ECONNRESET,
					       "%s closed the connection before the end of the answer", who);
				goto out;
			}
		}
	}
out:
	if (c.fd >= 0)
		close(c.fd);
	vbuf_free(&req);
	vbuf_free(&in);
	return r;
}

void http_client_resp_free(struct http_client_resp *r)
{
	if (r)
		vbuf_free(&r->body);
}

const char *http_client_error_text(const struct http_client_resp *r, char *buf, size_t len)
{
	struct vt_err e;
	struct json_val *v = NULL;

	if (r->body.len && strstr(r->content_type, "json"))
		v = json_parse((const char *)r->body.data, r->body.len, 1000, &e);
	if (v && json_get_str(v, "error")) {
		const struct json_val *d = json_get(v, "detail");
		if (d && d->type == JSON_STR)
			snprintf(buf, len, "%s: %s", json_get_str(v, "error"), d->u.str.s);
		else
			snprintf(buf, len, "%s", json_get_str(v, "error"));
	} else if (r->body.len) {
		const char *s = (const char *)r->body.data;
		size_t n = strcspn(s, "\r\n");
		snprintf(buf, len, "%.*s", (int)VT_MIN(n, (size_t)200), s);
	} else {
		snprintf(buf, len, "%d %s", r->status, r->reason);
	}
	json_free(v);
	return buf;
}

int http_client_json(const char *target, const char *method, const char *path,
		     const void *body, size_t len, const struct http_client_opts *o,
		     struct http_client_resp *resp, struct json_val **doc, struct vt_err *err)
{
	const char *peer = o && o->peer_name ? o->peer_name : "the server";
	char b[512];
	int rc;

	*doc = NULL;
	rc = http_client_request(target, method, path, body, len, o, resp, err);
	if (rc < 0)
		return rc;
	if (resp->status < 200 || resp->status > 299)
		return vt_err_set(err, -EPROTO, "%s", http_client_error_text(resp, b, sizeof(b)));
	/* a value takes at least one byte: the body bounds the tree */
	*doc = json_parse((const char *)resp->body.data, resp->body.len, resp->body.len + 1, err);
	if (!*doc) {
		snprintf(b, sizeof(b), "%s", err->msg);
		return vt_err_set(err, -EBADMSG, "%s's answer is not JSON: %s", peer, b);
	}
	return 0;
}

void http_client_target(const char *spec, char *out, size_t cap)
{
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "http://", 7) == 0)
		snprintf(out, cap, "%s", spec);
	else if (spec[0] == '/')
		snprintf(out, cap, "unix:%s", spec);
	else
		snprintf(out, cap, "http://%s", spec);
}
