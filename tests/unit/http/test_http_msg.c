/* Unit tests: lib/http/http_msg — the request parser (every limit and
 * every refusal gives its status), percent-decoding, query strings,
 * header validation, response heads and chunked bodies. */
#include "http/http_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vt_test.h"

#define CRLF "\r\n"
#define H11 " HTTP/1.1" CRLF "Host: x" CRLF

struct req_case {
	const char *name;
	const char *in;
	size_t len;             /* 0: strlen(in) */
	int ret;                /* 1: complete, 0: need more, -1: refused */
	int status;             /* when refused */
	const char *method, *path, *query;
	int minor;
	int keep_alive;         /* -1: don't check */
	long long clen;
	const char *kv;         /* decoded query as "k=v;k=v;" */
	int expect;
	size_t consumed;        /* 0: don't check */
};

static const struct req_case req_cases[] = {
	{ "simple", "GET /" H11 CRLF, 0, 1, 0, "GET", "/", "", 1, 1, 0, "", 0, 0 },
	{ "query", "GET /a/b?x=1&y=%20z+w&flag&&e=" H11 CRLF, 0, 1, 0, "GET", "/a/b",
	  "x=1&y=%20z+w&flag&&e=", 1, 1, 0, "x=1;y= z w;flag=;e=;", 0, 0 },
	{ "http10 no host", "GET /x HTTP/1.0" CRLF CRLF, 0, 1, 0, "GET", "/x", "", 0, 0, 0, "", 0, 0 },
	{ "http10 keep-alive", "GET / HTTP/1.0" CRLF "Connection: Keep-Alive" CRLF CRLF, 0, 1, 0,
	  "GET", "/", "", 0, 1, 0, "", 0, 0 },
	{ "http11 close", "GET /" H11 "Connection: foo, close" CRLF CRLF, 0, 1, 0, "GET", "/", "", 1,
	  0, 0, "", 0, 0 },
	{ "http12 treated as 1.1", "GET / HTTP/1.2" CRLF "Host: x" CRLF CRLF, 0, 1, 0, "GET", "/",
	  "", 1, 1, 0, "", 0, 0 },
	{ "bare LF", "DELETE /s/1 HTTP/1.1\nHost: x\n\n", 0, 1, 0, "DELETE", "/s/1", "", 1, 1, 0, "",
	  0, 0 },
	{ "leading empty lines", CRLF "\n" "GET /" H11 CRLF, 0, 1, 0, "GET", "/", "", 1, 1, 0, "", 0,
	  3 + 16 + 9 + 2 },
	{ "pipelined: first only", "GET /1" H11 CRLF "GET /2" H11 CRLF, 0, 1, 0, "GET", "/1", "", 1,
	  1, 0, "", 0, 8 + 9 + 9 + 2 },
	{ "post with body", "POST /api" H11 "Content-Length: 10" CRLF CRLF "0123456789", 0, 1, 0,
	  "POST", "/api", "", 1, 1, 10, "", 0, 20 + 9 + 20 + 2 },
	{ "duplicate equal CL", "POST /" H11 "Content-Length: 3" CRLF "content-length: 3" CRLF CRLF,
	  0, 1, 0, "POST", "/", "", 1, 1, 3, "", 0, 0 },
	{ "expect 100", "PUT /" H11 "Content-Length: 5" CRLF "Expect: 100-Continue" CRLF CRLF, 0,
	  1, 0, "PUT", "/", "", 1, 1, 5, "", 1, 0 },
	{ "expect ignored in 1.0", "PUT / HTTP/1.0" CRLF "Expect: 100-continue" CRLF CRLF, 0, 1, 0,
	  "PUT", "/", "", 0, 0, 0, "", 0, 0 },
	{ "options star", "OPTIONS *" H11 CRLF, 0, 1, 0, "OPTIONS", "*", "", 1, 1, 0, "", 0, 0 },
	{ "absolute form", "GET http://Example.com:80/a/b?q=1" H11 CRLF, 0, 1, 0, "GET", "/a/b",
	  "q=1", 1, 1, 0, "q=1;", 0, 0 },
	{ "absolute form no path", "GET http://example.com" H11 CRLF, 0, 1, 0, "GET", "/", "", 1, 1,
	  0, "", 0, 0 },
	{ "encoded path kept raw", "GET /vms/web%2F1%20x" H11 CRLF, 0, 1, 0, "GET", "/vms/web%2F1%20x",
	  "", 1, 1, 0, "", 0, 0 },
	{ "value trimmed", "GET /" H11 "X-A: \t a b \t" CRLF CRLF, 0, 1, 0, "GET", "/", "", 1, 1, 0,
	  "", 0, 0 },

	{ "incomplete head", "GET /" H11, 0, 0, 0, NULL, NULL, NULL, 0, -1, 0, NULL, 0, 0 },
	{ "incomplete line", "GET /abc HTTP/1.", 0, 0, 0, NULL, NULL, NULL, 0, -1, 0, NULL, 0, 0 },
	{ "empty", "", 0, 0, 0, NULL, NULL, NULL, 0, -1, 0, NULL, 0, 0 },

	{ "missing host", "GET / HTTP/1.1" CRLF CRLF, 0, -1, 400 },
	{ "two hosts", "GET /" H11 "Host: y" CRLF CRLF, 0, -1, 400 },
	{ "two hosts 1.0", "GET / HTTP/1.0" CRLF "Host: a" CRLF "Host: b" CRLF CRLF, 0, -1, 400 },
	{ "bare CR in header", "GET /" H11 "X: a\rb" CRLF CRLF, 0, -1, 400 },
	{ "bare CR in line", "GET /\r HTTP/1.1" CRLF "Host: x" CRLF CRLF, 0, -1, 400 },
	{ "obs-fold", "GET /" H11 "X: a" CRLF " b" CRLF CRLF, 0, -1, 400 },
	{ "space before colon", "GET / HTTP/1.1" CRLF "Host : x" CRLF CRLF, 0, -1, 400 },
	{ "no colon", "GET /" H11 "Xyz" CRLF CRLF, 0, -1, 400 },
	{ "bad name char", "GET /" H11 "X@y: 1" CRLF CRLF, 0, -1, 400 },
	{ "NUL in value", "GET /" H11 "X: a\0b" CRLF CRLF, 16 + 9 + 8 + 2, -1, 400 },
	{ "DEL in value", "GET /" H11 "X: a\x7f" CRLF CRLF, 0, -1, 400 },
	{ "CL not a number", "POST /" H11 "Content-Length: 1x" CRLF CRLF, 0, -1, 400 },
	{ "CL negative", "POST /" H11 "Content-Length: -1" CRLF CRLF, 0, -1, 400 },
	{ "CL empty", "POST /" H11 "Content-Length:" CRLF CRLF, 0, -1, 400 },
	{ "CL list", "POST /" H11 "Content-Length: 3, 3" CRLF CRLF, 0, -1, 400 },
	{ "CL conflict", "POST /" H11 "Content-Length: 3" CRLF "Content-Length: 4" CRLF CRLF, 0,
	  -1, 400 },
	{ "CL too large", "POST /" H11 "Content-Length: 1048577" CRLF CRLF, 0, -1, 413 },
	{ "CL overflow", "POST /" H11 "Content-Length: 99999999999999999999999" CRLF CRLF, 0, -1,
	  413 },
	{ "TE chunked", "POST /" H11 "Transfer-Encoding: chunked" CRLF CRLF, 0, -1, 411 },
	{ "TE gzip", "POST /" H11 "Transfer-Encoding: gzip" CRLF CRLF, 0, -1, 501 },
	{ "TE and CL", "POST /" H11 "Transfer-Encoding: chunked" CRLF "Content-Length: 3" CRLF CRLF,
	  0, -1, 400 },
	{ "expect other", "POST /" H11 "Expect: 200-ok" CRLF CRLF, 0, -1, 417 },
	{ "HTTP/2.0", "GET / HTTP/2.0" CRLF CRLF, 0, -1, 505 },
	{ "HTTP/0.9", "GET / HTTP/0.9" CRLF CRLF, 0, -1, 505 },
	{ "lowercase version", "GET / http/1.1" CRLF "Host: x" CRLF CRLF, 0, -1, 400 },
	{ "version junk", "GET / HTTP/1.1x" CRLF "Host: x" CRLF CRLF, 0, -1, 400 },
	{ "no version", "GET /" CRLF CRLF, 0, -1, 400 },
	{ "double space", "GET  /" H11 CRLF, 0, -1, 400 },
	{ "unknown method", "BREW /pot" H11 CRLF, 0, -1, 501 },
	{ "TRACE", "TRACE /" H11 CRLF, 0, -1, 501 },
	{ "bad method", "GE(T /" H11 CRLF, 0, -1, 400 },
	{ "star with GET", "GET *" H11 CRLF, 0, -1, 400 },
	{ "relative target", "GET a/b" H11 CRLF, 0, -1, 400 },
	{ "authority form", "CONNECT example.com:443" H11 CRLF, 0, -1, 400 },
	{ "fragment", "GET /a#b" H11 CRLF, 0, -1, 400 },
	{ "non-ascii target", "GET /caf\xc3\xa9" H11 CRLF, 0, -1, 400 },
	{ "dot-dot", "GET /a/../b" H11 CRLF, 0, -1, 400 },
	{ "dot", "GET /a/./b" H11 CRLF, 0, -1, 400 },
	{ "encoded dot-dot", "GET /a/%2e%2E/b" H11 CRLF, 0, -1, 400 },
	{ "trailing dot-dot", "GET /ui/.." H11 CRLF, 0, -1, 400 },
	{ "bad escape", "GET /a%zz" H11 CRLF, 0, -1, 400 },
	{ "short escape", "GET /a%2" H11 CRLF, 0, -1, 400 },
	{ "NUL escape", "GET /a%00b" H11 CRLF, 0, -1, 400 },
	{ "bad query escape", "GET /a?x=%G1" H11 CRLF, 0, -1, 400 },
	{ "NUL in query", "GET /a?x=%00" H11 CRLF, 0, -1, 400 },
};

