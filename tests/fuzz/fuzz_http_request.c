/* Fuzz target: lib/http request parsing — the bytes every vtap API reads
 * from the network. Parses the input under default and tight limits,
 * checks what a successful parse promises (valid tokens and values, a
 * bounded, dot-free path, limits respected, statuses from the documented
 * set), routes the path, finds the head end incrementally as the server
 * does, and round-trips percent-encoding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_msg.h"
#include "http/http_route.h"

#define TRAP(c)                           \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

static void noop(struct http_req *req, void *arg)
{
	(void)req;
	(void)arg;
}

static struct http_router *router(void)
{
	static struct http_router *r;

	if (!r) {
		r = http_router_new();
		http_router_add(r, HTTP_GET, "/", noop, NULL);
		http_router_add(r, HTTP_GET, "/api/v1/vms/{id}", noop, NULL);
		http_router_add(r, HTTP_DELETE, "/api/v1/vms/{id}", noop, NULL);
		http_router_add(r, HTTP_GET, "/api/v1/vms/top", noop, NULL);
		http_router_add(r, HTTP_GET, "/api/v1/{kind}/{id}/flows", noop, NULL);
		http_router_add(r, HTTP_GET, "/ui/{path*}", noop, NULL);
	}
	return r;
}

static bool status_ok(int s)
{
	static const int ok[] = { 400, 411, 413, 414, 417, 431, 501, 505 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (s == ok[i])
			return true;
	return false;
}

static void check(const char *buf, size_t len, const struct http_limits *lim)
{
	struct http_reqhead h;
	ssize_t r = http_reqhead_parse(&h, buf, len, lim);
	struct http_match m;

	TRAP(r >= -1 && r <= (ssize_t)len);
	if (r < 0) {
		TRAP(status_ok(h.status) && h.error && !h.store);
		return;
	}
	if (r == 0) {
		TRAP(!h.store);
		return;
	}
	TRAP((size_t)r <= lim->max_head);
	TRAP(h.method < HTTP_METHOD_COUNT && h.minor <= 1);
	TRAP(h.nhdrs <= lim->max_headers && h.nqs <= lim->max_query_params);
	TRAP(h.content_length <= lim->max_body);
	TRAP(strcmp(h.path, "*") == 0 || h.path[0] == '/');
	TRAP(!strstr(h.path, "/../") && !strstr(h.path, "/./"));
	for (size_t i = 0; i < h.nhdrs; i++)
		TRAP(http_token_valid(h.hdrs[i].name) && http_value_valid(h.hdrs[i].value));
	for (size_t i = 0; i < h.nqs; i++)
		TRAP(http_reqhead_query(&h, h.qs[i].key) != NULL);
	(void)http_reqhead_get(&h, "Host");
	if (h.path[0] == '/') {
		int res = http_router_match(router(), h.method, h.path, &m);
		TRAP(res >= HTTP_MATCH_OK && res <= HTTP_MATCH_OPTIONS);
		if (res == HTTP_MATCH_OK)
			for (size_t i = 0; i < m.nparams; i++)
				TRAP(m.values[i] && http_match_param(&m, m.names[i]));
		http_match_free(&m);
	}
	/* the server finds the head end in pieces: the same end */
	size_t scan = 0, end = 0;
	for (size_t n = 1; n <= (size_t)r && !end; n += 1 + n / 3)
		end = http_head_end(buf, n, &scan);
	if (!end)
		end = http_head_end(buf, (size_t)r, &scan);
	TRAP(end != 0 && end <= (size_t)r);
	if (buf[0] != '\r' && buf[0] != '\n')
		TRAP(end == (size_t)r);
	http_reqhead_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim;
	char *buf = malloc(size + 1), *dec, *enc;
	struct vbuf b;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	http_limits_default(&lim);
	check(buf, size, &lim);
	lim.max_request_line = 40;
	lim.max_head = 128;
	lim.max_headers = 3;
	lim.max_query_params = 2;
	lim.max_body = 10;
	check(buf, size, &lim);

	/* percent-encoding round trip of arbitrary bytes (NUL excluded) */
	dec = malloc(size * 3 + 1);
	vbuf_init(&b, size * 3 + 1);
	if (dec && !memchr(buf, '\0', size) && http_pct_encode(&b, buf, size) == 0) {
		enc = (char *)b.data;
		TRAP(http_pct_decode(dec, enc ? enc : "", b.len, false) == (ssize_t)size);
		TRAP(memcmp(dec, buf, size) == 0);
	}
	if (dec)
		(void)http_pct_decode(dec, buf, size, true);
	vbuf_free(&b);
	free(dec);
	free(buf);
	return 0;
}
