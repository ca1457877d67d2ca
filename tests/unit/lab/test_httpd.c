/* Unit tests: lab/httpd — request head parsing and routing. */
#include "lab/httpd.h"

#include <errno.h>

#include "core/compiler.h"
#include "vt_test.h"

static void t_parse(void)
{
	static const struct {
		const char *what, *in;
		int want;               /* head length, 0 incomplete, or -errno */
		enum httpd_method method;
		const char *path;
		bool keepalive;
		uint64_t clen;
	} cases[] = {
		{ "curl", "GET /bytes/1000 HTTP/1.1\r\nHost: 198.18.1.2\r\nUser-Agent: curl/7.88.1\r\n"
		  "Accept: */*\r\n\r\n", 84, HTTPD_GET, "/bytes/1000", true, 0 },
		{ "close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 37, HTTPD_GET, "/", false, 0 },
		{ "1.0 default close", "GET / HTTP/1.0\r\n\r\n", 18, HTTPD_GET, "/", false, 0 },
		{ "1.0 keep-alive", "HEAD / HTTP/1.0\r\nconnection:  Keep-Alive \r\n\r\n", 45,
		  HTTPD_HEAD, "/", true, 0 },
		{ "bare LF", "GET /x HTTP/1.1\n\n", 17, HTTPD_GET, "/x", true, 0 },
		{ "body length", "POST /p HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello", 40,
		  HTTPD_OTHER, "/p", true, 12 },
		{ "pipelined: first only", "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 19,
		  HTTPD_GET, "/a", true, 0 },
		{ "incomplete line", "GET / HTTP/1.1", 0 },
		{ "incomplete head", "GET / HTTP/1.1\r\nHost: x\r\n", 0 },
		{ "no version", "GET /\r\n\r\n", -EBADMSG },
		{ "HTTP/2", "GET / HTTP/2.0\r\n\r\n", -EBADMSG },
		{ "not absolute path", "GET x HTTP/1.1\r\n\r\n", -EBADMSG },
		{ "header without colon", "GET / HTTP/1.1\r\nbogus\r\n\r\n", -EBADMSG },
		{ "empty header name", "GET / HTTP/1.1\r\n: x\r\n\r\n", -EBADMSG },
		{ "bad length", "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -EBADMSG },
		{ "huge length", "GET / HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n", -EBADMSG },
		{ "chunked body", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG },
		{ "nmap probe", "\r\n\r\n", -EBADMSG },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct httpd_req req;
		int r = httpd_parse(cases[i].in, strlen(cases[i].in), &req);

		vt_test_case = cases[i].what;
		CHECK_EQ(r, cases[i].want);
		if (r > 0) {
			CHECK_EQ(req.method, cases[i].method);
			CHECK_STR(req.path, cases[i].path);
			CHECK_EQ(req.keepalive, cases[i].keepalive);
			CHECK_EQ_U64(req.content_length, cases[i].clen);
		}
	}
	vt_test_case = "t_parse";
	/* a head that never ends within the limit is refused, not buffered */
	{
		static char big[HTTPD_HDR_MAX + 10];
		struct httpd_req req;
		memcpy(big, "GET / HTTP/1.1\r\n", 16);
		memset(big + 16, 'a', sizeof(big) - 16);
		CHECK_EQ(httpd_parse(big, sizeof(big), &req), -E2BIG);
		CHECK_EQ(httpd_parse(big, 100, &req), 0);
	}
}

static void t_route(void)
{
	static const struct {
		enum httpd_method m;
		const char *path;
		int status;
		uint64_t len;
	} cases[] = {
		{ HTTPD_GET, "/", 200, 21 },
		{ HTTPD_GET, "/bytes/0", 200, 0 },
		{ HTTPD_GET, "/bytes/1048576", 200, 1048576 },
		{ HTTPD_HEAD, "/bytes/77", 200, 77 },
		{ HTTPD_GET, "/bytes/", 404, 0 },
		{ HTTPD_GET, "/bytes/12x", 404, 0 },
		{ HTTPD_GET, "/bytes/2000000000", 404, 0 },
		{ HTTPD_GET, "/nope", 404, 0 },
		{ HTTPD_OTHER, "/", 405, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct httpd_req req = { cases[i].m, "", 1, true, 0 };
		uint64_t len;
		snprintf(req.path, sizeof(req.path), "%s", cases[i].path);
		CHECK_EQ(httpd_route(&req, &len), cases[i].status);
		CHECK_EQ_U64(len, cases[i].len);
	}
}

VT_TEST_MAIN(VT_T(t_parse), VT_T(t_route))