static void t_reqhead(void)
{
	struct http_limits lim;

	http_limits_default(&lim);
	for (size_t i = 0; i < ARRAY_SIZE(req_cases); i++) {
		const struct req_case *c = &req_cases[i];
		struct http_reqhead h;
		size_t len = c->len ? c->len : strlen(c->in);
		ssize_t r = http_reqhead_parse(&h, c->in, len, &lim);
		int got = r > 0 ? 1 : (int)r;

		vt_test_case = c->name;
		CHECK_EQ(got, c->ret);
		if (got < 0)
			CHECK_EQ(h.status, c->status);
		if (got < 0)
			CHECK(h.error != NULL && h.store == NULL);
		if (got != 1) {
			http_reqhead_free(&h);
			continue;
		}
		CHECK_STR(h.method_str, c->method);
		CHECK_STR(http_method_name(h.method), c->method);
		CHECK_STR(h.path, c->path);
		CHECK_STR(h.query, c->query);
		CHECK_EQ(h.minor, c->minor);
		if (c->keep_alive >= 0)
			CHECK_EQ(h.keep_alive, c->keep_alive);
		CHECK_EQ(h.content_length, c->clen);
		CHECK_EQ(h.expect_continue, c->expect);
		if (c->consumed)
			CHECK_EQ(r, c->consumed);
		char kv[256] = "";
		for (size_t k = 0; k < h.nqs; k++) {
			size_t n = strlen(kv);
			snprintf(kv + n, sizeof(kv) - n, "%s=%s;", h.qs[k].key, h.qs[k].value);
		}
		CHECK_STR(kv, c->kv);
		http_reqhead_free(&h);
	}
	vt_test_case = "t_reqhead";
}

