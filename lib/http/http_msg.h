/* http_msg.h — HTTP/1.1 message syntax (RFC 9110, RFC 9112): the request
 * head parser the server runs on untrusted input, the response head and
 * chunked-body decoders the client runs on the server's bytes, percent
 * decoding, query strings, and the checks that keep header injection out of
 * what we send.
 *
 * Nothing here does I/O or keeps global state: every function works on the
 * bytes it is given, so the same code is unit-tested, fuzzed
 * (tests/fuzz/fuzz_http_request.c, fuzz_http_response.c) and run by the
 * server and the client. Every length is bounded by struct http_limits. */
#ifndef VT_HTTP_MSG_H
#define VT_HTTP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

/* Limits on one request. The server takes them from its configuration;
 * http_limits_default() gives the documented defaults (docs/http.md). */
struct http_limits {
	uint32_t max_request_line;  /* request line incl. CRLF; longer -> 414 */
	uint32_t max_head;          /* request line + headers; longer -> 431 */
	uint32_t max_headers;       /* header lines; more -> 431 */
	uint32_t max_query_params;  /* query parameters; more -> 400 */
	uint64_t max_body;          /* Content-Length above it -> 413 */
};

#define HTTP_DEFAULT_MAX_REQUEST_LINE 8192u
#define HTTP_DEFAULT_MAX_HEAD (16u << 10)
#define HTTP_DEFAULT_MAX_HEADERS 64u
#define HTTP_DEFAULT_MAX_QUERY_PARAMS 64u
#define HTTP_DEFAULT_MAX_BODY (1u << 20)

void http_limits_default(struct http_limits *l);

/* Methods the server implements. Anything else is answered 501 before
 * routing (RFC 9110 §9.1). */
enum http_method {
	HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH,
	HTTP_OPTIONS, HTTP_METHOD_COUNT
};
const char *http_method_name(enum http_method m);

struct http_hdr {
	const char *name;   /* as sent; compare case-insensitively */
	const char *value;  /* leading/trailing whitespace removed */
};

struct http_kv {
	const char *key;    /* percent- and '+'-decoded, NUL-terminated */
	const char *value;  /* "" for "?flag" */
};

/* A parsed request head. Every string points into <store>, which the head
 * owns (http_reqhead_free releases it). */
struct http_reqhead {
	enum http_method method;
	const char *method_str;   /* as sent */
	const char *target;       /* raw request-target as sent */
	const char *path;         /* raw (percent-encoded) path without query;
				   * "*" for OPTIONS * */
	const char *query;        /* raw query string, "" when absent */
	uint8_t minor;            /* HTTP/1.<minor>: 0 or 1 */
	struct http_hdr *hdrs;
	size_t nhdrs;
	struct http_kv *qs;       /* decoded query parameters, in order */
	size_t nqs;
	uint64_t content_length;  /* 0 when absent */
	bool keep_alive;          /* the client allows another request */
	bool expect_continue;     /* "Expect: 100-continue" (HTTP/1.1) */
	/* When the parser fails: the status to answer and a short reason for
	 * the JSON error body (a static string). */
	int status;
	const char *error;
	void *store;
};

/* http_reqhead_parse() : parses the request head at the start of
 * <buf>/<len> under <lim>. Returns the number of bytes the head takes
 * (including leading empty lines and the empty line that ends it) when it
 * is complete and valid; 0 when more bytes are needed and no limit has been
 * hit yet; -1 when the request must be refused, with <h>->status (400, 411,
 * 413, 414, 417, 431, 501, 505) and <h>->error set. On success the caller
 * owns <h> and frees it with http_reqhead_free(); on 0 or -1 nothing is
 * allocated. The body (h->content_length bytes) follows the head. */
ssize_t http_reqhead_parse(struct http_reqhead *h, const char *buf, size_t len,
			   const struct http_limits *lim);
void http_reqhead_free(struct http_reqhead *h);
/* http_reqhead_get() : the value of the first header named <name>
 * (case-insensitive), or NULL. */
const char *http_reqhead_get(const struct http_reqhead *h, const char *name);
/* http_reqhead_query() : the first query parameter named <key>, or NULL. */
const char *http_reqhead_query(const struct http_reqhead *h, const char *key);

/* http_head_end() : searches <buf>/<len> for the empty line that ends a
 * head, starting at *<scan> (updated so that a later call with more bytes
 * resumes without rescanning). Returns the head length or 0. */
size_t http_head_end(const char *buf, size_t len, size_t *scan);

/* ---- percent-encoding (RFC 3986 §2.1) ---------------------------------- */

/* http_pct_decode() : decodes <n> bytes of <src> into <dst> (room for n + 1
 * bytes is always enough), NUL-terminating it. '+' becomes a space when
 * <plus_space> (query strings). Returns the decoded length, or -EINVAL on a
 * malformed escape or an escape that decodes to NUL. */
ssize_t http_pct_decode(char *dst, const char *src, size_t n, bool plus_space);
/* http_pct_encode() : appends <n> bytes of <s> to <b>, escaping everything
 * but RFC 3986 unreserved characters, so a VM name can be one path segment
 * or one query value. 0 or -ENOSPC. */
int http_pct_encode(struct vbuf *b, const char *s, size_t n);

/* ---- what we send ------------------------------------------------------ */

/* http_token_valid() : <s> is a non-empty RFC 9110 token (header names,
 * methods). */
bool http_token_valid(const char *s);
/* http_value_valid() : <s> may be sent as a header field value: visible
 * characters, spaces and tabs, no CR, LF or other control characters (so a
 * handler cannot inject headers or split the response). */
bool http_value_valid(const char *s);
/* http_reason() : the reason phrase of <status> ("Not Found"); "Unknown"
 * for codes we do not know. */
const char *http_reason(int status);
/* http_date() : an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for Unix
 * time <t> in <buf> (>= 30 bytes). */
const char *http_date(int64_t t, char *buf, size_t len);
/* http_date_parse() : the Unix time of an IMF-fixdate, or -1. */
int64_t http_date_parse(const char *s);

/* ---- client side: response heads and chunked bodies -------------------- */

struct http_resphead {
	uint8_t minor;
	int status;
	char reason[64];          /* truncated */
	char content_type[128];   /* "" when absent; truncated */
	uint64_t content_length;
	bool has_length;
	bool chunked;
	bool close;               /* the server will close after this response */
};

/* http_resphead_parse() : parses a response head at the start of <buf>.
 * Returns its length when complete, 0 when more bytes are needed (and the
 * head is still under <max_head>), -EMSGSIZE when it is longer than
 * <max_head>, -EBADMSG when it is malformed. */
ssize_t http_resphead_parse(struct http_resphead *h, const char *buf, size_t len,
			    size_t max_head);

/* Incremental decoder of a chunked body (RFC 9112 §7.1). Chunk extensions
 * and trailers are skipped, each bounded. */
struct http_chunked {
	int state;
	uint64_t left;      /* bytes left in the current chunk */
	size_t line;        /* bytes of the current size line / trailer line */
	size_t trailer;     /* bytes of trailers so far */
	uint64_t total;     /* decoded bytes so far */
	bool done;          /* the last chunk and the trailers were read */
};

void http_chunked_init(struct http_chunked *c);
/* http_chunked_decode() : decodes in place: consumes bytes from <buf>/<len>
 * and moves the payload to the front of <buf>, storing its length in
 * *<out>. Returns the bytes consumed (all of <len> unless c->done became
 * true, when the rest belongs to whatever follows) or -EBADMSG. */
ssize_t http_chunked_decode(struct http_chunked *c, char *buf, size_t len, size_t *out);

#endif
