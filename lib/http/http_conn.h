/* http_conn.h — the connection and exchange types shared by the two
 * halves of the server: http_server.c (listeners, connections, reading,
 * timeouts, dispatch) and http_answer.c (what handlers call: answers,
 * streams, deferred answers, request accessors). Private to lib/http:
 * handlers see struct http_req only through http_server.h. */
#ifndef VT_HTTP_CONN_H
#define VT_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/http_defer.h"
#include "http/http_server.h"

#define STREAM_BUDGET (1u << 20)    /* bytes produced per connection per event */
#define STAGE_MAX (64u << 10)
#define XHDR_MAX 4096
#define OUT_SLACK (XHDR_MAX + 4096) /* room for a response head */
#define SMALL_BODY (16u << 10)      /* copied into the output buffer */
#define NS_PER_MS 1000000ull

enum cstate { CS_HEAD, CS_BODY, CS_RESP, CS_LINGER };
enum tmo { TMO_NONE, TMO_IDLE, TMO_HEADER, TMO_BODY, TMO_WRITE, TMO_HANDLER, TMO_LINGER };
enum rkind { R_NONE, R_FULL, R_STREAM, R_DEFER };

struct http_conn;

struct http_req {
	struct http_conn *c;
	struct http_reqhead h;
	bool parsed;                /* h is valid */
	struct http_match m;
	const char *body;           /* into c->in */
	size_t body_len;
	uint64_t t_start;
	/* the answer */
	enum rkind kind;
	int status;
	bool head_sent, head_only, no_body, chunked, close_after, complete;
	int64_t length;             /* declared body length, -1 unknown */
	uint64_t body_sent;
	struct vbuf xhdrs;          /* "Name: value\r\n" from http_set_header */
	char *body_buf;             /* a large full body, written after out */
	size_t body_buf_len, body_buf_off;
	http_stream_fn more;
	http_stream_done_fn done;
	void *arg;
	bool stream_ended, done_called;
	struct http_defer *d;
};

struct http_conn {
	struct http_server *s;
	struct http_conn *prev, *next;
	struct ev_io io;
	int fd;
	enum cstate st;
	bool is_unix, has_cred, dead, in_driver, peer_eof, want_out;
	struct ucred cred;
	char peer[80];
	struct vbuf in;
	size_t scan, head_len;
	bool got_bytes;
	struct vbuf out;
	size_t out_off;
	struct vbuf stage;
	uint64_t t_idle, t_first, t_head, t_wprog, t_dprog, t_linger;
	size_t linger_bytes;
	uint64_t deadline;
	enum tmo tmo;
	unsigned nreq;
	struct http_req req;
};

struct http_server {
	struct evloop *ev;
	struct http_server_conf conf;
	const struct http_router *router;
	struct http_limits lim;
	struct http_listener ls[HTTP_MAX_LISTEN];
	struct ev_io lio[HTTP_MAX_LISTEN];
	unsigned nls;
	struct http_conn *conns, *zombies;
	struct ev_timer sweep, reaper;
	struct http_dhub *hub;
	struct ev_io hub_io;
	int spare_fd;
	bool shutting_down;
	struct http_server_stats st;
	char date[40];
	int64_t date_sec;
};

/* ---- http_server.c ---- */
/* hsrv_conn_close() : closes now; the struct lives until the next turn. */
void hsrv_conn_close(struct http_conn *c);
uint64_t hsrv_now(const struct http_server *s);
/* hsrv_date() : the Date header value, cached per second. */
const char *hsrv_date(struct http_server *s);

/* ---- http_answer.c ---- */
size_t hsrv_out_pending(const struct http_conn *c);
/* hsrv_flush() : writes what the socket takes; may close the connection. */
void hsrv_flush(struct http_conn *c);
/* hsrv_req_reset() : frees what the current exchange holds (ending its
 * stream with -ECONNABORTED and detaching its deferred answer). */
void hsrv_req_reset(struct http_conn *c);
/* hsrv_stream_release() : runs the stream's done callback once. */
void hsrv_stream_release(struct http_conn *c, int err);
/* hsrv_pump_stream() : calls the producer while the output has room and
 * <*produced> is under STREAM_BUDGET. */
void hsrv_pump_stream(struct http_conn *c, size_t *produced);
/* hsrv_pump_defer() : moves a worker's answer into the output. */
void hsrv_pump_defer(struct http_conn *c);
/* hsrv_abort() : cuts the answer (the client sees the body end early). */
void hsrv_abort(struct http_conn *c, const char *why);
/* hsrv_fail() : an error found by the server itself; closes after it. */
void hsrv_fail(struct http_conn *c, int status, const char *why);

#endif
