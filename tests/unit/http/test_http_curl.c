/* Unit tests: lib/http against a real peer, curl — status lines, headers
 * (405 Allow, HEAD, 301 Location, ETag/304), keep-alive reuse, HTTP/1.0,
 * large and rate-limited streams, Expect: 100-continue, refusals, UNIX
 * sockets, static files (types, traversal, symlinks out of the root),
 * and /metrics. */
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "test_handlers.h"

static struct fx F;

static void tune(struct http_server_conf *c)
{
	c->max_body = 4u << 20;
}

/* curl ARGS... -> stdout (freed by caller); the exit code in *code */
static char *curl(int *code, const char *fmt, ...) VT_PRINTF(2, 3);
static char *curl(int *code, const char *fmt, ...)
{
	char cmd[2048];
	int n = snprintf(cmd, sizeof(cmd), "curl -sS --max-time 20 ");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	return run_cmd(cmd, code);
}

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, n), (long long)n);
	close(fd);
}

static bool file_equals(const char *path, const void *data, size_t n)
{
	struct stat sb;
	char *buf;
	int fd = open(path, O_RDONLY);
	bool eq;

	if (fd < 0 || fstat(fd, &sb) < 0 || (size_t)sb.st_size != n) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	buf = malloc(n + 1);
	eq = read(fd, buf, n) == (ssize_t)n && memcmp(buf, data, n) == 0;
	free(buf);
	close(fd);
	return eq;
}

static void t_curl_answers(void)
{
	static const struct {
		const char *args, *path;
		const char *contains[3];
	} cases[] = {
		{ "-i", "/hello", { "HTTP/1.1 200 OK\r\n", "Content-Length: 6\r\n", "\r\n\r\nhello\n" } },
		{ "-i -X PUT", "/hello", { "HTTP/1.1 405 Method Not Allowed\r\n", "Allow: GET, HEAD, OPTIONS\r\n",
					    "\"error\":\"method not allowed\"" } },
		{ "-i", "/nope", { "HTTP/1.1 404 Not Found\r\n", "Content-Type: application/json\r\n",
				   "{\"error\":\"not found\",\"detail\":\"no resource at /nope\"}" } },
		{ "-I", "/hello", { "HTTP/1.1 200 OK\r\n", "Content-Length: 6\r\n", "Server: vtap/" } },
		{ "-i -X OPTIONS", "/api/v1/vms/x", { "HTTP/1.1 204 No Content\r\n",
						     "Allow: GET, HEAD, DELETE, OPTIONS\r\n", "Date: " } },
		{ "-i", "/api/v1/vms/caf%C3%A9?x=%C3%A9+1", { "200 OK", "\"id\":\"caf\xc3\xa9\"",
							     "\"x\":\"\xc3\xa9 1\"" } },
		{ "-i -H 'Content-Type: application/json' -d '{\"name\":\"db\"}'", "/json",
		  { "HTTP/1.1 201 Created\r\n", "{\"name\":\"db\"}", "Content-Length: 13\r\n" } },
		{ "-i -H 'Content-Type: text/plain' -d 'x'", "/json",
		  { "HTTP/1.1 415 Unsupported Media Type\r\n", "Content-Type must be application/json, not 'text/plain'",
		    "\"error\":\"invalid request body\"" } },
		{ "-i -H 'Content-Type: application/jsonx' -d '{}'", "/json",
		  { "HTTP/1.1 415 Unsupported Media Type\r\n", "not 'application/jsonx'", "" } },
		{ "-i -H 'Content-Type: application/json; charset=utf-8' -d '{\"name\":\"u8\"}'", "/json",
		  { "HTTP/1.1 201 Created\r\n", "{\"name\":\"u8\"}", "" } },
		{ "-i -H 'Content-Type: application/merge-patch+json' -d '{\"name\":\"mp\"}'", "/json",
		  { "HTTP/1.1 201 Created\r\n", "{\"name\":\"mp\"}", "" } },
		{ "-i -H 'Transfer-Encoding: chunked' -d 'abc'", "/echo",
		  { "HTTP/1.1 411 Length Required\r\n", "Connection: close\r\n", "send Content-Length" } },
		{ "-i --path-as-is", "/ui/../api.sock", { "HTTP/1.1 400 Bad Request\r\n", "dot segment", "" } },
		{ "-I", "/stream?n=5", { "HTTP/1.1 200 OK\r\n", "Transfer-Encoding: chunked\r\n",
					 "Content-Type: text/plain\r\n" } },
		{ "-i -X OPTIONS --request-target '*'", "/", { "HTTP/1.1 204 No Content\r\n",
			"Allow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n", "Server: vtap/" } },
	};
	int code;

	CHECK_EQ(fx_start(&F, routes_all, true, tune), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out = curl(&code, "%s '%s%s'", cases[i].args, F.url, cases[i].path);
		vt_test_case = cases[i].path;
		CHECK_EQ(code, 0);
		for (int k = 0; k < 3; k++)
			CHECK_CONTAINS(out, cases[i].contains[k]);
		if (strcmp(cases[i].args, "-I") == 0) {
			/* HEAD: the head ends the answer */
			const char *e = strstr(out, "\r\n\r\n");
			CHECK(e && e[4] == '\0');
		}
		free(out);
		/* the same over the UNIX socket */
		out = curl(&code, "%s --unix-socket '%s' 'http://localhost%s'", cases[i].args, F.sock,
			   cases[i].path);
		CHECK_EQ(code, 0);
		for (int k = 0; k < 3; k++)
			CHECK_CONTAINS(out, cases[i].contains[k]);
		free(out);
	}
	vt_test_case = "t_curl_answers";
	fx_stop(&F);
}

