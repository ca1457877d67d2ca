/* http_client.h — the blocking HTTP/1.1 client the `vtap` CLI uses to talk
 * to its daemons (`vtap agent status`, `vtap session add`, `vtap flows`
 * against a collector). One request per connection; every wait is bounded
 * by a timeout and a buffered body by a size limit; errors are sentences a
 * user can act on:
 *
 *	cannot connect to the agent at unix:/run/vtap/agent.sock: No such file
 *	or directory — is `vtap agent` running?
 *
 * Targets: "http://HOST:PORT" (optionally with a base path,
 * "http://HOST:PORT/base"), "unix:/path/to/sock". Only plain HTTP: the
 * control APIs listen on loopback and UNIX sockets. */
#ifndef VT_HTTP_CLIENT_H
#define VT_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"

#define HTTP_CLIENT_DEFAULT_TIMEOUT_MS 10000
#define HTTP_CLIENT_DEFAULT_MAX_RESPONSE (16u << 20)

struct http_client_opts {
	const char *peer_name;      /* "the agent" in messages; NULL: "the server" */
	const char *hint;           /* appended when nothing listens:
				     * "is `vtap agent` running?" */
	uint64_t timeout_ms;        /* connect, and each wait for the peer; 0: default */
	size_t max_response;        /* buffered body bound; 0: default */
	const char *content_type;   /* of the request body; NULL: application/json */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
	/* Streams the body instead of buffering it: called with each piece
	 * (chunked framing removed); a negative return stops the transfer
	 * and is returned. No size limit applies. */
	int (*on_body)(const void *p, size_t n, void *arg);
	void *arg;
};

struct http_client_resp {
	int status;
	char reason[64];
	char content_type[128];
	struct vbuf body;           /* owned; empty when on_body was used */
};

/* http_client_request() : sends <method> <path> (appended to the target's
 * base path; NULL: the base path or "/") with <body>/<len> (may be NULL/0)
 * and waits for the answer. Returns 0 when a response arrived — whatever
 * its status: check resp->status — or a negative errno with a message in
 * <err>. <resp> is filled on 0 and must be freed with
 * http_client_resp_free() in every case. <o> may be NULL. */
int http_client_request(const char *target, const char *method, const char *path,
			const void *body, size_t len, const struct http_client_opts *o,
			struct http_client_resp *resp, struct vt_err *err);
void http_client_resp_free(struct http_client_resp *r);

/* http_client_error_text() : a one-line description of a failed response
 * for the user: "<error>: <detail>" from a vtap JSON error body, else the
 * first line of the body, else the reason phrase. */
const char *http_client_error_text(const struct http_client_resp *r, char *buf, size_t len);

/* http_client_json() : http_client_request() to a JSON API. 0 when the
 * answer is 2xx with a JSON body: *doc is its tree (caller frees with
 * json_free()), the raw body stays in <resp>. Otherwise a negative errno
 * with one line for the user in <err>: the transport failure, the
 * server's error text (resp->status tells which status), or that the
 * answer is not JSON. <resp> must be freed in every case. */
int http_client_json(const char *target, const char *method, const char *path,
		     const void *body, size_t len, const struct http_client_opts *o,
		     struct http_client_resp *resp, struct json_val **doc, struct vt_err *err);

/* http_client_target() : a daemon's address as users write it ("unix:PATH",
 * "/path/to.sock", "http://HOST:PORT" or "HOST:PORT") as a target for the
 * calls above. */
void http_client_target(const char *spec, char *out, size_t cap);

#endif
