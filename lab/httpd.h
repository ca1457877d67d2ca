/* httpd.h — `vtap lab http-serve`: a tiny HTTP/1.1 server for lab traffic
 * with ground truth (curl is the client).
 *
 *   GET /           200, a short text body
 *   GET /bytes/N    200, exactly N bytes (N <= 1 GiB): known flow sizes
 *   other paths     404;  other methods 405;  HEAD everywhere
 * Keep-alive per HTTP/1.1 (HTTP/1.0 closes unless asked otherwise), at most
 * HTTPD_MAX_CONN connections, request headers up to HTTPD_HDR_MAX bytes
 * (431 beyond). On exit it prints what it served as JSON. */
#ifndef VT_LAB_HTTPD_H
#define VT_LAB_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPD_HDR_MAX 8192
#define HTTPD_MAX_CONN 64
#define HTTPD_MAX_BODY (1ull << 30)

enum httpd_method { HTTPD_GET, HTTPD_HEAD, HTTPD_OTHER };

struct httpd_req {
	enum httpd_method method;
	char path[256];
	unsigned minor;               /* HTTP/1.<minor> */
	bool keepalive;
	uint64_t content_length;      /* a request body to skip */
};

/* httpd_parse() : parses the request head in <buf,len>. Returns the head's
 * length (through the blank line) when complete, 0 when more bytes are
 * needed, -EBADMSG when malformed, -E2BIG when longer than HTTPD_HDR_MAX
 * without ending. */
int httpd_parse(const char *buf, size_t len, struct httpd_req *req);

/* httpd_route() : status code and body length for a request. */
int httpd_route(const struct httpd_req *req, uint64_t *body_len);

struct httpd_opts {
	const char *bind;             /* address, default [::] (both families) */
	uint64_t port;
	uint64_t count;               /* exit after this many responses (0: never) */
	uint64_t timeout_ms;          /* exit after this long (0: never) */
	const char *ready_file;       /* created once listening */
};
int httpd_main(const struct httpd_opts *o);

#endif