/* curl reuses one connection for several URLs; HTTP/1.0 closes. */
static void t_curl_connections(void)
{
	struct http_server_stats st;
	int code;
	char *out;

	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	out = curl(&code, "-v -o /dev/null -o /dev/null -o /dev/null '%s/hello' '%s/api/v1/vms/a' "
		   "'%s/stream?n=100' 2>&1", F.url, F.url, F.url);
	CHECK_EQ(code, 0);
	CHECK_CONTAINS(out, "Re-using existing connection");
	free(out);
	fx_stats(&F, &st);
	CHECK_EQ(st.accepted, 1);
	CHECK_EQ(st.requests, 3);

	out = curl(&code, "--http1.0 -i '%s/hello'", F.url);
	CHECK_CONTAINS(out, "Connection: close\r\n");
	CHECK_CONTAINS(out, "\r\n\r\nhello\n");
	free(out);
	out = curl(&code, "--http1.0 '%s/stream?n=3000'", F.url);
	CHECK_EQ(code, 0);
	CHECK(verify_buf(out, strlen(out), 3000));
	free(out);
	fx_stats(&F, &st);
	CHECK_EQ(st.accepted, 3);
	fx_stop(&F);
}

/* Big and slow: a 12.8 MB chunked stream, a rate-limited download
 * (curl as the slow client), a known-length stream. */
static void t_curl_streams(void)
{
	char path[256];
	int code;
	char *out;

	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	snprintf(path, sizeof(path), "%s/out.txt", F.dir);
	out = curl(&code, "-o '%s' -w '%%{http_code} %%{size_download}' '%s/stream?n=200000'", path, F.url);
	CHECK_EQ(code, 0);
	CHECK_STR(out, "200 12800000");
	free(out);
	int fd = open(path, O_RDONLY);
	static char big[12800001];
	CHECK_EQ(read(fd, big, sizeof(big)), 12800000);
	close(fd);
	CHECK(verify_buf(big, 12800000, 200000));

	/* a slow client: curl writes into a pipe read 32 KiB per 10 ms, so it
	 * stops reading the socket and TCP pushes back on the server
	 * (curl 7.88's --limit-rate does not throttle) */
	uint64_t t0 = mono_ms();
	out = curl(&code, "'%s/stream?n=40000' | python3 -c '\n"
		   "import sys, time\n"
		   "n = 0\n"
		   "while True:\n"
		   "    b = sys.stdin.buffer.read1(32768)\n"
		   "    if not b: break\n"
		   "    sys.stdout.buffer.write(b)\n"
		   "    time.sleep(0.01)\n"
		   "'", F.url);
	CHECK_EQ(code, 0);
	CHECK(mono_ms() - t0 >= 700); /* it really was slow */
	CHECK(verify_buf(out, strlen(out), 40000));
	free(out);

	out = curl(&code, "-i '%s/fixed?n=100'", F.url);
	CHECK_CONTAINS(out, "Content-Length: 6400\r\n");
	CHECK(strstr(out, "Transfer-Encoding") == NULL);
	free(out);
	out = curl(&code, "-i '%s/stream?n=1'", F.url);
	CHECK_CONTAINS(out, "Transfer-Encoding: chunked\r\n");
	free(out);
	fx_stop(&F);
}

