/* Unit tests: lib/http/http_server with lib/http/http_client — an
 * in-process server on 127.0.0.1 port 0 and on a UNIX socket, exercised by
 * the client and by raw sockets: answers, keep-alive and pipelining,
 * HTTP/1.0, limits on the wire, large streams with backpressure, slow
 * clients, timeouts, the connection bound, deferred answers from worker
 * threads, and the client's errors. (curl and static files:
 * test_http_curl.c.) */
#include <fcntl.h>
#include <sys/stat.h>

#include "test_handlers.h"

static struct fx F;

static void tune_default(struct http_server_conf *c)
{
	c->max_body = 4u << 20;
}

static int get(const char *target, const char *method, const char *path, const char *body,
	       struct http_client_resp *resp, struct vt_err *err)
{
	struct http_client_opts o = { .peer_name = "the test server", .timeout_ms = 5000 };

	return http_client_request(target, method, path, body, body ? strlen(body) : 0, &o, resp,
				   err);
}

static void t_client_basic(void)
{
	static const struct {
		const char *method, *path, *body;
		int status;
		const char *want;
		const char *ctype;
	} cases[] = {
		{ "GET", "/hello", NULL, 200, "hello\n", "text/plain" },
		{ "GET", "/api/v1/vms/web%201?x=a%26b", NULL, 200,
		  "{\"id\":\"web 1\",\"x\":\"a&b\",\"route\":\"/api/v1/vms/{id}\"}", "application/json" },
		{ "DELETE", "/api/v1/vms/x", NULL, 200, "{\"id\":\"x\",\"x\":null,\"route\":\"/api/v1/vms/{id}\"}",
		  "application/json" },
		{ "POST", "/echo", "{\"a\":1}", 200, "{\"a\":1}", "application/json" },
		{ "POST", "/json", "{\"name\":\"web-1\"}", 201, "{\"name\":\"web-1\"}", "application/json" },
		{ "POST", "/json", "{\"name\":", 400, NULL, "application/json" },
		{ "POST", "/json", NULL, 400, NULL, "application/json" },
		{ "GET", "/nope", NULL, 404,
		  "{\"error\":\"not found\",\"detail\":\"no resource at /nope\"}\n", "application/json" },
		{ "PUT", "/hello", "x", 405,
		  "{\"error\":\"method not allowed\",\"detail\":\"PUT is not allowed on /hello (allowed: GET, HEAD, OPTIONS)\"}\n",
		  "application/json" },
		{ "GET", "/noanswer", NULL, 500,
		  "{\"error\":\"internal error\",\"detail\":\"the handler did not answer\"}\n",
		  "application/json" },
		{ "HEAD", "/hello", NULL, 200, "", "text/plain" },
		{ "OPTIONS", "/echo", NULL, 204, "", "" },
		{ "GET", "/fixed?n=3", NULL, 200, NULL, "text/plain" },
		{ "GET", "/stream?n=0", NULL, 200, "", "text/plain" },
	};

	CHECK_EQ(fx_start(&F, routes_all, true, tune_default), 0);
	for (int pass = 0; pass < 2; pass++) {
		const char *target = pass ? F.unix_target : F.url;
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct http_client_resp r;
			struct vt_err err = { 0 };
			vt_test_case = cases[i].path;
			CHECK_EQ(get(target, cases[i].method, cases[i].path, cases[i].body, &r, &err), 0);
			CHECK_EQ(r.status, cases[i].status);
			CHECK_STR(r.content_type, cases[i].ctype);
			if (cases[i].want)
				CHECK_STR(vbuf_str(&r.body), cases[i].want);
			http_client_resp_free(&r);
		}
	}
	vt_test_case = "t_client_basic";
	/* the client turns a vtap error body into one line */
	struct http_client_resp r;
	struct vt_err err;
	char line[256];
	CHECK_EQ(get(F.url, "POST", "/json", "[1,", &r, &err), 0);
	CHECK_EQ(r.status, 400);
	CHECK_CONTAINS(http_client_error_text(&r, line, sizeof(line)), "invalid request body: ");
	http_client_resp_free(&r);
	CHECK_EQ(get(F.url, "GET", "/nope", NULL, &r, &err), 0);
	CHECK_STR(http_client_error_text(&r, line, sizeof(line)), "not found: no resource at /nope");
	http_client_resp_free(&r);
	/* fixed-length stream content */
	CHECK_EQ(get(F.url, "GET", "/fixed?n=1000", NULL, &r, &err), 0);
	CHECK(verify_buf((const char *)r.body.data, r.body.len, 1000));
	http_client_resp_free(&r);

	struct http_server_stats st;
	fx_stats(&F, &st);
	CHECK_EQ(st.accepted, 2 * ARRAY_SIZE(cases) + 3);
	CHECK_EQ(st.requests, st.accepted);
	CHECK_EQ(st.responses[2], 2 * 9 + 1);
	CHECK_EQ(st.responses[4], 2 * 4 + 2);
	CHECK_EQ(st.responses[5], 2);
	CHECK_EQ(st.active, 0);
	fx_stop(&F);
}

