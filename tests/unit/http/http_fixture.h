/* http_fixture.h — an in-process vtap HTTP server for the tests of
 * lib/http: the server runs on its own event-loop thread (as in a daemon)
 * on 127.0.0.1 port 0 and, optionally, a UNIX socket in a temporary
 * directory; the test thread talks to it with the client, raw sockets or
 * curl. fx_call() runs a function on the loop thread and waits for it, so
 * tests read the server's counters without racing it. */
#ifndef VT_HTTP_FIXTURE_H
#define VT_HTTP_FIXTURE_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/evloop.h"
#include "core/timeutil.h"
#include "http/http_client.h"
#include "http/http_server.h"
#include "http/http_static.h"
#include "vt_test.h"

struct fx;
typedef void (*fx_fn)(struct fx *f, void *arg);

struct fx {
	struct http_server_conf conf;
	bool want_unix;
	fx_fn routes;               /* registers the handlers (loop thread) */
	char dir[64];               /* temporary directory */
	char sock[192];             /* dir/api.sock when want_unix */
	char url[64];               /* http://127.0.0.1:PORT */
	char addrs[4][HTTP_SPEC_MAX]; /* bound addresses, listener order */
	char unix_target[200];      /* unix:/.../api.sock */
	uint16_t port;
	struct evloop *ev;
	struct http_router *r;
	struct http_server *s;
	struct http_static *st;
	pthread_t th;
	sem_t ready, called;
	int ctl[2];
	struct ev_io ctl_io;
	fx_fn call_fn;
	void *call_arg;
	int err;
	struct vt_err verr;
};

static void fx_on_ctl(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct fx *f = io->arg;
	char c;

	(void)ev;
	(void)events;
	if (read(f->ctl[0], &c, 1) == 1) {
		f->call_fn(f, f->call_arg);
		sem_post(&f->called);
	}
}

static void *fx_thread(void *arg)
{
	struct fx *f = arg;
	struct http_listen_addr a;

	f->ev = ev_new(64);
	f->r = http_router_new();
	f->routes(f, NULL);
	f->s = http_server_new(f->ev, &f->conf, f->r);
	if (!f->s) {
		f->err = -errno;
		sem_post(&f->ready);
		return NULL;
	}
	http_listen_parse("127.0.0.1:0", &a, NULL);
	f->err = http_server_listen(f->s, &a, &f->verr);
	if (f->err >= 0 && f->want_unix) {
		char spec[256];
		snprintf(spec, sizeof(spec), "unix:%s", f->sock);
		http_listen_parse(spec, &a, NULL);
		f->err = http_server_listen(f->s, &a, &f->verr);
	}
	/* then what the test put in conf.listen ([::1]:0 ...) */
	if (f->err >= 0 && f->conf.listen.n)
		f->err = http_server_listen_conf(f->s, &f->verr);
	for (unsigned i = 0; f->err >= 0 && i < 4 && http_server_addr(f->s, i); i++)
		snprintf(f->addrs[i], sizeof(f->addrs[i]), "%s", http_server_addr(f->s, i));
	if (f->err >= 0) {
		f->port = http_server_port(f->s, 0);
		snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", f->port);
		ev_io_add(f->ev, &f->ctl_io, f->ctl[0], EPOLLIN, fx_on_ctl, f);
	}
	sem_post(&f->ready);
	if (f->err >= 0)
		ev_run(f->ev);
	ev_io_del(f->ev, &f->ctl_io);
	http_server_free(f->s);
	http_static_free(f->st);
	http_router_free(f->r);
	ev_free(f->ev);
	return NULL;
}

/* fx_call() : runs <fn>(f, arg) on the loop thread and waits for it. */
static void fx_call(struct fx *f, fx_fn fn, void *arg)
{
	f->call_fn = fn;
	f->call_arg = arg;
	if (write(f->ctl[1], "x", 1) != 1)
		abort();
	while (sem_wait(&f->called) < 0 && errno == EINTR)
		;
}

static void fx_stats_fn(struct fx *f, void *arg)
{
	http_server_get_stats(f->s, arg);
}

static void fx_stats(struct fx *f, struct http_server_stats *st)
{
	fx_call(f, fx_stats_fn, st);
}

/* fx_start() : <conf> NULL = defaults with short timeouts for tests. */
static int fx_start(struct fx *f, fx_fn routes, bool want_unix,
		    void (*tune)(struct http_server_conf *))
{
	memset(f, 0, sizeof(*f));
	http_server_conf_init(&f->conf);
	f->conf.socket_mode = 0600;
	if (tune)
		tune(&f->conf);
	f->routes = routes;
	f->want_unix = want_unix;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vtap-http-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	snprintf(f->unix_target, sizeof(f->unix_target), "unix:%s", f->sock);
	sem_init(&f->ready, 0, 0);
	sem_init(&f->called, 0, 0);
	if (pipe(f->ctl) < 0)
		return -errno;
	pthread_create(&f->th, NULL, fx_thread, f);
	while (sem_wait(&f->ready) < 0 && errno == EINTR)
		;
	if (f->err < 0)
		fprintf(stderr, "fixture: %s\n", f->verr.msg);
	return f->err < 0 ? f->err : 0;
}