/* POST bodies: Expect: 100-continue (curl sends it above 1 MiB), the
 * body limit refused before the body is sent, a deferred echo. */
static void t_curl_bodies(void)
{
	const size_t n = 3u << 20, too_big = 5u << 20;
	char *data = malloc(too_big), path[256], outp[256];
	int code;
	char *out;

	for (size_t i = 0; i < too_big; i++)
		data[i] = (char)(i * 7 + i / 251);
	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	write_file(F.dir, "body.bin", data, n);
	write_file(F.dir, "big.bin", data, too_big);
	snprintf(path, sizeof(path), "%s/body.bin", F.dir);
	snprintf(outp, sizeof(outp), "%s/echo.bin", F.dir);
	out = curl(&code, "-v -H 'Content-Type: application/octet-stream' --data-binary '@%s' -o '%s' "
		   "'%s/echo' 2>&1", path, outp, F.url);
	CHECK_EQ(code, 0);
	CHECK_CONTAINS(out, "Expect: 100-continue");
	CHECK_CONTAINS(out, "HTTP/1.1 100 Continue");
	CHECK_CONTAINS(out, "HTTP/1.1 200 OK");
	free(out);
	CHECK(file_equals(outp, data, n));

	snprintf(path, sizeof(path), "%s/big.bin", F.dir);
	out = curl(&code, "-v -o /dev/null -w '%%{http_code} %%{size_upload}\\n' --data-binary '@%s' '%s/echo' 2>&1",
		   path, F.url);
	CHECK_EQ(code, 0);
	CHECK_CONTAINS(out, "413 0\n"); /* refused before a byte of the body was sent */
	CHECK_CONTAINS(out, "Expect: 100-continue");
	/* answered at once, not after curl's 1 s wait for 100 Continue */
	CHECK(strstr(out, "Done waiting for 100-continue") == NULL);
	free(out);
	/* the same body with the expectation disabled: still 413, curl sees it */
	out = curl(&code, "-o /dev/null -w '%%{http_code}' -H 'Expect:' --data-binary '@%s' '%s/echo'",
		   path, F.url);
	CHECK_STR(out, "413");
	free(out);
	free(data);
	fx_stop(&F);
}