/* http_client_json(): a parsed tree only for a 2xx JSON answer; else one
 * line saying what went wrong. http_client_target(): the address forms. */
static void t_client_json(void)
{
	static const struct {
		const char *method, *path, *body;
		int rc, status;
		const char *want;          /* err.msg, or KEY=VALUE of the tree */
	} cases[] = {
		{ "POST", "/json", "{\"name\":\"web-1\"}", 0, 201, "name=web-1" },
		{ "GET", "/api/v1/vms/a", NULL, 0, 200, "route=/api/v1/vms/{id}" },
		{ "GET", "/nope", NULL, -EPROTO, 404, "not found: no resource at /nope" },
		{ "GET", "/noanswer", NULL, -EPROTO, 500, "internal error: the handler did not answer" },
		{ "GET", "/hello", NULL, -EBADMSG, 200, "the test server's answer is not JSON: " },
	};
	static const struct {
		const char *spec, *want;
	} targets[] = {
		{ "unix:/run/vtap/agent.sock", "unix:/run/vtap/agent.sock" },
		{ "/run/vtap/agent.sock", "unix:/run/vtap/agent.sock" },
		{ "http://127.0.0.1:4740", "http://127.0.0.1:4740" },
		{ "127.0.0.1:4740", "http://127.0.0.1:4740" },
		{ "[::1]:4740", "http://[::1]:4740" },
	};
	struct http_client_opts o = { .peer_name = "the test server", .timeout_ms = 5000 };

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_client_resp r;
		struct json_val *doc = (struct json_val *)&r;   /* must be reset */
		struct vt_err err = { 0 };
		int rc;

		vt_test_case = cases[i].path;
		memset(&r, 0, sizeof(r));
		rc = http_client_json(F.url, cases[i].method, cases[i].path, cases[i].body,
				      cases[i].body ? strlen(cases[i].body) : 0, &o, &r, &doc, &err);
		CHECK_EQ(rc, cases[i].rc);
		CHECK_EQ(r.status, cases[i].status);
		if (rc == 0) {
			const char *eq = strchr(cases[i].want, '=');
			char key[32];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - cases[i].want), cases[i].want);
			CHECK_STR(json_get_str(doc, key), eq + 1);
			CHECK(r.body.len > 0);   /* the raw answer stays for -j */
		} else {
			CHECK(doc == NULL);
			CHECK_CONTAINS(err.msg, cases[i].want);
		}
		json_free(doc);
		http_client_resp_free(&r);
	}
	fx_stop(&F);
	for (size_t i = 0; i < ARRAY_SIZE(targets); i++) {
		char out[64];
		vt_test_case = targets[i].spec;
		http_client_target(targets[i].spec, out, sizeof(out));
		CHECK_STR(out, targets[i].want);
	}
}

/* UNIX sockets: mode, stale file replaced, live socket and non-socket
 * refused, file removed on close; the client's error when nobody listens. */