static void fx_stop_fn(struct fx *f, void *arg)
{
	(void)arg;
	ev_stop(f->ev);
}

static void fx_stop(struct fx *f)
{
	char cmd[256];

	if (f->err >= 0)
		fx_call(f, fx_stop_fn, NULL);
	pthread_join(f->th, NULL);
	close(f->ctl[0]);
	close(f->ctl[1]);
	sem_destroy(&f->ready);
	sem_destroy(&f->called);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* ---- raw sockets ------------------------------------------------------- */

VT_UNUSED static int raw_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

VT_UNUSED static int raw_send(int fd, const char *s)
{
	size_t n = strlen(s);

	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Reads until EOF, <cap> bytes, or <ms> of silence; returns the length. */
VT_UNUSED static size_t raw_read_all(int fd, char *buf, size_t cap, int ms)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		if (poll(&p, 1, ms) <= 0)
			break;
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* Reads exactly one response (Content-Length, chunked, or to EOF) and no
 * byte of the next one (pipelined answers may share a segment): the
 * bytes are peeked, and only the response's own are consumed. <buf> gets
 * the head followed by the decoded body. Returns the status, or -1. */
VT_UNUSED static int raw_response(int fd, char *buf, size_t cap, size_t *body_off,
				  size_t *body_len, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	size_t last = 0;
	char *tmp = malloc(cap);
	int ret = -1;

	while (tmp && mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct http_resphead h;
		ssize_t n, hl;

		if (poll(&p, 1, (int)(end - mono_ms())) <= 0)
			break;
		n = recv(fd, buf, cap - 1, MSG_PEEK);
		if (n < 0)
			break;
		buf[n] = '\0';
		hl = http_resphead_parse(&h, buf, (size_t)n, cap);
		if (hl < 0)
			break;
		if (hl > 0 && h.chunked) {
			struct http_chunked ch;
			size_t o;
			memcpy(tmp, buf + hl, (size_t)n - (size_t)hl);
			http_chunked_init(&ch);
			ssize_t u = http_chunked_decode(&ch, tmp, (size_t)n - (size_t)hl, &o);
			if (u < 0)
				break;
			if (ch.done) {
				if (recv(fd, buf, (size_t)hl + (size_t)u, 0) != hl + u)
					break;
				memcpy(buf + hl, tmp, o);
				buf[(size_t)hl + o] = '\0';
				*body_off = (size_t)hl;
				*body_len = o;
				ret = h.status;
				break;
			}
		} else if (hl > 0 && h.has_length && (size_t)n - (size_t)hl >= h.content_length) {
			size_t total = (size_t)hl + (size_t)h.content_length;
			if (recv(fd, buf, total, 0) != (ssize_t)total)
				break;
			buf[total] = '\0';
			*body_off = (size_t)hl;
			*body_len = (size_t)h.content_length;
			ret = h.status;
			break;
		} else if (hl > 0 && !h.has_length) {
			/* close-delimited: nothing can follow, read to EOF */
			size_t got = 0;
			ssize_t k;
			while (got < cap - 1 && poll(&p, 1, (int)(end > mono_ms() ? end - mono_ms() : 0)) > 0 &&
			       (k = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
				got += (size_t)k;
			buf[got] = '\0';
			if (got >= (size_t)hl) {
				*body_off = (size_t)hl;
				*body_len = got - (size_t)hl;
				ret = h.status;
			}
			break;
		} else if (n == 0) {
			break;
		} else if ((size_t)n == last) {
			usleep(1000); /* nothing new yet */
		}
		if ((size_t)n >= cap - 1)
			break;
		last = (size_t)n;
	}
	free(tmp);
	return ret;
}

/* True when the server closed <fd> within <ms>. */
VT_UNUSED static bool raw_closed(int fd, int ms)
{
	char b[4096];
	uint64_t end = mono_ms() + (uint64_t)ms;

	while (mono_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) > 0) {
			ssize_t r = recv(fd, b, sizeof(b), 0);
			if (r <= 0)
				return true;
		}
	}
	return false;
}

/* Polls <cond> every 10 ms for up to <ms>. */
#define WAIT_UNTIL(cond, ms)                                                   \
	({                                                                     \
		uint64_t end_ = mono_ms() + (ms);                              \
		bool ok_;                                                      \
		while (!(ok_ = (cond)) && mono_ms() < end_)                    \
			usleep(10000);                                         \
		ok_;                                                           \
	})

/* Runs a shell command, returns its stdout (caller frees) and exit code. */
static char *run_cmd(const char *cmd, int *code)
{
	FILE *p = popen(cmd, "r");
	struct vbuf b;
	char tmp[4096];
	size_t n;

	vbuf_init(&b, 64 << 20);
	if (!p) {
		*code = -1;
		return strdup("");
	}
	while ((n = fread(tmp, 1, sizeof(tmp), p)) > 0)
		(void)vbuf_add(&b, tmp, n);
	*code = pclose(p);
	if (*code > 0 && WIFEXITED(*code))
		*code = WEXITSTATUS(*code);
	if (!b.data)
		return strdup("");
	return vbuf_steal(&b);
}

#endif
