/* http_server.h — the HTTP/1.1 server every vtap daemon's control and query
 * API runs on (the agent's UNIX-socket control API, the collector's JSON
 * API and /metrics, later the web console and the manager).
 *
 * It runs on the daemon's event loop (lib/core/evloop.h) and never blocks:
 * listeners and connections are non-blocking fds on the loop; one periodic
 * timer enforces the per-connection timeouts; every buffer is bounded by
 * struct http_server_conf and every refusal is counted in
 * struct http_server_stats. docs/http.md is the user's guide.
 *
 * The handler contract (details in docs/http.md):
 *  - A handler (http_handler_fn, registered in a struct http_router) runs on
 *    the loop thread and must not block. Before it returns it must do
 *    exactly one of: answer (http_respond*), start a stream
 *    (http_stream_start), or defer (http_defer). A handler that does none
 *    of these gets a 500 logged as a bug.
 *  - <req> and everything read from it (path, headers, params, body) are
 *    valid only until the handler returns. Copy what a worker needs.
 *  - Long work goes to another thread through http_defer(): the worker
 *    answers with http_defer_respond() or streams with
 *    http_defer_stream_begin()/http_defer_write()/http_defer_end(), which
 *    are thread-safe and apply backpressure (write blocks while the
 *    client is slower than the worker).
 *  - Big results on the loop thread use http_stream_start(): the server
 *    calls the producer only when the socket has drained, so a listing of
 *    any size costs one bounded buffer per connection. */
#ifndef VT_HTTP_SERVER_H
#define VT_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/evloop.h"
#include "core/json.h"
#include "core/compiler.h"
#include "http/http_listen.h"
#include "http/http_msg.h"
#include "http/http_route.h"

struct prom;

/* ---- configuration ------------------------------------------------------ */

struct http_server_conf {
	struct http_listen_list listen;   /* key `listen` */
	uint64_t socket_mode;             /* UNIX sockets, e.g. 0660 */
	char *socket_group;               /* owned (conf_free); NULL = process group */
	uint64_t max_connections;         /* more are answered 503 and closed */
	uint64_t max_body;                /* request Content-Length, bytes */
	uint64_t max_header_size;         /* request line + headers, bytes */
	uint64_t max_headers;             /* header fields per request */
	uint64_t header_timeout_ms;       /* first byte -> complete head */
	uint64_t body_timeout_ms;         /* complete head -> complete body */
	uint64_t idle_timeout_ms;         /* keep-alive wait for the next request */
	uint64_t write_timeout_ms;        /* no write progress to a slow client */
	uint64_t handler_timeout_ms;      /* deferred response without progress */
	uint64_t output_buffer;           /* per-connection output bound (streams) */
};

/* http_server_conf_init() : the documented defaults (the same as the key
 * table's), with no listen address. */
void http_server_conf_init(struct http_server_conf *c);

/* Config keys for a daemon's API section, with the daemon's own default
 * listen address (loopback or a UNIX socket: callers choose, and should
 * choose one that is not reachable from the network). The section's
 * struct is a struct http_server_conf:
 *
 *	static const struct conf_key api_keys[] = {
 *		HTTP_CONF_KEYS("127.0.0.1:8080")
 *	};
 *	{ "api", "HTTP API", api_keys, ARRAY_SIZE(api_keys),
 *	  offsetof(struct collector_conf, api) }
 *
 * The section's struct is a struct http_server_conf, or begins with one.
 * A daemon with no default address passes NULL and must be configured. */