static void t_unix_socket(void)
{
	char path[100], spec[120];
	struct stat sb;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct http_listen_addr a;
	struct http_listener l;
	struct vt_err err = { 0 };
	int fd;

	CHECK_EQ(fx_start(&F, routes_all, true, tune_default), 0);
	CHECK_EQ(stat(F.sock, &sb), 0);
	CHECK(S_ISSOCK(sb.st_mode));
	CHECK_EQ(sb.st_mode & 0777, 0600);
	/* a second server on the same path: refused, the first keeps working */
	CHECK_EQ(http_listen_parse(F.unix_target, &a, &err), 0);
	CHECK_EQ(http_listener_open(&l, &a, NULL, 8, &err), -EADDRINUSE);
	CHECK_CONTAINS(err.msg, "another process is accepting on");
	struct http_client_resp r;
	CHECK_EQ(get(F.unix_target, "GET", "/hello", NULL, &r, &err), 0);
	CHECK_EQ(r.status, 200);
	http_client_resp_free(&r);

	/* a stale socket (bound, never unlinked) is replaced */
	snprintf(path, sizeof(path), "%s/stale.sock", F.dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	CHECK_EQ(http_listen_parse(spec, &a, &err), 0);
	struct http_unix_perm perm = { 0640, NULL };
	CHECK_EQ(http_listener_open(&l, &a, &perm, 8, &err), 0);
	CHECK_EQ(stat(path, &sb), 0);
	CHECK_EQ(sb.st_mode & 0777, 0640);
	CHECK_STR(l.name, spec);
	http_listener_close(&l);
	CHECK(stat(path, &sb) < 0 && errno == ENOENT); /* removed on close */
	/* a regular file is never replaced */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK_EQ(http_listener_open(&l, &a, NULL, 8, &err), -EEXIST);
	CHECK_CONTAINS(err.msg, "exists and is not a socket; refusing to replace it");
	CHECK_EQ(stat(path, &sb), 0);
	CHECK(S_ISREG(sb.st_mode));
	/* a group that does not exist */
	unlink(path);
	perm.group = "no-such-group-vtap";
	CHECK_EQ(http_listener_open(&l, &a, &perm, 8, &err), -EINVAL);
	CHECK_CONTAINS(err.msg, "socket group 'no-such-group-vtap' does not exist");
	/* our own socket file is removed when the server goes away */
	char sock[200];
	snprintf(sock, sizeof(sock), "%s", F.sock);
	fx_stop(&F);
	CHECK(stat(sock, &sb) < 0 && errno == ENOENT);
}

static void t_client_errors(void)
{
	struct http_client_resp r;
	struct vt_err err = { 0 };
	struct http_client_opts o = {
		.peer_name = "the agent",
		.hint = "is `vtap agent` running?",
		.timeout_ms = 300,
	};
	char want[512];
	int lfd, port;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);

	/* nobody at the socket path: the brief's message, word for word */
	CHECK_EQ(http_client_request("unix:/tmp/vtap-no-such-dir/agent.sock", "GET", "/api/v1/status",
				     NULL, 0, &o, &r, &err), -ENOENT);
	CHECK_STR(err.msg, "cannot connect to the agent at unix:/tmp/vtap-no-such-dir/agent.sock: "
			   "No such file or directory \xe2\x80\x94 is `vtap agent` running?");
	http_client_resp_free(&r);

	/* a TCP port nobody listens on */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	bind(lfd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(lfd);
	char target[64];
	snprintf(target, sizeof(target), "http://127.0.0.1:%d", port);
	o.peer_name = "the collector";
	o.hint = "is `vtap collector` running?";
	CHECK_EQ(http_client_request(target, "GET", "/", NULL, 0, &o, &r, &err), -ECONNREFUSED);
	snprintf(want, sizeof(want), "cannot connect to the collector at %s: Connection refused "
		 "\xe2\x80\x94 is `vtap collector` running?", target);
	CHECK_STR(err.msg, want);
	http_client_resp_free(&r);

	/* a server that accepts (the kernel does) but never answers */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_port = 0;
	bind(lfd, (struct sockaddr *)&sin, sizeof(sin));
	listen(lfd, 4);
	sl = sizeof(sin);
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	snprintf(target, sizeof(target), "http://127.0.0.1:%d", ntohs(sin.sin_port));
	uint64_t t0 = mono_ms();
	CHECK_EQ(http_client_request(target, "GET", "/", NULL, 0, &o, &r, &err), -ETIMEDOUT);
	CHECK(mono_ms() - t0 >= 290 && mono_ms() - t0 < 3000);
	snprintf(want, sizeof(want), "no answer from the collector at %s within 300 ms", target);
	CHECK_STR(err.msg, want);
	http_client_resp_free(&r);
	close(lfd);

	/* malformed targets and requests */
	static const struct {
		const char *target, *path, *msg;
	} bad[] = {
		{ "ftp://x", "/", "'ftp://x' is not a target (http://HOST:PORT or unix:/PATH)" },
		{ "https://x:1", "/", "'https://x:1': https is not supported; vtap APIs listen on loopback or UNIX sockets" },
		{ "unix:relative.sock", "/", "'unix:relative.sock': expected unix:/absolute/path.sock" },
		{ "http://127.0.0.1:99999", "/", "'http://127.0.0.1:99999': bad port" },
		{ "http://[::1", "/", "'http://[::1': unterminated [IPv6] address" },
		{ "http://127.0.0.1:1", "/a b", "request path '/a b' must be percent-encoded" },
		{ "http://127.0.0.1:1", "x", "request path 'x' must start with '/'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vt_test_case = bad[i].target;
		CHECK(http_client_request(bad[i].target, "GET", bad[i].path, NULL, 0, &o, &r, &err) < 0);
		CHECK_STR(err.msg, bad[i].msg);
		http_client_resp_free(&r);
	}
	vt_test_case = "t_client_errors";

	/* a bracketed host longer than the host buffer (256) but within the
	 * Host: header's (300) is refused, not copied past the buffer */
	{
		char longhost[400];
		int n = snprintf(longhost, sizeof(longhost), "http://[");
		memset(longhost + n, 'a', 280);
		snprintf(longhost + n + 280, sizeof(longhost) - (size_t)n - 280, "]:80");
		CHECK_EQ(http_client_request(longhost, "GET", "/", NULL, 0, &o, &r, &err), -EINVAL);
		CHECK_CONTAINS(err.msg, "': bad host");
		http_client_resp_free(&r);
		CHECK_EQ(http_client_request("http://[]:80", "GET", "/", NULL, 0, &o, &r, &err), -EINVAL);
		CHECK_STR(err.msg, "'http://[]:80': bad host");
		http_client_resp_free(&r);
	}

	/* the response bound, and a base path in the target */
	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	o.max_response = 1000;
	o.peer_name = "the agent";
	o.timeout_ms = 5000;
	CHECK_EQ(http_client_request(F.url, "GET", "/stream?n=100", NULL, 0, &o, &r, &err), -EMSGSIZE);
	snprintf(want, sizeof(want), "the answer of the agent at %s is larger than 1000 bytes", F.url);
	CHECK_STR(err.msg, want);
	http_client_resp_free(&r);
	char based[128];
	snprintf(based, sizeof(based), "%s/api/v1/", F.url);
	CHECK_EQ(http_client_request(based, "GET", "/vms/z", NULL, 0, &o, &r, &err), 0);
	CHECK_EQ(r.status, 200);
	CHECK_CONTAINS(vbuf_str(&r.body), "\"id\":\"z\"");
	http_client_resp_free(&r);
	fx_stop(&F);
}

static void tune_v6(struct http_server_conf *c)
{
	CHECK_EQ(http_listen_parse_list("[::1]:0", &c->listen, NULL), 0);
}

/* IPv6: a listener on [::1] port 0 reports its port; client and curl reach it. */
static void t_ipv6(void)
{
	struct http_client_resp r;
	struct vt_err err;
	char url[160], *out;
	int code;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_v6), 0);
	CHECK(strncmp(F.addrs[1], "[::1]:", 6) == 0);
	CHECK(strcmp(F.addrs[1], "[::1]:0") != 0);
	snprintf(url, sizeof(url), "http://%s", F.addrs[1]);
	CHECK_EQ(get(url, "GET", "/api/v1/vms/v6", NULL, &r, &err), 0);
	CHECK_EQ(r.status, 200);
	CHECK_CONTAINS(vbuf_str(&r.body), "\"id\":\"v6\"");
	http_client_resp_free(&r);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "curl -sS -g '%.160s/hello'", url);
	out = run_cmd(cmd, &code);
	CHECK_EQ(code, 0);
	CHECK_STR(out, "hello\n");
	free(out);
	fx_stop(&F);
}