static void t_headers(void)
{
	struct http_limits lim;
	struct http_reqhead h;
	const char *in = "GET /?a=1&a=2 HTTP/1.1\r\nhost: h1\r\nX-Long:  v  w \r\n"
			 "Content-Type: application/json\r\n\r\n";

	http_limits_default(&lim);
	CHECK_EQ(http_reqhead_parse(&h, in, strlen(in), &lim), (long long)strlen(in));
	CHECK_EQ(h.nhdrs, 3);
	CHECK_STR(http_reqhead_get(&h, "Host"), "h1");
	CHECK_STR(http_reqhead_get(&h, "x-long"), "v  w");
	CHECK_STR(http_reqhead_get(&h, "CONTENT-TYPE"), "application/json");
	CHECK(http_reqhead_get(&h, "Accept") == NULL);
	CHECK_STR(http_reqhead_query(&h, "a"), "1"); /* the first one */
	CHECK(http_reqhead_query(&h, "b") == NULL);
	CHECK_EQ(h.nqs, 2);
	http_reqhead_free(&h);
	http_reqhead_free(&h); /* idempotent */
}

/* Each limit, hit by exactly one byte or one item, gives its status;
 * one less is accepted. */
static void t_limits(void)
{
	struct http_limits lim;
	struct http_reqhead h;
	char buf[40000];
	size_t n;
	ssize_t r;

	http_limits_default(&lim);
	lim.max_request_line = 100;
	lim.max_head = 1000;
	lim.max_headers = 5;
	lim.max_query_params = 3;
	lim.max_body = 50;

	/* request line: exactly max bytes incl. CRLF is fine, one more is 414 */
	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: x\r\n\r\n",
				     100 - 16 + extra, 0);
		r = http_reqhead_parse(&h, buf, n, &lim);
		CHECK_EQ(r > 0, extra == 0);
		if (extra)
			CHECK_EQ(h.status, 414);
		http_reqhead_free(&h);
	}
	/* an unterminated request line longer than the limit is 414 at once */
	memset(buf, 'a', 200);
	memcpy(buf, "GET /", 5);
	r = http_reqhead_parse(&h, buf, 101, &lim);
	CHECK_EQ(r, -1);
	CHECK_EQ(h.status, 414);
	r = http_reqhead_parse(&h, buf, 100, &lim);
	CHECK_EQ(r, 0);
	/* header count */
	for (int k = 4; k <= 5; k++) {
		n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
		for (int i = 0; i < k; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: y\r\n", i);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
		r = http_reqhead_parse(&h, buf, n, &lim);
		CHECK_EQ(r > 0, k == 4);
		if (k == 5)
			CHECK_EQ(h.status, 431);
		http_reqhead_free(&h);
	}
	/* head size: complete but too large, and incomplete past the limit */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\nX: %0980d\r\n\r\n", 0);
	r = http_reqhead_parse(&h, buf, n, &lim);
	CHECK_EQ(r, -1);
	CHECK_EQ(h.status, 431);
	r = http_reqhead_parse(&h, buf, 1001, &lim);
	CHECK_EQ(r, -1);
	CHECK_EQ(h.status, 431);
	r = http_reqhead_parse(&h, buf, 1000, &lim);
	CHECK_EQ(r, 0);
	/* query parameters */
	for (int k = 3; k <= 4; k++) {
		n = (size_t)snprintf(buf, sizeof(buf), "GET /?a=1&b=2&c=3%s HTTP/1.1\r\nHost: x\r\n\r\n",
				     k == 4 ? "&d" : "");
		r = http_reqhead_parse(&h, buf, n, &lim);
		CHECK_EQ(r > 0, k == 3);
		if (k == 4)
			CHECK_EQ(h.status, 400);
		http_reqhead_free(&h);
	}
	/* body */
	for (int k = 50; k <= 51; k++) {
		n = (size_t)snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", k);
		r = http_reqhead_parse(&h, buf, n, &lim);
		CHECK_EQ(r > 0, k == 50);
		if (k == 51)
			CHECK_EQ(h.status, 413);
		http_reqhead_free(&h);
	}
}

