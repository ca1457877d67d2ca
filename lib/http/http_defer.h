/* http_defer.h — handing an HTTP response from a worker thread back to the
 * event loop that owns the connection.
 *
 * A handler that has long work to do (a store scan, a libvirt call) calls
 * http_defer(req) (http_server.h) and gives the token to a worker. The
 * worker answers through the producer API below, from any thread. Each
 * token has a bounded byte queue: a worker streaming a big result blocks
 * in http_defer_write() while the client is slower than it, so memory per
 * response stays at the bound whatever the result size.
 *
 * The loop side (the second half of this header) is used only by
 * http_server.c: the hub is one eventfd on the loop plus a mutex-protected
 * list of tokens with news; the server drains it and moves queued bytes
 * into the connection's output as the socket accepts them.
 *
 * Lifetime: a token has two references, the producer's (dropped by
 * http_defer_respond / http_defer_end) and the connection's (dropped when
 * the response is complete or the connection dies). The hub outlives the
 * server while tokens remain, so a worker finishing after the server was
 * freed only gets -EPIPE. */
#ifndef VT_HTTP_DEFER_H
#define VT_HTTP_DEFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/compiler.h"

struct http_defer;
struct http_dhub;

/* ---- producer API (any thread) ----------------------------------------- */

/* http_defer_respond() : answers with a copy of <body> (Content-Length);
 * releases <d>. -EPIPE when the client is gone (the answer is dropped),
 * -EALREADY when the response was already begun (<d> is released anyway). */
int http_defer_respond(struct http_defer *d, int status, const char *ctype, const void *body,
		       size_t len);
/* http_defer_error() : {"error": <error>, "detail": <formatted>}; releases <d>. */
int http_defer_error(struct http_defer *d, int status, const char *error, const char *fmt, ...)
	VT_PRINTF(4, 5);
/* http_defer_stream_begin() : starts a streamed (chunked) answer. */
int http_defer_stream_begin(struct http_defer *d, int status, const char *ctype);
/* http_defer_write() : queues body bytes after stream_begin. On a worker
 * thread it blocks while the queue is full; on the loop thread it returns
 * -EWOULDBLOCK without queueing anything when <n> bytes do not fit. -EPIPE
 * when the client is gone or the response timed out: stop and call
 * http_defer_end(). */
int http_defer_write(struct http_defer *d, const void *p, size_t n);
/* http_defer_end() : finishes a stream (<err> 0) or aborts it (<err> < 0:
 * the connection is closed before the end of the body, so the client sees
 * a truncated response, never a short one that looks whole). Releases <d>.
 * Ending a response that was never begun answers 500. */
int http_defer_end(struct http_defer *d, int err);
/* http_defer_cancelled() : true once the client went away or the handler
 * timed out: a worker may poll it to stop early. */
bool http_defer_cancelled(const struct http_defer *d);

/* ---- loop side (http_server.c) ----------------------------------------- */

/* http_dhub_new() : a hub for the calling (loop) thread. NULL with errno. */
struct http_dhub *http_dhub_new(void);
/* The eventfd to watch for EPOLLIN. */
int http_dhub_fd(const struct http_dhub *h);
/* http_dhub_close() : the server is going away: no more wake-ups; the hub
 * is freed with its last token. */
void http_dhub_close(struct http_dhub *h);
/* http_dhub_drain() : after the fd became readable: calls <fn>(owner,
 * <ctx>) for every token with news whose connection is still attached. */
void http_dhub_drain(struct http_dhub *h, void (*fn)(void *owner, void *ctx), void *ctx);

/* http_defer_new() : a token owned by the connection <owner>, with a body
 * queue of <qmax> bytes. Both references are taken. NULL with errno. */
struct http_defer *http_defer_new(struct http_dhub *h, void *owner, size_t qmax);

struct http_defer_head {
	int status;
	char ctype[128];
	bool full;          /* a whole answer: <body> follows, no stream */
	char *body;         /* full: malloc'd, now owned by the caller */
	size_t body_len;
};
/* http_defer_head_take() : true (once) when the producer has begun its
 * answer; fills <h>. An answer ended without a beginning comes back as a
 * full 500. */
bool http_defer_head_take(struct http_defer *d, struct http_defer_head *h);
/* http_defer_avail() : bytes queued by the producer. */
size_t http_defer_avail(struct http_defer *d);
/* http_defer_take() : moves the first <n> (<= avail) queued bytes to the
 * end of <dst> (or drops them when <dst> is NULL) and wakes a blocked
 * producer. Returns 0 or -ENOSPC. */
int http_defer_take(struct http_defer *d, struct vbuf *dst, size_t n);
/* http_defer_finished() : the producer has ended and the queue is empty;
 * *<err> is its end status. */
bool http_defer_finished(struct http_defer *d, int *err);
/* http_defer_cancel() : tells the producer the client is gone (advisory). */
void http_defer_cancel(struct http_defer *d);
/* http_defer_detach() : the connection drops its reference (cancelling the
 * producer if it has not ended). */
void http_defer_detach(struct http_defer *d);

#endif