int http_conf_parse_listen(const char *val, void *field, struct vt_err *err);
int http_conf_parse_mode(const char *val, void *field, struct vt_err *err);
#define HTTP_CONF_OFF_(T, f) (offsetof(T, f))
#define HTTP_CONF_KEYS(listen_def)                                                       \
	{ "listen", CONF_CUSTOM, HTTP_CONF_OFF_(struct http_server_conf, listen), 0, 0, \
	  listen_def,                                                                      \
	  "where the API listens: ADDRESS:PORT, [IPV6]:PORT or unix:/PATH, several "       \
	  "separated by commas; port 0 picks a free port",                                 \
	  NULL, http_conf_parse_listen, "address list", false },                           \
	{ "socket_mode", CONF_CUSTOM, HTTP_CONF_OFF_(struct http_server_conf, socket_mode), \
	  0, 0777, "0660", "permissions of a UNIX socket (octal)", NULL,                   \
	  http_conf_parse_mode, "octal mode", false },                                     \
	{ "socket_group", CONF_STR, HTTP_CONF_OFF_(struct http_server_conf, socket_group), \
	  0, 64, NULL, "group owning a UNIX socket (default: the daemon's group)", NULL,   \
	  NULL, NULL, false },                                                             \
	{ "max_connections", CONF_UINT,                                                    \
	  HTTP_CONF_OFF_(struct http_server_conf, max_connections), 1, 65536, "256",       \
	  "concurrent connections; more are answered 503 and counted", NULL, NULL, NULL,   \
	  false },                                                                         \
	{ "max_body", CONF_SIZE, HTTP_CONF_OFF_(struct http_server_conf, max_body), 0,     \
	  1ull << 30, "1M", "largest request body accepted (larger: 413)", NULL, NULL,     \
	  NULL, false },                                                                   \
	{ "max_header_size", CONF_SIZE,                                                    \
	  HTTP_CONF_OFF_(struct http_server_conf, max_header_size), 1024, 1u << 20, "16k", \
	  "largest request line + headers (larger: 431; request line over 8k: 414)",      \
	  NULL, NULL, NULL, false },                                                       \
	{ "max_headers", CONF_UINT, HTTP_CONF_OFF_(struct http_server_conf, max_headers),  \
	  8, 1000, "64", "most header fields in a request (more: 431)", NULL, NULL, NULL,   \
	  false },                                                                         \
	{ "header_timeout", CONF_DURATION,                                                 \
	  HTTP_CONF_OFF_(struct http_server_conf, header_timeout_ms), 100, 600000, "10s",  \
	  "time from a request's first byte (or the connection) to its complete head "     \
	  "(then 408)", NULL, NULL, NULL, false },                                         \
	{ "body_timeout", CONF_DURATION,                                                   \
	  HTTP_CONF_OFF_(struct http_server_conf, body_timeout_ms), 100, 3600000, "30s",   \
	  "time to receive a request body after its head (then 408)", NULL, NULL, NULL,  \
	  false },                                                                         \
	{ "idle_timeout", CONF_DURATION,                                                   \
	  HTTP_CONF_OFF_(struct http_server_conf, idle_timeout_ms), 100, 3600000, "60s",   \
	  "how long a keep-alive connection waits for its next request", NULL, NULL, NULL, \
	  false },                                                                         \
	{ "write_timeout", CONF_DURATION,                                                  \
	  HTTP_CONF_OFF_(struct http_server_conf, write_timeout_ms), 100, 3600000, "30s",  \
	  "a client that reads nothing for this long is disconnected", NULL, NULL, NULL,   \
	  false },                                                                         \
	{ "handler_timeout", CONF_DURATION,                                                \
	  HTTP_CONF_OFF_(struct http_server_conf, handler_timeout_ms), 0, 3600000, "60s",  \
	  "a deferred response that makes no progress for this long is answered 503 "      \
	  "(0: never)", NULL, NULL, NULL, false },                                         \
	{ "output_buffer", CONF_SIZE,                                                      \
	  HTTP_CONF_OFF_(struct http_server_conf, output_buffer), 16384, 64u << 20,        \
	  "256k", "output buffered per connection before a stream waits for the client",  \
	  NULL, NULL, NULL, false }
/* Number of keys HTTP_CONF_KEYS() expands to. */
#define HTTP_CONF_NKEYS 13

/* ---- the server --------------------------------------------------------- */

struct http_server_stats {
	uint64_t accepted;          /* connections accepted */
	uint64_t refused_limit;     /* refused: max_connections reached (503) */
	uint64_t refused_fd;        /* refused: out of file descriptors */
	uint64_t active;            /* connections open now */
	uint64_t requests;          /* request heads parsed (or refused) */
	uint64_t responses[6];      /* by class: [1] 1xx ... [5] 5xx */
	uint64_t bad_requests;      /* refused by the parser (400/411/413/414/431/...) */
	uint64_t timeouts_header;   /* header_timeout hit */
	uint64_t timeouts_body;
	uint64_t timeouts_idle;
	uint64_t timeouts_write;    /* slow readers disconnected */
	uint64_t timeouts_handler;  /* deferred responses that made no progress */
	uint64_t aborted;           /* responses cut short (client gone, producer error) */
	uint64_t streams;           /* streamed responses started */
	uint64_t deferred;          /* deferred responses started */
	uint64_t bytes_in;
	uint64_t bytes_out;
};