/* One connection, several requests: sequential, then pipelined. */
static void t_keepalive_pipelining(void)
{
	char buf[65536];
	size_t off, len;
	int fd;
	struct http_server_stats st;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	fd = raw_connect(F.port);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
		CHECK_EQ(len, 6);
		CHECK(strstr(buf, "Connection:") == NULL); /* HTTP/1.1 keeps it open */
		CHECK_CONTAINS(buf, "Content-Length: 6\r\n");
		CHECK_CONTAINS(buf, "Date: ");
	}
	/* three requests in one segment, the second with a body */
	CHECK_EQ(raw_send(fd, "GET /api/v1/vms/a HTTP/1.1\r\nHost: t\r\n\r\n"
			      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nabcde"
			      "GET /api/v1/vms/c HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK_CONTAINS(buf + off, "\"id\":\"a\"");
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK_EQ(len, 5);
	CHECK_EQ(memcmp(buf + off, "abcde", 5), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK_CONTAINS(buf + off, "\"id\":\"c\"");
	/* Connection: close is honoured */
	CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK_CONTAINS(buf, "Connection: close\r\n");
	CHECK(raw_closed(fd, 2000));
	close(fd);
	fx_stats(&F, &st);
	CHECK_EQ(st.accepted, 1);
	CHECK_EQ(st.requests, 7);
	CHECK_EQ(st.responses[2], 7);
	fx_stop(&F);
}

static void t_http10(void)
{
	char buf[1 << 16];
	size_t off, len;
	int fd;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	/* no Host needed; the server closes after the answer */
	fd = raw_connect(F.port);
	CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.0\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK_CONTAINS(buf, "Connection: close\r\n");
	CHECK(raw_closed(fd, 2000));
	close(fd);
	/* keep-alive on request */
	fd = raw_connect(F.port);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
		CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
		CHECK_CONTAINS(buf, "Connection: keep-alive\r\n");
	}
	/* a stream to an HTTP/1.0 client: no chunking, the close ends it */
	CHECK_EQ(raw_send(fd, "GET /stream?n=500 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK(strstr(buf, "Transfer-Encoding") == NULL);
	CHECK_CONTAINS(buf, "Connection: close\r\n");
	CHECK(verify_buf(buf + off, len, 500));
	close(fd);
	fx_stop(&F);
}

/* Limits and refusals on the wire: status, JSON error body, close. */
static void t_limits_wire(void)
{
	static char huge[40000];
	static const struct {
		const char *name;
		const char *req;
		int status;
		const char *detail;
	} cases[] = {
		{ "too many headers", NULL, 431, "too many header fields" },
		{ "line too long", NULL, 414, "request line too long" },
		{ "head too large", NULL, 431, "request head too large" },
		{ "body too large", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4194305\r\n\r\n", 413,
		  "request body too large" },
		{ "chunked body", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n",
		  411, "chunked request bodies are not accepted; send Content-Length" },
		{ "HTTP/2", "GET / HTTP/2.0\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are supported" },
		{ "no host", "GET /hello HTTP/1.1\r\n\r\n", 400, "missing Host header" },
		{ "smuggling", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		  400, "both Transfer-Encoding and Content-Length" },
		{ "bad method", "BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501, "method not implemented" },
		{ "traversal", "GET /ui/../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", 400,
		  "bad percent-encoding or dot segment in path" },
	};
	char buf[1 << 16], want[256];
	struct http_server_stats st;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *req = cases[i].req;
		size_t off, len;
		int fd = raw_connect(F.port);

		vt_test_case = cases[i].name;
		if (i == 0) {
			size_t n = (size_t)snprintf(huge, sizeof(huge), "GET / HTTP/1.1\r\nHost: t\r\n");
			for (int k = 0; k < 70; k++)
				n += (size_t)snprintf(huge + n, sizeof(huge) - n, "X-%d: v\r\n", k);
			snprintf(huge + n, sizeof(huge) - n, "\r\n");
			req = huge;
		} else if (i == 1) {
			memset(huge, 'a', 9000);
			memcpy(huge, "GET /", 5);
			snprintf(huge + 9000, sizeof(huge) - 9000, " HTTP/1.1\r\nHost: t\r\n\r\n");
			req = huge;
		} else if (i == 2) {
			int n = snprintf(huge, sizeof(huge), "GET / HTTP/1.1\r\nHost: t\r\nX: ");
			memset(huge + n, 'b', 20000);
			snprintf(huge + n + 20000, sizeof(huge) - 20000 - (size_t)n, "\r\n\r\n");
			req = huge;
		}
		CHECK_EQ(raw_send(fd, req), 0);
		CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 3000), cases[i].status);
		CHECK_CONTAINS(buf, "Connection: close\r\n");
		CHECK_CONTAINS(buf, "Content-Type: application/json\r\n");
		snprintf(want, sizeof(want), "\"detail\":\"%s\"}", cases[i].detail);
		CHECK_CONTAINS(buf + off, want);
		CHECK(raw_closed(fd, 3000));
		close(fd);
	}
	vt_test_case = "t_limits_wire";
	fx_stats(&F, &st);
	CHECK_EQ(st.bad_requests, ARRAY_SIZE(cases));
	CHECK_EQ(st.responses[4] + st.responses[5], ARRAY_SIZE(cases));
	fx_stop(&F);
}

