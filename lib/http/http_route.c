/* http_route.c — see http_route.h. A linear scan over at most
 * HTTP_MAX_ROUTES routes: control APIs have tens of endpoints, and the scan
 * keeps the "most specific wins" rule easy to state and to test. */
#include "http/http_route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/log.h"

enum seg_kind { SEG_WILD = 1, SEG_PARAM = 2, SEG_LIT = 3 }; /* = rank */

struct seg {
	enum seg_kind kind;
	const char *text;   /* literal, or parameter name; points into pattern copy */
};

struct route {
	enum http_method method;
	char *pattern;      /* as registered */
	char *store;        /* segment texts */
	struct seg segs[HTTP_MAX_SEGMENTS];
	size_t nsegs;
	http_handler_fn fn;
	void *arg;
};

struct http_router {
	struct route *routes;
	size_t n;
};

struct http_router *http_router_new(void)
{
	struct http_router *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->routes = calloc(HTTP_MAX_ROUTES, sizeof(*r->routes));
	if (!r->routes) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void http_router_free(struct http_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->routes[i].pattern);
		free(r->routes[i].store);
	}
	free(r->routes);
	free(r);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* RFC 3986 pchar without '%': what a literal segment may contain. */
static bool lit_char(char c)
{
	return name_char(c) || strchr(".~!$&'()*+,;=:@", c) != NULL;
}

static int parse_pattern(struct route *rt, const char *pattern)
{
	char *s, *p;

	if (pattern[0] != '/')
		return -EINVAL;
	rt->store = strdup(pattern + 1);
	if (!rt->store)
		return -ENOMEM;
	s = rt->store;
	rt->nsegs = 0;
	for (;;) {
		char *slash = strchr(s, '/');
		size_t n;
		struct seg *g;

		if (slash)
			*slash = '\0';
		if (rt->nsegs >= HTTP_MAX_SEGMENTS)
			return -EINVAL;
		g = &rt->segs[rt->nsegs++];
		n = strlen(s);
		if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
			s[n - 1] = '\0';
			s++;
			n -= 2;
			g->kind = SEG_PARAM;
			if (n && s[n - 1] == '*') {
				s[--n] = '\0';
				g->kind = SEG_WILD;
				if (slash)
					return -EINVAL; /* a rest parameter comes last */
			}
			if (!n)
				return -EINVAL;
			for (p = s; *p; p++)
				if (!name_char(*p))
					return -EINVAL;
			for (size_t i = 0; i + 1 < rt->nsegs; i++)
				if (rt->segs[i].kind != SEG_LIT && strcmp(rt->segs[i].text, s) == 0)
					return -EINVAL; /* the same name twice */
		} else {
			g->kind = SEG_LIT;
			/* an empty segment only as the last one ("/" or "/ui/") */
			if (!n && slash)
				return -EINVAL;
			for (p = s; *p; p++)
				if (!lit_char(*p))
					return -EINVAL;
		}
		g->text = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	size_t np = 0;
	for (size_t i = 0; i < rt->nsegs; i++)
		np += rt->segs[i].kind != SEG_LIT;
	return np > HTTP_MAX_PARAMS ? -EINVAL : 0;
}

static bool same_shape(const struct route *a, const struct route *b)
{
	if (a->nsegs != b->nsegs)
		return false;
	for (size_t i = 0; i < a->nsegs; i++) {
		if (a->segs[i].kind != b->segs[i].kind)
			return false;
		if (a->segs[i].kind == SEG_LIT && strcmp(a->segs[i].text, b->segs[i].text))
			return false;
	}
	return true;
}

int http_router_add(struct http_router *r, enum http_method method,
		    const char *pattern, http_handler_fn fn, void *arg)
{
	struct route *rt;
	int ret;

	if ((unsigned)method >= HTTP_METHOD_COUNT || !fn || !pattern)
		return -EINVAL;
	if (r->n >= HTTP_MAX_ROUTES)
		return -ENOSPC;
	rt = &r->routes[r->n];
	memset(rt, 0, sizeof(*rt));
	ret = parse_pattern(rt, pattern);
	if (ret == 0) {
		for (size_t i = 0; i < r->n; i++) {
			if (r->routes[i].method == method && same_shape(&r->routes[i], rt)) {
				ret = -EEXIST;
				break;
			}
		}
	}
	if (ret == 0) {
		rt->pattern = strdup(pattern);
		if (!rt->pattern)
			ret = -ENOMEM;
	}
	if (ret < 0) {
		if (ret == -EINVAL)
			log_err("http: invalid route pattern '%s' (segments are literals, {name} or a final {name*})",
				pattern);
		else if (ret == -EEXIST)
			log_err("http: route %s %s registered twice", http_method_name(method), pattern);
		VT_FREE(rt->store);
		return ret;
	}
	rt->method = method;
	rt->fn = fn;
	rt->arg = arg;
	r->n++;
	return 0;
}

/* The decoded segments of a request path. */
struct psegs {
	const char *v[HTTP_MAX_SEGMENTS];
	size_t len[HTTP_MAX_SEGMENTS];
	size_t n;
};