struct http_server;

/* http_server_new() : a server on loop <ev> (it uses two timer slots and
 * one fd of its own) routing through <router>. <conf> is copied except
 * socket_group, which must outlive the server; <router> is not owned and
 * must outlive it. Create it on the loop's thread. NULL with errno. */
struct http_server *http_server_new(struct evloop *ev, const struct http_server_conf *conf,
				    const struct http_router *router);
/* http_server_listen() : opens one listener; returns its index (>= 0) or a
 * negative errno with a message in <err> naming the address. */
int http_server_listen(struct http_server *s, const struct http_listen_addr *a,
		       struct vt_err *err);
/* http_server_listen_conf() : opens every address in conf->listen. */
int http_server_listen_conf(struct http_server *s, struct vt_err *err);
/* http_server_addr() : the bound address of listener <i> ("127.0.0.1:41234",
 * "unix:/run/vtap/agent.sock"), NULL if there is no such listener. */
const char *http_server_addr(const struct http_server *s, unsigned i);
/* http_server_port() : the bound TCP port of listener <i> (0 for UNIX). */
uint16_t http_server_port(const struct http_server *s, unsigned i);
void http_server_get_stats(const struct http_server *s, struct http_server_stats *st);
/* http_server_metrics() : the stats as Prometheus families vtap_http_*. */
int http_server_metrics(const struct http_server *s, struct prom *p);
/* http_server_shutdown() : stops accepting, closes idle connections and
 * closes the others after their current response. */
void http_server_shutdown(struct http_server *s);
/* http_server_free() : closes listeners (unlinking our UNIX sockets) and
 * connections, cancels deferred responses and ends streams (their done
 * callbacks run). Call it after ev_run() returns, never from a callback of
 * this server. Accepts NULL. */
void http_server_free(struct http_server *s);

/* ---- the request, for handlers ------------------------------------------ */

struct http_req;

enum http_method http_req_method(const struct http_req *req);
/* the raw (percent-encoded) path, without the query */
const char *http_req_path(const struct http_req *req);
const char *http_req_header(const struct http_req *req, const char *name);
/* a decoded query parameter, NULL when absent ("" for "?flag") */
const char *http_req_query(const struct http_req *req, const char *key);
/* a decoded route parameter ("{id}" -> "id") */
const char *http_req_param(const struct http_req *req, const char *name);
/* the whole parsed head: every header and query parameter */
const struct http_reqhead *http_req_head(const struct http_req *req);
/* the body, *<len> bytes (not NUL-terminated), or NULL with *len = 0 */
const char *http_req_body(const struct http_req *req, size_t *len);
/* http_req_json() : the body parsed as JSON (at most <max_nodes> values),
 * owned by the caller. NULL with <err> set when there is no body
 * (-ENODATA), the Content-Type is not JSON (-EPROTO: answer 415) or the
 * JSON is invalid (answer 400); err->msg is the detail:
 * http_respond_error(req, 400, "invalid request body", "%s", err.msg). */
struct json_val *http_req_json(const struct http_req *req, size_t max_nodes,
			       struct vt_err *err);
/* "127.0.0.1:50312", "[::1]:50312" or "unix:pid=123,uid=0" */
const char *http_req_peer(const struct http_req *req);
/* http_req_peer_cred() : the peer's pid/uid/gid on a UNIX socket
 * (SO_PEERCRED), so a control API can authorise by user. -ENOTSUP on TCP. */
int http_req_peer_cred(const struct http_req *req, struct ucred *cred);
/* the pattern of the route that matched, for metrics */
const char *http_req_route(const struct http_req *req);

/* ---- answering ---------------------------------------------------------- */

/* http_set_header() : adds a response header (call before answering).
 * -EINVAL when <name> is not a token or <value> holds CR, LF or another
 * control character (no header injection), or for headers the server
 * owns (Content-Length, Transfer-Encoding, Connection, Date, Server);
 * -ENOSPC past 4 KiB of extra headers. */
int http_set_header(struct http_req *req, const char *name, const char *value);
/* http_respond() : answers with a copy of <body> (<len> bytes) and
 * Content-Length. <ctype> may be NULL when there is no body. */