static void t_head_end(void)
{
	static const char msg[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nrest";
	size_t scan = 0, got = 0;

	/* fed one byte at a time, the end is found exactly once, at 27 */
	for (size_t n = 1; n <= strlen(msg); n++) {
		size_t e = http_head_end(msg, n, &scan);
		if (e && !got)
			got = n;
		if (e)
			CHECK_EQ(e, 27);
	}
	CHECK_EQ(got, 27);
	scan = 0;
	CHECK_EQ(http_head_end("a\n\nb", 4, &scan), 3);
	scan = 0;
	CHECK_EQ(http_head_end("a\r\nb\r\n", 6, &scan), 0);
}

static void t_pct(void)
{
	static const struct {
		const char *in;
		bool plus;
		int ret;
		const char *out;
	} cases[] = {
		{ "abc", false, 3, "abc" },
		{ "a%20b", false, 3, "a b" },
		{ "a+b", false, 3, "a+b" },
		{ "a+b", true, 3, "a b" },
		{ "%2F%2f", false, 2, "//" },
		{ "%e2%82%ac", false, 3, "\xe2\x82\xac" },
		{ "", false, 0, "" },
		{ "%", false, -EINVAL, NULL },
		{ "%4", false, -EINVAL, NULL },
		{ "%4g", false, -EINVAL, NULL },
		{ "%00", false, -EINVAL, NULL },
		{ "x%", false, -EINVAL, NULL },
	};
	char out[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ssize_t r = http_pct_decode(out, cases[i].in, strlen(cases[i].in), cases[i].plus);
		CHECK_EQ(r, cases[i].ret);
		if (r >= 0)
			CHECK_STR(out, cases[i].out);
	}
	/* encode: unreserved kept, the rest escaped; decoding gives it back */
	static const struct {
		const char *in, *out;
	} enc[] = {
		{ "web-1_a.b~", "web-1_a.b~" },
		{ "a b/c?d", "a%20b%2Fc%3Fd" },
		{ "\xe2\x82\xac", "%E2%82%AC" },
		{ "%+&=", "%25%2B%26%3D" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(enc); i++) {
		struct vbuf b;
		vbuf_init(&b, 1024);
		CHECK_EQ(http_pct_encode(&b, enc[i].in, strlen(enc[i].in)), 0);
		CHECK_STR(vbuf_str(&b), enc[i].out);
		CHECK_EQ(http_pct_decode(out, (const char *)b.data, b.len, false),
			 (long long)strlen(enc[i].in));
		CHECK_STR(out, enc[i].in);
		vbuf_free(&b);
	}
	struct vbuf small;
	vbuf_init(&small, 4);
	CHECK_EQ(http_pct_encode(&small, "a b", 3), -ENOSPC);
	vbuf_free(&small);
}

static void t_validate(void)
{
	static const struct {
		const char *s;
		bool token, value;
	} cases[] = {
		{ "X-Vtap-Id", true, true },
		{ "a b", false, true },
		{ "", false, true },
		{ "ok\r\nSet-Cookie: x", false, false },
		{ "line\nbreak", false, false },
		{ "tab\there", false, true },
		{ "caf\xc3\xa9", false, true },
		{ "nul\x01", false, false },
		{ "del\x7f", false, false },
		{ "a:b", false, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_EQ(http_token_valid(cases[i].s), cases[i].token);
		CHECK_EQ(http_value_valid(cases[i].s), cases[i].value);
	}
	CHECK(!http_token_valid(NULL));
	CHECK(!http_value_valid(NULL));
	CHECK_STR(http_reason(404), "Not Found");
	CHECK_STR(http_reason(431), "Request Header Fields Too Large");
	CHECK_STR(http_reason(599), "Unknown");
}

static void t_dates(void)
{
	char buf[40];

	CHECK_STR(http_date(784111777, buf, sizeof(buf)), "Sun, 06 Nov 1994 08:49:37 GMT");
	CHECK_EQ(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
	CHECK_STR(http_date(0, buf, sizeof(buf)), "Thu, 01 Jan 1970 00:00:00 GMT");
	CHECK_EQ(http_date_parse(http_date(1767225600, buf, sizeof(buf))), 1767225600);
	CHECK_EQ(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT"), -1);
	CHECK_EQ(http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
	CHECK_EQ(http_date_parse("Sun, 06 Nov 1994 25:49:37 GMT"), -1);
	CHECK_EQ(http_date_parse(NULL), -1);
}

static void t_resphead(void)
{
	static const struct {
		const char *in;
		ssize_t ret;            /* 1 = complete */
		int status;
		bool chunked, has_len, close;
		long long len;
		const char *ctype, *reason;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", 1,
		  200, false, true, false, 5, "text/plain", "OK" },
		{ "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 404, true, false,
		  false, 0, "", "Not Found" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n", 1, 200,
		  true, false, false, 0, "", "OK" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 1, 200, false, false, true, 0,
		  "", "OK" },
		{ "HTTP/1.0 200 OK\r\n\r\n", 1, 200, false, false, true, 0, "", "OK" },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 1, 200,
		  false, true, false, 0, "", "OK" },
		{ "HTTP/1.1 204\r\nConnection: close\r\n\r\n", 1, 204, false, false, true, 0, "", "" },
		{ "HTTP/1.1 200 OK\r\n", 0 },
		{ "HTTP/1.1 2000 OK\r\n\r\n", -EBADMSG },
		{ "HTTP/2 200 OK\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 099 x\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\n bad\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", -EBADMSG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_resphead h;
		ssize_t r = http_resphead_parse(&h, cases[i].in, strlen(cases[i].in), 1024);
		CHECK_EQ(r > 0 ? 1 : r, cases[i].ret);
		if (r <= 0)
			continue;
		CHECK_EQ(h.status, cases[i].status);
		CHECK_EQ(h.chunked, cases[i].chunked);
		CHECK_EQ(h.has_length, cases[i].has_len);
		CHECK_EQ(h.close, cases[i].close);
		CHECK_EQ(h.content_length, cases[i].len);
		CHECK_STR(h.content_type, cases[i].ctype);
		CHECK_STR(h.reason, cases[i].reason);
	}
	char big[2048];
	memset(big, 'x', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	struct http_resphead h;
	CHECK_EQ(http_resphead_parse(&h, big, sizeof(big), 1024), -EMSGSIZE);
}

static void t_chunked(void)
{
	static const struct {
		const char *in;
		int ok;            /* 1 done, 0 needs more, -1 error */
		const char *out;
		size_t rest;       /* bytes left after the end */
	} cases[] = {
		{ "5\r\nhello\r\n0\r\n\r\n", 1, "hello", 0 },
		{ "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT", 1, "hello world", 4 },
		{ "A;ext=1\r\n0123456789\r\n0\r\n\r\n", 1, "0123456789", 0 },
		{ "3\nabc\n0\n\n", 1, "abc", 0 },
		{ "3\r\nabc\r\n0\r\nTrailer: x\r\nT2: y\r\n\r\n", 1, "abc", 0 },
		{ "3\r\nabc\r\n", 0, "abc", 0 },
		{ "3\r\nab", 0, "ab", 0 },
		{ "x\r\n", -1, "", 0 },
		{ "\r\n", -1, "", 0 },
		{ "3\r\nabcd\r\n", -1, "", 0 },
		{ "11111111111111111\r\n", -1, "", 0 },
		{ "3\r\nabc\r\r", -1, "", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		/* whole, then byte by byte: the same result */
		for (int mode = 0; mode < 2; mode++) {
			struct http_chunked c;
			char buf[256], out[256] = "";
			size_t len = strlen(cases[i].in), pos = 0, olen = 0;
			int res = 0;

			http_chunked_init(&c);
			while (pos < len && !c.done) {
				size_t step = mode ? 1 : len - pos, o;
				memcpy(buf, cases[i].in + pos, step);
				ssize_t r = http_chunked_decode(&c, buf, step, &o);
				if (r < 0) {
					res = -1;
					break;
				}
				memcpy(out + olen, buf, o);
				olen += o;
				pos += (size_t)r;
				if ((size_t)r < step)
					break;
			}
			out[olen] = '\0';
			if (res == 0)
				res = c.done ? 1 : 0;
			CHECK_EQ(res, cases[i].ok);
			if (res >= 0) {
				CHECK_STR(out, cases[i].out);
				CHECK_EQ(c.total, strlen(cases[i].out));
			}
			if (res == 1)
				CHECK_EQ(len - pos, cases[i].rest);
		}
	}
	/* trailers are bounded */
	struct http_chunked c;
	static char big[10000];
	size_t o;
	memset(big, 'x', sizeof(big));
	memcpy(big, "0\r\nX: ", 6);
	http_chunked_init(&c);
	CHECK_EQ(http_chunked_decode(&c, big, sizeof(big), &o), -EBADMSG);
}

VT_TEST_MAIN(VT_T(t_reqhead), VT_T(t_headers), VT_T(t_limits), VT_T(t_head_end), VT_T(t_pct),
	     VT_T(t_validate), VT_T(t_dates), VT_T(t_resphead), VT_T(t_chunked))