/* Whether <rt> matches; its rank vector goes to <rank>. */
static bool route_matches(const struct route *rt, const struct psegs *ps,
			  uint8_t rank[HTTP_MAX_SEGMENTS])
{
	bool wild = rt->nsegs && rt->segs[rt->nsegs - 1].kind == SEG_WILD;

	if (wild ? ps->n < rt->nsegs - 1 : ps->n != rt->nsegs)
		return false;
	memset(rank, 0, HTTP_MAX_SEGMENTS);
	for (size_t i = 0; i < rt->nsegs; i++) {
		const struct seg *g = &rt->segs[i];
		if (g->kind == SEG_WILD) {
			/* a decoded '/' would be indistinguishable from a separator */
			for (size_t j = i; j < ps->n; j++)
				if (memchr(ps->v[j], '/', ps->len[j]))
					return false;
			for (size_t j = i; j < HTTP_MAX_SEGMENTS; j++)
				rank[j] = SEG_WILD;
			return true;
		}
		if (g->kind == SEG_LIT &&
		    (ps->len[i] != strlen(g->text) || memcmp(ps->v[i], g->text, ps->len[i])))
			return false;
		if (g->kind == SEG_PARAM && !ps->len[i])
			return false; /* "/vms/" names no VM */
		rank[i] = (uint8_t)g->kind;
	}
	return true;
}

static void allow_add(char *allow, size_t cap, const char *m)
{
	size_t n = strlen(allow);

	if (strstr(allow, m))
		return;
	snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", m);
}

int http_router_match(const struct http_router *r, enum http_method method,
		      const char *path, struct http_match *m)
{
	struct psegs ps;
	size_t plen = strlen(path), o = 0;
	const struct route *best = NULL;
	uint8_t best_rank[HTTP_MAX_SEGMENTS], rank[HTTP_MAX_SEGMENTS];
	bool seen[HTTP_METHOD_COUNT] = { false }, any = false;
	enum http_method want = method;
	const char *p;

	memset(m, 0, sizeof(*m));
	if (path[0] != '/')
		return HTTP_MATCH_NOT_FOUND;
	/* decoded segments, then rest values, each NUL-terminated */
	m->buf = malloc(2 * (plen + HTTP_MAX_SEGMENTS + 1));
	if (!m->buf)
		return -ENOMEM;
	ps.n = 0;
	p = path + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		ssize_t d;
		if (ps.n >= HTTP_MAX_SEGMENTS)
			return HTTP_MATCH_NOT_FOUND;
		d = http_pct_decode(m->buf + o, p, n, false);
		if (d < 0)
			return HTTP_MATCH_NOT_FOUND;
		ps.v[ps.n] = m->buf + o;
		ps.len[ps.n++] = (size_t)d;
		o += (size_t)d + 1;
		if (!slash)
			break;
		p = slash + 1;
	}

	for (int pass = 0; pass < 2 && !best; pass++) {
		for (size_t i = 0; i < r->n; i++) {
			const struct route *rt = &r->routes[i];
			if (!route_matches(rt, &ps, rank))
				continue;
			any = true;
			seen[rt->method] = true;
			if (rt->method != want)
				continue;
			if (!best || memcmp(rank, best_rank, sizeof(rank)) > 0) {
				best = rt;
				memcpy(best_rank, rank, sizeof(rank));
			}
		}
		/* HEAD falls back to GET */
		if (want != HTTP_HEAD)
			break;
		want = HTTP_GET;
	}
	if (!any)
		return HTTP_MATCH_NOT_FOUND;
	for (int i = 0; i < HTTP_METHOD_COUNT; i++) {
		if (!seen[i])
			continue;
		allow_add(m->allow, sizeof(m->allow), http_method_name((enum http_method)i));
		if (i == HTTP_GET)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	allow_add(m->allow, sizeof(m->allow), "OPTIONS");
	if (!best)
		return method == HTTP_OPTIONS ? HTTP_MATCH_OPTIONS : HTTP_MATCH_NO_METHOD;

	m->fn = best->fn;
	m->arg = best->arg;
	m->pattern = best->pattern;
	for (size_t i = 0; i < best->nsegs; i++) {
		const struct seg *g = &best->segs[i];
		if (g->kind == SEG_LIT)
			continue;
		m->names[m->nparams] = g->text;
		if (g->kind == SEG_PARAM) {
			m->values[m->nparams++] = ps.v[i];
			continue;
		}
		/* rest: the remaining decoded segments joined by '/' */
		char *v = m->buf + o;
		for (size_t j = i; j < ps.n; j++) {
			if (j > i)
				m->buf[o++] = '/';
			memcpy(m->buf + o, ps.v[j], ps.len[j]);
			o += ps.len[j];
		}
		m->buf[o++] = '\0';
		m->values[m->nparams++] = v;
	}
	return HTTP_MATCH_OK;
}

void http_match_free(struct http_match *m)
{
	if (m)
		VT_FREE(m->buf);
}

const char *http_match_param(const struct http_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}