int http_respond(struct http_req *req, int status, const char *ctype, const void *body,
		 size_t len);
/* http_respond_vbuf() : the same, taking <body>'s storage (left empty). */
int http_respond_vbuf(struct http_req *req, int status, const char *ctype, struct vbuf *body);
/* http_respond_json() : application/json from a buffer built with jw_*. */
int http_respond_json(struct http_req *req, int status, struct vbuf *body);
/* http_respond_error() : the vtap error convention,
 * {"error": "<error>", "detail": "<formatted detail>"} (detail omitted when
 * <fmt> is NULL). */
int http_respond_error(struct http_req *req, int status, const char *error,
		       const char *fmt, ...) VT_PRINTF(4, 5);
/* http_respond_error_json() : the same with a structured detail, given as
 * encoded JSON (an object or array). */
int http_respond_error_json(struct http_req *req, int status, const char *error,
			    const char *detail_json);

/* ---- streaming on the loop thread --------------------------------------- */

#define HTTP_STREAM_DONE 0
#define HTTP_STREAM_MORE 1

/* A producer appends the next part of the body to <out> — a batch of rows,
 * not more than out->max - out->len bytes (appends past it fail with
 * -ENOSPC and abort the response) — and returns HTTP_STREAM_MORE,
 * HTTP_STREAM_DONE (nothing more; what it appended is sent), or a negative
 * errno to abort (the client sees the connection close before the end of
 * the body, so it cannot mistake a partial listing for a whole one). <out>
 * is the same buffer at every call and is emptied between calls, so a
 * struct jw can be kept on it across calls. A call that appends nothing and
 * returns MORE is an error. */
typedef int (*http_stream_fn)(struct vbuf *out, void *arg);
/* Called exactly once when the stream ends: <err> 0 when the whole body was
 * handed to the socket, negative when it was aborted (client gone,
 * write_timeout, producer error, server freed). It owns <arg>'s cleanup. */
typedef void (*http_stream_done_fn)(void *arg, int err);

/* http_stream_start() : answers <status> with a body produced by <more>;
 * <done>(<arg>) runs exactly once, also when the start itself fails.
 * <length> >= 0 declares the body length (Content-Length; the producer
 * must produce exactly that), -1 streams it chunked (HTTP/1.1) or until
 * close (HTTP/1.0). For HEAD requests <more> is never called. */
int http_stream_start(struct http_req *req, int status, const char *ctype, int64_t length,
		      http_stream_fn more, http_stream_done_fn done, void *arg);

/* ---- deferred responses (work on another thread) ------------------------ */

struct http_defer;

/* http_defer() : the handler will answer later. The token is owned by the
 * caller until it passes it to http_defer_respond() or http_defer_end()
 * (exactly one, exactly once), from any thread. Headers set with
 * http_set_header() before the call are kept. NULL with errno (ENOMEM);
 * then answer directly. */
struct http_defer *http_defer(struct http_req *req);
/* http_defer_respond() : answers with a copy of <body>; releases <d>.
 * -EPIPE when the client is gone (the answer is dropped; <d> released). */
int http_defer_respond(struct http_defer *d, int status, const char *ctype, const void *body,
		       size_t len);
/* http_defer_error() : http_respond_error() for a deferred response. */
int http_defer_error(struct http_defer *d, int status, const char *error, const char *fmt, ...)
	VT_PRINTF(4, 5);
/* http_defer_stream_begin() : starts a streamed (chunked) answer. */
int http_defer_stream_begin(struct http_defer *d, int status, const char *ctype);
/* http_defer_write() : queues body bytes. On a worker thread it blocks
 * while the connection's queue (output_buffer bytes) is full; on the loop
 * thread it returns -EWOULDBLOCK instead (use http_stream_start there).
 * -EPIPE when the client is gone or the response timed out: stop and call
 * http_defer_end(). */
int http_defer_write(struct http_defer *d, const void *p, size_t n);
/* http_defer_end() : finishes a stream (<err> 0) or aborts it (<err> < 0:
 * the connection closes before the end of the body). Releases <d>. */
int http_defer_end(struct http_defer *d, int err);
/* http_defer_cancelled() : true once the client has gone away or the
 * handler timed out; a worker may poll it to stop early. */
bool http_defer_cancelled(const struct http_defer *d);

#endif