static void t_static_files(void)
{
	static const char html[] = "<!doctype html><title>vtap</title>\n";
	static const char js[] = "console.log('vtap');\n";
	char www[128], p[256], etag[128] = "", lm[64] = "";
	int code;
	char *out;

	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	snprintf(www, sizeof(www), "%s/www", F.dir);
	write_file(www, "index.html", html, strlen(html));
	write_file(www, "app.js", js, strlen(js));
	write_file(www, "data.json", "{}", 2);
	write_file(www, "empty.txt", "", 0);
	write_file(www, ".secret", "s3cret", 6);
	snprintf(p, sizeof(p), "%s/sub", www);
	mkdir(p, 0755);
	write_file(p, "page.css", "a{}", 3);
	snprintf(p, sizeof(p), "%s/link-out", www);
	CHECK_EQ(symlink("/etc/hostname", p), 0);
	snprintf(p, sizeof(p), "%s/link-dir", www);
	CHECK_EQ(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/link-up", www);
	CHECK_EQ(symlink("../", p), 0);
	snprintf(p, sizeof(p), "%s/link-in", www);
	CHECK_EQ(symlink("app.js", p), 0);
	static char blob[1 << 20];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)(i % 253);
	write_file(www, "blob.bin", blob, sizeof(blob));

	static const struct {
		const char *path;
		int status;
		const char *ctype;
		const char *body;
	} cases[] = {
		{ "/ui/", 200, "text/html; charset=utf-8", html },
		{ "/ui/index.html", 200, "text/html; charset=utf-8", html },
		{ "/ui/app.js", 200, "text/javascript; charset=utf-8", js },
		{ "/ui/data.json", 200, "application/json", "{}" },
		{ "/ui/sub/page.css", 200, "text/css; charset=utf-8", "a{}" },
		{ "/ui/empty.txt", 200, "text/plain; charset=utf-8", "" },
		{ "/ui/link-in", 200, "application/octet-stream", js },
		{ "/ui", 301, NULL, NULL },
		{ "/ui/sub", 301, NULL, NULL },
		{ "/ui/sub/", 404, NULL, NULL },     /* no index, no listing */
		{ "/ui/.secret", 404, NULL, NULL },
		{ "/ui/sub/../.secret", 400, NULL, NULL },
		{ "/ui/link-out", 404, NULL, NULL }, /* symlink leaving the root */
		{ "/ui/link-dir/passwd", 404, NULL, NULL },
		{ "/ui/link-up/api.sock", 404, NULL, NULL },
		{ "/ui/%2e%2e/api.sock", 400, NULL, NULL },
		{ "/ui/..%2fapi.sock", 404, NULL, NULL },
		{ "/ui/missing.js", 404, NULL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[64];
		vt_test_case = cases[i].path;
		out = curl(&code, "--path-as-is -i '%s%s'", F.url, cases[i].path);
		CHECK_EQ(code, 0);
		snprintf(want, sizeof(want), "HTTP/1.1 %d ", cases[i].status);
		CHECK(strncmp(out, want, strlen(want)) == 0);
		if (cases[i].ctype) {
			snprintf(p, sizeof(p), "Content-Type: %s\r\n", cases[i].ctype);
			CHECK_CONTAINS(out, p);
			CHECK_CONTAINS(out, "X-Content-Type-Options: nosniff\r\n");
			const char *b = strstr(out, "\r\n\r\n");
			CHECK(b && strcmp(b + 4, cases[i].body) == 0);
		}
		if (cases[i].status == 301) {
			snprintf(p, sizeof(p), "Location: %s/\r\n", cases[i].path);
			CHECK_CONTAINS(out, p);
		}
		CHECK(strstr(out, "s3cret") == NULL);
		free(out);
	}
	vt_test_case = "t_static_files";

	/* revalidation: ETag and Last-Modified give 304 */
	out = curl(&code, "-i '%s/ui/app.js'", F.url);
	const char *e = strstr(out, "ETag: "), *l = strstr(out, "Last-Modified: ");
	CHECK(e && l);
	if (e && l) {
		snprintf(etag, sizeof(etag), "%.*s", (int)strcspn(e + 6, "\r"), e + 6);
		snprintf(lm, sizeof(lm), "%.*s", (int)strcspn(l + 15, "\r"), l + 15);
	}
	free(out);
	out = curl(&code, "-o /dev/null -w '%%{http_code}' -H 'If-None-Match: %s' '%s/ui/app.js'", etag, F.url);
	CHECK_STR(out, "304");
	free(out);
	out = curl(&code, "-o /dev/null -w '%%{http_code}' -H 'If-None-Match: \"other\", %s' '%s/ui/app.js'",
		   etag, F.url);
	CHECK_STR(out, "304");
	free(out);
	out = curl(&code, "-o /dev/null -w '%%{http_code}' -H 'If-None-Match: \"other\"' '%s/ui/app.js'", F.url);
	CHECK_STR(out, "200");
	free(out);
	out = curl(&code, "-o /dev/null -w '%%{http_code}' -H 'If-Modified-Since: %s' '%s/ui/app.js'", lm, F.url);
	CHECK_STR(out, "304");
	free(out);
	out = curl(&code, "-o /dev/null -w '%%{http_code}' -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' "
		   "'%s/ui/app.js'", F.url);
	CHECK_STR(out, "200");
	free(out);

	/* a binary file streamed whole, and HEAD */
	snprintf(p, sizeof(p), "%s/blob.out", F.dir);
	out = curl(&code, "-o '%s' -w '%%{http_code} %%{size_download}' '%s/ui/blob.bin'", p, F.url);
	CHECK_STR(out, "200 1048576");
	free(out);
	CHECK(file_equals(p, blob, sizeof(blob)));
	out = curl(&code, "-I '%s/ui/blob.bin'", F.url);
	CHECK_CONTAINS(out, "Content-Length: 1048576\r\n");
	CHECK_CONTAINS(out, "Content-Type: application/octet-stream\r\n");
	free(out);
	fx_stop(&F);
}

/* /metrics: every line is a comment or "name{labels} value", and the
 * counters match what was done. */
static void t_metrics(void)
{
	int code;
	char *out, *save = NULL;
	size_t samples = 0;

	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	free(curl(&code, "'%s/hello' '%s/hello' '%s/nope'", F.url, F.url, F.url));
	out = curl(&code, "-i '%s/metrics'", F.url);
	CHECK_CONTAINS(out, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	CHECK_CONTAINS(out, "# TYPE vtap_http_requests_total counter\n");
	CHECK_CONTAINS(out, "\nvtap_http_requests_total 4\n");
	CHECK_CONTAINS(out, "\nvtap_http_responses_total{class=\"2xx\"} 2\n");
	CHECK_CONTAINS(out, "\nvtap_http_responses_total{class=\"4xx\"} 1\n");
	CHECK_CONTAINS(out, "\nvtap_http_connections_accepted_total 2\n");
	CHECK_CONTAINS(out, "\nvtap_http_connections 1\n");
	CHECK_CONTAINS(out, "\nvtap_http_timeouts_total{timeout=\"write\"} 0\n");
	const char *body = strstr(out, "\r\n\r\n");
	CHECK(body != NULL);
	for (char *line = strtok_r((char *)body + 4, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			CHECK(strncmp(line, "# HELP vtap_http_", 17) == 0 ||
			      strncmp(line, "# TYPE vtap_http_", 17) == 0);
			continue;
		}
		char *sp = strrchr(line, ' ');
		uint64_t v;
		CHECK(sp != NULL);
		if (!sp)
			continue;
		CHECK_EQ(parse_u64(sp + 1, 0, UINT64_MAX, &v), 0);
		CHECK(strncmp(line, "vtap_http_", 10) == 0);
		samples++;
	}
	CHECK_EQ(samples, 11 + 5 + 5);
	free(out);
	fx_stop(&F);
}

/* GET <path> with the client; the status, and the body into <body>. */
static int get(const char *path, char *body, size_t cap)
{
	struct http_client_opts o = { .timeout_ms = 3000 };
	struct http_client_resp r;
	struct vt_err err = { 0 };
	int status = -1;

	if (http_client_request(F.url, "GET", path, NULL, 0, &o, &r, &err) == 0) {
		status = r.status;
		snprintf(body, cap, "%s", vbuf_str(&r.body));
	} else {
		snprintf(body, cap, "%.*s", (int)(cap - 1), err.msg);
	}
	http_client_resp_free(&r);
	return status;
}

/* A FIFO in the served directory: opening it must not wait for a writer
 * (the loop would stop serving everyone); it is not a file, so 404. */
static void t_static_fifo(void)
{
	char www[128], p[256], body[256];
	int w;

	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	snprintf(www, sizeof(www), "%s/www", F.dir);
	write_file(www, "app.js", "js", 2);
	snprintf(p, sizeof(p), "%s/pipe", www);
	CHECK_EQ(mkfifo(p, 0644), 0);
	CHECK_EQ(get("/ui/pipe", body, sizeof(body)), 404);
	/* if the server is stuck in open(), a writer lets it go on */
	w = open(p, O_WRONLY | O_NONBLOCK);
	if (w >= 0)
		close(w);
	CHECK_EQ(get("/ui/app.js", body, sizeof(body)), 200);
	fx_stop(&F);
}

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_AUDIT_ARCH
/* From now on openat2() fails with ENOSYS in this process, as on kernels
 * before 5.6 or under a seccomp policy that predates the call. */
static int deny_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)ARRAY_SIZE(f), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/* The child of t_static_no_openat2: the static handler's fallback. */
static void static_fallback_child(void)
{
	char www[128], p[512], body[256];

	CHECK_EQ(deny_openat2(), 0);
	CHECK(syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) < 0 && errno == ENOSYS);
	CHECK_EQ(fx_start(&F, routes_all, false, tune), 0);
	snprintf(www, sizeof(www), "%s/www", F.dir);
	write_file(www, "index.html", "home", 4);
	write_file(www, "app.js", "js", 2);
	write_file(F.dir, "outside.txt", "OUTSIDE", 7);
	snprintf(p, sizeof(p), "%s/sub", www);
	mkdir(p, 0755);
	write_file(p, "page.css", "a{}", 3);
	snprintf(p, sizeof(p), "%s/link-dir", www);
	CHECK_EQ(symlink(F.dir, p), 0);
	snprintf(p, sizeof(p), "%s/link-in", www);
	CHECK_EQ(symlink("app.js", p), 0);

	/* what is inside is served */
	CHECK_EQ(get("/ui/", body, sizeof(body)), 200);
	CHECK_STR(body, "home");
	CHECK_EQ(get("/ui/app.js", body, sizeof(body)), 200);
	CHECK_STR(body, "js");
	CHECK_EQ(get("/ui/sub/page.css", body, sizeof(body)), 200);
	CHECK_STR(body, "a{}");
	CHECK_EQ(get("/ui/sub", body, sizeof(body)), 301);
	/* nothing outside: an empty segment makes the rest an absolute path,
	 * a symlinked directory leads out; without RESOLVE_BENEATH the
	 * handler refuses symlinks altogether */
	snprintf(p, sizeof(p), "/ui/%s/outside.txt", F.dir);
	CHECK_EQ(get(p, body, sizeof(body)), 404);
	CHECK(strstr(body, "OUTSIDE") == NULL);
	CHECK_EQ(get("/ui//etc/hostname", body, sizeof(body)), 404);
	CHECK_EQ(get("/ui/link-dir/outside.txt", body, sizeof(body)), 404);
	CHECK(strstr(body, "OUTSIDE") == NULL);
	CHECK_EQ(get("/ui/link-in", body, sizeof(body)), 404);
	fx_stop(&F);
}

/* Without openat2() (kernels before 5.6) the static handler opens files
 * another way: it still serves the directory and nothing outside it. The
 * seccomp filter is for good, so this runs in a child process. */
static void t_static_no_openat2(void)
{
	pid_t pid;
	int st = 0;

	fflush(stdout); /* the child must not print the parent's buffer again */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		vt_test_case = "t_static_no_openat2 (child)";
		vt_test_failures = 0; /* the parent's earlier failures are not ours */
		static_fallback_child();
		exit(vt_test_failures ? 1 : 0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
#else
static void t_static_no_openat2(void)
{
	printf("# skipped: no seccomp architecture constant for this machine\n");
}
#endif

VT_TEST_MAIN(VT_T(t_curl_answers), VT_T(t_curl_connections), VT_T(t_curl_streams),
	     VT_T(t_curl_bodies), VT_T(t_static_files), VT_T(t_static_fifo),
	     VT_T(t_static_no_openat2),
	     VT_T(t_metrics))
