/* http_route.h — the routing table of a vtap HTTP API: method + path
 * pattern -> handler.
 *
 * Patterns are absolute paths whose segments are literals, parameters
 * ("{id}", one whole segment) or, last only, a rest parameter ("{path*}",
 * zero or more segments):
 *
 *	http_router_add(r, HTTP_GET, "/api/v1/vms/{id}", vm_show, ctx);
 *	http_router_add(r, HTTP_GET, "/ui/{path*}", http_static_handler, st);
 *
 * The most specific pattern wins, segment by segment from the left
 * (literal > parameter > rest), so "/api/v1/vms/top" beats
 * "/api/v1/vms/{id}" whatever the order of registration. Segments are
 * matched after percent-decoding, so a parameter may hold any byte but NUL
 * (a VM name with a '/' travels as %2F). HEAD is served by the GET route
 * when there is no HEAD route; OPTIONS is answered by the server from the
 * Allow list. The table is built at start-up and read-only afterwards. */
#ifndef VT_HTTP_ROUTE_H
#define VT_HTTP_ROUTE_H

#include <stddef.h>

#include "http/http_msg.h"

#define HTTP_MAX_ROUTES 256
#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_SEGMENTS 32

struct http_req; /* the exchange a handler answers, http_server.h */
typedef void (*http_handler_fn)(struct http_req *req, void *arg);

struct http_router;

/* http_router_new() : an empty table; NULL with errno on failure. */
struct http_router *http_router_new(void);
void http_router_free(struct http_router *r);

/* http_router_add() : registers <fn>(req, <arg>) for <method> on
 * <pattern> (copied). -EINVAL for a malformed pattern (the message is
 * logged), -EEXIST when the same method already has a pattern of the same
 * shape, -ENOSPC past HTTP_MAX_ROUTES. */
int http_router_add(struct http_router *r, enum http_method method,
		    const char *pattern, http_handler_fn fn, void *arg);

enum http_match_result {
	HTTP_MATCH_OK,          /* fn/arg/params are set */
	HTTP_MATCH_NOT_FOUND,   /* no pattern matches the path: 404 */
	HTTP_MATCH_NO_METHOD,   /* patterns match, none for the method: 405 */
	HTTP_MATCH_OPTIONS,     /* OPTIONS on a known path: 204 with Allow */
};

struct http_match {
	http_handler_fn fn;
	void *arg;
	const char *pattern;               /* of the route chosen (metrics, logs) */
	size_t nparams;
	const char *names[HTTP_MAX_PARAMS];
	const char *values[HTTP_MAX_PARAMS]; /* decoded, NUL-terminated */
	char allow[96];                    /* "GET, HEAD, OPTIONS" (405, OPTIONS) */
	char *buf;                         /* owned storage of the values */
};

/* http_router_match() : looks up <method> on the raw (percent-encoded)
 * <path>. Returns an enum http_match_result, or -ENOMEM. Free <m> with
 * http_match_free() whatever the result. */
int http_router_match(const struct http_router *r, enum http_method method,
		      const char *path, struct http_match *m);
void http_match_free(struct http_match *m);
/* http_match_param() : the value of parameter <name>, or NULL. */
const char *http_match_param(const struct http_match *m, const char *name);

#endif