/* A large stream arrives whole; a client that does not read stops the
 * producer (memory stays at the bound), then gets every byte. */
static void t_stream_backpressure(void)
{
	const uint64_t n = 500000; /* 32 MB */
	struct verifier v = { 0 };
	struct http_client_opts o = { .timeout_ms = 10000, .on_body = verify_piece, .arg = &v };
	struct http_client_resp r;
	struct vt_err err;
	char path[64];
	int fd, rcv = 16384;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	snprintf(path, sizeof(path), "/stream?n=%llu", (unsigned long long)n);
	STORE(g_stream_done_calls, 0);
	CHECK_EQ(http_client_request(F.url, "GET", path, NULL, 0, &o, &r, &err), 0);
	CHECK_EQ(r.status, 200);
	CHECK_EQ(v.lines, n);
	CHECK_EQ(v.bad, 0);
	CHECK_EQ(r.body.len, 0); /* streamed, not buffered */
	http_client_resp_free(&r);
	CHECK(WAIT_UNTIL(LOAD(g_stream_done_calls) == 1, 2000));
	CHECK_EQ(LOAD(g_stream_done_err), 0);

	/* now a client that stops reading */
	STORE(g_rows_produced, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(F.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_EQ(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	char req[128];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	CHECK_EQ(raw_send(fd, req), 0);
	/* production stops once socket buffers and the output bound are full */
	uint64_t now = wait_stable(&g_rows_produced, 10000);
	CHECK(now > 0);
	CHECK(now * LINE <= in_flight_bound());
	CHECK(now < n); /* far from the whole 32 MB */
	/* read it all: every line arrives, in order */
	memset(&v, 0, sizeof(v));
	static char rb[1 << 16];
	size_t total = 0, head = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t k = recv(fd, rb, sizeof(rb), 0);
		if (k <= 0)
			break;
		total += (size_t)k;
		if (total > n * LINE + 100000)
			break;
		if (v.bytes == 0 && !head) {
			/* skip the head, then decode chunks through the client's parser */
			char *e = memmem(rb, (size_t)k, "\r\n\r\n", 4);
			CHECK(e != NULL);
			head = (size_t)(e + 4 - rb);
			memmove(rb, rb + head, (size_t)k - head);
			k -= (ssize_t)head;
		}
		static struct http_chunked ch;
		static bool init;
		if (!init) {
			http_chunked_init(&ch);
			init = true;
		}
		size_t o2;
		ssize_t u = http_chunked_decode(&ch, rb, (size_t)k, &o2);
		CHECK(u == k);
		verify_piece(rb, o2, &v);
		if (ch.done)
			break;
	}
	CHECK_EQ(v.lines, n);
	CHECK_EQ(v.bad, 0);
	close(fd);
	fx_stop(&F);
}

static void tune_timeouts(struct http_server_conf *c)
{
	c->header_timeout_ms = 300;
	c->idle_timeout_ms = 300;
	c->write_timeout_ms = 400;
	c->body_timeout_ms = 300;
	c->handler_timeout_ms = 400;
}

static void t_timeouts(void)
{
	char buf[1 << 16];
	size_t off, len;
	struct http_server_stats st;
	int fd, rcv = 8192;
	uint64_t t0;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_timeouts), 0);
	/* a partial head: 408 after header_timeout */
	fd = raw_connect(F.port);
	t0 = mono_ms();
	CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.1\r\nHo"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 3000), 408);
	CHECK(mono_ms() - t0 >= 280);
	CHECK_CONTAINS(buf + off, "the request head did not arrive in time");
	CHECK(raw_closed(fd, 2000));
	close(fd);
	/* a body that never completes: 408 after body_timeout */
	fd = raw_connect(F.port);
	CHECK_EQ(raw_send(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 3000), 408);
	CHECK_CONTAINS(buf + off, "the request body did not arrive in time");
	close(fd);
	/* a keep-alive connection left idle is closed; so is a silent one */
	fd = raw_connect(F.port);
	t0 = mono_ms();
	CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK(raw_closed(fd, 3000));
	CHECK(mono_ms() - t0 >= 290);
	close(fd);
	fd = raw_connect(F.port);
	CHECK(raw_closed(fd, 3000));
	close(fd);
	/* a client that stops reading a stream is disconnected */
	STORE(g_stream_done_calls, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(F.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_EQ(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_EQ(raw_send(fd, "GET /stream?n=1000000 HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK(WAIT_UNTIL(LOAD(g_stream_done_calls) == 1, 5000));
	CHECK_EQ(LOAD(g_stream_done_err), -ECONNABORTED);
	close(fd);
	/* a deferred answer that never comes: 503, and the worker is told */
	STORE(g_saw_cancel, 0);
	struct http_client_resp r;
	struct vt_err err;
	CHECK_EQ(get(F.url, "GET", "/defer-never", NULL, &r, &err), 0);
	CHECK_EQ(r.status, 503);
	CHECK_CONTAINS(vbuf_str(&r.body), "the handler did not answer within 400 ms");
	http_client_resp_free(&r);
	CHECK(WAIT_UNTIL(LOAD(g_saw_cancel) == 1, 3000));
	wait_workers();

	fx_stats(&F, &st);
	CHECK_EQ(st.timeouts_header, 1);
	CHECK_EQ(st.timeouts_body, 1);
	CHECK_EQ(st.timeouts_idle, 2);
	CHECK_EQ(st.timeouts_write, 1);
	CHECK_EQ(st.timeouts_handler, 1);
	CHECK_EQ(st.aborted, 1);
	fx_stop(&F);
}

static void tune_maxconn(struct http_server_conf *c)
{
	c->max_connections = 4;
}

static void t_max_connections(void)
{
	char buf[1 << 16];
	size_t off, len;
	int fds[4], fd;
	struct http_server_stats st;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_maxconn), 0);
	for (int i = 0; i < 4; i++) {
		fds[i] = raw_connect(F.port);
		CHECK_EQ(raw_send(fds[i], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		CHECK_EQ(raw_response(fds[i], buf, sizeof(buf), &off, &len, 2000), 200);
	}
	/* the fifth is answered 503 and closed; the others keep working */
	for (int k = 0; k < 2; k++) {
		fd = raw_connect(F.port);
		CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 503);
		CHECK_CONTAINS(buf, "Retry-After: 1\r\n");
		CHECK_CONTAINS(buf + off, "too many connections");
		CHECK(raw_closed(fd, 2000));
		close(fd);
	}
	CHECK_EQ(raw_send(fds[0], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fds[0], buf, sizeof(buf), &off, &len, 2000), 200);
	fx_stats(&F, &st);
	CHECK_EQ(st.refused_limit, 2);
	CHECK_EQ(st.active, 4);
	/* when one leaves, a new one is served */
	close(fds[3]);
	CHECK(WAIT_UNTIL((fx_stats(&F, &st), st.active == 3), 2000));
	fd = raw_connect(F.port);
	CHECK_EQ(raw_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	close(fd);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	fx_stats(&F, &st);
	CHECK_EQ(st.accepted, 5);
	CHECK_EQ(st.refused_limit, 2);
	fx_stop(&F);
}

struct par {
	const char *url;
	int ok;
	uint64_t done_ms;
};

static void *par_get(void *arg)
{
	struct par *p = arg;
	struct http_client_resp r;
	struct vt_err err;

	if (get(p->url, "GET", "/defer?ms=1000", NULL, &r, &err) == 0 && r.status == 200 &&
	    strcmp(vbuf_str(&r.body), "{\"slept\":1000}") == 0)
		p->ok = 1;
	p->done_ms = mono_ms();
	http_client_resp_free(&r);
	return NULL;
}

/* Deferred answers: several at once (the loop keeps serving meanwhile), a
 * worker's stream with backpressure, and a client that leaves. */
static void t_deferred(void)
{
	pthread_t th[8];
	struct par p[8];
	struct http_client_resp r;
	struct vt_err err;
	struct http_server_stats st;
	uint64_t t0 = mono_ms();

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){ F.url, 0, 0 };
		pthread_create(&th[i], NULL, par_get, &p[i]);
	}
	/* while eight workers sleep for a second, the loop answers at once */
	CHECK(WAIT_UNTIL((fx_stats(&F, &st), st.deferred == 8), 5000));
	CHECK_EQ(get(F.url, "GET", "/hello", NULL, &r, &err), 0);
	CHECK_EQ(r.status, 200);
	uint64_t hello_ms = mono_ms();
	http_client_resp_free(&r);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(p[i].ok, 1);
		CHECK(p[i].done_ms > hello_ms);
	}
	CHECK(mono_ms() - t0 < 6000); /* in parallel: not 8 s one after another */
	wait_workers();

	/* a worker streaming 6.4 MB through the bounded queue */
	struct verifier v = { 0 };
	struct http_client_opts o = { .timeout_ms = 10000, .on_body = verify_piece, .arg = &v };
	STORE(g_defer_rows, 0);
	CHECK_EQ(http_client_request(F.url, "GET", "/defer-stream?n=100000", NULL, 0, &o, &r, &err), 0);
	CHECK_EQ(r.status, 200);
	CHECK_EQ(v.lines, 100000);
	CHECK_EQ(v.bad, 0);
	http_client_resp_free(&r);
	wait_workers();
	CHECK_EQ(LOAD(g_defer_write_err), 0);

	/* a client that does not read: the worker blocks at the bound ... */
	int fd = socket(AF_INET, SOCK_STREAM, 0), rcv = 16384;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(F.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_EQ(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	STORE(g_defer_rows, 0);
	CHECK_EQ(raw_send(fd, "GET /defer-stream?n=1000000 HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	uint64_t now = wait_stable(&g_defer_rows, 10000);
	CHECK(now > 0 && now * LINE <= in_flight_bound() && now < 1000000);
	/* ... and learns the client left: -EPIPE, no more work */
	close(fd);
	CHECK(WAIT_UNTIL(LOAD(g_workers) == 0, 5000));
	CHECK_EQ(LOAD(g_defer_write_err), -EPIPE);
	CHECK(LOAD(g_defer_rows) < 1000000);
	CHECK(WAIT_UNTIL((fx_stats(&F, &st), st.active == 0), 3000));
	CHECK_EQ(st.deferred, 10);
	fx_stop(&F);
}

/* Handler contract: header validation and a producer that breaks it. */
static void t_contract(void)
{
	char buf[1 << 16];
	size_t off, len;
	int fd;

	CHECK_EQ(fx_start(&F, routes_all, false, tune_default), 0);
	fd = raw_connect(F.port);
	CHECK_EQ(raw_send(fd, "GET /headers HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 200);
	CHECK_CONTAINS(buf, "\r\nX-Vtap-Test: ok value\r\n");
	CHECK(strstr(buf, "pwned") == NULL);
	CHECK(strstr(buf, "Content-Length: 5") == NULL);
	CHECK_EQ(g_hdr_results[0], 0);
	CHECK_EQ(g_hdr_results[1], -EINVAL);
	CHECK_EQ(g_hdr_results[2], -EINVAL);
	CHECK_EQ(g_hdr_results[3], -EINVAL);
	/* a worker's invalid status or header injection in its type: 500 */
	for (int k = 0; k < 2; k++) {
		CHECK_EQ(raw_send(fd, k ? "GET /defer-bad?n=1 HTTP/1.1\r\nHost: t\r\n\r\n"
					: "GET /defer-bad HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
		CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), 500);
		CHECK_CONTAINS(buf + off, "the handler gave an invalid answer");
		CHECK(strstr(buf, "X-Evil") == NULL);
	}
	wait_workers();
	/* a producer that makes no progress: the body is cut, the connection closed */
	CHECK_EQ(raw_send(fd, "GET /bad-stream HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
	CHECK_EQ(raw_response(fd, buf, sizeof(buf), &off, &len, 2000), -1);
	CHECK(raw_closed(fd, 1000));
	close(fd);
	struct http_server_stats st;
	fx_stats(&F, &st);
	CHECK_EQ(st.aborted, 1);
	CHECK_EQ(st.streams, 1);
	fx_stop(&F);
}

/* The config keys: defaults equal http_server_conf_init(); values are
 * validated with messages that name the key. */
static void t_conf_keys(void)
{
	static const struct conf_key keys[] = { HTTP_CONF_KEYS("127.0.0.1:8080") };
	static const struct conf_section secs[] = { { "api", "HTTP API", keys, ARRAY_SIZE(keys), 0, NULL } };
	struct http_server_conf c, d;
	struct vt_err err = { 0 };

	CHECK_EQ(ARRAY_SIZE(keys), HTTP_CONF_NKEYS);
	memset(&c, 0, sizeof(c));
	CHECK_EQ(conf_defaults(secs, 1, &c, &err), 0);
	http_server_conf_init(&d);
	CHECK_EQ(c.listen.n, 1);
	CHECK_STR(c.listen.a[0].spec, "127.0.0.1:8080");
	c.listen.n = 0;
	memset(&c.listen, 0, sizeof(c.listen));
	CHECK_EQ(memcmp(&c, &d, sizeof(c)), 0);

	static const char good[] = "[api]\nlisten = [::1]:0, unix:/run/vtap/agent.sock\n"
				   "socket_mode = 0660\nmax_connections = 16\nidle_timeout = 5s\n";
	CHECK_EQ(conf_parse(good, strlen(good), "t.conf", secs, 1, &c, &err), 0);
	CHECK_EQ(c.listen.n, 2); /* replaced, not appended to the default */
	CHECK_EQ(c.listen.a[0].kind, HTTP_LISTEN_TCP);
	CHECK_EQ(c.listen.a[1].kind, HTTP_LISTEN_UNIX);
	CHECK_STR(c.listen.a[1].path, "/run/vtap/agent.sock");
	CHECK_EQ(c.socket_mode, 0660);
	CHECK_EQ(c.max_connections, 16);
	CHECK_EQ(c.idle_timeout_ms, 5000);
	conf_free(secs, 1, &c);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[api]\nlisten = example.com:80\n",
		  "'example.com:80': 'example.com' is not an IPv4 address (write IPv6 as [::1]:PORT; names other than localhost are not resolved)" },
		{ "[api]\nlisten = 127.0.0.1\n", "'127.0.0.1' is not a listen address (ADDRESS:PORT, [IPV6]:PORT or unix:/PATH)" },
		{ "[api]\nlisten = 127.0.0.1:70000\n", "'127.0.0.1:70000': port must be a number in 0..65535" },
		{ "[api]\nlisten = unix:run.sock\n", "'unix:run.sock': a UNIX socket path must be absolute (unix:/run/vtap/x.sock)" },
		{ "[api]\nsocket_mode = 660x\n", "'660x' is not an octal file mode (e.g. 0660)" },
		{ "[api]\nsocket_mode = 0999\n", "'0999' is not an octal file mode (e.g. 0660)" },
		{ "[api]\nmax_connections = 0\n", "0 is out of range" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&c, 0, sizeof(c));
		conf_defaults(secs, 1, &c, &err);
		vt_test_case = bad[i].text;
		CHECK(conf_parse(bad[i].text, strlen(bad[i].text), "t.conf", secs, 1, &c, &err) < 0);
		CHECK_CONTAINS(err.msg, "t.conf:2");
		CHECK_CONTAINS(err.msg, bad[i].msg);
		conf_free(secs, 1, &c);
	}
}

VT_TEST_MAIN(VT_T(t_client_basic), VT_T(t_client_json), VT_T(t_unix_socket), VT_T(t_ipv6), VT_T(t_client_errors),
	     VT_T(t_keepalive_pipelining), VT_T(t_http10), VT_T(t_limits_wire),
	     VT_T(t_stream_backpressure), VT_T(t_timeouts), VT_T(t_max_connections),
	     VT_T(t_deferred), VT_T(t_contract), VT_T(t_conf_keys))
